"""Account logins on the line protocol, end to end: the real server with --accounts over real
sockets.  A registered name with its password, a wrong one or none; a name without an account;
--require-account; the throttle; a reload; no password in any log line; and the plain LOGIN <username> on a
server without accounts.

The throttle counts failures per address (5 at once): each test that fails a password uses source
addresses of its own (127.0.0.x, all loopback on Linux), and its own accounts.  Tests synchronise
on replies, never on sleeps.
"""

from __future__ import annotations

import itertools
import json
import shutil
import signal
import socket
import tempfile
import unittest
from pathlib import Path

from support import TIMEOUT, Client, ServerProcess, err

from algokart_chat import protocol
from algokart_chat.accounts import Account, Accounts, ScryptParams, hash_password
from algokart_chat.accounts_file import load_accounts, save_accounts

FAST = ScryptParams(n=16, r=1, p=1)  # (the tests' hashes: the cost is not what they test)
NAMES = ("alice", "bob", "carol", "dave", "erin", "fay", "gus", "hal", "名前")
_sources = itertools.count(2)


def password_of(name: str) -> str:
    return f"{name} has a long pass phrase"


def accounts_file(folder: Path, *names: str) -> Path:
    path = folder / "accounts"
    save_accounts(path, Accounts(Account(name, hash_password(password_of(name), FAST)) for name in names))
    return path


def new_folder(test: unittest.TestCase | type[unittest.TestCase]) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="algokart-logins-"))
    if isinstance(test, unittest.TestCase):
        test.addCleanup(shutil.rmtree, folder, True)
    else:
        test.addClassCleanup(shutil.rmtree, folder, True)
    return folder


def new_source() -> str:
    """A loopback address no other test of this run has failed a password from."""
    number = next(_sources)
    return f"127.0.{number // 250}.{number % 250 + 2}"


class AccountServerTestCase(unittest.TestCase):
    server: ServerProcess

    def connect(self, source: str = "127.0.0.1", server: ServerProcess | None = None) -> Client:
        sock = socket.socket()
        sock.settimeout(TIMEOUT)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", (server or self.server).port))
        client = Client(0, sock=sock)
        self.addCleanup(client.close)
        return client

    def login(self, name: str, password: str, source: str = "127.0.0.1", server: ServerProcess | None = None) -> str:
        """The reply to ``LOGIN name password`` on a new connection (left open)."""
        client = self.connect(source, server)
        client.send(f"LOGIN {name} {password}".rstrip())
        return client.read_line()


class AccountLoginTest(AccountServerTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.server = ServerProcess("--accounts", str(accounts_file(new_folder(cls), *NAMES)))
        cls.addClassCleanup(cls.server.stop)

    def test_a_registered_name_with_its_password(self) -> None:
        client = self.connect()
        client.send(f"LOGIN alice {password_of('alice')}", "WHO")
        self.assertEqual(client.sync(), ["OK", "USER alice"])
        self.server.wait_for_log(r"^Login: alice from 127\.0\.0\.1:\d+ \(account\)$")
        client.send(f"LOGIN alice {password_of('alice')}")
        client.expect(err("already-logged-in"))

    def test_any_spelling_of_the_name_is_the_account_and_is_shown_as_typed(self) -> None:
        client = self.connect()
        client.send(f"LOGIN 名前 {password_of('名前')}")
        client.expect("OK")
        other = self.connect()
        other.send(f"LOGIN BOB {password_of('bob')}", "WHO")
        self.assertEqual(other.sync()[0], "OK")
        self.assertEqual(self.login("bob", password_of("bob")), err("username-taken"))  # (its owner is online)

    def test_a_registered_name_without_a_password(self) -> None:
        client = self.connect()
        client.send("LOGIN carol", "LOGIN CAROL   ", "LOGIN caro1")  # (caro1 looks like carol: one account)
        client.expect(*[err("password-required")] * 3)
        client.send(f"LOGIN carol {password_of('carol')}")
        client.expect("OK")

    def test_a_wrong_password_then_the_right_one(self) -> None:
        client = self.connect(new_source())
        client.send(
            "LOGIN dave not it", "PING", f"LOGIN dave {password_of('dave')}x", f"LOGIN dave {password_of('dave')}"
        )
        client.expect(err("bad-password"), "PONG", err("bad-password"), "OK")
        self.server.wait_for_log(r"^Login failed: dave from 127\.0\.\d+\.\d+:\d+ \(bad-password\)$")

    def test_a_name_without_an_account(self) -> None:
        client = self.connect()
        client.send("LOGIN zed some password", "LOGIN zed", "WHO")
        client.expect(err("no-such-account"), "OK")
        self.assertIn("USER zed", client.sync())
        self.server.wait_for_log(r"^Login: zed from 127\.0\.0\.1:\d+$")  # (a guest's line, as before)

    def test_an_invalid_name_is_invalid_whatever_follows(self) -> None:
        client = self.connect()
        client.send("LOGIN", "LOGIN a:b pw", "LOGIN " + "x" * 33 + " pw")
        client.expect(*[err("invalid-username")] * 3)

    def test_five_failures_from_one_address_then_too_many_attempts(self) -> None:
        source = new_source()
        client = self.connect(source)
        client.send(*(f"LOGIN erin guess {number}" for number in range(5)))
        client.expect(*[err("bad-password")] * 5)
        client.send(f"LOGIN erin {password_of('erin')}", f"LOGIN gus {password_of('gus')}", "LOGIN nobody")
        client.expect(err("too-many-attempts"), err("too-many-attempts"), "OK")  # (a guest's login needs no check)
        self.assertEqual(self.login("gus", password_of("gus"), new_source()), "OK")  # (from elsewhere)

    def test_five_failures_on_one_account_from_anywhere_then_too_many_attempts(self) -> None:
        owner = new_source()
        client = self.connect(owner)
        client.send(f"LOGIN fay {password_of('fay')}", "QUIT")
        self.assertEqual(client.read_until_closed(), ["OK", "Goodbye!"])
        for number in range(5):
            self.assertEqual(self.login("fay", f"guess {number}", new_source()), err("bad-password"))
        self.assertEqual(self.login("fay", password_of("fay"), new_source()), err("too-many-attempts"))
        self.assertEqual(self.login("fay", password_of("fay"), owner), "OK")  # its owner is not locked out


class RequireAccountTest(AccountServerTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.server = ServerProcess("--accounts", str(accounts_file(new_folder(cls), "alice")), "--require-account")
        cls.addClassCleanup(cls.server.stop)

    def test_only_accounts_may_log_in(self) -> None:
        client = self.connect()
        client.send("LOGIN guest", "LOGIN guest pw", "LOGIN alice", "MSG hi", f"LOGIN alice {password_of('alice')}")
        client.expect(
            err("account-required"), err("account-required"), err("password-required"), err("not-logged-in"), "OK"
        )


class ReloadTest(AccountServerTestCase):
    def test_an_account_added_needs_its_password_after_sighup_and_a_guest_keeps_the_name_until_it_leaves(self) -> None:
        folder = new_folder(self)
        path = accounts_file(folder, "alice")
        self.server = ServerProcess("--accounts", str(path))
        self.addCleanup(self.server.stop)
        before = self.connect()
        before.send("LOGIN frank", "QUIT")
        self.assertEqual(before.read_until_closed(), ["OK", "Goodbye!"])
        guest = self.connect()
        guest.send("LOGIN gina")
        guest.expect("OK")
        accounts = load_accounts(path)
        for name in ("frank", "gina"):
            accounts = accounts.with_account(Account(name, hash_password(password_of(name), FAST)))
        save_accounts(path, accounts)
        self.server.process.send_signal(signal.SIGHUP)
        self.server.wait_for_log(r"^Accounts reloaded from .*: 3 accounts$")
        self.assertEqual(self.login("frank", ""), err("password-required"))
        self.assertEqual(self.login("frank", password_of("frank")), "OK")
        self.assertEqual(self.login("gina", password_of("gina")), err("username-taken"))  # the guest has it
        guest.send("WHO")
        self.assertIn("USER gina", guest.sync())
        guest.send("QUIT")
        self.assertEqual(guest.read_until_closed(), ["Goodbye!"])
        self.assertEqual(self.login("gina", ""), err("password-required"))
        self.assertEqual(self.login("gina", password_of("gina")), "OK")
        self.assertEqual(self.login("hank", ""), "OK")  # (names without an account: guests as before)


class NoPasswordInTheLogsTest(AccountServerTestCase):
    def test_no_log_line_at_any_level_in_either_format_holds_a_password(self) -> None:
        folder = new_folder(self)
        path = accounts_file(folder, "alice")
        secret, wrong, stray = password_of("alice"), "Wr0ng-Secret-f00", "Stray-Secret-b4r"
        for log_format in ("text", "json"):
            with self.subTest(log_format=log_format):
                server = ServerProcess("--accounts", str(path), "--log-level", "debug", "--log-format", log_format)
                try:
                    source = new_source()
                    client = self.connect(source, server)
                    client.send(f"LOGIN alice {wrong}", f"LOGIN nobody {stray}", f"LOGIN alice {secret}", "QUIT")
                    client.expect(err("bad-password"), err("no-such-account"), "OK", "Goodbye!")
                    other = self.connect(source, server)
                    other.send(*(f"LOGIN alice {wrong}{number}" for number in range(6)))  # into the throttle
                    other.read_lines(6)
                finally:
                    server.stop()
                lines = [*server.raw_log, *server.errors.splitlines()]
                logins = [line for line in lines if "alice" in line]
                self.assertTrue(any("Login failed" in line for line in logins), lines)
                self.assertTrue(any("too-many-attempts" in line for line in logins), lines)  # (the DEBUG line)
                if log_format == "json":
                    login = next(json.loads(line) for line in lines if '"event": "login"' in line)
                    self.assertEqual((login["user"], login["account"]), ("alice", True))
                for password in (secret, wrong, stray, "long pass phrase", "Secret"):
                    self.assertEqual([line for line in lines if password in line], [])


class WithoutAccountsTest(AccountServerTestCase):
    """The plain LOGIN <username>, unchanged on a server without --accounts."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = ServerProcess()
        cls.addClassCleanup(cls.server.stop)

    def test_login_takes_the_whole_argument_as_the_name(self) -> None:
        client = self.connect()
        client.send("LOGIN alice secret", "LOGIN a b", "HELP")
        client.expect(err("invalid-username"), err("invalid-username"))
        self.assertEqual("".join(f"{line}\n" for line in client.sync()).encode(), protocol.HELP)
        client.send("LOGIN alice", "LOGIN alice")
        client.expect("OK", err("already-logged-in"))


if __name__ == "__main__":
    unittest.main()
