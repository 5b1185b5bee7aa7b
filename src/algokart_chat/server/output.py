"""The output scheduler: when connections write what was queued for them, how fast sessions may
hand the room more to deliver, and which clients are behind.

Flush turns: a connection with something to send asks ``flush_soon``; one callback at the end of
the loop turn gathers them all into the write pass, so a broadcast to N people schedules one
callback, not N.  The pass writes FLUSH_SLICE connections per callback, and the loop reads
(PINGs, guests, ...) between slices, so a pass over 10,000 connections never keeps anyone waiting
for all of it.  A reply to a connection's own command (``flush_first``) is written at the start
of the next slice, ahead of the pass.

Pushback (``transport.connection``): a session may send more to the room only while no client
waits on the server (``note_congested``), no write pass is under way and this loop turn has not
taken TURN_FAN_OUT bytes of fan-out.  A session that may not waits (``when_fan_out_allowed``) and
goes on, oldest first, once the pass is done; so the server takes in messages no faster than it
can deliver them.

Clients that are behind (``watch``) are judged by the server's sweep (``judge_behind``): each is
reset once it has been over the soft limit, or read nothing, for --send-buffer-soft-seconds.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from algokart_chat.server.clock import Clock, Timer

# Connections written per callback of a write pass: the loop reads (PINGs, guests, ...) between
# slices, so a pass over 10,000 connections never keeps anyone waiting for all of it.
FLUSH_SLICE = 500
# Bytes queued for clients in one loop turn after which sessions defer more fan-out to the next
# turn: what the server writes in a few tens of milliseconds, so a turn stays short.
TURN_FAN_OUT = 32 * 1024 * 1024


class Output(Protocol):
    """What the scheduler needs of a connection (``transport.connection.Connection``)."""

    def flush(self) -> None:
        """Write what was queued for it."""

    def resume(self) -> None:
        """Its session takes input again (it may fan out now)."""

    def overdue(self, now: float) -> str | None:
        """``soft`` or ``stalled`` if it must be reset for falling behind; ``ok`` if it is still
        behind; None once it is not."""

    def drop(self, limit: str) -> None:
        """Reset it for falling behind."""


OutputT = TypeVar("OutputT", bound=Output)


class OutputScheduler(Generic[OutputT]):
    """The write pass over the connections with output, and the senders waiting for it."""

    __slots__ = (
        "_clock",
        "_congested",
        "_deferred",
        "_flushing",
        "_pass_done",
        "_slice",
        "_turn_end",
        "_unflushed",
        "_urgent",
        "_watched",
        "turn_fan_out",
    )

    def __init__(self, clock: Clock, pass_done: Callable[[], None]) -> None:
        """``pass_done`` is called when a write pass has written everything, before the senders
        that waited for it go on."""
        self._clock = clock
        self._pass_done = pass_done
        self._unflushed: list[OutputT] = []  # connections with output queued this turn
        self._turn_end: Timer | None = None  # _end_turn, once scheduled
        self._urgent: list[OutputT] = []  # connections with a reply, written first
        self._flushing: collections.deque[OutputT] = collections.deque()  # the write pass
        self._slice: Timer | None = None  # the pass's next slice, once scheduled
        self.turn_fan_out = 0  # bytes sessions gave the room to deliver this loop turn
        self._congested = 0  # connections waiting on the server (transport.connection, Pushback)
        self._deferred: dict[Callable[[], None], None] = {}  # sessions that wait to fan out more
        self._watched: dict[OutputT, None] = {}  # clients behind, judged by judge_behind

    @property
    def writing(self) -> bool:
        """Whether a write pass is under way."""
        return bool(self._flushing)

    def flush_soon(self, connection: OutputT) -> None:
        """Have ``connection.flush()`` called once this loop turn is over.

        One callback for all connections: a broadcast to 10,000 people schedules one, not 10,000.
        """
        self._unflushed.append(connection)
        self._end_turn_soon()

    def flush_first(self, connection: OutputT) -> None:
        """``connection`` has a reply to its own command: write it first in the next slice."""
        self._urgent.append(connection)
        self._end_turn_soon()

    def _end_turn_soon(self) -> None:
        if self._turn_end is None:
            self._turn_end = self._clock.call_soon(self._end_turn)

    def _end_turn(self) -> None:
        """The end of a loop turn: its output joins the write pass, and fan-out counts anew."""
        self._turn_end = None
        self._flushing.extend(self._unflushed)
        self._unflushed = []
        self.turn_fan_out = 0
        if self._slice is None:
            self._write_slice()

    def _write_slice(self) -> None:
        """Write the replies waiting, then FLUSH_SLICE more connections of the pass; the rest after
        the loop has read again.  Senders that waited go on once the pass is done."""
        self._slice = None
        urgent, self._urgent = self._urgent, []
        for connection in urgent:
            connection.flush()
        flushing = self._flushing
        for _ in range(min(FLUSH_SLICE, len(flushing))):
            flushing.popleft().flush()
        if flushing:
            self._slice = self._clock.call_soon(self._write_slice)
            return
        self._pass_done()
        if self._deferred and not self._congested:
            self._release_deferred()

    # --- pushback: fan-out no faster than it can be delivered (transport.connection) ------------
    def fan_out_allowed(self) -> bool:
        """Whether a session may send more to the room now: no client waits on the server, the
        last write pass is done, and this loop turn has not taken TURN_FAN_OUT bytes yet."""
        return not self._congested and not self._flushing and self.turn_fan_out < TURN_FAN_OUT

    def note_fan_out(self, size: int) -> None:
        """A session just gave the room ``size`` bytes to deliver."""
        self.turn_fan_out += size
        self._end_turn_soon()  # (where the count starts again)

    def when_fan_out_allowed(self, resume: Callable[[], None]) -> None:
        """A session deferred a line that fans out; ``resume`` it, in turn, once that is allowed."""
        self._deferred[resume] = None
        if not self._congested:
            self._end_turn_soon()  # (which releases it)

    def note_congested(self, congested: bool) -> None:
        """A connection began (True) or stopped (False) waiting on the server."""
        self._congested += 1 if congested else -1
        if not self._congested and self._deferred:
            self._end_turn_soon()  # (which releases them)

    def _release_deferred(self) -> None:
        """Deferred sessions go on, oldest first, while fan-out is allowed; the others wait again."""
        deferred, self._deferred = self._deferred, {}
        for resume in deferred:
            if self.fan_out_allowed():
                resume()
            else:
                self._deferred[resume] = None  # (still first in line: dicts keep their order)

    # --- clients that are behind ----------------------------------------------------------------
    def watch(self, connection: OutputT) -> None:
        """``connection`` is behind: judge it in every ``judge_behind`` until it is not."""
        self._watched[connection] = None

    def judge_behind(self, now: float) -> bool:
        """Reset clients over the soft limit, or reading nothing, for --send-buffer-soft-seconds;
        whether any are still behind."""
        for connection in list(self._watched):
            verdict = connection.overdue(now)
            if verdict is None:
                del self._watched[connection]
            elif verdict != "ok":
                connection.drop(verdict)
        return bool(self._watched)

    def forget(self, connection: OutputT) -> None:
        """``connection`` has gone: nothing waits for it any more."""
        self._deferred.pop(connection.resume, None)
        self._watched.pop(connection, None)
