"""Memory the batch paths hand back to the system between windows."""

from __future__ import annotations

import ctypes
import functools


def return_freed_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's `malloc_trim`; a no-op
    elsewhere). A window's tensors of many sizes leave the heap fragmented, and glibc keeps the
    freed pages: with it, the job's memory between windows stays near what it holds
    (benchmarks/RESULTS.md, "batch-job memory")."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.cache
def _glibc():
    try:
        libc = ctypes.CDLL(None)  # the symbols this process has loaded: libc among them
    except (OSError, TypeError):  # TypeError: Windows has no such handle
        return None
    return libc if hasattr(libc, "malloc_trim") else None
