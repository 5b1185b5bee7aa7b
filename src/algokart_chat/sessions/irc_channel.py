"""The room as one IRC channel on one server: the names the gateway shows (the server's, the
channel's, every user's mask), its numerics, and room events as IRC lines.

One ``IrcChannel`` per IRC listener, shared by all its sessions (``irc_session``).

Plan:
- Room events are encoded by ``wire``, one bound method made once, so each event caches its bytes
  for it (``events.RoomEvent.encoded``): however many IRC users hear an event, it is encoded once
  and all of them are sent the same bytes.
- A line user's text (up to 8 KiB) becomes as many lines as it takes (``irc.lines_for``); an IRC
  user's is relayed as it was sent, cut to one line if the prefix made it too long (``irc.fit``).
- A direct message (``Told``) has one recipient, whose nick is in it: ``told_lines`` encodes it
  for that recipient, and nothing is cached.
- Everyone, from either protocol, appears as ``<name>!<name>@<server>``: no address is shown.

Guarantees: nothing here sends, waits or changes the room; only ``names_lines`` reads it.  No line
made here holds a CR or a NUL but those of its CRLF.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from algokart_chat import irc
from algokart_chat.events import Arrived, Departed, Parted, Renamed, RoomEvent, Said, Together, Told
from algokart_chat.room import RoomHost


class IrcChannel:
    """The room as the channel ``name`` of the IRC server ``server``; ``host`` is the server's
    room and the services around it that the sessions use."""

    __slots__ = ("created", "host", "key", "name", "server", "wire")

    def __init__(self, host: RoomHost, server: str, name: str) -> None:
        self.host = host
        self.server = server
        self.name = name
        self.key = irc.channel_key(name)
        self.created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        # One bound method, made once: the room events cache their bytes per encoder.
        self.wire: Callable[[RoomEvent], bytes] = self._encode

    def is_ours(self, channel: str) -> bool:
        """Whether ``channel`` names this channel (as ``CASEMAPPING=ascii`` compares)."""
        return channel == self.name or irc.channel_key(channel) == self.key

    def mask(self, nick: str) -> str:
        return irc.user_mask(nick, self.server)

    def numeric(self, code: str, target: str, *params: str) -> bytes:
        return irc.message(self.server, code, target, *params)

    def names_lines(self, me: str) -> bytes:
        """353 lines of everyone in the room, as many as it takes, and 366."""
        head = f":{self.server} 353 {me} = {self.name} :".encode()
        return b"".join(irc.lines_for(head, " ".join(self.host.room.names()))) + self.numeric(
            "366", me, self.name, "End of /NAMES list"
        )

    def told_lines(self, told: Told, recipient: str) -> bytes:
        """A direct message to ``recipient``: as sent, if an IRC user sent it, else as many lines
        as the text takes; nothing if it means nothing to IRC."""
        raw = told.raw if told.raw is not None else told.text
        if raw is None:
            return b""
        head = irc.text_head(told.sender, self.server, told.command or "PRIVMSG", recipient)
        if told.raw is not None:
            return irc.fit(head, irc.without_cr_nul(raw))
        return b"".join(irc.lines_for(head, raw))

    def _encode(self, event: RoomEvent) -> bytes:
        if isinstance(event, Said):
            command = event.command or "PRIVMSG"
            head = irc.text_head(event.sender, self.server, command, self.name)
            return self._text_lines(head, event.texts, event.raws)
        if isinstance(event, Departed):
            return b"".join(irc.message(self.mask(name), "QUIT", "Quit") for name in event.names)
        if isinstance(event, Parted):
            return irc.message(self.mask(event.name), "PART", self.name)
        if isinstance(event, Arrived):
            return irc.message(self.mask(event.name), "JOIN", self.name)
        if isinstance(event, Renamed):
            return irc.message(self.mask(event.old), "NICK", event.new)
        if isinstance(event, Together):
            return b"".join(part.encoded(self.wire) for part in event.parts)
        return b""  # (a direct message is encoded for its one recipient: told_lines)

    @staticmethod
    def _text_lines(head: bytes, texts: Sequence[str | None], raws: Sequence[str] | None) -> bytes:
        """A line user's text (up to 8 KiB) is split over as many lines as it takes; an IRC user's
        is cut to one line if the prefix made it too long, as it was sent."""
        if raws is not None:  # (CR and NUL were dropped on arrival; again here for a node that did not)
            return b"".join([irc.fit(head, irc.without_cr_nul(raw)) for raw in raws])
        lines: list[bytes] = []
        for text in texts:
            if text is not None:
                lines.extend(irc.lines_for(head, text))
        return b"".join(lines)
