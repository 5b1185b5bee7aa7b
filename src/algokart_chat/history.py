"""The room's history and the questions asked of it (``Records`` keeps it: see history_records
for its bounds, its direct messages and its places).  Pure code: values in (with the time passed
in), values out; no clock, socket or global state.

What it owns: ``History``, the questions of the line protocol's ``HISTORY`` and IRC's
``CHATHISTORY``, and their answers (``Answer``, ``Partner``).

Plan and guarantees:
- Who sees what: every question takes the asker's ``account`` (None: none).  Without one it sees
  the room messages only, never a direct message; with one, the room messages and the direct
  messages whose sender or recipient account it is; with ``with_peer`` too, only the direct
  messages between those two accounts (IRC's CHATHISTORY of a nick).  An id the asker cannot
  see is, to it, an id this history does not know.
- Lookups answer with the entries and how complete they are (``Answer.state``): ``complete``,
  everything asked for; ``more``, the count cut it (ask again from its last, or first, id);
  ``partial``, some of what was asked for is gone (older than what is kept, or an id this history
  does not know, such as one from before a restart).
- IRC's CHATHISTORY asks by time and by place too (``span``, ``place_at``: a binary search by
  time; ``visible_place``, ``between_places``: the same viewer's filter as the questions).
- Cost: an id costs a dict look-up and a binary search; a lookup then walks the kept entries from
  there to the end of its answer: the entries returned (and one more, to tell ``more``), plus the
  direct messages of others it passes over, so at most every entry kept (``lines``).  While no
  direct message is kept nothing is passed over.  A walk forward first skips the records before
  its start in C (``islice`` over the deque: O(records before it), ~5 ns each, half a millisecond
  at 100,000); a walk backward skips those after its end the same way.
  Memory never grows past the bounds.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from typing import Literal, NamedTuple, cast

from algokart_chat.history_records import (
    LET_GO_LEAST,
    START,
    Kept,
    Record,
    Records,
    is_kept_direct,
    kept_text,
    size_of,
)

__all__ = ["LET_GO_LEAST", "Answer", "History", "Kept", "Partner", "State", "is_kept_direct", "size_of"]

State = Literal["complete", "more", "partial"]


class Partner(NamedTuple):
    """An account someone exchanged direct messages with: the account, the name it had in the
    latest of them, and when that one was accepted (IRC's CHATHISTORY TARGETS)."""

    account: str
    name: str
    at: float


class Answer(NamedTuple):
    entries: list[Kept]
    state: State


class History(Records):
    """The room's recent messages (``Records``) and the questions asked of them."""

    __slots__ = ()

    # --- who sees what ----------------------------------------------------------------------------
    def _seen(self, account: str | None, peer: str | None) -> Callable[[Record], bool] | None:
        """What the asker sees of the kept records; None: every one of them (nothing to skip)."""
        if account is None or peer is None:
            if not self._directs:
                return None
            if account is None:
                return _is_room_message
            return lambda record: len(record) == 9 or account in record[10:]
        pair = {account, peer}
        return lambda record: len(record) > 9 and set(record[10:]) == pair

    def _visible_place(self, entry_id: str, seen: Callable[[Record], bool] | None) -> int | None:
        """Where ``entry_id`` is, if it is kept and the asker sees it."""
        where = self.place(entry_id)
        return where if where is None or seen is None or seen(self._at(where)[0]) else None

    def _forward(
        self, start: int, stop: int, count: int, seen: Callable[[Record], bool] | None
    ) -> tuple[list[Kept], bool]:
        """Up to ``count`` records the asker sees from place ``start`` up to ``stop``, oldest first,
        and whether more of them lie after those before ``stop``."""
        found: list[Kept] = []
        for record, k in self._walk(start, stop):
            if seen is None or seen(record):
                if len(found) >= count:
                    return found, True
                found.append(kept_text(record, k))
        return found, False

    def _backward(
        self, stop: int, count: int, seen: Callable[[Record], bool] | None, start: int = 0
    ) -> tuple[list[Kept], bool]:
        """Up to ``count`` records the asker sees just before place ``stop`` (and from ``start``
        on), oldest first, and whether older ones it sees are kept there."""
        found: list[Kept] = []
        for record, k in self._walk(start, stop, backward=True):
            if seen is None or seen(record):
                if len(found) >= count:
                    found.reverse()
                    return found, True
                found.append(kept_text(record, k))
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
        entries, more = self._backward(self._next, count, self._seen(account, with_peer))
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
        end = self._next
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
        later, _ = self._forward(middle, self._next, max(count, 1) - len(earlier), seen)
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
        return self._first, self._next

    def place_at(self, milliseconds: int, *, after: bool) -> int:
        """The place of the first kept message accepted after ``milliseconds`` since the epoch
        (``after``), or at or after it: times compared to the millisecond, as IRC shows them.
        (Kept in the order accepted; a clock stepped back makes this the first such in that order.)"""
        search = bisect_right if after else bisect_left
        found = search(self._records, milliseconds, key=_milliseconds)
        return max(self._records[found][START], self._first) if found < len(self._records) else self._next

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
        for record in reversed(self._records):
            if len(record) > 9:
                to, sender_account, to_account = cast("tuple[str, str, str]", record[9:])
                if sender_account == account and to_account not in found:
                    found[to_account] = Partner(to_account, to, record[1])
                elif to_account == account and sender_account not in found:
                    found[sender_account] = Partner(sender_account, record[2], record[1])
        return list(found.values())

    def entries(self) -> Iterable[Kept]:
        """Every entry kept, direct messages included, oldest first (for tests and figures)."""
        return [kept_text(record, k) for record, k in self._walk(self._first, self._next)]


def _milliseconds(record: Record) -> int:
    return round(record[1] * 1000)


def _is_room_message(record: Record) -> bool:
    return len(record) == 9
