"""The room as one node sees it: a replica built from the cluster's event stream.  Pure code, no I/O.

``RedisRoom`` does the talking to Redis; this class decides what every entry of the stream means
for this node.  It owns every user of the cluster (names in login order, and which login holds
each name), this node's members, the LOGINs and PINGs of this node waiting for their entries to
come back, and, per node, the sequence of the last batch applied.

Guarantees:
- Applying the stream in order makes ``names()`` the same on every node, in login order.
- A batch sent twice (same node and sequence) is applied once; a leave whose login no longer
  holds the name changes nothing, so however many nodes write one departure, it counts once.
- Every departure reaches ``Audience.departed`` once; a join of this node's LOGIN first flushes
  the departures applied before it (``announce_departures``), then answers the LOGIN ``"ok"``.
- Records become room events (``events``), one per record, shared by every local recipient; the
  broadcasts of one batch reach each member as one delivery (``deliver_together``).
- Malformed content raises ``BadEntry`` (the caller logs and skips the entry); work is O(bytes of
  the entry) plus one delivery per local recipient.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, ValuesView
from typing import Generic, Protocol

from cluster.entries import BROADCAST, DIRECT, BadEntry, Batch, Entry, Join, records
from events import RoomEvent
from handlers.broadcast import JoinResult, MemberT, deliver_together
from names import is_valid_username, username_key


class Audience(Protocol):
    """What the replica tells the server (``handlers.chat_server.ChatServer``)."""

    def departed(self, name: str) -> None: ...

    def announce_departures(self) -> None: ...


class Replica(Generic[MemberT]):
    """The cluster's users and this node's members, as of the last entry applied."""

    __slots__ = (
        "_audience",
        "_holders",
        "_joining",
        "_local",
        "_member_names",
        "_names",
        "_seen",
        "_syncs",
        "_tokens",
        "changes",
        "node",
    )

    def __init__(self, audience: Audience) -> None:
        self._audience = audience
        self.node = ""
        self._names: dict[str, str] = {}  # every user of the cluster: username_key -> name, in login order
        self._holders: dict[str, str] = {}  # username_key -> token of the login that holds it
        self._local: dict[str, MemberT] = {}
        self._member_names: dict[MemberT, str] = {}
        self._joining: dict[str, tuple[MemberT, Callable[[JoinResult], None]]] = {}  # token -> waiting LOGIN
        self._syncs: dict[str, Callable[[], None]] = {}  # token -> waiting PING
        self._seen: dict[str, int] = {}  # node -> sequence of its last batch applied
        self._tokens = itertools.count(1)
        self.changes = 0  # counts joins and leaves (ChatRoom.changes)

    # --- what the room holds ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._names)

    def knows(self, name: str) -> bool:
        return username_key(name) in self._names

    def names(self) -> list[str]:
        return list(self._names.values())

    def name_of(self, member: MemberT) -> str | None:
        return self._member_names.get(member)

    def members(self) -> ValuesView[MemberT]:
        return self._local.values()

    # --- this node's side -------------------------------------------------------------------------
    def start(self, node: str, users: Iterable[tuple[str, str]]) -> None:
        """Start over as ``node`` from a snapshot of the room: (name, token) of each user, in login
        order.  The stream is then applied from where the snapshot was taken."""
        self.node = node
        self._names, self._holders = {}, {}
        for name, token in users:
            key = username_key(name)
            self._names[key], self._holders[key] = name, token
        self._seen = {}
        self.changes += 1

    def clear(self) -> None:
        """Forget the whole room (this node lost its place): every waiting LOGIN is answered
        ``"unavailable"`` and every waiting PING is released."""
        joining, self._joining = self._joining, {}
        syncs, self._syncs = self._syncs, {}
        self._local, self._member_names = {}, {}
        self._names, self._holders = {}, {}
        self.changes += 1
        for _member, done in joining.values():
            done("unavailable")
        for synced in syncs.values():
            synced()

    def expect_join(self, member: MemberT, done: Callable[[JoinResult], None]) -> str:
        """The token of a LOGIN for ``member``; ``done("ok")`` when its join is applied."""
        token = self._new_token()
        self._joining[token] = (member, done)
        return token

    def answer(self, token: str, result: JoinResult) -> None:
        """Answer a waiting LOGIN without its join (Redis said taken, or refused it)."""
        waiting = self._joining.pop(token, None)
        if waiting is not None:
            waiting[1](result)

    def expect_sync(self, done: Callable[[], None]) -> str:
        """The token of a sync record; ``done()`` when this node reads it back (or ``synced``)."""
        token = self._new_token()
        self._syncs[token] = done
        return token

    def synced(self, token: str) -> None:
        synced = self._syncs.pop(token, None)
        if synced is not None:
            synced()

    def release(self, member: MemberT, name: str) -> str | None:
        """``member`` is leaving: it gets nothing more.  The token of its login, for the leave to
        write (the name stays listed until that leave is applied); None if it is not a member."""
        key = username_key(name)
        if self._local.get(key) is not member:
            return None
        del self._local[key], self._member_names[member]
        return self._holders[key]

    def release_all(self) -> None:
        """The node stops: its members leave with it, and their leaves must not read as the
        cluster retiring a live node."""
        self._local, self._member_names = {}, {}

    def _new_token(self) -> str:
        return f"{self.node}.{next(self._tokens)}"

    # --- the stream's side ------------------------------------------------------------------------
    def apply(self, entry: Entry) -> bool:
        """Apply the next entry of the stream.  False: it says the cluster retired this node (it
        removed a member still here: this node was paused or cut off for too long)."""
        if isinstance(entry, Batch):
            self._apply_batch(entry)
            return True
        if isinstance(entry, Join):
            self._apply_join(entry.name, entry.token)
            return True
        return self._apply_leave(entry.name, entry.token)

    def _apply_join(self, name: str, token: str) -> None:
        if not is_valid_username(name):
            raise BadEntry(f"a join of the invalid name {name!r}")
        key = username_key(name)
        self._names.pop(key, None)  # (a name already there would be a bug elsewhere: the latest wins)
        self._names[key], self._holders[key] = name, token
        self.changes += 1
        waiting = self._joining.pop(token, None)
        if waiting is not None:
            member, done = waiting
            self._audience.announce_departures()  # those applied before this join are not news to it
            self._local[key], self._member_names[member] = member, name
            done("ok")

    def _apply_leave(self, name: str, token: str) -> bool:
        key = username_key(name)
        if self._holders.get(key) != token:
            return True  # that login is gone already
        del self._names[key], self._holders[key]
        self.changes += 1
        if key in self._local:  # still ours (``release`` forgets it first): the cluster retired us
            return False
        self._audience.departed(name)
        return True

    def _apply_batch(self, batch: Batch) -> None:
        if batch.sequence <= self._seen.get(batch.node, 0):
            return  # sent twice after a broken link
        self._seen[batch.node] = batch.sequence
        local = self._local
        if not local and batch.node != self.node:
            return
        said: list[tuple[MemberT | None, RoomEvent]] = []  # broadcasts not delivered yet
        for target in records(batch.records):
            if target.kind == BROADCAST:
                said.append((local.get(username_key(target.name)), target.event()))
                continue
            if said:  # (a direct message or a sync shows what came before: deliver that first)
                deliver_together(local.values(), said)
                said = []
            if target.kind == DIRECT:
                recipient = local.get(username_key(target.name))
                if recipient is not None:
                    recipient.deliver(target.event())
            elif batch.node == self.node:
                self.synced(target.name)
        if said:
            deliver_together(local.values(), said)
