"""One client connection: an ``asyncio.Protocol`` that glues the wire protocol to the room.

Bytes arrive in ``data_received``; ``protocol.LineReader`` turns them into lines, each line is
one command, and the command's replies go to this connection while its effects go to the room.

Output plan: nothing is written to the socket while a command runs.  ``deliver`` appends to an
outbox, and one ``_flush`` per event-loop iteration hands everything queued for this connection
to the transport in a single write.  A broadcast therefore costs one list append per recipient,
and the same encoded bytes object is shared by all of them.

Flow control, both ways:
- Input: each line costs a token (``--rate-limit``, ``--rate-burst``).  Out of tokens, the
  handler keeps the lines it already has, calls ``pause_reading`` and resumes when a token is
  due: nothing is dropped or reordered, and TCP pushes back on the flooder.
- Output: the transport's high-water mark is ``--max-send-buffer``; when a client falls that
  far behind, asyncio calls ``pause_writing`` and the client is disconnected.  The server never
  waits on one client's socket.

Every way a connection ends goes through ``_leave_room``, so other users hear
``INFO <name> disconnected`` exactly once, and the name is free again at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Callable

import protocol
from protocol import LINE_TOO_LONG, TelnetReply
from utils.token_bucket import TokenBucket

if TYPE_CHECKING:
    from handlers.chat_server import ChatServer

log = logging.getLogger("chat.connection")


class ClientHandler(asyncio.Protocol):
    __slots__ = (
        "name", "peer", "_server", "_loop", "_transport", "_reader", "_outbox", "_closing",
        "_last_line_at", "_idle_timer", "_message_prefix", "_direct_prefix", "_bucket", "_backlog",
        "_at_eof",
    )

    def __init__(self, server: ChatServer) -> None:
        self._server = server
        self._loop = server.loop
        self._transport: asyncio.Transport | None = None
        self._reader = protocol.LineReader(server.settings.max_line_bytes)
        self._outbox: list[bytes] = []
        self._closing = False
        self._last_line_at = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None
        self._message_prefix = b""
        self._direct_prefix = b""
        self._bucket: TokenBucket | None = None
        self._backlog: list[protocol.Event] | None = None  # lines held back while throttled
        self._at_eof = False
        self.name: str | None = None
        self.peer: tuple[str, int] | None = None

    # --- asyncio callbacks ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.peer = peer_address(transport.get_extra_info("peername"))
        refusal = self._server.admit(self)
        if refusal is not None:
            log.warning("Refused connection from %s: %s", self.peer, refusal)
            self._closing = True
            transport.write(protocol.error(refusal))
            transport.close()
            return
        log.info("New connection from %s", self.peer)
        settings = self._server.settings
        transport.set_write_buffer_limits(high=settings.max_send_buffer)
        self._last_line_at = now = self._loop.time()
        if settings.rate_limit:
            self._bucket = TokenBucket(settings.rate_limit, settings.rate_burst, now)
        if settings.idle_timeout:
            self._idle_timer = self._loop.call_at(now + settings.idle_timeout, self._check_idle)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        events = self._reader.feed(data)
        if self._backlog is not None:  # throttled (an SSL transport may still hand us data)
            self._backlog += events
        elif events:
            self._handle_events(events)

    def eof_received(self) -> bool:
        self._at_eof = True
        if self._backlog is not None:
            self._backlog += self._reader.finish()
        elif not self._closing:
            self._handle_events(self._reader.finish())
            self.close()
        return True  # we close the transport ourselves, after flushing our replies

    def pause_writing(self) -> None:
        """asyncio: more than --max-send-buffer bytes are waiting for this client to read them."""
        if not self._closing:
            log.warning("Disconnecting %s: it fell %d bytes behind", self.peer, self._server.settings.max_send_buffer)
            self._leave_room()
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._outbox.clear()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        if self._server.forget(self):
            self._leave_room()
            log.info("Connection closed: %s", self.peer)

    # --- output ---------------------------------------------------------------------------------
    def deliver(self, data: bytes) -> None:
        """Queue bytes for this client; they are written once this loop iteration is over."""
        outbox = self._outbox
        if not outbox:
            if self._closing:
                return
            self._loop.call_soon(self._flush)
        outbox.append(data)

    def _flush(self) -> None:
        outbox = self._outbox
        if outbox and self._transport is not None and not self._transport.is_closing():
            self._transport.write(outbox[0] if len(outbox) == 1 else b"".join(outbox))
        outbox.clear()

    # --- ending the connection ------------------------------------------------------------------
    def close(self, farewell: bytes | None = None) -> None:
        """Leave the room, send ``farewell`` after everything queued, then close gracefully."""
        if self._closing:
            return
        self._leave_room()
        if farewell is not None:
            self.deliver(farewell)
        self._flush()
        self._closing = True
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        """Close at once, dropping whatever is still unsent."""
        self._closing = True
        if self._transport is not None:
            self._transport.abort()

    def _leave_room(self) -> None:
        name = self.name
        if name is None:
            return
        self.name = None
        room = self._server.room
        room.leave(name)
        if not self._server.shutting_down:
            room.broadcast(protocol.disconnected(name))

    def _check_idle(self) -> None:
        deadline = self._last_line_at + self._server.settings.idle_timeout
        if self._loop.time() >= deadline:
            self._idle_timer = None
            log.info("Idle timeout: %s", self.peer)
            self.close(protocol.INFO_IDLE_TIMEOUT)
        else:
            self._idle_timer = self._loop.call_at(deadline, self._check_idle)

    # --- commands -------------------------------------------------------------------------------
    def _handle_events(self, events: list[protocol.Event]) -> None:
        now = self._loop.time()
        bucket = self._bucket
        for index, event in enumerate(events):
            if self._closing:
                return
            if bucket is not None and type(event) is not TelnetReply and not bucket.take(now):
                self._throttle(events[index:])
                return
            if type(event) is str:
                self._last_line_at = now  # only a complete line counts as activity
                if event:
                    self._handle_line(event)
            elif event is LINE_TOO_LONG:
                self.deliver(protocol.error("line-too-long"))
            elif isinstance(event, TelnetReply):
                self.deliver(event.data)

    def _throttle(self, held_back: list[protocol.Event]) -> None:
        assert self._bucket is not None and self._transport is not None
        self._backlog = held_back
        self._transport.pause_reading()
        self._loop.call_later(self._bucket.delay(), self._unthrottle)

    def _unthrottle(self) -> None:
        held_back, self._backlog = self._backlog, None
        if self._closing or held_back is None:
            return
        self._handle_events(held_back)
        if self._backlog is None and not self._closing:
            if self._at_eof:
                self.close()
            else:
                self._transport.resume_reading()  # type: ignore[union-attr]

    def _handle_line(self, line: str) -> None:
        verb, argument = protocol.parse_command(line)
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
        elif not self._server.room.join(self, name):
            self.deliver(_ERR_USERNAME_TAKEN)
        else:
            self.name = name
            self._message_prefix = protocol.message_prefix(name)
            self._direct_prefix = protocol.direct_prefix(name)
            self.deliver(protocol.OK)

    def _message(self, argument: str) -> None:
        text = protocol.clean_text(argument)
        if not text:
            self.deliver(_ERR_EMPTY_MESSAGE)
            return
        self._server.room.broadcast(protocol.with_text(self._message_prefix, text), exclude=self)

    def _direct(self, argument: str) -> None:
        name, rest = protocol.split_word(argument)
        recipient = self._server.room.find(name) if name else None
        if recipient is None:
            self.deliver(_ERR_NO_SUCH_USER)
            return
        text = protocol.clean_text(rest)
        if not text:
            self.deliver(_ERR_EMPTY_MESSAGE)
            return
        recipient.deliver(protocol.with_text(self._direct_prefix, text))

    def _who(self, _argument: str) -> None:
        self.deliver(b"".join(map(protocol.user_line, self._server.room.names())))

    def _ping(self, _argument: str) -> None:
        self.deliver(protocol.PONG)

    def _help(self, _argument: str) -> None:
        self.deliver(protocol.HELP)

    def _quit(self, _argument: str) -> None:
        self.close(protocol.GOODBYE)

    def _unknown(self, _argument: str) -> None:
        self.deliver(_ERR_UNKNOWN_COMMAND)


def peer_address(address: object) -> tuple[str, int] | None:
    """``(host, port)`` as the seed's logs show it; IPv4 seen through a dual-stack socket stays IPv4."""
    if not isinstance(address, tuple) or len(address) < 2:
        return None  # e.g. a Unix socket, or a peer that is already gone
    host, port = str(address[0]), int(address[1])
    return (host[7:] if host.startswith("::ffff:") and "." in host else host), port


_ERR_ALREADY_LOGGED_IN = protocol.error("already-logged-in")
_ERR_INVALID_USERNAME = protocol.error("invalid-username")
_ERR_USERNAME_TAKEN = protocol.error("username-taken")
_ERR_NOT_LOGGED_IN = protocol.error("not-logged-in")
_ERR_EMPTY_MESSAGE = protocol.error("empty-message")
_ERR_NO_SUCH_USER = protocol.error("no-such-user")
_ERR_UNKNOWN_COMMAND = protocol.error("unknown-command")

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
