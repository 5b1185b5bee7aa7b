"""The line protocol's session (``sessions/line_session.py``) in this process, over fake transports:
what waits for the room, and what a reply costs.  Every command end to end, over real sockets:
test_protocol_end_to_end; its parts: test_line_login, test_line_history, test_line_moderation."""

from __future__ import annotations

import asyncio
import unittest
from collections.abc import Sequence

from support import err

from algokart_chat import protocol
from algokart_chat.accounts import Account, Accounts, ScryptParams, hash_password
from algokart_chat.password_checks import CheckResult, Logins, Outcome, PasswordChecks
from algokart_chat.server.admission import admission_key
from algokart_chat.sessions.line_session import AWAY_TOLD, ChatSessions
from in_process import DeferredRoom, InProcessServer, connection, lines_of
from irc_fakes import registered


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


class AwayTest(unittest.TestCase):
    def test_a_dm_to_someone_away_is_followed_by_its_message_once_per_message(self) -> None:
        chat = InProcessServer()
        self.addCleanup(chat.close)
        ann = registered(chat, "ann", "AWAY :at lunch")
        bob = chat.connect("LOGIN bob", "DM ANN hi", "DM ann are you there", "MSG all", "DM ann ?")
        chat.settle()
        self.assertEqual(lines_of(bob), ["OK", "INFO ann is away: at lunch"])
        chat.send(ann, "AWAY :in a meeting")
        chat.settle()
        chat.send(bob, "DM ann hello", "DM ann hello?")
        chat.settle()
        self.assertEqual(lines_of(bob)[2:], ["INFO ann is away: in a meeting"])
        chat.send(ann, "AWAY")
        chat.settle()
        chat.send(bob, "DM ann back?")
        chat.settle()
        self.assertEqual(lines_of(bob)[3:], [])
        self.assertEqual(len([line for line in lines_of(ann) if " PRIVMSG ann " in line]), 6)

    def test_a_session_remembers_a_few_away_messages_told(self) -> None:
        chat = InProcessServer("--max-per-ip", "0", "--rate-limit", "0")
        self.addCleanup(chat.close)
        count = AWAY_TOLD + 1
        for number in range(count):
            registered(chat, f"irc{number}", f"AWAY :away {number}")
        bob = chat.connect("LOGIN bob", *(f"DM irc{number} hi" for number in range(count)), "DM irc0 again")
        chat.settle()
        told = [line for line in lines_of(bob) if line.startswith("INFO ")]
        self.assertEqual(told, [f"INFO irc{number} is away: away {number}" for number in (*range(count), 0)])


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


class HeldChecks(PasswordChecks):
    """Password checks the test answers: each waits for ``answer``."""

    def __init__(self, accounts: Accounts) -> None:
        super().__init__(lambda: accounts)
        self.asked: list[tuple[str, str, str]] = []
        self.pending: list[asyncio.Future[CheckResult]] = []

    async def check(self, name: str, password: str, address: str) -> CheckResult:
        self.asked.append((name, password, address))
        self.pending.append(asyncio.get_running_loop().create_future())
        return await self.pending[-1]

    def answer(self, outcome: Outcome) -> None:
        account = self.account(self.asked[len(self.asked) - len(self.pending)][0])
        self.pending.pop(0).set_result(CheckResult(outcome, account if outcome is Outcome.OK else None))


class AccountLoginTest(unittest.TestCase):
    """LOGIN <name> <password> waits for its check, in order, and gives it up if the connection goes."""

    def setUp(self) -> None:
        self.chat = InProcessServer()
        self.addCleanup(self.chat.close)
        self.checks = HeldChecks(Accounts([Account("alice", hash_password("right", ScryptParams(16, 1, 1)))]))
        self.addCleanup(self.checks.close)
        logins = Logins(self.checks, self.chat.loop, lambda host: admission_key(host, 64))
        self.chat.sessions = ChatSessions(self.chat.server, 8192, logins)

    def test_the_lines_after_it_wait_for_the_check_and_the_room(self) -> None:
        client = self.chat.connect("LOGIN alice right  words", "PING", "WHO")
        self.chat.settle()
        self.assertEqual(lines_of(client), [])
        self.assertFalse(client.reading)
        self.assertEqual(self.checks.asked, [("alice", "right  words", "127.0.0.1")])
        self.checks.answer(Outcome.OK)
        self.chat.settle()
        self.assertEqual(lines_of(client), ["OK", "PONG", "USER alice"])
        self.assertTrue(client.reading)

    def test_each_answer_that_is_not_ok_and_the_connection_stays(self) -> None:
        client = self.chat.connect(*["LOGIN alice guess"] * 3, "LOGIN alice right")
        for outcome in (Outcome.WRONG, Outcome.TOO_MANY_ATTEMPTS, Outcome.BUSY, Outcome.OK):
            self.chat.settle()
            self.checks.answer(outcome)
        self.chat.settle()
        expected = [err("bad-password"), err("too-many-attempts"), err("server-busy"), "OK"]
        self.assertEqual(lines_of(client), expected)

    def test_a_connection_gone_during_the_check_cancels_it_and_takes_no_name(self) -> None:
        client = self.chat.connect("LOGIN alice right")
        self.chat.settle()
        client.close()
        self.chat.settle()
        self.assertTrue(self.checks.pending[0].cancelled())
        self.assertFalse(self.chat.room.knows("alice"))

    def test_the_throttle_counts_an_ipv6_client_by_its_network(self) -> None:
        self.chat.connect("LOGIN alice right", source="2001:db8:0:7::5")
        self.chat.settle()
        self.assertEqual(self.checks.asked[0][2], "2001:db8:0:7::/64")
        self.checks.answer(Outcome.WRONG)
        self.chat.settle()

    def test_help_shows_the_password_form(self) -> None:
        client = self.chat.connect("HELP")
        self.chat.settle()
        self.assertEqual(bytes(client.written), protocol.HELP_WITH_ACCOUNTS)
        self.assertIn(b"LOGIN <username> <password>", protocol.HELP_WITH_ACCOUNTS)
        self.assertNotIn(b"<password>", protocol.HELP)


if __name__ == "__main__":
    unittest.main()
