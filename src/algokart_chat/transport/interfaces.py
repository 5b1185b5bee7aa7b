"""What a connection needs of the rest, and what a listener serves: the narrow interfaces between
``connection.Connection`` and the code around it, as ``typing.Protocol`` classes.

- ``Session``: what a connection needs of the protocol it carries (the sessions implement it): it
  takes the lines (``input_pump.InputSession``), and says what to send when the connection is
  refused or ends.
- ``SessionType``: what a listener serves: a protocol's reader options and a session for each
  connection.
- ``ConnectionHost``: what a connection needs of the server that accepted it: admission, clocks,
  the write pass, the sweep of clients behind, and the budget each address shares.

``connection`` exports them all; import them from there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from algokart_chat.token_bucket import InputBudget
from algokart_chat.transport.flow_control import FlowLimits
from algokart_chat.transport.input_pump import InputCounts, InputSession

if TYPE_CHECKING:  # (a connection is built with these: the types refer to each other)
    from algokart_chat.transport.connection import Connection


class Session(InputSession, Protocol):
    """What a connection needs of the protocol it carries: the lines (``InputSession``), and the
    ending."""

    def leave(self, reason: str, then: Callable[[], None] | None) -> None:
        """The connection ends (``reason`` is for the logs): leave the room now, and call ``then``
        once the room has let go (at once in memory, after a round trip in a cluster).
        Called again later (the connection lost) it does nothing more."""

    def farewell(self, reason: str) -> bytes | None:
        """The last line to send when the server closes the connection for ``reason``, if any."""

    def idle(self) -> str | None:
        """No complete line for --idle-timeout seconds: the reason to close for (``idle``), or
        None to give the client another such period (after asking it something, say)."""

    def refusal(self, code: str) -> bytes:
        """The line that tells a client it is refused (``server-full`` ...) before the close."""


@dataclass(frozen=True)
class SessionType:
    """What a listener serves: a protocol's reader options and a session for each connection."""

    name: str  # for the startup line and the logs: "chat", "irc"
    max_line_bytes: int
    telnet: bool
    strip: bool  # True: lines trimmed, bad UTF-8 replaced; False: exact (framing.decode_exact)
    new_session: Callable[[Connection], Session]


class TrafficCounts(InputCounts, Protocol):
    def count_out(self, payload: bytes) -> None:
        """``payload`` is being written to a client (its lines count as lines out)."""


class ConnectionHost(Protocol):
    """What a connection needs of the server that accepted it."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    @property
    def limits(self) -> FlowLimits: ...

    @property
    def stats(self) -> TrafficCounts: ...

    @property
    def read_buffer(self) -> memoryview:
        """A buffer every connection reads into (READ_SIZE bytes; one read at a time)."""

    def admit(self, connection: Connection) -> str | None:
        """Register a new connection, or return the code it is refused with."""

    def address_budget(self, connection: Connection) -> InputBudget | None:
        """The input budget every connection of ``connection``'s address shares, if any."""

    def note_refusal(self, reason: str, peer: str) -> None: ...

    def forget(self, connection: Connection) -> bool:
        """Unregister a connection that has ended; False if it was never admitted."""

    def note_activity(self, connection: Connection) -> None:
        """``connection`` received a complete line (its idle clock restarts)."""

    def note_registered(self, connection: Connection) -> None:
        """``connection`` logged in (the login timeout no longer applies to it)."""

    def flush_soon(self, connection: Connection) -> None:
        """Have ``connection.flush()`` called once this loop iteration is over."""

    def flush_first(self, connection: Connection) -> None:
        """As ``flush_soon``, ahead of the connections that only have others' deliveries."""

    def watch(self, connection: Connection) -> None:
        """``connection`` is behind: have ``overdue`` asked about it now and then."""

    def note_congested(self, congested: bool) -> None:
        """A connection began (True) or stopped (False) waiting on the server (see Pushback)."""

    def note_dropped(self, limit: str) -> None:
        """A client was reset for falling behind (``hard``, ``soft`` or ``stalled``)."""

    def release_memory_soon(self) -> None:
        """Much memory was just freed: give it back to the system soon."""
