"""The line protocol's session: what one user of ``nc``, ``telnet`` or the terminal client does,
between their connection (``transport.connection``) and the room.

The connection hands over complete lines; each line is one command (``LOGIN``, ``MSG``, ``DM``,
``WHO``, ``PING``, ``HELP``, ``QUIT``/``EXIT``), answered with the line protocol's replies, its
effects going to the room as events (``events``).  Room events come back through ``deliver`` and
are encoded once per event for every user of this protocol (``protocol.wire``).

Plan:
- Consecutive ``MSG`` lines of one read become one ``Said`` event, so a burst of k broadcasts costs
  one delivery per recipient, not k.  Order is kept: the batch goes to the room before this user
  does anything else that others can see (a ``DM``, leaving) and at the end of every read, and no
  other connection runs in between, so every recipient sees the same sequence.
- A command the room answers later (in a cluster: ``LOGIN``, ``PING``, ``WHO``, a ``DM`` to a name
  not known yet, and a close, whose farewell waits until the name is free everywhere) holds the
  connection's input until the answer, and so does a room that cannot take commands
  (``ChatRoom.ready``), so replies stay in the order of the commands.
- ``MSG`` and ``DM`` wait while the server cannot take more to deliver (``fan_out_allowed``: it is
  behind on some client that reads, or this loop turn has queued enough): the sender's reading
  pauses, its other lines wait in order, and everyone else, guests and ``PING`` included, is
  served meanwhile.
- A ``DM`` to someone away (an IRC user's ``AWAY``) is followed by ``INFO <name> is away: <message>``
  the first time only: the session remembers the last AWAY_TOLD messages it told of.
- Every way a connection ends goes through ``leave``, so other users hear
  ``INFO <name> disconnected`` exactly once (the server sends the departures of one loop iteration
  together), and the name is free again at once.
- ``LOGIN`` is ``line_login``'s, up to ``OK``: with accounts (``password_checks.Logins``), the
  password is checked off the event loop, the input held as for the room's answers.
- ``HISTORY`` (``line_history``) answers from the room's ``history`` once everything before it
  has been delivered (``ChatRoom.sync``), as ``WHO`` does, and costs the same.  ``IDS ON``
  switches this connection to ``protocol.wire_with_ids`` (before ``LOGIN`` too): without it every
  live line is unchanged.
- Moderation (``line_moderation``): a user logged in to an account with the ``op`` role is an
  operator.  A banned name or address gets ``ERR banned`` at ``LOGIN`` (before any password
  check), a user whose name or account is muted ``ERR muted`` for ``MSG`` and ``DM``; with nothing
  listed each costs one test.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Final

from algokart_chat import protocol
from algokart_chat.events import MessageId, RoomEvent, Said, Told
from algokart_chat.history import History
from algokart_chat.logs import fields
from algokart_chat.moderators import Moderators, MuteCheck
from algokart_chat.password_checks import Logins
from algokart_chat.room import RoomHost
from algokart_chat.sessions import line_history, line_login, line_moderation
from algokart_chat.text import clean_text
from algokart_chat.transport.connection import Connection, SessionType

log = logging.getLogger(__name__)

AWAY_TOLD: Final = 16  # away messages a session remembers having told of (the oldest is forgotten)

# The last line for each reason the server closes a connection (an end of file gets none).
_FAREWELLS: Final = {
    "quit": protocol.GOODBYE,
    "idle": protocol.INFO_IDLE_TIMEOUT,
    "login-timeout": protocol.INFO_LOGIN_TIMEOUT,
    "server-shutdown": protocol.INFO_SERVER_SHUTDOWN,
    "cluster-unavailable": protocol.INFO_CLUSTER_UNAVAILABLE,
    "cluster-reset": protocol.INFO_CLUSTER_RESET,
}


class ChatSessions:
    """The line protocol on one server: a session for each connection, and what they share (the
    ``WHO`` reply, built once per change of the room)."""

    __slots__ = ("_who_changes", "_who_reply", "help", "host", "logins", "moderators", "session_type")

    def __init__(
        self, host: RoomHost, max_line_bytes: int, logins: Logins | None = None, moderators: Moderators | None = None
    ) -> None:
        self.host = host
        self.logins = logins  # None: no accounts, the plain LOGIN <username>
        self.moderators = moderators if moderators is not None else Moderators(None, 64)
        self.help = protocol.HELP if logins is None else protocol.HELP_WITH_ACCOUNTS
        self.session_type = SessionType("chat", max_line_bytes, telnet=True, strip=True, new_session=self.new_session)
        self._who_reply = b""
        self._who_changes = -1

    def new_session(self, connection: Connection) -> ChatSession:
        return ChatSession(self, connection)

    def who_reply(self) -> bytes:
        """``USER <name>`` lines in login order, built once per change of the room and shared."""
        room = self.host.room
        if self._who_changes != room.changes:
            self._who_reply = b"".join(map(protocol.user_line, room.names()))
            self._who_changes = room.changes
        return self._who_reply


class ChatSession:
    # One per connection, so slots; the batch list exists only while it holds something.
    __slots__ = (
        "_account",
        "_awaiting",
        "_away_told",
        "_check",
        "_connection",
        "_first_live",
        "_ids",
        "_mute_check",
        "_operator",
        "_sessions",
        "_unpublished",
        "name",
    )

    def __init__(self, sessions: ChatSessions, connection: Connection) -> None:
        self.name: str | None = None
        self._account: str | None = None  # the account logged in to (its password checked)
        self._sessions = sessions
        self._connection = connection
        self._unpublished: list[str] | None = None  # this read's broadcasts, not yet in the room
        self._awaiting = False  # a command waits for the room's answer
        self._check: asyncio.Task[None] | None = None  # a password check under way
        self._ids = False  # IDS ON: broadcast lines carry their ids
        # The first message delivered that history keeps, a direct one too (HISTORY AFTER stops there)
        self._first_live: MessageId | None = None
        self._operator = False  # logged in to an account with the op role
        self._away_told: dict[str, str] | None = None  # name -> the away message it was told of
        self._mute_check = MuteCheck(sessions.moderators)  # (its name's and account's keys, kept)

    # --- what the room delivers -----------------------------------------------------------------
    def deliver(self, event: RoomEvent) -> None:
        if self._first_live is None and self._sessions.host.room.history.on:
            self._first_live = line_history.first_kept(event, self._sessions.host.room.history)
        payload = event.encoded(protocol.wire_with_ids if self._ids else protocol.wire)
        if payload:  # (an IRC user's TAGMSG, or a direct message with no text: nothing for a line user)
            self._connection.send(payload)

    # --- what the connection asks (transport.connection.Session) ---------------------------------
    def ready_for_input(self) -> bool:
        if self._awaiting:
            return False
        host = self._sessions.host
        if not host.room.ready:  # (a cluster whose link is down): the server resumes us
            host.when_room_ready(self._connection.resume)
            return False
        return True

    def line_received(self, line: str) -> bool:
        verb, argument = protocol.parse_command(line)
        if self.name is not None and verb in _FAN_OUT:
            host = self._sessions.host
            if not host.fan_out_allowed():  # the server is behind: this line and the rest wait
                host.when_fan_out_allowed(self._connection.resume)
                return False
        if self._unpublished is not None and verb != "MSG":
            self._publish()
        command = _ANYTIME.get(verb)
        if command is None:
            if self.name is None:
                self._connection.reply(_ERR_NOT_LOGGED_IN)
                return True
            command = _LOGGED_IN.get(verb, ChatSession._unknown)
        command(self, argument)
        return True

    def line_too_long(self) -> None:
        self._connection.reply(_ERR_LINE_TOO_LONG)

    def read_done(self) -> None:
        if self._unpublished is not None:
            self._publish()

    def leave(self, reason: str, then: Callable[[], None] | None) -> None:
        if self._check is not None:  # (its answer would go nowhere: the try is given back if it can be)
            self._check.cancel()
            self._check = None
        name = self.name
        host = self._sessions.host
        if name is not None:
            self.name = None
            host.room.leave(self, name)  # the room tells everyone, through the server's departed()
            if not host.shutting_down:  # (at shutdown nobody is left to read the logs of 10,000)
                peer = self._connection.peer_text
                log.info("Leave: %s (%s)", name, reason, extra=fields("leave", user=name, peer=peer, reason=reason))
        if then is not None:
            # In a cluster the name is free everywhere once the room has written the leave: the
            # farewell and the close wait for that, so a client that reconnects at once gets it back.
            host.room.sync(self, then)

    def farewell(self, reason: str) -> bytes | None:
        return _FAREWELLS.get(reason) or line_moderation.farewell(reason)

    def idle(self) -> str | None:
        return "idle"  # (a client that only reads sends PING now and then, as the terminal client does)

    def refusal(self, code: str) -> bytes:
        return line_login.refusal(code, self._sessions.moderators, self._connection)

    # --- commands -------------------------------------------------------------------------------
    def _publish(self) -> None:
        texts, self._unpublished = self._unpublished, None
        assert texts and self.name is not None  # MSG is a logged-in command
        host = self._sessions.host
        host.room.broadcast(Said(self.name, texts, account=self._account), self)
        host.note_fan_out((sum(map(len, texts)) + len(texts) * (len(self.name) + 5)) * (len(host.room) - 1))

    def _login(self, argument: str) -> None:
        line_login.login(self, argument, self._sessions, self._connection)

    # --- what the login does to it (line_login.Entrant) -------------------------------------------
    def hold(self) -> None:
        self._awaiting = True

    def answered(self) -> None:
        """The room (or a password check) answered: carry on with the lines that waited for it."""
        self._awaiting = False
        self._connection.resume()

    def checking(self, check: asyncio.Task[None] | None) -> None:
        self._check = check

    def entered(self, name: str, account: str | None, operator: bool) -> None:
        self.name, self._account, self._operator = name, account, operator

    def _message(self, argument: str) -> None:
        text = clean_text(argument)
        if not text:
            self._connection.reply(_ERR_EMPTY_MESSAGE)
        elif self._muted():
            pass
        elif self._unpublished is None:
            self._unpublished = [text]
        else:
            self._unpublished.append(text)

    def _direct(self, argument: str) -> None:
        name, rest = protocol.split_word(argument)
        room = self._sessions.host.room
        if name and room.held_name(name) is None:
            # In a cluster, the name may belong to someone who just logged in on another process
            # that this one has not heard of yet: look again once it has caught up (ChatRoom.sync).
            self._awaiting = True
            room.sync(self, lambda: self._send_direct(name, rest, answered=True))
        else:
            self._send_direct(name, rest)

    def _send_direct(self, name: str, rest: str, answered: bool = False) -> None:
        if self._connection.closing:
            return
        room = self._sessions.host.room
        if self._muted():
            pass
        elif not name or room.held_name(name) is None:
            self._connection.reply(_ERR_NO_SUCH_USER)
        elif not (text := clean_text(rest)):
            self._connection.reply(_ERR_EMPTY_MESSAGE)
        else:
            assert self.name is not None  # DM is a logged-in command
            room.direct(name, Told(self.name, text, account=self._account))
            self._sessions.host.note_fan_out(len(text) + len(self.name) + 4)
            self._tell_away(name)
        if answered:
            self.answered()

    def _muted(self) -> bool:
        """Whether this user is muted (then told so)."""
        assert self.name is not None
        mute = self._mute_check.mute(self.name, self._account)
        if mute is not None:
            self._connection.reply(line_moderation.refusal(mute))
        return mute is not None

    def _moderate(self, verb: str, argument: str) -> None:
        sessions = self._sessions
        account_of = sessions.logins.checks.account if sessions.logins is not None else _no_account
        operator = self.name if self._operator else None
        reply = line_moderation.moderate(verb, argument, operator, sessions.moderators, account_of, sessions.host.room)
        self._connection.reply(reply)

    def _tell_away(self, name: str) -> None:
        """If ``name`` is away, say so, unless this session was told of that message already."""
        room = self._sessions.host.room
        away = room.away(name)
        if away is None:
            return
        told = self._away_told
        if told is None:
            told = self._away_told = {}
        held = room.held_name(name) or name
        if told.get(held) == away:
            return
        told.pop(held, None)
        told[held] = away
        if len(told) > AWAY_TOLD:
            del told[next(iter(told))]
        self._connection.reply(protocol.is_away(held, away))

    def _who(self, _argument: str) -> None:
        """The names online once everything before has been delivered (see ChatRoom.sync), so
        that in a cluster it lists whoever got OK before this WHO, on whichever process."""
        self._awaiting = True
        self._sessions.host.room.sync(self, self._answer_who)

    def _answer_who(self) -> None:
        if self._connection.closing:
            return
        reply = self._sessions.who_reply()
        self._connection.reply(reply)
        if cost := protocol.reply_cost(reply):
            self._connection.charge(cost)
        self.answered()

    def _ping(self, _argument: str) -> None:
        """PONG once everything sent to the room before it has been delivered (see ChatRoom.sync):
        at once in memory, after a round trip through a cluster."""
        self._awaiting = True
        self._sessions.host.room.sync(self, self._pinged)

    def _pinged(self) -> None:
        if not self._connection.closing:
            self._sessions.host.announce_departures()  # (a departure before the PING comes before PONG)
            self._connection.reply(protocol.PONG)
            self.answered()

    def _history(self, argument: str) -> None:
        """``HISTORY [<count>]`` or ``HISTORY AFTER <id>`` (``line_history``), answered once
        everything before it was delivered (see ChatRoom.sync)."""
        asked = line_history.question(argument)
        if not self._sessions.host.room.history.on:
            self._connection.reply(_ERR_HISTORY_OFF)
        elif asked is None:
            self._connection.reply(_ERR_INVALID_ARGUMENT)
        else:
            self._awaiting = True
            self._sessions.host.room.sync(self, lambda: self._answer_history(asked))

    def _answer_history(self, asked: line_history.Question) -> None:
        if self._connection.closing:
            return
        history: History = self._sessions.host.room.history
        reply = line_history.answer(history, asked, time.time(), self._first_live, self._account)
        self._connection.reply(reply)
        if cost := protocol.reply_cost(reply):
            self._connection.charge(cost)
        self.answered()

    def _switch_ids(self, argument: str) -> None:
        """``IDS ON`` or ``IDS OFF``: whether this connection's broadcast lines carry their ids."""
        wanted = line_history.ids_wanted(argument)
        if wanted is None:
            self._connection.reply(_ERR_INVALID_ARGUMENT)
            return
        self._ids = wanted
        self._connection.reply(protocol.OK)

    def _help(self, _argument: str) -> None:
        self._connection.reply(self._sessions.help)

    def _quit(self, _argument: str) -> None:
        self._connection.close("quit")

    def _unknown(self, _argument: str) -> None:
        self._connection.reply(_ERR_UNKNOWN_COMMAND)


_ERR_NOT_LOGGED_IN = protocol.error("not-logged-in")
_ERR_EMPTY_MESSAGE = protocol.error("empty-message")
_ERR_NO_SUCH_USER = protocol.error("no-such-user")
_ERR_UNKNOWN_COMMAND = protocol.error("unknown-command")
_ERR_LINE_TOO_LONG = protocol.error("line-too-long")
_ERR_INVALID_ARGUMENT = protocol.error("invalid-argument")
_ERR_HISTORY_OFF = protocol.error("history-off")


CommandMethod = Callable[[ChatSession, str], None]


def _no_account(_name: str) -> None:
    return None


def _moderation_command(verb: str) -> CommandMethod:
    return lambda session, argument: session._moderate(verb, argument)


# Commands that work before login too.
_ANYTIME: dict[str, CommandMethod] = {
    "LOGIN": ChatSession._login,
    "PING": ChatSession._ping,
    "HELP": ChatSession._help,
    "QUIT": ChatSession._quit,
    "EXIT": ChatSession._quit,
    "IDS": ChatSession._switch_ids,  # (before LOGIN too: every live line after it has its id)
}
_LOGGED_IN: dict[str, CommandMethod] = {
    "MSG": ChatSession._message,
    "DM": ChatSession._direct,
    "WHO": ChatSession._who,
    "HISTORY": ChatSession._history,
    **{verb: _moderation_command(verb) for verb in line_moderation.COMMANDS},
}
_FAN_OUT: Final = frozenset({"MSG", "DM"})  # what sends to others, so waits while the server is behind
