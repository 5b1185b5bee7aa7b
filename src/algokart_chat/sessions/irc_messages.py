"""The IRC gateway's messages: ``PRIVMSG``, ``NOTICE`` and ``TAGMSG`` of one session, to the
channel (a broadcast) or to nicks (direct messages), docs/IRC.md, *Messages*.

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
  end of every read, and here before a direct message, so everyone sees the same order.  Only
  messages of one command and the same client-only tags travel together; a ``TAGMSG`` goes alone.
- Client-only tags (``+typing``, ``+draft/react`` ...: message-tags) travel with the message, escaped
  as on the wire (``irc.client_tags``); other tags a client sends are never relayed.  ``TAGMSG``
  carries nothing else: line users never see it, nor do IRC users without message-tags.
- The room gives the sender its message back (``events.Echoed``) if it enabled echo-message
  (``Speaker.take_echo``).
- A direct message to a nick this server does not know waits for the room's sync point and asks
  again (in a cluster it may be someone who just came in elsewhere).
- Every message tells the server how much it gave the room to deliver (``note_fan_out``), which
  is how the server knows it is behind.
- ``privmsg`` is the commonest line's shorter way (no tags, our channel, printable text, nothing
  muted): it does what ``send`` does, and hands it anything else.  Printable text has nothing the
  cleaning removes, so it is its own raw and, trimmed, its text.
- ``NOTICE`` never gets an error reply.
- A ``PRIVMSG`` to a nick that is away gets ``301`` with its away message, every time, as on IRC
  servers (``NOTICE`` gets none: it never gets an automatic reply).

Guarantees: a line to too many targets sends nothing and costs only itself; every recipient gets
one session's messages in the order they were sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NamedTuple, Protocol

from algokart_chat import irc
from algokart_chat.events import Said, Told
from algokart_chat.moderators import Moderators, MuteCheck
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

    @property
    def account(self) -> str | None:
        """The account the speaker logged in to, if any (account-tag)."""

    def reply(self, code: str, *params: str) -> None:
        """Send the speaker the numeric ``code`` with ``params``."""

    def send(self, reply: bytes) -> None:
        """Send the speaker ``reply``, as it is."""

    def charge(self, lines: int) -> None:
        """Take ``lines`` more lines from the speaker's input budget."""

    def wait_for_room(self, then: Callable[[], None]) -> None:
        """Hold the speaker's input until the room has caught up, then call ``then``."""

    def take_echo(self) -> bool:
        """Whether the message about to go to the room comes back to the speaker (echo-message);
        if so, the speaker now expects it."""


class IrcMessages:
    """One session's ``PRIVMSG`` and ``NOTICE``, and its messages to the channel not yet in the
    room."""

    # One per connection, so slots.
    __slots__ = ("_mute_check", "_speaker", "_unpublished")

    def __init__(self, speaker: Speaker, moderators: Moderators | None = None) -> None:
        self._speaker = speaker
        # A speaker whose nick or account is muted sends nothing (PRIVMSG: 404).
        self._mute_check = MuteCheck(moderators) if moderators is not None else None
        # This read's messages to the channel, not yet in the room: (command, tags, texts, raws).
        self._unpublished: tuple[str, str | None, list[str | None], list[str]] | None = None

    def send(self, command: str, params: list[str], tags: str = "") -> None:
        """``command`` (PRIVMSG, NOTICE or TAGMSG) with ``params``: the targets and the text (none
        for TAGMSG); ``tags``: the line's message tags, as sent."""
        speaker = self._speaker
        if self._muted(command, params):
            return
        errors = command != "NOTICE"  # NOTICE never gets an error reply
        if not params or not params[0]:
            if errors:
                speaker.reply("411", f"No recipient given ({command})")
            return
        relayed = irc.client_tags(irc.parse_tags(tags)) if tags else None
        said = params[1] if len(params) > 1 and command != "TAGMSG" else ""
        # What IRC users get of it, and what line users do (printable: neither has anything to remove)
        printable = said.isprintable()
        raw = said if printable else one_line(said)
        if not raw and command != "TAGMSG":
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
        if command == "TAGMSG":
            text: str | None = None
        elif printable:  # (no control, format character or separator but the space: no CTCP either)
            text = raw.strip(" ") or None
        else:
            plain = irc.plain_text(raw)
            text = clean_text(plain) or None if plain is not None else None
        message = _Message(command, relayed, text, raw, errors)
        for target in targets:
            if target.startswith(("#", "&")):
                self._to_channel(message, target)
            else:
                self._to_nick(message, target)

    def privmsg(self, target: str, said: str) -> None:
        """``PRIVMSG target :said`` with no tags: what ``send`` does, in fewer steps for the commonest
        case (nothing muted, the channel, printable text, joining the read's messages so far)."""
        speaker = self._speaker
        pending = self._unpublished
        check = self._mute_check
        if (
            (pending is None or (pending[0] == "PRIVMSG" and pending[1] is None))
            and (check is None or not check.anyone_muted())
            and said.isprintable()  # (then it is its own raw, and its text once trimmed: send's cleaning)
            and target == speaker.channel.name  # (ours: "#" and no comma, so one channel target)
            and speaker.joined
        ):
            text = said.strip(" ") or None
            if not said:
                speaker.reply("412", "No text to send")
            elif pending is None:
                self._unpublished = ("PRIVMSG", None, [text], [said])
            else:
                pending[2].append(text)
                pending[3].append(said)
        else:
            self.send("PRIVMSG", [target, said])

    def _muted(self, command: str, params: list[str]) -> bool:
        """Whether the speaker's nick or account is muted (moderation): then nothing is sent, and
        PRIVMSG gets 404."""
        check = self._mute_check
        if check is None or not check.anyone_muted():  # (a test, before the name and account are asked for)
            return False
        name = self._speaker.name
        mute = check.mute(name, self._speaker.account) if name is not None else None
        if mute is not None and command == "PRIVMSG":
            target = params[0].split(",")[0] if params and params[0] else self._speaker.channel.name
            self._speaker.reply("404", target, f"Cannot send to channel (you are muted {mute.describe()})")
        return mute is not None

    def publish(self) -> None:
        """Give the room the messages to the channel gathered so far, if any, as one ``Said``."""
        if self._unpublished is None:
            return
        nick = self._speaker.name
        assert nick is not None  # (joined, so it has a nick)
        (command, tags, texts, raws), self._unpublished = self._unpublished, None
        host = self._speaker.channel.host
        said = Said(nick, texts, raws, command, tags, self._speaker.account)
        host.room.broadcast(said, self._speaker, echo=self._speaker.take_echo())
        size = sum(map(len, raws)) + max(len(raws), 1) * (2 * len(nick) + 30) + len(tags or "")
        host.note_fan_out(size * max(0, len(host.room) - 1))

    def _to_channel(self, message: _Message, channel: str) -> None:
        speaker = self._speaker
        if not speaker.channel.is_ours(channel):
            if message.errors:
                speaker.reply("403", channel, "No such channel")
        elif not speaker.joined:
            if message.errors:
                speaker.reply("404", channel, "Cannot send to channel")
        else:  # consecutive messages of one read travel together, as the line protocol's do
            pending = self._unpublished
            if pending is not None and (pending[0] != message.command or pending[1] != message.tags):
                self.publish()
                pending = None
            if message.command == "TAGMSG":  # (it has no text to add to another: it goes alone)
                self.publish()
                self._unpublished = (message.command, message.tags, [], [])
                self.publish()
            elif pending is None:
                self._unpublished = (message.command, message.tags, [message.text], [message.raw])
            else:
                pending[2].append(message.text)
                pending[3].append(message.raw)

    def _to_nick(self, message: _Message, nick: str) -> None:
        self.publish()  # (what was said to the channel before comes first)
        if self._speaker.channel.host.room.held_name(nick) is not None:
            self._tell(message, nick)
        else:  # in a cluster it may be someone who just came in elsewhere: ask again once caught up
            self._speaker.wait_for_room(lambda: self._tell(message, nick))

    def _tell(self, message: _Message, nick: str) -> None:
        speaker = self._speaker
        host = speaker.channel.host
        name = host.room.held_name(nick)
        if name is None:
            if message.errors:
                speaker.reply("401", nick, "No such nick/channel")
            return
        sender = speaker.name
        assert sender is not None  # (registered, so it has a nick)
        told = Told(sender, message.text, message.raw, message.command, message.tags, speaker.account)
        host.room.direct(name, told, echo_to=speaker if speaker.take_echo() else None)
        host.note_fan_out(len(message.raw) + 2 * len(sender) + 30 + len(message.tags or ""))
        away = host.room.away(name) if message.command == "PRIVMSG" else None
        if away is not None:
            speaker.send(speaker.channel.away_reply(sender, name, away))


class _Message(NamedTuple):
    """One PRIVMSG, NOTICE or TAGMSG, for each of its targets."""

    command: str
    tags: str | None  # the client-only tags relayed with it
    text: str | None  # what line users read (None: nothing)
    raw: str  # what IRC users read ("" for TAGMSG)
    errors: bool  # whether the sender is told what went wrong (not for NOTICE)


def distinct_targets(targets: str) -> list[str]:
    """The comma list of a PRIVMSG or NOTICE, each target once (as channels or names compare)."""
    if "," not in targets:  # (one target: nothing to fold)
        return [targets]
    seen: dict[str, str] = {}
    for target in targets.split(","):
        key = irc.channel_key(target) if target.startswith(("#", "&")) else username_key(target)
        seen.setdefault(key, target)
    return list(seen.values())
