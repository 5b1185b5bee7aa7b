"""Unit tests of the cluster's replica of the room (pure code: no Redis, no event loop): what each
entry of the stream means for one node, including entries applied twice and entries no node
could have written."""

from __future__ import annotations

import random
import unittest
from typing import Any
from unittest import mock

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat import protocol
from algokart_chat.cluster import replica_profiles
from algokart_chat.cluster.entries import (
    Away,
    BadEntry,
    Batch,
    Entry,
    Join,
    Leave,
    Presence,
    User,
    broadcast_record,
    direct_record,
    sync_record,
)
from algokart_chat.cluster.replica import Replica
from algokart_chat.events import AwayChanged, Echoed, RoomEvent, Said, Told
from algokart_chat.names import username_key
from algokart_chat.room import JoinResult

NODE, OTHER = "web1-42-ab-1", "web2-77-cd-1"


class Member:
    """Records what it is delivered as the line protocol would send it."""

    __slots__ = ("got",)

    def __init__(self) -> None:
        self.got: list[bytes] = []

    def deliver(self, event: RoomEvent) -> None:
        self.got.append(event.encoded(protocol.wire))


class Recorder:
    """Records what it is delivered, as it is."""

    __slots__ = ("got",)

    def __init__(self) -> None:
        self.got: list[Any] = []

    def deliver(self, event: Any) -> None:
        self.got.append(event)


def said(sender: str, *texts: str) -> bytes:
    return broadcast_record(Said(sender, list(texts)))


class Audience:
    def __init__(self) -> None:
        self.heard: list[str] = []  # "departed <name>" and "announce", in order

    def departed(self, name: str, reason: str | None = None) -> None:
        self.heard.append(f"departed {name}" if reason is None else f"departed {name} ({reason})")

    def announce_departures(self) -> None:
        self.heard.append("announce")


class ReplicaTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.audience = Audience()
        self.replica: Replica[Member] = Replica(self.audience)
        self.replica.start(NODE, [User("carol", f"{OTHER}.1", False)])
        self.answers: list[JoinResult] = []

    def login(self, name: str, member: Any = None) -> Member:
        """A member of this node logged in as ``name`` (``member``, or a new ``Member``): its
        LOGIN, then its join read back."""
        made = Member() if member is None else member
        token = self.replica.expect_join(made, self.answers.append)
        self.assertTrue(self.replica.apply(Join(name, NODE, token)))
        self.assertEqual(self.answers[-1], "ok")
        return made


class RoomTest(ReplicaTestCase):
    def test_the_snapshot_then_the_joins_in_stream_order(self) -> None:
        self.replica.apply(Join("Zoë", OTHER, f"{OTHER}.2"))
        self.login("alice")
        self.assertEqual(self.replica.names(), ["carol", "Zoë", "alice"])
        self.assertTrue(self.replica.knows("ＣＡＲＯＬ"))  # ignoring case and width
        self.assertEqual(len(self.replica), 3)

    def test_a_login_is_answered_when_its_join_is_applied_after_older_departures(self) -> None:
        member = Member()
        token = self.replica.expect_join(member, self.answers.append)
        self.replica.apply(Leave("carol", f"{OTHER}.1"))
        self.assertEqual(self.answers, [])
        self.replica.apply(Join("alice", NODE, token))
        self.assertEqual(self.answers, ["ok"])
        self.assertEqual(self.audience.heard, ["departed carol", "announce"])
        self.assertEqual(self.replica.name_of(member), "alice")
        self.assertEqual(list(self.replica.members()), [member])

    def test_a_join_written_twice_is_applied_once(self) -> None:
        # (a node writes again what the master had not confirmed replicated when it failed over)
        listener = Member()
        token = self.replica.expect_join(listener, self.answers.append, True)
        self.replica.apply(Join("alice", NODE, token))
        self.replica.apply(Join("Zoë", OTHER, f"{OTHER}.2"))
        self.replica.apply(Join("carol", OTHER, f"{OTHER}.1"))
        self.replica.apply(Join("Zoë", OTHER, f"{OTHER}.2"))
        self.assertEqual(self.replica.names(), ["carol", "alice", "Zoë"])
        self.assertEqual(self.answers, ["ok"])
        self.assertEqual(len(listener.got), 1, "one arrival: Zoë's")

    def test_a_login_answered_without_its_join(self) -> None:
        token = self.replica.expect_join(Member(), self.answers.append)
        self.replica.answer(token, "taken")
        self.replica.answer(token, "unavailable")  # answered once
        self.assertEqual(self.answers, ["taken"])
        self.assertEqual(self.replica.names(), ["carol"])

    def test_an_invalid_name_in_a_join_is_a_bad_entry(self) -> None:
        for name in ("", "a b", "x" * 100):
            with self.subTest(name=name), self.assertRaises(BadEntry):
                self.replica.apply(Join(name, OTHER, f"{OTHER}.9"))
        self.assertEqual(self.replica.names(), ["carol"])


class LeaveTest(ReplicaTestCase):
    def test_a_departure_is_heard_once_however_often_it_is_written(self) -> None:
        changes = self.replica.changes
        for _ in range(3):  # e.g. every survivor retiring one dead node
            self.assertTrue(self.replica.apply(Leave("carol", f"{OTHER}.1")))
        self.assertEqual(self.audience.heard, ["departed carol"])
        self.assertEqual(self.replica.names(), [])
        self.assertEqual(self.replica.changes, changes + 1)

    def test_a_late_leave_of_an_old_login_leaves_the_new_owner_alone(self) -> None:
        self.replica.apply(Leave("carol", f"{OTHER}.1"))
        self.replica.apply(Join("Carol", OTHER, f"{OTHER}.5"))
        self.replica.apply(Leave("carol", f"{OTHER}.1"))
        self.assertEqual(self.replica.names(), ["Carol"])
        self.assertEqual(self.audience.heard, ["departed carol"])

    def test_a_released_member_s_leave_is_a_departure(self) -> None:
        member = self.login("alice")
        token = self.replica.release(member, "alice")
        self.assertIsNotNone(token)
        self.assertEqual(self.replica.names(), ["carol", "alice"])  # listed until the leave is read
        self.assertIsNone(self.replica.release(member, "alice"))
        assert token is not None
        self.assertTrue(self.replica.apply(Leave("alice", token)))
        self.assertEqual(self.audience.heard[-1], "departed alice")

    def test_the_leave_of_a_member_still_here_means_this_node_was_retired(self) -> None:
        member = Member()
        token = self.replica.expect_join(member, self.answers.append)
        self.replica.apply(Join("alice", NODE, token))
        self.assertFalse(self.replica.apply(Leave("alice", token)))
        self.assertNotIn("departed alice", self.audience.heard)

    def test_members_released_at_stop_leave_quietly(self) -> None:
        member = Member()
        token = self.replica.expect_join(member, self.answers.append)
        self.replica.apply(Join("alice", NODE, token))
        self.replica.release_all()
        self.assertTrue(self.replica.apply(Leave("alice", token)))


class ReasonAndAwayTest(ReplicaTestCase):
    def test_a_departure_comes_with_its_reason(self) -> None:
        self.replica.apply(Leave("carol", f"{OTHER}.1", "Quit: gone home"))
        self.assertEqual(self.audience.heard, ["departed carol (Quit: gone home)"])

    def test_away_messages_of_the_holder_reach_those_who_hear_arrivals_but_it(self) -> None:
        listener: Any = Recorder()
        token = self.replica.expect_join(listener, self.answers.append, True)
        self.replica.apply(Join("alice", NODE, token))
        self.replica.apply(Away("carol", f"{OTHER}.9", "not its login"))
        self.replica.apply(Away("carol", f"{OTHER}.1", "lunch"))
        self.replica.apply(Away("carol", f"{OTHER}.1", "lunch"))  # (no change: no news)
        self.replica.apply(Away("alice", token, "brb"))  # (its own: not told)
        self.assertEqual((self.replica.away("CAROL"), self.replica.away("alice")), ("lunch", "brb"))
        changes = [(event.name, event.away) for event in listener.got if isinstance(event, AwayChanged)]
        self.assertEqual(changes, [("carol", "lunch")])
        self.replica.apply(Leave("carol", f"{OTHER}.1"))
        self.assertIsNone(self.replica.away("carol"))

    def test_an_away_entry_read_by_an_older_node_changes_nothing(self) -> None:
        """An older node, which knows no ``a``, reads an away entry as a presence entry to where
        its user is already."""
        member = self.login("alice")
        changes = self.replica.changes
        self.replica.apply(Presence("carol", f"{OTHER}.1", True))
        self.assertEqual((self.replica.changes, self.replica.names(), member.got), (changes, ["carol", "alice"], []))


class BatchTest(ReplicaTestCase):
    def test_broadcasts_directs_and_syncs_reach_the_right_members_once(self) -> None:
        alice, bob = self.login("alice"), self.login("bob")
        synced: list[str] = []
        sync_token = self.replica.expect_sync(lambda: synced.append("mine"))
        data = (
            said("alice", "hi")
            + direct_record("BOB", Told("carol", "psst"))
            + said("carol", "all")
            + sync_record(sync_token)
        )
        for _ in range(2):  # the second time: sent again after a broken link
            self.replica.apply(Batch(NODE, 1, data))
        self.assertEqual(alice.got, [b"MSG carol all\n"])
        self.assertEqual(bob.got, [b"MSG alice hi\n", b"DM carol psst\n", b"MSG carol all\n"])
        self.assertEqual(synced, ["mine"])

    def test_messages_are_stamped_from_the_entry_and_echoed_to_their_sender_on_its_node(self) -> None:
        alice, bob = Recorder(), Recorder()
        self.login("alice", alice)  # (a member is anything with deliver)
        self.login("bob", bob)
        data = broadcast_record(Said("alice", ["hi"], ["hi"], "PRIVMSG"), echo=True) + direct_record(
            "bob", Told("alice", "psst", "psst", "PRIVMSG"), echo=True
        )
        self.replica.apply(Batch(NODE, 1, data, "1700000000123-0"))
        self.replica.apply(Batch(OTHER, 1, data.replace(b"alice", b"carol"), "1700000000456-0"))
        echo, told_echo = alice.got[:2]
        assert isinstance(echo, Echoed) and isinstance(told_echo, Echoed)
        said, told = bob.got[:2]
        self.assertIs(echo.event, said)  # (one event, shared)
        self.assertEqual((told_echo.event, told_echo.to), (told, "bob"))
        self.assertEqual([event.stamp.id for event in (said, told)], ["1700000000123-0-0", "1700000000123-0-1"])
        self.assertEqual(said.stamp.accepted_at, 1700000000.123)
        # Another node's carol asked for her echo: her node gives it, this one does not.
        self.assertEqual([type(event) for event in alice.got[2:]], [Said])
        self.assertEqual(bob.got[3].stamp.id, "1700000000456-0-1")

    def test_a_held_name_s_key_is_computed_at_its_join_not_per_record(self) -> None:
        alice, bob = self.login("alice"), self.login("bob")
        self.replica.apply(Join("dave", OTHER, f"{OTHER}.9", account="dave"))  # (accounts: the sender's looked up)
        records = b"".join(said(sender, "hi") for sender in ("alice", "carol", "dave") * 10)
        with mock.patch.object(replica_profiles, "username_key", wraps=username_key) as folded:
            self.replica.apply(Batch(OTHER, 1, records + direct_record("bob", Told("dave", "psst"))))
            self.assertEqual(folded.call_count, 0)
            self.replica.apply(Batch(OTHER, 2, direct_record("BOB", Told("dave", "psst"))))
            self.assertEqual(folded.call_args_list, [mock.call("BOB")])  # (not as its holder typed it)
        self.assertEqual(bob.got[0].count(b"\n"), 30)  # (the broadcasts together, then the direct messages)
        self.assertEqual(bob.got[1:], [b"DM dave psst\n"] * 2)
        self.assertEqual(len(alice.got), 20)  # (a sender gets the others' one by one)

    def test_batches_count_per_node(self) -> None:
        alice = self.login("alice")
        self.replica.apply(Batch(OTHER, 1, said("carol", "one")))
        self.replica.apply(Batch(NODE, 1, said("x", "two")))
        self.replica.apply(Batch(OTHER, 1, said("carol", "one again")))
        self.replica.apply(Batch(OTHER, 2, said("carol", "three")))
        self.assertEqual(alice.got, [b"MSG carol one\n", b"MSG x two\n", b"MSG carol three\n"])

    def test_another_node_s_sync_answers_nobody_here(self) -> None:
        synced: list[str] = []
        token = self.replica.expect_sync(lambda: synced.append("mine"))
        self.login("alice")
        self.replica.apply(Batch(OTHER, 1, sync_record(token)))
        self.assertEqual(synced, [])
        self.replica.synced(token)
        self.replica.synced(token)
        self.assertEqual(synced, ["mine"])

    def test_a_malformed_batch_is_a_bad_entry(self) -> None:
        self.login("alice")
        with self.assertRaises(BadEntry):
            self.replica.apply(Batch(OTHER, 1, b"*carol 99\nshort"))


class ResetTest(ReplicaTestCase):
    def test_clear_answers_every_waiting_login_and_ping(self) -> None:
        member = self.login("alice")
        self.replica.expect_join(Member(), self.answers.append)
        synced: list[str] = []
        self.replica.expect_sync(lambda: synced.append("released"))
        self.replica.clear()
        self.assertEqual(self.answers, ["ok", "unavailable"])
        self.assertEqual(synced, ["released"])
        self.assertEqual((self.replica.names(), list(self.replica.members())), ([], []))
        self.assertIsNone(self.replica.name_of(member))

    def test_a_new_start_forgets_the_batches_seen(self) -> None:
        """Rejoining after Redis lost its data: the other nodes' sequences start again at 1."""
        alice = self.login("alice")
        self.replica.apply(Batch(OTHER, 5, said("carol", "before")))
        self.replica.clear()  # this node left the cluster
        self.replica.start(f"{NODE}-2", [User("carol", f"{OTHER}.1", False)])
        self.assertEqual(self.replica.names(), ["carol"])
        self.assertTrue(self.replica.expect_sync(lambda: None).startswith(f"{NODE}-2."))
        bob = self.login("bob")
        self.replica.apply(Batch(OTHER, 1, said("carol", "after")))
        self.assertEqual((alice.got, bob.got), ([b"MSG carol before\n"], [b"MSG carol after\n"]))


class RandomStreamTest(unittest.TestCase):
    def test_any_stream_keeps_the_replica_consistent(self) -> None:
        """Random joins, leaves (of current, old and unknown logins) and batches from three nodes:
        every departure is heard once, names stay unique, and nothing fails but BadEntry."""
        chooser = random.Random(5)
        for _ in range(200):
            audience = Audience()
            replica: Replica[Member] = Replica(audience)
            replica.start(NODE, [])
            holders: dict[str, str] = {}  # what the stream says: name key -> token
            departures = 0
            for step in range(60):
                name = chooser.choice(["alice", "Alice", "bob", "zoë", "bad name"])
                node = chooser.choice([OTHER, "web3-1-ef-1", NODE])
                roll = chooser.random()
                entry: Entry
                if roll < 0.3:
                    entry = Join(name, node, f"{node}.{step}")
                elif roll < 0.4:  # (a rename of a name held, or of one that is not)
                    old = chooser.choice(["alice", "Alice", "bob", "zoë"])
                    old_token = holders.get(old.lower(), f"{node}.0")
                    entry = Join(name, node, f"{node}.{step}", renamed=(old, old_token))
                elif roll < 0.8:
                    token = holders.get(name.lower()) if chooser.random() < 0.7 else f"{node}.0"
                    entry = Leave(name, token or f"{node}.0")
                else:
                    entry = Batch(node, chooser.randint(1, 5), said(name, "x")[: chooser.randint(0, 12)])
                try:
                    self.assertTrue(replica.apply(entry))  # no member here: never retired
                except BadEntry:
                    continue
                if isinstance(entry, Join):
                    if entry.renamed is not None and holders.get(entry.renamed[0].lower()) == entry.renamed[1]:
                        del holders[entry.renamed[0].lower()]
                    holders[name.lower()] = entry.token
                elif isinstance(entry, Leave) and holders.get(name.lower()) == entry.token:
                    del holders[name.lower()]
                    departures += 1
            self.assertEqual(len(audience.heard), departures)
            self.assertEqual(sorted(name.lower() for name in replica.names()), sorted(holders))
            # The keys kept are those of the names held, no more (bounded, as the names are).
            self.assertEqual(sorted(replica._keys), sorted(replica.names()))


if __name__ == "__main__":
    unittest.main()
