"""What the server's parts need of the event loop: its time, and callbacks soon or at a time.

A narrow view that ``asyncio.AbstractEventLoop`` has, so that each part (deadlines, the output
scheduler, the stats line, the memory release) can be driven in its unit tests by a clock the test
moves, without sockets or sleeps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    """A callback scheduled (``asyncio.Handle``): it can be called off."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    def time(self) -> float: ...

    def call_soon(self, callback: Callable[[], object]) -> Timer:
        """Call ``callback`` once the callbacks ready now have run (the end of this loop turn)."""

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer: ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer: ...
