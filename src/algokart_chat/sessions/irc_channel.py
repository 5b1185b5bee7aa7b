"""The room as one IRC channel on one server: the names the gateway shows (the server's, the
channel's, every user's mask, username and real name), its numerics, and room events as IRC lines.

One ``IrcChannel`` per server, shared by all the sessions of its IRC listeners (``irc_session``).

Plan:
- Room events are encoded by ``wire``, one bound method made once, so each event caches its bytes
  for it (``events.RoomEvent.encoded``): however many IRC users hear an event, it is encoded once
  and all of them are sent the same bytes.
- A client that enabled capabilities that change what events look like (``irc_caps``: its
  ``form``, such as server-time and message-tags) gets them from ``encoder(form)``, one encoder
  made once per distinct form, so an event is encoded once per form that hears it (plain, with
  tags ...) and shared by everyone of that form; plain readers pay nothing for the others.  A
  form's encoding is the plain lines with tags in front of each: ``time`` (server-time: the
  message's stamp, else when the event was first encoded), ``msgid`` (message-tags: the stamp's
  id, ``<id>.<k>`` for the k-th line after the first), ``account`` (account-tag: the account a
  message's or a JOIN's sender logged in to) and the sender's client-only tags (message-tags),
  server tags first; and ``TAGMSG``, which only message-tags readers get.  With extended-join a
  JOIN carries the account (``*`` for none) and the real name ``WHO`` shows (``identity``).
- A line user's text (up to 8 KiB) becomes as many lines as it takes (``irc.lines_for``); an IRC
  user's is relayed as it was sent, cut to one line if the prefix made it too long (``irc.fit``).
- A direct message (``Told``) has one recipient, whose nick is in it: ``told_lines`` encodes it
  for that recipient, and nothing is cached.
- Everyone, from either protocol, appears as ``<name>!<name>@<server>``: no address is shown.
- ``WHO`` and ``WHOIS`` show the username and real name of this server's IRC users, from their
  ``USER`` (``identity``, kept here from registration until they leave); anyone else (a line user,
  an IRC user of another node of a cluster) has its name for both.
- A departure's reason ends its ``QUIT`` (``Quit`` if none was given), a ``PART``'s its line;
  either is cut to fit the line (``irc.fit``).
- ``away-notify`` is part of a form: its encoder adds an ``AWAY`` line for a change of away
  message, and after the ``JOIN`` of someone away (tagged as the form's other lines are);
  ``wire`` has none.

Guarantees: nothing here sends, waits or changes the room; only ``names_lines`` reads it.  No line
made here holds a CR or a NUL but those of its CRLF.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Final, NamedTuple

from algokart_chat import irc
from algokart_chat.events import (
    Arrived,
    AwayChanged,
    Departed,
    Parted,
    Renamed,
    RoomEvent,
    Said,
    Stamp,
    Together,
    Told,
    text_id,
)
from algokart_chat.names import username_key
from algokart_chat.room import RoomHost

Encoder = Callable[[RoomEvent], bytes]
Form = frozenset[str]  # the capabilities a client enabled that change how events look (irc_caps.form)
PLAIN: Final[Form] = frozenset()
SERVER_TIME: Final = "server-time"
MESSAGE_TAGS: Final = "message-tags"
ACCOUNT_TAG: Final = "account-tag"
EXTENDED_JOIN: Final = "extended-join"
AWAY_NOTIFY: Final = "away-notify"
MAX_REMOVALS: Final = 64  # kicks and kills whose departure is still to be announced
REMOVAL_SECONDS: Final = 10.0


def _nobody(_name: str) -> bool:
    return False


def _no_one() -> bool:
    return False


DEFAULT_QUIT: Final = "Quit"  # what a departure without a reason shows


class Identity(NamedTuple):
    """Who a user says it is: the username field (``~user``) and the real name."""

    username: str
    realname: str


class IrcChannel:
    """The room as the channel ``name`` of the IRC server ``server``; ``host`` is the server's
    room and the services around it that the sessions use."""

    __slots__ = (
        "_clock",
        "_forms",
        "_identities",
        "_removals",
        "anyone_operator",
        "created",
        "host",
        "is_operator",
        "key",
        "name",
        "server",
        "wire",
    )

    def __init__(self, host: RoomHost, server: str, name: str, clock: Callable[[], float] = time.time) -> None:
        self.host = host
        self.server = server
        self.name = name
        self.key = irc.channel_key(name)
        self.created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        self._clock = clock
        # One bound method, made once: the room events cache their bytes per encoder.
        self.wire: Encoder = self._encode
        self._identities: dict[str, Identity] = {}  # nick (as held) -> identity, of this server's IRC users
        self._forms: dict[Form, Encoder] = {PLAIN: self.wire}  # one encoder per form, made once
        self.is_operator: Callable[[str], bool] = _nobody  # (irc_moderation.Operators: @ in NAMES, WHO)
        self.anyone_operator: Callable[[], bool] = _no_one  # False: is_operator is False for every name
        # name key -> (when, operator, kick or kill, reason): how its departure reads (note_removal)
        self._removals: dict[str, tuple[float, str, str, str]] = {}

    def encoder(self, form: Form) -> Encoder:
        """The encoder of room events for clients of ``form`` (``wire`` for the plain form)."""
        encoder = self._forms.get(form)
        if encoder is None:
            encoder = self._forms[form] = self._new_encoder(form)
        return encoder

    def _new_encoder(self, form: Form) -> Encoder:
        def encode(event: RoomEvent) -> bytes:
            return self._encode_tagged(form, encode, event)

        return encode

    def identity(self, name: str) -> Identity:
        """The username and real name ``WHO`` and ``WHOIS`` show for ``name`` (as the room holds it)."""
        return self._identities.get(name) or Identity(name, name)

    def introduce(self, nick: str, identity: Identity | None) -> None:
        """``nick`` is held by an IRC user of this server with ``identity`` now (None: no longer)."""
        if identity is None:
            self._identities.pop(nick, None)
        else:
            self._identities[nick] = identity

    def is_ours(self, channel: str) -> bool:
        """Whether ``channel`` names this channel (as ``CASEMAPPING=ascii`` compares)."""
        return channel == self.name or irc.channel_key(channel) == self.key

    def mask(self, nick: str) -> str:
        return irc.user_mask(nick, self.server)

    def numeric(self, code: str, target: str, *params: str) -> bytes:
        return irc.message(self.server, code, target, *params)

    def away_reply(self, me: str, nick: str, away: str) -> bytes:
        """``301``: ``nick`` is away with the message ``away`` (cut to fit the line)."""
        return irc.fit(f":{self.server} 301 {me} {nick} :".encode(), away)

    def names_lines(self, me: str, userhost: bool = False) -> bytes:
        """353 lines of everyone in the room, as many as it takes, and 366; with ``userhost``
        (userhost-in-names), each as its whole mask."""
        head = f":{self.server} 353 {me} = {self.name} :".encode()
        names = self.host.room.names()
        if self.anyone_operator():
            shown = self.mask if userhost else str
            listed = " ".join(("@" if self.is_operator(name) else "") + shown(name) for name in names)
        elif userhost:
            listed = " ".join(map(self.mask, names))
        else:
            listed = " ".join(names)  # (the common case, a storm of joins: no Python step per name)
        return b"".join(irc.lines_for(head, listed)) + self.numeric("366", me, self.name, "End of /NAMES list")

    def told_lines(self, told: Told, recipient: str, form: Form = PLAIN) -> bytes:
        """A direct message to ``recipient``, for a client of ``form``: as sent, if an IRC user
        sent it, else as many lines as the text takes; nothing if it means nothing to IRC (or,
        for a TAGMSG, to a client without message-tags)."""
        if told.command == "TAGMSG":
            plain = self._tagmsg(told.sender, recipient) if MESSAGE_TAGS in form else b""
        else:
            plain = self._told_plain(told, recipient)
        return self.tagged(form, plain, told.stamp, told.tags, told.account) if form else plain

    def _told_plain(self, told: Told, recipient: str) -> bytes:
        raw = told.raw if told.raw is not None else told.text
        if raw is None:
            return b""
        head = irc.text_head(told.sender, self.server, told.command or "PRIVMSG", recipient)
        if told.raw is not None:
            return irc.fit(head, irc.without_cr_nul(raw))
        return b"".join(irc.lines_for(head, raw))

    def _tagmsg(self, sender: str, target: str) -> bytes:
        return f":{self.mask(sender)} TAGMSG {target}".encode() + irc.CRLF

    def tagged(
        self, form: Form, plain: bytes, stamp: Stamp | None, client_tags: str | None, account: str | None = None
    ) -> bytes:
        """``plain`` (whole lines) with the tags ``form`` asks for in front of each line."""
        if not plain:
            return plain
        server_tags: list[str] = []
        if SERVER_TIME in form:
            server_tags.append("time=" + irc.server_time(stamp.accepted_at if stamp is not None else self._clock()))
        if account is not None and ACCOUNT_TAG in form:
            server_tags.append(irc.tag("account", account))
        msgid = stamp.id if stamp is not None and MESSAGE_TAGS in form else None
        after = f";{client_tags}" if client_tags and MESSAGE_TAGS in form else ""
        if msgid is None and not server_tags and not after:
            return plain
        lines = plain.split(irc.CRLF)
        lines.pop()  # (after the last CRLF)
        head = ";".join(server_tags)
        tagged: list[bytes] = []
        for number, line in enumerate(lines):
            tags = head
            if msgid is not None:
                tags += (";" if tags else "") + ("msgid=" + msgid if not number else f"msgid={msgid}.c{number}")
            tags = (tags + after) if tags else after[1:]
            tagged.append(b"@" + tags.encode() + b" " + line + irc.CRLF)
        return b"".join(tagged)

    def _texts_tagged(self, form: Form, event: Said, stamp: Stamp) -> bytes:
        """Several texts (a read's MSG or PRIVMSG lines), each tagged with its own id
        (``events.text_id``) whatever number of lines a long one takes: the ids history and
        ``IDS ON`` give them.  The same lines as ``tagged`` makes of each text on its own, but
        the tags all texts share (``time``, ``account``, the client-only ones) made once: a
        flood's event holds hundreds of texts."""
        head = irc.text_head(event.sender, self.server, event.command or "PRIVMSG", self.name)
        raws = event.raws
        shared = []
        if SERVER_TIME in form:
            shared.append("time=" + irc.server_time(stamp.accepted_at))
        if event.account is not None and ACCOUNT_TAG in form:
            shared.append(irc.tag("account", event.account))
        front = ("@" + "".join(tag + ";" for tag in shared) + "msgid=").encode()
        after = (f";{event.tags}" if event.tags else "").encode() + b" "  # (MESSAGE_TAGS is in the form)
        tagged: list[bytes] = []
        for k, text in enumerate(event.texts):
            if raws is not None:
                lines = [irc.fit(head, irc.without_cr_nul(raws[k]))]
            elif text is None:
                continue
            else:
                lines = list(irc.lines_for(head, text))
            msgid = text_id(stamp.id, k).encode()
            tagged.append(front + msgid + after + lines[0])
            tagged.extend(
                front + msgid + b".c%d" % number + after + line for number, line in enumerate(lines) if number
            )
        return b"".join(tagged)

    def _encode_tagged(self, form: Form, encoder: Encoder, event: RoomEvent) -> bytes:
        """``event`` for clients of ``form`` (not plain): its plain lines, tagged."""
        if isinstance(event, Together):
            return b"".join(part.encoded(encoder) for part in event.parts)
        if isinstance(event, Said):
            if event.command == "TAGMSG":
                plain = self._tagmsg(event.sender, self.name) if MESSAGE_TAGS in form else b""
            elif len(event.texts) > 1 and event.stamp is not None and MESSAGE_TAGS in form:
                return self._texts_tagged(form, event, event.stamp)
            else:
                plain = event.encoded(self.wire)
            return self.tagged(form, plain, event.stamp, event.tags, event.account)
        if isinstance(event, Arrived):
            plain = self.join_line(event.name, event.account, EXTENDED_JOIN in form)
            if event.away is not None and AWAY_NOTIFY in form:
                plain += self.away_line(event.name, event.away)
            return self.tagged(form, plain, None, None, event.account)
        if isinstance(event, AwayChanged):
            plain = self.away_line(event.name, event.away) if AWAY_NOTIFY in form else b""
            return self.tagged(form, plain, None, None)
        return self.tagged(form, event.encoded(self.wire), event.stamp, None)

    def join_line(self, name: str, account: str | None, extended: bool) -> bytes:
        """``name``'s JOIN of the channel; ``extended`` (extended-join): with its account (``*``
        for none) and its real name as ``WHO`` shows it (``identity``), cut to fit the line."""
        if extended:
            head = f":{self.mask(name)} JOIN {self.name} {account or '*'} :".encode()
            return irc.fit(head, self.identity(name).realname)
        return irc.message(self.mask(name), "JOIN", self.name)

    def _encode(self, event: RoomEvent) -> bytes:
        if isinstance(event, Said):
            command = event.command or "PRIVMSG"
            if command == "TAGMSG":
                return b""  # (for message-tags readers only: _encode_tagged)
            head = irc.text_head(event.sender, self.server, command, self.name)
            return self._text_lines(head, event.texts, event.raws)
        if isinstance(event, Departed):
            return b"".join(self._departure(name, event.reason(index)) for index, name in enumerate(event.names))
        if isinstance(event, Parted):
            return self.part_line(event.name, event.reason)
        if isinstance(event, Arrived):
            return irc.message(self.mask(event.name), "JOIN", self.name)
        if isinstance(event, Renamed):
            return irc.message(self.mask(event.old), "NICK", event.new)
        if isinstance(event, Together):
            return b"".join(part.encoded(self.wire) for part in event.parts)
        return b""  # (a direct message is encoded for its one recipient: told_lines; AWAY: a form's)

    def part_line(self, nick: str, reason: str | None) -> bytes:
        if reason is None:
            return irc.message(self.mask(nick), "PART", self.name)
        return irc.fit(f":{self.mask(nick)} PART {self.name} :".encode(), reason)

    def away_line(self, nick: str, away: str | None) -> bytes:
        """``nick``'s ``AWAY`` (away-notify): with its message, or alone for back."""
        if away is None:
            return irc.message(self.mask(nick), "AWAY")
        return irc.fit(f":{self.mask(nick)} AWAY :".encode(), away)

    def note_removal(self, name: str, operator: str, how: str, reason: str) -> None:
        """``operator`` kicks (``how``: kick) or kills ``name``: its departure, announced next, is a
        ``KICK`` (a ``QUIT :Killed (...)``) rather than a plain ``QUIT``.  At most MAX_REMOVALS
        are kept, each for REMOVAL_SECONDS (a departure not heard by then is a plain one)."""
        now = self._clock()
        for key in [key for key, noted in self._removals.items() if now - noted[0] > REMOVAL_SECONDS]:
            del self._removals[key]
        if len(self._removals) >= MAX_REMOVALS:
            del self._removals[next(iter(self._removals))]
        self._removals[username_key(name)] = (now, operator, how, reason)

    def _departure(self, name: str, reason: str | None) -> bytes:
        """The line of ``name``'s departure: the kick or kill noted for it if there is one, else a
        ``QUIT`` with its reason (``Quit`` without one)."""
        removal = self._removals.pop(username_key(name), None) if self._removals else None
        if removal is None or self._clock() - removal[0] > REMOVAL_SECONDS:
            return irc.fit(f":{self.mask(name)} QUIT :".encode(), reason or DEFAULT_QUIT)
        _at, operator, how, why = removal
        if how == "kick":
            return irc.message(self.mask(operator), "KICK", self.name, name, why or operator)
        return irc.message(self.mask(name), "QUIT", f"Killed ({operator} ({why or 'no reason'}))")

    @staticmethod
    def _text_lines(head: bytes, texts: Sequence[str | None], raws: Sequence[str] | None) -> bytes:
        """A line user's text (up to 8 KiB) is split over as many lines as it takes; an IRC user's
        is cut to one line if the prefix made it too long, as it was sent."""
        room = irc.LINE_BYTES - len(head) - len(irc.CRLF)
        lines: list[bytes] = []
        if raws is not None:  # (CR and NUL were dropped on arrival; again here for a node that did not)
            for kept in map(irc.without_cr_nul, raws):  # (one that fits, without fit's call: most)
                data = kept.encode()
                lines.append(head + data + irc.CRLF if len(data) <= room else irc.fit(head, kept))
            return b"".join(lines)
        for text in texts:
            if text is None:
                continue
            data = text.encode()
            if 0 < len(data) <= room:  # (one line: most texts, taken without irc.lines_for's generator)
                lines.append(head + data + irc.CRLF)
            else:
                lines.extend(irc.lines_for(head, text))
        return b"".join(lines)
