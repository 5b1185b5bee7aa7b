"""Server settings: each a command-line flag with an environment twin (the table: ``options``).

A flag beats the environment, which beats the default.  An empty environment variable counts as
unset.  Every value is checked here, so a bad one stops the server before it binds anything,
with one line that names the setting (``SettingsError``); ``--help`` lists them all.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from algokart_chat import irc
from algokart_chat.options import OPTIONS, yes_or_no
from algokart_chat.version import __version__


class SettingsError(Exception):
    """A setting has a value we cannot use; the message is one line naming it."""


@dataclass(frozen=True)
class Settings:
    host: str | None
    port: int
    idle_timeout: float
    tcp_keepalive: int
    login_timeout: float
    accounts: str | None
    require_account: bool
    bans: str | None
    max_clients: int
    log_level: int
    log_format: str
    stats_interval: float
    max_line_bytes: int
    rate_limit: float
    rate_burst: int
    rate_limit_bytes: float
    rate_burst_bytes: int
    max_send_buffer: int
    send_buffer_soft: int
    send_buffer_soft_seconds: float
    max_per_ip: int
    max_new_per_ip: int
    ipv6_prefix: int
    tls_port: int | None
    tls_cert: str | None
    tls_key: str | None
    irc_port: int | None
    irc_tls_port: int | None
    irc_channel: str
    irc_server_name: str
    irc_join_replay: int
    redis_url: str | None
    cluster_name: str
    node_timeout: float
    cluster_stream_bytes: int
    history_lines: int
    history_bytes: int
    history_age: float


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is a single line (still exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog=prog,
        description="algokart-chat: a multi-user TCP chat server (protocol: docs/PROTOCOL.md).",
        epilog="A flag beats its environment variable, which beats the default. "
        "The accounts file is managed with: accounts {add,remove,passwd,list} (accounts --help).",
    )
    parser.add_argument("--version", action="version", version=f"algokart-chat {__version__}")
    for option in OPTIONS:
        default = f"default {option.default}" if option.default else "no default"
        switch: dict[str, Any] = {"nargs": "?", "const": "yes"} if option.parse is yes_or_no else {}
        parser.add_argument(
            option.flag,
            metavar=option.env,
            help=f"{option.help} [env {option.env}, {default}]",
            **switch,
        )
    return parser


def load_settings(argv: Sequence[str] | None, environ: Mapping[str, str], prog: str | None = None) -> Settings:
    """Settings from flags, then environment, then defaults; SettingsError names a bad one."""
    flags = vars(build_parser(prog).parse_args(argv))
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw, source = flags[option.field], option.flag
        if raw is None:
            raw, source = environ.get(option.env, ""), option.env
        if raw == "":
            raw, source = option.default, f"default of {option.flag}"
        try:
            values[option.field] = option.parse(raw)
        except ValueError as problem:
            raise SettingsError(f"invalid {source} value {raw!r}: {problem}") from None
    settings = Settings(**values)
    tls_files = settings.tls_cert is not None and settings.tls_key is not None
    for port, setting in (
        (settings.tls_port, "--tls-port (TLS_PORT)"),
        (settings.irc_tls_port, "--irc-tls-port (IRC_TLS_PORT)"),
    ):
        if port is not None and not tls_files:
            raise SettingsError(f"{setting} needs both --tls-cert (TLS_CERT) and --tls-key (TLS_KEY)")
    if settings.tls_port is None and settings.irc_tls_port is None and (settings.tls_cert or settings.tls_key):
        raise SettingsError(
            "--tls-cert and --tls-key (TLS_CERT, TLS_KEY) need --tls-port (TLS_PORT) or --irc-tls-port (IRC_TLS_PORT)"
        )
    if settings.require_account and settings.accounts is None:
        raise SettingsError("--require-account (REQUIRE_ACCOUNT) needs --accounts (ACCOUNTS)")
    room = irc.text_room(settings.irc_server_name, settings.irc_channel)
    if room < irc.MIN_TEXT_BYTES:
        raise SettingsError(
            "--irc-channel (IRC_CHANNEL) and --irc-server-name (IRC_SERVER_NAME) are too long together: "
            f"an IRC line would have {max(room, 0)} bytes left for a message (after the prefix of a name of "
            f"32 four-byte characters), and needs {irc.MIN_TEXT_BYTES}; shorten either"
        )
    return settings
