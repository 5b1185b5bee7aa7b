"""The table of settings: every option's flag, environment twin, default, help, and the reader
that turns its text into a value or refuses it with a reason (``ValueError``).  ``config`` reads
them (flag, then environment, then default) into ``Settings``; ``--help`` lists them all.

Files named by a setting (``--accounts``, ``--bans``) are read once here to check them, so a bad
one stops the server at start, before it binds anything.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from algokart_chat.accounts import ScryptUnavailable, scrypt_available
from algokart_chat.accounts_file import AccountsFileError, load_accounts
from algokart_chat.bans_file import BansFileError, load_entries
from algokart_chat.cluster.entries import is_valid_cluster_name
from algokart_chat.cluster.target import TLS_FILE_OPTIONS, parse_redis_url

_WHOLE_NUMBER = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def _whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    wanted = f"a whole number from {low}" + (f" to {high}" if high is not None else " up")

    def parse(raw: str) -> int:
        if not _WHOLE_NUMBER.fullmatch(raw) or int(raw) < low or (high is not None and int(raw) > high):
            raise ValueError(f"expected {wanted}")
        return int(raw)

    return parse


def _decimal(expected: str) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        if not _DECIMAL.fullmatch(raw):
            raise ValueError(f"expected {expected} (0 turns it off)")
        return float(raw)

    return parse


_port = _whole_number(0, 65535)


def _optional_port(raw: str) -> int | None:
    return _port(raw) if raw else None


def _optional_path(raw: str) -> str | None:
    return raw or None


def _host(raw: str) -> str | None:
    if any(char.isspace() for char in raw):
        raise ValueError("expected a host name or IP address")
    return raw or None


def _redis_url(raw: str) -> str | None:
    if not raw:
        return None
    target = parse_redis_url(raw)  # ValueError names what is wrong
    for name, value in target.tls_options:
        if name in TLS_FILE_OPTIONS and not os.access(str(value), os.R_OK):
            raise ValueError(f"{name}: cannot read {value}")
    return raw


def _bans_file(raw: str) -> str | None:
    """The file's path, once it is known to be usable (no file yet is fine: the first ban makes it)."""
    if not raw:
        return None
    try:
        load_entries(raw, 0.0, 64)
    except BansFileError as problem:
        raise ValueError(str(problem)) from None
    return raw


def _accounts_file(raw: str) -> str | None:
    """The file's path, once it is known to hold valid accounts (loaded again when used)."""
    if not raw:
        return None
    if not scrypt_available():
        raise ValueError(str(ScryptUnavailable()))
    try:
        load_accounts(raw)
    except AccountsFileError as problem:
        raise ValueError(str(problem)) from None
    return raw


def yes_or_no(raw: str) -> bool:
    if raw.lower() in ("yes", "true", "on", "1"):
        return True
    if raw.lower() in ("no", "false", "off", "0"):
        return False
    raise ValueError("expected yes or no")


def _irc_channel(raw: str) -> str:
    if not re.fullmatch(r"#[^\x00-\x20,:\x7f]{1,49}", raw):
        raise ValueError("expected # and 1-49 more characters, no spaces, commas or colons, such as #chat")
    return raw


def _irc_server_name(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}", raw):
        raise ValueError("expected a host name such as irc.example.org (letters, digits, . and -)")
    return raw


def _cluster_name(raw: str) -> str:
    if not is_valid_cluster_name(raw):
        raise ValueError("expected 1-64 letters, digits, _ - or .")
    return raw


def _seconds(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        if not _DECIMAL.fullmatch(raw) or not low <= float(raw) <= high:
            raise ValueError(f"expected a number of seconds from {low:g} to {high:g}")
        return float(raw)

    return parse


_node_timeout = _seconds(0.5, 3600)


def _log_format(raw: str) -> str:
    if raw.lower() not in ("text", "json"):
        raise ValueError("expected text or json")
    return raw.lower()


def _log_level(raw: str) -> int:
    name = raw.upper()
    if name not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return int(logging.getLevelName(name))


@dataclass(frozen=True)
class Option:
    flag: str
    env: str
    parse: Callable[[str], Any]
    default: str
    help: str

    @property
    def field(self) -> str:
        return self.flag[2:].replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option("--host", "HOST", _host, "", "address to listen on (default: all interfaces)"),
    Option("--port", "PORT", _port, "4000", "TCP port; 0 picks a free one"),
    Option(
        "--idle-timeout",
        "IDLE_TIMEOUT",
        _decimal("a number of seconds, such as 600 or 0.5"),
        "0",
        "seconds without a complete line before a connection is closed (an IRC one is PINGed first); "
        "0 = never, the default: a user who only reads stays, and --tcp-keepalive finds dead peers",
    ),
    Option(
        "--tcp-keepalive",
        "TCP_KEEPALIVE",
        _whole_number(0, 86400),
        "120",
        "seconds of silence before TCP keepalive probes; a peer gone without a word is found within "
        "about twice this; 0 = off",
    ),
    Option(
        "--login-timeout",
        "LOGIN_TIMEOUT",
        _decimal("a number of seconds, such as 30 or 0.5"),
        "30",
        "seconds a connection may stay without logging in (whatever it sends) before it is closed; 0 = never",
    ),
    Option(
        "--accounts",
        "ACCOUNTS",
        _accounts_file,
        "",
        "the accounts file (names, password hashes, roles), managed with the command's accounts "
        "subcommand; read at start and on SIGHUP",
    ),
    Option(
        "--require-account",
        "REQUIRE_ACCOUNT",
        yes_or_no,
        "no",
        "yes: only the accounts of --accounts may log in (the flag alone means yes), on the line "
        "protocol and on IRC (SASL or PASS)",
    ),
    Option(
        "--bans",
        "BANS",
        _bans_file,
        "",
        "the file that keeps the operators' bans and mutes across restarts, written after every change "
        "(none: they last until the server stops)",
    ),
    Option(
        "--max-clients",
        "MAX_CLIENTS",
        _whole_number(1),
        "10000",
        "most connections at once; the next one gets ERR server-full",
    ),
    Option("--log-level", "LOG_LEVEL", _log_level, "INFO", "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    Option(
        "--log-format",
        "LOG_FORMAT",
        _log_format,
        "text",
        "text (time, level, message) or json (one object per line, for log shippers)",
    ),
    Option(
        "--stats-interval",
        "STATS_INTERVAL",
        _decimal("a number of seconds, such as 60"),
        "60",
        "seconds between INFO stats lines (connections, users, lines/s, drops, refusals); 0 = off",
    ),
    Option(
        "--max-line-bytes",
        "MAX_LINE_BYTES",
        _whole_number(64, 1 << 24),
        "8192",
        "longest line accepted, in bytes before the LF; longer ones get ERR line-too-long",
    ),
    Option(
        "--rate-limit",
        "RATE_LIMIT",
        _decimal("a number of lines per second, such as 20 or 0.5"),
        "20",
        "lines per second each connection may send before the server stops reading it; 0 = off",
    ),
    Option(
        "--rate-burst",
        "RATE_BURST",
        _whole_number(1),
        "100",
        "lines a connection may send at once before --rate-limit applies",
    ),
    Option(
        "--rate-limit-bytes",
        "RATE_LIMIT_BYTES",
        _decimal("a number of bytes per second, such as 8192"),
        "8192",
        "bytes per second of lines each connection may send before the server stops reading it; 0 = off",
    ),
    Option(
        "--rate-burst-bytes",
        "RATE_BURST_BYTES",
        _whole_number(1),
        "65536",
        "bytes of lines a connection may send at once before --rate-limit-bytes applies",
    ),
    Option(
        "--max-send-buffer",
        "MAX_SEND_BUFFER",
        _whole_number(1024),
        "8388608",
        "hard limit: bytes of unsent output a client may fall behind before it is disconnected at once",
    ),
    Option(
        "--send-buffer-soft",
        "SEND_BUFFER_SOFT",
        _whole_number(1024),
        "1048576",
        "soft limit: a client this many bytes behind for --send-buffer-soft-seconds is disconnected",
    ),
    Option(
        "--send-buffer-soft-seconds",
        "SEND_BUFFER_SOFT_SECONDS",
        _seconds(0.1, 3600),
        "30",
        "how long a client may stay over the soft limit, or read nothing while output waits",
    ),
    Option(
        "--max-per-ip",
        "MAX_PER_IP",
        _whole_number(0),
        "32",
        "most connections from one IP address (IPv6: one --ipv6-prefix network); the next gets "
        "ERR too-many-connections; 0 = no limit",
    ),
    Option(
        "--max-new-per-ip",
        "MAX_NEW_PER_IP",
        _whole_number(0),
        "32",
        "new connections one IP address may open per 10 minutes beyond --max-per-ip; "
        "the next gets ERR connecting-too-fast; 0 = no limit",
    ),
    Option(
        "--ipv6-prefix",
        "IPV6_PREFIX",
        _whole_number(32, 128),
        "64",
        "IPv6 clients whose addresses share this many leading bits count as one address for --max-per-ip, "
        "--max-new-per-ip and the input budget they share (64: a /64, what one home line gets); 128 = each alone",
    ),
    Option("--tls-port", "TLS_PORT", _optional_port, "", "also listen for TLS on this port; 0 picks a free one"),
    Option("--tls-cert", "TLS_CERT", _optional_path, "", "PEM certificate (chain) for --tls-port"),
    Option("--tls-key", "TLS_KEY", _optional_path, "", "PEM private key for --tls-cert"),
    Option(
        "--irc-port", "IRC_PORT", _optional_port, "", "also serve IRC clients on this port (6667 is usual); 0 picks one"
    ),
    Option(
        "--irc-tls-port",
        "IRC_TLS_PORT",
        _optional_port,
        "",
        "also serve IRC clients over TLS on this port (6697 is usual), with --tls-cert and --tls-key",
    ),
    Option("--irc-channel", "IRC_CHANNEL", _irc_channel, "#chat", "the channel IRC clients see the room as"),
    Option(
        "--irc-server-name",
        "IRC_SERVER_NAME",
        _irc_server_name,
        "algokart.chat",
        "the server's name to IRC clients, in every user's mask nick!nick@NAME",
    ),
    Option(
        "--irc-join-replay",
        "IRC_JOIN_REPLAY",
        _whole_number(0, 100),  # (as many as one CHATHISTORY answer: irc_history.MOST, a layer above)
        "20",
        "the channel's last messages an IRC client gets, with their times, after it joins "
        "(none for clients that ask for draft/chathistory); 0 = off",
    ),
    Option(
        "--redis-url",
        "REDIS_URL",
        _redis_url,
        "",
        "cluster mode: share one room with every server on this Redis (redis:// or rediss://); "
        "needs pip install -r requirements-cluster.txt",
    ),
    Option(
        "--cluster-name",
        "CLUSTER_NAME",
        _cluster_name,
        "algokart",
        "cluster mode: the servers of one chat share this name; every Redis key starts with it",
    ),
    Option(
        "--node-timeout",
        "NODE_TIMEOUT",
        _node_timeout,
        "10",
        "cluster mode: seconds a server may go silent before the others announce its users gone",
    ),
    Option(
        "--cluster-stream-bytes",
        "CLUSTER_STREAM_BYTES",
        _whole_number(1 << 20),
        str(32 << 20),
        "cluster mode: most bytes of recent messages the Redis stream keeps (older ones are trimmed)",
    ),
    Option(
        "--history-lines",
        "HISTORY_LINES",
        _whole_number(0, 1 << 24),
        "1000",
        "most messages the room keeps for HISTORY; 0 = no history",
    ),
    Option(
        "--history-bytes",
        "HISTORY_BYTES",
        _whole_number(0, 1 << 34),
        str(1 << 20),
        "most bytes of message text the room keeps for history; 0 = no history",
    ),
    Option(
        "--history-age",
        "HISTORY_AGE",
        _decimal("a number of seconds, such as 86400"),
        "86400",
        "seconds a message is kept for history; 0 = no history",
    ),
)
