"""The IRC gateway's moderation: who is an operator (``OPER``, ``@`` in NAMES and WHO) and the
commands ``KICK``, ``KILL`` and ``MODE #chat +b/-b/+q/-q`` (docs/IRC.md, *Moderation*), each
mapped onto the same bans, mutes and kicks as the line protocol's (``moderators.Moderators``).

Each command is a function of the session that asks (``Moderator``: the narrow view of
``irc_session.IrcSession`` it needs) and the command's parameters.

Plan:
- An operator is a user logged in (SASL, ``PASS``, or the line protocol's ``LOGIN``) to an account
  with the ``op`` role, or an IRC user who gave such an account's name and password to ``OPER``
  (``Operators``: the nicks that did, on this node, at most one per connection).  The same accounts
  are protected: they cannot be kicked, killed, banned or muted (482/481, as on the line protocol).
- ``KICK #chat nick :reason`` and ``KILL nick :reason`` are the line protocol's ``KICK``; IRC users
  on this node see a ``KICK`` (or a ``QUIT :Killed (...)``) instead of the plain ``QUIT``
  (``IrcChannel.note_removal``).
- ``MODE #chat +b <mask>`` bans, ``+q <mask>`` mutes (Solanum's quiet), ``-b``/``-q`` lift them,
  for good (IRC has no duration; the line protocol's ``BAN`` takes one).  A mask is ``nick``,
  ``nick!*@*`` (the name) or ``*!*@<address or CIDR>`` (the address); anything else gets 696.
  ``MODE #chat b`` (or ``+b``) lists the bans (367/368), ``q`` the mutes (728/729).

Guarantees: what is not an operator's changes nothing but gets 481/482; the lists are those of
``moderators`` (bounded: 478 when full); every action is logged there, once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Protocol

from algokart_chat import irc
from algokart_chat.accounts import Account
from algokart_chat.moderation import MAX_REASON, Entry, Kind, Target, parse_target
from algokart_chat.moderators import Moderators
from algokart_chat.names import is_valid_username, username_key
from algokart_chat.password_checks import CheckResult
from algokart_chat.room import ChatRoom
from algokart_chat.sessions import irc_queries
from algokart_chat.text import clean_text

AccountOf = Callable[[str], "Account | None"]


class Operators:
    """Who is an operator, as NAMES and WHO show it and as the commands check it."""

    __slots__ = ("_account_of", "_accounts", "_opered", "_room")

    def __init__(self, room: ChatRoom[Any], account_of: AccountOf | None) -> None:
        self._room = room
        # The account of that name in the accounts in use, if any (None: the server has no accounts).
        self._account_of: AccountOf = account_of or _no_account
        self._accounts = account_of is not None
        self._opered: set[str] = set()  # the keys of the nicks that gave OPER here (one per connection)

    def anyone(self) -> bool:
        """Whether anyone at all may be an operator (False: no accounts, and nobody OPERed), so
        that a list of names is shown without asking about each."""
        return self._accounts or bool(self._opered)

    def is_operator(self, name: str) -> bool:
        """Whether ``name`` is an operator: it OPERed here, or its account has the ``op`` role."""
        if username_key(name) in self._opered:
            return True
        return self.protected(name)

    def protected(self, name: str) -> bool:
        """Whether ``name`` is (or is logged in to) an account with the ``op`` role."""
        for account_name in (name, self._room.account_of(name)):
            account = self._account_of(account_name) if account_name is not None else None
            if account is not None and "op" in account.roles:
                return True
        return False

    def opered(self, nick: str) -> None:
        self._opered.add(username_key(nick))

    def gone(self, nick: str) -> None:
        """``nick`` left or renamed: it is no OPERed nick any more."""
        self._opered.discard(username_key(nick))


def _no_account(_name: str) -> None:
    return None


class Moderator(irc_queries.Asker, Protocol):
    """What a moderation command needs of the session that asks it (a query's view, and more)."""

    @property
    def operator(self) -> str | None:
        """Its nick if it is an operator, else None."""

    @property
    def operators(self) -> Operators: ...

    @property
    def moderators(self) -> Moderators: ...

    def check_password(self, name: str, password: str, done: Callable[[str, CheckResult], None]) -> bool:
        """Check ``password`` for the account ``name`` (off the event loop, the input held till
        ``done``); False if the server has no accounts."""

    def become_operator(self) -> None:
        """It is an operator from now on."""


def oper(session: Moderator, params: list[str]) -> None:
    """``OPER <name> <password>``: an account with the ``op`` role makes this user an operator."""
    if len(params) < 2:
        session.reply("461", "OPER", "Not enough parameters")
        return

    def checked(_name: str, result: CheckResult) -> None:
        if not result.ok or result.account is None:
            session.reply("464", "Password incorrect")
        elif "op" not in result.account.roles:
            session.reply("491", "No O-lines for your host")
        else:
            session.become_operator()
            me = session.me
            session.reply("381", "You are now an IRC operator")
            session.send(irc.message(session.channel.mask(me), "MODE", me, "+o"))

    if not session.check_password(params[0], params[1], checked):
        session.reply("491", "No O-lines for your host")


def kick(session: Moderator, params: list[str]) -> None:
    """``KICK <channel> <nick>[,<nick>] [:reason]``."""
    if len(params) < 2:
        session.reply("461", "KICK", "Not enough parameters")
        return
    channel = session.channel
    if not channel.is_ours(params[0]):
        session.reply("403", params[0], "No such channel")
        return
    if session.operator is None:
        session.reply("482", channel.name, "You're not channel operator")
        return
    for nick in params[1].split(",")[:4]:
        _remove(session, nick, params[2] if len(params) > 2 else "", "kick")


def kill(session: Moderator, params: list[str]) -> None:
    """``KILL <nick> [:reason]``."""
    if not params or not params[0]:
        session.reply("461", "KILL", "Not enough parameters")
    elif session.operator is None:
        session.reply("481", "Permission Denied- You're not an IRC operator")
    else:
        _remove(session, params[0], params[1] if len(params) > 1 else "", "kill")


def _remove(session: Moderator, nick: str, reason: str, how: str) -> None:
    operator, channel = session.operator, session.channel
    assert operator is not None
    name = channel.host.room.held_name(nick)
    if name is None:
        session.reply("401", nick, "No such nick/channel")
        return
    if session.operators.protected(name):
        if how == "kick":
            session.reply("482", channel.name, f"{name} is an operator: operators cannot be kicked")
        else:
            session.reply("481", f"Permission Denied- {name} is an operator: operators cannot be killed")
        return
    reason = _reason(reason)
    channel.note_removal(name, operator, how, reason)
    if not session.moderators.kick(operator, name, reason):
        session.reply("401", nick, "No such nick/channel")  # (gone meanwhile)


_LISTS: Final[dict[str, Kind]] = {"b": "ban", "q": "mute"}
_LIST_CHANGES: Final = frozenset("+-bq")


def mode(session: Moderator, params: list[str]) -> None:
    """``MODE``: the ban and quiet lists of the channel, and an operator's own ``+o``; the rest is
    ``irc_queries.mode``."""
    channel = session.channel
    if len(params) == 1 and username_key(params[0]) == username_key(session.me) and session.operator:
        session.reply("221", "+o")
        return
    if len(params) < 2 or not channel.is_ours(params[0]) or not _LIST_CHANGES.issuperset(params[1]):
        irc_queries.mode(session, params)  # (no list modes: what the queries answer)
        return
    sign, arguments = "+", iter(params[2:])
    for letter in params[1]:
        if letter in "+-":
            sign = letter
            continue
        kind = _LISTS[letter]
        mask = next(arguments, None)
        if mask is None:
            if sign == "+":
                _list(session, letter, kind)
        elif session.operator is None:
            session.reply("482", channel.name, "You're not channel operator")
            return
        else:
            _change(session, sign, letter, kind, mask)


def _list(session: Moderator, letter: str, kind: Kind) -> None:
    channel, me = session.channel, session.me
    entries = [entry for entry in session.moderators.entries() if entry.kind == kind]
    if kind == "ban":
        lines = [channel.numeric("367", me, channel.name, mask_of(e.target), e.by, str(int(e.at))) for e in entries]
        end = channel.numeric("368", me, channel.name, "End of channel ban list")
    else:
        lines = [
            channel.numeric("728", me, channel.name, letter, mask_of(e.target), e.by, str(int(e.at))) for e in entries
        ]
        end = channel.numeric("729", me, channel.name, letter, "End of Channel Quiet List")
    session.send(b"".join(lines) + end)


def _change(session: Moderator, sign: str, letter: str, kind: Kind, mask: str) -> None:
    channel, moderators, operator = session.channel, session.moderators, session.operator
    assert operator is not None
    target = target_of(mask, moderators.ipv6_prefix)
    if target is None:
        session.reply("696", channel.name, letter, mask, "Masks: nick, nick!*@* or *!*@<address or CIDR>")
        return
    if sign == "+":
        if target.network is None and session.operators.protected(target.text):
            session.reply("482", channel.name, f"{target.text} is an operator: operators cannot be banned or muted")
            return
        done: Entry | None = moderators.set(kind, target, operator, None, "")
        if done is None:
            session.reply("478", channel.name, letter, "Channel ban list is full")
            return
    elif moderators.lift(kind, target, operator) is None:
        return  # (nothing to lift: nothing changes, as servers do)
    session.send(irc.message(channel.mask(operator), "MODE", channel.name, sign + letter, mask_of(target)))


def target_of(mask: str, ipv6_prefix: int) -> Target | None:
    """The target a ban mask means: ``nick`` or ``nick!*@*`` a name, ``*!*@<address or CIDR>``
    an address; None for any other mask (wildcards in a nick, a user part, a host name)."""
    nick, _, rest = mask.partition("!")
    if not rest:
        if "@" in nick:
            return None
        return _name(nick, ipv6_prefix)
    user, at, host = rest.partition("@")
    if user != "*" or not at:
        return None
    if nick == "*" and host != "*":
        target = parse_target(host, ipv6_prefix)
        return target if target is not None and target.network is not None else None
    return _name(nick, ipv6_prefix) if host == "*" else None


def _name(nick: str, ipv6_prefix: int) -> Target | None:
    target = parse_target(nick, ipv6_prefix) if is_valid_username(nick) else None
    return target if target is not None and target.network is None else None


def mask_of(target: Target) -> str:
    """How a ban list shows ``target``: ``nick!*@*`` or ``*!*@<network>``."""
    return f"*!*@{target.text}" if target.network is not None else f"{target.text}!*@*"


def _reason(text: str) -> str:
    return clean_text(text)[:MAX_REASON]
