"""The IRC gateway's session: what one IRC client (irssi, WeeChat, HexChat, a bot) does, between its
connection (``transport.connection``) and the room, which it sees as one channel.

``IrcSessions`` makes an ``IrcSession`` for each connection of an IRC listener, all sharing one
``irc_channel.IrcChannel``.  The session owns ``QUIT``, the keepalive and labels, and
coordinates its parts, which see it through narrow views: ``irc_registration`` (up to the
welcome; ``Registrant``), ``irc_presence`` (``JOIN``, ``PART``, ``AWAY``; ``Present``),
``irc_moderation`` (``OPER``, ``KICK``, ``KILL``, ``MODE``; ``Moderator``), ``irc_messages``
(``PRIVMSG``, ``NOTICE``, ``TAGMSG``; ``Speaker``), ``irc_queries`` (``WHO``, ``NAMES``, ...;
``Asker``), ``irc_history`` (``CHATHISTORY``, the replay after ``JOIN``; ``Historian``),
``irc_channel`` (room events as IRC lines), ``irc_caps`` (``CAP``) and ``irc_replies``.

The connection hands over lines (CRLF or LF, no telnet, nothing trimmed, 512 bytes with the CRLF
after up to 4096 bytes of message tags: ``irc.oversized`` says which are too long, 417);
``irc.parse`` makes them messages (``irc.simple_privmsg`` the commonest, for less); room events
come back through ``deliver``.  docs/IRC.md has the whole mapping.  Plan:

- Registration (``CAP``, ``PASS``, ``AUTHENTICATE``, ``NICK``, ``USER``, up to the welcome, and
  ``NICK`` after it) is ``irc_registration``'s; anything else before it completes gets 451.
- ``JOIN`` of the channel brings the user into the room, ``PART`` takes it out again (a departure
  for line users; ``irc_presence``), ``NICK`` renames (a departure of the old name for line
  users), ``QUIT`` leaves.
  A ``PART``'s or ``QUIT``'s reason, cleaned as message text is and cut to ``events.NOTE_BYTES``,
  goes with the departure (``irc_replies.departure_reason``: ``Quit: <reason>``, and why the
  server closed it for the other ways a connection ends).
- ``AWAY`` sets or clears the away message, which the room keeps (so that every node of a cluster
  knows it: ``301``, ``WHO``'s ``G``); with ``away-notify`` (a capability of its form) the
  session also hears others' changes.
- A bare CR or a NUL in a line is dropped before the line is read (``irc.without_cr_nul``), so
  nothing a client sends can end a line early for anyone it reaches.
- Like the line protocol's ``PING``, ``PING`` (and ``WHO``, ``NAMES``, a ``JOIN``'s names and a
  message to a nick not known yet) waits for the room's sync point, holding the input meanwhile,
  so that in a cluster replies keep the order of the commands; and ``PRIVMSG``/``NOTICE`` wait
  while the server is behind (``fan_out_allowed``), as ``MSG`` does.
- Capabilities: what the client enabled is ``_caps``; those that change what room events look
  like make its ``form``, whose encoder (``IrcChannel.encoder``) it shares with every client of
  that form.  With echo-message the room gives the client its own messages back (``Echoed``),
  stamped as everyone else gets them.
- labeled-response: a line with a ``label`` tag opens a label; everything the command answers
  (replies, and the echoes of the messages it sent: the label waits for them at the room's sync
  point) is gathered and sent when the command is done, labeled (``irc_replies.labeled``: one
  line, an ``ACK`` for none, a batch for several), with ``irc_replies.Labels`` telling the echoes
  of this command's messages from those of earlier ones.
- Keepalive: with --idle-timeout set (it is off by default: TCP keepalive finds dead peers), after
  that much silence the server sends ``PING``; one more such period with no line at all closes the
  connection (``ERROR :... (Ping timeout)``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from algokart_chat import irc
from algokart_chat.events import Echoed, RoomEvent, Told
from algokart_chat.logs import fields
from algokart_chat.moderators import Moderators
from algokart_chat.password_checks import CheckResult, Logins
from algokart_chat.room import RoomHost
from algokart_chat.sessions import irc_caps, irc_history, irc_moderation, irc_presence, irc_queries, irc_replies
from algokart_chat.sessions.irc_channel import PLAIN, Encoder, Form, IrcChannel
from algokart_chat.sessions.irc_messages import IrcMessages
from algokart_chat.sessions.irc_registration import COMMANDS, IrcRegistration
from algokart_chat.transport.connection import Connection, SessionType

log = logging.getLogger(__name__)

REPLY_BYTES_PER_TOKEN: Final = 1024  # a long NAMES or WHO reply costs a token per KiB, as the line WHO does
_MESSAGES: Final = ("PRIVMSG", "NOTICE", "TAGMSG")


class IrcSessions:
    """The IRC gateway on one listener: a session for each connection, and the channel they share."""

    __slots__ = ("channel", "join_replay", "logins", "moderators", "operators", "session_type")

    def __init__(
        self,
        host: RoomHost,
        server_name: str,
        channel: str,
        logins: Logins | None = None,
        moderators: Moderators | None = None,
        join_replay: int = 0,
    ) -> None:
        self.channel = IrcChannel(host, server_name, channel)
        self.join_replay = join_replay  # messages replayed after a JOIN (irc_history)
        self.logins = logins  # None: no accounts (no sasl, no PASS, every free nick for anyone)
        self.moderators = moderators if moderators is not None else Moderators(None, 64)
        self.operators = irc_moderation.Operators(host.room, logins.checks.account if logins else None)
        self.channel.is_operator, self.channel.anyone_operator = self.operators.is_operator, self.operators.anyone
        self.session_type = SessionType(
            "irc", irc.MAX_INPUT_BYTES, telnet=False, strip=False, new_session=self.new_session
        )

    def new_session(self, connection: Connection) -> IrcSession:
        return IrcSession(self.channel, connection, self.logins, self.moderators, self.operators, self.join_replay)


class IrcSession:
    """One IRC client: its registration, its place in the channel, and its commands, each handled
    here or by the part that owns it."""

    # One per connection, so slots.
    __slots__ = (
        "_awaiting",
        "_caps",
        "_channel",
        "_connection",
        "_form",
        "_handling",
        "_labels",
        "_messages",
        "_nick",
        "_operator",
        "_ping_sent",
        "_quit_text",
        "_registered",
        "_registration",
        "_tags",
        "_wire",
        "join_replay",
        "joined",
        "moderators",
        "operators",
        "replay_mark",
    )

    def __init__(
        self,
        channel: IrcChannel,
        connection: Connection,
        logins: Logins | None,
        moderators: Moderators,
        operators: irc_moderation.Operators | None = None,
        join_replay: int = 0,
    ) -> None:
        self._channel = channel
        self.join_replay = join_replay  # messages replayed after a JOIN (irc_history)
        self.operators = operators or irc_moderation.Operators(channel.host.room, None)
        self.moderators = moderators  # (irc_moderation's commands; a mute is irc_messages', a ban registration's)
        self._operator = False  # logged in to an account with the op role, or OPERed
        self._connection = connection
        self._registration = IrcRegistration(self, channel, connection, logins, moderators)
        self._nick: str | None = None  # its own once registered (held hidden until JOIN)
        self._registered = False
        self.joined = False  # in the room (the channel)
        self.replay_mark: irc_history.Mark | None = None  # from a JOIN to its replay (irc_history)
        self._awaiting = False  # a command waits for the room's answer
        self._ping_sent = False  # the keepalive PING is out; any line clears it
        self._quit_text: str | None = None  # QUIT's reason, cleaned
        self._messages = IrcMessages(self, moderators)  # PRIVMSG, NOTICE and TAGMSG
        self._caps = irc_caps.NONE  # the capabilities enabled
        self._form: Form = PLAIN  # those of them that change what room events look like
        self._wire: Encoder = channel.wire  # the encoder of that form
        self._tags = ""  # the message tags of the line being handled, as sent
        self._labels = irc_replies.Labels()  # labeled-response, and the echoes asked for
        self._handling = False  # a line is being handled (its label closes once it is)

    @property
    def name(self) -> str | None:
        return self._nick if self._registered else None

    @property
    def account(self) -> str | None:
        """The account it logged in to (SASL or PASS), if any."""
        return self._registration.account

    @property
    def me(self) -> str:
        """The nick, or ``*`` before there is one: the target of the replies."""
        return self._registration.me

    @property
    def caps(self) -> frozenset[str]:
        return self._caps

    @property
    def channel(self) -> IrcChannel:
        return self._channel

    # --- what the room delivers -----------------------------------------------------------------
    def deliver(self, event: RoomEvent | Echoed) -> None:
        if isinstance(event, Told):
            data = self._channel.told_lines(event, self._nick, self._form) if self._nick is not None else b""
        elif isinstance(event, Echoed):
            self._echoed(event)
            return
        else:
            data = event.encoded(self._wire)
        if self.replay_mark is not None:  # (joining: the replay stops at the first live message)
            self.replay_mark.note(event)
        if data:
            self._connection.send(data)

    def _echoed(self, echoed: Echoed) -> None:
        """Its own message back (echo-message): as the others of its form got it, or, if it was
        sent under the open label, part of that command's response."""
        event = echoed.event
        if isinstance(event, Told):
            data = self._channel.told_lines(event, echoed.to or event.sender, self._form)
        else:
            data = event.encoded(self._wire)
        if not self._labels.echo_back(data) and data:
            self._connection.send(data)

    # --- what the connection asks (transport.connection.Session) ---------------------------------
    def ready_for_input(self) -> bool:
        if self._awaiting:
            return False
        host = self._channel.host
        if not host.room.ready:
            host.when_room_ready(self._connection.resume)
            return False
        return True

    def line_received(self, line: str) -> bool:
        self._ping_sent = False
        said = irc.simple_privmsg(line) if self._registered and self._channel.host.fan_out_allowed() else None
        if said is not None:  # the commonest line, for less: no tags, so no label (behind: it waits, below)
            self._messages.privmsg(*said)
            return True
        line = irc.without_cr_nul(line)
        if irc.oversized(line):
            self.line_too_long()
            return True
        replaced = irc.invalid_utf8(line)
        message = irc.parse(line if replaced is None else replaced)
        if message is None:
            return True
        command, params, tags = message
        label = irc_replies.label_of(tags) if tags and "labeled-response" in self._caps else None
        if command not in _MESSAGES or label is not None:
            self._messages.publish()  # (what was said to the channel before comes first)
        if command in _MESSAGES and self._registered:
            host = self._channel.host
            if not host.fan_out_allowed():  # the server is behind: this line and the rest wait
                host.when_fan_out_allowed(self._connection.resume)
                return False
        if label is not None:
            self._labels.open(label)
        self._tags, self._handling = tags, True
        self._handle(command, params, replaced is not None)
        self._tags, self._handling = "", False
        if label is not None:
            self._messages.publish()  # (its echo, if any, is part of its response)
            self._command_done()
        return True

    def _handle(self, command: str, params: list[str], not_utf8: bool) -> None:
        if not_utf8 and command in _MESSAGES and self._registered:
            # UTF8ONLY: a message that is not UTF-8 is refused, not relayed with U+FFFD in it
            self.send(irc.message(self._channel.server, "FAIL", command, "INVALID_UTF8", "Message rejected: not UTF-8"))
            return
        registering = COMMANDS.get(command)
        if registering is not None:
            registering(self._registration, params)
            return
        handler = _ANYTIME.get(command)
        if handler is None:
            if not self._registered:
                self.reply("451", "You have not registered")
                return
            if command in _MESSAGES:
                self._messages.send(command, params, self._tags)
                return
            handler = _REGISTERED.get(command)
            if handler is None:
                self.reply("421", command, "Unknown command")
                return
        handler(self, params)

    def _command_done(self) -> None:
        """If the labeled command is over (its line handled, nothing waits for the room, and the
        echoes of its messages are back), send its response."""
        if self._labels.label is None or self._awaiting or self._handling:
            return
        if self._labels.wait_for_echoes():
            self.wait_for_room(lambda: None)  # the echoes are in once the room has caught up
            return
        self._connection.reply(self._labels.close(self._channel.server, "batch" in self._caps))

    def line_too_long(self) -> None:
        self.reply("417", "Input line was too long")

    def read_done(self) -> None:
        self._messages.publish()

    def idle(self) -> str | None:
        """No line for --idle-timeout seconds: PING once; after that, ping-timeout."""
        if self._ping_sent:
            return "ping-timeout"
        self._ping_sent = True
        self._connection.reply(irc.message(None, "PING", self._channel.server))
        return None

    def leave(self, reason: str, then: Callable[[], None] | None) -> None:
        self._registration.leave()
        nick, host = self._nick, self._channel.host
        self._nick, self.joined = None, False
        if nick is not None:
            self.operators.gone(nick)
        if nick is not None and self._registered:  # (before registration it holds no name)
            self._channel.introduce(nick, None)
            host.room.leave(self, nick, irc_replies.departure_reason(reason, self._quit_text))
            if not host.shutting_down:
                peer = self._connection.peer_text
                log.info("Leave: %s (%s)", nick, reason, extra=fields("leave", user=nick, peer=peer, reason=reason))
        if then is not None:
            host.room.sync(self, then)

    def farewell(self, reason: str) -> bytes | None:
        return irc_replies.farewell(self._channel.server, reason, self._quit_text)

    def refusal(self, code: str) -> bytes:
        return irc_replies.refusal(self._channel.server, code)

    # --- what its parts use (irc_queries.Asker, irc_messages.Speaker, irc_moderation.Moderator) ----
    @property
    def operator(self) -> str | None:
        return self._nick if self._operator and self._registered else None

    def become_operator(self) -> None:
        self._operator = True
        if self._nick is not None:
            self.operators.opered(self._nick)

    def check_password(self, name: str, password: str, done: Callable[[str, CheckResult], None]) -> bool:
        return self._registration.check_password(name, password, done)

    def reply(self, code: str, *params: str) -> None:
        self.send(self._channel.numeric(code, self.me, *params))

    def wait_for_room(self, then: Callable[[], None]) -> None:
        """Hold the input until the room has caught up (ChatRoom.sync), then ``then()``."""
        self._awaiting = True
        asked = self._labels.asked

        def answered() -> None:
            self._awaiting = False
            self._labels.synced(asked)  # (any echo still missing never comes)
            if not self._connection.closing:
                then()
                self._command_done()
            self._connection.resume()

        self._channel.host.room.sync(self, answered)

    def charge(self, lines: int) -> None:
        self._connection.charge(lines)

    def send(self, reply: bytes) -> None:
        """Answer the command being handled: at once, or with the others of a labeled one."""
        if not self._labels.gather(reply):
            self._connection.reply(reply)

    def send_long(self, reply: bytes) -> None:
        """``send``, charging the input budget a token per KiB (a long NAMES or WHO reply)."""
        self.send(reply)
        if len(reply) >= REPLY_BYTES_PER_TOKEN:
            self._connection.charge(len(reply) // REPLY_BYTES_PER_TOKEN)

    def take_echo(self) -> bool:
        if "echo-message" not in self._caps:
            return False
        self._labels.asked += 1
        return True

    def has(self, capability: str) -> bool:
        """Whether the client enabled ``capability`` (``irc_caps``)."""
        return capability in self._caps

    def batch_reference(self) -> str:
        return self._labels.reference("H")

    # --- what registration does to it (irc_registration.Registrant) -----------------------------
    def hold(self) -> None:
        self._awaiting = True

    def go_on(self) -> None:
        self._awaiting = False
        self._command_done()
        self._connection.resume()

    def use_caps(self, enabled: frozenset[str]) -> None:
        self._caps = enabled
        self._form = irc_caps.form(enabled)
        self._wire = self._channel.encoder(self._form)

    def welcomed(self, nick: str) -> None:
        self._nick, self._registered = nick, True

    def logged_in(self, operator: bool) -> None:
        self._operator = self._operator or operator

    def renamed(self, old: str, new: str) -> None:
        self._nick = new
        if self._operator:
            self.operators.gone(old)
            self.operators.opered(new)
        self._channel.introduce(old, None)
        self._channel.introduce(new, self._registration.user)
        if not self.joined:  # (in the room, it hears its own Renamed)
            self.send(irc.message(self._channel.mask(old), "NICK", new))

    # --- PONG, QUIT (PING: irc_queries) ---------------------------------------------------------
    def _pong(self, params: list[str]) -> None:
        pass  # (any line cleared the keepalive)

    def _quit(self, params: list[str]) -> None:
        if params:
            self._quit_text = irc_replies.note(params[0]) or None
        self._connection.close("quit")


Handler = Callable[[IrcSession, list[str]], None]


_ANYTIME: Final[dict[str, Handler]] = {  # before registration too
    "PING": irc_queries.ping,
    "PONG": IrcSession._pong,
    "QUIT": IrcSession._quit,
}
_REGISTERED: Final[dict[str, Handler]] = {
    "JOIN": irc_presence.join,
    "PART": irc_presence.part,
    "AWAY": irc_presence.away,
    "NAMES": irc_queries.names,
    "WHO": irc_queries.who,
    "WHOIS": irc_queries.whois,
    "LIST": irc_queries.list_channels,
    "TOPIC": irc_queries.topic,
    "MODE": irc_moderation.mode,
    "OPER": irc_moderation.oper,
    "KICK": irc_moderation.kick,
    "KILL": irc_moderation.kill,
    "ISON": irc_queries.ison,
    "USERHOST": irc_queries.userhost,
    "CHATHISTORY": irc_history.chathistory,
}
