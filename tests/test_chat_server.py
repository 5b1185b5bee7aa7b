"""ChatServer in this process: departures announced together, and listeners of several protocols sharing one room."""

from __future__ import annotations

import asyncio
import socket
import threading
import unittest
from collections.abc import Callable

from support import Client, unique_name

from algokart_chat.config import load_settings
from algokart_chat.events import Departed, RoomEvent, Said
from algokart_chat.room import JoinResult, RoomHost
from algokart_chat.server.chat_server import ChatServer
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
