"""Unit tests of what the program calls itself (version.py): the name its messages give it, as it
was started, and its version from one place (``--version``, and pyproject.toml reads it from
here).  The package built and installed: test_packaging."""

from __future__ import annotations

import sys
import unittest
from unittest import mock

from support import ROOT, run_server

from algokart_chat.version import __version__, command_name


class CommandNameTest(unittest.TestCase):
    def test_messages_name_the_command_used(self) -> None:
        cases = {
            "src/server.py": "server.py",
            "/venv/bin/algokart-chat": "algokart-chat",
            "algokart-chat.exe": "algokart-chat",
            "dist/algokart-chat.pyz": "algokart-chat.pyz",
            "/usr/lib/python3/unittest/__main__.py": "server.py",
            "/venv/lib/python3.12/site-packages/algokart_chat/__main__.py": "python -m algokart_chat",
        }
        for started_as, shown in cases.items():
            with self.subTest(started_as=started_as), mock.patch.object(sys, "argv", [started_as]):
                self.assertEqual(command_name("server.py"), shown)


class VersionTest(unittest.TestCase):
    def test_version_comes_from_one_place(self) -> None:
        result = run_server("--version")
        self.assertEqual((result.returncode, result.stdout), (0, f"algokart-chat {__version__}\n"))
        pyproject = (ROOT / "pyproject.toml").read_text()
        self.assertIn('dynamic = ["version"]', pyproject)
        self.assertIn('version = { attr = "algokart_chat.version.__version__" }', pyproject)


if __name__ == "__main__":
    unittest.main()
