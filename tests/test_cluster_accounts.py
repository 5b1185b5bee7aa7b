"""Accounts across the nodes of a cluster (docs/CLUSTER.md, *Accounts*): the join entry's ``a``
field and the users hash's `` a=`` (old entries and records still read), the replica putting the
account on the arrivals and messages it builds, and, end to end, two nodes on one Redis with the
same accounts file: an IRC client on one node sees the account of a line user logged in with a
password on the other (account-tag, extended-join, WHOIS 330).
"""

from __future__ import annotations

import unittest

from support import Cluster, skip_without_cluster

from algokart_chat.cluster.entries import (
    BadEntry,
    Batch,
    Join,
    Leave,
    Presence,
    User,
    broadcast_record,
    decode_entry,
    direct_record,
    join_fields,
)
from algokart_chat.cluster.replica import Replica
from algokart_chat.events import Arrived, Said, Told
from test_accounts_login import accounts_file, new_folder, password_of
from test_cluster_replica import Audience, Recorder
from test_irc import IRC_ARGS, SERVER_NAME, mask
from test_irc_accounts import NAMES, IrcAccountsTestCase
from test_irc_caps_end_to_end import with_caps

NODE, OTHER = "web1-42-ab-1", "web2-77-cd-1"


class JoinEntryTest(unittest.TestCase):
    def test_a_join_carries_its_account_in_a(self) -> None:
        fields = {b"t": b"j", b"n": b"Alice", b"o": OTHER.encode(), b"c": b"t1", b"a": b"alice"}
        self.assertEqual(decode_entry(fields), Join("Alice", OTHER, "t1", account="alice"))
        self.assertEqual(join_fields("Alice", OTHER, "t1", True, None, "alice"), ["h", "1", "a", "alice"])

    def test_a_join_without_a_has_no_account(self) -> None:
        fields = {b"t": b"j", b"n": b"bob", b"o": OTHER.encode(), b"c": b"t2", b"h": b"1"}
        self.assertIsNone(decode_entry(fields).account)  # type: ignore[union-attr]
        self.assertEqual(join_fields("bob", OTHER, "t2", False, None), [])

    def test_an_empty_account_is_a_bad_entry(self) -> None:
        with self.assertRaises(BadEntry):
            decode_entry({b"t": b"j", b"n": b"bob", b"o": OTHER.encode(), b"c": b"t2", b"a": b""})


class SnapshotTest(unittest.TestCase):
    def test_user_records_with_and_without_an_account(self) -> None:
        from cluster_fakes import require_redis_py

        require_redis_py()
        from algokart_chat.cluster.lease import snapshot_users

        values = [b"5-0 n1 t3 Carol a=carol h", b"3-1 n2 t1 alice a=alice", b"4-0 n1 t2 bob", b"6-0 n1 t4 h"]
        self.assertEqual(
            snapshot_users(values),
            [User("alice", "t1", False, "alice"), User("bob", "t2", False), User("Carol", "t3", True, "carol")]
            + [User("h", "t4", False)],
        )
        with self.assertLogs("algokart_chat.cluster.lease", "WARNING") as logs:
            users = snapshot_users([b"3-1 n2 t1 alice a=", b"4-0 n1 t2 bob x h", b"5-0 n1 t3 cy a=cy a=cy"])
        self.assertEqual((users, len(logs.output)), ([], 3))


def batch(sequence: int, *records: bytes, node: str = OTHER) -> Batch:
    return Batch(node, sequence, b"".join(records), f"{1000 + sequence}-0")


class ReplicaTest(unittest.TestCase):
    def setUp(self) -> None:
        self.replica: Replica[Recorder] = Replica(Audience())
        self.replica.start(NODE, [User("carol", f"{OTHER}.1", False, "carol"), User("guest", f"{OTHER}.2", False)])
        self.me = Recorder()
        self.replica.expect_join(self.me, lambda result: None, hears_arrivals=True)
        self.replica.apply(Join("me", NODE, f"{NODE}.1"))

    def test_the_snapshot_and_joins_give_account_of(self) -> None:
        self.replica.apply(Join("Alice", OTHER, f"{OTHER}.3", account="alice"))
        self.assertEqual(
            [self.replica.account_of(name) for name in ("CAROL", "guest", "alice", "me")],
            [
                "carol",
                None,
                "alice",
                None,
            ],
        )
        arrival = self.me.got[-1]
        assert isinstance(arrival, Arrived)
        self.assertEqual((arrival.name, arrival.account), ("Alice", "alice"))

    def test_messages_carry_their_senders_account(self) -> None:
        self.replica.apply(
            batch(
                1,
                broadcast_record(Said("carol", ["hi"])),
                broadcast_record(Said("guest", ["yo"])),
                direct_record("me", Told("carol", "psst", "psst", "PRIVMSG")),
            )
        )
        events = [part for got in self.me.got for part in getattr(got, "parts", [got])]
        self.assertEqual(
            [(type(event).__name__, event.account) for event in events if isinstance(event, (Said, Told))],
            [("Said", "carol"), ("Said", None), ("Told", "carol")],
        )

    def test_a_rename_keeps_the_account_the_join_carries_and_a_leave_forgets_it(self) -> None:
        self.replica.apply(Join("Carla", OTHER, f"{OTHER}.4", renamed=("carol", f"{OTHER}.1"), account="carol"))
        self.assertEqual((self.replica.account_of("carol"), self.replica.account_of("Carla")), (None, "carol"))
        self.replica.apply(Leave("Carla", f"{OTHER}.4"))
        self.assertIsNone(self.replica.account_of("Carla"))
        self.replica.apply(Join("carla", OTHER, f"{OTHER}.5"))  # (a guest takes the name now)
        self.assertIsNone(self.replica.account_of("Carla"))

    def test_a_shown_nick_arrives_with_its_account(self) -> None:
        self.replica.apply(Join("nick", OTHER, f"{OTHER}.6", hidden=True, account="nick"))
        self.replica.apply(Presence("nick", f"{OTHER}.6", True))
        arrival = self.me.got[-1]
        assert isinstance(arrival, Arrived)
        self.assertEqual(arrival.account, "nick")

    def test_an_account_that_is_no_valid_name_is_ignored(self) -> None:
        self.replica.apply(Join("dan", OTHER, f"{OTHER}.7", account="no\x00name"))
        self.assertTrue(self.replica.knows("dan"))
        self.assertIsNone(self.replica.account_of("dan"))


def same_accounts_on(test: unittest.TestCase, nodes: int) -> Cluster:
    """A cluster of ``nodes`` nodes on one Redis, all reading one accounts file (NAMES), with IRC."""
    skip_without_cluster()
    return Cluster(nodes, "--accounts", str(accounts_file(new_folder(test), *NAMES)), *IRC_ARGS)


class TwoNodesTest(IrcAccountsTestCase):
    flags = None

    def test_an_irc_client_on_one_node_sees_the_account_of_a_line_user_of_the_other(self) -> None:
        with same_accounts_on(self, 2) as cluster:
            a, b = cluster.nodes
            watcher = with_caps(self.irc(server=b), "account-tag extended-join")
            line = self.connect(server=a)
            line.send(f"LOGIN CAROL {password_of('carol')}", "MSG hi from A")
            line.expect("OK")
            line.sync()
            guest = self.connect(server=a)
            guest.send("LOGIN someguest", "MSG a guest")
            guest.expect("OK")
            guest.sync()
            self.assertEqual(
                watcher.sync(),
                [
                    f"@account=carol :{mask('CAROL')} JOIN #chat carol :CAROL",
                    f"@account=carol :{mask('CAROL')} PRIVMSG #chat :hi from A",
                    f":{mask('someguest')} JOIN #chat * :someguest",
                    f":{mask('someguest')} PRIVMSG #chat :a guest",
                ],
            )
            line.send(f"DM {watcher.nick} psst")
            line.sync()
            self.assertEqual(watcher.sync(), [f"@account=carol :{mask('CAROL')} PRIVMSG {watcher.nick} :psst"])
            watcher.send("WHOIS carol")
            self.assertIn(
                f":{SERVER_NAME} 330 {watcher.nick} CAROL carol :is logged in as", watcher.read_until(" 318 ")
            )
            watcher.send("WHOIS someguest")
            self.assertNotIn(" 330 ", " ".join(watcher.read_until(" 318 ")))
            # A node that joins later learns the account from Redis's users hash, not the stream.
            c = cluster.start_node()
            late = self.irc(server=c)
            late.register()
            late.send("WHOIS carol")
            self.assertIn(f":{SERVER_NAME} 330 {late.nick} CAROL carol :is logged in as", late.read_until(" 318 "))


if __name__ == "__main__":
    unittest.main()
