"""The line protocol's session in this process, over fake transports: what waits for the room, and
what a reply costs."""

from __future__ import annotations

import unittest
from collections.abc import Sequence

from support import err

from in_process import DeferredRoom, InProcessServer, connection, lines_of


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
        self.assertTrue(connection(client).eof_received(), "the transport must stay open for the answer")
        self.room.answers.pop()()
        self.chat.settle()
        self.assertEqual(lines_of(client), [err("username-taken"), "PONG"])
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
        first = chat.sessions.who_reply()
        self.assertIs(chat.sessions.who_reply(), first)
        chat.connect("LOGIN bob")
        self.assertEqual(chat.sessions.who_reply(), b"USER alice\nUSER bob\n")

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


def names(lines: Sequence[str]) -> list[str]:
    return [line.split(" ", 1)[1] for line in lines if line.startswith("USER ")]


class HttpRequestTest(unittest.TestCase):
    """A web page that makes a browser POST chat lines to the line port gets nothing done."""

    def test_a_post_logs_nobody_in_sends_nothing_and_gets_no_reply(self) -> None:
        chat = InProcessServer()
        self.addCleanup(chat.close)
        bob = chat.connect("LOGIN bob")
        chat.settle()
        headers = ("POST / HTTP/1.1", "Host: 127.0.0.1:4000", "Content-Type: text/plain", "")
        page = chat.connect(*headers, "LOGIN webvictim", "MSG hello", "DM bob hi")  # one read
        chat.settle()
        self.assertEqual(lines_of(page), [])
        self.assertTrue(page.closing)
        self.assertEqual(lines_of(bob), ["OK"])
        self.assertEqual(list(chat.room.names()), ["bob"])


if __name__ == "__main__":
    unittest.main()
