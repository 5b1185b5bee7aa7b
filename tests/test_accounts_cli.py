"""End to end: ``python src/server.py accounts ...`` as a process, and the server with ``--accounts``."""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from support import ROOT, SERVER, SRC, TIMEOUT, ServerProcess, run_server

from algokart_chat.accounts import Account, verify_password
from algokart_chat.accounts_file import load_accounts

PASSWORD = "correct horse battery staple"


def accounts_command(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python src/server.py accounts ARGS`` with ``stdin`` piped in (so: not a terminal)."""
    environment = {key: value for key, value in os.environ.items() if key != "ACCOUNTS"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, str(SERVER), "accounts", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=environment,
        cwd=str(ROOT),
        timeout=TIMEOUT,
        check=False,
    )


class AccountsCommandTest(unittest.TestCase):
    def setUp(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="algokart-accounts-cli-"))
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.file = self.folder / "accounts"
        self.outputs: list[str] = []

    def run_ok(self, *args: str, stdin: str = "") -> str:
        result = accounts_command("--accounts", str(self.file), *args, stdin=stdin)
        self.outputs += [result.stdout, result.stderr]
        self.assertEqual((result.returncode, result.stderr), (0, ""), result)
        return result.stdout

    def run_refused(self, status: int, *args: str, stdin: str = "") -> str:
        """The one line on stderr of a command that exits with ``status``."""
        result = accounts_command("--accounts", str(self.file), *args, stdin=stdin)
        self.outputs += [result.stdout, result.stderr]
        self.assertEqual(result.returncode, status, result)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertEqual(result.stdout, "")
        return result.stderr

    def stored(self, name: str) -> Account:
        account = load_accounts(self.file).get(name)
        assert account is not None, name
        return account

    def test_add_list_passwd_remove(self) -> None:
        self.assertEqual(self.run_ok("add", "alice", "--op", stdin=f"{PASSWORD}\n"), "Added alice (op)\n")
        self.assertEqual(self.run_ok("add", "名前", stdin="pässwörd\r\n"), "Added 名前\n")
        if os.name == "posix":
            self.assertEqual(stat.S_IMODE(self.file.stat().st_mode), 0o600)
        self.assertEqual(self.run_ok("list"), "alice op\n名前\n")
        self.assertTrue(verify_password(PASSWORD, self.stored("alice").password))
        self.assertTrue(verify_password("pässwörd", self.stored("名前").password))

        self.assertEqual(self.run_ok("passwd", "ALICE", stdin="a new one\n"), "New password set for alice\n")
        self.assertTrue(verify_password("a new one", self.stored("alice").password))
        self.assertFalse(verify_password(PASSWORD, self.stored("alice").password))
        self.assertEqual(self.stored("alice").roles, frozenset({"op"}))

        self.assertEqual(self.run_ok("remove", "aIice"), "Removed alice\n")  # a look-alike names the account
        self.assertEqual(self.run_ok("list"), "名前\n")
        self.assertNotIn(PASSWORD, "".join(self.outputs) + self.file.read_text(encoding="utf-8"))

    def test_the_file_from_the_environment_and_the_flag_after_the_command(self) -> None:
        result = accounts_command("add", "bob", stdin="pw\n", env={"ACCOUNTS": str(self.file)})
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(self.run_ok("list"), "bob\n")
        self.assertEqual(accounts_command("list", "--accounts", str(self.file)).stdout, "bob\n")

    def test_a_look_alike_of_an_account_is_refused(self) -> None:
        self.run_ok("add", "alice", stdin="pw\n")
        before = self.file.read_bytes()
        for name in ("aIice", "ALICE", "a1ice", "ａｌｉｃｅ"):
            with self.subTest(name=name):
                problem = self.run_refused(2, "add", name, stdin=f"{PASSWORD}\n")
                self.assertIn("has an account already", problem)
        self.assertIn("as 'alice': names that look alike are one account", problem)
        self.assertEqual(self.file.read_bytes(), before)
        self.assertNotIn(PASSWORD, "".join(self.outputs))

    def test_wrong_commands_exit_2_with_one_line(self) -> None:
        self.run_ok("add", "alice", stdin="pw\n")
        cases = (
            (("add", "al ice"), "pw\n", "is not a valid name"),
            (("add", "\u0430\u04cf\u0456\u0441\u0435"), "pw\n", "lookalike"),  # all Cyrillic
            (("add", "bob"), "", "no password"),
            (("add", "bob"), "\n", "the password is empty"),
            (("add", "bob"), " padded\n", "starts or ends with a space"),
            (("remove", "bob"), "", "'bob' has no account"),
            (("passwd", "bob"), "pw\n", "'bob' has no account"),
            (("frob",), "", "invalid choice"),
            (("add",), "", "the following arguments are required: name"),
        )
        for args, stdin, reason in cases:
            with self.subTest(args=args):
                self.assertIn(reason, self.run_refused(2, *args, stdin=stdin))
        result = accounts_command("list")
        self.assertEqual((result.returncode, result.stderr.count("\n")), (2, 1), result)
        self.assertIn("give --accounts FILE or set ACCOUNTS", result.stderr)
        self.assertEqual(self.run_ok("list"), "alice\n")

    def test_a_file_that_cannot_be_used_exits_1_with_one_line(self) -> None:
        self.file.write_text("# accounts\nalice:hunter2\n", encoding="utf-8")
        for args in (("list",), ("add", "bob"), ("remove", "alice")):
            with self.subTest(args=args):
                problem = self.run_refused(1, *args, stdin="pw\n")
                self.assertIn(f"{self.file}, line 2: the hash is not scrypt", problem)
                self.assertNotIn("hunter2", problem)
        self.assertIn("no such file", self.run_refused(1, "--accounts", str(self.folder / "none"), "list"))
        nowhere = str(self.folder / "no" / "file")
        self.assertIn("no such folder", self.run_refused(1, "--accounts", nowhere, "add", "bob"))  # before the password

    def test_the_password_never_reaches_the_output(self) -> None:
        self.run_ok("add", "alice", stdin=f"{PASSWORD}\n")
        self.run_refused(2, "add", "alice", stdin=f"{PASSWORD}\n")
        self.run_ok("passwd", "alice", stdin=f"{PASSWORD} 2\n")
        self.run_ok("list")
        self.assertNotIn("correct horse", "".join(self.outputs))
        self.assertNotIn("correct horse", self.file.read_text(encoding="utf-8"))


@unittest.skipUnless(os.name == "posix" and hasattr(os, "fork"), "a terminal (pty) is POSIX's")
class TerminalPasswordTest(unittest.TestCase):
    """From a terminal the password is asked twice, without echo."""

    def setUp(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="algokart-accounts-tty-"))
        self.addCleanup(shutil.rmtree, folder, True)
        self.file = folder / "accounts"

    def in_terminal(self, first: str, again: str) -> tuple[int, str]:
        """Run ``accounts add alice`` in a new pty, typing each password after its prompt; the exit
        status and what the terminal showed."""
        import pty

        pid, terminal = pty.fork()
        if pid == 0:  # the child: its stdin, stdout and controlling terminal are the pty
            try:
                os.execv(
                    sys.executable,
                    [sys.executable, str(SERVER), "accounts", "--accounts", str(self.file), "add", "alice"],
                )
            finally:
                os._exit(127)
        shown = b""
        pending = [(b"Password for alice: ", first), (b"The same again: ", again)]
        answered_up_to = 0
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([terminal], [], [], deadline - time.monotonic())
            if not ready:
                break
            try:
                chunk = os.read(terminal, 1024)
            except OSError:  # the child is gone (Linux: EIO)
                break
            if not chunk:
                break
            shown += chunk
            # Each answer once its prompt is out: getpass turns echo off (and drops what was
            # typed before) just before it writes the prompt.
            if pending and pending[0][0] in shown[answered_up_to:]:
                answered_up_to = len(shown)
                os.write(terminal, pending.pop(0)[1].encode() + b"\n")
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)  # hung: fail, do not wait forever
        os.close(terminal)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace")

    def test_asked_twice_without_echo(self) -> None:
        status, shown = self.in_terminal("s3cret pass", "s3cret pass")
        self.assertEqual(status, 0, shown)
        self.assertIn("Password for alice:", shown)
        self.assertIn("The same again:", shown)
        self.assertIn("Added alice", shown)
        self.assertNotIn("s3cret", shown)
        alice = load_accounts(self.file).get("alice")
        self.assertTrue(alice is not None and verify_password("s3cret pass", alice.password))

    def test_two_that_differ_change_nothing(self) -> None:
        status, shown = self.in_terminal("one", "two")
        self.assertEqual(status, 2, shown)
        self.assertIn("the two passwords differ", shown)
        self.assertFalse(self.file.exists())


class ServerWithAccountsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="algokart-accounts-server-"))
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.file = self.folder / "accounts"
        for name in ("alice", "bob"):
            self.assertEqual(accounts_command("--accounts", str(self.file), "add", name, stdin="pw\n").returncode, 0)

    def test_a_file_that_cannot_be_used_stops_the_start_with_one_line(self) -> None:
        self.file.write_text("alice:hunter2\n", encoding="utf-8")
        result = run_server("--port", "0", "--accounts", str(self.file))
        self.assertEqual(result.returncode, 2)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn(f"{self.file}, line 1:", result.stderr)
        self.assertNotIn("hunter2", result.stderr)

    @unittest.skipUnless(hasattr(signal, "SIGHUP"), "SIGHUP is POSIX's")
    def test_loaded_at_start_and_on_sighup_a_bad_file_keeps_the_old(self) -> None:
        with ServerProcess("--accounts", str(self.file)) as server, server.client() as user:
            server.wait_for_log(rf"^Accounts: 2 accounts from {re.escape(str(self.file))}$")
            self.assertEqual(accounts_command("--accounts", str(self.file), "remove", "bob").returncode, 0)
            server.process.send_signal(signal.SIGHUP)
            server.wait_for_log(rf"^Accounts reloaded from {re.escape(str(self.file))}: 1 account$")
            self.file.write_text(self.file.read_text(encoding="utf-8") + "carol:hunter2\n", encoding="utf-8")
            server.process.send_signal(signal.SIGHUP)
            failed = server.wait_for_log(r"^Accounts not reloaded, the old ones stay: ")
            self.assertIn(", line 3: ", failed)
            user.login()  # the server goes on
            self.assertEqual(user.sync(), [])
            self.assertFalse([line for line in server.raw_log if "hunter2" in line or "TLS" in line])
            self.assertEqual(len([line for line in server.raw_log if " ERROR " in line]), 1)

    def test_the_command_runs_as_python_m_algokart_chat(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "algokart_chat", "accounts", "--accounts", str(self.file), "list"],
            capture_output=True,
            text=True,
            cwd=str(SRC),
            timeout=TIMEOUT,
            check=False,
        )
        self.assertEqual((result.returncode, result.stdout, result.stderr), (0, "alice\nbob\n", ""))


if __name__ == "__main__":
    unittest.main()
