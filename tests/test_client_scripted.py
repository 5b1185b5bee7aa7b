"""The scripted client's input (``client.scripted.input_lines``): lines read straight from a file
descriptor, however the writes split them, the last one even without its LF.  (The whole mode,
through pipes against a real server, is in test_terminal_client.)"""

from __future__ import annotations

import os
import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.client.scripted import input_lines


class InputLinesTest(unittest.TestCase):
    def lines_of(self, *writes: bytes) -> list[bytes]:
        reader, writer = os.pipe()
        with os.fdopen(reader, "rb", buffering=0) as reading:
            with os.fdopen(writer, "wb", buffering=0) as writing:
                for data in writes:
                    writing.write(data)
            return list(input_lines(reading.fileno()))

    def test_each_line_with_its_lf(self) -> None:
        self.assertEqual(self.lines_of(b"LOGIN bot\nMSG hi\n"), [b"LOGIN bot\n", b"MSG hi\n"])

    def test_lines_split_across_reads(self) -> None:
        self.assertEqual(self.lines_of(b"LOG", b"IN bot\nMS", b"G hi\n\n"), [b"LOGIN bot\n", b"MSG hi\n", b"\n"])

    def test_the_last_line_without_its_lf(self) -> None:
        self.assertEqual(self.lines_of(b"MSG hi\nWHO"), [b"MSG hi\n", b"WHO"])

    def test_nothing(self) -> None:
        self.assertEqual(self.lines_of(), [])


if __name__ == "__main__":
    unittest.main()
