"""The line protocol's moderation commands: ``KICK``, ``BAN``, ``UNBAN``, ``BANS``, ``MUTE`` and
``UNMUTE`` (docs/PROTOCOL.md, *Moderation*), answered with the reply's bytes.

Plan: ``moderate`` checks who asks and what, then acts through ``moderators.Moderators`` (which
keeps the lists, writes the file, logs the audit line and disconnects whoever the action removes).
An operator is a user logged in to an account with the ``op`` role (``accounts``); anyone else
gets ``ERR not-operator`` for each command, and nothing else happens.  An account with the ``op``
role cannot be kicked, banned or muted (``ERR operator-protected``), under its own name or under
the IRC nick of a user logged in to it: operators settle their quarrels in the accounts file.
A ban or mute of a name holds for the account of that name too, under whatever nick it is logged
in to (``moderators``).  ``KICK`` needs the user online (``ERR no-such-user``), ``MUTE`` the user
online or an account's name; ``BAN`` takes any name, address or CIDR, online or not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from algokart_chat import protocol
from algokart_chat.accounts import Account
from algokart_chat.moderation import MAX_REASON, Entry, Kind, format_time, parse_duration, parse_target
from algokart_chat.moderators import Moderators
from algokart_chat.room import ChatRoom
from algokart_chat.text import clean_text

COMMANDS: Final = frozenset({"KICK", "BAN", "UNBAN", "BANS", "MUTE", "UNMUTE"})

AccountOf = Callable[[str], "Account | None"]


def moderate(
    verb: str,
    argument: str,
    operator: str | None,
    moderators: Moderators,
    account_of: AccountOf,
    room: ChatRoom[Any],
) -> bytes:
    """The reply to one moderation command from ``operator`` (None: the user is no operator)."""
    if operator is None:
        return _ERR_NOT_OPERATOR
    if verb == "BANS":
        return b"".join(map(entry_line, moderators.entries())) + protocol.OK
    word, rest = protocol.split_word(argument)
    if verb in ("UNBAN", "UNMUTE"):
        kind: Kind = "ban" if verb == "UNBAN" else "mute"
        target = parse_target(word, moderators.ipv6_prefix)
        if target is None:
            return _ERR_BAD_TARGET
        return protocol.OK if moderators.lift(kind, target, operator) is not None else _ERR_NO_SUCH_BAN
    target = parse_target(word, moderators.ipv6_prefix)
    if target is None or (verb != "BAN" and target.network is not None):
        return _ERR_NO_SUCH_USER if verb != "BAN" else _ERR_BAD_TARGET
    if target.network is None:
        held = room.held_name(word)
        if verb != "BAN" and held is None and (verb == "KICK" or account_of(word) is None):
            return _ERR_NO_SUCH_USER  # (an account's name may be muted offline: its holder may use another nick)
        for name in (word, room.account_of(word)):  # (an IRC nick may be another name than its account's)
            account = account_of(name) if name is not None else None
            if account is not None and "op" in account.roles:
                return _ERR_OPERATOR_PROTECTED
    if verb == "KICK":
        return protocol.OK if moderators.kick(operator, word, _reason(rest)) else _ERR_NO_SUCH_USER
    duration_word, reason = protocol.split_word(rest)
    duration = parse_duration(duration_word)
    if duration is None:
        reason = rest
    entry = moderators.set("ban" if verb == "BAN" else "mute", target, operator, duration, _reason(reason))
    return protocol.OK if entry is not None else _ERR_TOO_MANY_BANS


def _reason(text: str) -> str:
    return clean_text(text)[:MAX_REASON]


def entry_line(entry: Entry) -> bytes:
    """``BAN <target> <by> <set at> <until|never> [reason]`` (``MUTE ...`` for a mute)."""
    words = [entry.kind.upper(), entry.target.text, entry.by, format_time(entry.at), format_time(entry.until)]
    if entry.reason:
        words.append(entry.reason)
    return (" ".join(words) + "\n").encode()


def refusal(entry: Entry) -> bytes:
    """``ERR banned until <time|never> by <operator>: <reason>`` (or ``ERR muted ...``)."""
    return protocol.error_because("banned" if entry.kind == "ban" else "muted", entry.describe())


def farewell(reason: str) -> bytes | None:
    """The last line of a user removed by an operator (``kicked by ...``, ``banned until ...``)."""
    return b"INFO " + reason.encode() + b"\n" if reason.startswith(("kicked ", "banned ")) else None


_ERR_NOT_OPERATOR = protocol.error("not-operator")
_ERR_NO_SUCH_USER = protocol.error("no-such-user")
_ERR_OPERATOR_PROTECTED = protocol.error("operator-protected")
_ERR_BAD_TARGET = protocol.error("bad-target")
_ERR_NO_SUCH_BAN = protocol.error("no-such-ban")
_ERR_TOO_MANY_BANS = protocol.error("too-many-bans")
