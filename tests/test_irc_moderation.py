"""Unit tests of sessions/irc_moderation.py and the channel's part in it: which ban masks mean
which targets, how the lists show them, who is an operator, and the KICK/KILL lines that replace
a departure's QUIT (bounded, and only for a while)."""

from __future__ import annotations

import unittest
from typing import Any

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.accounts import Account
from algokart_chat.events import Departed
from algokart_chat.sessions import irc_moderation
from algokart_chat.sessions.irc_channel import MAX_REMOVALS, REMOVAL_SECONDS, IrcChannel
from irc_fakes import FakeHost


class MaskTest(unittest.TestCase):
    def test_masks_that_name_a_user_or_an_address(self) -> None:
        for mask, text, is_address in (
            ("Bob", "Bob", False),
            ("bob!*@*", "bob", False),
            ("*!*@203.0.113.7", "203.0.113.7", True),
            ("*!*@203.0.113.0/24", "203.0.113.0/24", True),
            ("*!*@2001:db8::1", "2001:db8::/64", True),
        ):
            target = irc_moderation.target_of(mask, 64)
            assert target is not None, mask
            self.assertEqual((target.text, target.network is not None), (text, is_address))
            self.assertEqual(irc_moderation.target_of(irc_moderation.mask_of(target), 64), target)

    def test_other_masks_are_refused(self) -> None:
        for mask in ("*!*@*", "*", "bo*", "bob!bob@*", "*!*@host.example", "*!*@", "bob@x", "a!b", "1.2.3.4", "!"):
            self.assertIsNone(irc_moderation.target_of(mask, 64), mask)

    def test_the_lists_show_names_and_networks_as_masks(self) -> None:
        name = irc_moderation.target_of("Bob", 64)
        network = irc_moderation.target_of("*!*@10.0.0.0/8", 64)
        assert name is not None and network is not None
        self.assertEqual((irc_moderation.mask_of(name), irc_moderation.mask_of(network)), ("Bob!*@*", "*!*@10.0.0.0/8"))


class OperatorsTest(unittest.TestCase):
    def test_an_op_account_or_an_opered_nick(self) -> None:
        room: Any = FakeHost().room
        hashed: Any = None
        accounts = {"olga": Account("olga", hashed, frozenset({"op"})), "bob": Account("bob", hashed)}
        operators = irc_moderation.Operators(room, lambda name: accounts.get(name.lower()))
        self.assertTrue(operators.is_operator("OLGA"))
        self.assertTrue(operators.protected("olga"))
        self.assertFalse(operators.is_operator("bob"))
        operators.opered("Nick1")
        self.assertTrue(operators.is_operator("nick1"))
        self.assertFalse(operators.protected("nick1"))  # (protected: an account with the role)
        operators.gone("NICK1")
        self.assertFalse(operators.is_operator("nick1"))


class RemovalTest(unittest.TestCase):
    def setUp(self) -> None:
        self.now = 1000.0
        self.channel = IrcChannel(FakeHost(), "irc.test", "#chat", clock=lambda: self.now)

    def test_a_kick_or_kill_is_shown_once_instead_of_quit(self) -> None:
        self.channel.note_removal("troll", "olga", "kick", "spam")
        self.channel.note_removal("Other", "olga", "kill", "")
        lines = Departed(["troll", "other", "troll"]).encoded(self.channel.wire)
        self.assertEqual(
            lines.decode().split("\r\n")[:-1],
            [
                ":olga!olga@irc.test KICK #chat troll :spam",
                ":other!other@irc.test QUIT :Killed (olga (no reason))",
                ":troll!troll@irc.test QUIT :Quit",
            ],
        )

    def test_removals_are_bounded_and_forgotten(self) -> None:
        for number in range(MAX_REMOVALS + 10):
            self.channel.note_removal(f"user{number}", "olga", "kick", "")
        self.assertEqual(len(self.channel._removals), MAX_REMOVALS)
        self.now += REMOVAL_SECONDS + 1
        self.assertEqual(Departed([f"user{MAX_REMOVALS + 9}"]).encoded(self.channel.wire).split(b" ")[1], b"QUIT")
        self.channel.note_removal("late", "olga", "kick", "")
        self.assertEqual(len(self.channel._removals), 1)
