"""The lines every benchmark prints first: when it ran, on what machine and software, and the
command that runs it again. RESULTS.md quotes them beside the figures."""

from __future__ import annotations

import sys
import time

import torch

from newsdesk.inference.hardware import Capabilities, detect


def command() -> str:
    """The command line that ran this benchmark (also recorded in the model folders it trains)."""
    return "python " + " ".join(sys.argv)


def print_header(*extra: str) -> Capabilities:
    """Print date, software, machine and command (plus any `extra` facts); return the machine."""
    caps = detect()
    software = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    print(f"date: {time.strftime('%Y-%m-%d %H:%M')}  " + "; ".join((software, *extra)))
    print(f"machine: {caps.describe()}  (kind: {caps.kind}, native bf16: {caps.native_bf16})")
    print(f"command: {command()}")
    return caps
