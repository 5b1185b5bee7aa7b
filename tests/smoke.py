"""A smoke test of one way of running algokart-chat: the installed commands, or the one-file .pyz.

    python tests/smoke.py --server .venv/bin/algokart-chat --client .venv/bin/algokart-chat-client
    python tests/smoke.py --server "python dist/algokart-chat.pyz" --client "python dist/algokart-chat.pyz client"

It checks what a new user meets first: ``--version`` of both; the server starts and two users, one
of them on the terminal client, exchange a ``MSG``; ``accounts add`` and ``list`` manage an
accounts file; a bad flag is one line and status 2; an
unreachable Redis is one line and status 1 (status 2 and the install hint where the server's Python
has no redis-py), and, where redis-server is installed, two servers on one Redis are one room.  ``.ci/run`` runs it against the wheel installed in a fresh venv and the .pyz;
``tests/test_packaging.py`` against a .pyz it builds.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
from collections.abc import Sequence
from typing import TYPE_CHECKING

from support import REQUIRE_CLUSTER_TESTS, TIMEOUT, Client, RedisServer

from algokart_chat.version import __version__

if TYPE_CHECKING:  # the checks are a TestCase's methods
    _TestCase = unittest.TestCase
else:
    _TestCase = object


class SmokeChecks(_TestCase):
    """Mixed into a TestCase that sets ``server`` and ``client``, the commands as argument lists
    (not a TestCase itself, so that a module importing it does not run it without them)."""

    server: Sequence[str] = ()
    client: Sequence[str] = ()
    has_redis_py = True

    def test_versions(self) -> None:
        for command, expected in ((self.server, "algokart-chat"), (self.client, "algokart-chat terminal client")):
            result = subprocess.run(
                [*command, "--version"], check=False, capture_output=True, text=True, timeout=TIMEOUT
            )
            self.assertEqual((result.returncode, result.stdout), (0, f"{expected} {__version__}\n"), result.stderr)

    def start_server(self, *flags: str) -> int:
        """Start the server (stopped at cleanup); the port it listens on."""
        command = [*self.server, "--host", "127.0.0.1", "--port", "0", *flags]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(stop, server)
        self.kill_if_hung(server)
        assert server.stdout is not None
        while True:
            line = server.stdout.readline()
            self.assertTrue(line, "the server exited before its startup line")
            if match := re.search(r"Chat server started on port (\d+)", line):
                # The rest of its log is read (and dropped), so that it never blocks on a full pipe.
                threading.Thread(target=server.stdout.read, daemon=True).start()
                return int(match.group(1))

    def test_two_users_exchange_a_message(self) -> None:
        port = self.start_server()
        alice = Client(port).login("alice")
        self.addCleanup(alice.sock.close)
        bob = subprocess.Popen(
            [*self.client, "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(stop, bob)
        self.kill_if_hung(bob)
        assert bob.stdin is not None and bob.stdout is not None
        bob.stdin.write("LOGIN bob\n")
        bob.stdin.flush()
        self.assertEqual(bob.stdout.readline(), "OK\n")
        alice.send("MSG hello bob")
        self.assertEqual(bob.stdout.readline(), "MSG alice hello bob\n")
        bob.stdin.write("MSG hello alice\n")
        bob.stdin.close()  # end of input: the client sends QUIT and waits for the server to close
        alice.expect("MSG bob hello alice", "INFO bob disconnected")
        self.assertEqual(bob.stdout.read(), "Goodbye!\n")
        self.assertEqual(bob.wait(TIMEOUT), 0)

    def test_cluster_mode_runs(self) -> None:
        if not self.has_redis_py:
            self.skipTest("the server's Python has no redis-py")
        if shutil.which("redis-server") is None:
            if os.environ.get(REQUIRE_CLUSTER_TESTS):
                raise AssertionError(f"{REQUIRE_CLUSTER_TESTS} is set but redis-server is not installed")
            self.skipTest("redis-server is not installed")
        redis_server = RedisServer()
        self.addCleanup(redis_server.stop)
        first, second = (self.start_server("--redis-url", redis_server.url) for _ in range(2))
        alice = Client(first).login("alice")
        self.addCleanup(alice.sock.close)
        bob = Client(second).login("bob")
        self.addCleanup(bob.sock.close)
        alice.send("MSG across nodes")
        bob.expect("MSG alice across nodes")

    def kill_if_hung(self, process: subprocess.Popen[str]) -> None:
        """A guard on the blocking reads of its pipes: a hang becomes a failure, never a stuck run."""
        guard = threading.Timer(4 * TIMEOUT, process.kill)
        guard.start()
        self.addCleanup(guard.cancel)

    def test_the_accounts_command(self) -> None:
        with tempfile.TemporaryDirectory(prefix="algokart-smoke-") as folder:
            command = [*self.server, "accounts", "--accounts", os.path.join(folder, "accounts")]

            def run(*args: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    [*command, *args], input="pw\n", capture_output=True, text=True, timeout=TIMEOUT, check=False
                )

            added, listed, refused = run("add", "alice", "--op"), run("list"), run("remove", "bob")
        self.assertEqual((added.returncode, added.stdout), (0, "Added alice (op)\n"), added.stderr)
        self.assertEqual((listed.returncode, listed.stdout), (0, "alice op\n"), listed.stderr)
        self.assertEqual(refused.returncode, 2)
        self.assertRegex(refused.stderr, r"^algokart-chat(\.pyz)? accounts: error: 'bob' has no account")

    def test_a_bad_flag_is_one_line_and_status_2(self) -> None:
        result = subprocess.run([*self.server, "--bogus"], check=False, capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)

    def test_an_unreachable_redis_is_one_line_and_status_1(self) -> None:
        command = [*self.server, "--port", "0", "--redis-url", "redis://127.0.0.1:1/0"]
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        if self.has_redis_py:
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertIn("127.0.0.1:1", result.stderr)
        else:
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn("needs redis-py", result.stderr)


def stop(process: subprocess.Popen[str]) -> None:
    """Kill ``process`` if it still runs, reap it and close its pipes."""
    process.kill()
    process.wait(TIMEOUT)
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()


def smoke_suite(server: Sequence[str], client: Sequence[str], has_redis_py: bool = True) -> unittest.TestSuite:
    """The smoke tests, bound to one way of running the server and the client."""
    settings = {"server": tuple(server), "client": tuple(client), "has_redis_py": has_redis_py}
    bound = type("Smoke", (SmokeChecks, unittest.TestCase), settings)
    return unittest.defaultTestLoader.loadTestsFromTestCase(bound)


def main() -> int:
    parser = argparse.ArgumentParser(description="Smoke-test one way of running algokart-chat.")
    parser.add_argument("--server", required=True, help="the server command, e.g. .venv/bin/algokart-chat")
    parser.add_argument("--client", required=True, help="the terminal client command")
    parser.add_argument("--without-redis-py", action="store_true", help="the server's Python has no redis-py")
    arguments = parser.parse_args()
    suite = smoke_suite(shlex.split(arguments.server), shlex.split(arguments.client), not arguments.without_redis_py)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
