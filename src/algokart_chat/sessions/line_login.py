"""The line protocol's login: ``LOGIN <name>``, and ``LOGIN <name> <password>`` on a server with
accounts (docs/PROTOCOL.md, *Accounts*), up to the ``OK`` that makes a connection a member of the
room, and the line that refuses a connection before it (``refusal``).  The session (``line_session.ChatSession``) hands each ``LOGIN`` to ``login`` and is seen
through the narrow ``Entrant`` view: holding its input while a check or the room answers, the
check under way, and what it becomes once in.

Plan:
- ``first_refusal`` (pure) answers what needs no account and no room, in this order: a connection
  logged in already, an invalid name, a banned name or address (before any password check).
- Without accounts the whole argument is the name (``LOGIN a b`` is an invalid name).  With them
  (``password_checks.Logins``) the first word is the name and the rest the password: ``step``
  says whether it logs in as a guest, needs its password checked, or is refused at once
  (``step_refusal``).  A password is checked off the event loop, the input held meanwhile; the
  password goes nowhere but to that check.  A right password is checked against the bans again
  (one may have come meanwhile); a wrong one is logged (``log_refusal``) and refused
  (``check_refusal``).
- The name is then claimed in the room (``ChatRoom.join``): at once in memory, after a round trip
  in a cluster.  ``OK`` makes the session a member (``Entrant.entered``, with the account and
  whether it has the ``op`` role); anything else is refused (``join_refusal``).

Guarantees: an ``Attempt`` lives only while its LOGIN is answered (the session keeps nothing of it
but the outcome); a connection gone meanwhile gets nothing, and a name the room gave it after it
went is given back at once.  Replies and log lines are those the session always sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final, Protocol

from algokart_chat import protocol
from algokart_chat.logs import fields
from algokart_chat.moderation import Entry
from algokart_chat.moderators import Moderators
from algokart_chat.names import is_valid_username
from algokart_chat.password_checks import CheckResult, Logins, LoginStep, Outcome, log_refusal
from algokart_chat.room import JoinResult, Member, RoomHost
from algokart_chat.sessions import line_moderation
from algokart_chat.transport.connection import Connection

log = logging.getLogger(__name__)


class Entrant(Member, Protocol):
    """What the login needs of its session (``line_session.ChatSession``), the room member that
    claims the name."""

    @property
    def name(self) -> str | None: ...  # its name, once logged in

    def hold(self) -> None:
        """Stop reading input until ``answered`` (the lines after the LOGIN wait, in order)."""

    def answered(self) -> None:
        """Read input again."""

    def checking(self, check: asyncio.Task[None] | None) -> None:
        """The password check under way (None: over); the session cancels it if it goes."""

    def entered(self, name: str, account: str | None, operator: bool) -> None:
        """The room gave it ``name``; ``account``: the account whose password was checked;
        ``operator``: that account has the ``op`` role (``line_moderation``)."""


class Doorway(Protocol):
    """What every session of the server shares for a login (``line_session.ChatSessions``)."""

    @property
    def host(self) -> RoomHost: ...

    @property
    def logins(self) -> Logins | None: ...  # None: no accounts

    @property
    def moderators(self) -> Moderators: ...


def login(session: Entrant, argument: str, doorway: Doorway, connection: Connection) -> None:
    """``LOGIN``'s argument from ``session`` on ``connection``: answered at once, or once the
    password check and the room have."""
    logins = doorway.logins
    name, password = split(argument, logins is not None)
    address = host_address(connection)
    refused = first_refusal(name, session.name is not None, lambda: doorway.moderators.ban_for(name, address))
    if refused is not None:
        connection.reply(refused)
        return
    attempt = Attempt(session, doorway, connection, name)
    if logins is None:
        attempt.claim(None, False)
        return
    step = logins.step(name, password or None)
    if step is LoginStep.GUEST:
        attempt.claim(None, False)
    elif step is LoginStep.CHECK:
        session.hold()
        session.checking(logins.check(name, password, address, attempt.checked))
    else:
        connection.reply(step_refusal(step))


class Attempt:
    """One LOGIN past its first checks, while the password check and the room answer."""

    __slots__ = ("_account", "_connection", "_doorway", "_operator", "_session", "name")

    def __init__(self, session: Entrant, doorway: Doorway, connection: Connection, name: str) -> None:
        self._session = session
        self._doorway = doorway
        self._connection = connection
        self.name = name
        self._account: str | None = None  # the account whose password was checked
        self._operator = False

    def checked(self, result: CheckResult) -> None:
        """The password check's answer (never called if the connection went meanwhile)."""
        session, connection = self._session, self._connection
        session.checking(None)
        if connection.closing:
            return
        if result.ok:
            assert result.account is not None  # (OK comes with its account)
            ban = self._doorway.moderators.ban_for(result.account.name, host_address(connection))
            if ban is None:  # (checked again: a ban may have come while the password was checked)
                self.claim(result.account.name, "op" in result.account.roles)
                return
            connection.reply(line_moderation.refusal(ban))
        else:
            connection.reply(check_refusal(result.outcome))
            log_refusal(self.name, connection.peer_text, result.outcome)
        session.answered()

    def claim(self, account: str | None, operator: bool) -> None:
        """Take the name in the room, for ``account`` (as the file names it) if one was checked."""
        self._account, self._operator = account, operator
        self._session.hold()
        host = self._doorway.host
        host.announce_departures()  # (whoever left before this LOGIN is not news to it)
        host.room.join(self._session, self.name, self._joined, account=account)

    def _joined(self, result: JoinResult) -> None:
        """The room's answer: at once in memory, after a round trip in a cluster."""
        session, connection, name, account = self._session, self._connection, self.name, self._account
        if connection.closing:  # gone while the room was deciding
            if result == "ok":
                self._doorway.host.room.leave(session, name)
            return
        if result == "ok":
            session.entered(name, account, self._operator)
            connection.mark_registered()
            connection.reply(protocol.OK)
            peer = connection.peer_text
            details = fields("login", user=name, peer=peer, **({"account": True} if account is not None else {}))
            log.info("Login: %s from %s%s", name, peer, " (account)" if account is not None else "", extra=details)
        else:
            connection.reply(join_refusal(result))
        session.answered()


# --- the pure parts -------------------------------------------------------------------------------
def split(argument: str, accounts: bool) -> tuple[str, str]:
    """``LOGIN``'s argument as the name and the password: with ``accounts`` the first word and
    the rest; without, the whole argument and no password."""
    return protocol.split_word(argument) if accounts else (argument, "")


def first_refusal(name: str, logged_in: bool, ban: Callable[[], Entry | None]) -> bytes | None:
    """The reply that refuses a LOGIN of ``name`` before any account or room is asked, if any;
    ``ban()``: the ban on the name or the connection's address (asked of a valid name only)."""
    if logged_in:
        return _ERR_ALREADY_LOGGED_IN
    if not is_valid_username(name):
        return _ERR_INVALID_USERNAME
    entry = ban()
    return line_moderation.refusal(entry) if entry is not None else None


def step_refusal(step: LoginStep) -> bytes:
    """The reply to a LOGIN that ``Logins.step`` refuses at once (not GUEST or CHECK)."""
    return _LOGIN_REFUSALS[step]


def check_refusal(outcome: Outcome) -> bytes:
    """The reply to a password check that did not say OK."""
    return _CHECK_REFUSALS[outcome]


def join_refusal(result: JoinResult) -> bytes:
    """The reply to a LOGIN the room did not answer ``"ok"``."""
    return _ERR_USERNAME_TAKEN if result == "taken" else _ERR_CLUSTER_UNAVAILABLE


def refusal(code: str, moderators: Moderators, connection: Connection) -> bytes:
    """The line that refuses a new connection with ``code`` (a banned address: the ban's)."""
    peer = connection.peer
    ban = moderators.ban_for(None, peer[0]) if code == "banned" and peer else None
    return line_moderation.refusal(ban) if ban is not None else protocol.error(code)


def host_address(connection: Connection) -> str:
    """The address the connection comes from, as bans and password checks take it ("" for none)."""
    peer = connection.peer
    return peer[0] if peer else ""


_ERR_ALREADY_LOGGED_IN = protocol.error("already-logged-in")
_ERR_INVALID_USERNAME = protocol.error("invalid-username")
_ERR_USERNAME_TAKEN = protocol.error("username-taken")
_ERR_CLUSTER_UNAVAILABLE = protocol.error("cluster-unavailable")
_LOGIN_REFUSALS: Final = {
    step: protocol.error(step.value)
    for step in (LoginStep.PASSWORD_REQUIRED, LoginStep.ACCOUNT_REQUIRED, LoginStep.NO_SUCH_ACCOUNT)
}
_CHECK_REFUSALS: Final = {
    Outcome.WRONG: protocol.error("bad-password"),
    Outcome.TOO_MANY_ATTEMPTS: protocol.error("too-many-attempts"),
    Outcome.BUSY: protocol.error("server-busy"),
}
