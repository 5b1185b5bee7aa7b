"""Unit tests of the line framing (pure): lines, limits, telnet, the cost of every event, options."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.framing import LINE_TOO_LONG, Event, LineReader, TelnetReply


def feed(reader: LineReader, data: bytes) -> list[Event]:
    reader.feed(data)
    return reader.events()[0]


def finish(reader: LineReader) -> list[Event]:
    reader.finish()
    return reader.events()[0]


def feed_all(chunks: list[bytes], limit: int = 8192) -> list[Event]:
    reader = LineReader(limit)
    events: list[Event] = []
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


class ByteLimitTest(unittest.TestCase):
    """What a caller charging bytes as well as lines needs: no line starts past its byte budget."""

    def test_the_line_that_crosses_the_limit_passes_the_next_one_waits(self) -> None:
        reader = LineReader(100)
        reader.feed(b"aaaa\nbbbb\r\ncccc\n")  # 5, 6 and 5 bytes with their LF
        self.assertEqual(reader.events(byte_limit=7), (["aaaa", "bbbb"], 2))
        self.assertEqual(reader.framed_bytes, 11)
        self.assertEqual(reader.events(byte_limit=1), (["cccc"], 1))
        self.assertEqual(reader.framed_bytes, 16)

    def test_a_line_split_across_reads_counts_whole_and_over_long_lines_count_nothing(self) -> None:
        reader = LineReader(10)
        for piece in (b"ab", b"cd\n", b"x" * 20 + b"\n"):
            reader.feed(piece)
        self.assertEqual(reader.events(byte_limit=100), (["abcd", LINE_TOO_LONG], 2))
        self.assertEqual(reader.framed_bytes, 5)

    def test_an_unterminated_last_line_counts_too(self) -> None:
        reader = LineReader(10)
        reader.feed(b"end")
        reader.finish()
        self.assertEqual(reader.events(byte_limit=0), ([], 0))
        self.assertEqual(reader.events(byte_limit=1), (["end"], 1))
        self.assertEqual(reader.framed_bytes, 3)


class OptionsTest(unittest.TestCase):
    """What another protocol (IRC) asks of the reader: no telnet, no trimming beyond the CR."""

    def test_without_telnet_0xff_is_data(self) -> None:
        reader = LineReader(100, telnet=False)
        self.assertEqual(feed(reader, b"PI\xff\xfd\x06NG\n"), ["PI\ufffd\ufffd\x06NG"])

    def test_without_strip_only_the_cr_of_a_crlf_goes(self) -> None:
        reader = LineReader(100, strip=False)
        self.assertEqual(feed(reader, b"  PRIVMSG #c :hi  \r\nNICK a\n\r\n"), ["  PRIVMSG #c :hi  ", "NICK a", ""])

    def test_without_strip_invalid_utf8_stays_as_lone_surrogates(self) -> None:
        reader = LineReader(100, strip=False)
        (line,) = feed(reader, b"PRIVMSG #c :hi\xaa \xc3\xa9\r\n")
        self.assertEqual(line, "PRIVMSG #c :hi\udcaa \u00e9")  # (the valid \u00e9 decoded as usual)
        assert isinstance(line, str)
        self.assertEqual(line.encode("utf-8", "surrogateescape"), b"PRIVMSG #c :hi\xaa \xc3\xa9")

    def test_the_limit_counts_the_cr(self) -> None:
        reader = LineReader(5, strip=False)
        self.assertEqual(feed(reader, b"abcd\r\nabcde\r\n"), ["abcd", LINE_TOO_LONG])


if __name__ == "__main__":
    unittest.main()
