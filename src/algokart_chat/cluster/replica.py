"""The room as one node sees it: a replica built from the cluster's event stream.  Pure code, no I/O.

``RedisRoom`` does the talking to Redis; this class decides what every entry of the stream means
for this node.  It owns every user of the cluster (names in login order, and which login holds
each name), this node's members, the LOGINs and PINGs of this node waiting for their entries to
come back, and, per node, the sequence of the last batch applied.  Its parts: ``replica_profiles``
(each user's account and away message) and ``replica_history`` (the history kept from the stream,
and read back from it at a join).

Guarantees:
- Applying the stream in order makes ``names()`` the same on every node, in login order.
- A batch sent twice (same node and sequence) is applied once, and so is a login's join; a leave
  whose login no longer holds the name changes nothing, so however many nodes write one
  departure, it counts once.
- Every departure reaches ``Audience.departed`` once, with its reason; a join of this node's LOGIN first flushes
  the departures applied before it (``announce_departures``), then answers the LOGIN ``"ok"``.
- Away messages are known from the stream, so a node knows only those set or changed since it
  joined the cluster (the snapshot it starts from has none: docs/CLUSTER.md).
- Records become room events (``events``), one per record, shared by every local recipient; the
  broadcasts of one batch reach each member as one delivery (``deliver_together``).  Each message
  is stamped from the batch's entry id and its place in it (``entries.stamp``): the same on every
  node.  History keeps the broadcasts, and the direct messages whose batch names the two accounts
  (``Batch.directs``; kept with those accounts: ``replica_history``), on every node alike, whether
  it delivers them or only reads them.  A sender on this node that asked for its echo gets it
  (``events.Echoed``) when its record is applied here, in its place.
- Every arrival and message of a user whose join carried an account carries it (``account``: IRC's
  extended-join, account-tag), on every node; records carry no account of their own, so a node
  cannot be told one for a user it did not see log in to it.
- An operator's action (``entries.Moderate``) goes to ``moderated`` in its place in the stream:
  after what came before it, on every node alike.
- Malformed content raises ``BadEntry`` (the caller logs and skips the entry); work is O(bytes of
  the entry) plus one delivery per local recipient: a held name's key (``names.username_key``, not
  cheap) is computed once, at its join, not for each entry that names it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, ValuesView
from typing import Generic, Protocol

from algokart_chat.cluster.entries import (
    BROADCAST,
    DIRECT,
    IRC_BROADCAST,
    IRC_DIRECT,
    Away,
    BadEntry,
    Batch,
    Entry,
    Join,
    Moderate,
    Presence,
    User,
    direct_accounts,
    records,
    stamp,
)
from algokart_chat.cluster.replica_history import ReplicaHistory
from algokart_chat.cluster.replica_profiles import NameKeys, Profiles
from algokart_chat.events import Arrived, AwayChanged, Echoed, Parted, Renamed, Said
from algokart_chat.history import History
from algokart_chat.moderation import Change
from algokart_chat.names import is_valid_username, username_key
from algokart_chat.room import Broadcast, JoinResult, MemberT, deliver_together


class Audience(Protocol):
    """What the replica tells the server (``server.chat_server.ChatServer``)."""

    def departed(self, name: str, reason: str | None = None) -> None: ...

    def announce_departures(self) -> None: ...


class Replica(Generic[MemberT]):
    """The cluster's users and this node's members, as of the last entry applied."""

    __slots__ = (
        "_arrivals_wanted",
        "_audience",
        "_hidden",
        "_holders",
        "_joining",
        "_keys",
        "_listeners",
        "_local",
        "_member_names",
        "_moderated",
        "_names",
        "_present",
        "_profiles",
        "_seen",
        "_syncs",
        "_tokens",
        "changes",
        "history",
        "node",
    )

    def __init__(
        self, audience: Audience, history: History | None = None, moderated: Callable[[Change], None] | None = None
    ) -> None:
        self._audience = audience
        self._moderated = moderated  # where an operator's action goes (the server's Moderators)
        self._profiles = Profiles()  # the users' accounts and away messages
        self.history = ReplicaHistory(history, self._profiles)  # fed every broadcast read
        self.node = ""
        # Every name held in the cluster, in login order, and which login holds it; those whose
        # owner is not in the room (an IRC nick before its JOIN) are also in _hidden.
        self._names: dict[str, str] = {}  # username_key -> name as typed
        self._holders: dict[str, str] = {}  # username_key -> token of the login that holds it
        self._hidden: set[str] = set()
        self._keys = NameKeys()  # each held name's username_key, computed once
        # This node's members: all of them, those in the room (they get what it delivers), and
        # those of them that hear arrivals.
        self._local: dict[str, MemberT] = {}
        self._member_names: dict[MemberT, str] = {}
        self._present: dict[str, MemberT] = {}
        self._listeners: dict[str, MemberT] = {}
        self._arrivals_wanted: set[str] = set()
        self._joining: dict[str, tuple[MemberT, Callable[[JoinResult], None], bool]] = {}  # token -> waiting LOGIN
        self._syncs: dict[str, Callable[[], None]] = {}  # token -> waiting PING
        self._seen: dict[str, int] = {}  # node -> sequence of its last batch applied
        self._tokens = itertools.count(1)
        self.changes = 0  # counts joins, leaves and presence (ChatRoom.changes)

    # --- what the room holds ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._names) - len(self._hidden)

    def knows(self, name: str) -> bool:
        key = username_key(name)
        return key in self._names and key not in self._hidden

    def held_name(self, name: str) -> str | None:
        return self._names.get(username_key(name))

    def names(self) -> list[str]:
        return list(self.keyed_names().values())

    def keyed_names(self) -> dict[str, str]:
        hidden = self._hidden
        return {key: name for key, name in self._names.items() if key not in hidden}

    def account_of(self, name: str) -> str | None:
        return self._profiles.account_of(username_key(name))

    def away(self, name: str) -> str | None:
        return self._profiles.away_of(username_key(name))

    def away_messages(self) -> dict[str, str]:
        return self._profiles.away_messages(self._names)

    def name_of(self, member: MemberT) -> str | None:
        return self._member_names.get(member)

    def members(self) -> ValuesView[MemberT]:
        """This node's members in the room: what the room delivers here goes to them."""
        return self._present.values()

    # --- this node's side -------------------------------------------------------------------------
    def start(self, node: str, users: Iterable[User]) -> None:
        """Start over as ``node`` from a snapshot of the room: its users, in login order.  The
        stream is then applied from where the snapshot was taken."""
        self.node = node
        self._names, self._holders, self._hidden, self._keys = {}, {}, set(), NameKeys()
        self._profiles.clear()
        for user in users:
            key = self._keys.held(user.name)
            self._names[key], self._holders[key] = user.name, user.token
            if user.hidden:
                self._hidden.add(key)
            self._profiles.joined(key, user.account)
        self._seen = {}
        self.changes += 1

    def clear(self) -> None:
        """Forget the whole room (this node lost its place): every waiting LOGIN is answered
        ``"unavailable"`` and every waiting PING is released."""
        joining, self._joining = self._joining, {}
        syncs, self._syncs = self._syncs, {}
        self.release_all()
        self._names, self._holders, self._hidden, self._keys = {}, {}, set(), NameKeys()
        self._profiles.clear()
        self.changes += 1
        for _member, done, _hears in joining.values():
            done("unavailable")
        for synced in syncs.values():
            synced()

    def expect_join(self, member: MemberT, done: Callable[[JoinResult], None], hears_arrivals: bool = False) -> str:
        """The token of a LOGIN for ``member``; ``done("ok")`` when its join is applied."""
        token = self._new_token()
        self._joining[token] = (member, done, hears_arrivals)
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

    def token_of(self, member: MemberT, name: str) -> str | None:
        """The token of ``member``'s login of ``name`` (for a rename or a presence entry to
        write); None if it does not hold it."""
        key = self._keys.of(name)
        return self._holders[key] if self._local.get(key) is member else None

    def want_arrivals(self, member: MemberT, name: str, wanted: bool) -> None:
        """Whether ``member`` hears arrivals once it is in the room (set before its presence entry)."""
        key = self._keys.of(name)
        if self._local.get(key) is member:
            if wanted:
                self._arrivals_wanted.add(key)
            else:
                self._arrivals_wanted.discard(key)

    def release(self, member: MemberT, name: str) -> str | None:
        """``member`` is leaving: it gets nothing more.  The token of its login, for the leave to
        write (the name stays listed until that leave is applied); None if it is not a member."""
        key = self._keys.of(name)
        if self._local.get(key) is not member:
            return None
        self._forget_member(key)
        return self._holders[key]

    def release_all(self) -> None:
        """The node stops: its members leave with it, and their leaves must not read as the
        cluster retiring a live node."""
        self._local, self._member_names, self._present, self._listeners = {}, {}, {}, {}
        self._arrivals_wanted = set()

    def _forget_member(self, key: str) -> None:
        member = self._local.pop(key)
        del self._member_names[member]
        self._present.pop(key, None)
        self._listeners.pop(key, None)
        self._arrivals_wanted.discard(key)

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
            self._apply_join(entry)
            return True
        if isinstance(entry, Presence):
            self._apply_presence(entry)
            return True
        if isinstance(entry, Away):
            self._apply_away(entry)
            return True
        if isinstance(entry, Moderate):
            if self._moderated is not None:
                self._moderated(entry.change)
            return True
        return self._apply_leave(entry.name, entry.token, entry.reason)

    def _apply_join(self, join: Join) -> None:
        name = join.name
        if not is_valid_username(name):
            raise BadEntry(f"a join of the invalid name {name!r}")
        key = self._keys.of(name)
        if self._holders.get(key) == join.token:
            return  # that login's join again (written again after a failover): nothing new
        renamed_from: str | None = None  # the old name of a rename that happened, if it was in the room
        member_before: MemberT | None = None
        hidden = join.hidden
        if join.renamed is not None:
            old_name, old_token = join.renamed
            old_key = self._keys.of(old_name)
            if self._holders.get(old_key) == old_token:
                if old_key not in self._hidden:
                    renamed_from = self._names[old_key]
                member_before = self._local.get(old_key)
                wanted = old_key in self._arrivals_wanted
                if member_before is not None:
                    self._forget_member(old_key)
                    if wanted:
                        self._arrivals_wanted.add(key)
                self._keys.dropped(self._names.pop(old_key))
                del self._holders[old_key]
                self._hidden.discard(old_key)
                self._profiles.renamed(old_key, key)
        self._keys.dropped(self._names.pop(key, ""))  # (a name there already: a bug elsewhere; the latest wins)
        self._names[key], self._holders[key] = name, join.token
        self._keys.held(name, key)
        account = self._profiles.joined(key, join.account)
        if hidden:
            self._hidden.add(key)
        else:
            self._hidden.discard(key)
        self.changes += 1
        waiting = self._joining.pop(join.token, None)
        member = waiting[0] if waiting is not None else member_before
        if waiting is not None:
            self._audience.announce_departures()  # those applied before this join are not news to it
            if waiting[2]:
                self._arrivals_wanted.add(key)
        if not hidden and renamed_from is None:
            arrival = Arrived(name, account)
            for listener in self._listeners.values():
                listener.deliver(arrival)
        if member is not None:
            self._local[key], self._member_names[member] = member, name
            if not hidden:
                self._enter(key, member)
        if renamed_from is not None:
            renamed = Renamed(renamed_from, name)
            for present in self._present.values():
                present.deliver(renamed)
        if waiting is not None:
            waiting[1]("ok")

    def _enter(self, key: str, member: MemberT) -> None:
        self._present[key] = member
        if key in self._arrivals_wanted:
            self._listeners[key] = member

    def _apply_presence(self, presence: Presence) -> None:
        key = self._keys.of(presence.name)
        if self._holders.get(key) != presence.token or (key in self._hidden) != presence.shown:
            return  # that login is gone, or it is where it says already
        self.changes += 1
        member = self._local.get(key)
        if presence.shown:
            self._hidden.discard(key)
            arrival = Arrived(self._names[key], self._profiles.account_of(key), self._profiles.away_of(key))
            for listener in self._listeners.values():
                listener.deliver(arrival)
            if member is not None:
                self._enter(key, member)
            return
        self._hidden.add(key)
        self._present.pop(key, None)
        self._listeners.pop(key, None)
        parted = Parted(self._names[key], presence.reason)
        for present in self._present.values():
            present.deliver(parted)

    def _apply_away(self, entry: Away) -> None:
        key = self._keys.of(entry.name)
        if self._holders.get(key) != entry.token or not self._profiles.set_away(key, entry.away):
            return  # that login is gone, or nothing changes
        if key in self._hidden:
            return
        change = AwayChanged(self._names[key], entry.away)
        for listener_key, listener in self._listeners.items():
            if listener_key != key:
                listener.deliver(change)

    def _apply_leave(self, name: str, token: str, reason: str | None = None) -> bool:
        key = self._keys.of(name)
        if self._holders.get(key) != token:
            return True  # that login is gone already
        was_present = key not in self._hidden
        self._keys.dropped(self._names.pop(key))
        del self._holders[key]
        self._hidden.discard(key)
        self._profiles.left(key)
        self.changes += 1
        if key in self._local:  # still ours (``release`` forgets it first): the cluster retired us
            return False
        if was_present:
            self._audience.departed(name, reason)
        return True

    def _apply_batch(self, batch: Batch) -> None:
        if batch.sequence <= self._seen.get(batch.node, 0):
            return  # sent twice after a broken link
        self._seen[batch.node] = batch.sequence
        present = self._present
        if not self._local and batch.node != self.node:
            if self.history.on:  # (nobody here to deliver to, but the history keeps it)
                self.history.keep(batch)
            return
        said: list[Broadcast[MemberT]] = []  # broadcasts not delivered yet
        ours = batch.node == self.node  # (only here can a sender be waiting for its echo)
        directs = direct_accounts(batch.directs) if batch.directs else None
        for index, target in enumerate(records(batch.records)):
            if target.kind in (BROADCAST, IRC_BROADCAST):
                event, echo = self._profiles.message(target, self._keys.of)
                event.stamp = stamp(batch.entry_id, index)
                if isinstance(event, Said):
                    self.history.add(event)
                said.append((present.get(self._keys.of(target.name)), event, echo and ours))
                continue
            if said:  # (a direct message or a sync shows what came before: deliver that first)
                deliver_together(present.values(), said)
                said = []
            if target.kind in (DIRECT, IRC_DIRECT):
                event, echo = self._profiles.message(target, self._keys.of)
                event.stamp = stamp(batch.entry_id, index)
                if directs is not None and index in directs:
                    self.history.add_direct(target, event, directs[index])
                recipient = self._local.get(self._keys.of(target.name))  # (hidden or not)
                if recipient is not None:
                    recipient.deliver(event)
                sender = self._local.get(self._keys.of(event.sender)) if echo and ours else None
                if sender is not None:
                    sender.deliver(Echoed(event, target.name))
            elif ours:
                self.synced(target.name)
        if said:
            deliver_together(present.values(), said)
