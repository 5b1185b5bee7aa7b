"""TLS inside the connection: ``ssl.SSLObject`` over memory BIOs, holding only what is in flight.

asyncio's own TLS (``create_server(ssl=...)``) gives each connection a 256 KiB receive buffer on
Python 3.11+ and shows the connection to the chat protocol only once the handshake is done, so
connections that never start it escape every limit.  ``TLSTransport`` replaces it.  It sits
between the socket's transport and the chat protocol and plays both parts: to the socket it is the
protocol (ciphertext in, ciphertext out); to the chat protocol it is the transport (plaintext).

Plan and guarantees:

- The chat protocol sees the connection at accept, so it counts toward ``--max-clients`` and
  ``--max-per-ip`` from then on.  The handshake has its own deadline, HANDSHAKE_SECONDS from
  accept, whatever the load; a connection closed before its handshake is done (a refusal, a
  shutdown) gets at most CLOSE_BEFORE_HANDSHAKE_SECONDS more to finish it and read its last line.
- Ciphertext goes into the incoming BIO as it arrives and is decrypted READ_CHUNK bytes at a
  time while the chat protocol reads.  ``pause_reading`` pauses the socket and the decryption: what
  was read stays ciphertext in the BIO (at most one read of the socket) until ``resume_reading``.
- Plaintext from the chat protocol is encrypted at once and handed to the socket's transport,
  whose buffer, limits and flow control (``pause_writing`` / ``resume_writing``) pass through
  unchanged.  Before the handshake is done, it waits as the few references written so far.
- ``close()`` sends close_notify after everything written, then closes the socket without waiting
  for the peer's; ``abort()`` drops everything at once.  TLS versions and ciphers are the
  context's (``tls``: TLS 1.2 or newer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from typing import Any, Protocol

from algokart_chat.logs import fields, format_peer

log = logging.getLogger(__name__)

HANDSHAKE_SECONDS = 10.0
CLOSE_BEFORE_HANDSHAKE_SECONDS = 2.0  # a refused client's time to finish its handshake and read why
READ_CHUNK = 16 * 1024  # at most one TLS record of plaintext per read


class PlaintextProtocol(Protocol):
    """What the TLS layer needs of the protocol above it (an ``asyncio.Protocol`` has it all)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None: ...

    def data_received(self, data: bytes) -> None: ...

    def eof_received(self) -> bool | None: ...

    def pause_writing(self) -> None: ...

    def resume_writing(self) -> None: ...

    def connection_lost(self, exc: Exception | None) -> None: ...


class TLSTransport(asyncio.Protocol, asyncio.Transport):
    """The socket's protocol and the chat protocol's transport; see the module docstring."""

    __slots__ = (
        "_app",
        "_closing",
        "_early_writes",
        "_eof_answer",
        "_failure",
        "_handshake_done",
        "_handshake_timer",
        "_incoming",
        "_loop",
        "_outgoing",
        "_socket",
        "_tls",
    )

    def __init__(self, app: PlaintextProtocol, context: ssl.SSLContext, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._app = app
        self._loop = loop
        self._socket: asyncio.Transport = None  # type: ignore[assignment]  # set by connection_made
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._handshake_done = False
        self._handshake_timer: asyncio.TimerHandle | None = None
        self._early_writes: list[bytes] = []  # written before the handshake was done
        self._closing = False
        self._failure: Exception | None = None  # why we gave up on the connection, for the chat protocol
        self._eof_answer: bool | None = None  # the chat protocol's eof_received(), once told

    # --- the socket's protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._socket = transport
        self._handshake_timer = self._loop.call_later(HANDSHAKE_SECONDS, self._handshake_too_slow)
        self._app.connection_made(self)

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        if self._handshake_done or self._handshake():
            self._decrypt()

    def eof_received(self) -> bool:
        if not self._handshake_done:
            return False  # closes the socket; the chat protocol hears connection_lost
        return self._tell_eof()

    def pause_writing(self) -> None:
        self._app.pause_writing()

    def resume_writing(self) -> None:
        self._app.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
        self._closing = True
        self._early_writes.clear()
        self._app.connection_lost(exc or self._failure)

    # --- the chat protocol's transport ----------------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing or not data:
            return
        if not self._handshake_done:
            self._early_writes.append(bytes(data))
            return
        self._tls.write(data)
        self._send_ciphertext()

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._handshake_done:
            self._send_close_notify()
            return
        timer = self._handshake_timer
        if timer is not None and timer.when() > self._loop.time() + CLOSE_BEFORE_HANDSHAKE_SECONDS:
            timer.cancel()
            self._handshake_timer = self._loop.call_later(CLOSE_BEFORE_HANDSHAKE_SECONDS, self._handshake_too_slow)

    def abort(self) -> None:
        self._closing = True
        self._socket.abort()

    def is_closing(self) -> bool:
        return self._closing

    def get_write_buffer_size(self) -> int:
        return self._socket.get_write_buffer_size() + sum(map(len, self._early_writes))

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._socket.set_write_buffer_limits(high, low)

    def pause_reading(self) -> None:
        self._socket.pause_reading()

    def resume_reading(self) -> None:
        self._socket.resume_reading()
        if self._handshake_done and (self._incoming.pending or self._tls.pending()):
            self._loop.call_soon(self._decrypt)  # what was read while paused

    def is_reading(self) -> bool:
        return self._socket.is_reading()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "ssl_object":
            return self._tls
        return self._socket.get_extra_info(name, default)

    # --- TLS ------------------------------------------------------------------------------------
    def _handshake(self) -> bool:
        """Go on with the handshake; True once it is done."""
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            self._send_ciphertext()
            return False
        except ssl.SSLError as failure:
            self._give_up(f"TLS handshake failed: {failure.reason or failure}")
            return False
        self._handshake_done = True
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        for data in self._early_writes:
            self._tls.write(data)
        self._early_writes.clear()
        self._send_ciphertext()
        if self._closing:
            self._send_close_notify()
        return True

    def _decrypt(self) -> None:
        while self._eof_answer is None and not self._socket.is_closing() and self._socket.is_reading():
            try:
                plaintext = self._tls.read(READ_CHUNK)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                plaintext = b""
            except ssl.SSLError as failure:
                self._give_up(f"TLS error: {failure.reason or failure}")
                return
            if not plaintext:  # the peer's close_notify: like a plaintext EOF
                if not self._tell_eof():
                    self.close()
                break
            self._app.data_received(plaintext)
        self._send_ciphertext()  # TLS 1.3 may answer key updates and the like

    def _tell_eof(self) -> bool:
        """Tell the chat protocol once that no more is coming; True: it keeps the connection open."""
        if self._eof_answer is None:
            self._eof_answer = bool(self._app.eof_received())
        return self._eof_answer

    def _send_ciphertext(self) -> None:
        if self._outgoing.pending:
            self._socket.write(self._outgoing.read())

    def _send_close_notify(self) -> None:
        with contextlib.suppress(ssl.SSLError):  # SSLWantReadError: sent; we do not wait for the peer's
            self._tls.unwrap()
        self._send_ciphertext()
        self._socket.close()

    def _handshake_too_slow(self) -> None:
        self._handshake_timer = None
        if not self._handshake_done:
            self._give_up("no TLS handshake in time", abort=True)

    def _give_up(self, reason: str, abort: bool = False) -> None:
        """Close (after the TLS alert, if there is one); the chat protocol hears it as a reset."""
        address = self._socket.get_extra_info("peername")
        peer = format_peer((str(address[0]), int(address[1]))) if isinstance(address, tuple) else "-"
        log.debug("%s: %s", peer, reason, extra=fields("tls-failed", peer=peer, reason=reason))
        self._failure = ConnectionResetError(reason)
        self._closing = True
        if abort:
            self._socket.abort()
            return
        self._send_ciphertext()
        self._socket.close()
