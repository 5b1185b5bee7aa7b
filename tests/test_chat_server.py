"""ChatServer in this process: departures, admission, deadlines, listeners of several protocols."""

from __future__ import annotations

import asyncio
import socket
import threading
import unittest
from collections.abc import Callable

from support import Client, err, unique_name

from algokart_chat.config import load_settings
from algokart_chat.events import Departed, RoomEvent, Said
from algokart_chat.room import JoinResult, RoomHost
from algokart_chat.server.chat_server import ChatServer, admission_key
from algokart_chat.server.listeners import Listener
from algokart_chat.sessions.line_session import ChatSessions
from algokart_chat.transport.connection import Connection, SessionType
from in_process import InProcessServer, connection, lines_of


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
        connection(alice).eof_received()
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


class PushbackTest(unittest.TestCase):
    """While the server is behind on a client that keeps up, MSG waits; PING and guests do not."""

    def test_a_sender_waits_while_a_reader_waits_on_the_server_and_goes_on_after(self) -> None:
        flags = ("--rate-limit", "0", "--rate-limit-bytes", "0", "--send-buffer-soft", "16384")
        chat = InProcessServer(*flags)
        self.addCleanup(chat.close)
        reader, sender = chat.connect("LOGIN reader"), chat.connect("LOGIN sender")
        chat.settle()
        # 400 KB in one read: the reader's socket takes all it is given, 64 KiB a loop turn.
        chat.send(sender, *[f"MSG {number} {'x' * 8000}" for number in range(50)])
        chat.settle(1)
        chat.send(sender, "MSG after", "PING")
        self.assertFalse(sender.reading)  # its MSG waits: the server is behind on the reader
        guest = chat.connect("PING")
        chat.settle(1)
        self.assertEqual(lines_of(guest), ["PONG"])  # served at once meanwhile
        self.assertFalse(sender.reading)
        chat.settle(12)
        self.assertTrue(sender.reading)
        received = lines_of(reader)
        self.assertEqual(len(received), 1 + 50 + 1)
        self.assertEqual(received[-1], "MSG sender after")  # in order, none lost
        self.assertEqual(lines_of(sender), ["OK", "PONG"])


class AddressTest(unittest.TestCase):
    """An address's connections share one budget, and may open only so many new ones."""

    def test_a_new_connection_does_not_refill_its_address_budget(self) -> None:
        chat = InProcessServer("--rate-limit", "0.01", "--rate-burst", "4", "--max-per-ip", "2")
        self.addCleanup(chat.close)
        # The address may send 2 x 4 lines at once; each connection 4 of them.
        for number in range(2):
            spender = chat.connect("PING", "PING", "PING", "PING", "PING")
            chat.settle()
            self.assertEqual(lines_of(spender), ["PONG"] * 4, number)
            spender.close()
            chat.settle()
        latecomer = chat.connect("PING")  # its own burst is full, its address's is spent
        chat.settle()
        self.assertEqual(lines_of(latecomer), [])
        self.assertFalse(latecomer.reading)
        elsewhere = chat.connect("PING", "PING", "PING", "PING", source="127.0.0.2")
        chat.settle()
        self.assertEqual(lines_of(elsewhere), ["PONG"] * 4)

    def test_an_address_that_reconnects_too_fast_is_refused(self) -> None:
        chat = InProcessServer("--max-per-ip", "1", "--max-new-per-ip", "2")
        self.addCleanup(chat.close)
        for _ in range(3):  # --max-per-ip 1 + --max-new-per-ip 2 new connections at once
            transport = chat.connect("PING")
            chat.settle()
            self.assertEqual(lines_of(transport), ["PONG"])
            transport.close()
            chat.settle()
        refused = chat.connect("PING")
        self.assertEqual(lines_of(refused), [err("connecting-too-fast")])
        self.assertTrue(refused.closing)
        other = chat.connect("PING", source="127.0.0.2")
        chat.settle()
        self.assertEqual(lines_of(other), ["PONG"])


class AddressKeyTest(unittest.TestCase):
    """What counts as one address: IPv4 as it is, IPv6 by its network of --ipv6-prefix bits."""

    def test_ipv4_as_it_is_ipv4_mapped_as_ipv4(self) -> None:
        self.assertEqual(admission_key("203.0.113.5", 64), "203.0.113.5")
        self.assertEqual(admission_key("::ffff:203.0.113.5", 64), "203.0.113.5")
        self.assertEqual(admission_key("", 64), "")  # (a peer already gone)

    def test_ipv6_by_its_prefix(self) -> None:
        one_prefix = [admission_key(f"2001:db8:0:7::{number}", 64) for number in ("1", "2", "ffff")]
        one_prefix.append(admission_key("2001:db8:0:7:ffff:ffff:ffff:ffff", 64))
        self.assertEqual(set(one_prefix), {"2001:db8:0:7::/64"})
        self.assertEqual(admission_key("2001:DB8:0:8::1", 64), "2001:db8:0:8::/64")  # the next /64
        self.assertEqual(admission_key("2001:db8:0:ff::1", 56), "2001:db8::/56")
        self.assertEqual(admission_key("2001:db8:1::1", 48), "2001:db8:1::/48")
        self.assertEqual(admission_key("2001:db8::1", 128), "2001:db8::1")
        self.assertEqual(admission_key("fe80::1%eth0", 64), "fe80::/64")


class IPv6AddressTest(unittest.TestCase):
    """--max-per-ip, --max-new-per-ip and the shared budget count an IPv6 /64 as one address."""

    def test_the_addresses_of_one_prefix_share_the_connection_limit(self) -> None:
        chat = InProcessServer("--max-per-ip", "2")
        self.addCleanup(chat.close)
        first, second = chat.connect("PING", source="2001:db8::1"), chat.connect("PING", source="2001:db8::2")
        third, fourth = chat.connect("PING", source="2001:db8::3"), chat.connect("PING", source="2001:db8::4")
        chat.settle()
        self.assertEqual((lines_of(first), lines_of(second)), (["PONG"], ["PONG"]))
        for refused in (third, fourth):
            self.assertEqual(lines_of(refused), [err("too-many-connections")])
        elsewhere = chat.connect("PING", source="2001:db8:0:1::1")  # another /64
        chat.settle()
        self.assertEqual(lines_of(elsewhere), ["PONG"])
        first.close()
        chat.settle()
        again = chat.connect("PING", source="2001:db8::ffff")  # the /64 has a slot again
        chat.settle()
        self.assertEqual(lines_of(again), ["PONG"])

    def test_a_longer_prefix_counts_addresses_apart(self) -> None:
        chat = InProcessServer("--max-per-ip", "1", "--ipv6-prefix", "128")
        self.addCleanup(chat.close)
        transports = [chat.connect("PING", source=f"2001:db8::{number}") for number in range(1, 4)]
        chat.settle()
        self.assertEqual([lines_of(transport) for transport in transports], [["PONG"]] * 3)
        refused = chat.connect("PING", source="2001:db8::1")
        self.assertEqual(lines_of(refused), [err("too-many-connections")])

    def test_the_addresses_of_one_prefix_share_new_connections_and_the_input_budget(self) -> None:
        chat = InProcessServer(
            "--max-per-ip", "1", "--max-new-per-ip", "1", "--rate-limit", "0.01", "--rate-burst", "2"
        )
        self.addCleanup(chat.close)
        spender = chat.connect("PING", "PING", "PING", source="2001:db8::1")  # the /64's budget: 1 x 2 lines
        chat.settle()
        self.assertEqual(lines_of(spender), ["PONG"] * 2)
        spender.close()
        chat.settle()
        latecomer = chat.connect("PING", source="2001:db8::2")  # its own burst is full, its /64's spent
        chat.settle()
        self.assertEqual(lines_of(latecomer), [])
        latecomer.close()
        chat.settle()
        refused = chat.connect("PING", source="2001:db8::3")  # the third new connection of the /64
        self.assertEqual(lines_of(refused), [err("connecting-too-fast")])


class UpperEcho:
    """A test-only protocol: the first line is the user's name; every later line comes back
    upper-cased and goes to the room as a message; room events arrive as ``<who> says <text>``."""

    def __init__(self, host: RoomHost, connection: Connection) -> None:
        self.host, self.connection = host, connection
        self.name: str | None = None

    @staticmethod
    def session_type(host: RoomHost) -> SessionType:
        return SessionType("echo", 1024, telnet=False, strip=True, new_session=lambda c: UpperEcho(host, c))

    def deliver(self, event: RoomEvent) -> None:
        self.connection.send(event.encoded(echo_wire))

    def line_received(self, line: str) -> bool:
        if self.name is not None:
            self.connection.send(line.upper().encode() + b"\n")
            self.host.room.broadcast(Said(self.name, [line.upper()]), self)
            return True

        def joined(result: JoinResult) -> None:
            if result == "ok":
                self.name = line
                self.connection.mark_registered()
            self.connection.send(f"{result} {line}\n".encode())

        self.host.room.join(self, line, joined)
        return True

    def line_too_long(self) -> None:
        self.connection.send(b"too long\n")

    def read_done(self) -> None:
        pass

    def ready_for_input(self) -> bool:
        return True

    def leave(self, reason: str, then: Callable[[], None] | None) -> None:
        if self.name is not None:
            self.host.room.leave(self, self.name)
            self.name = None
        if then is not None:
            self.host.room.sync(self, then)

    def farewell(self, reason: str) -> bytes | None:
        return f"bye ({reason})\n".encode()

    def idle(self) -> str | None:
        return "idle"

    def refusal(self, code: str) -> bytes:
        return f"no ({code})\n".encode()


def echo_wire(event: RoomEvent) -> bytes:
    if isinstance(event, Said):
        return "".join(f"{event.sender} says {text}\n" for text in event.texts).encode()
    if isinstance(event, Departed):
        return "".join(f"{name} left\n" for name in event.names).encode()
    return b""


class SecondProtocolTest(unittest.TestCase):
    """A second session type on a second listener, over real sockets: the connection layer and the
    server serve it unchanged, and its users share the room with line-protocol users."""

    def setUp(self) -> None:
        self.loop = asyncio.new_event_loop()
        settings = load_settings(["--host", "127.0.0.1", "--stats-interval", "0", "--max-per-ip", "0"], {})
        self.server = ChatServer(settings, self.loop)
        listeners = [
            Listener(0, "--port / PORT", None, ChatSessions(self.server, settings.max_line_bytes).session_type),
            Listener(0, "(test)", None, UpperEcho.session_type(self.server), "echo"),
        ]
        thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        thread.start()
        ports = asyncio.run_coroutine_threadsafe(self.server.start(listeners), self.loop).result()
        self.chat_port, self.echo_port = ports[0][0].port, ports[1][0].port

        def stop() -> None:
            asyncio.run_coroutine_threadsafe(self.server.shutdown(grace=1.0), self.loop).result()
            self.loop.call_soon_threadsafe(self.loop.stop)
            thread.join()
            self.loop.close()

        self.addCleanup(stop)

    def connect(self, port: int) -> Client:
        client = Client(port)
        self.addCleanup(client.close)
        return client

    def test_an_echo_user_and_a_line_user_share_the_room(self) -> None:
        ann = self.connect(self.chat_port).login(unique_name("ann"))
        bob_name = unique_name("bob")
        bob = self.connect(self.echo_port)
        bob.send(bob_name)
        bob.expect(f"ok {bob_name}")
        bob.send("hello there")
        bob.expect("HELLO THERE")
        self.assertEqual(ann.sync(), [f"MSG {bob_name} HELLO THERE"])
        ann.send("MSG hi bob")
        bob.expect(f"{ann.name} says hi bob")
        ann.send("WHO")
        self.assertEqual(ann.sync(), [f"USER {ann.name}", f"USER {bob_name}"])
        clash = self.connect(self.echo_port)
        clash.send(ann.name.upper())  # one name space for both protocols
        clash.expect(f"taken {ann.name.upper()}")
        bob.sock.shutdown(socket.SHUT_WR)  # end of file: the server answers it and closes
        self.assertEqual(bob.read_until_closed(), ["bye (closed)"])
        self.assertEqual(ann.sync(), [f"INFO {bob_name} disconnected"])
        ann.send("QUIT")
        self.assertEqual(ann.read_until_closed(), ["Goodbye!"])


if __name__ == "__main__":
    unittest.main()
