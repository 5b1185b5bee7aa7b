"""Unit tests of moderation shared by a cluster (no Redis needed): a change's JSON
(``moderation.change_json``), the stream's moderate entry (``cluster.entries``), the replica
handing it on in its place (``cluster.replica``), the snapshot's lists (``cluster.room_redis``),
``Moderators`` sharing its actions, applying what comes back and loading the cluster's lists.  The
MODERATE script on a real redis-server: test_cluster_scripts."""

from __future__ import annotations

import unittest

from algokart_chat.bans_file import load_entries
from algokart_chat.cluster.entries import BadEntry, Join, Keys, Moderate, decode_entry
from algokart_chat.cluster.replica import Replica
from algokart_chat.cluster.room_redis import moderation_snapshot
from algokart_chat.moderation import (
    Change,
    Entry,
    ModerationFormatError,
    change_json,
    entry_json,
    parse_change,
    parse_target,
    setting,
)
from algokart_chat.moderators import Matcher, Moderators
from test_accounts_login import new_folder
from test_cluster_replica import Audience, Member

BAN = Entry("ban", parse_target("Troll"), "olga", 1000.0, "spam", 4600.0)  # type: ignore[arg-type]
SIX = Entry("ban", parse_target("2001:db8::1/128"), "olga", 1000.0, "", None)  # type: ignore[arg-type]


def fields(change: Change, node: str = "web1-1") -> dict[bytes, bytes]:
    return {b"t": b"x", b"a": change.action.encode(), b"o": node.encode(), b"d": change_json(change).encode()}


class ChangeTest(unittest.TestCase):
    def test_every_change_reads_back_as_written(self) -> None:
        kick = Change("kick", "ban", parse_target("Bob"), "olga", "enough")  # type: ignore[arg-type]
        lift = Change("lift", "mute", parse_target("Bob"), "oscar")  # type: ignore[arg-type]
        for change in (setting(BAN), setting(SIX), kick, lift):
            self.assertEqual(parse_change(change.action, change_json(change)), change)

    def test_an_address_travels_as_its_exact_network_whatever_the_ipv6_prefix(self) -> None:
        self.assertIn('"2001:db8::1/128"', entry_json(SIX))
        target = parse_change("set", entry_json(SIX)).target
        self.assertEqual((target.key, target.network.prefixlen if target.network else 0), ("2001:db8::1/128", 128))

    def test_what_no_node_writes_is_refused(self) -> None:
        for action, text in [
            ("ban", entry_json(BAN)),
            ("set", "{"),
            ("set", '{"kind": "ban"}'),
            ("lift", '{"kind": "gag", "target": "bob", "by": "o", "reason": ""}'),
            ("lift", '{"kind": "ban", "target": "!!", "by": "o", "reason": ""}'),
            ("kick", '{"kind": "ban", "target": "10.0.0.1", "by": "o", "reason": ""}'),
            ("kick", "[]"),
        ]:
            with self.subTest(action=action, text=text), self.assertRaises(ModerationFormatError):
                parse_change(action, text)


class EntryTest(unittest.TestCase):
    def test_keys_of_the_lists_share_the_cluster_s_slot(self) -> None:
        keys = Keys("c")
        self.assertEqual((keys.bans, keys.mutes), ("{c}:bans", "{c}:mutes"))

    def test_a_moderate_entry_decodes_to_its_node_and_change(self) -> None:
        self.assertEqual(decode_entry(fields(setting(BAN))), Moderate("web1-1", setting(BAN)))

    def test_a_malformed_moderate_entry_is_a_bad_entry(self) -> None:
        good = fields(setting(BAN))
        for broken in (
            {**good, b"a": b"nuke"},
            {**good, b"d": b"not json"},
            {**good, b"d": b"\xff"},
            {key: value for key, value in good.items() if key != b"o"},
            {key: value for key, value in good.items() if key != b"d"},
        ):
            with self.subTest(broken=broken), self.assertRaises(BadEntry):
                decode_entry(broken)


class ReplicaTest(unittest.TestCase):
    def test_a_moderate_entry_goes_to_the_server_in_its_place(self) -> None:
        heard: list[object] = []
        replica: Replica[Member] = Replica(Audience(), None, heard.append)
        replica.start("web1-1", [])
        self.assertTrue(replica.apply(Join("bob", "web2-1", "t1")))
        self.assertTrue(replica.apply(Moderate("web2-1", setting(BAN))))
        self.assertEqual(heard, [setting(BAN)])
        self.assertTrue(Replica(Audience()).apply(Moderate("web2-1", setting(BAN))))  # (nobody to tell)

    def test_the_snapshot_s_lists_skip_what_is_malformed(self) -> None:
        values = [entry_json(BAN).encode(), b"{", b"\xff", entry_json(SIX).encode()]
        with self.assertLogs("algokart_chat.cluster.room_redis", "WARNING") as logs:
            self.assertEqual(moderation_snapshot(values), [BAN, SIX])
        self.assertEqual(len(logs.records), 2)


class SharedModeratorsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.path = new_folder(self) / "bans"
        self.now = 2000.0
        self.moderators = Moderators(str(self.path), 64, node="n1", clock=lambda: self.now)
        self.moderators.disconnect = self.disconnect
        self.shared: list[Change] = []
        self.moderators.share = self.share
        self.closed: list[tuple[str, str]] = []

    def share(self, change: Change) -> bool:
        self.shared.append(change)
        return True

    def disconnect(self, match: Matcher, reason: str) -> list[str]:
        hit = [name for name, host in (("troll", "203.0.113.5"), ("olga", "203.0.113.6")) if match(name, host)]
        self.closed += [(name, reason) for name in hit]
        return hit

    def test_actions_are_shared_not_applied_until_they_come_back(self) -> None:
        target = parse_target("troll")
        assert target is not None
        with self.assertLogs("algokart_chat.moderators", "INFO"):  # (the audit line: here, once)
            entry = self.moderators.set("ban", target, "olga", 60.0, "spam")
            self.assertEqual(self.moderators.kick("olga", "troll", "out"), ["troll"])
        assert entry is not None
        self.assertEqual([change.action for change in self.shared], ["set", "kick"])
        self.assertIsNone(self.moderators.ban_for("troll", "203.0.113.5"))
        self.assertEqual(self.closed, [])
        self.moderators.apply(self.shared[0])
        self.assertEqual(self.moderators.ban_for("troll", "203.0.113.5"), entry)
        self.assertEqual(self.closed, [("troll", f"banned {entry.describe()}")])
        self.assertEqual(load_entries(str(self.path), self.now, 64), [entry])  # (this node's copy)
        self.moderators.apply(self.shared[1])
        self.assertEqual(self.closed[-1], ("troll", "kicked by olga: out"))
        with self.assertLogs("algokart_chat.moderators", "INFO"):
            self.assertEqual(self.moderators.lift("ban", target, "oscar"), entry)
        self.assertIsNotNone(self.moderators.ban_for("troll", ""))
        self.moderators.apply(self.shared[-1])
        self.assertIsNone(self.moderators.ban_for("troll", ""))
        self.assertEqual(load_entries(str(self.path), self.now, 64), [])

    def test_an_ended_ban_that_arrives_late_disconnects_nobody(self) -> None:
        self.now = 5000.0  # (every node expires by the entry's own end, with its own clock)
        self.moderators.apply(setting(Entry("ban", BAN.target, "olga", 1000.0, "", 4000.0)))
        self.assertEqual(self.closed, [])
        self.assertIsNone(self.moderators.ban_for("troll", ""))

    def test_loading_replaces_the_lists_and_the_file_and_a_fresh_cluster_gets_them(self) -> None:
        self.moderators.apply(setting(BAN))
        self.moderators.load([SIX], fresh=False)
        self.assertEqual(list(self.moderators.lists), [SIX])
        self.assertEqual(load_entries(str(self.path), self.now, 64), [SIX])
        self.moderators.load([], fresh=True)
        self.assertEqual(self.shared, [setting(SIX)])
        self.assertEqual(list(self.moderators.lists), [SIX])
