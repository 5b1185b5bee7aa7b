"""The room: who is logged in, in what order, and who receives what.  It is the seam between
the connections and the shared state.

``ChatRoom`` is all the sessions and ChatServer know of it.  Two rooms implement it: ``room_memory.MemoryRoom``
keeps everything in this process; ``cluster.room_redis.RedisRoom`` shares one room among
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
- Every departure reaches ``departed`` exactly once, after whatever the leaver sent, with its
  reason.
- A change of away message reaches those who hear arrivals in its place among the broadcasts,
  and every room (every node of a cluster) knows it from then on, until its holder leaves.
- Every message the room accepts (``events.Said``, ``events.Told``) is stamped (``events.Stamp``)
  before anyone gets it: an id no other message has, here or after a restart, and the time of
  acceptance, the same for every recipient (in a cluster, on every node).  A sender that asks for
  its echo gets its message back (``events.Echoed``), stamped, in its place among the others'.
- Every broadcast message (``events.Said``) is kept in ``history`` (``history.History``), within
  its bounds, once stamped; after a ``sync`` it holds everything the member has been delivered.
  So is every direct message (``events.Told``) between two accounts: the room sets its
  ``to_account`` (the account of the name's holder when it accepts it, on every node alike) as it
  stamps it; any other direct message is never kept.
- No method calls back into the caller before returning, except the callbacks of ``join`` and
  ``sync`` here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal, Protocol, TypeVar

from algokart_chat.events import Echoed, Together
from algokart_chat.history import History
from algokart_chat.moderation import Change

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

    @property
    def history(self) -> History:
        """The room's recent messages (``History.on`` False: none are kept); read it in a ``sync``'s
        callback, which has delivered everything before it."""

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
        account: str | None = None,
    ) -> None:
        """Claim ``name`` for ``member``; ``done`` gets the answer (maybe before this returns).

        ``hidden``: the name is held but its owner is not in the room (not listed, gets nothing,
        others do not know it) until ``show`` (an IRC nick before its JOIN).  ``renaming``: the
        name ``member`` holds now, given up in the same step; the others hear ``Renamed`` instead
        of a departure.  ``hears_arrivals``: ``member`` gets ``Arrived`` when someone comes in.
        ``account``: the account ``member`` logged in to (its password checked), if any."""

    def show(self, member: MemberT_contra, name: str, *, hears_arrivals: bool = False) -> None:
        """``member``, holding ``name`` hidden, comes into the room: the others hear ``Arrived``."""

    def hide(self, member: MemberT_contra, name: str, reason: str | None = None) -> None:
        """``member`` leaves the room but keeps ``name``: the others hear ``Parted`` (with
        ``reason``)."""

    def leave(self, member: MemberT_contra, name: str, reason: str | None = None) -> None:
        """``member`` (holding ``name``) is gone; the name is free at once.  ``reason`` goes with
        the departure to everyone (``Departed``)."""

    def set_away(self, member: MemberT_contra, name: str, away: str | None) -> None:
        """``member``, holding ``name``, is away with the message ``away`` (None: back).  If that
        changes its message and it is in the room, the members that hear arrivals but it hear
        ``AwayChanged``; ``Arrived`` carries the message when it comes in."""

    def away(self, name: str) -> str | None:
        """The away message of whoever holds ``name``, in the room or hidden; None if not away.
        The message follows its holder through a rename and goes when it leaves."""

    def away_messages(self) -> dict[str, str]:
        """Every away message, by its holder's name as ``names()`` and ``held_name`` give it (so
        that a list of names is checked without folding each: O(those away))."""

    def knows(self, name: str) -> bool:
        """Whether someone in the room has ``name`` (ignoring case and width)."""

    def held_name(self, name: str) -> str | None:
        """``name`` as its holder typed it, if someone holds it, in the room or hidden (whom a
        direct message reaches); else None."""

    def account_of(self, name: str) -> str | None:
        """The account the holder of ``name`` logged in to, if any (in a cluster, as its join
        carried it: the same on every node)."""

    def names(self) -> list[str]:
        """The names of those in the room, as their owners typed them, in login order."""

    def keyed_names(self) -> dict[str, str]:
        """``names()`` by their keys (``names.username_key``, which the room keeps: a caller that
        compares names needs not compute them again), in login order."""

    def broadcast(self, payload: Any, sender: MemberT_contra, *, echo: bool = False) -> None:
        """Deliver ``payload`` to every member but ``sender``; with ``echo``, ``sender`` (if it is
        in the room) gets ``Echoed(payload)`` in its place among the others' broadcasts."""

    def direct(self, name: str, payload: Any, *, echo_to: MemberT_contra | None = None) -> None:
        """Deliver ``payload`` to the holder of ``name``, hidden or not, if it still holds it; then
        ``echo_to`` (its sender, holding ``payload.sender``), if given, gets ``Echoed(payload, name)``."""

    def sync(self, member: MemberT_contra, done: Callable[[], None]) -> None:
        """Call ``done`` once every event that reached the room before this call (from anyone,
        anywhere) has been delivered to this process's members, and whatever ``member`` did
        before has reached the room.  A PING's PONG waits for it, so a client that got its PONG
        knows the others will see what it sent, and has seen what they sent before its PING."""

    def tell_local(self, payload: Any) -> None:
        """Deliver ``payload`` to every member served by this process (departures, announced
        by each process to its own members)."""

    def moderate(self, change: Change) -> bool:
        """Share an operator's action with every process of the room, each applying it when the
        room hands it back (in a cluster: from the stream, in its order); False: there is no
        other process, the caller applies it alone (the memory room)."""

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


Broadcast = tuple[MemberT | None, Any, bool]  # a broadcast: its sender, its payload, whether it echoes


def deliver_together(members: Iterable[MemberT], said: list[Broadcast[MemberT]]) -> None:
    """Deliver broadcasts, in order, to every one of ``members`` but their senders: one payload,
    the same for all who sent none of them (``events.Together`` when there are several), so a
    turn's broadcasts cost one delivery per member, not one per broadcast; each sender gets the
    others' payloads one by one (references, never a private copy of the rest), and its own as
    ``Echoed`` where it asked for its echo."""
    if len(said) == 1:
        sender, payload, echo = said[0]
        for member in members:
            if member is not sender:
                member.deliver(payload)
            elif echo:
                member.deliver(Echoed(payload))
        return
    senders = {sender for sender, _, _ in said if sender is not None}
    everything = Together([payload for _, payload, _ in said])
    for member in members:
        if member not in senders:
            member.deliver(everything)
            continue
        for sender, payload, echo in said:  # a sender gets the others' parts as they are: no copy
            if sender is not member:
                member.deliver(payload)
            elif echo:
                member.deliver(Echoed(payload))
