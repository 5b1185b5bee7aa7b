"""Password checks for the sessions: scrypt off the event loop, bounded, throttled.

Plan: ``PasswordChecks.check(name, password, address)`` is awaited by a session.  It asks the
throttle (``login_throttle``) for a try, then runs ``accounts.verify_password`` in a small thread
pool (scrypt releases the GIL, so the event loop keeps serving everyone else meanwhile), and
answers with a ``CheckResult``.

Guarantees:

- the event loop never runs scrypt.  At most ``workers`` checks run at once and ``waiting`` more
  wait for a worker; beyond that the answer is ``BUSY`` at once, so a flood of attempts costs a
  bounded queue, never unbounded memory or latency.  On Linux, where a thread has a niceness of its
  own, the workers run ``NICENESS`` below the event loop, so a flood of checks gets the CPU the
  chat leaves rather than taking the chat's;
- ``TOO_MANY_ATTEMPTS`` when the address or the account has failed too often (``login_throttle``),
  before any scrypt is run;
- no timing tells whether an account exists: a name without one is checked against a dummy hash of
  the default parameters, in the same pool, and answers ``WRONG`` as a wrong password does (an
  account whose line has other parameters takes their time: ``accounts passwd`` renews it);
- the password is never logged, never put in an exception message and never passed where a repr
  could show it; a check that fails inside (out of memory) logs its exception's type only;
- a session that goes away while its check waits for a worker takes that check back (the try is
  given back); one already running finishes and counts as a failure.

The accounts come from ``accounts``, a callable, so that a reload (SIGHUP) takes effect for the
next check while those under way finish with the accounts they started with.

``Logins`` is what a session of any protocol uses: the rule for a name and a password or none
(``login_step``: a guest, a check, or a refusal, whatever the protocol's words for it), and a check
started from the event loop's callbacks that calls back with its result, or never once cancelled
(the connection went).  One per server, shared by the line and IRC sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from algokart_chat.accounts import (
    DEFAULT_PARAMS,
    HASH_BYTES,
    MAX_PASSWORD_BYTES,
    SALT_BYTES,
    Account,
    Accounts,
    PasswordHash,
    verify_password,
)
from algokart_chat.login_throttle import LoginThrottle
from algokart_chat.logs import fields
from algokart_chat.names import username_key

log = logging.getLogger(__name__)

WORKERS = 2
WAITING = 32
NICENESS = 10  # (Linux) how much lower the workers' CPU priority is than the event loop's


class Outcome(enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # a wrong password or no such account: the same to the client
    TOO_MANY_ATTEMPTS = "too-many-attempts"
    BUSY = "busy"  # too many checks at once: try again in a moment


@dataclass(frozen=True)
class CheckResult:
    outcome: Outcome
    account: Account | None = None  # with OK: the account, as the file names it and with its roles

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


class PasswordChecks:
    """See the module's docstring; ``close`` at shutdown."""

    def __init__(
        self,
        accounts: Callable[[], Accounts],
        *,
        workers: int = WORKERS,
        waiting: int = WAITING,
        throttle: LoginThrottle | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._accounts = accounts
        self._throttle = throttle or LoginThrottle()
        self._clock = clock
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="password-check", initializer=_yield_to_the_event_loop
        )
        self._slots = threading.BoundedSemaphore(workers + waiting)  # released in the pool's threads
        # Names without an account are checked against this: random, so no password matches it.
        self._dummy = PasswordHash(DEFAULT_PARAMS, secrets.token_bytes(SALT_BYTES), secrets.token_bytes(HASH_BYTES))

    async def check(self, name: str, password: str, address: str) -> CheckResult:
        """Whether ``password`` is that of the account ``name`` is (any spelling of it: looked up by
        ``username_key``), for a client at ``address`` (the server's address group: IPv4 address
        or IPv6 network, as for --max-per-ip)."""
        if not self._slots.acquire(blocking=False):
            return CheckResult(Outcome.BUSY)
        key = username_key(name)
        attempt = self._throttle.begin(address, key, self._clock())
        if attempt is None:
            self._slots.release()
            return CheckResult(Outcome.TOO_MANY_ATTEMPTS)
        account = self._accounts().get(name)
        stored = account.password if account is not None else self._dummy
        if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
            self._slots.release()
            self._throttle.failed(attempt, self._clock())
            return CheckResult(Outcome.WRONG)
        try:
            work: Future[bool] = self._pool.submit(verify_password, password, stored)
        except RuntimeError:  # the pool is shut down
            self._slots.release()
            self._throttle.cancelled(attempt, self._clock())
            return CheckResult(Outcome.BUSY)
        work.add_done_callback(lambda _: self._slots.release())  # run, failed or cancelled
        try:
            right = await asyncio.wrap_future(work)
        except asyncio.CancelledError:
            if work.cancelled():  # it never ran
                self._throttle.cancelled(attempt, self._clock())
            else:
                self._throttle.failed(attempt, self._clock())
            raise
        except (ValueError, RuntimeError, MemoryError) as problem:  # (OpenSSL refused, no scrypt, no memory)
            self._throttle.cancelled(attempt, self._clock())
            log.error(
                "A password check failed: %s",
                type(problem).__name__,
                extra=fields("password-check-failed", reason=type(problem).__name__),
            )
            return CheckResult(Outcome.BUSY)
        if right and account is not None:
            self._throttle.succeeded(attempt, self._clock())
            return CheckResult(Outcome.OK, account)
        self._throttle.failed(attempt, self._clock())
        return CheckResult(Outcome.WRONG)

    def account(self, name: str) -> Account | None:
        """The account ``name`` (any spelling of it) is, in the accounts in use now; None if none."""
        return self._accounts().get(name)

    def close(self) -> None:
        """Stop the pool, at shutdown once the sessions are closed: a check still waiting for a
        worker raises CancelledError in its caller; one running finishes in its thread."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _yield_to_the_event_loop() -> None:
    """A worker's first step: on Linux, NICENESS below the process (the event loop's thread)."""
    if sys.platform.startswith("linux"):
        thread = threading.get_native_id()
        with contextlib.suppress(OSError):  # (a sandbox may refuse; then the checks run as before)
            os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + NICENESS))


def log_refusal(name: str, peer: str, outcome: Outcome, over_irc: bool = False) -> None:
    """One log line for a refused check of ``name``'s password from ``peer``: INFO for a wrong
    password (bounded by the throttle; what fail2ban reads), DEBUG for the other refusals, which
    cost nothing and may come by the thousand.  Never the password."""
    how, extra = (", IRC", {"protocol": "irc"}) if over_irc else ("", {})
    if outcome is Outcome.WRONG:
        details = fields("login-failed", user=name, peer=peer, reason="bad-password", **extra)
        log.info("Login failed: %s from %s (bad-password%s)", name, peer, how, extra=details)
    else:
        details = fields("login-refused", user=name, peer=peer, reason=outcome.value, **extra)
        log.debug("Login refused: %s from %s (%s%s)", name, peer, outcome.value, how, extra=details)


class LoginStep(enum.Enum):
    """What a login with a name (valid) and a password or none comes to, before any check."""

    GUEST = "guest"  # no account has the name: a guest, as on a server without accounts
    CHECK = "check"  # the name's account, with a password: check it
    PASSWORD_REQUIRED = "password-required"  # the name's account, without a password
    ACCOUNT_REQUIRED = "account-required"  # no account has the name, and only accounts may log in
    NO_SUCH_ACCOUNT = "no-such-account"  # a password for a name no account has


def login_step(account: Account | None, password: str | None, require_account: bool) -> LoginStep:
    """The rule, for every protocol: a name with an account needs its password; a name without
    one is a guest's, unless only accounts may log in or a password was given for it (which is
    a mistake worth telling: a user who thinks they have an account must not become a guest)."""
    if account is not None:
        return LoginStep.PASSWORD_REQUIRED if password is None else LoginStep.CHECK
    if require_account:
        return LoginStep.ACCOUNT_REQUIRED
    return LoginStep.GUEST if password is None else LoginStep.NO_SUCH_ACCOUNT


class Logins:
    """Account logins for the sessions of one server (see the module's docstring).

    ``address_key`` turns a peer's host into what the throttle counts (the server's
    ``admission_key`` with its ``--ipv6-prefix``); ``require_account``: --require-account."""

    def __init__(
        self,
        checks: PasswordChecks,
        loop: asyncio.AbstractEventLoop,
        address_key: Callable[[str], str],
        *,
        require_account: bool = False,
    ) -> None:
        self.checks = checks
        self.require_account = require_account
        self._loop = loop
        self._address_key = address_key

    def step(self, name: str, password: str | None) -> LoginStep:
        """``login_step`` for ``name`` (a valid name) with the accounts in use now."""
        return login_step(self.checks.account(name), password, self.require_account)

    def check(self, name: str, password: str, host: str, done: Callable[[CheckResult], None]) -> asyncio.Task[None]:
        """Check ``password`` for the account ``name`` is, off the event loop, for a client at
        ``host`` (its address as the socket gives it); ``done(result)`` then runs in the event loop.
        Cancelling the task (the connection went) means ``done`` is never called."""
        return self._loop.create_task(self._check(name, password, self._address_key(host), done))

    async def _check(self, name: str, password: str, address: str, done: Callable[[CheckResult], None]) -> None:
        done(await self.checks.check(name, password, address))
