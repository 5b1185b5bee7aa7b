"""Unit tests of the stream's window (``cluster.window``, pure): what a node counts of the entries it
read, and where every write trims the stream, by time and by bytes."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.cluster.window import ENTRY_OVERHEAD_BYTES, StreamWindow, entry_number, history_ms

FIELDS = {b"t": b"b", b"d": b"x" * 33}  # 36 bytes of fields: 100 with the overhead
SIZE = 36 + ENTRY_OVERHEAD_BYTES


class EntryNumberTest(unittest.TestCase):
    def test_ids_compare_in_stream_order(self) -> None:
        self.assertEqual(entry_number(b"1700000000000-3"), (1700000000000, 3))
        self.assertEqual(entry_number(b"5"), (5, 0))
        self.assertLess(entry_number(b"9-10"), entry_number(b"10-0"))
        self.assertLess(entry_number(b"10-9"), entry_number(b"10-10"))

    def test_the_history_kept_is_four_node_timeouts_and_at_least_ten_seconds(self) -> None:
        self.assertEqual(history_ms(10.0), 40_000)
        self.assertEqual(history_ms(1.0), 10_000)
        self.assertEqual(history_ms(2.6), 10_400)


class StreamWindowTest(unittest.TestCase):
    def test_before_reading_anything_the_stream_is_trimmed_to_the_window_by_the_last_id(self) -> None:
        window = StreamWindow(10_000)
        self.assertEqual(window.minid(), "0-0")
        window.restart(b"50000-7")
        self.assertEqual(window.last_id, b"50000-7")
        self.assertEqual(window.minid(), "40000-0")

    def test_an_entry_read_is_the_new_position_and_counts_its_fields_and_overhead(self) -> None:
        window = StreamWindow(10_000)
        self.assertEqual(window.read(b"1000-0", FIELDS), SIZE)
        self.assertEqual(window.last_id, b"1000-0")
        self.assertEqual(window.minid(), "1000-0")  # the oldest entry counted is newer than the window

    def test_entries_older_than_the_window_are_forgotten(self) -> None:
        window = StreamWindow(10_000)
        for milliseconds in (1000, 5000, 12_000, 15_500):
            window.read(f"{milliseconds}-0".encode(), FIELDS)
        self.assertEqual(window.minid(), "12000-0")  # 1000 and 5000 are older than 15500 - 10000

    def test_beyond_the_byte_bound_the_oldest_entries_are_forgotten(self) -> None:
        window = StreamWindow(60_000, stream_bytes=3 * SIZE)
        for sequence in range(5):
            window.read(f"1000-{sequence}".encode(), FIELDS)
        self.assertEqual(window.minid(), "1000-2")  # the newest three entries are kept

    def test_the_newest_entry_is_kept_however_large(self) -> None:
        window = StreamWindow(60_000, stream_bytes=10)
        window.read(b"1000-0", FIELDS)
        window.read(b"90000-0", FIELDS)
        self.assertEqual(window.minid(), "90000-0")

    def test_restart_counts_from_nothing(self) -> None:
        window = StreamWindow(60_000, stream_bytes=3 * SIZE)
        for sequence in range(5):
            window.read(f"1000-{sequence}".encode(), FIELDS)
        window.restart(b"70000-0")
        self.assertEqual(window.minid(), "10000-0")
        window.read(b"70001-0", FIELDS)
        self.assertEqual(window.minid(), "70001-0")

    def test_trimmed_past_says_whether_the_stream_lost_entries_never_read(self) -> None:
        window = StreamWindow(10_000)
        window.restart(b"2000-3")
        self.assertFalse(window.trimmed_past(b"0-0"))
        self.assertFalse(window.trimmed_past(b"2000-3"))
        self.assertTrue(window.trimmed_past(b"2000-4"))
        self.assertTrue(window.trimmed_past(b"3000-0"))


if __name__ == "__main__":
    unittest.main()
