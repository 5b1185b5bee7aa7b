"""Failed password checks, counted per address and per account, to make guessing slow.  Pure code:
the caller passes the time.

Plan: two tables of token buckets (``token_bucket``), one keyed by the address (the group the
server already counts connections by: an IPv4 address, an IPv6 /64) and one by the account's
``username_key``.  Each key may fail ``failures`` times at once and gains one more try every
``per_seconds / failures`` seconds (the defaults: 5 at once, then one every 12 s, so 5 a minute).
A check takes one try from both buckets *before* it runs (``begin``), so a hundred checks sent at
once cannot all pass before the first failure is counted; a success or a check that never ran gives
its try back.  When either bucket is empty, ``begin`` refuses: ``ERR too-many-attempts``, without
running scrypt at all.

Guarantees:

- from one address, at most ``failures`` guesses, then ``failures`` a ``per_seconds``, whatever
  the accounts tried;
- on one account, the same from all addresses together, whether it exists or not (the table
  keys names without accounts too: refusing only real accounts would tell which exist);
- guessing from many addresses costs the account's owner nothing where they logged in before: an
  address the account logged in from successfully (the last ``known_addresses`` of them, for
  ``known_for`` seconds) skips the account's counter (its own address counter still applies).  An
  attacker cannot make an address known without the password;
- bounded memory.  A key whose bucket is full again (every failure forgiven) is the same as no key,
  and is dropped.  When a table reaches ``max_entries`` all such keys are dropped; if it is still
  over nine tenths full, the keys with the *most* tries left go (those that failed least recently
  or least often) until a tenth is free.  So evicting a counter to reset it (a victim's account,
  or the attacker's own address) takes filling the table with counters that failed at least as
  often: ``max_entries`` times that many failed scrypt checks within ``per_seconds``, from
  thousands of addresses (each address is limited too), far beyond what the check pool runs (two
  workers, tens of checks a second).  Eviction costs one pass over the table and a sort, at most
  once per tenth of ``max_entries`` new keys.

A node counts alone: in a cluster, each node has its own tables (docs/OPERATIONS.md, *Accounts*).
"""

from __future__ import annotations

from dataclasses import dataclass

from algokart_chat.token_bucket import TokenBucket


@dataclass(frozen=True)
class ThrottleLimits:
    failures: int = 5
    per_seconds: float = 60.0
    max_entries: int = 10_000  # per table
    known_addresses: int = 4  # per account
    known_for: float = 30 * 86400.0


@dataclass(frozen=True)
class Attempt:
    """One check under way: what ``begin`` took a try from, to give back or keep."""

    address: str
    account: str
    counted_on_account: bool


class _Failures:
    """Token buckets by key; a missing key is a full bucket."""

    __slots__ = ("_buckets", "_max_entries", "_per_seconds", "_tries")

    def __init__(self, tries: int, per_seconds: float, max_entries: int) -> None:
        self._tries = tries
        self._per_seconds = per_seconds
        self._max_entries = max_entries
        self._buckets: dict[str, TokenBucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def allows(self, key: str, now: float) -> bool:
        bucket = self._buckets.get(key)
        return bucket is None or bucket.available(now) >= 1

    def take(self, key: str, now: float) -> None:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_entries:
                self._evict(now)
            bucket = self._buckets[key] = TokenBucket(self._tries / self._per_seconds, self._tries, now)
        bucket.charge(1, now)

    def give_back(self, key: str, now: float) -> None:
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.charge(-1, now)
            if bucket.full(now):  # (full() caps the bucket at its burst again)
                del self._buckets[key]

    def _evict(self, now: float) -> None:
        """Drop the forgiven keys, then those with the most tries left until a tenth is free."""
        self._buckets = {key: bucket for key, bucket in self._buckets.items() if not bucket.full(now)}
        excess = len(self._buckets) - (self._max_entries - max(1, self._max_entries // 10))
        if excess > 0:
            by_tries_left = sorted(self._buckets, key=lambda key: self._buckets[key].available(now), reverse=True)
            for key in by_tries_left[:excess]:
                del self._buckets[key]


class LoginThrottle:
    """See the module's docstring.  ``begin`` before a check, then exactly one of ``succeeded``,
    ``failed`` or ``cancelled`` with what it returned."""

    def __init__(self, limits: ThrottleLimits | None = None) -> None:
        self.limits = limits = limits or ThrottleLimits()
        self._addresses = _Failures(limits.failures, limits.per_seconds, limits.max_entries)
        self._accounts = _Failures(limits.failures, limits.per_seconds, limits.max_entries)
        self._known: dict[str, dict[str, float]] = {}  # account -> address -> last success, oldest first

    def begin(self, address: str, account: str, now: float) -> Attempt | None:
        """Take a try for a check of ``account`` (a ``username_key``) from ``address``; None when
        either has none left: the answer is too-many-attempts, and nothing is checked."""
        known = self._is_known(address, account, now)
        if not self._addresses.allows(address, now) or not (known or self._accounts.allows(account, now)):
            return None
        self._addresses.take(address, now)
        if not known:
            self._accounts.take(account, now)
        return Attempt(address, account, not known)

    def succeeded(self, attempt: Attempt, now: float) -> None:
        """The password was right: the try is given back (earlier failures still count) and the
        address becomes one the account is known from."""
        self.cancelled(attempt, now)
        addresses = self._known.pop(attempt.account, {})
        addresses.pop(attempt.address, None)
        addresses[attempt.address] = now
        while len(addresses) > self.limits.known_addresses:
            del addresses[next(iter(addresses))]
        self._known[attempt.account] = addresses  # (last: the most recently used account)
        while len(self._known) > self.limits.max_entries:
            del self._known[next(iter(self._known))]

    def failed(self, attempt: Attempt, now: float) -> None:
        """The password was wrong (or there is no such account): the try stays taken."""

    def cancelled(self, attempt: Attempt, now: float) -> None:
        """The check did not run (the pool was busy, the connection went): the try is given back."""
        self._addresses.give_back(attempt.address, now)
        if attempt.counted_on_account:
            self._accounts.give_back(attempt.account, now)

    def _is_known(self, address: str, account: str, now: float) -> bool:
        last = self._known.get(account, {}).get(address)
        return last is not None and now - last <= self.limits.known_for

    def sizes(self) -> tuple[int, int, int]:
        """How many addresses and accounts are counted, and accounts with known addresses (for tests
        and stats)."""
        return len(self._addresses), len(self._accounts), len(self._known)
