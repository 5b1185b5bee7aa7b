"""The IRC gateway's messages: ``PRIVMSG`` and ``NOTICE`` of one session, to the channel (a
broadcast) or to nicks (direct messages), docs/IRC.md, *Messages*.

``IrcMessages`` is one session's sender; it sees the session through ``Speaker``, the narrow view
a sender needs (``irc_session.IrcSession`` is one).

Plan:
- One line reaches at most ``MAX_TARGETS`` distinct targets (``TARGMAX``: a target named twice,
  as channels or names compare, counts once); with more, nothing is sent.  Each target costs a
  line of the connection's input budget (the line itself paid for the first).
- What an IRC user reads is the text as sent, formatting and CTCP kept (``raw``); what a line user
  reads is ``irc.plain_text`` cleaned as line text is (``text``; None when nothing is left, such
  as a CTCP request other than ``ACTION``).
- Consecutive messages of one read to the channel travel together as one ``Said``, as the line
  protocol's ``MSG`` lines do: the session publishes the batch before any other command, at the
  end of every read, and here before a direct message, so everyone sees the same order.
- A direct message to a nick this server does not know waits for the room's sync point and asks
  again (in a cluster it may be someone who just came in elsewhere).
- Every message tells the server how much it gave the room to deliver (``note_fan_out``), which
  is how the server knows it is behind.
- ``NOTICE`` never gets an error reply.

Guarantees: a line to too many targets sends nothing and costs only itself; every recipient gets
one session's messages in the order they were sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

from algokart_chat import irc
from algokart_chat.events import Said, Told
from algokart_chat.names import username_key
from algokart_chat.room import Member
from algokart_chat.sessions.irc_channel import IrcChannel
from algokart_chat.text import clean_text, one_line

MAX_TARGETS: Final = 4  # targets of one PRIVMSG or NOTICE (TARGMAX)


class Speaker(Member, Protocol):
    """What sending messages needs of the session that sends them (the room's member)."""

    @property
    def channel(self) -> IrcChannel: ...

    @property
    def name(self) -> str | None:
        """The speaker's nick, once registered."""

    @property
    def joined(self) -> bool:
        """Whether the speaker is in the channel."""

    def reply(self, code: str, *params: str) -> None:
        """Send the speaker the numeric ``code`` with ``params``."""

    def charge(self, lines: int) -> None:
        """Take ``lines`` more lines from the speaker's input budget."""

    def wait_for_room(self, then: Callable[[], None]) -> None:
        """Hold the speaker's input until the room has caught up, then call ``then``."""


class IrcMessages:
    """One session's ``PRIVMSG`` and ``NOTICE``, and its messages to the channel not yet in the
    room."""

    # One per connection, so slots.
    __slots__ = ("_speaker", "_unpublished")

    def __init__(self, speaker: Speaker) -> None:
        self._speaker = speaker
        # This read's messages to the channel, not yet in the room: (command, texts, raws).
        self._unpublished: tuple[str, list[str | None], list[str]] | None = None

    def send(self, command: str, params: list[str]) -> None:
        """``command`` (PRIVMSG or NOTICE) with ``params``: the targets and the text."""
        speaker = self._speaker
        errors = command == "PRIVMSG"  # NOTICE never gets an error reply
        if not params or not params[0]:
            if errors:
                speaker.reply("411", f"No recipient given ({command})")
            return
        raw = one_line(params[1]) if len(params) > 1 else ""  # (what IRC users get of it)
        if not raw:
            if errors:
                speaker.reply("412", "No text to send")
            return
        targets = distinct_targets(params[0])
        if len(targets) > MAX_TARGETS:  # nothing is sent: one line may not reach more
            if errors:
                speaker.reply(
                    "407", targets[MAX_TARGETS], f"Too many targets (at most {MAX_TARGETS}); nothing was sent"
                )
            return
        if len(targets) > 1:  # each target costs a line of the budget (the line paid for the first)
            speaker.charge(len(targets) - 1)
        plain = irc.plain_text(raw)
        text = clean_text(plain) or None if plain is not None else None
        for target in targets:
            if target.startswith(("#", "&")):
                self._to_channel(command, target, text, raw, errors)
            else:
                self._to_nick(command, target, text, raw, errors)

    def publish(self) -> None:
        """Give the room the messages to the channel gathered so far, if any, as one ``Said``."""
        if self._unpublished is None:
            return
        nick = self._speaker.name
        assert nick is not None  # (joined, so it has a nick)
        (command, texts, raws), self._unpublished = self._unpublished, None
        host = self._speaker.channel.host
        host.room.broadcast(Said(nick, texts, raws, command), self._speaker)
        host.note_fan_out((sum(map(len, raws)) + len(raws) * (2 * len(nick) + 30)) * max(0, len(host.room) - 1))

    def _to_channel(self, command: str, channel: str, text: str | None, raw: str, errors: bool) -> None:
        speaker = self._speaker
        if not speaker.channel.is_ours(channel):
            if errors:
                speaker.reply("403", channel, "No such channel")
        elif not speaker.joined:
            if errors:
                speaker.reply("404", channel, "Cannot send to channel")
        else:  # consecutive messages of one read travel together, as the line protocol's do
            pending = self._unpublished
            if pending is not None and pending[0] != command:
                self.publish()
                pending = None
            if pending is None:
                self._unpublished = (command, [text], [raw])
            else:
                pending[1].append(text)
                pending[2].append(raw)

    def _to_nick(self, command: str, nick: str, text: str | None, raw: str, errors: bool) -> None:
        self.publish()  # (what was said to the channel before comes first)
        if self._speaker.channel.host.room.held_name(nick) is not None:
            self._tell(command, nick, text, raw, errors)
        else:  # in a cluster it may be someone who just came in elsewhere: ask again once caught up
            self._speaker.wait_for_room(lambda: self._tell(command, nick, text, raw, errors))

    def _tell(self, command: str, nick: str, text: str | None, raw: str, errors: bool) -> None:
        speaker = self._speaker
        host = speaker.channel.host
        if host.room.held_name(nick) is None:
            if errors:
                speaker.reply("401", nick, "No such nick/channel")
            return
        sender = speaker.name
        assert sender is not None  # (registered, so it has a nick)
        host.room.direct(nick, Told(sender, text, raw, command))
        host.note_fan_out(len(raw) + 2 * len(sender) + 30)


def distinct_targets(targets: str) -> list[str]:
    """The comma list of a PRIVMSG or NOTICE, each target once (as channels or names compare)."""
    seen: dict[str, str] = {}
    for target in targets.split(","):
        key = irc.channel_key(target) if target.startswith(("#", "&")) else username_key(target)
        seen.setdefault(key, target)
    return list(seen.values())
