"""The line protocol's moderation commands (``sessions.line_moderation``), their pure parts: the
reply to each command from an operator or not, on moderators with no file and a fake room; the
``BANS`` lines, the refusal a banned or muted user gets and the last line of one removed.  Over a
connection and end to end: test_moderation_end_to_end; the lists and their file: test_moderators."""

from __future__ import annotations

import unittest
from typing import Any, cast

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat import protocol
from algokart_chat.accounts import Account, PasswordHash
from algokart_chat.moderation import MAX_REASON, Entry, parse_target
from algokart_chat.moderators import Matcher, Moderators
from algokart_chat.room import ChatRoom
from algokart_chat.sessions.line_moderation import COMMANDS, entry_line, farewell, moderate, refusal

ONLINE: dict[str, str | None] = {"bob": None, "opnick": "olga"}  # name -> the account of an IRC nick
ACCOUNTS = {"olga": frozenset({"op"}), "mia": frozenset[str]()}


def account_of(name: str) -> Account | None:
    roles = ACCOUNTS.get(name.lower())
    return None if roles is None else Account(name.lower(), cast(PasswordHash, None), roles)


class FakeRoom:
    """Who is online (``held_name``) and the account an IRC nick is logged in to."""

    def held_name(self, name: str) -> str | None:
        return name.lower() if name.lower() in ONLINE else None

    def account_of(self, name: str) -> str | None:
        return ONLINE.get(name.lower())


class ModerateTest(unittest.TestCase):
    def setUp(self) -> None:
        self.moderators = Moderators(None, 64, clock=lambda: 1000.0)
        self.moderators.disconnect = self.disconnect
        self.removed: list[str] = []

    def disconnect(self, match: Matcher, reason: str) -> list[str]:
        hit = [name for name in ONLINE if match(name, "203.0.113.5")]
        self.removed += [f"{name}: {reason}" for name in hit]
        return hit

    def reply(self, line: str, operator: str | None = "olga") -> bytes:
        verb, argument = protocol.split_word(line)
        return moderate(verb, argument, operator, self.moderators, account_of, cast("ChatRoom[Any]", FakeRoom()))

    def test_someone_not_an_operator_changes_nothing(self) -> None:
        for verb in sorted(COMMANDS):
            with self.subTest(verb=verb):
                self.assertEqual(self.reply(f"{verb} bob", operator=None), protocol.error("not-operator"))
        self.assertEqual((self.moderators.entries(), self.removed), ([], []))

    def test_ban_listed_then_lifted(self) -> None:
        self.assertEqual(self.reply("BAN 203.0.113.0/24 1h flooding"), protocol.OK)
        self.assertIn("bob: banned until 1970-01-01T01:16:40Z by olga: flooding", self.removed)
        self.assertEqual(
            self.reply("BANS"), b"BAN 203.0.113.0/24 olga 1970-01-01T00:16:40Z 1970-01-01T01:16:40Z flooding\nOK\n"
        )
        self.assertEqual(self.reply("UNBAN 203.0.113.0/24"), protocol.OK)
        self.assertEqual(self.reply("UNBAN 203.0.113.0/24"), protocol.error("no-such-ban"))
        self.assertEqual(self.reply("UNBAN !!"), protocol.error("bad-target"))

    def test_who_can_be_kicked_and_muted(self) -> None:
        self.assertEqual(self.reply("KICK nobody"), protocol.error("no-such-user"))
        self.assertEqual(self.reply("KICK 203.0.113.5"), protocol.error("no-such-user"))
        self.assertEqual(self.reply("BAN !!"), protocol.error("bad-target"))
        self.assertEqual(self.reply("MUTE nobody"), protocol.error("no-such-user"))
        self.assertEqual(self.reply("MUTE mia 10m"), protocol.OK)  # (an account's name, offline)
        for line in (
            "KICK opnick",
            "BAN olga",
            "MUTE OLGA",
            "MUTE opnick",
        ):  # (an op account, or a nick logged in to one)
            with self.subTest(line=line):
                self.assertEqual(self.reply(line), protocol.error("operator-protected"))
        self.assertEqual(self.reply("KICK bob \x1b[31mgo\x07 " + "x" * 500), protocol.OK)
        reason = self.removed[-1].removeprefix("bob: kicked by olga: ")
        self.assertEqual(len(reason), MAX_REASON)
        self.assertTrue(reason.startswith("[31mgo "), reason)  # (cleaned: no escape or bell reaches a terminal)


class LinesTest(unittest.TestCase):
    def entry(self, kind: str, until: float | None, reason: str) -> Entry:
        target = parse_target("Troll")
        assert target is not None
        return Entry(kind, target, "olga", 0.0, reason, until)  # type: ignore[arg-type]

    def test_bans_lines(self) -> None:
        self.assertEqual(entry_line(self.entry("ban", None, "")), b"BAN Troll olga 1970-01-01T00:00:00Z never\n")
        self.assertEqual(
            entry_line(self.entry("mute", 60.0, "spam  again")),
            b"MUTE Troll olga 1970-01-01T00:00:00Z 1970-01-01T00:01:00Z spam  again\n",
        )

    def test_the_refusal_says_until_when_and_by_whom(self) -> None:
        self.assertEqual(refusal(self.entry("ban", None, "")), b"ERR banned until never by olga\n")
        self.assertEqual(
            refusal(self.entry("mute", 60.0, "spam")), b"ERR muted until 1970-01-01T00:01:00Z by olga: spam\n"
        )

    def test_only_a_removal_by_an_operator_has_a_last_line(self) -> None:
        self.assertEqual(farewell("kicked by olga: spam"), b"INFO kicked by olga: spam\n")
        self.assertEqual(farewell("banned until never by olga"), b"INFO banned until never by olga\n")
        self.assertIsNone(farewell("timed out"))


if __name__ == "__main__":
    unittest.main()
