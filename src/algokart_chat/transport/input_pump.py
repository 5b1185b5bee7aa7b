"""One connection's input: bytes read from the socket, framed into lines as fast as the budgets
pay for them, and handed to the session when it can take them.

The input plan.  Reads are at most READ_SIZE bytes (the connection reads into its host's one
shared buffer), so a connection holds at most one read of raw bytes and a loop turn reads a
bounded amount from each.  The ``framing.LineReader`` frames them only as far as the budgets pay
(``flow_control``: the connection's and its address's).  Out of tokens, the raw bytes wait,
reading pauses (TCP pushes back on the sender) and resumes when the budget allows.  A session
that cannot take a line yet (its room answers later, or the server is too far behind to take more
fan-out) makes the pump park the framed lines, already paid for, and pause the same way until
``resume``.  Nothing is dropped or reordered.  Only complete lines count as activity for the
host's idle clock.  Before login, an HTTP request line or ``Host:`` header (``cross_protocol``)
ends the connection at once, and nothing after it runs.

Two narrow interfaces connect the pump to the rest: ``InputSession``, the half of a session that
takes lines, and ``PumpedConnection``, what the pump needs of its connection.  The host is seen
only as ``InputHost``: its clock and its counters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Literal, NamedTuple, Protocol

from algokart_chat.cross_protocol import is_http
from algokart_chat.framing import LINE_TOO_LONG, Event, LineReader, TelnetReply
from algokart_chat.token_bucket import InputBudget
from algokart_chat.transport import flow_control

READ_SIZE = 64 * 1024  # at most this much is read from one socket at a time

InputHold = Literal["tokens", "session"]


class InputSession(Protocol):
    """What the pump needs of the session: the half of ``connection.Session`` that takes lines."""

    @property
    def name(self) -> str | None:
        """The name the user logged in with, for the logs; None before."""

    def line_received(self, line: str) -> bool:
        """A complete, non-blank line (decoded as the listener's reader options say).  False: not
        now; the connection keeps it, with the lines after it, until ``Connection.resume``, which
        the session promises to call."""

    def line_too_long(self) -> None:
        """A line went over the reader's limit; its bytes are being dropped up to its LF."""

    def read_done(self) -> None:
        """The lines of one read have been handled (the session may publish what it gathered)."""

    def ready_for_input(self) -> bool:
        """Whether the session takes the next line now.  False: the connection holds its input
        until ``Connection.resume``, which the session promises to call."""


class InputCounts(Protocol):
    """The server's counters the pump adds to: lines framed, and holds for want of tokens."""

    lines_in: int
    throttled: int


class InputHost(Protocol):
    """What the pump needs of the server: its clock and timers, and its counters."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    @property
    def stats(self) -> InputCounts: ...


class PumpedConnection(Protocol):
    """What the pump needs of the connection it feeds."""

    @property
    def session(self) -> InputSession: ...

    @property
    def closing(self) -> bool:
        """No more input is handled."""

    def note_line(self, now: float) -> None:
        """A complete line arrived at ``now``: the host's idle clock restarts."""

    def send(self, data: bytes) -> None: ...

    def close(self, reason: str = "closed") -> None: ...

    def end_refused(self, reason: str) -> None:
        """A refusal after admission: log it as one, and close for it."""

    def pause_reading(self) -> None:
        """Stop reading from the socket (TCP then pushes back on the sender)."""

    def resume_reading(self) -> None:
        """Read from the socket again."""


class Hold(NamedTuple):
    """Why reading is paused, and the events framed and paid for before it, parked until it ends."""

    why: InputHold
    parked: Sequence[Event]


class InputPump:
    """The input plan of one connection; see the module docstring."""

    # One per connection: slots, and containers made only when used.
    __slots__ = ("_address_budget", "_budget", "_connection", "_held", "_host", "reader")

    def __init__(self, connection: PumpedConnection, host: InputHost, reader: LineReader) -> None:
        self.reader = reader
        self._connection = connection
        self._host = host
        self._budget: InputBudget | None = None
        self._address_budget: InputBudget | None = None
        self._held: Hold | None = None  # reading is paused, and why

    def start(self, budget: InputBudget | None, address_budget: InputBudget | None) -> None:
        """The connection is admitted: its lines are paid for from these budgets."""
        self._budget = budget
        self._address_budget = address_budget

    def feed(self, data: bytes) -> None:
        """Bytes that arrived: handle what they complete, unless input is held."""
        self.reader.feed(data)
        if self._held is None:  # (while held, a read already under way may still arrive)
            self._drain()

    def finish(self) -> None:
        """The client will send no more: handle what it sent, then close (after any hold)."""
        self.reader.finish()
        if self._held is None:
            self._drain()

    def charge(self, tokens: int) -> None:
        """Spend ``tokens`` more lines' worth of the connection's own budget, into debt if need be:
        the next lines wait until it is repaid."""
        if self._budget is not None:
            self._budget.charge(tokens, 0, self._host.loop.time())

    def resume(self) -> None:
        """The session takes input again (its room answered, or can take more)."""
        if self._held is not None and self._held.why == "session":
            self._carry_on()

    @property
    def _budgets(self) -> tuple[InputBudget | None, InputBudget | None]:
        return self._budget, self._address_budget

    def _drain(self, parked: Sequence[Event] = ()) -> None:
        """Handle what a hold parked, then what the reader holds, as fast as the budgets allow;
        close after end of file."""
        try:
            self._pump(parked)
        finally:
            self._connection.session.read_done()
        if self.reader.ended and self._held is None:
            self._connection.close()

    def _pump(self, parked: Sequence[Event]) -> None:
        reader, connection, host = self.reader, self._connection, self._host
        session = connection.session
        budgeted = self._budget is not None or self._address_budget is not None
        while (reader.pending or parked) and not connection.closing:
            now = host.loop.time()
            if parked:  # framed and charged before a hold
                events, parked = parked, ()
            else:
                lines, size = flow_control.allowance(self._budgets, now) if budgeted else (None, None)
                if lines == 0:
                    self._hold("tokens", (), flow_control.delay(self._budgets))
                    return
                framed = reader.framed_bytes
                events, cost = reader.events(lines, size)  # a line, a telnet sequence ... costs a token
                host.stats.lines_in += len(events)
                flow_control.charge(self._budgets, cost, reader.framed_bytes - framed, now)
            for index, event in enumerate(events):
                if connection.closing:
                    return
                if budgeted and flow_control.in_debt(self._budgets, now):  # a long reply, or the last line, cost more
                    self._hold("tokens", events[index:], flow_control.delay(self._budgets))
                    return
                if not session.ready_for_input():  # it resumes us once its room has answered
                    self._hold("session", events[index:])
                    return
                if type(event) is str:
                    if event and session.name is None and is_http(event):
                        # A web page made a browser send an HTTP request here: close without a
                        # word, as Redis does; the lines after it (the request's body) never run.
                        connection.end_refused("http-request")
                        return
                    connection.note_line(now)  # only a complete line counts as activity
                    if event and not session.line_received(event):  # not now: it resumes us
                        self._hold("session", events[index:])
                        return
                elif event is LINE_TOO_LONG:
                    session.line_too_long()
                elif isinstance(event, TelnetReply):
                    connection.send(event.data)

    def _hold(self, why: InputHold, parked: Sequence[Event], seconds: float = 0.0) -> None:
        """Stop reading: TCP then pushes back on the sender.  Out of tokens, until they are due;
        for the session, until it calls ``resume``."""
        self._held = Hold(why, parked)
        self._connection.pause_reading()
        if why == "tokens":
            self._host.stats.throttled += 1
            self._host.loop.call_later(seconds, self._tokens_due)

    def _tokens_due(self) -> None:
        if self._held is not None and self._held.why == "tokens":
            self._carry_on()

    def _carry_on(self) -> None:
        """A hold is over: handle what it parked and what waited, and read again unless another
        hold began."""
        held, self._held = self._held, None
        if self._connection.closing:
            return
        self._drain(held.parked if held is not None else ())
        if self._held is None and not self._connection.closing:
            self._connection.resume_reading()
