"""A ChatServer in this process, its connections on fake transports: for the unit tests of the
connection, the chat and IRC sessions and the server that a test over real sockets cannot see (how
often the room is walked, what a reply costs in tokens, what waits for what)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from support import FakeTransport

from algokart_chat.config import load_settings
from algokart_chat.room import JoinResult, Member
from algokart_chat.room_memory import MemoryRoom
from algokart_chat.server.chat_server import ChatServer
from algokart_chat.sessions.irc_session import IrcSession, IrcSessions
from algokart_chat.sessions.line_session import ChatSessions
from algokart_chat.transport.connection import Connection, SessionType


class CountingRoom(MemoryRoom[Member]):
    """A room that counts what it tells this process's members at once (departures)."""

    __slots__ = ("broadcasts",)

    def __init__(self, departed: Callable[[str, str | None], None]) -> None:
        super().__init__(departed)
        self.broadcasts = 0

    def tell_local(self, payload: Any) -> None:
        self.broadcasts += 1
        super().tell_local(payload)


class DeferredRoom(CountingRoom):
    """Answers a LOGIN only when the test says so, as a cluster's room does after a round trip."""

    __slots__ = ("answers", "is_ready")

    def __init__(self, departed: Callable[[str, str | None], None]) -> None:
        super().__init__(departed)
        self.answers: list[Callable[[], None]] = []
        self.is_ready = True

    @property
    def ready(self) -> bool:
        return self.is_ready

    def join(
        self,
        member: Member,
        name: str,
        done: Callable[[JoinResult], None],
        *,
        hidden: bool = False,
        renaming: str | None = None,
        hears_arrivals: bool = False,
        account: str | None = None,
    ) -> None:
        self.answers.append(
            lambda: MemoryRoom.join(
                self,
                member,
                name,
                done,
                hidden=hidden,
                renaming=renaming,
                hears_arrivals=hears_arrivals,
                account=account,
            )
        )


class InProcessServer:
    """A ChatServer and its chat and IRC sessions (``irc.test``, ``#chat``) on a loop of their own,
    with fake transports."""

    def __init__(self, *flags: str, room: type[CountingRoom] = CountingRoom) -> None:
        self.loop = asyncio.new_event_loop()
        settings = load_settings(["--idle-timeout", "0", *flags], {})
        self.server = ChatServer(settings, self.loop, lambda server: room(server.departed))
        assert isinstance(self.server.room, CountingRoom)
        self.room = self.server.room
        self.sessions = ChatSessions(self.server, settings.max_line_bytes)
        self.irc_sessions = IrcSessions(self.server, "irc.test", "#chat")
        self.transports: list[FakeTransport] = []

    def connect(self, *lines: str, source: str = "127.0.0.1") -> FakeTransport:
        return self._connect(self.sessions.session_type, lines, source)

    def connect_irc(self, *lines: str, source: str = "127.0.0.1") -> FakeTransport:
        """An IRC connection; its lines are sent with CRLF."""
        return self._connect(self.irc_sessions.session_type, lines, source)

    def _connect(self, session_type: SessionType, lines: tuple[str, ...], source: str) -> FakeTransport:
        connection = Connection(self.server, session_type)
        transport = FakeTransport(self.loop, connection, (source, 1000 + len(self.transports)))
        connection.connection_made(transport)
        self.transports.append(transport)
        self.send(transport, *lines)
        return transport

    def send(self, transport: FakeTransport, *lines: str) -> None:
        if lines:
            end = "\r\n" if isinstance(connection(transport).session, IrcSession) else "\n"
            connection(transport).data_received("".join(line + end for line in lines).encode())

    def settle(self, turns: int = 3) -> None:
        for _ in range(turns):
            self.loop.run_until_complete(asyncio.sleep(0))

    def close(self) -> None:
        self.loop.close()


def lines_of(transport: FakeTransport) -> list[str]:
    return bytes(transport.written).decode().splitlines()


def connection(transport: FakeTransport) -> Connection:
    assert isinstance(transport.protocol, Connection)
    return transport.protocol
