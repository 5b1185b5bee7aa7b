"""moderation: targets, durations, the lists (matching, expiry, bounds) and the file's lines."""

from __future__ import annotations

import unittest
from unittest import mock

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat import moderation
from algokart_chat.moderation import (
    Entry,
    Lists,
    ModerationFormatError,
    format_entries,
    format_time,
    parse_duration,
    parse_entries,
    parse_target,
)
from algokart_chat.names import username_key


def entry(kind: moderation.Kind, target: str, until: float | None = None, reason: str = "") -> Entry:
    found = parse_target(target)
    assert found is not None
    return Entry(kind, found, "olga", 100.0, reason, until)


class TargetTest(unittest.TestCase):
    def test_names_by_their_key(self) -> None:
        bob, b0b = parse_target("bob"), parse_target("B0B")
        assert bob is not None and b0b is not None
        self.assertEqual(bob.key, b0b.key)
        self.assertEqual(b0b.text, "B0B")
        self.assertIsNone(bob.network)

    def test_addresses_and_networks(self) -> None:
        cases = {
            "203.0.113.7": "203.0.113.7/32",
            "203.0.113.7/24": "203.0.113.0/24",
            "2001:db8::7": "2001:db8::/64",
            "2001:db8::7/48": "2001:db8::/48",
            "::ffff:203.0.113.7": "203.0.113.7/32",
        }
        for text, key in cases.items():
            with self.subTest(text=text):
                target = parse_target(text)
                assert target is not None
                self.assertEqual(target.key, key)
        self.assertEqual(parse_target("2001:db8::7", ipv6_prefix=128).key, "2001:db8::7/128")  # type: ignore[union-attr]
        self.assertEqual(parse_target("203.0.113.7").text, "203.0.113.7")  # type: ignore[union-attr]

    def test_neither(self) -> None:
        for text in ("", "a b", "1.2.3.4/33", "300.1.1.1", "!!", "x" * 33, "::/129"):
            with self.subTest(text=text):
                self.assertIsNone(parse_target(text))


class DurationTest(unittest.TestCase):
    def test_units(self) -> None:
        self.assertEqual(
            [parse_duration(t) for t in ("90s", "30m", "12h", "7d", "2w")], [90, 1800, 43200, 604800, 1209600]
        )

    def test_not_durations(self) -> None:
        for text in ("", "0m", "5", "m", "1.5h", "-1h", "5y", "3651d", "1H", "９m"):
            with self.subTest(text=text):
                self.assertIsNone(parse_duration(text))

    def test_times(self) -> None:
        self.assertEqual(format_time(0), "1970-01-01T00:00:00Z")
        self.assertEqual(format_time(None), "never")


class ListsTest(unittest.TestCase):
    def test_a_name_ban_and_its_end(self) -> None:
        lists = Lists([entry("ban", "bob", until=200.0)])
        self.assertIsNotNone(lists.for_name("ban", "BOB", 150.0))
        self.assertIsNone(lists.for_name("ban", "bob", 200.0))
        self.assertIsNone(lists.for_name("mute", "bob", 150.0))
        self.assertEqual(len(lists.expire(200.0)), 1)
        self.assertFalse(lists.has("ban"))

    def test_a_name_by_its_key(self) -> None:
        lists = Lists([entry("mute", "bob", until=200.0)])
        self.assertIsNotNone(lists.for_key("mute", username_key("B0B"), 150.0))
        self.assertIsNone(lists.for_key("mute", username_key("bob"), 200.0))
        self.assertIsNone(lists.for_key("ban", username_key("bob"), 150.0))

    def test_address_bans_by_network(self) -> None:
        lists = Lists([entry("ban", "2001:db8::1"), entry("ban", "198.51.100.0/24"), entry("ban", "203.0.113.9")])
        for host, banned in (
            ("2001:db8::ffff:1", True),
            ("2001:db8:0:1::1", False),
            ("198.51.100.200", True),
            ("::ffff:198.51.100.1", True),
            ("198.51.101.1", False),
            ("203.0.113.9", True),
            ("203.0.113.10", False),
            ("", False),
            ("not an address", False),
        ):
            with self.subTest(host=host):
                self.assertEqual(lists.for_address("ban", host, 0.0) is not None, banned)
        lists.remove("ban", parse_target("198.51.100.0/24"))  # type: ignore[arg-type]
        self.assertIsNone(lists.for_address("ban", "198.51.100.200", 0.0))
        self.assertIsNotNone(lists.matching("ban", "nobody", "203.0.113.9", 0.0))

    def test_again_replaces_and_the_lists_are_bounded(self) -> None:
        lists = Lists()
        self.assertTrue(lists.add(entry("mute", "bob", reason="one")))
        self.assertTrue(lists.add(entry("mute", "B0B", reason="two")))
        self.assertEqual([e.reason for e in lists], ["two"])
        with mock.patch.object(moderation, "MAX_ENTRIES", 2):
            self.assertTrue(lists.add(entry("mute", "carol")))
            self.assertFalse(lists.add(entry("mute", "dave")))
            self.assertTrue(lists.add(entry("mute", "carol", reason="again")))  # (a replacement fits)
            self.assertTrue(lists.add(entry("ban", "dave")))


class FileLinesTest(unittest.TestCase):
    def test_round_trip(self) -> None:
        entries = [entry("ban", "2001:db8::7", 500.0, "scanning"), entry("mute", "Zoë", None, "ça suffit")]
        text = format_entries(entries)
        self.assertTrue(text.startswith("# "))
        self.assertEqual(parse_entries(text), entries)

    def test_bad_lines_name_their_number(self) -> None:
        for line in (
            "{",
            "[]",
            '{"kind": "ban"}',
            '{"kind": "x", "target": "bob", "by": "o", "at": 1, "reason": "", "until": null}',
            '{"kind": "ban", "target": "!!", "by": "o", "at": 1, "reason": "", "until": null}',
            '{"kind": "ban", "target": "bob", "by": "o", "at": "1", "reason": "", "until": null}',
            '{"kind": "ban", "target": "bob", "by": 5, "at": 1, "reason": "", "until": null}',
        ):
            with self.subTest(line=line), self.assertRaisesRegex(ModerationFormatError, r"^line 3: "):
                parse_entries(f"# header\n\n{line}\n")


if __name__ == "__main__":
    unittest.main()
