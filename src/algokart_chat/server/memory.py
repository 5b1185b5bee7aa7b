"""Giving freed memory back to the operating system.

Dropping a crowd of slow readers frees many transport buffers at once.  CPython reuses that
memory, but glibc keeps it in the process's heap, so the process's RSS stays at its peak.
``malloc_trim`` hands the free pages back.  It exists only in glibc; elsewhere (macOS, Windows,
musl) ``find_malloc_trim`` returns None and nothing is done: the memory is still reused.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable


def find_malloc_trim() -> Callable[[], object] | None:
    """``malloc_trim(0)`` of the C library this process runs on, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter is linked to
    except (OSError, AttributeError):
        return None
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    return lambda: malloc_trim(0)
