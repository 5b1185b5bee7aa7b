"""Unit tests of the cluster's stream entries (pure code: no Redis needed): what nodes write
decodes to what they meant, and nothing read from Redis can make decoding fail otherwise than
with BadEntry."""

from __future__ import annotations

import contextlib
import random
import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.cluster.entries import (
    BROADCAST,
    DIRECT,
    IRC_BROADCAST,
    IRC_DIRECT,
    SYNC,
    Away,
    BadEntry,
    Batch,
    Join,
    Keys,
    Leave,
    Presence,
    Record,
    broadcast_record,
    decode_entry,
    direct_record,
    is_valid_cluster_name,
    record,
    records,
    stamp,
    sync_record,
)
from algokart_chat.events import MessageId, Said, Stamp, Told


class KeysTest(unittest.TestCase):
    def test_every_key_shares_the_cluster_s_hash_tag(self) -> None:
        keys = Keys("chat-1")
        for key in (keys.epoch, keys.events, keys.users, keys.nodes, keys.node_users("web1-42-ab-1")):
            self.assertTrue(key.startswith("{chat-1}:"), key)

    def test_cluster_names(self) -> None:
        for good in ("algokart", "chat.eu-1", "A_b"):
            self.assertTrue(is_valid_cluster_name(good), good)
        for bad in ("", "a b", "{x}", "x" * 65, "é"):
            self.assertFalse(is_valid_cluster_name(bad), bad)


class RecordTest(unittest.TestCase):
    def test_records_come_back_in_order_payloads_untouched(self) -> None:
        payloads = [b"hi\ntwo", b"alice\n\xe2\x9c\x93 12 ", b""]
        data = record(BROADCAST, "alice", payloads[0]) + record(DIRECT, "Zoë", payloads[1]) + record(SYNC, "n-1.7")
        self.assertEqual(
            records(data),
            [Record(BROADCAST, "alice", payloads[0]), Record(DIRECT, "Zoë", payloads[1]), Record(SYNC, "n-1.7", b"")],
        )

    def test_records_carry_room_events_as_text(self) -> None:
        data = (
            broadcast_record(Said("alice", ["hi", "two  spaces "]))
            + direct_record("Zoë", Told("alice", "✓ 12"))
            + sync_record("n-1.7")
        )
        said, told, synced = records(data)
        self.assertEqual(data[:14], b"*alice 15\nhi\nt")
        said_event, told_event = said.event(), told.event()
        assert isinstance(said_event, Said) and isinstance(told_event, Told)
        self.assertEqual((said_event.sender, said_event.texts), ("alice", ["hi", "two  spaces "]))
        self.assertEqual((told.name, told_event.sender, told_event.text), ("Zoë", "alice", "✓ 12"))
        self.assertEqual(synced, Record(SYNC, "n-1.7", b""))

    def test_irc_records_carry_their_command_echo_and_client_only_tags(self) -> None:
        raws = ["\x01ACTION waves\x01", "plain"]
        data = (
            broadcast_record(Said("alice", ["* waves", None], raws, "NOTICE", "+a=b\\sc;+typing"), echo=True)
            + broadcast_record(Said("alice", [], [], "TAGMSG", "+typing=active"))
            + direct_record("bob", Told("alice", None, "", "TAGMSG", "+draft/react=x"), echo=True)
            + direct_record("bob", Told("alice", "hi", "hi", "PRIVMSG"))
        )
        found = [item.message() for item in records(data)]
        self.assertEqual([message.echo for message in found], [True, False, True, False])
        said, tagged, react, plain = (message.event for message in found)
        assert (
            isinstance(said, Said) and isinstance(tagged, Said) and isinstance(react, Told) and isinstance(plain, Told)
        )
        self.assertEqual(
            (said.command, said.texts, said.raws, said.tags), ("NOTICE", ["* waves", None], raws, "+a=b\\sc;+typing")
        )
        self.assertEqual((tagged.command, tagged.texts, tagged.raws, tagged.tags), ("TAGMSG", [], [], "+typing=active"))
        self.assertEqual(
            (react.sender, react.command, react.text, react.tags), ("alice", "TAGMSG", None, "+draft/react=x")
        )
        self.assertEqual((plain.command, plain.raw, plain.tags), ("PRIVMSG", "hi", None))

    def test_format_2_records_read_as_format_3_without_echo_or_tags(self) -> None:
        said = Record(IRC_BROADCAST, "alice", b"PRIVMSG\nhi\nhi").message()
        told = Record(IRC_DIRECT, "bob", b"alice\nNOTICE\nhi\nhi").message()
        self.assertEqual((said.echo, said.event.tags, said.event.command), (False, None, "PRIVMSG"))
        self.assertEqual((told.echo, told.event.tags, told.event.command), (False, None, "NOTICE"))

    def test_a_message_is_stamped_from_its_batch_s_entry_id_and_its_place_in_it(self) -> None:
        self.assertEqual(stamp("1700000000123-4", 2), Stamp(MessageId("1700000000123-4-2"), 1700000000.123))
        self.assertNotEqual(stamp("1700000000123-4", 2).id, stamp("1700000000123-42", 0).id)

    def test_records_that_are_no_event_are_bad_entries(self) -> None:
        for bad in (
            Record(BROADCAST, "alice", b"\xff"),
            Record(DIRECT, "bob", b"no sender"),
            Record(DIRECT, "b", b"\nx"),
            Record(IRC_BROADCAST, "alice", b"KICK\nhi\nhi"),
            Record(IRC_BROADCAST, "alice", b"TAGMSG e\nhi\nhi"),  # (a TAGMSG has no text)
            Record(IRC_BROADCAST, "alice", b"PRIVMSG"),  # (a PRIVMSG has one)
            Record(IRC_DIRECT, "bob", b"alice\nJOIN\nhi\nhi"),
        ):
            with self.subTest(record=bad), self.assertRaises(BadEntry):
                bad.event()

    def test_malformed_batches_are_bad_entries(self) -> None:
        good = broadcast_record(Said("alice", ["hi"]))
        for data in (b"*alice", b"#alice 3\nabc", b"*alice x\nabc", b"*alice 99\nabc", b"* 3\nabc", good[:-1]):
            with self.subTest(data=data), self.assertRaises(BadEntry):
                records(data)

    def test_random_bytes_never_fail_otherwise(self) -> None:
        chooser = random.Random(11)
        good = broadcast_record(Said("alice", ["hi"])) + direct_record("bob", Told("alice", "x"))
        for _ in range(3000):
            data = bytearray(good)
            for _ in range(chooser.randint(1, 4)):
                data[chooser.randrange(len(data))] = chooser.randrange(256)
            with contextlib.suppress(BadEntry):
                for found in records(bytes(data)):
                    if found.kind != SYNC:
                        found.event()


class EntryTest(unittest.TestCase):
    def test_each_kind(self) -> None:
        self.assertEqual(decode_entry({b"t": b"j", b"n": b"Al", b"o": b"n1", b"c": b"n1.1"}), Join("Al", "n1", "n1.1"))
        self.assertEqual(decode_entry({b"t": b"l", b"n": b"Al", b"c": b"n1.1"}), Leave("Al", "n1.1"))
        batch = {b"t": b"m", b"v": b"3", b"o": b"n1", b"s": b"7", b"d": b""}
        self.assertEqual(decode_entry(batch, b"1700000000123-4"), Batch("n1", 7, b"", "1700000000123-4"))
        older = {b"t": b"m", b"v": b"2", b"o": b"n1", b"s": b"7", b"d": b""}  # (format 2 reads as 3)
        self.assertEqual(decode_entry(older), Batch("n1", 7, b""))

    def test_reasons_and_away_messages_are_optional_and_read_leniently(self) -> None:
        leave = {b"t": b"l", b"n": b"Al", b"c": b"n1.1"}
        part = {b"t": b"p", b"n": b"Al", b"c": b"n1.1", b"s": b"0"}
        self.assertEqual(decode_entry({**leave, b"q": "Quit: gone ✓".encode()}), Leave("Al", "n1.1", "Quit: gone ✓"))
        self.assertEqual(decode_entry({**part, b"q": b"brb"}), Presence("Al", "n1.1", False, "brb"))
        self.assertEqual(decode_entry({**part, b"q": b""}), Presence("Al", "n1.1", False))
        self.assertEqual(decode_entry({**part, b"a": b"lunch"}), Away("Al", "n1.1", "lunch"))
        self.assertEqual(decode_entry({**part, b"s": b"1", b"a": b""}), Away("Al", "n1.1", None))
        # Repaired, never a reason to lose the departure: not UTF-8, controls, too long.
        self.assertEqual(decode_entry({**leave, b"q": b"\xffa\x1b[2Jb\r\nc"}), Leave("Al", "n1.1", "\ufffda[2Jbc"))
        self.assertEqual(decode_entry({**leave, b"q": "é".encode() * 300}), Leave("Al", "n1.1", "é" * 100))

    def test_malformed_entries_are_bad_entries(self) -> None:
        for fields in (
            {},
            {b"t": b"x"},
            {b"t": b"j", b"n": b"Al"},
            {b"t": b"j", b"n": b"a b", b"o": b"n1", b"c": b"t"},
            {b"t": b"l", b"n": b"\xff", b"c": b"t"},
            {b"t": b"m", b"v": b"2", b"o": b"n1", b"s": b"x", b"d": b""},
            {b"t": b"m", b"v": b"2", b"o": b"n1", b"s": b"0", b"d": b""},
            {b"t": b"m", b"v": b"2", b"o": b"", b"s": b"1", b"d": b""},
            {b"t": b"m", b"o": b"n1", b"s": b"1", b"d": b""},  # format 1: wire lines, not events
            {b"t": b"m", b"v": b"4", b"o": b"n1", b"s": b"1", b"d": b""},
        ):
            with self.subTest(fields=fields), self.assertRaises(BadEntry):
                decode_entry(fields)


if __name__ == "__main__":
    unittest.main()
