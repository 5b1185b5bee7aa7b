"""The server's listening sockets, and the episodes when it runs out of file descriptors.

A ``Listener`` is one port: TLS or not, and the ``SessionType`` its connections get; ``main``
decides which exist.  ``Listening.listen`` binds every address of ``--host`` to the port
(``open_listening_sockets``: one dual-stack socket when there is no host) and makes a
``transport.connection.Connection`` per accepted socket, with a ``TLSTransport`` between the two
for a TLS port, so that TLS connections are admitted at accept too.

Out of file descriptors, asyncio stops accepting for a second and retries by itself; that is
logged once per episode instead of once per retry (``on_loop_error``), and the episode's end
when a connection is admitted again (``note_admitted``).  asyncio schedules one retry per slot of
the accept batch it was in, so listeners take ACCEPT_BATCH connections per wake-up (the kernel's
queue stays long), and the retries that fire after the listeners closed are ignored.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from algokart_chat.logs import fields
from algokart_chat.transport.connection import Connection, ConnectionHost, SessionType
from algokart_chat.transport.tls import Certificate
from algokart_chat.transport.tls_transport import TLSTransport

log = logging.getLogger(__name__)

ACCEPT_BATCH = 16  # connections accepted per wake-up of a listener; see Listening.listen


@dataclass(frozen=True)
class Bound:
    """One listening socket's address: ``0.0.0.0/[::] port 4000`` for a dual-stack one."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host} port {self.port}"


def bound_address(sock: socket.socket) -> Bound:
    host, port = sock.getsockname()[:2]
    if sock.family == socket.AF_INET6:
        v6_only = getattr(socket, "IPV6_V6ONLY", None)
        dual_stack = host == "::" and v6_only is not None and not sock.getsockopt(socket.IPPROTO_IPV6, v6_only)
        host = "0.0.0.0/[::]" if dual_stack else f"[{host}]"
    return Bound(host, port)


class ListenError(Exception):
    """A port could not be had: which setting chose it, the port, and the system's reason."""

    def __init__(self, setting: str, port: int, problem: OSError) -> None:
        super().__init__(f"{setting} {port}: {problem}")
        self.setting, self.port, self.problem = setting, port, problem


@dataclass(frozen=True)
class Listener:
    """One listening port: which setting chose it (for error messages), TLS or not, what it
    serves, and how the startup line names it ("" for the line protocol's plaintext port)."""

    port: int
    setting: str  # "--port / PORT"
    tls: Certificate | None  # its context when a connection is accepted (reloadable)
    session_type: SessionType
    label: str = ""  # "TLS": the startup line says "TLS on port 4001"


class Listening:
    """One server's listening sockets (open until ``close``), and whether it is out of file
    descriptors."""

    __slots__ = ("_backlog", "_bind_host", "_closed", "_out_of_descriptors", "_servers")

    def __init__(self, bind_host: str | None, max_clients: int) -> None:
        """``bind_host``: --host (None: every interface); the kernel's queue is as long as
        ``max_clients`` allows (128 to 65535)."""
        self._bind_host = bind_host
        self._backlog = min(max(max_clients, 128), 65535)
        self._servers: list[asyncio.AbstractServer] = []
        self._closed = False
        self._out_of_descriptors = False

    async def listen(self, listener: Listener, host: ConnectionHost) -> list[Bound]:
        """Listen on ``listener``'s port, its connections served by ``host``; the addresses bound.
        ListenError if the port cannot be had (e.g. in use)."""
        try:
            sockets = open_listening_sockets(self._bind_host, listener.port, self._backlog)
        except OSError as problem:
            raise ListenError(listener.setting, listener.port, problem) from None
        for sock in sockets:
            # TLS runs in each connection's own TLSTransport (see there why not asyncio's ssl=):
            # a connection counts from accept, and a silent one delays nobody's handshake.
            #
            # asyncio accepts up to ``backlog`` connections per wake-up and, out of descriptors,
            # schedules one retry per slot left: a small batch keeps that to a few cheap retries
            # a second.  The kernel's queue keeps its full length (listen() again below).
            factory = protocol_factory(listener, host)
            server = await host.loop.create_server(factory, sock=sock, backlog=ACCEPT_BATCH)
            sock.listen(self._backlog)
            self._servers.append(server)
        return [bound_address(sock) for sock in sockets]

    def close(self) -> None:
        """Stop listening (at shutdown): from now on, accept retries that fail are no news."""
        self._closed = True
        for server in self._servers:
            server.close()

    def note_admitted(self) -> None:
        """A connection was admitted: an out-of-descriptors episode, if there was one, is over."""
        if self._out_of_descriptors:
            self._out_of_descriptors = False
            log.warning("Accepting connections again", extra=fields("descriptors-back"))

    def on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """The event loop's exception handler: out of descriptors is one error line per episode;
        what fails after ``close`` is a debug line; anything else goes to asyncio's handler."""
        problem = context.get("exception")
        if self._closed and isinstance(problem, (OSError, ValueError)):
            # asyncio's accept retries, scheduled while out of descriptors, firing on the closed
            # listener: nothing to do about them, and no reason for a traceback.
            log.debug(
                "Ignored while shutting down: %s (%r)",
                context.get("message"),
                problem,
                extra=fields("ignored-at-shutdown", problem=repr(problem)),
            )
            return
        if isinstance(problem, OSError) and problem.errno in (errno.EMFILE, errno.ENFILE):
            if not self._out_of_descriptors:
                self._out_of_descriptors = True
                log.error(
                    "Out of file descriptors: new connections wait until some close (%s)",
                    problem.strerror,
                    extra=fields("out-of-descriptors"),
                )
            return
        loop.default_exception_handler(context)


def protocol_factory(listener: Listener, host: ConnectionHost) -> Callable[[], asyncio.BaseProtocol]:
    """What asyncio calls per accepted socket of ``listener``: a connection served by ``host``,
    behind its own TLSTransport on a TLS port."""
    tls, session_type = listener.tls, listener.session_type
    if tls is None:
        return lambda: Connection(host, session_type)
    return lambda: TLSTransport(Connection(host, session_type), tls.context, host.loop)


def open_listening_sockets(host: str | None, port: int, backlog: int) -> list[socket.socket]:
    """Bind every address of ``host`` to one port (``port`` 0: the first bind picks it).

    With no host, one dual-stack socket serves IPv4 and IPv6 where the system has them, so
    ``nc localhost 4000`` works whichever address ``localhost`` resolves to first.
    """
    if host is None:
        if socket.has_dualstack_ipv6():
            return [socket.create_server(("", port), family=socket.AF_INET6, backlog=backlog, dualstack_ipv6=True)]
        return [socket.create_server(("", port), backlog=backlog)]
    addresses: list[tuple[socket.AddressFamily, tuple[Any, ...]]] = []
    for found_family, _, _, _, found_address in socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    ):
        if (found_family, found_address[0]) not in [(f, a[0]) for f, a in addresses]:
            addresses.append((found_family, found_address))
    sockets: list[socket.socket] = []
    for family, address in addresses:
        if sockets:  # later addresses share the port the first one got
            address = (address[0], sockets[0].getsockname()[1], *address[2:])
        try:
            sockets.append(socket.create_server(address, family=family, backlog=backlog))
        except OSError as problem:
            if not sockets:
                raise
            why = problem.strerror or str(problem)
            log.warning(
                "Not listening on %s: %s", address[0], why, extra=fields("not-listening", host=address[0], reason=why)
            )
    return sockets
