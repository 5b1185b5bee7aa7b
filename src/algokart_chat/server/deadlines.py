"""The live connections, kept in the order their deadlines come: ``--idle-timeout`` (no complete
line for that long) and ``--login-timeout`` (not logged in that long after connecting).

Plan: every connection has the same idle timeout, so the one that has been quiet longest always
expires first.  Connections are kept in a dict ordered by their last complete line
(``note_activity`` moves one to the end, O(1)), and one timer watches the oldest: no timer per
connection, and each sweep touches only the expired ones.  Guests (not logged in) are kept the same
way in connection order for the login timeout; what a guest sends does not move its deadline.

A connection that times out is asked to end (``Expiring``); it stays live until the server is told
it has gone (``remove``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, Protocol, TypeVar

from algokart_chat.server.clock import Clock, Timer


class Expiring(Protocol):
    """What the deadlines need of a connection (``transport.connection.Connection``)."""

    @property
    def connected_at(self) -> float: ...

    @property
    def last_line_at(self) -> float:
        """Loop time of its last complete line (or of its connection)."""

    @property
    def closing(self) -> bool: ...

    def close(self, reason: str) -> None: ...

    def idle(self) -> None:
        """It reached --idle-timeout: its session closes it, or it gets another period."""


ExpiringT = TypeVar("ExpiringT", bound=Expiring)
T = TypeVar("T")


class LiveConnections(Generic[ExpiringT]):
    """The live connections, quietest first (iterating gives that order), and the guests among
    them, oldest first; one timer for each order."""

    __slots__ = ("_by_activity", "_clock", "_guests", "_idle_timeout", "_idle_timer", "_login_timeout", "_login_timer")

    def __init__(self, clock: Clock, idle_timeout: float, login_timeout: float) -> None:
        """A timeout of 0 is none."""
        self._clock = clock
        self._idle_timeout = idle_timeout
        self._login_timeout = login_timeout
        self._by_activity: dict[ExpiringT, None] = {}  # by last complete line, oldest first
        self._guests: dict[ExpiringT, None] = {}  # not logged in yet, in connection order
        self._idle_timer: Timer | None = None
        self._login_timer: Timer | None = None

    def __len__(self) -> int:
        return len(self._by_activity)

    def __iter__(self) -> Iterator[ExpiringT]:
        return iter(self._by_activity)

    def __contains__(self, connection: object) -> bool:
        return connection in self._by_activity

    def add(self, connection: ExpiringT) -> None:
        """A connection was admitted: it is a guest until ``note_registered``."""
        self._by_activity[connection] = None
        if self._idle_timer is None and self._idle_timeout:
            self._idle_timer = self._clock.call_at(connection.last_line_at + self._idle_timeout, self._sweep_idle)
        if self._login_timeout:
            self._guests[connection] = None
            if self._login_timer is None:
                deadline = connection.connected_at + self._login_timeout
                self._login_timer = self._clock.call_at(deadline, self._sweep_guests)

    def remove(self, connection: ExpiringT) -> bool:
        """A connection has gone; False if it was not live."""
        if connection not in self._by_activity:
            return False
        del self._by_activity[connection]
        self._guests.pop(connection, None)
        return True

    def note_activity(self, connection: ExpiringT) -> None:
        """``connection`` just received a complete line: it is now the last to expire."""
        del self._by_activity[connection]
        self._by_activity[connection] = None

    def note_registered(self, connection: ExpiringT) -> None:
        """``connection`` logged in: the login timeout no longer applies to it."""
        self._guests.pop(connection, None)

    def stop(self) -> None:
        """No more time-outs (at shutdown)."""
        for timer in (self._idle_timer, self._login_timer):
            if timer is not None:
                timer.cancel()

    def _sweep_guests(self) -> None:
        """Close every connection not logged in --login-timeout after connecting."""
        self._login_timer = None
        timeout = self._login_timeout
        now = self._clock.time()
        next_deadline = expire_due(self._guests, lambda connection: connection.connected_at + timeout, self._evict, now)
        if next_deadline is not None:
            self._login_timer = self._clock.call_at(next_deadline, self._sweep_guests)

    def _evict(self, guest: ExpiringT) -> None:
        del self._guests[guest]
        guest.close("login-timeout")

    def _sweep_idle(self) -> None:
        """Close every connection idle for --idle-timeout; wake again when the next one would be."""
        self._idle_timer = None
        timeout = self._idle_timeout
        now = self._clock.time()
        next_deadline = expire_due(
            self._by_activity, lambda connection: connection.last_line_at + timeout, _time_out, now
        )
        if next_deadline is None and self._by_activity:  # all expired and closing: look again then
            next_deadline = self._clock.time() + timeout
        if next_deadline is not None:
            self._idle_timer = self._clock.call_at(next_deadline, self._sweep_idle)


def expire_due(
    connections: dict[T, None], deadline_of: Callable[[T], float], expire: Callable[[T], None], now: float
) -> float | None:
    """``expire`` each of ``connections`` (kept in deadline order) whose deadline has passed by
    ``now``; the next deadline, or None if every one has passed.  Pure but for ``expire``."""
    expired = []
    next_deadline = None
    for connection in connections:
        deadline = deadline_of(connection)
        if deadline > now:
            next_deadline = deadline
            break
        expired.append(connection)
    for connection in expired:
        expire(connection)
    return next_deadline


def _time_out(connection: Expiring) -> None:
    if not connection.closing:
        connection.idle()
