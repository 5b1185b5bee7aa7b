"""The room's recent messages, kept within bounds, and the questions asked of them.  Pure code:
values in (with the time passed in), values out; no clock, socket or global state.

What it owns: ``History``, the room's last messages (``events.Said``, one ``Kept`` per text) and
the direct messages between two accounts (``events.Told``), in the order the room accepted them,
each with the id and time of its stamp (``events.Stamp``).

Plan and guarantees:
- Bounded three ways, whichever is reached first: ``lines`` messages, ``size`` bytes (a message
  counts its id, sender and text, and its IRC form when it has one; a direct message its recipient
  and both accounts too; the bookkeeping around them is a few fixed-size objects per message, so
  bounded by ``lines``) and ``age`` seconds.  The oldest go first.  Any bound at 0 turns history
  off: nothing is kept.
- A direct message is kept only when both its sender and its recipient were logged in to an
  account when the room accepted it (``Told.account``, ``Told.to_account``), with both accounts:
  names without an account change hands, accounts do not.  It shares the room messages' ids,
  order and bounds, so ``after`` recovers both in order.
- Who sees what: every question takes the asker's ``account`` (None: none).  Without one it sees
  the room messages only, never a direct message; with one, the room messages and the direct
  messages whose sender or recipient account it is; with ``with_peer`` too, only the direct
  messages between those two accounts (IRC's CHATHISTORY of a nick).  An id the asker cannot
  see is, to it, an id this history does not know.
- A batch of texts stamped once (several ``MSG`` of one read) keeps one entry per text: the first
  with the stamp's id, the k-th after it ``<id>.<k>`` (the ids IRC shows for them).
- Lookups answer with the entries and how complete they are (``Answer.state``): ``complete``,
  everything asked for; ``more``, the count cut it (ask again from its last, or first, id);
  ``partial``, some of what was asked for is gone (older than what is kept, or an id this history
  does not know, such as one from before a restart).
- IRC's CHATHISTORY asks by time and by place too (``span``, ``place_at``: a binary search by
  time; ``visible_place``, ``between_places``: the same viewer's filter as the questions).
- Cost: an id costs a dict look-up; a lookup then walks the kept entries from there to the end of
  its answer: the entries returned (and one more, to tell ``more``), plus the direct messages of
  others it passes over, so at most every entry kept (``lines``).  While no direct message is kept
  nothing is passed over.  Memory never grows past the bounds.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Literal, NamedTuple

from algokart_chat.events import MessageId, Said, Told, text_id

State = Literal["complete", "more", "partial"]
# A kept message as a plain tuple: a ``Kept``'s first six fields, its size, and for a direct
# message its recipient and the two accounts (made on the path of every broadcast, so no object
# is built for it until a question is asked).
Record = (
    tuple[MessageId, float, str, str | None, str | None, str | None, int]
    | tuple[MessageId, float, str, str | None, str | None, str | None, int, str, str, str]
)


class Kept(NamedTuple):
    """One message kept: its id, when the room accepted it (seconds since the epoch, UTC), who
    said it, its plain text (None: an IRC CTCP request that means nothing outside IRC) and, when
    said over IRC, its IRC form and command (PRIVMSG or NOTICE).  A direct message has its
    recipient's name (``to``) and the accounts of its sender and recipient; a room message None."""

    id: MessageId
    at: float
    sender: str
    text: str | None
    raw: str | None = None
    command: str | None = None
    to: str | None = None
    from_account: str | None = None
    to_account: str | None = None


class Partner(NamedTuple):
    """An account someone exchanged direct messages with: the account, the name it had in the
    latest of them, and when that one was accepted (IRC's CHATHISTORY TARGETS)."""

    account: str
    name: str
    at: float


class Answer(NamedTuple):
    entries: list[Kept]
    state: State


def size_of(entry: Kept) -> int:
    """The bytes ``entry`` counts against the size bound (UTF-8 of its strings)."""
    total = 0
    for part in (entry.id, entry.sender, entry.text, entry.raw, entry.to, entry.from_account, entry.to_account):
        if part is not None:
            total += len(part) if part.isascii() else len(part.encode("utf-8"))
    return total


def is_kept_direct(told: Told) -> bool:
    """Whether history keeps ``told`` (history on): stamped, with text, between two accounts."""
    return (
        told.stamp is not None and told.command != "TAGMSG" and told.account is not None and told.to_account is not None
    )


def _kept(record: Record) -> Kept:
    if len(record) == 7:
        return Kept(*record[:6])
    return Kept(*record[:6], *record[7:])


class History:
    """The room's recent messages, oldest first, within ``lines``, ``size`` (bytes) and ``age``
    (seconds); 0 for any of them keeps nothing."""

    __slots__ = (
        "_bytes",
        "_directs",
        "_entries",
        "_first",
        "_index",
        "age",
        "dropped",
        "lines",
        "room_dropped",
        "size",
    )

    def __init__(self, lines: int, size: int, age: float) -> None:
        self.lines, self.size, self.age = lines, size, age
        self._entries: deque[Record] = deque()
        self._index: dict[str, int] = {}  # id -> place: the n-th message ever kept
        self._first = 0  # the place of the oldest kept
        self._bytes = 0
        self._directs = 0  # direct messages kept now
        self.dropped = 0  # messages let go so far (by a bound), direct ones included
        self.room_dropped = 0  # room messages let go so far

    @property
    def on(self) -> bool:
        return self.lines > 0 and self.size > 0 and self.age > 0

    def __len__(self) -> int:
        return len(self._entries)

    def newest(self) -> Kept | None:
        """The newest message kept, if any."""
        return _kept(self._entries[-1]) if self._entries else None

    @property
    def kept_bytes(self) -> int:
        return self._bytes

    def add(self, entry: Kept) -> None:
        """Keep ``entry`` (the newest), then let go of whatever is over a bound.  A direct message
        (``entry.to``) is kept only with both its accounts."""
        if not self.on:
            return
        if entry.to is None:
            self._keep([(*entry[:6], size_of(entry))], entry.at)
        elif entry.from_account is not None and entry.to_account is not None:
            self._keep([(*entry[:6], size_of(entry), entry.to, entry.from_account, entry.to_account)], entry.at)

    def add_said(self, event: Said) -> None:
        """Keep each text of a stamped ``Said`` (a TAGMSG, with no text, is not a message)."""
        stamp = event.stamp
        if stamp is None or event.command == "TAGMSG" or not self.on:
            return
        raws, sender, command, at = event.raws, event.sender, event.command, stamp.accepted_at
        named = len(sender) if sender.isascii() else len(sender.encode("utf-8"))
        records: list[Record] = []
        for k, text in enumerate(event.texts):
            entry_id = text_id(stamp.id, k)
            raw = raws[k] if raws is not None and k < len(raws) else None
            size = named + len(entry_id)
            if text is not None:
                size += len(text) if text.isascii() else len(text.encode("utf-8"))
            if raw is not None:
                size += len(raw) if raw.isascii() else len(raw.encode("utf-8"))
            records.append((entry_id, at, sender, text, raw, command, size))
        self._keep(records, at)

    def add_told(self, event: Told, to: str) -> bool:
        """Keep a stamped direct message to ``to`` if it is between two accounts
        (``is_kept_direct``); whether it was."""
        if not self.on or not is_kept_direct(event):
            return False
        assert event.stamp is not None and event.account is not None and event.to_account is not None
        stamp = event.stamp
        self.add(
            Kept(stamp.id, stamp.accepted_at, event.sender, event.text, event.raw, event.command)._replace(
                to=to, from_account=event.account, to_account=event.to_account
            )
        )
        return True

    def _keep(self, records: list[Record], at: float) -> None:
        """Keep ``records`` (the newest, accepted at ``at``), then let go of what is over a bound."""
        entries, index = self._entries, self._index
        for record in records:
            if record[6] > self.size:
                self._count_drop(record)
                continue
            index[record[0]] = self._first + len(entries)
            entries.append(record)
            self._bytes += record[6]
            if len(record) > 7:
                self._directs += 1
        while len(entries) > self.lines or self._bytes > self.size:
            self._drop_oldest()
        if entries and entries[0][1] < at - self.age:
            self.trim(at)

    def trim(self, now: float) -> None:
        """Let go of the messages older than ``age`` at ``now``."""
        oldest = now - self.age
        while self._entries and self._entries[0][1] < oldest:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        record = self._entries.popleft()
        self._bytes -= record[6]
        self._first += 1
        if len(record) > 7:
            self._directs -= 1
        self._count_drop(record)
        if self._index.get(record[0]) == self._first - 1:
            del self._index[record[0]]

    def _count_drop(self, record: Record) -> None:
        self.dropped += 1
        if len(record) == 7:
            self.room_dropped += 1

    def place(self, entry_id: str) -> int | None:
        """Where ``entry_id`` is (the n-th message ever kept), if it is still kept."""
        return self._index.get(entry_id)

    @property
    def _end(self) -> int:
        return self._first + len(self._entries)

    # --- who sees what ----------------------------------------------------------------------------
    def _seen(self, account: str | None, peer: str | None) -> Callable[[Record], bool] | None:
        """What the asker sees of the kept records; None: every one of them (nothing to skip)."""
        if account is None or peer is None:
            if not self._directs:
                return None
            if account is None:
                return _is_room_message
            return lambda record: len(record) == 7 or record[8] == account or record[9] == account
        pair = {account, peer}
        return lambda record: len(record) > 7 and {record[8], record[9]} == pair

    def _visible_place(self, entry_id: str, seen: Callable[[Record], bool] | None) -> int | None:
        """Where ``entry_id`` is, if it is kept and the asker sees it."""
        where = self._index.get(entry_id)
        if where is None or seen is None or seen(self._entries[where - self._first]):
            return where
        return None

    def _forward(
        self, start: int, stop: int, count: int, seen: Callable[[Record], bool] | None
    ) -> tuple[list[Kept], bool]:
        """Up to ``count`` records the asker sees from place ``start`` up to ``stop``, oldest first,
        and whether more of them lie after those before ``stop``."""
        low, high = max(start - self._first, 0), min(stop - self._first, len(self._entries))
        if low >= high or count <= 0:
            return [], low < high and (seen is None or any(map(seen, islice(self._entries, low, high))))
        found: list[Kept] = []
        for record in islice(self._entries, low, high):
            if seen is None or seen(record):
                if len(found) == count:
                    return found, True
                found.append(_kept(record))
        return found, False

    def _backward(
        self, stop: int, count: int, seen: Callable[[Record], bool] | None, start: int = 0
    ) -> tuple[list[Kept], bool]:
        """Up to ``count`` records the asker sees just before place ``stop`` (and from ``start``
        on), oldest first, and whether older ones it sees are kept there."""
        kept = len(self._entries)
        skip = kept - min(max(stop - self._first, 0), kept)
        found: list[Kept] = []
        for record in islice(reversed(self._entries), skip, max(kept - max(start - self._first, 0), skip)):
            if seen is None or seen(record):
                if len(found) == count:
                    found.reverse()
                    return found, True
                found.append(_kept(record))
        found.reverse()
        return found, False

    def _lost(self, account: str | None) -> bool:
        """Whether messages the asker might have seen were let go."""
        return bool(self.room_dropped if account is None else self.dropped)

    # --- the questions --------------------------------------------------------------------------
    # Each takes the asker's ``account`` (None: the room messages only) and ``with_peer`` (only the
    # direct messages between ``account`` and that account): see the module docstring.
    def latest(self, count: int, now: float, *, account: str | None = None, with_peer: str | None = None) -> Answer:
        """The last ``count`` messages: ``more`` when older ones are kept, ``partial`` when older
        ones were let go."""
        self.trim(now)
        entries, more = self._backward(self._end, count, self._seen(account, with_peer))
        if more:
            return Answer(entries, "more")
        return Answer(entries, "partial" if self._lost(account) else "complete")

    def after(
        self,
        entry_id: str,
        count: int,
        now: float,
        until: str | None = None,
        *,
        account: str | None = None,
        with_peer: str | None = None,
    ) -> Answer:
        """Every message after ``entry_id`` and before ``until`` (the first one the asker got live),
        oldest first, at most ``count``: ``more`` when the count cut it, ``partial`` when
        ``entry_id`` is not kept (what came after it may be gone: everything kept is returned, from
        the oldest).  An ``until`` no longer kept means every message kept came after it, so the
        asker has them all: nothing is returned, ``partial``."""
        self.trim(now)
        seen = self._seen(account, with_peer)
        end = self._end
        if until is not None:
            stop = self.place(until)
            if stop is None:
                return Answer([], "partial")
            end = stop
        start = self._visible_place(entry_id, seen)
        first = start + 1 if start is not None else self._first
        entries, more = self._forward(first, end, count, seen)
        if more:
            return Answer(entries, "more")
        return Answer(entries, "complete" if start is not None else "partial")

    def before(
        self, entry_id: str, count: int, now: float, *, account: str | None = None, with_peer: str | None = None
    ) -> Answer:
        """The ``count`` messages just before ``entry_id``, oldest first (IRC's BEFORE)."""
        self.trim(now)
        seen = self._seen(account, with_peer)
        stop = self._visible_place(entry_id, seen)
        if stop is None:
            return Answer([], "partial")
        entries, more = self._backward(stop, count, seen)
        return Answer(entries, "more" if more else "complete")

    def around(
        self, entry_id: str, count: int, now: float, *, account: str | None = None, with_peer: str | None = None
    ) -> Answer:
        """About ``count`` messages centred on ``entry_id`` (it included), oldest first (IRC's AROUND)."""
        self.trim(now)
        seen = self._seen(account, with_peer)
        middle = self._visible_place(entry_id, seen)
        if middle is None:
            return Answer([], "partial")
        earlier, _ = self._backward(middle, (count - 1) // 2, seen)
        later, _ = self._forward(middle, self._end, max(count, 1) - len(earlier), seen)
        return Answer(earlier + later, "complete")

    def between(
        self, low: str, high: str, count: int, now: float, *, account: str | None = None, with_peer: str | None = None
    ) -> Answer:
        """Messages strictly between two ids (either order), oldest first, at most ``count`` (IRC's BETWEEN)."""
        self.trim(now)
        seen = self._seen(account, with_peer)
        first, last = self._visible_place(low, seen), self._visible_place(high, seen)
        if first is None or last is None:
            return Answer([], "partial")
        first, last = min(first, last), max(first, last)
        entries, more = self._forward(first + 1, last, count, seen)
        return Answer(entries, "more" if more else "complete")

    # --- by place and time, for questions asked in other terms (IRC's CHATHISTORY) ----------------
    @property
    def span(self) -> tuple[int, int]:
        """The places of the oldest kept and just after the newest (equal: nothing kept)."""
        return self._first, self._end

    def place_at(self, milliseconds: int, *, after: bool) -> int:
        """The place of the first kept message accepted after ``milliseconds`` since the epoch
        (``after``), or at or after it: times compared to the millisecond, as IRC shows them.
        (Kept in the order accepted; a clock stepped back makes this the first such in that order.)"""
        search = bisect_right if after else bisect_left
        return self._first + search(self._entries, milliseconds, key=_milliseconds)

    def visible_place(self, entry_id: str, *, account: str | None = None, with_peer: str | None = None) -> int | None:
        """Where ``entry_id`` is, if it is kept and the asker sees it."""
        return self._visible_place(entry_id, self._seen(account, with_peer))

    def between_places(
        self,
        start: int,
        stop: int,
        count: int,
        *,
        newest: bool = False,
        account: str | None = None,
        with_peer: str | None = None,
    ) -> list[Kept]:
        """Up to ``count`` messages the asker sees from place ``start`` up to, not including,
        ``stop``, oldest first: the oldest of them there, or with ``newest`` the newest."""
        seen = self._seen(account, with_peer)
        if newest:
            return self._backward(stop, count, seen, start)[0]
        return self._forward(start, stop, count, seen)[0]

    def partners(self, account: str, now: float) -> list[Partner]:
        """The accounts ``account`` exchanged direct messages with, in what is kept, the latest
        first, each once (IRC's CHATHISTORY TARGETS).  Walks every entry kept."""
        self.trim(now)
        if not self._directs:
            return []
        found: dict[str, Partner] = {}
        for record in reversed(self._entries):
            if len(record) > 7:
                if record[8] == account and record[9] not in found:
                    found[record[9]] = Partner(record[9], record[7], record[1])
                elif record[9] == account and record[8] not in found:
                    found[record[8]] = Partner(record[8], record[2], record[1])
        return list(found.values())

    def entries(self) -> Iterable[Kept]:
        """Every entry kept, direct messages included, oldest first (for tests and figures)."""
        return map(_kept, self._entries)


def _milliseconds(record: Record) -> int:
    return round(record[1] * 1000)


def _is_room_message(record: Record) -> bool:
    return len(record) == 7
