"""Unit tests of the accounts file on disk: load, atomic save, modes, reload."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.accounts import Account, Accounts, ScryptParams, hash_password
from algokart_chat.accounts_file import AccountsFile, AccountsFileError, load_accounts, read_accounts, save_accounts

FAST = ScryptParams(n=16, r=1, p=1)
POSIX = os.name == "posix"


def some_accounts(*names: str) -> Accounts:
    return Accounts(Account(name, hash_password("pw", FAST)) for name in names)


class AccountsFileTest(unittest.TestCase):
    def setUp(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="algokart-accounts-"))
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.path = self.folder / "accounts"

    def test_save_then_load(self) -> None:
        saved = some_accounts("alice", "名前")
        save_accounts(self.path, saved)
        self.assertEqual(list(load_accounts(self.path)), list(saved))
        self.assertEqual(os.listdir(self.folder), ["accounts"])  # no temporary file left

    @unittest.skipUnless(POSIX, "file modes are POSIX's")
    def test_a_new_file_is_0600_and_a_rewrite_keeps_the_mode(self) -> None:
        save_accounts(self.path, some_accounts("alice"))
        self.assertEqual(stat.S_IMODE(self.path.stat().st_mode), 0o600)
        self.path.chmod(0o640)
        save_accounts(self.path, some_accounts("alice", "bob"))
        self.assertEqual(stat.S_IMODE(self.path.stat().st_mode), 0o640)

    def test_a_missing_file_is_one_line_naming_it(self) -> None:
        with self.assertRaises(AccountsFileError) as caught:
            load_accounts(self.path)
        self.assertEqual(str(caught.exception), f"cannot read {self.path}: no such file")
        self.assertEqual(len(read_accounts(self.path, missing_ok=True)[0]), 0)

    def test_a_bad_line_names_the_file_and_the_line(self) -> None:
        self.path.write_text("# accounts\nalice\n", encoding="utf-8")
        with self.assertRaises(AccountsFileError) as caught:
            load_accounts(self.path)
        self.assertEqual(str(caught.exception), f"{self.path}, line 2: expected name:hash or name:hash:roles")
        self.path.write_bytes(b"# ok\n# ok\n\xff\n")
        with self.assertRaisesRegex(AccountsFileError, r", line 3: not UTF-8 text$"):
            load_accounts(self.path)

    def test_a_file_changed_meanwhile_is_not_overwritten(self) -> None:
        save_accounts(self.path, some_accounts("alice"))
        accounts, snapshot = read_accounts(self.path)
        save_accounts(self.path, some_accounts("alice", "bob"))  # another command, meanwhile
        with self.assertRaisesRegex(AccountsFileError, "changed by someone else"):
            save_accounts(self.path, accounts.without("alice"), since=snapshot)
        self.assertEqual([a.name for a in load_accounts(self.path)], ["alice", "bob"])
        self.assertEqual(os.listdir(self.folder), ["accounts"])
        _, created = read_accounts(self.folder / "new", missing_ok=True)
        save_accounts(self.folder / "new", accounts, since=created)  # none then, none now

    def test_a_failed_write_leaves_the_old_file_whole(self) -> None:
        save_accounts(self.path, some_accounts("alice"))
        before = self.path.read_bytes()
        full = OSError(28, "No space left on device")
        with (
            mock.patch("os.replace", side_effect=full),
            self.assertRaisesRegex(AccountsFileError, r"^cannot write .*: No space left on device$"),
        ):
            save_accounts(self.path, some_accounts("alice", "bob"))
        self.assertEqual(self.path.read_bytes(), before)
        self.assertEqual(os.listdir(self.folder), ["accounts"])
        with self.assertRaisesRegex(AccountsFileError, "^cannot write "):
            save_accounts(self.folder / "no" / "such" / "folder", some_accounts("alice"))

    def test_only_hashes_are_written(self) -> None:
        save_accounts(self.path, Accounts([Account("alice", hash_password("hunter2-secret", FAST))]))
        self.assertNotIn(b"hunter2", self.path.read_bytes())


class ReloadTest(unittest.TestCase):
    def setUp(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="algokart-accounts-"))
        self.addCleanup(shutil.rmtree, folder, True)
        self.path = folder / "accounts"
        save_accounts(self.path, some_accounts("alice"))

    def test_a_good_file_replaces_the_accounts(self) -> None:
        source = AccountsFile(str(self.path))
        save_accounts(self.path, some_accounts("alice", "bob"))
        with self.assertLogs("algokart_chat.accounts_file", "INFO") as logged:
            self.assertTrue(source.reload())
        self.assertEqual([a.name for a in source.accounts], ["alice", "bob"])
        self.assertEqual(
            logged.output, [f"INFO:algokart_chat.accounts_file:Accounts reloaded from {self.path}: 2 accounts"]
        )

    def test_a_bad_file_is_one_error_line_and_the_old_accounts_stay(self) -> None:
        source = AccountsFile(str(self.path))
        before = source.accounts
        self.path.write_text(self.path.read_text(encoding="utf-8") + "bob:hunter2\n", encoding="utf-8")
        with self.assertLogs("algokart_chat.accounts_file", "INFO") as logged:
            self.assertFalse(source.reload())
        self.assertIs(source.accounts, before)
        self.assertEqual(len(logged.output), 1)
        self.assertTrue(logged.output[0].startswith("ERROR:"), logged.output)
        self.assertIn("Accounts not reloaded, the old ones stay: ", logged.output[0])
        self.assertIn("line 3", logged.output[0])
        self.assertNotIn("hunter2", logged.output[0])

    def test_a_bad_file_at_start_is_an_error(self) -> None:
        self.path.write_text("nonsense\n", encoding="utf-8")
        with self.assertRaises(AccountsFileError):
            AccountsFile(str(self.path))


if __name__ == "__main__":
    unittest.main()
