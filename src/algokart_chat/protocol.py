"""The algokart-chat line protocol, with no I/O: lines in, commands out; room events in, bytes out.

Nothing here touches a socket, a clock, asyncio or global mutable state, so every rule of
docs/PROTOCOL.md can be tested directly, thousands of cases a second.  Framing (``framing``) and
the name rules (``names``) and the text rules (``text``) are shared with every other protocol and
live in their own modules.

- ``parse_command`` splits a line into its command word and the rest.
- The replies and events the server sends are bytes, built once: ``OK``, ``error(code)``, ...;
  ``wire(event)`` is the line protocol's encoding of a room event (``events``), which the room
  shares among every recipient of this protocol; ``wire_with_ids`` the same with each broadcast
  line, and each direct message that history keeps, led by its message id
  (``@<id> MSG <sender> <text>``, ``@<id> DM <sender> <text>``), for a connection that sent ``IDS ON``.
- ``history_line`` and ``history_end``: the answer to ``HISTORY``, lines that start with a word
  no live line starts with (``HISTORY``, ``HISTORY-DM`` for a direct message, ``HISTORY-END``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, NamedTuple

from algokart_chat.events import (
    Arrived,
    AwayChanged,
    Departed,
    Parted,
    Renamed,
    RoomEvent,
    Said,
    Together,
    Told,
    text_id,
)
from algokart_chat.history import Kept, State, is_kept_direct
from algokart_chat.irc import server_time


# --- commands -----------------------------------------------------------------------------------
class Command(NamedTuple):
    """A parsed line: ``verb`` upper-cased (ASCII only), ``argument`` the rest, inner spacing kept."""

    verb: str
    argument: str


_WORD_SEPARATOR: Final = re.compile(r"[ \t]+")


def parse_command(line: str) -> Command:
    """Split a non-blank stripped line into its command word and the rest of the line."""
    verb, argument = split_word(line)
    # Only ASCII case-folding: "logın".upper() would otherwise become "LOGIN".
    return Command(verb.upper() if verb.isascii() else verb, argument)


def split_word(text: str) -> tuple[str, str]:
    """``"bob  hi  there"`` -> ``("bob", "hi  there")``: the first word and the rest."""
    parts = _WORD_SEPARATOR.split(text, 1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")


# --- replies and events the server sends --------------------------------------------------------
OK: Final = b"OK\n"
PONG: Final = b"PONG\n"
GOODBYE: Final = b"Goodbye!\n"
INFO_IDLE_TIMEOUT: Final = b"INFO idle-timeout\n"
INFO_LOGIN_TIMEOUT: Final = b"INFO login-timeout\n"
INFO_SERVER_SHUTDOWN: Final = b"INFO server-shutdown\n"
INFO_CLUSTER_UNAVAILABLE: Final = b"INFO cluster-unavailable\n"
INFO_CLUSTER_RESET: Final = b"INFO cluster-reset\n"

# Every error code the server sends, in the words of docs/PROTOCOL.md, with the short hint that
# follows it on the wire (``ERR not-logged-in send LOGIN <name> first``): what an nc user needs
# to learn the protocol by using it.  Clients go by the code; the hint is for people.
ERROR_HINTS: Final = {
    "username-taken": "someone online has that name or one that looks the same; pick another",
    "invalid-username": "a name is 1-32 letters, digits, _ - or . with no spaces",
    "already-logged-in": "this connection is logged in already",
    "password-required": "that name has an account; LOGIN <name> <password>",
    "bad-password": "wrong password for that account",
    "no-such-account": "no account has that name; LOGIN <name> alone logs in as a guest",
    "account-required": "only accounts may log in here; ask the operator for one",
    "too-many-attempts": "too many failed logins; wait a minute and try again",
    "server-busy": "too many logins at once; try again in a moment",
    "not-logged-in": "send LOGIN <name> first",
    "empty-message": "nothing to send; MSG <text> or DM <name> <text>",
    "no-such-user": "nobody online has that name; WHO lists who is",
    "unknown-command": "HELP lists the commands",
    "line-too-long": "that line was longer than this server allows and was dropped",
    "server-full": "the server is full; try again later",
    "too-many-connections": "too many connections from your address",
    "connecting-too-fast": "too many new connections from your address; wait a few minutes",
    "cluster-unavailable": "the cluster cannot answer now; try again soon",
    "invalid-argument": "HISTORY [<count>], HISTORY AFTER <id>, IDS ON or IDS OFF",
    "history-off": "this server keeps no history",
    "banned": "you are banned from this server",
    "muted": "you are muted: you may read but not send",
    "not-operator": "only an operator may do that; LOGIN to an account with the op role",
    "operator-protected": "operators cannot be kicked, banned or muted",
    "bad-target": "a target is a name, an address or a CIDR such as 198.51.100.0/24",
    "no-such-ban": "no ban or mute has that target; BANS lists them",
    "too-many-bans": "the list of bans or mutes is full; UNBAN or UNMUTE some first",
}
ERROR_CODES: Final = tuple(ERROR_HINTS)


def error_because(code: str, detail: str) -> bytes:
    """``ERR <code> <detail>``: an error whose hint says why this time (``ERR banned until ...``)."""
    if code not in ERROR_HINTS:
        raise ValueError(f"no such error code: {code!r}")
    return f"ERR {code} {detail}\n".encode()


def error(code: str) -> bytes:
    """``ERR <code> <hint>`` as a wire line; only the codes of ERROR_HINTS exist."""
    hint = ERROR_HINTS.get(code)
    if hint is None:
        raise ValueError(f"no such error code: {code!r}")
    return f"ERR {code} {hint}\n".encode("ascii")


_COMMANDS_HELP: Final = (
    "Commands:",
    "LOGIN <username> - log in (1-32 letters, digits, _ - .)",
    "MSG <text> - send a message to everyone else",
    "DM <username> <text> - send a private message",
    "WHO - list the users online",
    "HISTORY [<count>] - the last messages (20, at most 500); HISTORY AFTER <id> - those after one",
    "IDS ON or IDS OFF - message ids on MSG lines (@<id> MSG ...), to ask HISTORY AFTER",
    "PING - check the connection (answer: PONG)",
    "HELP - show this help",
    "QUIT or EXIT - disconnect",
)
_ACCOUNT_HELP: Final = "LOGIN <username> <password> - log in to your account"


def _info_lines(texts: tuple[str, ...]) -> bytes:
    return b"".join(b"INFO " + text.encode("ascii") + b"\n" for text in texts)


HELP: Final = _info_lines(_COMMANDS_HELP)
HELP_WITH_ACCOUNTS: Final = _info_lines((*_COMMANDS_HELP[:2], _ACCOUNT_HELP, *_COMMANDS_HELP[2:]))  # (--accounts)


def message_prefix(sender: str) -> bytes:
    """Everything before the text of a broadcast from ``sender``: computed once per login."""
    return b"MSG " + sender.encode("utf-8") + b" "


def direct_prefix(sender: str) -> bytes:
    return b"DM " + sender.encode("utf-8") + b" "


def with_text(prefix: bytes, text: str) -> bytes:
    return prefix + text.encode("utf-8") + b"\n"


def user_line(name: str) -> bytes:
    return b"USER " + name.encode("utf-8") + b"\n"


def disconnected(name: str) -> bytes:
    return b"INFO " + name.encode("utf-8") + b" disconnected\n"


REPLY_BYTES_PER_TOKEN = 1024


def reply_cost(reply: bytes) -> int:
    """What a long reply (``WHO``'s, ``HISTORY``'s) costs its asker beyond the line that asked: a
    token of the input budget per whole KiB, so asking again and again is paced like sending."""
    return len(reply) // REPLY_BYTES_PER_TOKEN


def history_line(entry: Kept) -> bytes:
    """``HISTORY <id> <time> <sender> <text>``: one kept message (its text None: nothing); a
    direct message ``HISTORY-DM <id> <time> <sender> <recipient> <text>``."""
    if entry.text is None:
        return b""
    if entry.to is not None:
        head = f"HISTORY-DM {entry.id} {server_time(entry.at)} {entry.sender} {entry.to} "
    else:
        head = f"HISTORY {entry.id} {server_time(entry.at)} {entry.sender} "
    return head.encode("utf-8") + entry.text.encode("utf-8") + b"\n"


def history_end(state: State, count: int, lost: int | str | None = None) -> bytes:
    """``HISTORY-END complete|more|partial <count>``: the last line of a ``HISTORY`` answer; with
    ``lost`` (a count, or ``unknown``), a ``partial`` one of ``HISTORY AFTER`` says how many
    messages after the id are gone."""
    if lost is None:
        return f"HISTORY-END {state} {count}\n".encode("ascii")
    return f"HISTORY-END {state} {count} {lost}\n".encode("ascii")


def wire_with_ids(event: RoomEvent) -> bytes:
    """``wire``, with every broadcast line led by its id: ``@<id> MSG <sender> <text>``; so is a
    direct message that history keeps (``@<id> DM <sender> <text>``), the others are as ``wire``'s."""
    if isinstance(event, Told) and event.text is not None and is_kept_direct(event):
        assert event.stamp is not None
        return b"@" + event.stamp.id.encode("ascii") + b" " + with_text(direct_prefix(event.sender), event.text)
    if isinstance(event, Said) and event.stamp is not None:
        prefix = message_prefix(event.sender)
        first = event.stamp.id
        return b"".join(
            b"@" + text_id(first, k).encode("ascii") + b" " + with_text(prefix, text)
            for k, text in enumerate(event.texts)
            if text is not None
        )
    if isinstance(event, Together):
        return b"".join(part.encoded(wire_with_ids) for part in event.parts)
    return event.encoded(wire)


def is_away(name: str, away: str) -> bytes:
    """What a user who wrote to ``name`` is told when ``name`` (an IRC user) is away."""
    return b"INFO " + name.encode("utf-8") + b" is away: " + away.encode("utf-8") + b"\n"


def wire(event: RoomEvent) -> bytes:
    """The line protocol's bytes for a room event (``event.encoded(wire)`` shares them)."""
    return _ENCODERS[type(event)](event)


def _said(event: RoomEvent) -> bytes:
    assert isinstance(event, Said)
    prefix = message_prefix(event.sender)
    return b"".join(with_text(prefix, text) for text in event.texts if text is not None)


def _told(event: RoomEvent) -> bytes:
    assert isinstance(event, Told)
    return b"" if event.text is None else with_text(direct_prefix(event.sender), event.text)


def _departed(event: RoomEvent) -> bytes:
    assert isinstance(event, Departed)
    return b"".join(map(disconnected, event.names))


def _parted(event: RoomEvent) -> bytes:
    assert isinstance(event, Parted)
    return disconnected(event.name)  # to a line user, leaving the channel is leaving


def _renamed(event: RoomEvent) -> bytes:
    assert isinstance(event, Renamed)
    return disconnected(event.old)  # the new name simply is online (no notice of arrivals)


def _nothing(event: RoomEvent) -> bytes:
    return b""


def _together(event: RoomEvent) -> bytes:
    assert isinstance(event, Together)
    return b"".join(part.encoded(wire) for part in event.parts)


_ENCODERS: Final[dict[type[RoomEvent], Callable[[RoomEvent], bytes]]] = {
    Said: _said,
    Told: _told,
    Departed: _departed,
    Parted: _parted,
    Renamed: _renamed,
    Arrived: _nothing,
    AwayChanged: _nothing,
    Together: _together,
}
