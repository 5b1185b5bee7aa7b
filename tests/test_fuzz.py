"""Deterministic fuzzing of the framer and of chat and IRC connections (connection and session), with no sockets.

Every case is seeded, so a failure names its seed and replays exactly.  The framer must never
raise, never hold more than its limit, and give the same events however the input is split.
A chat connection, fed hostile bytes through fake transports, must never raise and only ever send
lines that docs/PROTOCOL.md allows; IRC connections beside it never a CR but that of a CRLF, nor a NUL.
"""

from __future__ import annotations

import asyncio
import random
import re
import unittest
from collections.abc import Callable
from typing import Any

from support import FakeTransport

from algokart_chat.config import load_settings
from algokart_chat.framing import LineReader
from algokart_chat.server.chat_server import ChatServer
from algokart_chat.sessions.irc_session import IrcSessions
from algokart_chat.sessions.line_session import ChatSessions
from algokart_chat.transport.connection import Connection, SessionType

VALID_SESSION = (
    b"LOGIN Naman\r\nMSG hi everyone!\nMSG  how are  you?\n\nWHO\nDM Yudi secret\tstuff\n"
    b"PING\nHELP\nlogin again\nFROB\n\xff\xfd\x06MSG telnet\xff\xf4\nMSG caf\xc3\xa9 \xe2\x9c\x93\nQUIT\n"
)
COMMANDS = [b"LOGIN", b"MSG", b"DM", b"WHO", b"PING", b"HELP", b"QUIT", b"EXIT", b"login", b"Msg", b"FROB"]
NOISE = [
    b"\xff",
    b"\xff\xfa",
    b"\xff\xf0",
    b"\xfd",
    b"\r",
    b"\n",
    b"\t",
    b" ",
    b"\x00",
    b"\x1b[2J",
    b"\xc3",
    b"\xe2\x9c",
    b"\x80",
    "ＡＬＩＣＥ".encode(),
    b"a" * 40,
    b"\x7f",
    b"\xc2\x9b",
]


def split_randomly(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 12)))) if len(data) > 1 else []
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def mutate(data: bytes, rng: random.Random) -> bytes:
    pieces = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        where = rng.randint(0, len(pieces))
        choice = rng.random()
        if choice < 0.4:
            pieces[where:where] = rng.choice(NOISE)
        elif choice < 0.7 and pieces:
            del pieces[where : where + rng.randint(1, 5)]
        else:
            pieces[where:where] = rng.choice(COMMANDS) + b" " + rng.choice(NOISE) + b"\n"
    return bytes(pieces)


def events_of(chunks: list[bytes], limit: int, rng: random.Random | None = None) -> list[Any]:
    """Every event of ``chunks``; with ``rng``, taken a few at a time as a throttled caller does."""
    reader = LineReader(limit)
    events: list[Any] = []

    def take_events() -> None:
        while reader.pending:
            batch, cost = reader.events(rng.randint(1, 4) if rng else None)
            assert batch or cost or not reader.pending, "events() must make progress"
            events.extend(batch)
            if rng and rng.random() < 0.3:
                break  # leave some for later, as a throttled connection does

    for chunk in chunks:
        reader.feed(chunk)
        take_events()
        assert len(reader._partial) <= limit
    reader.finish()
    while reader.pending:
        take_events()
    return events


class FramerFuzzTest(unittest.TestCase):
    def test_every_split_point_of_a_valid_session(self) -> None:
        whole = events_of([VALID_SESSION], 8192)
        self.assertIn("MSG telnet", whole)
        for cut in range(len(VALID_SESSION) + 1):
            self.assertEqual(events_of([VALID_SESSION[:cut], VALID_SESSION[cut:]], 8192), whole, cut)
        for a in range(0, len(VALID_SESSION), 7):
            for b in range(a, len(VALID_SESSION), 5):
                chunks = [VALID_SESSION[:a], VALID_SESSION[a:b], VALID_SESSION[b:]]
                self.assertEqual(events_of(chunks, 8192), whole, (a, b))

    def test_random_bytes_split_anywhere(self) -> None:
        for seed in range(2000):
            rng = random.Random(seed)
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
            limit = rng.choice((64, 100, 8192))
            with self.subTest(seed=seed):
                self.assertEqual(events_of(split_randomly(data, rng), limit), events_of([data], limit))

    def test_events_taken_a_few_at_a_time_are_the_same_events(self) -> None:
        for seed in range(2000):
            rng = random.Random(seed)
            data = mutate(VALID_SESSION, rng)
            with self.subTest(seed=seed):
                self.assertEqual(events_of(split_randomly(data, rng), 64, rng), events_of([data], 64))

    def test_mutated_valid_sessions_split_anywhere(self) -> None:
        for seed in range(2000):
            rng = random.Random(seed)
            data = mutate(VALID_SESSION, rng)
            with self.subTest(seed=seed):
                self.assertEqual(events_of(split_randomly(data, rng), 64), events_of([data], 64))


IRC_SESSION = (
    b"NICK ~\r\nUSER u 0 * :Real\r\nJOIN #chat\r\nPRIVMSG #chat :hi there\r\nNOTICE n0,n1,N2 :psst\r\n"
    b"PRIVMSG #chat :\x01ACTION waves\x01\r\nWHO *N?*\r\nPART #chat :bye\r\nJOIN #chat\r\nNICK ~.x\r\n"
    b"PING tok\r\nCAP LS\r\nMODE #chat b\r\nWHOIS n1\r\nPRIVMSG n2 :dm\r\nFROB x\r\nQUIT :later\r\n"
)
SERVER_LINE = re.compile(
    r"OK|PONG|Goodbye!|ERR [a-z-]+ [ -~]+|INFO .*|USER [^ ]+|(MSG|DM) [^ ]+ [^\x00-\x08\x0a-\x1f\x7f-\x9f]+"
)


class ConnectionFuzzTest(unittest.TestCase):
    """Several fake clients feed mutated sessions to one in-process server."""

    def test_hostile_sessions_never_raise_and_only_send_protocol_lines(self) -> None:
        settings = load_settings(["--rate-limit", "0", "--max-line-bytes", "64", "--idle-timeout", "0"], {})
        for seed in range(300):
            with self.subTest(seed=seed):
                self.run_session(settings, random.Random(seed))

    def run_session(self, settings: Any, rng: random.Random) -> None:
        feeds = [split_randomly(mutate(VALID_SESSION.replace(b"Naman", b"N%d" % n), rng), rng) for n in range(3)]
        written, room_size = fed_connections(settings, lambda server: [chat_sessions(server)] * 3, feeds, rng)
        self.assertEqual(room_size, 0)
        for data in written:
            for line in data.decode("utf-8").split("\n")[:-1]:
                self.assertRegex(line, SERVER_LINE)


class IrcConnectionFuzzTest(unittest.TestCase):
    """Fake IRC clients and a line user feed mutated sessions to one in-process server."""

    def test_hostile_sessions_never_raise_and_never_send_a_bare_cr_or_a_nul(self) -> None:
        settings = load_settings(["--rate-limit", "0", "--idle-timeout", "0"], {})
        for seed in range(300):
            with self.subTest(seed=seed):
                self.run_session(settings, random.Random(seed))

    def run_session(self, settings: Any, rng: random.Random) -> None:
        feeds = [split_randomly(mutate(IRC_SESSION.replace(b"~", b"n%d" % n), rng), rng) for n in range(3)]
        feeds.append(split_randomly(mutate(VALID_SESSION, rng), rng))

        def kinds(server: ChatServer) -> list[SessionType]:
            return [IrcSessions(server, "irc.test", "#chat").session_type] * 3 + [chat_sessions(server)]

        for data in fed_connections(settings, kinds, feeds, rng)[0]:
            self.assertNotIn(b"\x00", data)
            self.assertNotIn(b"\r", data.replace(b"\r\n", b""))


def chat_sessions(server: ChatServer) -> SessionType:
    return ChatSessions(server, server.settings.max_line_bytes).session_type


def fed_connections(
    settings: Any, kinds: Callable[[ChatServer], list[SessionType]], feeds: list[list[bytes]], rng: random.Random
) -> tuple[list[bytes], int]:
    """A server in this process and a connection of each of ``kinds`` on fake transports, fed the
    chunks of its feed in a random interleaving, then end of file: what each was sent (telnet
    refusals, which are for telnet and not text, removed) and how many were left in the room.
    Nothing may raise."""
    loop = asyncio.new_event_loop()
    errors: list[dict[str, Any]] = []
    try:
        server = ChatServer(settings, loop)
        loop.set_exception_handler(lambda _loop, context: errors.append(context))
        transports, connections = [], []
        for number, kind in enumerate(kinds(server)):
            connection = Connection(server, kind)
            transport = FakeTransport(loop, connection, ("127.0.0.1", 1000 + number))
            connection.connection_made(transport)
            transports.append(transport)
            connections.append(connection)
        while any(feeds):
            number = rng.randrange(len(feeds))
            if feeds[number]:
                chunk = feeds[number].pop(0)
                if not transports[number].closing:
                    connections[number].data_received(chunk)
            loop.run_until_complete(asyncio.sleep(0))
        for transport, connection in zip(transports, connections, strict=True):
            if not transport.closing:
                connection.eof_received()
        loop.run_until_complete(asyncio.sleep(0))
        loop.run_until_complete(asyncio.sleep(0))
        assert errors == [], errors
        written = [re.sub(rb"\xff[\xfb-\xfe].", b"", bytes(t.written), flags=re.DOTALL) for t in transports]
        return written, len(server.room)
    finally:
        loop.close()


if __name__ == "__main__":
    unittest.main()
