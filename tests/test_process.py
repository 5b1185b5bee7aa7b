"""The server as a process (main.py end to end): settings, startup failures, exit statuses, graceful
shutdown.  The command's pure parts: test_main."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from support import SRC, ServerProcess, run_server, unused_port

from algokart_chat.transport.connection import CLOSE_GRACE_SECONDS


class StartupTest(unittest.TestCase):
    def test_port_from_the_environment(self) -> None:
        free_port = unused_port()
        with ServerProcess(env={"PORT": str(free_port)}, port_flag=False) as server:
            self.assertEqual(server.port, free_port)
            with server.client() as client:
                self.assertEqual(client.sync(), [])

    def test_flag_beats_environment(self) -> None:
        with ServerProcess(env={"PORT": "1"}) as server:  # --port 0 wins over PORT=1
            self.assertNotEqual(server.port, 1)

    def test_host_setting(self) -> None:
        with ServerProcess("--host", "127.0.0.1") as server, server.client() as client:
            self.assertEqual(client.sync(), [])

    def test_port_in_use_exits_1_with_one_line(self) -> None:
        with ServerProcess() as server:
            result = run_server("--host", "127.0.0.1", "--port", str(server.port))
        self.assertEqual(result.returncode, 1)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn(str(server.port), result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_bad_settings_exit_2_with_one_line_naming_it(self) -> None:
        # A bad value of a flag or a variable (every setting's: test_config), and a flag argparse
        # does not know: the process's side of the rule.
        cases = [(["--port", "99999"], {}, "--port"), ([], {"PORT": "abc"}, "PORT"), (["--nonsense"], {}, "--nonsense")]
        for args, env, name in cases:
            with self.subTest(args=args, env=env):
                result = run_server(*args, env=env)
                self.assertEqual(result.returncode, 2)
                self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
                self.assertIn(name, result.stderr)

    def test_cluster_mode_without_redis_py_says_what_to_install(self) -> None:
        result = run_server("--port", "0", "--redis-url", "redis://127.0.0.1:1/0", without_modules=("redis",))
        self.assertEqual(result.returncode, 2)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn("pip install -r requirements-cluster.txt", result.stderr)
        self.assertIn("python3 -m venv .venv", result.stderr)  # (Debian and Ubuntu refuse a system-wide pip)

    def test_cluster_mode_with_a_redis_py_too_old_names_both_versions(self) -> None:
        with tempfile.TemporaryDirectory() as directory:  # Debian 12's python3-redis, as far as we care
            package = Path(directory, "redis")
            package.mkdir()
            (package / "__init__.py").write_text('__version__ = "4.3.4"\n')
            (package / "asyncio.py").write_text("")
            result = run_server("--port", "0", "--redis-url", "redis://127.0.0.1:1/0", env={"PYTHONPATH": directory})
        self.assertEqual(result.returncode, 2)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn("needs redis-py 5.0.1 or newer (found 4.3.4)", result.stderr)

    def test_standalone_mode_needs_nothing_but_the_standard_library(self) -> None:
        with (
            ServerProcess(without_modules=("redis", "hiredis")) as server,
            server.client() as alice,
            server.client() as bob,
        ):
            alice.login()
            bob.login()
            alice.send("MSG hi")
            bob.expect(f"MSG {alice.name} hi")

    def test_help_lists_every_setting(self) -> None:
        result = run_server("--help")
        self.assertEqual(result.returncode, 0)
        for name in (
            "--host",
            "HOST",
            "--port",
            "PORT",
            "--idle-timeout",
            "IDLE_TIMEOUT",
            "--max-clients",
            "MAX_CLIENTS",
            "--log-level",
            "LOG_LEVEL",
            "--redis-url",
            "REDIS_URL",
            "--cluster-name",
            "CLUSTER_NAME",
            "--node-timeout",
            "NODE_TIMEOUT",
        ):
            self.assertIn(name, result.stdout)


def python_3_9() -> str | None:
    """A Python 3.9 that runs on this machine (pyenv's, or python3.9 on PATH), if there is one."""
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(glob.glob(os.path.join(pyenv_root, "versions", "3.9.*", "bin", "python")))
    candidates += [found] if (found := shutil.which("python3.9")) else []  # (pyenv's shim may not run)
    for candidate in candidates:
        probe = [candidate, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 9))"]
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            if subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode == 0:
                return candidate
    return None


class OldPythonTest(unittest.TestCase):
    """Python 3.9 (below requires-python) gets one line naming the version needed, status 1."""

    def test_each_entry_point_names_the_version_it_needs(self) -> None:
        old_python = python_3_9()
        if old_python is None:
            self.skipTest("no Python 3.9 here (python3.9 on PATH, or pyenv's)")
        for script in ("server.py", "test_client.py"):
            with self.subTest(script):
                result = subprocess.run(
                    [old_python, str(SRC / script), "--version"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=False,
                )
                self.assertEqual(result.returncode, 1)
                self.assertRegex(
                    result.stderr, rf"\A{script}: error: Python 3\.10 or newer is needed \(this is 3\.9\.\d+\)\n\Z"
                )


class ShutdownTest(unittest.TestCase):
    def shut_down_with(self, signum: int) -> None:
        # A send buffer limit big enough that the stalled client below is not dropped before the
        # shutdown: it must still owe megabytes, beyond what the kernel's buffers absorb, so the
        # server has to give up on it (after 1 s) to exit in time.
        server = ServerProcess("--rate-limit", "0", "--rate-limit-bytes", "0", "--max-send-buffer", str(64 << 20))
        try:
            clients = [server.client() for _ in range(3)]
            clients[0].login()
            clients[1].login()
            for client in clients:
                client.sync()
            stalled = server.client()  # a client that stops reading with 12 MB owed to it
            stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stalled.login()
            clients[0].send(*(f"MSG {'x' * 8000}" for _ in range(1500)))
            clients[1].read_lines(1500)
            started = time.monotonic()
            status = server.stop(signum)
            elapsed = time.monotonic() - started
            self.assertEqual(status, 0)
            # The stalled reader was given up on by the shutdown's own 1 s grace, not after the
            # 5 s a closing connection normally gets (a generous bound: the machine may be busy).
            self.assertIn("Aborting 1 connection that did not read their last lines within 1 s", server.log)
            self.assertLess(elapsed, CLOSE_GRACE_SECONDS)
            for client in clients:
                self.assertEqual(client.read_until_closed(), ["INFO server-shutdown"])
                client.close()
            stalled.close()
            self.assertEqual(server.log[-1], "Server stopped")
            self.assertLess(
                server.log.index("Aborting 1 connection that did not read their last lines within 1 s"),
                len(server.log) - 1,
            )
        finally:
            server.stop()

    @unittest.skipIf(sys.platform == "win32", "a child's Ctrl+C cannot be sent from here on Windows")
    def test_ctrl_c(self) -> None:
        self.shut_down_with(signal.SIGINT)

    @unittest.skipIf(sys.platform == "win32", "no SIGTERM delivery to a child on Windows")
    def test_sigterm(self) -> None:
        self.shut_down_with(signal.SIGTERM)


if __name__ == "__main__":
    unittest.main()
