"""The connection handler and ChatServer in-process, over fake transports: what a test over real
sockets cannot see (how often the room is walked, what a reply costs in tokens)."""

from __future__ import annotations

import asyncio
import unittest
from collections.abc import Callable, Sequence
from typing import Any

from support import FakeTransport

from handlers.broadcast import JoinResult, Room
from handlers.chat_server import ChatServer
from handlers.client_handler import ClientHandler
from utils.config import load_settings


class CountingRoom(Room[ClientHandler]):
    """A room that counts what it tells this process's members at once (departures)."""

    __slots__ = ("broadcasts",)

    def __init__(self, departed: Callable[[str], None]) -> None:
        super().__init__(departed)
        self.broadcasts = 0

    def tell_local(self, payload: Any) -> None:
        self.broadcasts += 1
        super().tell_local(payload)


class DeferredRoom(CountingRoom):
    """Answers a LOGIN only when the test says so, as a cluster's room does after a round trip."""

    __slots__ = ("answers", "is_ready")

    def __init__(self, departed: Callable[[str], None]) -> None:
        super().__init__(departed)
        self.answers: list[Callable[[], None]] = []
        self.is_ready = True

    @property
    def ready(self) -> bool:
        return self.is_ready

    def join(self, member: ClientHandler, name: str, done: Callable[[JoinResult], None]) -> None:
        self.answers.append(lambda: Room.join(self, member, name, done))


class InProcessServer:
    def __init__(self, *flags: str, room: type[CountingRoom] = CountingRoom) -> None:
        self.loop = asyncio.new_event_loop()
        settings = load_settings(["--idle-timeout", "0", *flags], {})
        self.server = ChatServer(settings, self.loop, lambda server: room(server.departed))
        assert isinstance(self.server.room, CountingRoom)
        self.room = self.server.room
        self.transports: list[FakeTransport] = []

    def connect(self, *lines: str) -> FakeTransport:
        handler = ClientHandler(self.server)
        transport = FakeTransport(self.loop, handler, ("127.0.0.1", 1000 + len(self.transports)))
        handler.connection_made(transport)
        self.transports.append(transport)
        self.send(transport, *lines)
        return transport

    def send(self, transport: FakeTransport, *lines: str) -> None:
        if lines:
            assert isinstance(transport.protocol, ClientHandler)
            transport.protocol.data_received("".join(line + "\n" for line in lines).encode())

    def settle(self) -> None:
        for _ in range(3):
            self.loop.run_until_complete(asyncio.sleep(0))

    def close(self) -> None:
        self.loop.close()


def lines_of(transport: FakeTransport) -> list[str]:
    return bytes(transport.written).decode().splitlines()


class MassDepartureTest(unittest.TestCase):
    def test_departures_of_one_iteration_are_one_broadcast_to_those_still_there(self) -> None:
        chat = InProcessServer("--max-per-ip", "0")
        self.addCleanup(chat.close)
        users = [chat.connect(f"LOGIN u{number}") for number in range(60)]
        chat.settle()
        leaving, staying = users[:50], users[50:]
        broadcasts_before = chat.room.broadcasts
        for transport in leaving:  # 50 connections lost in the same loop iteration
            transport.closing = True
            transport.protocol.connection_lost(ConnectionResetError())
        chat.settle()
        self.assertEqual(chat.room.broadcasts - broadcasts_before, 1)
        expected = ["OK"] + [f"INFO u{number} disconnected" for number in range(50)]
        for transport in staying:
            self.assertEqual(lines_of(transport), expected)
        for transport in leaving:
            self.assertEqual(lines_of(transport), ["OK"])

    def test_a_leavers_last_messages_come_before_its_departure(self) -> None:
        chat = InProcessServer()
        self.addCleanup(chat.close)
        alice, bob = chat.connect("LOGIN alice"), chat.connect("LOGIN bob")
        chat.settle()
        chat.send(alice, "MSG one", "MSG two")
        alice.protocol.eof_received()
        chat.settle()
        self.assertEqual(lines_of(bob), ["OK", "MSG alice one", "MSG alice two", "INFO alice disconnected"])

    def test_who_logs_in_after_a_departure_does_not_hear_of_it(self) -> None:
        chat = InProcessServer()
        self.addCleanup(chat.close)
        alice, bob = chat.connect("LOGIN alice"), chat.connect("LOGIN bob")
        chat.settle()
        bob.closing = True
        bob.protocol.connection_lost(None)  # noticed in the same loop iteration as carol's LOGIN
        carol = chat.connect("LOGIN carol")
        chat.settle()
        self.assertEqual(lines_of(alice), ["OK", "INFO bob disconnected"])
        self.assertEqual(lines_of(carol), ["OK"])


class RoomThatAnswersLaterTest(unittest.TestCase):
    """A cluster's room answers LOGIN after a round trip: the connection waits, in order."""

    def setUp(self) -> None:
        self.chat = InProcessServer(room=DeferredRoom)
        self.addCleanup(self.chat.close)
        assert isinstance(self.chat.room, DeferredRoom)
        self.room = self.chat.room

    def test_commands_after_a_login_wait_for_its_answer(self) -> None:
        client = self.chat.connect("LOGIN ann", "PING", "WHO")
        self.chat.settle()
        self.assertEqual(lines_of(client), [])
        self.assertFalse(client.reading)
        self.room.answers.pop()()
        self.chat.settle()
        self.assertEqual(lines_of(client), ["OK", "PONG", "USER ann"])
        self.assertTrue(client.reading)

    def test_a_taken_name_is_answered_in_order_and_eof_waits_for_it(self) -> None:
        self.chat.connect("LOGIN bob")
        self.room.answers.pop()()
        client = self.chat.connect("LOGIN BOB", "PING")
        assert isinstance(client.protocol, ClientHandler)
        self.assertTrue(client.protocol.eof_received(), "the transport must stay open for the answer")
        self.room.answers.pop()()
        self.chat.settle()
        self.assertEqual(lines_of(client), ["ERR username-taken", "PONG"])
        self.assertTrue(client.closing)

    def test_a_connection_gone_before_the_answer_gives_the_name_back(self) -> None:
        client = self.chat.connect("LOGIN cy")
        client.close()
        self.chat.settle()
        self.room.answers.pop()()
        self.assertFalse(self.room.knows("cy"))

    def test_while_the_room_is_not_ready_lines_wait_then_go_on_in_order(self) -> None:
        client = self.chat.connect("LOGIN dee")
        self.room.answers.pop()()
        self.chat.settle()
        self.room.is_ready = False
        self.chat.send(client, "PING", "WHO")
        self.chat.settle()
        self.assertEqual(lines_of(client), ["OK"])
        self.assertFalse(client.reading)
        self.room.is_ready = True
        self.chat.server.room_ready()
        self.chat.settle()
        self.assertEqual(lines_of(client), ["OK", "PONG", "USER dee"])
        self.assertTrue(client.reading)


class WhoTest(unittest.TestCase):
    def test_the_reply_is_built_once_per_change_and_shared(self) -> None:
        chat = InProcessServer()
        self.addCleanup(chat.close)
        chat.connect("LOGIN alice")
        first = chat.server.who_reply()
        self.assertIs(chat.server.who_reply(), first)
        chat.connect("LOGIN bob")
        self.assertEqual(chat.server.who_reply(), b"USER alice\nUSER bob\n")

    def test_a_long_reply_costs_a_token_per_kib(self) -> None:
        chat = InProcessServer("--max-per-ip", "0", "--rate-limit", "0.001", "--rate-burst", "10")
        self.addCleanup(chat.close)
        for number in range(40):  # 40 x 38 bytes: a 1,520-byte reply, one token more than a line
            chat.connect(f"LOGIN {'n' * 30}{number:02d}")
        asker = chat.connect("LOGIN asker", "WHO", *(["PING"] * 10))
        chat.settle()
        replies = lines_of(asker)
        self.assertEqual(replies[0], "OK")
        # A burst of 10 frames LOGIN, WHO and 8 PINGs and pays 10 tokens for them; the WHO's extra
        # token puts the bucket in debt, so the PINGs wait (paid for, in order) until it is repaid.
        self.assertEqual(replies[42:], [])
        self.assertFalse(asker.reading)
        self.assertEqual(names(replies[1:42]), [f"{'n' * 30}{number:02d}" for number in range(40)] + ["asker"])


class TelnetCostTest(unittest.TestCase):
    """One read never does more work than the connection's tokens pay for (default limits)."""

    def assert_paced(self, attack: bytes) -> None:
        chat = InProcessServer()
        self.addCleanup(chat.close)
        attacker = chat.connect()
        handler = attacker.protocol
        assert isinstance(handler, ClientHandler)
        reads = 0
        while attacker.reading and reads < 8:  # 256 KiB reads, as asyncio's largest
            handler.data_received(attack if reads == 0 else attack.lstrip(b"\xff\xfa\x18"))
            reads += 1
        self.assertFalse(attacker.reading)  # throttled: TCP now pushes back on the attacker
        self.assertTrue(handler._reader.pending)  # the rest waits, unparsed, for tokens
        bucket = handler._bucket
        assert bucket is not None
        self.assertLessEqual(bucket.delay(), 1.0)  # it parsed what the burst paid for, no more

    def test_a_read_full_of_iac_nop(self) -> None:
        self.assert_paced(b"\xff\xf1" * 131072)

    def test_an_endless_subnegotiation(self) -> None:
        self.assert_paced(b"\xff\xfa\x18" + b"s" * 262141)  # 32 lines' worth per read


class BacklogTest(unittest.TestCase):
    def test_a_paused_transport_gets_shared_payloads_later_in_order(self) -> None:
        chat = InProcessServer("--rate-limit", "0", "--max-send-buffer", "4096")
        self.addCleanup(chat.close)
        first, second, sender = chat.connect("LOGIN first"), chat.connect("LOGIN second"), chat.connect("LOGIN s")
        chat.settle()
        for transport in (first, second):
            transport.protocol.pause_writing()  # what asyncio calls when the transport is full
        chat.send(sender, "MSG one")
        chat.settle()
        chat.send(sender, "MSG two")
        chat.settle()
        self.assertEqual(lines_of(first), ["OK"])
        # Both backlogs refer to the very same bytes: a client far behind costs references, not copies.
        first_backlog, second_backlog = (transport.protocol._backlog for transport in (first, second))  # type: ignore[attr-defined]  # what is inside
        self.assertEqual([a is b for a, b in zip(first_backlog, second_backlog, strict=True)], [True, True])
        first.protocol.resume_writing()
        self.assertEqual(lines_of(first), ["OK", "MSG s one", "MSG s two"])
        self.assertEqual(lines_of(second), ["OK"])

    def test_a_client_too_far_behind_is_dropped_and_the_rest_keep_their_backlog(self) -> None:
        chat = InProcessServer("--rate-limit", "0", "--max-send-buffer", "4096")
        self.addCleanup(chat.close)
        slow, late, sender = chat.connect("LOGIN slow"), chat.connect("LOGIN late"), chat.connect("LOGIN s")
        chat.settle()
        slow.protocol.pause_writing()
        late.protocol.pause_writing()
        for number in range(30):  # 30 x ~110 bytes plus bookkeeping: more than 4096 behind
            chat.send(sender, f"MSG {number} {'x' * 100}")
            chat.settle()
            if number == 10:
                late.protocol.resume_writing()
        self.assertTrue(slow.closing)
        self.assertFalse(late.closing)
        received = lines_of(late)
        self.assertEqual(received.count("INFO slow disconnected"), 1)
        received.remove("INFO slow disconnected")
        self.assertEqual(received, ["OK"] + [f"MSG s {number} {'x' * 100}" for number in range(30)])


def names(lines: Sequence[str]) -> list[str]:
    return [line.split(" ", 1)[1] for line in lines if line.startswith("USER ")]


if __name__ == "__main__":
    unittest.main()
