"""The IRC gateway's queries: ``PING``, ``NAMES``, ``WHO``, ``WHOIS``, ``LIST``, ``TOPIC``, ``MODE``,
``ISON`` and ``USERHOST``, answered for the one channel there is (docs/IRC.md, *Queries*).

Each is a function of the session that asks (``Asker``: the narrow view of ``irc_session.IrcSession``
a query needs) and the command's parameters; ``irc_session`` dispatches to them once registered.

Plan:
- ``PING`` (before registration too) answers ``PONG`` at the room's sync point, after the
  departures announced before it, as the line protocol's ``PING`` does.
- What lists the room (``NAMES``, ``WHO``, ``WHOIS``) answers from the room's sync point
  (``Asker.wait_for_room``), so that in a cluster replies keep the order of the commands; the rest
  answer at once.
- A long ``NAMES`` or ``WHO`` reply costs a token of the input budget per KiB (``Asker.send_long``),
  as the line protocol's ``WHO`` does.
- ``WHO <mask>`` matches with ``irc.Wildcard``, names compared as names are (``username_key``):
  linear in each name, against the keys the room keeps (``ChatRoom.keyed_names``: none is folded
  again); a mask longer than any name matches nothing, unread.
- Channel modes and topics do not exist: the replies say the lists are empty, which is what irssi's
  and WeeChat's probes after ``JOIN`` expect.  Operators (``irc_moderation``) are ``@`` in NAMES
  and WHO; the ban and quiet lists are ``irc_moderation``'s.  So multi-prefix (every prefix of a
  member in NAMES, WHO and WHOIS) holds as it is: ``@`` is the only one.
- userhost-in-names: ``NAMES`` lists whole masks to a client that enabled it.
- A user's username and real name are ``IrcChannel.identity``'s; the host is always the server's
  name.  ``WHO`` says ``H`` (here) or ``G`` (gone: away) from the room's away messages, ``WHOIS``
  and ``USERHOST`` say who is away too (``301``, ``-``).  The channel field of ``WHO``'s ``352`` is
  the channel for ``WHO <channel>`` and ``*`` for a mask or a nick, as modern servers answer.

Guarantees: a query changes nothing, in the room or in the session, and every reply goes to the
asker only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

from algokart_chat import irc
from algokart_chat.names import MAX_USERNAME_CHARS, username_key
from algokart_chat.sessions.irc_channel import IrcChannel


class Asker(Protocol):
    """What a query needs of the session that asks it."""

    @property
    def channel(self) -> IrcChannel: ...

    @property
    def me(self) -> str:
        """The asker's nick, or ``*`` before it has one: the target of every reply."""

    def reply(self, code: str, *params: str) -> None:
        """Send the asker the numeric ``code`` with ``params``."""

    def send(self, reply: bytes) -> None:
        """Send the asker ``reply``, as it is."""

    def send_long(self, reply: bytes) -> None:
        """As ``send``, and charge the asker's input budget a token per KiB of it."""

    def wait_for_room(self, then: Callable[[], None]) -> None:
        """Hold the asker's input until the room has caught up, then call ``then``."""

    def has(self, capability: str) -> bool:
        """Whether the asker enabled ``capability`` (``irc_caps``: userhost-in-names ...)."""


def ping(asker: Asker, params: list[str]) -> None:
    if not params:
        asker.reply("461", "PING", "Not enough parameters")
        return
    token, channel = params[0], asker.channel

    def pong() -> None:
        channel.host.announce_departures()  # (a departure before the PING comes before PONG)
        asker.send(irc.message(channel.server, "PONG", channel.server, token))

    asker.wait_for_room(pong)


def names(asker: Asker, params: list[str]) -> None:
    channel = asker.channel
    wanted = params[0].split(",")[0] if params and params[0] else channel.name

    def answer() -> None:
        if channel.is_ours(wanted):
            asker.send_long(channel.names_lines(asker.me, asker.has("userhost-in-names")))
        else:
            asker.send_long(channel.numeric("366", asker.me, wanted, "End of /NAMES list"))

    asker.wait_for_room(answer)


def who(asker: Asker, params: list[str]) -> None:
    channel = asker.channel
    mask = params[0] if params and params[0] else "*"

    def answer() -> None:
        me, server, room = asker.me, channel.server, channel.host.room
        everyone, away = room.keyed_names(), room.away_messages()
        ours = channel.is_ours(mask)
        where = channel.name if ours else "*"
        lines = []
        for name in everyone.values() if ours else matching_names(mask, everyone):
            username, realname = channel.identity(name)
            flags = _flags(channel, name, name in away, ours)
            head = f":{server} 352 {me} {where} {username} {server} {server} {name} {flags} :0 ".encode()
            lines.append(irc.fit(head, realname))
        asker.send_long(b"".join(lines) + channel.numeric("315", me, mask, "End of WHO list"))

    asker.wait_for_room(answer)


def _flags(channel: IrcChannel, name: str, away: bool, in_channel: bool) -> str:
    """WHO's flags, as modern servers give them: ``H`` (here) or ``G`` (gone: away), then for an
    operator ``*`` (an IRC operator) and, when the reply names the channel, ``@`` (its prefix there)."""
    if not channel.is_operator(name):
        return "G" if away else "H"
    return ("G*" if away else "H*") + ("@" if in_channel else "")


def whois(asker: Asker, params: list[str]) -> None:
    if not params:
        asker.reply("431", "No nickname given")
        return
    channel = asker.channel
    nick = params[-1]

    def answer() -> None:
        me, room = asker.me, channel.host.room
        name = room.held_name(nick)
        if name is None:
            reply = channel.numeric("401", me, nick, "No such nick/channel")
        else:
            server = channel.server
            username, realname = channel.identity(name)
            reply = irc.fit(f":{server} 311 {me} {name} {username} {server} * :".encode(), realname)
            if room.knows(name):
                reply += channel.numeric("319", me, name, channel.name)
            reply += channel.numeric("312", me, name, server, "algokart-chat")
            away = room.away(name)
            if away is not None:
                reply += channel.away_reply(me, name, away)
            account = room.account_of(name)
            if account is not None:
                reply += channel.numeric("330", me, name, account, "is logged in as")
        asker.send(reply + channel.numeric("318", me, nick, "End of /WHOIS list"))

    asker.wait_for_room(answer)


def list_channels(asker: Asker, params: list[str]) -> None:
    channel, me = asker.channel, asker.me
    reply = channel.numeric("321", me, "Channel", "Users Name")
    if not params or any(channel.is_ours(wanted) for wanted in params[0].split(",")):
        reply += channel.numeric("322", me, channel.name, str(len(channel.host.room)), "")
    asker.send(reply + channel.numeric("323", me, "End of /LIST"))


def topic(asker: Asker, params: list[str]) -> None:
    if not params:
        asker.reply("461", "TOPIC", "Not enough parameters")
    elif not asker.channel.is_ours(params[0]):
        asker.reply("403", params[0], "No such channel")
    elif len(params) > 1:
        asker.reply("482", params[0], "You're not channel operator")
    else:
        asker.reply("331", asker.channel.name, "No topic is set")


_LIST_ENDS: Final = {  # MODE <channel> b, e, I: the end of each list (they are always empty)
    "b": ("368", "End of channel ban list"),
    "e": ("349", "End of channel exception list"),
    "I": ("347", "End of channel invite list"),
}


def mode(asker: Asker, params: list[str]) -> None:
    if not params:
        asker.reply("461", "MODE", "Not enough parameters")
        return
    target, changes = params[0], params[1:]
    channel = asker.channel
    if not target.startswith(("#", "&")):
        if username_key(target) != username_key(asker.me):
            asker.reply("502", "Can't change mode for other users")
        else:
            asker.reply("221", "+")
    elif not channel.is_ours(target):
        asker.reply("403", target, "No such channel")
    elif not changes:
        asker.reply("324", channel.name, "+")
    elif changes[0].lstrip("+") in _LIST_ENDS:
        code, words = _LIST_ENDS[changes[0].lstrip("+")]
        asker.reply(code, channel.name, words)
    else:
        asker.reply("482", channel.name, "You're not channel operator")


def ison(asker: Asker, params: list[str]) -> None:
    room = asker.channel.host.room
    wanted = " ".join(params).split()
    asker.reply("303", " ".join(nick for nick in wanted if room.held_name(nick)))


def userhost(asker: Asker, params: list[str]) -> None:
    channel = asker.channel
    room, server = channel.host.room, channel.server
    replies = []
    for nick in params[:5]:
        name = room.held_name(nick)
        if name is not None:
            here = "+" if room.away(name) is None else "-"
            replies.append(f"{name}={here}{channel.identity(name).username}@{server}")
    asker.reply("302", " ".join(replies))


def matching_names(mask: str, candidates: dict[str, str]) -> list[str]:
    """The names of ``candidates`` (``username_key`` -> name, as ``ChatRoom.keyed_names`` gives
    them) ``mask`` matches (``*``, ``?``), compared as names are: by their keys.  A mask longer
    than a name can be, or once folded than the longest of these, is answered without matching
    (and the first without folding it, which costs more than all the rest)."""
    if len(mask) - mask.count("*") > MAX_USERNAME_CHARS:
        return []
    pattern = username_key(mask)
    if len(pattern) - pattern.count("*") > max(map(len, candidates), default=0):
        return []
    matches = irc.Wildcard(pattern).matches
    return [name for key, name in candidates.items() if matches(key)]
