"""The history a replica keeps from the stream (``cluster/replica_history.py``), driven directly;
as the replica applies batches: test_cluster_replica; read back from Redis at a join:
test_history_cluster."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.cluster.entries import Batch, broadcast_record, direct_record, sync_record
from algokart_chat.cluster.replica_history import ReplicaHistory, batch_number
from algokart_chat.cluster.replica_profiles import Profiles
from algokart_chat.events import Said, Told
from algokart_chat.history import History


def said(sender: str, *texts: str) -> bytes:
    return broadcast_record(Said(sender, list(texts)))


class ReplicaHistoryTest(unittest.TestCase):
    def setUp(self) -> None:
        self.profiles = Profiles()
        self.kept = ReplicaHistory(History(100, 1 << 20, 3600.0), self.profiles)

    def ids(self) -> list[str]:
        return [entry.id for entry in self.kept.history.latest(100, 0.0).entries]

    def test_off_without_a_history_and_its_bounds_in_milliseconds(self) -> None:
        self.assertFalse(ReplicaHistory(None, self.profiles).on)
        self.assertTrue(self.kept.on)
        self.assertEqual(self.kept.bounds(), (100, 1 << 20, 3_600_000))

    def test_a_batch_kept_holds_its_broadcasts_only_stamped_with_their_place_in_it(self) -> None:
        data = (
            said("alice", "one") + direct_record("bob", Told("alice", "psst")) + sync_record("n.1") + said("bob", "two")
        )
        self.kept.keep(Batch("n", 1, data, "1700000000000-0"))
        self.assertEqual(self.ids(), ["1700000000000-0-0", "1700000000000-0-3"])

    def test_a_backfill_skips_what_is_kept_already_and_counts_what_it_added(self) -> None:
        self.kept.keep(Batch("n", 1, said("alice", "one"), "1700000000000-5"))
        batches = [Batch("n", seq, said("bob", str(seq)), f"1700000000000-{seq}") for seq in (4, 5, 6, 7)]
        self.assertEqual(self.kept.backfill(batches), 2)
        self.assertEqual(self.ids(), ["1700000000000-5-0", "1700000000000-6-0", "1700000000000-7-0"])
        self.assertEqual(self.kept.backfill(batches), 0)

    def test_batch_number_of_ids_and_of_anything_else(self) -> None:
        self.assertEqual(batch_number("1700000000000-5-2.1"), (1700000000000, 5))
        self.assertEqual(batch_number("1700000000000-5"), (1700000000000, 5))
        for junk in ("", "abc", "1-x-2", "１-2"):
            with self.subTest(junk=junk):
                self.assertEqual(batch_number(junk), (-1, -1))


if __name__ == "__main__":
    unittest.main()
