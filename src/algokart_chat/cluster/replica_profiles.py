"""What a node's replica (``replica.Replica``) knows of each user of the cluster besides the name:
the account its login's password was checked for, and its away message.  Pure code, no I/O.

Both are kept by ``username_key``, from the stream only: an account comes with the login's join
(or the snapshot the replica starts from), an away message with an ``Away`` entry, so a node knows
only the away messages set or changed since it joined the cluster (docs/CLUSTER.md).

Guarantees:
- An account that is not a valid name is not kept (the user is then a guest on every node alike).
- A rename carries the away message to the new name, and drops the account (the join that
  renames says the new login's); a user who leaves leaves nothing behind.
- ``message`` stamps a record's event with its sender's account, and costs nothing (no name's key)
  while no user has one; the replica passes the keys it keeps, so a held name's is never computed.
- Memory: one entry per user with an account or an away message, dropped when it leaves.
- ``NameKeys`` computes each held name's key once, when it is taken, not for each entry that
  names it (the stream names a user as its holder typed it); one entry per name held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from algokart_chat.cluster.entries import Message, Record
from algokart_chat.names import is_valid_username, username_key


class Profiles:
    """The accounts and away messages of the cluster's users, as of the last entry applied."""

    __slots__ = ("_accounts", "_away")

    def __init__(self) -> None:
        self._accounts: dict[str, str] = {}  # username_key -> account, for logins that have one
        self._away: dict[str, str] = {}  # username_key -> away message, as far as this node knows

    def clear(self) -> None:
        self._accounts, self._away = {}, {}

    def account_of(self, key: str) -> str | None:
        return self._accounts.get(key)

    def away_of(self, key: str) -> str | None:
        return self._away.get(key) if self._away else None

    def away_messages(self, names: dict[str, str]) -> dict[str, str]:
        """Name (as ``names``, username_key -> name, has it) -> away message."""
        return {names[key]: away for key, away in self._away.items()}

    def joined(self, key: str, account: str | None) -> str | None:
        """A login of ``key`` with ``account`` (None: a guest); the account kept (None if invalid)."""
        if account is not None and is_valid_username(account):
            self._accounts[key] = account
            return account
        self._accounts.pop(key, None)
        return None

    def renamed(self, old_key: str, key: str) -> None:
        """The user of ``old_key`` is now ``key``: its away message goes with it."""
        self._accounts.pop(old_key, None)
        away = self._away.pop(old_key, None)
        if away is not None:
            self._away[key] = away

    def left(self, key: str) -> None:
        self._accounts.pop(key, None)
        self._away.pop(key, None)

    def set_away(self, key: str, away: str | None) -> bool:
        """``key``'s away message is now ``away`` (None: back); whether that changed anything."""
        if self._away.get(key) == away:
            return False
        if away is None:
            del self._away[key]
        else:
            self._away[key] = away
        return True

    def message(self, record: Record, key_of: Callable[[str], str] = username_key) -> Message:
        """A message record's event, with the account its sender logged in to, if any (``key_of``:
        a name's key, as the replica keeps it)."""
        message = record.message()
        if self._accounts:  # (a name's key costs a few microseconds: not on every record for nothing)
            message.event.account = self._accounts.get(key_of(message.event.sender))
        return message


class NameKeys:
    """The ``username_key`` of each name held, by the name as its holder typed it: a key costs
    more than the rest of an entry's work (NFKC, the skeleton), so each is computed once."""

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: dict[str, str] = {}  # name as typed -> its key

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        """The names held, as typed."""
        return iter(self._keys)

    def of(self, name: str) -> str:
        """``username_key(name)``: kept for a name held, computed for any other spelling."""
        key = self._keys.get(name)
        return key if key is not None else username_key(name)

    def held(self, name: str, key: str | None = None) -> str:
        """``name`` is held now: its key (``key``, if the caller has it), kept until ``dropped``."""
        kept = self._keys[name] = key if key is not None else username_key(name)
        return kept

    def dropped(self, name: str) -> None:
        """``name`` is held no more (nothing happens for a name that was not)."""
        self._keys.pop(name, None)
