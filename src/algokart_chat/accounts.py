"""Accounts: names with a password hash and roles, and the line format of the accounts file.  Pure code.

Plan: an ``Account`` is its name as written, its identity ``username_key(name)`` (so ``alice`` and
``aIice`` are one account, as they are one user online), its roles and a ``PasswordHash``.
``Accounts`` is an immutable collection looked up by that key; changing it makes a new one, so a
reader holding the old one (a password check under way) is never surprised.

The file holds one account a line, three fields separated by ``:`` (no valid name has one)::

    alice:scrypt$16384$8$1$<salt, base64>$<hash, base64>:op
    bob:scrypt$16384$8$1$<salt, base64>$<hash, base64>

the name; the hash (``hashlib.scrypt``: its parameters n, r and p, the random salt and the derived
key, so that the parameters can be raised later without breaking the old lines); the roles,
comma-separated, none, or the field left out.  Blank lines and lines starting with ``#`` are
ignored.  The text is UTF-8 (a byte order mark is allowed), so every valid name round-trips,
``名前`` and ``Zoë`` included.

Guarantees:

- a plaintext password is never stored, only scrypt's output with its own random salt; a check
  compares with ``hmac.compare_digest``, in time that does not depend on where the bytes differ;
- a malformed line is refused with a reason that names its line number, and so are two lines that
  are one account; nothing in a line is silently dropped (an unknown role is an error, not ignored);
  the reason never quotes the line (a password typed where the hash belongs stays out of the logs);
- the parameters of a line are bounded (``MAX_SCRYPT_MEMORY``, ``MAX_SCRYPT_WORK``), so a file
  cannot make one check take minutes or gigabytes; ``needs_rehash`` tells a line below the current
  defaults.

``hashlib.scrypt`` needs Python built with OpenSSL 1.1 or newer; without it, hashing and checking
raise ``ScryptUnavailable`` with a message that says so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from algokart_chat.names import username_key, username_problem

KNOWN_ROLES: Final = frozenset({"op"})
SCHEME: Final = "scrypt"
SALT_BYTES: Final = 16
HASH_BYTES: Final = 32
MAX_SCRYPT_MEMORY: Final = 128 << 20  # bytes one check may use: n = 2**17 with r = 8
MAX_SCRYPT_WORK: Final = 1 << 22  # n * r * p: 32 times the default's
MAX_PASSWORD_BYTES: Final = 1024
HEADER: Final = "# algokart-chat accounts: name:scrypt$n$r$p$salt$hash:roles (see docs/OPERATIONS.md, Accounts)"


class ScryptUnavailable(RuntimeError):
    """This Python's hashlib has no scrypt (it needs OpenSSL 1.1 or newer)."""

    def __init__(self) -> None:
        super().__init__("this Python has no hashlib.scrypt (it needs to be built with OpenSSL 1.1 or newer)")


class AccountLineError(ValueError):
    """One line of an accounts file cannot be used; the message says why."""


class AccountsFormatError(ValueError):
    """An accounts file cannot be used; the message is one line naming the line number and why."""

    def __init__(self, line_number: int, reason: str) -> None:
        super().__init__(f"line {line_number}: {reason}")
        self.line_number = line_number
        self.reason = reason


class DuplicateAccount(ValueError):
    """Two accounts with one ``username_key``: ``alice`` and ``aIice`` are one account."""


def scrypt_available() -> bool:
    return hasattr(hashlib, "scrypt")


@dataclass(frozen=True, order=True)
class ScryptParams:
    """scrypt's cost: n (a power of two: memory and time), r (block size), p (parallel lanes)."""

    n: int
    r: int
    p: int

    def memory(self) -> int:
        """About the bytes one hash takes (what OpenSSL checks against ``maxmem``)."""
        return 128 * self.r * (self.n + self.p + 2)

    def problem(self) -> str | None:
        """Why these cannot be used, or None."""
        if self.n < 2 or self.n & (self.n - 1):
            return f"n must be a power of 2 from 2 (found {self.n})"
        if not (1 <= self.r <= 64 and 1 <= self.p <= 64):
            return f"r and p must be from 1 to 64 (found r={self.r}, p={self.p})"
        if 128 * self.r * self.n > MAX_SCRYPT_MEMORY:
            return f"n={self.n} with r={self.r} needs more than {MAX_SCRYPT_MEMORY >> 20} MiB"
        if self.n * self.r * self.p > MAX_SCRYPT_WORK:
            return f"n * r * p is over {MAX_SCRYPT_WORK}"
        return None

    def covers(self, other: ScryptParams) -> bool:
        """Whether these cost at least as much as ``other`` in every parameter."""
        return self.n >= other.n and self.r >= other.r and self.p >= other.p


DEFAULT_PARAMS: Final = ScryptParams(n=1 << 14, r=8, p=1)


@dataclass(frozen=True)
class PasswordHash:
    """scrypt's output for one password, with what it takes to compute it again."""

    params: ScryptParams
    salt: bytes = field(repr=False)
    digest: bytes = field(repr=False)

    def encode(self) -> str:
        """``scrypt$n$r$p$salt$hash``, salt and hash in base64."""
        salt, digest = (base64.b64encode(value).decode("ascii") for value in (self.salt, self.digest))
        return f"{SCHEME}${self.params.n}${self.params.r}${self.params.p}${salt}${digest}"

    @classmethod
    def decode(cls, text: str) -> PasswordHash:
        """The inverse of ``encode``; AccountLineError says what is wrong."""
        parts = text.split("$")
        if parts[0] != SCHEME:  # (not quoted: it may be a password written where the hash belongs)
            raise AccountLineError(f"the hash is not {SCHEME}$n$r$p$salt$hash")
        if len(parts) != 6:
            raise AccountLineError(f"expected {SCHEME}$n$r$p$salt$hash")
        if not all(part.isascii() and part.isdigit() and len(part) <= 9 for part in parts[1:4]):
            raise AccountLineError("n, r and p must be whole numbers")
        params = ScryptParams(*(int(part) for part in parts[1:4]))
        problem = params.problem()
        if problem is not None:
            raise AccountLineError(f"scrypt parameters: {problem}")
        try:
            salt, digest = (base64.b64decode(part.encode("ascii"), validate=True) for part in parts[4:])
        except (binascii.Error, UnicodeEncodeError):
            raise AccountLineError("salt and hash must be base64") from None
        if len(salt) < 8 or len(digest) < 16 or len(digest) > 64:
            raise AccountLineError("the salt must have 8 bytes or more and the hash 16 to 64")
        return cls(params, salt, digest)


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be set, or None: it must not be empty, over ``MAX_PASSWORD_BYTES``
    in UTF-8, hold a control character, or start or end with a space (a client may trim it)."""
    if not password:
        return "the password is empty"
    if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
        return f"the password is longer than {MAX_PASSWORD_BYTES} bytes"
    if any(unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") for char in password):
        return "the password holds a control character"
    if password != password.strip():
        return "the password starts or ends with a space"
    return None


def _scrypt(password: str, salt: bytes, params: ScryptParams, length: int) -> bytes:
    if not scrypt_available():
        raise ScryptUnavailable()
    secret = unicodedata.normalize("NFC", password).encode("utf-8", "surrogatepass")
    return hashlib.scrypt(
        secret, salt=salt, n=params.n, r=params.r, p=params.p, maxmem=params.memory() + (1 << 20), dklen=length
    )


def hash_password(password: str, params: ScryptParams = DEFAULT_PARAMS) -> PasswordHash:
    """A new hash of ``password`` (NFC-normalised, UTF-8) with a new random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    return PasswordHash(params, salt, _scrypt(password, salt, params, HASH_BYTES))


def verify_password(password: str, stored: PasswordHash) -> bool:
    """Whether ``password`` is the one ``stored`` was made from; the comparison takes the same
    time wherever the bytes differ.  Slow on purpose (scrypt): run it off the event loop."""
    computed = _scrypt(password, stored.salt, stored.params, len(stored.digest))
    return hmac.compare_digest(computed, stored.digest)


def needs_rehash(stored: PasswordHash, current: ScryptParams = DEFAULT_PARAMS) -> bool:
    """Whether ``stored`` costs less than ``current`` (or has a short salt or hash): setting the
    password again would make it stronger."""
    return not stored.params.covers(current) or len(stored.salt) < SALT_BYTES or len(stored.digest) < HASH_BYTES


@dataclass(frozen=True)
class Account:
    name: str
    password: PasswordHash = field(repr=False)
    roles: frozenset[str] = frozenset()
    key: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", username_key(self.name))

    def encode(self) -> str:
        """The account as one line of the file, without its line break."""
        line = f"{self.name}:{self.password.encode()}"
        return f"{line}:{','.join(sorted(self.roles))}" if self.roles else line


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an account's name, or None (the username rules, ``names``); the
    reason does not repeat the name."""
    problem = username_problem(name)
    return None if problem is None else f"not a valid name (the rule it breaks: {problem}; see docs/PROTOCOL.md, Names)"


def parse_roles(text: str) -> frozenset[str]:
    """``op`` or ``op,other``; AccountLineError for an unknown or repeated role."""
    if not text:
        return frozenset()
    roles = text.split(",")
    for role in roles:
        if role not in KNOWN_ROLES:
            raise AccountLineError(f"unknown role (the roles are {', '.join(sorted(KNOWN_ROLES))}, comma-separated)")
    if len(set(roles)) != len(roles):
        raise AccountLineError("a role is repeated")
    return frozenset(roles)


def parse_line(line: str) -> Account:
    """One line of the file (no line break, not blank, not a comment); AccountLineError says why not."""
    fields = line.split(":")
    if len(fields) not in (2, 3):
        raise AccountLineError("expected name:hash or name:hash:roles")
    name = fields[0]
    problem = name_problem(name)
    if problem is not None:  # (not quoted: a line such as "alice secret" must not be echoed)
        raise AccountLineError(f"the name is {problem}")
    return Account(name, PasswordHash.decode(fields[1]), parse_roles(fields[2] if len(fields) == 3 else ""))


class Accounts:
    """Accounts by ``username_key``: ``get("ALICE")`` finds ``alice``.  Immutable."""

    __slots__ = ("_by_key",)

    def __init__(self, accounts: Iterable[Account] = ()) -> None:
        by_key: dict[str, Account] = {}
        for account in accounts:
            other = by_key.setdefault(account.key, account)
            if other is not account:
                raise DuplicateAccount(
                    f"{account.name!r} is the same account as {other.name!r} (names that look alike)"
                )
        self._by_key = by_key

    def get(self, name: str) -> Account | None:
        """The account ``name`` (any spelling with its key) is, or None."""
        return self._by_key.get(username_key(name))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and username_key(name) in self._by_key

    def __iter__(self) -> Iterator[Account]:
        """By name, as the file lists them."""
        return iter(sorted(self._by_key.values(), key=lambda account: account.name))

    def __len__(self) -> int:
        return len(self._by_key)

    def with_account(self, account: Account) -> Accounts:
        """These, with ``account`` added or, if its key is here, in place of that one."""
        return Accounts([*(kept for kept in self._by_key.values() if kept.key != account.key), account])

    def without(self, name: str) -> Accounts:
        """These, without the account ``name`` is (if any)."""
        key = username_key(name)
        return Accounts(kept for kept in self._by_key.values() if kept.key != key)


def parse_accounts(text: str) -> Accounts:
    """The accounts of a file's text; AccountsFormatError names the first bad line and why."""
    accounts: list[Account] = []
    lines: dict[str, int] = {}
    for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        line = raw.strip(" \t\r")
        if not line or line.startswith("#"):
            continue
        try:
            account = parse_line(line)
        except AccountLineError as problem:
            raise AccountsFormatError(number, str(problem)) from None
        if account.key in lines:
            first = lines[account.key]
            raise AccountsFormatError(number, f"{account.name!r} is the same account as the one on line {first}")
        lines[account.key] = number
        accounts.append(account)
    return Accounts(accounts)


def format_accounts(accounts: Accounts) -> str:
    """The file's text: the header comment, then one line an account, by name."""
    return "".join(f"{line}\n" for line in (HEADER, *(account.encode() for account in accounts)))
