"""A replica's accounts and away messages (``cluster/replica_profiles.py``), driven directly; how
the replica applies them to the stream: test_cluster_replica and test_cluster_accounts."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.cluster.entries import BROADCAST, Record
from algokart_chat.cluster.replica_profiles import Profiles
from algokart_chat.names import username_key


class ProfilesTest(unittest.TestCase):
    def setUp(self) -> None:
        self.profiles = Profiles()

    def test_an_account_is_kept_only_when_it_is_a_valid_name(self) -> None:
        self.assertEqual(self.profiles.joined("alice", "Alice"), "Alice")
        self.assertEqual(self.profiles.account_of("alice"), "Alice")
        self.assertIsNone(self.profiles.joined("bob", "no such name"))
        self.assertIsNone(self.profiles.account_of("bob"))

    def test_a_login_as_a_guest_drops_the_account_the_name_had(self) -> None:
        self.profiles.joined("alice", "alice")
        self.profiles.joined("alice", None)
        self.assertIsNone(self.profiles.account_of("alice"))

    def test_an_away_message_is_set_changed_and_cleared_once_each(self) -> None:
        self.assertIsNone(self.profiles.away_of("alice"))
        self.assertTrue(self.profiles.set_away("alice", "lunch"))
        self.assertFalse(self.profiles.set_away("alice", "lunch"))
        self.assertTrue(self.profiles.set_away("alice", "home"))
        self.assertEqual(self.profiles.away_messages({"alice": "Alice"}), {"Alice": "home"})
        self.assertTrue(self.profiles.set_away("alice", None))
        self.assertFalse(self.profiles.set_away("alice", None))
        self.assertEqual(self.profiles.away_messages({}), {})

    def test_a_rename_carries_the_away_message_and_drops_the_old_account(self) -> None:
        self.profiles.joined("old", "old")
        self.profiles.set_away("old", "lunch")
        self.profiles.renamed("old", "new")
        self.assertIsNone(self.profiles.account_of("old"))
        self.assertIsNone(self.profiles.away_of("old"))
        self.assertEqual(self.profiles.away_of("new"), "lunch")

    def test_who_leaves_or_a_clear_leaves_nothing_behind(self) -> None:
        self.profiles.joined("alice", "alice")
        self.profiles.set_away("alice", "lunch")
        self.profiles.left("alice")
        self.assertEqual((self.profiles.account_of("alice"), self.profiles.away_of("alice")), (None, None))
        self.profiles.joined("bob", "bob")
        self.profiles.clear()
        self.assertIsNone(self.profiles.account_of("bob"))

    def test_a_message_carries_its_senders_account_by_any_spelling_of_the_name(self) -> None:
        record = Record(BROADCAST, "ALICE", b"hi")
        self.assertIsNone(self.profiles.message(record).event.account)
        self.profiles.joined(username_key("Alice"), "alice")
        self.assertEqual(self.profiles.message(record).event.account, "alice")


if __name__ == "__main__":
    unittest.main()
