"""An irctest controller for algokart-chat: what the reference suite needs to know about the server.

irctest (https://github.com/progval/irctest) starts the server under test for each test through a
controller.  This one starts ``src/server.py`` of the checkout it lives in (a fresh accounts file and
a free port each time, loopback only), with the one channel ``#chan`` and irctest's server name, and
tells irctest what the server offers: its IRCv3 capabilities, SASL PLAIN, the ISUPPORT values it
sends.  An IRC operator is the account ``operuser`` with the op role (irctest's ``OPER operuser
operpassword``); ``registerUser`` adds an account with the ``accounts`` command and SIGHUPs the server,
waiting for its reload line.  What the server does not offer is skipped, with the reason, by raising
irctest's NotImplementedByController: server passwords, TLS listeners for a test, websockets.

Not part of the package and not run by CI: tools/irctest.sh runs it (CONTRIBUTING.md, *irctest*).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional, Set, Type

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController
from irctest.specifications import Capabilities, OptionalBehaviors

CHECKOUT = Path(os.environ.get("ALGOKART_CHECKOUT", Path(__file__).resolve().parents[2]))
PYTHON = os.environ.get("ALGOKART_PYTHON", sys.executable)
RELOADED = "Accounts reloaded from"
READY = "Waiting for connections"


class AlgokartController(BaseServerController, DirectoryBasedController):
    software_name = "algokart-chat"
    supported_sasl_mechanisms: Set[str] = {"PLAIN"}
    supports_sts = False
    _port_wait_interval = 0.02

    capabilities = frozenset(
        (
            Capabilities.ACCOUNT_NOTIFY,
            Capabilities.ACCOUNT_TAG,
            Capabilities.AWAY_NOTIFY,
            Capabilities.BATCH,
            Capabilities.ECHO_MESSAGE,
            Capabilities.EXTENDED_JOIN,
            Capabilities.LABELED_RESPONSE,
            Capabilities.MESSAGE_TAGS,
            Capabilities.MULTI_PREFIX,
            Capabilities.SERVER_TIME,
        )
    )
    optional_behaviors = frozenset(
        (
            OptionalBehaviors.CAP_REQ_MINUS,
            OptionalBehaviors.MULTI_PRIVMSG,
        )
    )
    isupport = {
        "CASEMAPPING": "ascii",
        "CHANTYPES": "#",
        "PREFIX": "(o)@",
        "TARGMAX": "PRIVMSG:4,NOTICE:4",
        "UTF8ONLY": None,
    }

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
        websocket_hostname: Optional[str] = None,
        websocket_port: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        if websocket_hostname is not None or websocket_port is not None:
            raise NotImplementedByController("Websocket")
        if password is not None:
            raise NotImplementedByController("server passwords (PASS is an account's password)")
        if ssl:
            raise NotImplementedByController("TLS listeners in irctest")
        assert self.proc is None
        self.port = port
        self.hostname = hostname
        self.create_config()
        assert self.directory
        self.accounts = self.directory / "accounts"
        self.log = self.directory / "server.log"
        self._account("operuser", "operpassword", op=True)
        self.log_file = self.log.open("w")
        self.proc = self.execute(
            [
                PYTHON,
                CHECKOUT / "src" / "server.py",
                "--host", hostname,
                "--port", "0",
                "--irc-port", str(port),
                "--irc-channel", "#chan",
                "--irc-server-name", "My.Little.Server",
                "--max-per-ip", "0",
                "--max-new-per-ip", "0",
                "--accounts", self.accounts,
            ],
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )
        # Ready once it says so: its SIGHUP handler is in place then (registerUser's reload needs
        # it), and the accounts file has been read.
        deadline = time.monotonic() + 60
        while READY not in self.log.read_text():
            self.check_is_alive()
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)

    def _account(self, name: str, password: str, op: bool = False) -> None:
        """Add the account, or set its password if it is there."""
        base = [PYTHON, "-m", "algokart_chat", "accounts", "--accounts", str(self.accounts)]
        env = dict(os.environ, PYTHONPATH=str(CHECKOUT / "src"))
        added = subprocess.run(
            [*base, "add", name, *(["--op"] if op else [])],
            input=password + "\n", text=True, capture_output=True, env=env,
        )
        if added.returncode != 0:
            subprocess.run(
                [*base, "passwd", name], input=password + "\n", text=True,
                capture_output=True, env=env, check=True,
            )

    def wait_for_services(self) -> None:
        """No services: accounts are the server's own, added by ``registerUser``."""
        self.wait_for_port()

    def registerUser(self, case: Any, username: str, password: Optional[str] = None) -> None:
        assert self.proc and password is not None
        before = self.log.read_text().count(RELOADED)
        self._account(username, password)
        os.kill(self.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 60  # (a loaded machine hashes slowly)
        while self.log.read_text().count(RELOADED) <= before:
            self.check_is_alive()
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not reload its accounts")
            time.sleep(0.01)

    def kill_proc(self) -> None:
        super().kill_proc()
        self.log_file.close()


def get_irctest_controller_class() -> Type[AlgokartController]:
    return AlgokartController
