"""The command ``algokart-chat`` (``command``): ``accounts ...`` goes to the accounts file's command,
everything else to the server, and managing accounts never loads the server."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from support import SRC, TIMEOUT

from algokart_chat import command


class DispatchTest(unittest.TestCase):
    def test_accounts_first_goes_to_the_accounts_command_the_rest_to_the_server(self) -> None:
        with mock.patch("algokart_chat.accounts_cli.main", return_value=7) as accounts:
            self.assertEqual(command.main(["accounts", "--accounts", "f", "list"]), 7)
        accounts.assert_called_once_with(["--accounts", "f", "list"])
        with mock.patch("algokart_chat.main.main", return_value=3) as server:
            self.assertEqual(command.main(["--port", "0", "accounts"]), 3)
            self.assertEqual(command.main([]), 3)
        self.assertEqual(server.call_args_list, [mock.call(["--port", "0", "accounts"]), mock.call([])])

    def test_managing_accounts_never_loads_the_server(self) -> None:
        # The accounts command's start-up is its own: not the server's event loop, TLS, sessions
        # or rooms (over half of the server's).
        folder = Path(tempfile.mkdtemp(prefix="algokart-command-"))
        self.addCleanup(shutil.rmtree, folder, True)
        (folder / "accounts").write_text("", encoding="utf-8")
        loaded = (
            "import sys; from algokart_chat.command import main; status = main(sys.argv[1:]); "
            "print(*sorted(m for m in sys.modules if m in ('asyncio', 'ssl', 'algokart_chat.main')"
            " or m.startswith(('algokart_chat.server', 'algokart_chat.sessions', 'algokart_chat.transport'))))"
        )
        argv = [sys.executable, "-c", loaded, "accounts", "--accounts", str(folder / "accounts"), "list"]
        result = subprocess.run(argv, capture_output=True, text=True, cwd=str(SRC), timeout=TIMEOUT, check=False)
        self.assertEqual((result.returncode, result.stdout, result.stderr), (0, "\n", ""))


if __name__ == "__main__":
    unittest.main()
