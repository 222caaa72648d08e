"""Multi-process training (torchrun, `accelerate launch`): which process writes and which logs.

Both launchers set RANK and WORLD_SIZE in each process's environment. Only rank 0 writes the model
folder, metrics and card and prints; the other ranks log warnings only and show no progress bars.
"""

from __future__ import annotations

import logging
import os


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    return rank() == 0


def multi_cpu() -> bool:
    """Several processes and no GPU: accelerate then needs `cpu=True` to pair them over gloo."""
    import torch

    return world_size() > 1 and not torch.cuda.is_available()


def quiet_replicas() -> None:
    """On ranks other than 0: warnings only, and no progress bars (so logs are not duplicated)."""
    if is_main():
        return
    import datasets
    import transformers

    logging.getLogger("newsdesk").setLevel(logging.WARNING)
    transformers.utils.logging.set_verbosity_warning()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
