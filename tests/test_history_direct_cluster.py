"""End-to-end: direct messages in history in cluster mode (docs/CLUSTER.md, *History*): a DM
between two accounts sent on node A is recovered on node B by its recipient with the same id, a
node started later reads it back from the stream, and nobody else ever sees it."""

from __future__ import annotations

import unittest

from support import Client, ServerProcess

from algokart_chat.cluster.entries import (
    Batch,
    batch_fields,
    broadcast_record,
    decode_entry,
    direct_accounts,
    direct_line,
    direct_record,
)
from algokart_chat.cluster.replica import Replica
from algokart_chat.events import Said, Told
from algokart_chat.history import History
from test_accounts_login import password_of
from test_cluster_accounts import same_accounts_on
from test_history_direct_end_to_end import directs
from test_history_end_to_end import read_history
from test_irc_accounts import IrcAccountsTestCase


class Audience:
    def departed(self, name: str, reason: str | None = None) -> None:
        pass

    def announce_departures(self) -> None:
        pass


class BatchAccountsTest(unittest.TestCase):
    def test_the_field_is_written_only_with_direct_messages_to_keep_and_read_leniently(self) -> None:
        self.assertNotIn("a", batch_fields("n1", 1, b"x"))
        fields = batch_fields("n1", 1, b"x", direct_line(1, "alice", "bob") + b"\n" + direct_line(3, "Zoë", "bob"))
        raw = {
            key.encode(): value if isinstance(value, bytes) else str(value).encode() for key, value in fields.items()
        }
        batch = decode_entry(raw, b"5-0")
        assert isinstance(batch, Batch)
        self.assertEqual(direct_accounts(batch.directs), {1: ("alice", "bob"), 3: ("Zoë", "bob")})
        self.assertEqual(direct_accounts(b"x alice bob\n2 alice\n\n4 a b c\n5 \xff b"), {})

    def test_every_node_keeps_what_the_field_names_even_with_nobody_there(self) -> None:
        history = History(100, 1 << 20, 3600)
        replica: Replica[object] = Replica(Audience(), history)  # type: ignore[type-var]
        replica.start("n2", [])
        data = (
            broadcast_record(Said("alice", ["hi"]))
            + direct_record("bob", Told("alice", "kept"))
            + direct_record("bob", Told("alice", "not named"))
            + direct_record("eve", Told("alice", "bad account"))
        )
        replica.apply(Batch("n1", 1, data, "7-0", b"1 alice bob\n3 alice x!y"))
        kept = list(history.entries())
        self.assertEqual([entry.text for entry in kept], ["hi", "kept"])
        self.assertEqual(
            (kept[1].id, kept[1].to, kept[1].from_account, kept[1].to_account), ("7-0-1", "bob", "alice", "bob")
        )
        replica.apply(Batch("n1", 2, direct_record("bob", Told("alice", "old node")), "8-0"))
        self.assertEqual(len(history), 2)  # (a batch without the field keeps no direct message)


class ClusterDirectHistoryTest(IrcAccountsTestCase):
    flags = None

    def account(self, name: str, server: ServerProcess) -> Client:
        client = self.connect(server=server)
        client.send(f"LOGIN {name} {password_of(name)}")
        client.expect("OK")
        return client

    def test_a_dm_sent_on_one_node_is_recovered_on_the_other_with_the_same_id(self) -> None:
        with same_accounts_on(self, 2) as cluster:
            a, b = cluster.nodes
            alice, bob = self.account("alice", a), self.account("bob", b)
            carol = self.account("carol", b)
            bob.send("IDS ON")
            bob.expect("OK")
            alice.send("MSG before")
            seen = bob.read_line()
            self.assertRegex(seen, r"^@\d+-\d+-0 MSG alice before$")
            carol.expect("MSG alice before")
            alice.send("DM bob psst")  # (delivered, but never read: lost in flight)
            alice.sync()
            bob.close()
            for other in (alice, carol):
                other.expect("INFO bob disconnected")
            back = self.account("bob", b)
            back.send(f"HISTORY AFTER {seen.split()[0][1:]}")
            lines, end = read_history(back)
            self.assertEqual((directs(lines), end), ([("alice", "bob", "psst")], "HISTORY-END complete 1"))
            alice.send("HISTORY 1")  # the same id on the node it was sent from
            self.assertEqual(read_history(alice), (lines, "HISTORY-END more 1"))
            carol.send("HISTORY 10")
            self.assertEqual(directs(read_history(carol)[0]), [])
            # a node started later reads it back from the stream, with its accounts
            late = cluster.start_node()
            late.wait_for_log("Read 2 messages of history back from the stream")
            dave = self.account("dave", late)
            dave.send("HISTORY 10")
            self.assertEqual(directs(read_history(dave)[0]), [])
            bob_late = self.connect(server=late)
            back.close()
            carol.expect("INFO bob disconnected")
            bob_late.send(f"LOGIN bob {password_of('bob')}")
            bob_late.expect("OK")
            bob_late.send("HISTORY 10")
            self.assertEqual(read_history(bob_late)[0][-1], lines[0])
