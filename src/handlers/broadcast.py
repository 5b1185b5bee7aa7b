"""The room: who is logged in, in what order, and who receives what.  It is the seam between
the connections and the shared state.

``ChatRoom`` is all the sessions and ChatServer know of it.  Two rooms implement it: ``Room``
below keeps everything in this process; ``cluster.redis_room.RedisRoom`` shares one room among
many server processes over Redis (imported only in cluster mode).  A room knows nothing about
sockets or any wire protocol: a member is anything with a ``deliver(payload)`` method (a session
of any protocol), and a payload is whatever the caller hands in (the server passes room events,
``events``, which each protocol encodes once; the unit tests pass plain values), so the same
payload object reaches every recipient on this process.  ``RoomHost`` is the narrow view of the
server a session gets to use the room.

Guarantees of every room:
- Names are unique ignoring case, Unicode width forms and look-alikes (``names.username_key``), and a
  name is free again the moment its owner leaves.
- ``names()`` follows login order; every recipient sees broadcasts in the same order, and each
  sender's broadcasts and direct messages in the order sent.
- ``join`` and ``sync`` answer through a callback: at once here, after a round trip in a
  cluster.  A member is told ``"ok"`` only once the room lists it (and everyone who joined
  before it).
- Every departure reaches ``departed`` exactly once, after whatever the leaver sent.
- No method calls back into the caller before returning, except the callbacks of ``join`` and
  ``sync`` here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, Literal, Protocol, TypeVar

from algokart_chat.events import Arrived, Parted, Renamed, RoomEvent, Together
from algokart_chat.names import username_key

JoinResult = Literal["ok", "taken", "unavailable"]


class RoomStartError(Exception):
    """The room cannot start (in a cluster: Redis cannot be reached); the message is one line."""


class Member(Protocol):
    def deliver(self, payload: Any) -> None: ...


MemberT = TypeVar("MemberT", bound=Member)
MemberT_contra = TypeVar("MemberT_contra", bound=Member, contravariant=True)


class ChatRoom(Protocol[MemberT_contra]):
    """What the server needs of a room, in memory or clustered."""

    @property
    def ready(self) -> bool:
        """False while the room cannot take commands (its link is down): handlers wait."""

    @property
    def available(self) -> bool:
        """False while this process is not part of the room at all: new connections are refused."""

    @property
    def changes(self) -> int:
        """Counts joins and leaves: whatever was built from ``names()`` is stale when it moves."""

    def __len__(self) -> int: ...

    def join(
        self,
        member: MemberT_contra,
        name: str,
        done: Callable[[JoinResult], None],
        *,
        hidden: bool = False,
        renaming: str | None = None,
        hears_arrivals: bool = False,
    ) -> None:
        """Claim ``name`` for ``member``; ``done`` gets the answer (maybe before this returns).

        ``hidden``: the name is held but its owner is not in the room (not listed, gets nothing,
        others do not know it) until ``show`` (an IRC nick before its JOIN).  ``renaming``: the
        name ``member`` holds now, given up in the same step; the others hear ``Renamed`` instead
        of a departure.  ``hears_arrivals``: ``member`` gets ``Arrived`` when someone comes in."""

    def show(self, member: MemberT_contra, name: str, *, hears_arrivals: bool = False) -> None:
        """``member``, holding ``name`` hidden, comes into the room: the others hear ``Arrived``."""

    def hide(self, member: MemberT_contra, name: str) -> None:
        """``member`` leaves the room but keeps ``name``: the others hear ``Parted``."""

    def leave(self, member: MemberT_contra, name: str) -> None:
        """``member`` (holding ``name``) is gone; the name is free at once."""

    def knows(self, name: str) -> bool:
        """Whether someone in the room has ``name`` (ignoring case and width)."""

    def held_name(self, name: str) -> str | None:
        """``name`` as its holder typed it, if someone holds it, in the room or hidden (whom a
        direct message reaches); else None."""

    def names(self) -> list[str]:
        """The names of those in the room, as their owners typed them, in login order."""

    def broadcast(self, payload: Any, sender: MemberT_contra) -> None:
        """Deliver ``payload`` to every member but ``sender``."""

    def direct(self, name: str, payload: Any) -> None:
        """Deliver ``payload`` to the holder of ``name``, hidden or not, if it still holds it."""

    def sync(self, member: MemberT_contra, done: Callable[[], None]) -> None:
        """Call ``done`` once every event that reached the room before this call (from anyone,
        anywhere) has been delivered to this process's members, and whatever ``member`` did
        before has reached the room.  A PING's PONG waits for it, so a client that got its PONG
        knows the others will see what it sent, and has seen what they sent before its PING."""

    def tell_local(self, payload: Any) -> None:
        """Deliver ``payload`` to every member served by this process (departures, announced
        by each process to its own members)."""

    def describe(self) -> str | None:
        """One line for the log at start (which cluster, which node), or None."""

    async def start(self) -> None:
        """Join the shared state, if any (before the server listens)."""

    async def stop(self) -> None:
        """Leave it, after the members were told and closed (at shutdown)."""


class RoomHost(Protocol):
    """What a session needs of the server to use the room: the room, and the server's services
    around it."""

    @property
    def room(self) -> ChatRoom[Any]: ...

    @property
    def shutting_down(self) -> bool:
        """The server is stopping (nobody is left to hear departures)."""

    def announce_departures(self) -> None:
        """Send the departures noticed so far now (before someone joins: they are not news to them)."""

    def when_room_ready(self, resume: Callable[[], None]) -> None:
        """Call ``resume`` once the room can take commands again (``ChatRoom.ready``)."""

    def fan_out_allowed(self) -> bool:
        """Whether the server can take more messages to deliver now (it is not behind)."""

    def when_fan_out_allowed(self, resume: Callable[[], None]) -> None:
        """Call ``resume`` once it can (senders that waited go on in turn)."""

    def note_fan_out(self, size: int) -> None:
        """A session just gave the room ``size`` bytes to deliver (its text times its recipients)."""


def deliver_together(members: Iterable[MemberT], said: list[tuple[MemberT | None, Any]]) -> None:
    """Deliver broadcasts, in order, to every one of ``members`` but their senders: one payload,
    the same for all who sent none of them (``events.Together`` when there are several), so a
    turn's broadcasts cost one delivery per member, not one per broadcast; each sender gets the
    others' payloads one by one (references, never a private copy of the rest)."""
    if len(said) == 1:
        sender, payload = said[0]
        for member in members:
            if member is not sender:
                member.deliver(payload)
        return
    senders = {sender for sender, _ in said if sender is not None}
    everything = Together([payload for _, payload in said])
    for member in members:
        if member not in senders:
            member.deliver(everything)
            continue
        for sender, payload in said:  # a sender gets the others' parts as they are: no copy
            if sender is not member:
                member.deliver(payload)


class Room(Generic[MemberT]):
    """The in-memory room: one process, no waiting.  ``departed`` hears every departure.

    With ``schedule`` (the event loop's ``call_soon``), broadcasts are gathered and delivered
    together once the loop turn is over (``deliver_together``); before anything that shows their
    order (a direct message, local news, a join, a sync) they are delivered at once.  Without it
    each is delivered as it comes, as the unit tests like it."""

    __slots__ = (
        "_departed",
        "_hidden",
        "_holders",
        "_listeners",
        "_members",
        "_names",
        "_said",
        "_schedule",
        "changes",
    )

    def __init__(
        self,
        departed: Callable[[str], None] | None = None,
        schedule: Callable[[Callable[[], None]], object] | None = None,
    ) -> None:
        # All keyed by username_key(name); dicts keep insertion order, which is login order.
        self._holders: dict[str, MemberT] = {}  # every name held, hidden or not
        self._names: dict[str, str] = {}  # the same, as typed
        self._hidden: set[str] = set()  # held by someone not in the room
        self._members: dict[str, MemberT] = {}  # those in the room: they get what it delivers
        self._listeners: dict[str, MemberT] = {}  # members that get Arrived
        self._departed = departed
        self._schedule = schedule
        self._said: list[tuple[MemberT | None, RoomEvent]] = []  # this turn's broadcasts, not delivered yet
        self.changes = 0

    def deliver_said(self) -> None:
        """Deliver the broadcasts gathered so far."""
        said, self._said = self._said, []
        if said:
            deliver_together(self._members.values(), said)

    @property
    def ready(self) -> bool:
        return True

    @property
    def available(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._members)

    def join(
        self,
        member: MemberT,
        name: str,
        done: Callable[[JoinResult], None],
        *,
        hidden: bool = False,
        renaming: str | None = None,
        hears_arrivals: bool = False,
    ) -> None:
        key = username_key(name)
        old = username_key(renaming) if renaming is not None else None
        if key in self._holders and key != old:
            done("taken")
            return
        self.deliver_said()  # (what was said before someone joined is not for them)
        was_present = False
        if old is not None and self._holders.get(old) is member:
            was_present = old in self._members
            hidden = old in self._hidden
            hears_arrivals = old in self._listeners
            self._forget(old)
        self._holders[key], self._names[key] = member, name
        self.changes += 1
        if hidden:
            self._hidden.add(key)
        else:
            self._enter(key, member, hears_arrivals, announce=renaming is None)
        if renaming is not None and was_present:
            self._tell(Renamed(renaming, name))
        done("ok")

    def show(self, member: MemberT, name: str, *, hears_arrivals: bool = False) -> None:
        key = username_key(name)
        if self._holders.get(key) is member and key in self._hidden:
            self.deliver_said()
            self._hidden.discard(key)
            self.changes += 1
            self._enter(key, member, hears_arrivals, announce=True)

    def hide(self, member: MemberT, name: str) -> None:
        key = username_key(name)
        if self._holders.get(key) is member and key not in self._hidden:
            self.deliver_said()  # (what it said before it went comes first)
            del self._members[key]
            self._listeners.pop(key, None)
            self._hidden.add(key)
            self.changes += 1
            self._tell(Parted(self._names[key]))

    def _enter(self, key: str, member: MemberT, hears_arrivals: bool, announce: bool) -> None:
        if announce:
            arrival = Arrived(self._names[key])
            for listener in self._listeners.values():
                listener.deliver(arrival)
        self._members[key] = member
        if hears_arrivals:
            self._listeners[key] = member

    def _tell(self, event: RoomEvent) -> None:
        for member in self._members.values():
            member.deliver(event)

    def _forget(self, key: str) -> None:
        del self._holders[key], self._names[key]
        self._members.pop(key, None)
        self._listeners.pop(key, None)
        self._hidden.discard(key)

    def leave(self, member: MemberT, name: str) -> None:
        key = username_key(name)
        if self._holders.get(key) is not member:
            return
        was_present = key in self._members
        name = self._names[key]
        self._forget(key)
        self.changes += 1
        if was_present and self._departed is not None:
            self._departed(name)

    def knows(self, name: str) -> bool:
        return username_key(name) in self._members

    def held_name(self, name: str) -> str | None:
        return self._names.get(username_key(name))

    def names(self) -> list[str]:
        return [self._names[key] for key in self._members]

    def broadcast(self, payload: Any, sender: MemberT) -> None:
        if self._schedule is None:
            deliver_together(self._members.values(), [(sender, payload)])
            return
        if not self._said:
            self._schedule(self.deliver_said)
        self._said.append((sender, payload))

    def direct(self, name: str, payload: Any) -> None:
        self.deliver_said()
        member = self._holders.get(username_key(name))
        if member is not None:
            member.deliver(payload)

    def sync(self, member: MemberT, done: Callable[[], None]) -> None:
        self.deliver_said()
        done()

    def tell_local(self, payload: Any) -> None:
        self.deliver_said()
        for member in self._members.values():
            member.deliver(payload)

    def describe(self) -> str | None:
        return None

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
