"""The terminal client's flags (``client.main.parse_arguments``): HOST and PORT from the
environment, an IPv6 address in brackets, and the flags that are refused (status 2).  (The client
run whole, with its exit statuses, is in test_terminal_client.)"""

from __future__ import annotations

import contextlib
import io
import unittest
from unittest import mock

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.client.main import parse_arguments


class FlagsTest(unittest.TestCase):
    def parse(self, *argv: str, **environment: str) -> tuple[str, int]:
        with mock.patch.dict("os.environ", environment, clear=True):
            arguments = parse_arguments(argv)
        return arguments.host, arguments.port

    def refused(self, *argv: str, **environment: str) -> str:
        stderr = io.StringIO()
        with (
            mock.patch.dict("os.environ", environment, clear=True),
            contextlib.redirect_stderr(stderr),
            self.assertRaises(SystemExit) as exit,
        ):
            parse_arguments(argv)
        self.assertEqual(exit.exception.code, 2)
        return stderr.getvalue().splitlines()[-1]

    def test_defaults_and_the_environment(self) -> None:
        self.assertEqual(self.parse(), ("127.0.0.1", 4000))
        self.assertEqual(self.parse(HOST="chat.example", PORT="4100"), ("chat.example", 4100))
        self.assertEqual(self.parse("--host", "::1", "--port", "5000", HOST="x", PORT="1"), ("::1", 5000))

    def test_an_ipv6_address_in_brackets(self) -> None:
        self.assertEqual(self.parse("--host", "[::1]"), ("::1", 4000))

    def test_refused(self) -> None:
        self.assertIn("invalid PORT value 'http'", self.refused(PORT="http"))
        self.assertIn("port 70000 is out of range 1-65535", self.refused("--port", "70000"))
        self.assertIn("--cafile and --insecure go with --tls", self.refused("--insecure"))
        self.assertIn("--cafile and --insecure go with --tls", self.refused("--cafile", "ca.crt"))


if __name__ == "__main__":
    unittest.main()
