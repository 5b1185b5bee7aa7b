"""The IRC session (``sessions.irc_session``) in this process, on fake transports: registration,
dispatch, what waits for the room, labeled responses that wait for their echoes, the keepalive and
the last line of a closed connection.  Its parts have files of their own: test_irc_presence (JOIN, PART,
AWAY), test_irc_registration, test_irc_messages, test_irc_queries and the others; end to end: test_irc."""

from __future__ import annotations

import unittest
from collections.abc import Callable
from typing import Any
from unittest import mock

from support import FakeTransport

from algokart_chat import irc
from algokart_chat.room import Member
from algokart_chat.room_memory import MemoryRoom
from algokart_chat.server.chat_server import ChatServer
from algokart_chat.sessions.irc_session import IrcSession
from in_process import CountingRoom, DeferredRoom, InProcessServer, connection, lines_of
from irc_fakes import hostile_lines, registered


class StreamRoom(CountingRoom):
    """Takes messages and syncs only when the test says so, in order, as a cluster's room applies
    its stream after a round trip."""

    __slots__ = ("later",)

    def __init__(self, departed: Callable[[str, str | None], None]) -> None:
        super().__init__(departed)
        self.later: list[Callable[[], None]] = []

    def broadcast(self, payload: Any, sender: Member, *, echo: bool = False) -> None:
        self.later.append(lambda: MemoryRoom.broadcast(self, payload, sender, echo=echo))

    def direct(self, name: str, payload: Any, *, echo_to: Member | None = None) -> None:
        self.later.append(lambda: MemoryRoom.direct(self, name, payload, echo_to=echo_to))

    def sync(self, member: Member, done: Callable[[], None]) -> None:
        self.later.append(lambda: MemoryRoom.sync(self, member, done))

    def apply(self) -> None:
        later, self.later = self.later, []
        for step in later:
            step()


def codes(lines: list[str]) -> list[str]:
    return [line.split(" ")[1] for line in lines]


def session_of(transport: FakeTransport) -> IrcSession:
    session = connection(transport).session
    assert isinstance(session, IrcSession)
    return session


class InProcessTest(unittest.TestCase):
    room_type: type[CountingRoom] = CountingRoom

    def setUp(self) -> None:
        self.chat = InProcessServer(room=self.room_type)
        self.addCleanup(self.chat.close)

    def read(self, client: FakeTransport) -> list[str]:
        """The lines ``client`` was sent so far, once the loop has run."""
        self.chat.settle()
        return lines_of(client)


class RegistrationTest(InProcessTest):
    def test_nick_and_user_register_with_the_welcome_burst(self) -> None:
        client = self.chat.connect_irc("NICK ann", "USER a 0 * :Ann")
        lines = self.read(client)
        self.assertEqual(codes(lines), ["001", "002", "003", "004", "005", "422"])
        self.assertEqual(lines[0], ":irc.test 001 ann :Welcome to the algokart IRC Network ann!ann@irc.test")
        self.assertEqual(session_of(client).name, "ann")
        self.assertFalse(self.chat.room.knows("ann"))  # (held, but not in the room before JOIN)
        self.assertEqual(self.chat.room.held_name("ANN"), "ann")

    def test_before_registration_only_registration_ping_and_quit_are_answered(self) -> None:
        client = self.chat.connect_irc("JOIN #chat", "WHO", "PING :t")
        self.chat.settle()
        self.assertEqual(
            self.read(client),
            [":irc.test 451 * :You have not registered"] * 2 + [":irc.test PONG irc.test :t"],
        )
        self.assertIsNone(session_of(client).name)

    def test_cap_holds_registration_until_cap_end(self) -> None:
        client = self.chat.connect_irc("CAP LS 302", "NICK ann", "USER a 0 * :Ann", "CAP REQ :sasl")
        self.assertEqual(self.read(client)[1:], [":irc.test CAP ann NAK :sasl"])
        self.chat.send(client, "CAP END")
        self.assertEqual(codes(self.read(client))[2], "001")

    def test_a_nick_taken_since_nick_is_refused_at_registration_and_another_completes_it(self) -> None:
        client = self.chat.connect_irc("NICK bob")
        self.chat.connect("LOGIN bob")
        self.chat.send(client, "USER b 0 * :Bob")
        self.assertEqual(self.read(client), [":irc.test 433 * bob :Nickname is already in use"])
        self.chat.send(client, "NICK bobby")
        self.assertEqual(codes(self.read(client))[1], "001")

    def test_nick_and_user_errors(self) -> None:
        client = self.chat.connect_irc("NICK", "NICK bad!nick", "USER a 0 *")
        self.assertEqual(
            self.read(client),
            [
                ":irc.test 431 * :No nickname given",
                ":irc.test 432 * bad!nick :Erroneous nickname: only letters, digits, _ - and . are allowed",
                ":irc.test 461 * USER :Not enough parameters",
            ],
        )

    def test_after_registration(self) -> None:
        client = registered(self.chat, "ann")
        self.chat.send(client, "PART #chat")
        self.chat.settle()
        client.written.clear()
        self.chat.send(client, "USER a 0 * :Ann", "PASS x", "NICK Anna", "KNOCK #chat")
        self.assertEqual(
            self.read(client),
            [
                ":irc.test 462 ann :You may not reregister",
                ":irc.test 462 ann :You may not reregister",
                ":ann!ann@irc.test NICK :Anna",  # (out of the channel, it hears no Renamed: it is told)
                ":irc.test 421 Anna KNOCK :Unknown command",
            ],
        )
        self.assertEqual(self.chat.room.held_name("anna"), "Anna")


class RoomThatAnswersLaterTest(InProcessTest):
    """A cluster's room answers a claim after a round trip: the connection waits, in order."""

    room_type = DeferredRoom

    def answer_the_claim(self) -> None:
        assert isinstance(self.chat.room, DeferredRoom)
        self.chat.room.answers.pop()()

    def test_commands_after_registration_wait_for_the_claim(self) -> None:
        client = self.chat.connect_irc("NICK ann", "USER a 0 * :Ann", "PING :t")
        self.assertEqual(self.read(client), [])
        self.assertFalse(client.reading)
        self.answer_the_claim()
        self.assertEqual(codes(self.read(client))[0], "001")
        self.assertEqual(self.read(client)[-1], ":irc.test PONG irc.test :t")
        self.assertTrue(client.reading)

    def test_a_connection_gone_before_the_answer_gives_the_nick_back(self) -> None:
        client = self.chat.connect_irc("NICK cy", "USER c 0 * :Cy")
        client.close()
        self.chat.settle()
        self.answer_the_claim()
        self.assertIsNone(self.chat.room.held_name("cy"))


class LabelsTest(InProcessTest):
    """labeled-response where the room answers later: the label waits for its echoes, and an
    earlier message's echo still on its way is never taken for one of them."""

    room_type = StreamRoom

    def apply(self) -> None:
        assert isinstance(self.chat.room, StreamRoom)
        self.chat.room.apply()

    def test_a_labeled_message_is_answered_by_its_own_echo_once_the_room_gives_it(self) -> None:
        client = self.chat.connect_irc(
            "CAP REQ :echo-message labeled-response batch", "NICK ann", "USER a 0 * :Ann", "CAP END", "JOIN #chat"
        )
        self.read(client)
        self.apply()  # (the JOIN's names wait for the room)
        self.read(client)
        client.written.clear()
        self.chat.send(client, "PRIVMSG #chat :first", "@label=L PRIVMSG #chat :second", "PING :after")
        self.assertEqual(self.read(client), [])
        self.assertFalse(client.reading)  # (the labeled command is not over: the rest waits)
        self.apply()
        self.assertEqual(
            self.read(client),
            [
                ":ann!ann@irc.test PRIVMSG #chat :first",
                "@label=L :ann!ann@irc.test PRIVMSG #chat :second",
            ],
        )
        self.apply()  # (PING's sync)
        self.assertEqual(self.read(client)[-1], ":irc.test PONG irc.test :after")

    def test_a_labeled_command_with_nothing_to_say_is_acknowledged(self) -> None:
        client = self.chat.connect_irc("CAP REQ :labeled-response", "NICK bo", "USER b 0 * :Bo", "CAP END")
        self.read(client)
        client.written.clear()
        self.chat.send(client, "@label=x PONG :y", "@label=y JOIN #chat")
        self.assertEqual(self.read(client), ["@label=x :irc.test ACK"])
        self.apply()
        reply = self.read(client)
        self.assertEqual(len(reply), 4)  # (JOIN, 353, 366 and no batch: one line is labeled, or none)
        self.assertFalse(any(line.startswith("@label") for line in reply[1:]))


class MessagesTest(InProcessTest):
    def test_a_message_that_is_not_utf8_is_refused(self) -> None:
        client = registered(self.chat, "ann")
        client.written.clear()
        connection(client).data_received(b"PRIVMSG #chat :caf\xe9\r\n")
        self.assertEqual(self.read(client), [":irc.test FAIL PRIVMSG INVALID_UTF8 :Message rejected: not UTF-8"])


class SimplePrivmsgTest(unittest.TestCase):
    """The commonest line, read by ``irc.simple_privmsg`` and sent by ``IrcMessages.privmsg``, gives
    everyone what the general reading gives them."""

    def outcome(self, data: bytes, quick: bool) -> list[bytes]:
        chat = InProcessServer("--rate-limit", "0", "--rate-limit-bytes", "0")
        self.addCleanup(chat.close)
        echo = "CAP LS 302", "CAP REQ :echo-message", "CAP END"
        clients = [registered(chat, "ann"), chat.connect_irc(*echo, "NICK cat", "USER c 0 * :c", "JOIN #chat")]
        clients.append(chat.connect("LOGIN dan"))
        chat.settle()
        for client in clients:
            client.written.clear()
        with mock.patch.object(irc, "simple_privmsg", irc.simple_privmsg if quick else lambda line: None):
            connection(clients[0]).data_received(data)
            chat.settle()
        return [bytes(client.written) for client in clients]

    def test_agrees_with_the_general_reading_on_random_and_hostile_lines(self) -> None:
        lines = [line.encode("utf-8", "surrogateescape") + b"\r\n" for line in hostile_lines(seed=3, count=600)]
        heard = 0
        for start in range(0, len(lines), 20):  # (reads of 20 lines: messages of one read travel together)
            data = b"".join(lines[start : start + 20])
            outcome = self.outcome(data, quick=True)
            self.assertEqual(outcome, self.outcome(data, quick=False), data)
            heard += outcome[2].count(b"MSG ann ")
        self.assertGreater(heard, 20)  # (many were said: the test means something)

    def test_it_waits_while_the_server_is_behind(self) -> None:
        chat = InProcessServer()
        self.addCleanup(chat.close)
        ann, dan = registered(chat, "ann"), chat.connect("LOGIN dan")
        chat.settle()
        waiting: list[Callable[[], None]] = []
        with (
            mock.patch.object(ChatServer, "fan_out_allowed", lambda server: False),
            mock.patch.object(ChatServer, "when_fan_out_allowed", lambda server, resume: waiting.append(resume)),
        ):
            chat.send(ann, "PRIVMSG #chat :one", "PRIVMSG #chat :two")
            chat.settle()
        self.assertEqual((lines_of(dan)[1:], len(waiting)), ([], 1))
        waiting[0]()
        chat.settle()
        self.assertEqual(lines_of(dan)[1:], ["MSG ann one", "MSG ann two"])


class IdentityTest(InProcessTest):
    def test_the_username_and_real_name_of_user_from_registration_to_leaving(self) -> None:
        channel = self.chat.irc_sessions.channel
        ann = self.chat.connect_irc("NICK ann", "USER annie@host 0 * :Ann \x02Example\x02")
        self.chat.settle()
        self.assertEqual(channel.identity("ann"), ("~user", "Ann Example"))  # (not an ident: ~user)
        self.chat.send(ann, "NICK Anna")
        self.chat.settle()
        self.assertEqual(
            (channel.identity("Anna"), channel.identity("ann")), (("~user", "Ann Example"), ("ann", "ann"))
        )
        self.chat.send(ann, "QUIT")
        self.chat.settle()
        self.assertEqual(channel.identity("Anna"), ("Anna", "Anna"))
        bob = registered(self.chat, "bob")
        self.assertEqual(channel.identity("bob"), ("~bob", "bob"))
        self.assertTrue(bob.reading)


class ClosingTest(InProcessTest):
    def test_the_keepalive_pings_once_then_times_out(self) -> None:
        session = session_of(self.chat.connect_irc())
        self.assertIsNone(session.idle())
        self.assertEqual(session.idle(), "ping-timeout")

    def test_any_line_clears_the_keepalive(self) -> None:
        client = self.chat.connect_irc()
        session = session_of(client)
        self.assertIsNone(session.idle())
        self.chat.send(client, "PONG :irc.test")
        self.assertIsNone(session.idle())
        self.assertEqual(self.read(client), ["PING :irc.test", "PING :irc.test"])

    def test_the_last_line_names_the_server(self) -> None:
        session = session_of(self.chat.connect_irc())
        self.assertIsNone(session.farewell("closed"))
        self.assertEqual(session.farewell("idle"), b"ERROR :Closing Link: irc.test (Ping timeout)\r\n")
        self.assertEqual(session.refusal("server-full"), b"ERROR :Closing Link: irc.test (server full)\r\n")

    def test_quit_says_its_reason(self) -> None:
        client = registered(self.chat, "ann", "QUIT :gone \x07fishing")
        self.assertEqual(self.read(client)[-1], "ERROR :Closing Link: irc.test (Quit: gone fishing)")
        self.assertTrue(client.closing)
        self.assertIsNone(self.chat.room.held_name("ann"))


if __name__ == "__main__":
    unittest.main()
