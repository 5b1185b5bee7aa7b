"""One connection, whatever protocol it carries: the ``asyncio.BufferedProtocol`` that coordinates
its input pump, its output queue and its close lifecycle, and hands lines to its session.

Two narrow interfaces (``interfaces``), and nothing else, connect it to the rest:
- its **session** (``Session``: the chat session, an IRC session, ...) turns lines into commands
  and says what to send when the connection is refused or closes; it sends through ``send``, and
  may decline input (``ready_for_input``, or a line it cannot take yet) until it calls ``resume``;
- its **host** (``ConnectionHost``: the server) admits it, keeps its clocks, flushes its output,
  judges it when it falls behind, and shares the budget of its address.
The connection knows no wire line of any protocol: the reader's options and the session come from
the listener it was accepted on (``SessionType``).  It does know one kind of line, which belongs to
no chat protocol: before login, an HTTP request line or ``Host:`` header (``cross_protocol``) ends
the connection at once, and nothing after it runs (reason ``http-request``, logged as a refusal).

The parts, each with its own plan and guarantees: ``input_pump`` (reads framed only as far as the
budgets pay, held while the session cannot take more; nothing dropped or reordered),
``output_queue`` (payloads kept as shared references and written a chunk at a time, a bounded
amount per loop turn) and ``flow_control`` (the limits, and their arithmetic).  What the connection
itself does is judge what it owes: on every enqueue and write, against the limits, as Redis's
``client-output-buffer-limit``: over ``--max-send-buffer`` (hard) the client is reset at once; over
``--send-buffer-soft`` for ``--send-buffer-soft-seconds``, or reading nothing at all for that long
while output waits, it is reset by the host's sweep.  A client reset this way gets ``SO_LINGER`` 0:
the kernel drops what it never read.

Pushback.  A connection whose transport takes everything it is given but whose backlog is over a
quarter of the soft limit is waiting on the server, not on its reader: it counts as *congested*,
and while any connection is, sessions defer the lines that would send more to the room (the host
says so).  So the server takes in messages no faster than it can deliver them, and a reader that
keeps up is never the one that pays for a flood.

Lifecycle, one state: OPEN, then LEAVING once ``close`` began (the session leaves its room; in a
cluster the farewell waits until the name is free everywhere), CLOSING once the farewell is queued
(what is queued still goes out; a client that does not read it within CLOSE_GRACE_SECONDS is cut
off), CLOSED once asyncio says the connection is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import socket
import struct
import sys

from algokart_chat.framing import LineReader
from algokart_chat.logs import fields, format_peer
from algokart_chat.token_bucket import InputBudget
from algokart_chat.transport.flow_control import FlowLimits, seconds_over
from algokart_chat.transport.input_pump import READ_SIZE, InputPump
from algokart_chat.transport.interfaces import ConnectionHost, Session, SessionType, TrafficCounts
from algokart_chat.transport.keepalive import enable_keepalive
from algokart_chat.transport.output_queue import WRITE_QUANTUM, Backlog, small_write

__all__ = [
    "CLOSE_GRACE_SECONDS",
    "READ_SIZE",
    "Connection",
    "ConnectionHost",
    "FlowLimits",
    "Session",
    "SessionType",
    "State",
    "TrafficCounts",
]

log = logging.getLogger(__name__)

CLOSE_GRACE_SECONDS = 5.0
# The kernel's send buffer per connection: plenty for chat lines, and a bound on what the kernel
# holds for a client that stops reading (without it Linux grows it up to 4 MiB).
SOCKET_SEND_BUFFER = 64 * 1024
_RESET_ON_CLOSE = struct.pack("hh" if sys.platform == "win32" else "ii", 1, 0)  # SO_LINGER on, 0 s


class State(enum.Enum):
    OPEN = "open"
    LEAVING = "leaving"  # close() began: the farewell waits until the session has left its room
    CLOSING = "closing"  # the farewell is queued or the transport aborted: nothing more is sent
    CLOSED = "closed"  # asyncio said the connection is lost


class Connection(asyncio.BufferedProtocol):
    """One accepted connection; see the module docstring."""

    # Per-connection memory matters at 10,000 clients: slots, and containers made only when used.
    __slots__ = (
        "_backlog",
        "_congested",
        "_end_reason",
        "_host",
        "_input",
        "_outbox",
        "_over_soft_since",
        "_paused_since",
        "_peername",
        "_state",
        "_transport",
        "connected_at",
        "last_line_at",
        "session",
    )

    def __init__(self, host: ConnectionHost, session_type: SessionType) -> None:
        self.last_line_at = 0.0  # loop time of the last complete line: the host's idle clock
        self.connected_at = 0.0  # loop time of the connection: the host's login clock
        self._host = host
        self._transport: asyncio.Transport = None  # type: ignore[assignment]  # set by connection_made
        self._peername: object = None  # the transport's own tuple (a TLS transport forgets it on close)
        self._outbox: list[bytes] | None = None  # queued this loop turn; None when empty
        self._backlog: Backlog | None = None  # what waits for the transport; None when nothing does
        self._paused_since: float | None = None  # the transport has not sent our last chunk since
        self._over_soft_since: float | None = None  # over the soft limit since
        self._congested = False  # waiting on the server (see Pushback); the host counts us
        self._state = State.OPEN
        self._end_reason: str | None = None  # why the connection ended, for the logs
        reader = LineReader(session_type.max_line_bytes, session_type.telnet, session_type.strip)
        self._input = InputPump(self, host, reader)
        self.session = session_type.new_session(self)

    @property
    def peer(self) -> tuple[str, int] | None:
        """``(host, port)`` as the logs show it: IPv4 seen through a dual-stack socket stays IPv4."""
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

    def describe(self) -> str:
        """The peer and, once logged in, the name: ``127.0.0.1:5000 (alice)``."""
        user = self.session.name
        return f"{self.peer_text} ({user})" if user else self.peer_text

    # --- asyncio callbacks ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._peername = transport.get_extra_info("peername")
        self.connected_at = self.last_line_at = now = self._host.loop.time()
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
        sock = transport.get_extra_info("socket")
        if host.limits.keepalive_seconds and sock is not None:
            enable_keepalive(sock, host.limits.keepalive_seconds)
        transport.set_write_buffer_limits(high=0)  # one chunk at a time: see output_queue
        rates = host.limits.rates
        budget = InputBudget(rates, now) if rates is not None else None
        self._input.start(budget, host.address_budget(self))

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._host.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self._host.read_buffer[:nbytes]))

    def data_received(self, data: bytes) -> None:
        """Bytes that arrived (from ``buffer_updated``, or from a TLS layer in between)."""
        if self._state is State.OPEN:
            self._input.feed(data)

    def eof_received(self) -> bool:
        """The client will send no more: handle what it sent, then close.  Always True: the
        transport stays open until this connection closes it, once every line is answered (some
        may wait for tokens or for the session) and everything owed is sent."""
        self._input.finish()
        return True

    def pause_writing(self) -> None:
        """asyncio: the transport could not send all of the last chunk; it says when it has."""
        if self._paused_since is None:
            self._paused_since = self._host.loop.time()
            self._judge()

    def resume_writing(self) -> None:
        """asyncio: the transport has sent everything it was given: hand it more."""
        self._paused_since = None
        self._write()
        self._judge()

    def connection_lost(self, exc: Exception | None) -> None:
        self._state = State.CLOSED
        self._outbox = None
        self._forget_backlog()
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
        """Queue bytes for this client; they are written once this loop iteration is over.  The
        bytes are kept, never copied: pass the same object to every recipient."""
        outbox = self._outbox
        if outbox is not None:
            outbox.append(data)
        elif self._state is State.OPEN or self._state is State.LEAVING:
            self._outbox = [data]
            self._host.flush_soon(self)

    def reply(self, data: bytes) -> None:
        """Queue an answer to this client's own command: as ``send``, but written ahead of others'
        deliveries in the host's next write pass (still after everything queued for this client)."""
        self.send(data)
        self._host.flush_first(self)

    def flush(self) -> None:
        """Move what this loop turn queued into the backlog and write (the host calls this once per
        loop iteration, and ``close`` once more for the farewell)."""
        outbox, self._outbox = self._outbox, None
        if self._transport.is_closing():
            return
        if outbox:
            stats = self._host.stats
            if self._backlog is None and self._paused_since is None:
                data = small_write(outbox)
                if data is not None:  # the common case: a little, and nothing waiting
                    for payload in outbox:  # (each is shared: counted once for all its recipients)
                        stats.count_out(payload)
                    self._transport.write(data)
                    return
            if self._backlog is None:
                self._backlog = Backlog()
            self._backlog.add(outbox)
            for payload in outbox:
                stats.count_out(payload)
        if self._paused_since is None:
            self._write()
        self._judge()

    def _write(self) -> None:
        """Hand the transport up to WRITE_QUANTUM bytes of the backlog, a chunk at a time, while it
        sends each chunk at once; the rest waits for ``resume_writing``."""
        backlog, transport = self._backlog, self._transport
        written = 0
        while backlog and self._paused_since is None and written < WRITE_QUANTUM and not transport.is_closing():
            chunk = backlog.next_chunk()
            written += len(chunk)
            transport.write(chunk)  # it calls pause_writing at once if it could not send it all
        if not backlog:
            self._backlog = None
            if self._state is State.CLOSING and self._paused_since is None:
                transport.close()  # everything owed is sent: now close (see _finish_close)
        elif self._paused_since is None and not transport.is_closing() and self._outbox is None:
            self._outbox = []  # the quantum is spent, the transport keeps up: more next loop turn
            self._host.flush_soon(self)

    @property
    def behind(self) -> int:
        """Bytes this client has not been sent yet, counting each waiting payload's bookkeeping."""
        queued = self._backlog.size if self._backlog is not None else 0
        return queued + self._transport.get_write_buffer_size()

    def _judge(self) -> None:
        """After every enqueue and every write: over the hard limit, reset at once; otherwise note
        where this connection stands for the pushback and the host's sweep (``overdue``)."""
        if self._state is State.CLOSED:
            return
        behind, limits = self.behind, self._host.limits
        if behind > limits.hard_limit:
            self.drop("hard")
            return
        congested = behind >= limits.congestion_limit and self._paused_since is None
        if congested is not self._congested:
            self._congested = congested
            self._host.note_congested(congested)
        if behind >= limits.soft_limit:
            if self._over_soft_since is None:
                self._over_soft_since = self._host.loop.time()
                self._host.watch(self)
        else:
            self._over_soft_since = None
        if self._paused_since is not None:
            self._host.watch(self)

    def overdue(self, now: float) -> str | None:
        """The host's sweep: ``soft`` or ``stalled`` if this client must be reset for it; ``ok`` if
        it is still behind and must be watched; None once it is not behind any more."""
        return self._host.limits.overdue(now, self._over_soft_since, self._paused_since)

    def drop(self, limit: str) -> None:
        """Reset this client: it fell too far behind (``limit``: hard, soft or stalled)."""
        if self._state is State.CLOSED:
            return
        behind, limits = self.behind, self._host.limits
        seconds = seconds_over(limit, self._host.loop.time(), self._over_soft_since, self._paused_since)
        log.warning(
            "Disconnecting %s: %d bytes waiting, %s",
            self.describe(),
            behind,
            limits.broken(limit, seconds),
            extra=fields(
                "fell-behind", peer=self.peer_text, user=self.session.name, bytes=behind, limit=limit, seconds=seconds
            ),
        )
        self._host.note_dropped(limit)
        self._end_reason = "fell-behind"
        self.session.leave("fell-behind", None)
        # Reset, not a graceful close: the kernel drops what this client never read instead of
        # keeping it (in FIN-WAIT-1) for as long as the client keeps its end open.
        self._set_socket_option(socket.SO_LINGER, _RESET_ON_CLOSE)
        self.abort()
        self._host.release_memory_soon()

    def _forget_backlog(self) -> None:
        self._backlog = None
        if self._congested:
            self._congested = False
            self._host.note_congested(False)

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
        self.flush()  # (now, not in the host's next write pass)
        if self._state is not State.LEAVING:  # it fell too far behind to be sent anything more
            return
        self._state = State.CLOSING
        if self._backlog is None and self._paused_since is None:
            self._transport.close()  # (otherwise _write closes it once the backlog is sent)
        if self._backlog is not None or self._transport.get_write_buffer_size():
            self._host.loop.call_later(CLOSE_GRACE_SECONDS, self._give_up_closing)

    def _give_up_closing(self) -> None:
        if self._state is State.CLOSING:
            self.abort()

    def abort(self) -> None:
        """Close at once, dropping whatever is still unsent."""
        if self._state is not State.CLOSED:
            self._state = State.CLOSING
        self._forget_backlog()
        self._transport.abort()

    def end_refused(self, reason: str) -> None:
        """A refusal after admission (``http-request``): logged as one, then closed for it."""
        self._host.note_refusal(reason, self.peer_text)
        self.close(reason)

    def idle(self) -> None:
        """The host's idle sweep: no complete line for --idle-timeout seconds."""
        if self._state is not State.OPEN:
            return
        reason = self.session.idle()
        if reason is not None:
            self.close(reason)
        else:  # another period, from now
            self.last_line_at = self._host.loop.time()
            self._host.note_activity(self)

    def mark_registered(self) -> None:
        """The session logged in: the login timeout no longer applies."""
        self._host.note_registered(self)

    # --- input (input_pump) ---------------------------------------------------------------------
    def pause_reading(self) -> None:
        """The input pump holds its input: stop reading from the socket."""
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        """The input pump's hold is over: read from the socket again."""
        self._transport.resume_reading()

    def note_line(self, now: float) -> None:
        """A complete line arrived at ``now``: the host's idle clock restarts."""
        if self.last_line_at != now:
            self.last_line_at = now
            self._host.note_activity(self)

    def charge(self, tokens: int) -> None:
        """Spend ``tokens`` more lines' worth for what the last line cost (a long reply), into
        debt if need be: the next lines wait until it is repaid."""
        self._input.charge(tokens)

    def resume(self) -> None:
        """The session takes input again (its room answered, or can take more)."""
        self._input.resume()
