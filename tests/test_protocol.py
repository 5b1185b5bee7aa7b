"""Unit tests of the pure protocol module: framing, parsing, names, text, replies."""

from __future__ import annotations

import unittest

import support  # (puts src/ on sys.path)

import protocol
from protocol import LINE_TOO_LONG, Command, LineReader, TelnetReply


def feed(reader: LineReader, data: bytes) -> list[protocol.Event]:
    reader.feed(data)
    return reader.events()[0]


def finish(reader: LineReader) -> list[protocol.Event]:
    reader.finish()
    return reader.events()[0]


def feed_all(chunks: list[bytes], limit: int = 8192) -> list[protocol.Event]:
    reader = LineReader(limit)
    events: list[protocol.Event] = []
    for chunk in chunks:
        events += feed(reader, chunk)
    return events


class FramingTest(unittest.TestCase):
    def test_lines_end_in_lf_and_a_cr_before_it_is_dropped(self) -> None:
        self.assertEqual(feed_all([b"PING\nWHO\r\n"]), ["PING", "WHO"])

    def test_a_line_split_across_many_reads(self) -> None:
        self.assertEqual(feed_all([b"MS", b"G he", b"llo", b"\r", b"\n"]), ["MSG hello"])

    def test_several_lines_in_one_read_and_a_partial_tail(self) -> None:
        reader = LineReader(100)
        self.assertEqual(feed(reader, b"A\nB\nC"), ["A", "B"])
        self.assertEqual(feed(reader, b"D\n"), ["CD"])

    def test_leading_and_trailing_whitespace_is_removed_blank_lines_are_empty(self) -> None:
        self.assertEqual(feed_all([b"  \t MSG  a  b \t\r\n", b"\n", b"   \n"]), ["MSG  a  b", "", ""])

    def test_undecodable_bytes_become_replacement_characters(self) -> None:
        self.assertEqual(feed_all([b"MSG \xc3\x28 ok \x80\n"]), ["MSG \ufffd( ok \ufffd"])

    def test_utf8_split_inside_a_character(self) -> None:
        encoded = "MSG héllo ✓\n".encode()
        self.assertEqual(feed_all([encoded[:6], encoded[6:13], encoded[13:]]), ["MSG héllo ✓"])

    def test_unterminated_last_line_is_returned_by_finish(self) -> None:
        reader = LineReader(100)
        self.assertEqual(feed(reader, b"PING\nQU"), ["PING"])
        self.assertEqual(finish(reader), ["QU"])
        self.assertEqual(finish(reader), [])

    def test_line_at_the_limit_passes_one_over_is_refused(self) -> None:
        self.assertEqual(feed_all([b"x" * 10 + b"\n"], limit=10), ["x" * 10])
        self.assertEqual(feed_all([b"x" * 11 + b"\nPING\n"], limit=10), [LINE_TOO_LONG, "PING"])

    def test_long_line_reported_once_and_discarded_up_to_its_lf(self) -> None:
        reader = LineReader(10)
        self.assertEqual(feed(reader, b"y" * 6), [])
        self.assertEqual(feed(reader, b"y" * 6), [LINE_TOO_LONG])
        self.assertEqual(feed(reader, b"y" * 1000), [])
        self.assertEqual(feed(reader, b"yy\nPING\n"), ["PING"])
        self.assertEqual(finish(reader), [])

    def test_reader_never_holds_more_than_the_limit(self) -> None:
        reader = LineReader(10)
        for _ in range(1000):
            feed(reader, b"z" * 7)
            self.assertLessEqual(len(reader._partial), 10)

    def test_events_hands_out_at_most_the_limit_and_keeps_the_rest_raw(self) -> None:
        reader = LineReader(100)
        reader.feed(b"A\nB\nC\nD")
        self.assertTrue(reader.pending)
        self.assertEqual(reader.events(2), (["A", "B"], 2))
        self.assertEqual(reader.events(0), ([], 0))
        self.assertEqual(reader.events(5), (["C"], 1))
        self.assertFalse(reader.pending)  # "D" waits for its LF
        reader.finish()
        self.assertTrue(reader.pending)
        self.assertEqual(reader.events(1), (["D"], 1))
        self.assertFalse(reader.pending)

    def test_bytes_waiting_for_a_throttled_caller_stay_raw(self) -> None:
        import tracemalloc

        reader = LineReader(8192)
        data = b"ab\n" * 87381  # 256 KiB that frames into 87,381 str objects (about 5 MiB)
        tracemalloc.start()
        try:
            reader.feed(data)
            self.assertEqual(reader.events(10), (["ab"] * 10, 10))
            held, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(held, 64 * 1024)  # the read itself is shared, not copied
        self.assertEqual(len(reader.events()[0]), 87371)

    def test_telnet_negotiation_is_stripped_and_refused(self) -> None:
        # IAC DO ECHO, IAC WILL NAWS, IAC SB NAWS ... IAC SE, IAC IP (Ctrl+C), IAC IAC
        data = b"\xff\xfd\x01PI\xff\xfb\x1fNG\xff\xfa\x1f\x00\x50\xff\xff\x00\x18\xff\xf0\n\xff\xf4\n"
        self.assertEqual(
            feed_all([data]),
            [TelnetReply(b"\xff\xfc\x01"), TelnetReply(b"\xff\xfe\x1f"), "PING", ""],
        )

    def test_telnet_sequences_cost_a_unit_each_and_each_option_is_refused_once(self) -> None:
        reader = LineReader(100)
        reader.feed(b"\xff\xfd\x06" * 50 + b"\xff\xf1" * 10 + b"\xff\xfb\x06\xff\xfd\x01PING\n")
        events, cost = reader.events()
        self.assertEqual(
            events, [TelnetReply(b"\xff\xfc\x06"), TelnetReply(b"\xff\xfe\x06"), TelnetReply(b"\xff\xfc\x01"), "PING"]
        )
        self.assertEqual(cost, 62 + 1)
        reader.feed(b"\xff\xfd\x06\xff\xfa\x18\xff\xff\x01\xff\xf0\n")
        self.assertEqual(reader.events(), ([""], 3))  # IAC IAC inside SB is data, not a sequence

    def test_one_call_does_no_more_telnet_work_than_its_budget(self) -> None:
        reader = LineReader(8192)
        reader.feed(b"\xff\xf1" * 131072 + b"PING\n")  # 131,072 IAC NOP in one 256 KiB read
        self.assertEqual(reader.events(100), ([], 100))
        self.assertLessEqual(reader._offset, 200)  # parsed as far as it was paid for, no further
        self.assertEqual(reader.events(), (["PING"], 131072 - 100 + 1))

    def test_a_subnegotiation_costs_a_unit_per_max_line_bytes_and_is_never_stored(self) -> None:
        reader = LineReader(64)
        reader.feed(b"\xff\xfa\x18" + b"s" * 64 * 3)
        self.assertEqual(reader.events(2), ([], 2))  # the IAC SB, then 64 bytes: out of budget
        self.assertEqual(reader.events(), ([], 2))  # the other 128 bytes
        self.assertEqual(len(reader._partial), 0)
        reader.feed(b"s" * 10 + b"\xff\xf0PING\n")
        self.assertEqual(reader.events(), (["PING"], 1))  # 10 more bytes: not a whole unit yet

    def test_telnet_sequences_split_across_reads(self) -> None:
        data = b"MS\xff\xfd\x06G \xff\xfa\x18\x01\xff\xf0hi\xff\xf4\n"
        everywhere = [feed_all([data[:i], data[i:]]) for i in range(len(data) + 1)]
        for events in everywhere:
            self.assertEqual(events, [TelnetReply(b"\xff\xfc\x06"), "MSG hi"])


class ParseTest(unittest.TestCase):
    def test_verb_is_case_insensitive_and_arguments_keep_inner_spacing(self) -> None:
        self.assertEqual(protocol.parse_command("msg  hello   world"), Command("MSG", "hello   world"))
        self.assertEqual(protocol.parse_command("Ping"), Command("PING", ""))
        self.assertEqual(protocol.parse_command("DM\tbob\t hi"), Command("DM", "bob\t hi"))

    def test_only_ascii_case_folding(self) -> None:
        self.assertEqual(protocol.parse_command("logın x").verb, "logın")

    def test_split_word(self) -> None:
        self.assertEqual(protocol.split_word("bob  hi  there"), ("bob", "hi  there"))
        self.assertEqual(protocol.split_word("bob"), ("bob", ""))


class UsernameTest(unittest.TestCase):
    def test_valid_names(self) -> None:
        for name in ("a", "Naman", "x_y-z.9", "a" * 32, "José", "名前", "ａｌｉｃｅ"):
            self.assertTrue(protocol.is_valid_username(name), name)

    def test_invalid_names(self) -> None:
        for name in ("", "a" * 33, "é" * 33, "a b", "a\tb", "bob!", "a/b", "e\u0301", "💬", "x\x00", "１½"):
            self.assertFalse(protocol.is_valid_username(name), name)

    def test_names_in_one_script_pass_mixed_scripts_do_not(self) -> None:
        for name in ("Алиса", "Zoë_2", "ΑΒΓ-1", "山田たろう", "김민수", "ｔａｒｏ", "Иван.2"):
            self.assertTrue(protocol.is_valid_username(name), name)
        for name in ("\u0410lice", "Ωmega", "pаypal", "Алиса\u0391"):  # Cyrillic А in Latin, Greek with Latin ...
            self.assertFalse(protocol.is_valid_username(name), name)
        self.assertEqual(protocol.letter_scripts("Zoë_2.-"), {"LATIN"})
        self.assertEqual(protocol.letter_scripts("_-.123"), set())

    def test_key_ignores_case_and_width(self) -> None:
        self.assertEqual(protocol.username_key("ＡＬＩＣＥ"), protocol.username_key("alice"))
        self.assertEqual(protocol.username_key("Straße"), protocol.username_key("STRASSE"))
        self.assertNotEqual(protocol.username_key("alice"), protocol.username_key("alice2"))


class TextTest(unittest.TestCase):
    def test_control_characters_removed_tabs_become_spaces(self) -> None:
        self.assertEqual(protocol.clean_text("a\tb\x1b[2Jc\x7fd\x85e\x9bf\x00g"), "a b[2Jcdefg")

    def test_inner_spacing_kept_ends_trimmed(self) -> None:
        self.assertEqual(protocol.clean_text("\x01 hi   there \x02"), "hi   there")

    def test_nothing_printable_is_empty(self) -> None:
        self.assertEqual(protocol.clean_text("\x01\x02 \t"), "")

    def test_bidirectional_controls_removed_emoji_and_marks_kept(self) -> None:
        trojan = "a\u202eb\u202dc\u2066d\u2069e\u200ef\u200fg\u061ch\u202ai\u202bj\u202ck\u2067l\u2068m"
        self.assertEqual(protocol.clean_text(trojan), "abcdefghijklm")
        family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # ZWJ emoji sequence
        self.assertEqual(protocol.clean_text(f"e\u0301 {family}"), f"e\u0301 {family}")

    def test_unicode_text_kept(self) -> None:
        self.assertEqual(protocol.clean_text("héllo ✓ 名前"), "héllo ✓ 名前")


class ReplyTest(unittest.TestCase):
    def test_wire_lines(self) -> None:
        self.assertEqual(protocol.with_text(protocol.message_prefix("Naman"), "hi all"), b"MSG Naman hi all\n")
        self.assertEqual(protocol.with_text(protocol.direct_prefix("José"), "é"), "DM José é\n".encode())
        self.assertEqual(protocol.user_line("Yudi"), b"USER Yudi\n")
        self.assertEqual(protocol.disconnected("Naman"), b"INFO Naman disconnected\n")
        self.assertEqual(protocol.error("no-such-user"), b"ERR no-such-user\n")

    def test_every_error_code_is_documented(self) -> None:
        protocol_doc = (support.ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
        readme = (support.ROOT / "README.md").read_text(encoding="utf-8")
        for code in protocol.ERROR_CODES:
            self.assertIn(f"| `{code}` |", protocol_doc)
            self.assertIn(f"ERR {code}", readme)
        with self.assertRaises(ValueError):
            protocol.error("no-such-code")

    def test_help_is_info_lines(self) -> None:
        lines = protocol.HELP.decode().splitlines()
        self.assertGreater(len(lines), 5)
        self.assertTrue(all(line.startswith("INFO ") for line in lines))
        for verb in ("LOGIN", "MSG", "DM", "WHO", "PING", "QUIT", "EXIT", "HELP"):
            self.assertIn(verb, protocol.HELP.decode())


if __name__ == "__main__":
    unittest.main()
