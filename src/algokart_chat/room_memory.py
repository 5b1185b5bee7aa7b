"""The in-memory room: every member in this process, every answer at once.  Implements
``room.ChatRoom`` with the guarantees listed there; ``cluster.room_redis.RedisRoom`` is the other
implementation, one room shared by many processes over Redis.

A message is stamped (``events.Stamp``) when ``broadcast`` or ``direct`` takes it: the id is this
room's random prefix (new at each start, so ids never repeat across restarts) and a counter, the
time is the clock's.  Each stamped broadcast goes into the room's ``history`` at once, so a
``sync`` (which delivers what is gathered first) leaves history and deliveries in step; so does
each direct message between two accounts (its ``to_account`` is the recipient's account then).

Arrivals are gathered per loop turn too (with ``schedule``): those who hear arrivals get the turn's
``Arrived`` events as one ``Together`` (one delivery, one encoding per IRC form for all of them,
not one per arrival), and a listener that came in during the turn only those after its own.  So a
storm of joins costs a delivery per listener per turn, not per join.  Anything that shows their
order delivers them first (a broadcast, a departure, a rename ...); a ``sync`` too, unless its
member already has every one of them (a joiner's own, for its names: they list the earlier ones).
``names()`` is kept as a list that arrivals extend, so a joiner's names cost a copy, not a walk."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, Generic

from algokart_chat import events
from algokart_chat.events import Arrived, AwayChanged, Echoed, MessageId, Parted, Renamed, RoomEvent, Said, Stamp, Told
from algokart_chat.history import History
from algokart_chat.moderation import Change
from algokart_chat.names import username_key
from algokart_chat.room import Broadcast, JoinResult, MemberT, deliver_together


class MemoryRoom(Generic[MemberT]):
    """The in-memory room: one process, no waiting.  ``departed`` hears every departure.

    With ``schedule`` (the event loop's ``call_soon``), broadcasts are gathered and delivered
    together once the loop turn is over (``deliver_together``); before anything that shows their
    order (a direct message, local news, a join, a sync) they are delivered at once.  Without it
    each is delivered as it comes, as the unit tests like it."""

    __slots__ = (
        "_accounts",
        "_arrivals",
        "_away",
        "_clock",
        "_departed",
        "_heard",
        "_hidden",
        "_holders",
        "_id_prefix",
        "_listed",
        "_listeners",
        "_members",
        "_names",
        "_said",
        "_schedule",
        "_stamped",
        "_turn_scheduled",
        "changes",
        "history",
    )

    def __init__(
        self,
        departed: Callable[[str, str | None], None] | None = None,
        schedule: Callable[[Callable[[], None]], object] | None = None,
        clock: Callable[[], float] = time.time,
        history: History | None = None,
    ) -> None:
        # All keyed by username_key(name); dicts keep insertion order, which is login order.
        self._holders: dict[str, MemberT] = {}  # every name held, hidden or not
        self._names: dict[str, str] = {}  # the same, as typed
        self._hidden: set[str] = set()  # held by someone not in the room
        self._accounts: dict[str, str] = {}  # the account each holder logged in to, if any
        self._members: dict[str, MemberT] = {}  # those in the room: they get what it delivers
        self._listeners: dict[str, MemberT] = {}  # members that get Arrived
        self._away: dict[str, str] = {}  # the away messages of those who hold a name
        self._departed = departed
        self._schedule = schedule
        self._said: list[Broadcast[MemberT]] = []  # this turn's broadcasts, not delivered yet
        # This turn's arrivals, not delivered yet (at most one of _said and _arrivals holds any),
        # and how many of them each listener that came in (or synced) during the turn already has.
        self._arrivals: list[RoomEvent] = []
        self._heard: dict[MemberT, int] = {}
        self._turn_scheduled = False
        self._listed: list[str] | None = None  # names(), while only arrivals changed the room
        self._clock = clock
        self._id_prefix = secrets.token_hex(5)  # (40 random bits: no two starts share one)
        self._stamped = 0  # messages stamped so far
        self.changes = 0
        self.history = history if history is not None else History(0, 0, 0)

    def deliver_said(self) -> None:
        """Deliver the broadcasts gathered so far."""
        said, self._said = self._said, []
        if said:
            deliver_together(self._members.values(), said)

    def deliver_arrivals(self) -> None:
        """Deliver the arrivals gathered so far, each listener those it does not have yet."""
        arrivals, heard = self._arrivals, self._heard
        if not arrivals:
            return
        self._arrivals, self._heard = [], {}
        everything: RoomEvent = arrivals[0] if len(arrivals) == 1 else events.Together(arrivals)
        count = len(arrivals)
        for listener in self._listeners.values():
            start = heard.get(listener, 0) if heard else 0
            if start == 0:
                listener.deliver(everything)
            elif start < count:
                listener.deliver(arrivals[start] if start == count - 1 else events.Together(arrivals[start:]))

    def _deliver_gathered(self) -> None:
        """Deliver everything gathered: before whatever shows its order."""
        self.deliver_arrivals()
        self.deliver_said()

    def _end_turn(self) -> None:
        self._turn_scheduled = False
        self._deliver_gathered()

    def _end_turn_soon(self) -> None:
        if not self._turn_scheduled and self._schedule is not None:
            self._turn_scheduled = True
            self._schedule(self._end_turn)

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
        account: str | None = None,
    ) -> None:
        key = username_key(name)
        old = username_key(renaming) if renaming is not None else None
        if key in self._holders and key != old:
            done("taken")
            return
        self.deliver_said()  # (what was said before someone joined is not for them)
        if renaming is not None:
            self.deliver_arrivals()  # (a renamed listener has heard them under its old name)
        was_present = False
        if old is not None and self._holders.get(old) is member:
            was_present = old in self._members
            hidden = old in self._hidden
            hears_arrivals = old in self._listeners
            away = self._away.get(old)
            self._forget(old)
            if away is not None:
                self._away[key] = away
        self._holders[key], self._names[key] = member, name
        if account is not None:
            self._accounts[key] = account
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

    def hide(self, member: MemberT, name: str, reason: str | None = None) -> None:
        key = username_key(name)
        if self._holders.get(key) is member and key not in self._hidden:
            self._deliver_gathered()  # (what it said before it went comes first)
            del self._members[key]
            self._listed = None
            self._listeners.pop(key, None)
            self._hidden.add(key)
            self.changes += 1
            self._tell(Parted(self._names[key], reason))

    def set_away(self, member: MemberT, name: str, away: str | None) -> None:
        key = username_key(name)
        if self._holders.get(key) is not member or self._away.get(key) == away:
            return
        if away is None:
            del self._away[key]
        else:
            self._away[key] = away
        if key in self._members:
            self._deliver_gathered()  # (in its place among the broadcasts)
            change = AwayChanged(self._names[key], away)
            for listener in self._listeners.values():
                if listener is not member:
                    listener.deliver(change)

    def away(self, name: str) -> str | None:
        return self._away.get(username_key(name)) if self._away else None

    def away_messages(self) -> dict[str, str]:
        return {self._names[key]: away for key, away in self._away.items()}

    def _enter(self, key: str, member: MemberT, hears_arrivals: bool, announce: bool) -> None:
        if announce and self._listeners:
            arrival = Arrived(self._names[key], self._accounts.get(key), self._away.get(key))
            if self._schedule is None:
                for listener in self._listeners.values():
                    listener.deliver(arrival)
            else:
                self._arrivals.append(arrival)
                self._end_turn_soon()
        self._members[key] = member
        if self._listed is not None:
            self._listed.append(self._names[key])
        if hears_arrivals:
            self._listeners[key] = member
            if self._arrivals:
                self._heard[member] = len(self._arrivals)  # (its names list the earlier ones)

    def _tell(self, event: RoomEvent) -> None:
        self.deliver_arrivals()
        for member in self._members.values():
            member.deliver(event)

    def _forget(self, key: str) -> None:
        if self._heard:
            self._heard.pop(self._holders[key], None)
        del self._holders[key], self._names[key]
        if self._members.pop(key, None) is not None:
            self._listed = None
        self._listeners.pop(key, None)
        self._hidden.discard(key)
        self._accounts.pop(key, None)
        self._away.pop(key, None)

    def leave(self, member: MemberT, name: str, reason: str | None = None) -> None:
        key = username_key(name)
        if self._holders.get(key) is not member:
            return
        was_present = key in self._members
        name = self._names[key]
        self._forget(key)
        self.changes += 1
        if was_present and self._departed is not None:
            self._departed(name, reason)

    def knows(self, name: str) -> bool:
        return username_key(name) in self._members

    def held_name(self, name: str) -> str | None:
        return self._names.get(username_key(name))

    def account_of(self, name: str) -> str | None:
        return self._accounts.get(username_key(name))

    def names(self) -> list[str]:
        if self._listed is None:
            self._listed = [self._names[key] for key in self._members]
        return list(self._listed)

    def keyed_names(self) -> dict[str, str]:
        return {key: self._names[key] for key in self._members}

    def broadcast(self, payload: Any, sender: MemberT, *, echo: bool = False) -> None:
        self._stamp(payload)
        if self._schedule is None:
            deliver_together(self._members.values(), [(sender, payload, echo)])
            return
        self.deliver_arrivals()
        self._end_turn_soon()
        self._said.append((sender, payload, echo))

    def direct(self, name: str, payload: Any, *, echo_to: MemberT | None = None) -> None:
        self._deliver_gathered()
        key = username_key(name)
        if isinstance(payload, Told):
            payload.to_account = self._accounts.get(key)
        self._stamp(payload)
        if isinstance(payload, Told):
            self.history.add_told(payload, self._names.get(key, name))
        member = self._holders.get(key)
        if member is not None:
            member.deliver(payload)
        if echo_to is not None and isinstance(payload, Told):
            echo_to.deliver(Echoed(payload, name))

    def _stamp(self, payload: object) -> None:
        if isinstance(payload, (Said, Told)):
            self._stamped += 1
            payload.stamp = Stamp(MessageId(f"{self._id_prefix}-{self._stamped}"), self._clock())
            if isinstance(payload, Said):
                self.history.add_said(payload)

    def sync(self, member: MemberT, done: Callable[[], None]) -> None:
        if self._arrivals and self._heard.get(member) != len(self._arrivals):
            self.deliver_arrivals()  # (a joiner that has them all leaves them gathered)
        self.deliver_said()
        done()

    def tell_local(self, payload: Any) -> None:
        self._deliver_gathered()
        for member in self._members.values():
            member.deliver(payload)

    def moderate(self, change: Change) -> bool:
        return False  # (nobody to share it with: the server applies it alone)

    def describe(self) -> str | None:
        return None

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
