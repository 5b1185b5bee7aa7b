"""moderators: actions applied, saved, audited, and whoever they remove disconnected through the hook."""

from __future__ import annotations

import shutil
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat import moderators as moderators_module
from algokart_chat.bans_file import load_entries
from algokart_chat.moderation import parse_target
from algokart_chat.moderators import Matcher, Moderators, MuteCheck
from algokart_chat.names import username_key

CONNECTED = [("bob", "203.0.113.5"), (None, "203.0.113.6"), ("olga", "203.0.113.6"), ("carol", "2001:db8::9")]


class ModeratorsTest(unittest.TestCase):
    def setUp(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="algokart-moderators-"))
        self.addCleanup(shutil.rmtree, folder, True)
        self.path = folder / "bans"
        self.now = 1000.0
        self.moderators = self.make()
        self.closed: list[tuple[str | None, str]] = []

    def make(self) -> Moderators:
        moderators = Moderators(str(self.path), 64, node="n1", clock=lambda: self.now)
        moderators.disconnect = self.disconnect
        return moderators

    def disconnect(self, match: Matcher, reason: str) -> list[str]:
        hit = [(name, host) for name, host in CONNECTED if match(name, host)]
        self.closed += [(name, reason) for name, _ in hit]
        return [name for name, _ in hit if name is not None]

    def test_kick_by_name_any_spelling(self) -> None:
        with self.assertLogs("algokart_chat.moderators", "INFO") as logs:
            self.assertEqual(self.moderators.kick("olga", "B0B", "spam"), ["bob"])
        self.assertEqual(self.closed, [("bob", "kicked by olga: spam")])
        self.assertEqual(logs.records[0].fields["action"], "kick")  # type: ignore[attr-defined]
        self.assertEqual(logs.records[0].fields["node"], "n1")  # type: ignore[attr-defined]

    def test_an_address_ban_spares_the_operator_who_sets_it_and_is_saved(self) -> None:
        target = parse_target("203.0.113.6")
        assert target is not None
        with self.assertLogs("algokart_chat.moderators", "INFO"):
            entry = self.moderators.set("ban", target, "olga", 60.0, "")
        assert entry is not None
        self.assertEqual(self.closed, [(None, "banned until 1970-01-01T00:17:40Z by olga")])
        self.assertEqual(load_entries(self.path, self.now, 64), [entry])
        self.assertIsNotNone(self.make().ban_for(None, "203.0.113.6"))  # (a restart keeps it)
        self.now = 1060.0
        self.assertIsNone(self.moderators.ban_for(None, "203.0.113.6"))
        self.assertEqual(self.moderators.entries(), [])

    def test_an_ipv6_ban_covers_the_64_and_a_mute_disconnects_nobody(self) -> None:
        with self.assertLogs("algokart_chat.moderators", "INFO"):
            self.moderators.set("ban", parse_target("2001:db8::1"), "olga", None, "x")  # type: ignore[arg-type]
            self.moderators.set("mute", parse_target("bob"), "olga", None, "")  # type: ignore[arg-type]
        self.assertEqual(self.closed, [("carol", "banned until never by olga: x")])
        self.assertIsNotNone(self.moderators.mute_for("BOB"))
        with self.assertLogs("algokart_chat.moderators", "INFO"):
            self.assertIsNotNone(self.moderators.lift("mute", parse_target("bob"), "olga"))  # type: ignore[arg-type]
        self.assertIsNone(self.moderators.lift("mute", parse_target("bob"), "olga"))  # type: ignore[arg-type]

    def test_a_mute_of_a_name_is_a_mute_of_the_account_of_that_name(self) -> None:
        with self.assertLogs("algokart_chat.moderators", "INFO"):
            self.moderators.set("mute", parse_target("bob"), "olga", 60.0, "")  # type: ignore[arg-type]
        self.assertIsNotNone(self.moderators.mute_for("bob2", "BOB"))  # (an IRC nick logged in to bob)
        self.assertIsNotNone(self.moderators.mute_for("bob", None))
        self.assertIsNone(self.moderators.mute_for("bob2", None))  # (a guest: by its name only)
        self.assertIsNone(self.moderators.mute_for("carol", "carol"))
        self.now = 1060.0
        self.assertIsNone(self.moderators.mute_for("bob2", "bob"))

    def test_a_session_s_mute_check_folds_each_name_once(self) -> None:
        check = MuteCheck(self.moderators)
        with mock.patch.object(moderators_module, "username_key", wraps=username_key) as folded:
            self.assertIsNone(check.mute("bob2", "bob"))  # (nothing muted: nothing folded)
            self.assertEqual(folded.call_count, 0)
            with self.assertLogs("algokart_chat.moderators", "INFO"):
                self.moderators.set("mute", parse_target("bob"), "olga", None, "")  # type: ignore[arg-type]
            for _ in range(3):
                self.assertIsNotNone(check.mute("bob2", "bob"))
            self.assertEqual(folded.call_args_list, [mock.call("bob2"), mock.call("bob")])
            self.assertIsNone(check.mute("bob3", None))  # (logged out, renamed: folded again, once)
            self.assertIsNone(check.mute("bob3", None))
            self.assertEqual(folded.call_count, 3)
        self.moderators.load([], fresh=False)  # (the lists replaced, as a node rejoining its cluster)
        self.assertIsNone(check.mute("bob2", "bob"))

    def test_a_file_that_cannot_be_written_is_an_error_line_and_the_ban_holds(self) -> None:
        moderators = Moderators(str(self.path.parent / "gone" / "bans"), 64, clock=lambda: self.now)
        with self.assertLogs("algokart_chat.moderators", "INFO") as logs:
            self.assertIsNotNone(moderators.set("ban", parse_target("bob"), "olga", None, ""))  # type: ignore[arg-type]
        self.assertIn("ERROR", [record.levelname for record in logs.records])
        self.assertIsNotNone(moderators.ban_for("bob", ""))


if __name__ == "__main__":
    unittest.main()
