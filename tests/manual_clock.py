"""A ``server.clock.Clock`` whose time moves only when the test moves it: the server's parts on
their own, without an event loop, sockets or sleeps."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable


class Scheduled:
    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], object]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self._soon: list[Scheduled] = []
        self._timers: list[tuple[float, int, Scheduled]] = []  # a heap: (when, order, callback)
        self._order = itertools.count()

    def time(self) -> float:
        return self.now

    def call_soon(self, callback: Callable[[], object]) -> Scheduled:
        scheduled = Scheduled(callback)
        self._soon.append(scheduled)
        return scheduled

    def call_at(self, when: float, callback: Callable[[], object]) -> Scheduled:
        scheduled = Scheduled(callback)
        heapq.heappush(self._timers, (when, next(self._order), scheduled))
        return scheduled

    def call_later(self, delay: float, callback: Callable[[], object]) -> Scheduled:
        return self.call_at(self.now + delay, callback)

    @property
    def pending(self) -> list[float]:
        """When the timers not called off are due, soonest first."""
        return sorted(when for when, _, scheduled in self._timers if not scheduled.cancelled)

    def turn(self) -> int:
        """One loop turn: run the callbacks scheduled soon before it began; how many ran."""
        ready, self._soon = self._soon, []
        ran = 0
        for scheduled in ready:
            if not scheduled.cancelled:
                scheduled.callback()
                ran += 1
        return ran

    def settle(self) -> None:
        """Turn until no callback is waiting for the next turn."""
        while self._soon:
            self.turn()

    def advance(self, seconds: float) -> None:
        """Move time on, running each timer (and what it schedules soon) at its time."""
        end = self.now + seconds
        self.settle()
        while self._timers and self._timers[0][0] <= end:
            when, _, scheduled = heapq.heappop(self._timers)
            self.now = max(self.now, when)
            if not scheduled.cancelled:
                scheduled.callback()
            self.settle()
        self.now = end
