"""bans_file: the file read (ended entries dropped, none is empty, bad ones named) and written atomically."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import unittest
from pathlib import Path

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.bans_file import BansFileError, load_entries, save_entries
from algokart_chat.moderation import Entry, parse_target


def entry(target: str, until: float | None) -> Entry:
    found = parse_target(target)
    assert found is not None
    return Entry("ban", found, "olga", 1.0, "why", until)


class BansFileTest(unittest.TestCase):
    def setUp(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="algokart-bans-"))
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.path = self.folder / "bans"

    def test_no_file_is_no_entries(self) -> None:
        self.assertEqual(load_entries(self.path, 0.0, 64), [])

    def test_written_then_read_without_the_ended_ones(self) -> None:
        save_entries(self.path, [entry("bob", 10.0), entry("10.0.0.0/8", None)])
        self.assertEqual(load_entries(self.path, 5.0, 64), [entry("bob", 10.0), entry("10.0.0.0/8", None)])
        self.assertEqual(load_entries(self.path, 10.0, 64), [entry("10.0.0.0/8", None)])
        self.assertEqual([p.name for p in self.folder.iterdir()], ["bans"])  # (no temporary file left)
        if os.name == "posix":
            self.assertEqual(stat.S_IMODE(self.path.stat().st_mode), 0o600)

    def test_a_bad_file_is_one_line_naming_it(self) -> None:
        self.path.write_text("# x\nnot json\n", encoding="utf-8")
        with self.assertRaisesRegex(BansFileError, r"bans, line 2: "):
            load_entries(self.path, 0.0, 64)
        self.path.write_bytes(b"\xff\n")
        with self.assertRaisesRegex(BansFileError, "not UTF-8"):
            load_entries(self.path, 0.0, 64)

    def test_a_folder_that_cannot_be_written(self) -> None:
        with self.assertRaisesRegex(BansFileError, "cannot write"):
            save_entries(self.folder / "missing" / "bans", [])


if __name__ == "__main__":
    unittest.main()
