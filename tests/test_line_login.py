"""The line protocol's login (``sessions/line_login.py``), its pure parts: the argument split, the
refusals before any account or room is asked, and the reply for every refusal after.  The whole
LOGIN over a connection: test_line_session, test_accounts_login and test_protocol_end_to_end."""

from __future__ import annotations

import unittest

from support import err

from algokart_chat.moderation import Entry, parse_target
from algokart_chat.password_checks import LoginStep, Outcome
from algokart_chat.sessions import line_login


def ban(name: str) -> Entry:
    target = parse_target(name)
    assert target is not None
    return Entry("ban", target, "root", 0.0, "spam", None)


def line(reply: bytes) -> str:
    return reply.decode().rstrip("\n")


class SplitTest(unittest.TestCase):
    def test_without_accounts_the_whole_argument_is_the_name(self) -> None:
        self.assertEqual(line_login.split("a b", accounts=False), ("a b", ""))

    def test_with_accounts_the_first_word_is_the_name_and_the_rest_the_password(self) -> None:
        self.assertEqual(line_login.split("alice two words", accounts=True), ("alice", "two words"))
        self.assertEqual(line_login.split("alice", accounts=True), ("alice", ""))


class FirstRefusalTest(unittest.TestCase):
    def setUp(self) -> None:
        self.asked = 0

    def no_ban(self) -> Entry | None:
        self.asked += 1
        return None

    def test_a_valid_name_not_banned_goes_on(self) -> None:
        self.assertIsNone(line_login.first_refusal("alice", False, self.no_ban))
        self.assertEqual(self.asked, 1)

    def test_logged_in_already_is_checked_first(self) -> None:
        self.assertEqual(line(line_login.first_refusal("", True, self.no_ban) or b""), err("already-logged-in"))
        self.assertEqual(self.asked, 0)

    def test_an_invalid_name_is_refused_before_any_ban_is_looked_up(self) -> None:
        for name in ("", "a b", "x" * 33):
            with self.subTest(name=name):
                self.assertEqual(
                    line(line_login.first_refusal(name, False, self.no_ban) or b""), err("invalid-username")
                )
        self.assertEqual(self.asked, 0)

    def test_a_ban_is_refused_with_its_own_hint(self) -> None:
        refused = line(line_login.first_refusal("mallory", False, lambda: ban("mallory")) or b"")
        self.assertEqual(refused, "ERR banned until never by root: spam")


class RefusalsTest(unittest.TestCase):
    def test_every_step_that_refuses_at_once_has_its_code(self) -> None:
        for step in (LoginStep.PASSWORD_REQUIRED, LoginStep.ACCOUNT_REQUIRED, LoginStep.NO_SUCH_ACCOUNT):
            with self.subTest(step=step):
                self.assertEqual(line(line_login.step_refusal(step)), err(step.value))

    def test_every_check_that_fails_has_its_code(self) -> None:
        codes = {
            Outcome.WRONG: "bad-password",
            Outcome.TOO_MANY_ATTEMPTS: "too-many-attempts",
            Outcome.BUSY: "server-busy",
        }
        for outcome, code in codes.items():
            with self.subTest(outcome=outcome):
                self.assertEqual(line(line_login.check_refusal(outcome)), err(code))

    def test_the_room_refuses_a_taken_name_or_cannot_answer(self) -> None:
        self.assertEqual(line(line_login.join_refusal("taken")), err("username-taken"))
        self.assertEqual(line(line_login.join_refusal("unavailable")), err("cluster-unavailable"))


if __name__ == "__main__":
    unittest.main()
