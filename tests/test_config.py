"""Unit tests of the settings: flags beat the environment, which beats the defaults."""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import os
import shutil
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import support  # (also puts src/ on sys.path)

from algokart_chat import irc
from algokart_chat.accounts import Account, Accounts, ScryptParams, hash_password
from algokart_chat.accounts_file import save_accounts
from algokart_chat.config import SettingsError, load_settings

TLS = support.ROOT / "tests" / "tls"
IRC_TLS = ["--irc-tls-port", "6697", "--tls-cert", str(TLS / "localhost.crt"), "--tls-key", str(TLS / "localhost.key")]


class SettingsTest(unittest.TestCase):
    def test_defaults(self) -> None:
        settings = load_settings([], {})
        self.assertEqual((settings.host, settings.port, settings.idle_timeout), (None, 4000, 0.0))
        self.assertEqual((settings.max_clients, settings.log_level), (10000, logging.INFO))
        self.assertEqual(settings.max_line_bytes, 8192)
        self.assertEqual(settings.ipv6_prefix, 64)

    def test_flag_beats_environment_beats_default(self) -> None:
        self.assertEqual(load_settings([], {"PORT": "5000"}).port, 5000)
        self.assertEqual(load_settings(["--port", "6000"], {"PORT": "5000"}).port, 6000)
        self.assertEqual(load_settings([], {"PORT": ""}).port, 4000)

    def test_every_setting_from_flags_and_environment(self) -> None:
        flags = load_settings(
            ["--host", "127.0.0.1", "--idle-timeout", "0.5", "--max-clients", "3", "--log-level", "debug"], {}
        )
        environment = load_settings(
            [], {"HOST": "127.0.0.1", "IDLE_TIMEOUT": "0.5", "MAX_CLIENTS": "3", "LOG_LEVEL": "debug"}
        )
        self.assertEqual(flags, environment)
        self.assertEqual((flags.host, flags.idle_timeout, flags.max_clients), ("127.0.0.1", 0.5, 3))
        self.assertEqual(flags.log_level, logging.DEBUG)

    def test_bad_values_name_the_setting(self) -> None:
        cases = [
            (["--port", "70000"], {}, "--port"),
            (["--port", "4k"], {}, "--port"),
            ([], {"PORT": "-1"}, "PORT"),
            ([], {"IDLE_TIMEOUT": "soon"}, "IDLE_TIMEOUT"),
            (["--idle-timeout", "nan"], {}, "--idle-timeout"),
            (["--max-clients", "0"], {}, "--max-clients"),
            ([], {"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
            (["--max-line-bytes", "10"], {}, "--max-line-bytes"),
            (["--ipv6-prefix", "129"], {}, "--ipv6-prefix"),
            ([], {"IPV6_PREFIX": "0"}, "IPV6_PREFIX"),
            (["--ipv6-prefix", "/64"], {}, "--ipv6-prefix"),
        ]
        for name, value in (  # a flag, or the variable of one
            ("--idle-timeout", "-1"), ("MAX_CLIENTS", "many"), ("--log-level", "chatty"),
            ("--redis-url", "http://10.0.0.5:6379"), ("REDIS_URL", "redis://"),
            ("--redis-url", "redis://localhost:port/0"), ("--redis-url", "redis://localhost/db"),
            ("--redis-url", "redis://localhost/0?socket_timeout=abc"),
            ("--redis-url", "rediss://localhost/0?ssl_ca_certs=/no/such/ca.crt"),
            ("--redis-url", "redis+sentinel://localhost:26379"),
            ("--cluster-name", "a b"), ("CLUSTER_NAME", "{x}"), ("--node-timeout", "0"), ("NODE_TIMEOUT", "ten"),
        ):  # fmt: skip
            cases.append(([name, value], {}, name) if name.startswith("--") else ([], {name: value}, name))
        for argv, environ, name in cases:
            with self.subTest(argv=argv, environ=environ):
                with self.assertRaises(SettingsError) as caught:
                    load_settings(argv, environ)
                self.assertIn(name, str(caught.exception))
                self.assertNotIn("\n", str(caught.exception))

    def test_a_channel_and_server_name_must_leave_room_for_a_message(self) -> None:
        server = "s" * 63
        with self.assertRaises(SettingsError) as caught:
            load_settings(["--irc-channel", "#" + "😀" * 44, "--irc-server-name", server], {})
        problem = str(caught.exception)
        self.assertIn("--irc-channel (IRC_CHANNEL) and --irc-server-name (IRC_SERVER_NAME)", problem)
        self.assertIn("0 bytes left", problem)
        self.assertNotIn("\n", problem)
        accepted = [
            length
            for length in range(1, 50)
            if not self._refused(["--irc-channel", "#" + "😀" * length], {"IRC_SERVER_NAME": server})
        ]
        self.assertEqual(accepted, list(range(1, 37)))  # at most 32 bytes of text would be left beyond
        self.assertFalse(self._refused(["--irc-channel", "#" + "c" * 49, "--irc-server-name", server], {}))

    def test_the_longest_names_accepted_split_a_message_of_4_byte_characters_within_512_bytes(self) -> None:
        server, channel = "s" * 63, "#" + "😀" * 36  # the longest the settings accept together (above)
        settings = load_settings(["--irc-channel", channel, "--irc-server-name", server], {})
        for text in ("😀" * 2048, " ".join(["😀" * 9] * 200)):  # 8 KiB of 4-byte characters
            for target in (settings.irc_channel, irc.LONGEST_NICK):
                head = irc.text_head(irc.LONGEST_NICK, settings.irc_server_name, "PRIVMSG", target)
                lines = list(itertools.islice(irc.lines_for(head, text), len(text)))  # (bounded, should it loop)
                self.assertTrue(all(len(line) <= 512 for line in lines))
                self.assertEqual(b"".join(line[len(head) : -2] for line in lines).decode(), text)
                if " " not in text:
                    self.assertLessEqual(len(lines), len(text.encode()) // irc.MIN_TEXT_BYTES)

    def test_the_irc_server_name_reveals_nothing_of_the_machine(self) -> None:
        self.assertEqual(load_settings([], {}).irc_server_name, "algokart.chat")
        with mock.patch("socket.gethostname", return_value="db7.internal.example"):
            self.assertEqual(load_settings([], {"IRC_SERVER_NAME": ""}).irc_server_name, "algokart.chat")
        self.assertEqual(load_settings(["--irc-server-name", "irc.example.org"], {}).irc_server_name, "irc.example.org")

    def test_the_accounts_file_is_checked_at_start(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="algokart-config-"))
        self.addCleanup(shutil.rmtree, folder, True)
        good, bad = folder / "accounts", folder / "bad"
        save_accounts(good, Accounts([Account("alice", hash_password("pw", ScryptParams(16, 1, 1)))]))
        bad.write_text("alice:hunter2\n", encoding="utf-8")
        self.assertEqual(load_settings(["--accounts", str(good)], {}).accounts, str(good))
        self.assertEqual(load_settings([], {"ACCOUNTS": str(good)}).accounts, str(good))
        self.assertIsNone(load_settings([], {}).accounts)
        for argv, environ, named in (
            (["--accounts", str(bad)], {}, f"invalid --accounts value {str(bad)!r}: {bad}, line 1: "),
            ([], {"ACCOUNTS": str(folder / "none")}, "invalid ACCOUNTS value"),
            (["--require-account"], {}, "--require-account (REQUIRE_ACCOUNT) needs --accounts (ACCOUNTS)"),
            (["--require-account", "maybe"], {}, "expected yes or no"),
        ):
            with self.subTest(argv=argv, environ=environ), self.assertRaises(SettingsError) as caught:
                load_settings(argv, environ)
            self.assertIn(named, str(caught.exception))
            self.assertNotIn("\n", str(caught.exception))
            self.assertNotIn("hunter2", str(caught.exception))
        with mock.patch("algokart_chat.options.scrypt_available", return_value=False):
            self.assertRaisesRegex(SettingsError, "OpenSSL 1.1", load_settings, ["--accounts", str(good)], {})

    def test_require_account_is_a_switch(self) -> None:
        environ = {"ACCOUNTS": os.devnull}
        self.assertFalse(load_settings([], environ).require_account)
        self.assertTrue(load_settings(["--require-account"], environ).require_account)
        self.assertFalse(load_settings(["--require-account", "no"], environ).require_account)
        self.assertTrue(load_settings([], {**environ, "REQUIRE_ACCOUNT": "yes"}).require_account)
        self.assertFalse(load_settings(["--require-account=off"], {**environ, "REQUIRE_ACCOUNT": "1"}).require_account)

    @staticmethod
    def _refused(argv: list[str], environ: dict[str, str]) -> bool:
        try:
            load_settings(argv, environ)
        except SettingsError:
            return True
        return False

    def test_unknown_flag_is_one_line_and_status_2(self) -> None:
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors), self.assertRaises(SystemExit) as caught:
            load_settings(["--bogus"], {}, prog="server.py")
        self.assertEqual(caught.exception.code, 2)
        self.assertEqual(len(errors.getvalue().splitlines()), 1)
        self.assertIn("--bogus", errors.getvalue())


if __name__ == "__main__":
    unittest.main()
