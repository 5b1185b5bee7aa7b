"""One connection, whatever protocol it carries: the ``asyncio.Protocol`` that owns the input pump,
the output queue and the close lifecycle, and hands lines to its session.

Two narrow interfaces, and nothing else, connect it to the rest:
- its **session** (``Session``: the chat session, an IRC session, ...) turns lines into commands
  and says what to send when the connection is refused or closes; it sends through ``send``, and
  may decline input (``ready_for_input``) until it calls ``resume``;
- its **host** (``ConnectionHost``: the server) admits it, keeps its clocks and flushes its output.
The connection never sees a wire line of any protocol: the reader's options and the session come
from the listener it was accepted on (``SessionType``).

Input plan: bytes arrive in ``data_received`` and go into the ``framing.LineReader`` raw; the pump
frames them only as far as the token bucket pays (each line, telnet sequence or ``max_line_bytes``
of a subnegotiation costs a token: ``--rate-limit``, ``--rate-burst``).  Out of tokens, the raw
bytes wait in the reader, reading pauses (``pause_reading``, so TCP pushes back on the sender) and
resumes when a token is due.  A session that cannot take a line yet (its room answers later) makes
the pump park the framed lines, already paid for, and pause the same way until ``resume``.
Nothing is dropped or reordered; at most one read of raw bytes waits.  Only complete lines count as
activity for the host's idle clock.

Output plan: ``send`` never writes.  It appends to an outbox, and ``flush``, which the host calls
once per event-loop iteration for every connection with output, hands everything queued to the
transport in a single write.  The transport holds at most TRANSPORT_HIGH_WATER bytes; once asyncio
calls ``pause_writing``, payloads wait in a backlog of references to the bytes all recipients
share, and ``resume_writing`` feeds them on.  A client more than ``--max-send-buffer`` bytes behind
is reset (``SO_LINGER`` 0: the kernel drops what it never read).  The server never waits on one
client's socket.

Lifecycle, one state: OPEN, then LEAVING once ``close`` began (the session leaves its room; in a
cluster the farewell waits until the name is free everywhere), CLOSING once the transport is
closing (what is queued still goes out; a client that does not read it within CLOSE_GRACE_SECONDS
is cut off), CLOSED once asyncio says the connection is lost.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import socket
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from framing import LINE_TOO_LONG, Event, LineReader, TelnetReply
from utils.logs import fields, format_peer
from utils.token_bucket import TokenBucket

log = logging.getLogger("chat.connection")

CLOSE_GRACE_SECONDS = 5.0
# The kernel's send buffer per connection: plenty for chat lines, and a bound on what the kernel
# holds for a client that stops reading (without it Linux grows it up to 4 MiB).
SOCKET_SEND_BUFFER = 64 * 1024
# Output beyond what the kernel takes: the transport holds at most about this many bytes (copies);
# past it, a client's backlog holds references to the shared payloads.  Each backlog entry counts
# BACKLOG_ENTRY_BYTES more toward --max-send-buffer for its bookkeeping, so a flood of tiny
# payloads cannot make a non-reader's queue of references long.
TRANSPORT_HIGH_WATER = 16 * 1024
BACKLOG_ENTRY_BYTES = 64
WRITE_CHUNK_BYTES = 64 * 1024
_RESET_ON_CLOSE = struct.pack("hh" if sys.platform == "win32" else "ii", 1, 0)  # SO_LINGER on, 0 s


class Session(Protocol):
    """What a connection needs of the protocol it carries."""

    @property
    def name(self) -> str | None:
        """The name the user logged in with, for the logs; None before."""

    def line_received(self, line: str) -> None:
        """A complete, non-blank line (decoded as the listener's reader options say)."""

    def line_too_long(self) -> None:
        """A line went over the reader's limit; its bytes are being dropped up to its LF."""

    def read_done(self) -> None:
        """The lines of one read have been handled (the session may publish what it gathered)."""

    def ready_for_input(self) -> bool:
        """Whether the session takes the next line now.  False: the connection holds its input
        until ``Connection.resume``, which the session promises to call."""

    def leave(self, reason: str, then: Callable[[], None] | None) -> None:
        """The connection ends (``reason`` is for the logs): leave the room now, and call ``then``
        once the room has let go (at once in memory, after a round trip in a cluster).
        Called again later (the connection lost) it does nothing more."""

    def farewell(self, reason: str) -> bytes | None:
        """The last line to send when the server closes the connection for ``reason``, if any."""

    def refusal(self, code: str) -> bytes:
        """The line that tells a client it is refused (``server-full`` ...) before the close."""


@dataclass(frozen=True)
class SessionType:
    """What a listener serves: a protocol's reader options and a session for each connection."""

    name: str  # for the startup line and the logs: "chat", "irc"
    max_line_bytes: int
    telnet: bool
    strip: bool
    new_session: Callable[[Connection], Session]


@dataclass(frozen=True)
class FlowLimits:
    rate_limit: float  # tokens a second; 0 = no limit
    rate_burst: int
    max_send_buffer: int


class TrafficCounts(Protocol):
    lines_in: int
    lines_out: int
    slow_readers_dropped: int


class ConnectionHost(Protocol):
    """What a connection needs of the server that accepted it."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    @property
    def limits(self) -> FlowLimits: ...

    @property
    def stats(self) -> TrafficCounts: ...

    def admit(self, connection: Connection) -> str | None:
        """Register a new connection, or return the code it is refused with."""

    def note_refusal(self, reason: str, peer: str) -> None: ...

    def forget(self, connection: Connection) -> bool:
        """Unregister a connection that has ended; False if it was never admitted."""

    def note_activity(self, connection: Connection) -> None:
        """``connection`` received a complete line (its idle clock restarts)."""

    def note_registered(self, connection: Connection) -> None:
        """``connection`` logged in (the login timeout no longer applies to it)."""

    def flush_soon(self, connection: Connection) -> None:
        """Have ``connection.flush()`` called once this loop iteration is over."""

    def release_memory_soon(self) -> None:
        """Much memory was just freed: give it back to the system soon."""


class State(enum.Enum):
    OPEN = "open"
    LEAVING = "leaving"  # close() began: the farewell waits until the session has left its room
    CLOSING = "closing"  # the transport is closing or aborted: nothing more is sent
    CLOSED = "closed"  # asyncio said the connection is lost


InputHold = Literal["tokens", "session"]


class Connection(asyncio.Protocol):
    # Per-connection memory matters at 10,000 clients: slots, and containers made only when used.
    __slots__ = (
        "_backlog",
        "_backlog_bytes",
        "_bucket",
        "_end_reason",
        "_held",
        "_host",
        "_loop",
        "_outbox",
        "_parked",
        "_peername",
        "_reader",
        "_state",
        "_transport",
        "_writing_paused",
        "connected_at",
        "last_line_at",
        "session",
    )

    def __init__(self, host: ConnectionHost, session_type: SessionType) -> None:
        self.last_line_at = 0.0  # loop time of the last complete line: the host's idle clock
        self.connected_at = 0.0  # loop time of the connection: the host's login clock
        self._host = host
        self._loop = host.loop
        self._transport: asyncio.Transport = None  # type: ignore[assignment]  # set by connection_made
        self._peername: object = None  # the transport's own tuple (a TLS transport forgets it on close)
        self._reader = LineReader(session_type.max_line_bytes, session_type.telnet, session_type.strip)
        self._outbox: list[bytes] | None = None  # queued for the next write; None when empty
        self._backlog: collections.deque[bytes] | None = None  # waiting for room in the transport
        self._backlog_bytes = 0  # what the backlog counts toward --max-send-buffer
        self._writing_paused = False
        self._parked: list[Event] | None = None  # framed and paid for, waiting out a hold
        self._state = State.OPEN
        self._held: InputHold | None = None  # why reading is paused, if it is
        self._end_reason: str | None = None  # why the connection ended, for the logs
        self._bucket: TokenBucket | None = None
        self.session = session_type.new_session(self)

    @property
    def peer(self) -> tuple[str, int] | None:
        """``(host, port)`` as the seed's logs show it; IPv4 seen through a dual-stack socket stays IPv4."""
        address = self._peername
        if not isinstance(address, tuple) or len(address) < 2:
            return None  # e.g. a peer that is already gone
        host, port = str(address[0]), int(address[1])
        return (host[7:] if host.startswith("::ffff:") and "." in host else host), port

    @property
    def peer_text(self) -> str:
        """The peer for log lines: ``127.0.0.1:5000``, ``[::1]:5000``."""
        return format_peer(self.peer)

    @property
    def closing(self) -> bool:
        """No more input is handled: the connection is closed, or closing."""
        return self._state is not State.OPEN

    # --- asyncio callbacks ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._peername = transport.get_extra_info("peername")
        self.connected_at = self.last_line_at = now = self._loop.time()
        host = self._host
        refusal = host.admit(self)
        if refusal is not None:
            host.note_refusal(refusal, self.peer_text)
            self._state = State.CLOSING
            transport.write(self.session.refusal(refusal))
            transport.close()
            return
        log.debug("New connection from %s", self.peer_text, extra=fields("connect", peer=self.peer_text))
        self._set_socket_option(socket.SO_SNDBUF, SOCKET_SEND_BUFFER)
        transport.set_write_buffer_limits(high=TRANSPORT_HIGH_WATER)
        limits = host.limits
        if limits.rate_limit:
            self._bucket = TokenBucket(limits.rate_limit, limits.rate_burst, now)

    def data_received(self, data: bytes) -> None:
        if self._state is not State.OPEN:
            return
        self._reader.feed(data)
        if self._held is None:  # (while held, a read already under way may still arrive)
            self._drain()

    def eof_received(self) -> bool:
        """The client will send no more: handle what it sent, then close.  True keeps the
        transport open: while input is held (lines wait for tokens or for the session), and while
        the connection is leaving (its farewell is still to come)."""
        self._reader.finish()
        if self._held is None:
            self._drain()
        return self._held is not None or self._state is State.LEAVING

    def pause_writing(self) -> None:
        """asyncio: the transport holds TRANSPORT_HIGH_WATER bytes; queue references from now on."""
        self._writing_paused = True
        if self._backlog is None:
            self._backlog = collections.deque()

    def resume_writing(self) -> None:
        """asyncio: the transport has room again; hand it the backlog until it is full again."""
        self._writing_paused = False
        backlog = self._backlog
        while backlog and not self._writing_paused and not self._transport.is_closing():
            chunk = [backlog.popleft()]
            size = len(chunk[0])
            while backlog and size < WRITE_CHUNK_BYTES:
                size += len(backlog[0])
                chunk.append(backlog.popleft())
            self._backlog_bytes -= size + len(chunk) * BACKLOG_ENTRY_BYTES
            self._transport.write(chunk[0] if len(chunk) == 1 else b"".join(chunk))
        if not backlog and not self._writing_paused:
            self._backlog, self._backlog_bytes = None, 0

    def connection_lost(self, exc: Exception | None) -> None:
        self._state = State.CLOSED
        self._outbox = None
        if self._end_reason is None:
            self._end_reason = "closed" if exc is None else "reset"
        if self._host.forget(self):
            reason = self._end_reason
            self.session.leave(reason, None)
            log.debug(
                "Connection closed: %s (%s)",
                self.peer_text,
                reason,
                extra=fields("disconnect", peer=self.peer_text, reason=reason),
            )

    # --- output ---------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Queue bytes for this client; they are written once this loop iteration is over."""
        outbox = self._outbox
        if outbox is not None:
            outbox.append(data)
        elif self._state is State.OPEN or self._state is State.LEAVING:
            self._outbox = [data]
            self._host.flush_soon(self)

    def flush(self) -> None:
        """Write everything queued in one go (the host calls this once per loop iteration).

        While the transport is full, the payloads join the backlog as references to the same
        bytes every recipient shares, so a client far behind costs a queue of references, not a
        copy of everything it has not read.
        """
        outbox, self._outbox = self._outbox, None
        if not outbox or self._transport.is_closing():
            return
        if self._backlog is None:
            data = outbox[0] if len(outbox) == 1 else b"".join(outbox)
            self._host.stats.lines_out += data.count(b"\n")
            self._transport.write(data)
            return
        self._backlog.extend(outbox)
        self._backlog_bytes += sum(map(len, outbox)) + len(outbox) * BACKLOG_ENTRY_BYTES
        self._host.stats.lines_out += sum(payload.count(b"\n") for payload in outbox)
        if self._backlog_bytes + self._transport.get_write_buffer_size() > self._host.limits.max_send_buffer:
            self._fell_behind()

    def _fell_behind(self) -> None:
        """More than --max-send-buffer bytes are waiting for this client to read them."""
        if self._state is State.CLOSING or self._state is State.CLOSED:
            return
        behind = self._host.limits.max_send_buffer
        log.warning(
            "Disconnecting %s: it fell %d bytes behind",
            self.describe(),
            behind,
            extra=fields("fell-behind", peer=self.peer_text, user=self.session.name, bytes=behind),
        )
        self._host.stats.slow_readers_dropped += 1
        self._end_reason = "fell-behind"
        self.session.leave("fell-behind", None)
        # Reset, not a graceful close: the kernel drops what this client never read instead of
        # keeping it (in FIN-WAIT-1) for as long as the client keeps its end open.
        self._set_socket_option(socket.SO_LINGER, _RESET_ON_CLOSE)
        self.abort()
        self._host.release_memory_soon()

    def describe(self) -> str:
        """The peer and, once logged in, the name: ``127.0.0.1:5000 (alice)``."""
        user = self.session.name
        return f"{self.peer_text} ({user})" if user else self.peer_text

    def _set_socket_option(self, option: int, value: int | bytes) -> None:
        sock = self._transport.get_extra_info("socket")
        # The peer may be gone already, or the platform may refuse: neither is worth a failure.
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, value)

    # --- ending ---------------------------------------------------------------------------------
    def close(self, reason: str = "closed") -> None:
        """Leave the room, send the session's farewell for ``reason`` after everything queued,
        then close gracefully.  A client that does not read what is left within
        CLOSE_GRACE_SECONDS is aborted, so a stalled reader cannot keep its descriptor forever.
        """
        if self._state is not State.OPEN:
            return
        self._state = State.LEAVING
        self._end_reason = reason
        self.session.leave(reason, lambda: self._finish_close(reason))

    def _finish_close(self, reason: str) -> None:
        if self._state is not State.LEAVING:  # aborted meanwhile
            return
        farewell = self.session.farewell(reason)
        if farewell is not None:
            self.send(farewell)
        self.flush()
        if self._state is not State.LEAVING:  # it fell too far behind to be sent anything more
            return
        if self._backlog:  # everything still owed goes to the transport, which sends it before closing
            self._transport.write(b"".join(self._backlog))
        self._backlog, self._backlog_bytes = None, 0
        self._state = State.CLOSING
        self._transport.close()
        if self._transport.get_write_buffer_size():
            self._loop.call_later(CLOSE_GRACE_SECONDS, self._transport.abort)

    def abort(self) -> None:
        """Close at once, dropping whatever is still unsent."""
        if self._state is not State.CLOSED:
            self._state = State.CLOSING
        self._transport.abort()

    def mark_registered(self) -> None:
        """The session logged in: the login timeout no longer applies."""
        self._host.note_registered(self)

    # --- input ----------------------------------------------------------------------------------
    def charge(self, tokens: int) -> None:
        """Spend ``tokens`` more for what the last line cost (a long reply), into debt if need be:
        the next lines wait until it is repaid."""
        if self._bucket is not None:
            self._bucket.charge(tokens, self._loop.time())

    def resume(self) -> None:
        """The session takes input again (its room answered, or can take commands again)."""
        if self._held == "session":
            self._carry_on()

    def _drain(self) -> None:
        """Handle what the reader holds, as fast as the budget allows; close after end of file."""
        try:
            self._pump()
        finally:
            self.session.read_done()
        if self._reader.ended and self._held is None:
            self.close()

    def _pump(self) -> None:
        bucket, reader, session, host = self._bucket, self._reader, self.session, self._host
        while (reader.pending or self._parked) and self._state is State.OPEN:
            now = self._loop.time()
            if self._parked:  # framed and charged before a hold
                events, self._parked = self._parked, None
            else:
                limit = None
                if bucket is not None:
                    limit = bucket.available(now)
                    if not limit:
                        self._hold("tokens", bucket.delay())
                        return
                events, cost = reader.events(limit)  # a line, a telnet sequence ... costs a token
                host.stats.lines_in += len(events)
                if bucket is not None:
                    bucket.charge(cost, now)
            for index, event in enumerate(events):
                if self._state is not State.OPEN:
                    return
                if bucket is not None and bucket.in_debt(now):  # a long reply cost more than its line
                    self._parked = events[index:]
                    self._hold("tokens", bucket.delay())
                    return
                if not session.ready_for_input():  # it resumes us once its room has answered
                    self._parked = events[index:]
                    self._hold("session")
                    return
                if type(event) is str:
                    if self.last_line_at != now:  # only a complete line counts as activity
                        self.last_line_at = now
                        host.note_activity(self)
                    if event:
                        session.line_received(event)
                elif event is LINE_TOO_LONG:
                    session.line_too_long()
                elif isinstance(event, TelnetReply):
                    self.send(event.data)

    def _hold(self, why: InputHold, seconds: float = 0.0) -> None:
        """Stop reading: TCP then pushes back on the sender.  Out of tokens, until one is due;
        for the session, until it calls ``resume``."""
        self._held = why
        self._transport.pause_reading()
        if why == "tokens":
            self._loop.call_later(seconds, self._token_due)

    def _token_due(self) -> None:
        if self._held == "tokens":
            self._carry_on()

    def _carry_on(self) -> None:
        """A hold is over: handle what waited, and read again unless another hold began."""
        self._held = None
        if self._state is not State.OPEN:
            return
        self._drain()
        if self._held is None and self._state is State.OPEN:
            self._transport.resume_reading()
