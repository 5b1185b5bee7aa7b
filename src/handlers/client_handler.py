"""One client connection: an ``asyncio.Protocol`` that glues the wire protocol to the room.

Bytes arrive in ``data_received``; ``protocol.LineReader`` turns them into lines, each line is
one command, and the command's replies go to this connection while its effects go to the room.

Output plan: nothing is written to the socket while a command runs.  ``deliver`` appends to an
outbox, and ``flush``, called by the server once per event-loop iteration for every connection
with output, hands everything queued for it to the transport in a single write.  Consecutive MSG lines from one read are joined and handed to
the room as one payload, so a burst of k broadcasts costs one list append per recipient, not k,
and all recipients share the same bytes.  Order is kept: the batch is published before this
connection does anything else that others can see (a DM, leaving) and at the end of every read,
and no other connection runs in between, so every recipient sees the same sequence.

Flow control, both ways:
- Input: each line (and each telnet sequence) costs a token (``--rate-limit``,
  ``--rate-burst``).  Out of tokens, the handler leaves what it read unframed in the reader,
  calls ``pause_reading`` and resumes when a token is due: nothing is dropped or reordered, at
  most one read of raw bytes waits, and TCP pushes back on the flooder.
- The room: a command the room answers later (in a cluster: LOGIN, PING, WHO, a DM to a name
  not known yet, and a close, whose farewell waits until the name is free everywhere) pauses
  reading until the answer, and so does a room that cannot take commands (``ChatRoom.ready``).
  Replies stay in the order of the commands.
- Output: the transport holds at most TRANSPORT_HIGH_WATER bytes; once asyncio calls
  ``pause_writing``, payloads wait in a backlog of references to the bytes all recipients share,
  and ``resume_writing`` feeds them on.  A client more than ``--max-send-buffer`` bytes behind is
  reset.  The server never waits on one client's socket.

Every way a connection ends goes through ``_leave_room``, so other users hear
``INFO <name> disconnected`` exactly once (ChatServer sends the departures of one loop iteration
together), and the name is free again at once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
import struct
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import protocol
from handlers.broadcast import JoinResult
from protocol import LINE_TOO_LONG, TelnetReply
from utils.logs import fields, format_peer
from utils.token_bucket import TokenBucket

if TYPE_CHECKING:
    from handlers.chat_server import ChatServer

log = logging.getLogger("chat.connection")

CLOSE_GRACE_SECONDS = 5.0
# The kernel's send buffer per connection: plenty for chat lines, and a bound on what the kernel
# holds for a client that stops reading (without it Linux grows it up to 4 MiB).
SOCKET_SEND_BUFFER = 64 * 1024
WHO_BYTES_PER_TOKEN = 1024
# Output beyond what the kernel takes: the transport holds at most about this many bytes (copies);
# past it, a client's backlog holds references to the shared payloads.  Each backlog entry counts
# BACKLOG_ENTRY_BYTES more toward --max-send-buffer for its bookkeeping, so a flood of tiny
# payloads cannot make a non-reader's queue of references long.
TRANSPORT_HIGH_WATER = 16 * 1024
BACKLOG_ENTRY_BYTES = 64
WRITE_CHUNK_BYTES = 64 * 1024
_RESET_ON_CLOSE = struct.pack("hh" if sys.platform == "win32" else "ii", 1, 0)  # SO_LINGER on, 0 s


class ClientHandler(asyncio.Protocol):
    # Per-connection memory matters at 10,000 clients: slots, and containers made only when used.
    __slots__ = (
        "_at_eof",
        "_awaiting",
        "_backlog",
        "_backlog_bytes",
        "_bucket",
        "_closing",
        "_end_reason",
        "_leaving",
        "_loop",
        "_message_prefix",
        "_outbox",
        "_paid_for",
        "_peername",
        "_reader",
        "_server",
        "_throttled",
        "_transport",
        "_unpublished",
        "_waiting",
        "_writing_paused",
        "connected_at",
        "last_line_at",
        "name",
    )

    def __init__(self, server: ChatServer) -> None:
        self.name: str | None = None
        self.last_line_at = 0.0  # loop time of the last complete line: ChatServer's idle clock
        self.connected_at = 0.0  # loop time of the connection: ChatServer's login clock
        self._server = server
        self._loop = server.loop
        self._transport: asyncio.Transport = None  # type: ignore[assignment]  # set by connection_made
        self._peername: object = None  # the transport's own tuple (a TLS transport forgets it on close)
        self._reader = protocol.LineReader(server.settings.max_line_bytes)
        self._outbox: list[bytes] | None = None  # queued for the next write; None when empty
        self._backlog: collections.deque[bytes] | None = None  # waiting for room in the transport
        self._backlog_bytes = 0  # what the backlog counts toward --max-send-buffer
        self._writing_paused = False
        self._unpublished: list[bytes] | None = None  # this read's broadcasts, not yet in the room
        self._paid_for: list[protocol.Event] | None = None  # framed and charged, waiting out a debt
        self._closing = False
        self._leaving = False  # close() began: the farewell waits until the room has freed the name
        self._end_reason: str | None = None  # why the connection ended, for the logs
        self._message_prefix = b""
        self._bucket: TokenBucket | None = None
        self._throttled = False  # reading paused until the rate limit allows more lines
        self._waiting = False  # reading paused until the room answers a LOGIN or can take commands
        self._awaiting = False  # a LOGIN or PING is waiting for the room's answer
        self._at_eof = False

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
        return self._closing or self._leaving

    # --- asyncio callbacks ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._peername = transport.get_extra_info("peername")
        self.connected_at = self.last_line_at = now = self._loop.time()
        refusal = self._server.admit(self)
        if refusal is not None:
            self._server.note_refusal(refusal, self.peer_text)
            self._closing = True
            transport.write(protocol.error(refusal))
            transport.close()
            return
        log.debug("New connection from %s", self.peer_text, extra=fields("connect", peer=self.peer_text))
        self._set_socket_option(socket.SO_SNDBUF, SOCKET_SEND_BUFFER)
        settings = self._server.settings
        transport.set_write_buffer_limits(high=TRANSPORT_HIGH_WATER)
        if settings.rate_limit:
            self._bucket = TokenBucket(settings.rate_limit, settings.rate_burst, now)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self._reader.feed(data)
        if not self._paused:  # (while paused, a read already under way may still arrive)
            self._drain()

    def eof_received(self) -> bool:
        """The client will send no more: answer what it sent, then close.  The transport must
        stay open only while lines wait for tokens."""
        self._at_eof = True
        self._reader.finish()
        if not self._paused:
            self._drain()
        return self._paused or self._leaving

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

    def _fell_behind(self) -> None:
        """More than --max-send-buffer bytes are waiting for this client to read them."""
        if not self._closing:
            behind = self._server.settings.max_send_buffer
            log.warning(
                "Disconnecting %s%s: it fell %d bytes behind",
                self.peer_text,
                f" ({self.name})" if self.name else "",
                behind,
                extra=fields("fell-behind", peer=self.peer_text, user=self.name, bytes=behind),
            )
            self._server.stats.slow_readers_dropped += 1
            self._end_reason = "fell-behind"
            self._leave_room()
            # Reset, not a graceful close: the kernel drops what this client never read instead of
            # keeping it (in FIN-WAIT-1) for as long as the client keeps its end open.
            self._set_socket_option(socket.SO_LINGER, _RESET_ON_CLOSE)
            self.abort()
            self._server.release_memory_soon()

    def _set_socket_option(self, option: int, value: int | bytes) -> None:
        sock = self._transport.get_extra_info("socket")
        # The peer may be gone already, or the platform may refuse: neither is worth a failure.
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, value)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._outbox = None
        if self._end_reason is None:
            self._end_reason = "closed" if exc is None else "reset"
        if self._server.forget(self):
            self._leave_room()
            reason = self._end_reason
            log.debug(
                "Connection closed: %s (%s)",
                self.peer_text,
                reason,
                extra=fields("disconnect", peer=self.peer_text, reason=reason),
            )

    # --- output ---------------------------------------------------------------------------------
    def deliver(self, data: bytes) -> None:
        """Queue bytes for this client; they are written once this loop iteration is over."""
        outbox = self._outbox
        if outbox is not None:
            outbox.append(data)
        elif not self._closing:
            self._outbox = [data]
            self._server.flush_soon(self)

    def flush(self) -> None:
        """Write everything queued in one go (ChatServer calls this once per loop iteration).

        While the transport is full, the payloads join the backlog as references to the same
        bytes every recipient shares, so a client far behind costs a queue of references, not a
        copy of everything it has not read.
        """
        outbox, self._outbox = self._outbox, None
        if not outbox or self._transport.is_closing():
            return
        if self._backlog is None:
            data = outbox[0] if len(outbox) == 1 else b"".join(outbox)
            self._server.stats.lines_out += data.count(b"\n")
            self._transport.write(data)
            return
        self._backlog.extend(outbox)
        self._backlog_bytes += sum(map(len, outbox)) + len(outbox) * BACKLOG_ENTRY_BYTES
        self._server.stats.lines_out += sum(payload.count(b"\n") for payload in outbox)
        if self._backlog_bytes + self._transport.get_write_buffer_size() > self._server.settings.max_send_buffer:
            self._fell_behind()

    # --- ending the connection ------------------------------------------------------------------
    def close(self, farewell: bytes | None = None, reason: str = "closed") -> None:
        """Leave the room, send ``farewell`` after everything queued, then close gracefully.

        A client that does not read what is left within CLOSE_GRACE_SECONDS is aborted, so a
        stalled reader cannot keep its descriptor forever.  ``reason`` is for the logs.
        """
        if self.closing:
            return
        self._end_reason = reason
        self._leaving = True
        self._leave_room()
        # In a cluster the name is free everywhere once the room has written the leave: the
        # farewell and the close wait for that, so a client that reconnects at once gets it back.
        self._server.room.sync(self, lambda: self._finish_close(farewell))

    def _finish_close(self, farewell: bytes | None) -> None:
        if self._closing:  # aborted meanwhile
            return
        if farewell is not None:
            self.deliver(farewell)
        self.flush()
        if self._closing:  # it fell too far behind to be sent anything more
            return
        if self._backlog:  # everything still owed goes to the transport, which sends it before closing
            self._transport.write(b"".join(self._backlog))
        self._backlog, self._backlog_bytes = None, 0
        self._closing = True
        self._transport.close()
        if self._transport.get_write_buffer_size():
            self._loop.call_later(CLOSE_GRACE_SECONDS, self._transport.abort)

    def abort(self) -> None:
        """Close at once, dropping whatever is still unsent."""
        self._closing = True
        self._transport.abort()

    def time_out(self) -> None:
        """ChatServer's idle sweep: no complete line for --idle-timeout seconds."""
        self.close(protocol.INFO_IDLE_TIMEOUT, "idle")

    def login_timed_out(self) -> None:
        """ChatServer's login sweep: not logged in --login-timeout seconds after connecting."""
        self.close(protocol.INFO_LOGIN_TIMEOUT, "login-timeout")

    def _leave_room(self) -> None:
        name = self.name
        if name is None:
            return
        self.name = None
        server = self._server
        server.room.leave(self, name)  # the room tells everyone, through ChatServer.departed
        if not server.shutting_down:  # (at shutdown nobody is left to read the logs of 10,000)
            reason = self._end_reason or "closed"
            log.info(
                "Leave: %s (%s)", name, reason, extra=fields("leave", user=name, peer=self.peer_text, reason=reason)
            )

    # --- commands -------------------------------------------------------------------------------
    def _drain(self) -> None:
        """Handle what the reader holds, as fast as the rate limit allows; close after end of file."""
        try:
            self._handle_available()
        finally:
            if self._unpublished is not None:
                self._publish()
        if self._at_eof and not self._paused:
            self.close()

    def _handle_available(self) -> None:
        bucket, reader, room = self._bucket, self._reader, self._server.room
        while (reader.pending or self._paid_for) and not self.closing:
            if not room.ready:  # (a cluster whose link is down): the server resumes us
                self._wait_for_room()
                self._server.wait_for_room(self)
                return
            now = self._loop.time()
            if self._paid_for:  # framed and charged before a costly reply put us in debt
                events, self._paid_for = self._paid_for, None
            else:
                limit = None
                if bucket is not None:
                    limit = bucket.available(now)
                    if not limit:
                        self._throttle(bucket.delay())
                        return
                events, cost = reader.events(limit)  # a line, a telnet sequence ... costs a token
                self._server.stats.lines_in += len(events)
                if bucket is not None:
                    bucket.charge(cost, now)
            for index, event in enumerate(events):
                if self.closing:
                    return
                if bucket is not None and bucket.in_debt:  # a long WHO cost more than its line
                    self._paid_for = events[index:]
                    self._throttle(bucket.delay())
                    return
                if type(event) is str:
                    if self.last_line_at != now:  # only a complete line counts as activity
                        self.last_line_at = now
                        self._server.note_activity(self)
                    if event:
                        self._handle_line(event)
                        if self._awaiting:  # the room answers later: the rest waits for it
                            self._paid_for = events[index + 1 :] or None
                            self._wait_for_room()
                            return
                elif event is LINE_TOO_LONG:
                    self.deliver(_ERR_LINE_TOO_LONG)
                elif isinstance(event, TelnetReply):
                    self.deliver(event.data)

    def _throttle(self, seconds: float) -> None:
        """Stop reading until a token is due: TCP then pushes back on the sender."""
        self._throttled = True
        self._transport.pause_reading()
        self._loop.call_later(seconds, self._unthrottle)

    def _unthrottle(self) -> None:
        self._throttled = False
        self._carry_on()

    @property
    def _paused(self) -> bool:
        return self._throttled or self._waiting

    def _wait_for_room(self) -> None:
        """Stop reading until the room answers (in a cluster: a LOGIN, PING, WHO, or a DM to a
        name not known yet) or can take commands again."""
        self._waiting = True
        self._transport.pause_reading()

    def room_ready(self) -> None:
        """The room can take this connection's commands again (ChatServer calls it)."""
        if self._waiting and not self._awaiting:
            self._waiting = False
            self._carry_on()

    def _answered(self) -> None:
        """The room answered (a LOGIN, PING, WHO or DM): carry on with what waited for it."""
        self._awaiting = False
        if self._waiting:
            self._waiting = False
            self._carry_on()

    def _carry_on(self) -> None:
        """A pause is over: handle what waited, and read again unless another pause began."""
        if self.closing or self._paused:
            return
        self._drain()
        if not self._paused and not self.closing:
            self._transport.resume_reading()

    def _publish(self) -> None:
        unpublished, self._unpublished = self._unpublished, None
        assert unpublished
        payload = unpublished[0] if len(unpublished) == 1 else b"".join(unpublished)
        self._server.room.broadcast(payload, self)

    def _handle_line(self, line: str) -> None:
        verb, argument = protocol.parse_command(line)
        if self._unpublished is not None and verb != "MSG":
            self._publish()
        command = _ANYTIME.get(verb)
        if command is None:
            if self.name is None:
                self.deliver(_ERR_NOT_LOGGED_IN)
                return
            command = _LOGGED_IN.get(verb, ClientHandler._unknown)
        command(self, argument)

    def _login(self, name: str) -> None:
        if self.name is not None:
            self.deliver(_ERR_ALREADY_LOGGED_IN)
        elif not protocol.is_valid_username(name):
            self.deliver(_ERR_INVALID_USERNAME)
        else:
            self._awaiting = True
            self._server.announce_departures()  # (whoever left before this LOGIN is not news to it)
            self._server.room.join(self, name, lambda result: self._joined(name, result))

    def _joined(self, name: str, result: JoinResult) -> None:
        """The room's answer to LOGIN ``name``: at once in memory, after a round trip in a cluster."""
        if self.closing:  # gone while the room was deciding
            if result == "ok":
                self._server.room.leave(self, name)
            return
        if result == "ok":
            self.name = name
            self._server.note_login(self)
            self._message_prefix = protocol.message_prefix(name)
            self.deliver(protocol.OK)
            log.info("Login: %s from %s", name, self.peer_text, extra=fields("login", user=name, peer=self.peer_text))
        else:
            self.deliver(_ERR_USERNAME_TAKEN if result == "taken" else _ERR_CLUSTER_UNAVAILABLE)
        self._answered()

    def _message(self, argument: str) -> None:
        text = protocol.clean_text(argument)
        if not text:
            self.deliver(_ERR_EMPTY_MESSAGE)
            return
        line = protocol.with_text(self._message_prefix, text)
        if self._unpublished is None:
            self._unpublished = [line]
        else:
            self._unpublished.append(line)

    def _direct(self, argument: str) -> None:
        name, rest = protocol.split_word(argument)
        if name and not self._server.room.knows(name):
            # In a cluster, the name may belong to someone who just logged in on another process
            # that this one has not heard of yet: look again once it has caught up (ChatRoom.sync).
            self._awaiting = True
            self._server.room.sync(self, lambda: self._send_direct(name, rest, answered=True))
        else:
            self._send_direct(name, rest)

    def _send_direct(self, name: str, rest: str, answered: bool = False) -> None:
        if self.closing:
            return
        room = self._server.room
        if not name or not room.knows(name):
            self.deliver(_ERR_NO_SUCH_USER)
        elif not (text := protocol.clean_text(rest)):
            self.deliver(_ERR_EMPTY_MESSAGE)
        else:
            assert self.name is not None  # DM is a logged-in command
            room.direct(name, protocol.with_text(protocol.direct_prefix(self.name), text))
        if answered:
            self._answered()

    def _who(self, _argument: str) -> None:
        """The names online once everything before has been delivered (see ChatRoom.sync), so
        that in a cluster it lists whoever got OK before this WHO, on whichever process."""
        self._awaiting = True
        self._server.room.sync(self, self._answer_who)

    def _answer_who(self) -> None:
        if self.closing:
            return
        reply = self._server.who_reply()
        self.deliver(reply)
        if self._bucket is not None and len(reply) >= WHO_BYTES_PER_TOKEN:
            # A long reply costs more than a line: one more token per whole KiB beyond the line's own.
            self._bucket.charge(len(reply) // WHO_BYTES_PER_TOKEN, self._loop.time())
        self._answered()

    def _ping(self, _argument: str) -> None:
        """PONG once everything sent to the room before it has been delivered (see ChatRoom.sync):
        at once in memory, after a round trip through a cluster."""
        self._awaiting = True
        self._server.room.sync(self, self._pinged)

    def _pinged(self) -> None:
        if not self.closing:
            self.deliver(protocol.PONG)
            self._answered()

    def _help(self, _argument: str) -> None:
        self.deliver(protocol.HELP)

    def _quit(self, _argument: str) -> None:
        self.close(protocol.GOODBYE, "quit")

    def _unknown(self, _argument: str) -> None:
        self.deliver(_ERR_UNKNOWN_COMMAND)


_ERR_ALREADY_LOGGED_IN = protocol.error("already-logged-in")
_ERR_INVALID_USERNAME = protocol.error("invalid-username")
_ERR_USERNAME_TAKEN = protocol.error("username-taken")
_ERR_NOT_LOGGED_IN = protocol.error("not-logged-in")
_ERR_EMPTY_MESSAGE = protocol.error("empty-message")
_ERR_NO_SUCH_USER = protocol.error("no-such-user")
_ERR_UNKNOWN_COMMAND = protocol.error("unknown-command")
_ERR_LINE_TOO_LONG = protocol.error("line-too-long")
_ERR_CLUSTER_UNAVAILABLE = protocol.error("cluster-unavailable")

CommandMethod = Callable[[ClientHandler, str], None]

# Commands that work before login too.
_ANYTIME: dict[str, CommandMethod] = {
    "LOGIN": ClientHandler._login,
    "PING": ClientHandler._ping,
    "HELP": ClientHandler._help,
    "QUIT": ClientHandler._quit,
    "EXIT": ClientHandler._quit,
}
_LOGGED_IN: dict[str, CommandMethod] = {
    "MSG": ClientHandler._message,
    "DM": ClientHandler._direct,
    "WHO": ClientHandler._who,
}
