"""An IRC user's place in the channel: ``JOIN``, ``PART`` and ``AWAY`` (docs/IRC.md, *Commands*
and *Away*), for its session (``irc_session.IrcSession``), which it sees through ``Present``.

Plan:
- ``JOIN`` of the channel shows the user in the room (it was held hidden since registration) and
  answers with the ``JOIN`` line and the names once the room has caught up, then the channel's
  last messages (``irc_history.replay_on_join``: the session keeps an ``irc_history.Mark`` from
  before it is shown until then); ``JOIN 0`` parts.
- ``PART`` hides the user again (a departure for line users), with its reason, cleaned and cut as
  every note is (``irc_replies.note``).  A list of channels answers 403 for each other channel.
- ``AWAY :<message>`` sets the away message, which the room keeps (every node of a cluster knows
  it), ``AWAY`` alone clears it: 306 and 305.

Guarantees: the session is in the room's channel exactly while ``joined`` is true; nothing here
keeps anything of its own.
"""

from __future__ import annotations

from typing import Protocol

from algokart_chat.room import Member
from algokart_chat.sessions import irc_replies
from algokart_chat.sessions.irc_history import CAPABILITY, Historian, Mark, replay_on_join


class Present(Historian, Member, Protocol):
    """What these commands need of the session (``joined``: ``Historian``'s)."""

    @property
    def name(self) -> str | None: ...  # its nick, once registered

    @property
    def account(self) -> str | None: ...


def join(session: Present, params: list[str]) -> None:
    if params and params[0] == "0":
        part_channel(session, None)
    elif _names_the_channel(session, "JOIN", params) and not session.joined:
        _come_in(session)


def _come_in(session: Present) -> None:
    nick, channel = session.name, session.channel
    assert nick is not None  # (registered)
    session.joined = True
    history = channel.host.room.history  # (a replay will follow: what comes live from now on is not in it)
    wanted = session.join_replay > 0 and not session.has(CAPABILITY) and history.on
    session.replay_mark = Mark(history) if wanted else None
    channel.host.room.show(session, nick, hears_arrivals=True)

    def welcome() -> None:
        names = channel.names_lines(nick, session.has("userhost-in-names"))
        session.send_long(channel.join_line(nick, session.account, session.has("extended-join")) + names)
        replay_on_join(session)  # (the channel's last messages, with their times: irc_history)

    session.wait_for_room(welcome)


def part(session: Present, params: list[str]) -> None:
    if not _names_the_channel(session, "PART", params):
        return
    if session.joined:
        part_channel(session, (irc_replies.note(params[1]) or None) if len(params) > 1 else None)
    else:
        session.reply("442", session.channel.name, "You're not on that channel")


def part_channel(session: Present, reason: str | None) -> None:
    """Leave the channel, if in it, for ``reason``."""
    nick, channel = session.name, session.channel
    if not session.joined or nick is None:
        return
    session.joined = False
    channel.host.room.hide(session, nick, reason)
    session.send(channel.part_line(nick, reason))


def _names_the_channel(session: Present, command: str, params: list[str]) -> bool:
    """Whether ``params`` name the channel (among others, each of which gets 403, as does a list
    without it); 461 without any."""
    if not params:
        session.reply("461", command, "Not enough parameters")
        return False
    ours = False
    for name in params[0].split(","):
        if session.channel.is_ours(name):
            ours = True
        else:
            session.reply("403", name, "No such channel")
    return ours


def away(session: Present, params: list[str]) -> None:
    """``AWAY :<message>`` sets it, ``AWAY`` (or an empty message) clears it."""
    nick = session.name
    assert nick is not None  # (registered)
    message = irc_replies.note(params[0]) if params else ""
    session.channel.host.room.set_away(session, nick, message or None)
    if message:
        session.reply("306", "You have been marked as being away")
    else:
        session.reply("305", "You are no longer marked as being away")
