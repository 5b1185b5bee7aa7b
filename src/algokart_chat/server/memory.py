"""Giving freed memory back to the operating system.

Dropping a crowd of slow readers frees many transport buffers at once.  CPython reuses that
memory, but glibc keeps it in the process's heap, so the process's RSS stays at its peak.
``malloc_trim`` hands the free pages back.  It exists only in glibc; elsewhere (macOS, Windows,
musl) ``find_malloc_trim`` returns None and nothing is done: the memory is still reused.

Plan: a connection that frees much (a slow reader dropped) asks ``MemoryRelease.soon``; a second
later (MEMORY_RELEASE_DELAY) the free pages are given back, once for the whole wave.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Callable

from algokart_chat.logs import fields
from algokart_chat.server.clock import Clock, Timer

log = logging.getLogger(__name__)

MEMORY_RELEASE_DELAY = 1.0  # a wave of slow readers is dropped within it, then trimmed once


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


class MemoryRelease:
    """One ``malloc_trim`` a little after a wave of frees (none where there is no ``malloc_trim``)."""

    __slots__ = ("_clock", "_malloc_trim", "_timer")

    def __init__(self, clock: Clock, malloc_trim: Callable[[], object] | None) -> None:
        self._clock = clock
        self._malloc_trim = malloc_trim
        self._timer: Timer | None = None

    def soon(self) -> None:
        """Much memory was just freed: give it back to the system soon."""
        if self._malloc_trim is not None and self._timer is None:
            self._timer = self._clock.call_later(MEMORY_RELEASE_DELAY, self._release)

    def stop(self) -> None:
        """Nothing more to give back (at shutdown)."""
        if self._timer is not None:
            self._timer.cancel()

    def _release(self) -> None:
        self._timer = None
        if self._malloc_trim is not None:
            self._malloc_trim()
            log.debug("Gave free memory back to the system", extra=fields("memory-released"))
