"""Unit tests of the server's command (main.py), its pure parts: the one line that says why a port
cannot be listened on, how redis-py's versions compare, --max-clients fitted to the descriptors
allowed.  The command as a process (settings, startup failures, exit statuses, shutdown):
test_process."""

from __future__ import annotations

import errno
import logging
import socket
import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.config import load_settings
from algokart_chat.main import DESCRIPTOR_RESERVE, REDIS_PY_NEEDED, fit_to_descriptors, listen_error, release_numbers
from algokart_chat.server.listeners import ListenError


class ListenErrorTest(unittest.TestCase):
    def test_each_failure_names_the_address_the_port_and_the_setting(self) -> None:
        cases = [
            (OSError(errno.EADDRINUSE, "Address in use"), "address already in use"),
            (OSError(errno.EACCES, "Permission denied"), "permission denied (ports below 1024 need privileges)"),
            (socket.gaierror(-2, "Name or service not known"), "unknown host"),
            (OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address"), "Cannot assign requested address"),
        ]
        for problem, words in cases:
            with self.subTest(words=words):
                line = listen_error("10.9.8.7", ListenError("--port / PORT", 80, problem))
                self.assertIn("10.9.8.7 port 80", line)
                self.assertIn(words, line)
                self.assertIn("--host / HOST" if isinstance(problem, socket.gaierror) else "--port / PORT", line)
                self.assertNotIn("\n", line)


class RedisPyVersionTest(unittest.TestCase):
    def test_redis_py_versions_compare_by_every_number(self) -> None:
        self.assertLess(release_numbers("5.0.0"), release_numbers(REDIS_PY_NEEDED))
        self.assertGreaterEqual(release_numbers("5.0.1"), release_numbers(REDIS_PY_NEEDED))
        self.assertGreater(release_numbers("10.0.0rc1"), release_numbers("9.9"))
        self.assertEqual(release_numbers("6.2.0.post2"), (6, 2, 0))
        with self.assertRaises(ValueError):
            release_numbers("unknown")


class DescriptorsTest(unittest.TestCase):
    def test_max_clients_is_lowered_to_leave_the_reserve_and_never_below_one(self) -> None:
        settings = load_settings(["--max-clients", "5000"], {})
        self.assertIs(fit_to_descriptors(settings, None), settings)
        self.assertIs(fit_to_descriptors(settings, 5000 + DESCRIPTOR_RESERVE), settings)
        with self.assertLogs("algokart_chat", logging.WARNING) as logged:
            self.assertEqual(fit_to_descriptors(settings, 1024).max_clients, 1024 - DESCRIPTOR_RESERVE)
            self.assertEqual(fit_to_descriptors(settings, 10).max_clients, 1)
        self.assertIn("--max-clients lowered from 5000 to 928", logged.output[0])


if __name__ == "__main__":
    unittest.main()
