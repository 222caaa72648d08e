"""The lines every benchmark prints first: when it ran, on what machine and software, and the
command that runs it again. RESULTS.md quotes them beside the figures."""

from __future__ import annotations

import sys
import time

import torch

from newsdesk.inference.hardware import Capabilities, detect


def best_of(fn, repeats: int = 5) -> float:
    """Seconds of `fn()` at its fastest of `repeats` calls, after one call to warm up."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


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
