"""The cluster's Lua scripts (``cluster.scripts``) on a real redis-server (skipped without one, as
the cluster tests are): what each script checks and writes, on its own.  The scripts as the room
uses them: test_cluster and test_room_contract."""

from __future__ import annotations

import unittest
from typing import cast

from support import RedisServer, skip_without_cluster

from algokart_chat.cluster.entries import Keys, Moderate, decode_entry
from algokart_chat.cluster.scripts import MODERATE
from algokart_chat.moderation import Change, Entry, change_json, parse_target, setting
from test_moderation_shared import SIX


class ModerateScriptTest(unittest.TestCase):
    """The MODERATE script on a real redis-server: the hash and the entry change together."""

    def test_set_lift_kick_and_a_full_list_that_drops_ended_entries(self) -> None:
        skip_without_cluster()
        redis = RedisServer()
        self.addCleanup(redis.stop)
        client = redis.client()
        keys = Keys("m")
        client.set(keys.epoch, "e1")
        script = client.register_script(MODERATE)

        def moderate(change: Change, most: int = 2, epoch: str = "e1") -> bytes:
            hash_key = keys.bans if change.kind == "ban" else keys.mutes
            args = [epoch, "n1", "0-0", change.action, change.target.key, change_json(change), most]
            return cast(bytes, script(keys=[keys.epoch, keys.events, hash_key], args=args))

        ended = Entry("ban", parse_target("old"), "olga", 0.0, "", 1.0)  # type: ignore[arg-type]
        current = Entry("ban", parse_target("Troll"), "olga", 0.0, "", None)  # type: ignore[arg-type]
        self.assertEqual(moderate(setting(ended)), b"ok")
        self.assertEqual(moderate(setting(current)), b"ok")
        self.assertEqual(moderate(setting(SIX)), b"ok")  # (full: the ended one made room)
        self.assertEqual(moderate(setting(current)), b"ok")  # (its target has one already)
        permanent = Entry("ban", parse_target("third"), "olga", 0.0, "", None)  # type: ignore[arg-type]
        self.assertEqual(moderate(setting(permanent)), b"full")
        self.assertEqual(sorted(client.hkeys(keys.bans)), [b"2001:db8::1/128", b"troll"])
        lift = Change("lift", "ban", current.target, "oscar")
        self.assertEqual((moderate(lift), moderate(lift)), (b"ok", b"none"))
        self.assertEqual(moderate(Change("kick", "ban", current.target, "olga", "out")), b"ok")
        self.assertEqual(moderate(setting(current), epoch="e0"), b"reset")
        written = [decode_entry(entry_fields, entry_id) for entry_id, entry_fields in client.xrange(keys.events)]
        self.assertEqual(
            [entry.change.action for entry in written if isinstance(entry, Moderate)],
            ["set", "set", "set", "set", "lift", "kick"],
        )
        self.assertEqual(client.hkeys(keys.bans), [b"2001:db8::1/128"])


if __name__ == "__main__":
    unittest.main()
