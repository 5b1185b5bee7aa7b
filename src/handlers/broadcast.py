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
- Names are unique ignoring case and Unicode width forms (``names.username_key``), and a
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

from collections.abc import Callable
from typing import Any, Generic, Literal, Protocol, TypeVar

from names import username_key

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

    def join(self, member: MemberT_contra, name: str, done: Callable[[JoinResult], None]) -> None:
        """Claim ``name`` for ``member``; ``done`` gets the answer (maybe before this returns)."""

    def leave(self, member: MemberT_contra, name: str) -> None:
        """``member`` (logged in as ``name``) is gone; the name is free at once."""

    def knows(self, name: str) -> bool:
        """Whether someone online has ``name`` (ignoring case and width)."""

    def names(self) -> list[str]:
        """The names online, as their owners typed them, in login order."""

    def broadcast(self, payload: Any, sender: MemberT_contra) -> None:
        """Deliver ``payload`` to every member but ``sender``."""

    def direct(self, name: str, payload: Any) -> None:
        """Deliver ``payload`` to the member called ``name``, if it is still there."""

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


class Room(Generic[MemberT]):
    """The in-memory room: one process, no waiting.  ``departed`` hears every departure."""

    __slots__ = ("_departed", "_members", "_names", "changes")

    def __init__(self, departed: Callable[[str], None] | None = None) -> None:
        # Both keyed by username_key(name); dicts keep insertion order, which is login order.
        self._members: dict[str, MemberT] = {}
        self._names: dict[str, str] = {}
        self._departed = departed
        self.changes = 0

    @property
    def ready(self) -> bool:
        return True

    @property
    def available(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._members)

    def join(self, member: MemberT, name: str, done: Callable[[JoinResult], None]) -> None:
        key = username_key(name)
        if key in self._members:
            done("taken")
            return
        self._members[key] = member
        self._names[key] = name
        self.changes += 1
        done("ok")

    def leave(self, member: MemberT, name: str) -> None:
        key = username_key(name)
        if self._members.get(key) is not member:
            return
        del self._members[key]
        del self._names[key]
        self.changes += 1
        if self._departed is not None:
            self._departed(name)

    def knows(self, name: str) -> bool:
        return username_key(name) in self._members

    def names(self) -> list[str]:
        return list(self._names.values())

    def broadcast(self, payload: Any, sender: MemberT) -> None:
        for member in self._members.values():
            if member is not sender:
                member.deliver(payload)

    def direct(self, name: str, payload: Any) -> None:
        member = self._members.get(username_key(name))
        if member is not None:
            member.deliver(payload)

    def sync(self, member: MemberT, done: Callable[[], None]) -> None:
        done()

    def tell_local(self, payload: Any) -> None:
        for member in self._members.values():
            member.deliver(payload)

    def describe(self) -> str | None:
        return None

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
