"""The output queue, pure: payload references in, chunks of at most WRITE_CHUNK bytes out, in order,
never copied while they wait, and what the backlog counts toward the limits."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.transport.output_queue import BACKLOG_ENTRY_BYTES, WRITE_CHUNK, Backlog, small_write


def drained(backlog: Backlog) -> list[bytes | memoryview]:
    chunks = []
    while backlog:
        chunks.append(backlog.next_chunk())
    return chunks


class SmallWriteTest(unittest.TestCase):
    def test_one_payload_is_written_as_it_is(self) -> None:
        payload = b"MSG alice hi\n"
        self.assertIs(small_write([payload]), payload)

    def test_a_few_are_joined_into_one_write(self) -> None:
        self.assertEqual(small_write([b"a\n", b"b\n", b"c\n"]), b"a\nb\nc\n")
        self.assertIsNotNone(small_write([b"x" * (WRITE_CHUNK - 1), b"\n"]))

    def test_more_than_a_chunk_is_not_a_small_write(self) -> None:
        self.assertIsNone(small_write([b"x" * WRITE_CHUNK, b"\n"]))
        self.assertIsNone(small_write([b"x" * (WRITE_CHUNK + 1)]))


class BacklogTest(unittest.TestCase):
    def test_empty(self) -> None:
        backlog = Backlog()
        self.assertFalse(backlog)
        self.assertEqual((backlog.size, list(backlog)), (0, []))

    def test_size_counts_each_payload_and_its_bookkeeping(self) -> None:
        backlog = Backlog()
        backlog.add([b"a" * 10, b"b" * 20])
        backlog.add([b"c"])
        self.assertEqual(backlog.size, 31 + 3 * BACKLOG_ENTRY_BYTES)
        self.assertEqual(list(backlog), [b"a" * 10, b"b" * 20, b"c"])

    def test_small_payloads_are_joined_up_to_a_chunk_in_order(self) -> None:
        backlog = Backlog()
        line = b"y" * 1023 + b"\n"
        backlog.add([line] * 20)  # 20 KiB: one full chunk, then the rest
        chunks = drained(backlog)
        self.assertEqual([len(chunk) for chunk in chunks], [WRITE_CHUNK, 4 * 1024])
        self.assertEqual(b"".join(chunks), line * 20)
        self.assertEqual(backlog.size, 0)

    def test_a_large_payload_is_sliced_never_copied(self) -> None:
        backlog = Backlog()
        large = b"z" * (2 * WRITE_CHUNK + 100)
        backlog.add([b"before\n", large, b"after\n"])
        first = backlog.next_chunk()
        self.assertEqual(first, b"before\n")  # not joined with a payload too large for one chunk
        self.assertIs(next(iter(backlog)), large)
        slices = [backlog.next_chunk() for _ in range(3)]
        for piece in slices:
            self.assertIsInstance(piece, memoryview)
            assert isinstance(piece, memoryview)
            self.assertIs(piece.obj, large)  # a view of the shared payload
        self.assertEqual([len(piece) for piece in slices], [WRITE_CHUNK, WRITE_CHUNK, 100])
        self.assertEqual(backlog.size, len(b"after\n") + BACKLOG_ENTRY_BYTES)
        self.assertEqual(drained(backlog), [b"after\n"])
        self.assertEqual(backlog.size, 0)

    def test_size_falls_as_a_large_payload_goes_out(self) -> None:
        backlog = Backlog()
        large = b"w" * (WRITE_CHUNK + 1)
        backlog.add([large])
        backlog.next_chunk()
        self.assertEqual(backlog.size, 1 + BACKLOG_ENTRY_BYTES)  # its bookkeeping until it is all out
        self.assertTrue(backlog)


if __name__ == "__main__":
    unittest.main()
