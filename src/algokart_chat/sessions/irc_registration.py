"""An IRC client's registration, up to its welcome, and its nick after it: ``CAP``, ``PASS``,
``AUTHENTICATE`` (SASL PLAIN), ``NICK`` and ``USER`` (docs/IRC.md, *Registration*, *Capabilities*
and *Accounts*).

One ``IrcRegistration`` per IRC session (``irc_session.IrcSession``), which it sees through the
narrow ``Registrant`` view: the replies, holding the input while the room or a password check
answers, the capabilities, and what becomes of the session once it is welcomed or renamed.  It
owns what the client said it is (``user``: USER's username and real name), the account it logged
in to (``account``), the nick it asked for before registration, and the CAP and SASL state.

Plan:
- ``CAP`` (``irc_caps.negotiate``; LS and REQ hold registration until END), ``NICK``, ``USER``;
  the session answers anything else with 451 first.  The nick follows the line protocol's name
  rules and is claimed in the room when registration completes, hidden: the name is taken, but its
  owner is not in the room until ``JOIN``.  Before that nothing is held, so a connection that
  never finishes keeps no one from a name: whoever logs in or registers with it first has it, and
  the other gets 433 and may send another ``NICK``.  Then 001-005 and 422.
- With accounts, SASL PLAIN (``irc_sasl``) before registration, or ``PASS <name>:<password>``,
  checked once ``NICK`` and ``USER`` are in; a password is checked off the event loop
  (``password_checks``), holding the input meanwhile.  An account's name is a nick only its
  account may take (433 says so); ``--require-account`` closes a connection that registers
  without one.
- ``NICK`` after registration renames: claimed in the room with the old name given up in the
  same step (``ChatRoom.join``'s ``renaming``).

Guarantees: registration completes at most once, and only with a nick the room gave it; nothing
here is held by a connection that goes (``leave`` cancels a check under way).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final, Protocol

from algokart_chat import irc
from algokart_chat.logs import fields
from algokart_chat.moderators import Moderators
from algokart_chat.names import is_valid_username, username_key
from algokart_chat.password_checks import CheckResult, Logins, Outcome, log_refusal
from algokart_chat.room import JoinResult, Member
from algokart_chat.sessions import irc_caps, irc_history, irc_replies, irc_sasl
from algokart_chat.sessions.irc_channel import Identity, IrcChannel
from algokart_chat.transport.connection import Connection

log = logging.getLogger(__name__)


class Registrant(Member, Protocol):
    """What registration needs of its session (``irc_session.IrcSession``); the session is the
    room member that claims the nick."""

    @property
    def name(self) -> str | None: ...  # its nick, once registered

    @property
    def caps(self) -> frozenset[str]: ...

    def reply(self, code: str, *params: str) -> None: ...

    def send(self, reply: bytes) -> None: ...

    def hold(self) -> None:
        """Stop reading input until ``go_on``."""

    def go_on(self) -> None:
        """Read input again (and close a labeled command that waited)."""

    def use_caps(self, enabled: frozenset[str]) -> None: ...

    def welcomed(self, nick: str) -> None:
        """Registration completed with ``nick``."""

    def renamed(self, old: str, new: str) -> None: ...

    def logged_in(self, operator: bool) -> None:
        """It logged in to an account; ``operator``: one with the ``op`` role (irc_moderation)."""


class IrcRegistration:
    """One client's registration, and its nick changes after it."""

    __slots__ = (
        "_cap_open",
        "_cap_version",
        "_channel",
        "_check",
        "_connection",
        "_logins",
        "_moderators",
        "_pass_argument",
        "_sasl",
        "_session",
        "account",
        "nick",
        "user",
    )

    def __init__(
        self,
        session: Registrant,
        channel: IrcChannel,
        connection: Connection,
        logins: Logins | None,
        moderators: Moderators,
    ) -> None:
        self._session = session
        self._channel = channel
        self._connection = connection
        self._logins = logins  # None: no accounts (no sasl, no PASS, every free nick for anyone)
        self._moderators = moderators  # a banned nick is refused (465)
        self.account: str | None = None  # the account logged in to (SASL or PASS), as the file names it
        self.nick: str | None = None  # asked for before registration, not claimed yet
        self.user: Identity | None = None  # from USER
        self._check: asyncio.Task[None] | None = None  # a password check under way
        self._pass_argument: str | None = None  # PASS's argument, checked when registration completes
        self._sasl: irc_sasl.SaslExchange | None = None  # an AUTHENTICATE exchange, once one began
        self._cap_open = False  # CAP negotiation began and has not ended: registration waits
        self._cap_version = 0  # the highest CAP LS version the client sent (302: values, multiline)

    @property
    def me(self) -> str:
        return self._session.name or self.nick or "*"

    def leave(self) -> None:
        """The connection is going: a check's answer would go nowhere (the try is given back if
        it can be)."""
        if self._check is not None:
            self._check.cancel()
            self._check = None
        self._pass_argument = None

    # --- CAP ------------------------------------------------------------------------------------
    def cap(self, params: list[str]) -> None:
        session = self._session
        offered = irc_caps.offered(self._logins is not None, self._channel.host.room.history.on)
        answer = irc_caps.negotiate(self._channel.server, self.me, params, session.caps, self._cap_version, offered)
        self._cap_version = answer.version
        if answer.reply:
            session.send(answer.reply)
        if answer.enabled != session.caps:  # (after its ACK: what comes next is in the new form)
            session.use_caps(answer.enabled)
        if session.name is None:
            if answer.suspends:
                self._cap_open = True
            elif answer.ends:
                self._cap_open = False
                if self._sasl is not None and self._sasl.in_progress:  # (registration ends it: SASL 3.2)
                    self._sasl.abort()
                    session.reply("906", "SASL authentication aborted")
                self._try_to_register()

    # --- accounts: SASL PLAIN, PASS, registered nicks ---------------------------------------------
    def authenticate(self, params: list[str]) -> None:
        reply = self._session.reply
        if self._logins is None:
            reply("421", "AUTHENTICATE", "Unknown command")
        elif not params or not params[0]:
            reply("461", "AUTHENTICATE", "Not enough parameters")
        elif self.account is not None:
            reply("907", "You have already authenticated using SASL")
        elif self._session.name is not None:
            reply("462", "You may not reregister: log in with SASL before registration completes")
        else:
            if self._sasl is None:
                self._sasl = irc_sasl.SaslExchange()
            step = self._sasl.step(params[0])
            action = step.action
            if action is irc_sasl.Action.CONTINUE:
                self._session.send(_AUTHENTICATE_CONTINUE)
            elif action is irc_sasl.Action.CHECK:
                self._check_password(step.name, step.password, self._sasl_checked)
            elif action is irc_sasl.Action.FAIL:
                if step.mechanisms:
                    reply("908", irc_sasl.MECHANISMS, "are available SASL mechanisms")
                reply("904", "SASL authentication failed")
            elif action is irc_sasl.Action.TOO_LONG:
                reply("905", "SASL message too long")
            elif action is irc_sasl.Action.ABORTED:
                reply("906", "SASL authentication aborted")

    def pass_(self, params: list[str]) -> None:
        if self._session.name is not None:
            self._session.reply("462", "You may not reregister")
        elif self._logins is not None and params and params[0]:
            self._pass_argument = params[0]  # (checked once NICK and USER are in: registration)

    def check_password(self, name: str, password: str, done: Callable[[str, CheckResult], None]) -> bool:
        """``_check_password`` for another part (``OPER``); False if the server has no accounts."""
        if self._logins is None:
            return False
        self._check_password(name, password, done)
        return True

    def _check_password(self, name: str, password: str, done: Callable[[str, CheckResult], None]) -> None:
        """Check ``password`` for the account ``name`` off the event loop (a name without one is a
        wrong password: ``password_checks``), holding the input until ``done(name, result)``."""
        assert self._logins is not None
        session, connection = self._session, self._connection
        session.hold()

        def checked(result: CheckResult) -> None:
            self._check = None
            if connection.closing:
                return
            if not result.ok:
                self._log_refusal(name, result.outcome)
            done(name, result)
            session.go_on()

        peer = connection.peer
        self._check = self._logins.check(name, password, peer[0] if peer else "", checked)

    def _log_refusal(self, name: str, outcome: Outcome) -> None:
        log_refusal(name, self._connection.peer_text, outcome, over_irc=True)

    def _logged_in(self, result: CheckResult) -> None:
        assert result.account is not None
        account = self.account = result.account.name
        self._session.logged_in("op" in result.account.roles)
        user = self.user.username.removeprefix("~") if self.user else "*"  # (as the gateway's masks show it)
        mask = f"{self.me}!{user}@{self._channel.server}"
        self._session.reply("900", mask, account, f"You are now logged in as {account}")

    def _sasl_checked(self, _name: str, result: CheckResult) -> None:
        if result.ok:
            self._logged_in(result)
            self._session.reply("903", "SASL authentication successful")
        else:
            self._session.reply("904", "SASL authentication failed" + _WHY_NOT[result.outcome])

    def _pass_checked(self, _name: str, result: CheckResult) -> None:
        if result.ok:
            self._logged_in(result)
            self._try_to_register()
        else:
            self._session.reply("464", "Password incorrect" + _WHY_NOT[result.outcome])
            self._connection.close("bad-password")

    def _nick_refusal(self, nick: str) -> str | None:
        """433's reason if ``nick`` is an account's name and this client is not logged in to it."""
        if self._logins is None:
            return None
        account = self._logins.checks.account(nick)
        if account is None or (self.account is not None and username_key(self.account) == username_key(nick)):
            return None
        return "Nickname is registered to an account: log in to it with SASL or PASS"

    # --- NICK and USER --------------------------------------------------------------------------
    def nick_command(self, params: list[str]) -> None:
        reply = self._session.reply
        if not params or not params[0]:
            reply("431", "No nickname given")
            return
        wanted, old = params[0], self._session.name
        if wanted == (old or self.nick):
            return
        mute = self._moderators.mute_for(old, self.account) if old is not None else None
        if mute is not None:  # (a new nick would be a way out of a mute of the nick; a muted user keeps it)
            reply("435", wanted, self._channel.name, f"Cannot change nickname while muted ({mute.describe()})")
            return
        if not is_valid_username(wanted):
            reply("432", wanted, irc_replies.nick_problem(wanted))
            return
        ban = self._moderators.ban_for(wanted, "")
        if ban is not None:
            reply("465", f"You are banned from this server ({ban.describe()})")
            return
        taken = self._channel.host.room.held_name(wanted) is not None
        if old is None:  # nothing is held yet: the nick is claimed when registration completes
            if taken:
                reply("433", wanted, "Nickname is already in use")
            else:
                self.nick = wanted
                self._try_to_register()
            return
        if taken and username_key(old) != username_key(wanted):
            reply("433", wanted, "Nickname is already in use")  # (known here: no round trip)
            return
        refusal = self._nick_refusal(wanted)
        if refusal is not None:
            reply("433", wanted, refusal)
            return
        self._claim(wanted, lambda: self._session.renamed(old, wanted), renaming=old)

    def _claim(self, nick: str, claimed: Callable[[], None], renaming: str | None = None) -> None:
        """Claim ``nick`` in the room (hidden, unless this renames a name already in it), holding
        the input meanwhile; then ``claimed()``, or 433 (taken) or 437 (a cluster cannot decide now)."""
        session, host, connection = self._session, self._channel.host, self._connection
        session.hold()

        def answered(result: JoinResult) -> None:
            if connection.closing:  # gone while the room was deciding
                if result == "ok":
                    host.room.leave(session, nick)
                return
            if result == "ok":
                claimed()
            elif result == "taken":
                session.reply("433", nick, "Nickname is already in use")
            else:
                session.reply("437", nick, "Nick is temporarily unavailable")
            session.go_on()

        host.announce_departures()  # (whoever left before this is not news to it)
        host.room.join(
            session,
            nick,
            answered,
            hidden=renaming is None,
            renaming=renaming,
            hears_arrivals=True,
            account=self.account,
        )

    def user_command(self, params: list[str]) -> None:
        if self._session.name is not None:
            self._session.reply("462", "You may not reregister")
        elif len(params) < 4 or not params[0] or not params[3]:
            self._session.reply("461", "USER", "Not enough parameters")
        else:
            self.user = Identity(irc.username(params[0]), irc_replies.note(params[3]))
            self._try_to_register()

    def _try_to_register(self) -> None:
        """Once ``NICK`` and ``USER`` came (and ``CAP END``, if CAP began): claim the nick, and
        welcome the user if it is still free; if someone took it since ``NICK``, 433, and
        registration completes with the next ``NICK`` that is free."""
        nick, session = self.nick, self._session
        if session.name is not None or nick is None or self.user is None or self._cap_open:
            return
        if self._pass_argument is not None and self.account is None:  # PASS <name>:<password>: its check first
            login = irc_sasl.pass_login(self._pass_argument, nick)
            self._pass_argument = None
            if login is None:
                session.reply("464", "Password incorrect: PASS <account>:<password>")
                self._connection.close("bad-password")
            else:
                self._check_password(login[0], login[1], self._pass_checked)
            return
        if self.account is None and self._logins is not None and self._logins.require_account:
            session.send(irc.message(self._channel.server, "FAIL", "*", "ACCOUNT_REQUIRED", _ACCOUNT_REQUIRED))
            self._connection.close("account-required")
            return
        if self._banned(nick):
            return
        self.nick = None  # (its own once the room says so: till then 433's target is *)
        refusal = self._nick_refusal(nick)
        if refusal is not None:  # (registration completes with the next NICK that is free)
            session.reply("433", nick, refusal)
            return
        self._claim(nick, lambda: self._welcome(nick))

    def _banned(self, nick: str) -> bool:
        """Whether a ban refuses the nick (set since ``NICK`` was checked) or the account logged
        in to, whatever the nick: then 465 and the connection closes."""
        moderators, account = self._moderators, self.account
        ban = moderators.ban_for(nick, "") or (moderators.ban_for(account, "") if account is not None else None)
        if ban is None:
            return False
        self._session.reply("465", f"You are banned from this server ({ban.describe()})")
        self._connection.close("banned")
        return True

    def _welcome(self, nick: str) -> None:
        self._session.welcomed(nick)
        self._channel.introduce(nick, self.user)
        self._connection.mark_registered()
        history = irc_history.ISUPPORT if self._channel.host.room.history.on else ()
        self._session.send(irc_replies.welcome(self._channel, nick, history))
        peer, account = self._connection.peer_text, self.account
        how = "IRC" if account is None else f"IRC, account {account}"
        extra = fields("login", user=nick, peer=peer, protocol="irc", **({"account": account} if account else {}))
        log.info("Login: %s from %s (%s)", nick, peer, how, extra=extra)


_AUTHENTICATE_CONTINUE: Final = b"AUTHENTICATE +" + irc.CRLF
_ACCOUNT_REQUIRED: Final = "An account is required on this server: log in with SASL or PASS <account>:<password>"
_WHY_NOT: Final = {  # what follows 904's and 464's words for each outcome of a failed check
    Outcome.WRONG: "",
    Outcome.TOO_MANY_ATTEMPTS: ": too many attempts, try again later",
    Outcome.BUSY: ": the server is busy, try again in a moment",
}

Command = Callable[[IrcRegistration, list[str]], None]

COMMANDS: Final[dict[str, Command]] = {  # what registration handles, before it completes and after
    "CAP": IrcRegistration.cap,
    "AUTHENTICATE": IrcRegistration.authenticate,
    "PASS": IrcRegistration.pass_,
    "NICK": IrcRegistration.nick_command,
    "USER": IrcRegistration.user_command,
}
