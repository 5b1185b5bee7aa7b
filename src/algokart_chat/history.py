"""The room's recent messages, kept within bounds, and the questions asked of them.  Pure code:
values in (with the time passed in), values out; no clock, socket or global state.

What it owns: ``History``, the room's last messages (``events.Said``, one ``Kept`` per text) in
the order the room accepted them, each with the id and time of its stamp (``events.Stamp``).

Plan and guarantees:
- Bounded three ways, whichever is reached first: ``lines`` messages, ``size`` bytes (a message
  counts its id, sender and text, and its IRC form when it has one; the bookkeeping around them is
  a few fixed-size objects per message, so bounded by ``lines``) and ``age`` seconds.  The oldest
  go first.  Any bound at 0 turns history off: nothing is kept.
- A batch of texts stamped once (several ``MSG`` of one read) keeps one entry per text: the first
  with the stamp's id, the k-th after it ``<id>.<k>`` (the ids IRC shows for them).
- Lookups answer with the entries and how complete they are (``Answer.state``): ``complete``,
  everything asked for; ``more``, the count cut it (ask again from its last, or first, id);
  ``partial``, some of what was asked for is gone (older than what is kept, or an id this history
  does not know, such as one from before a restart).
- Lookups by id cost a dict look-up plus the entries returned; memory never grows past the bounds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import islice
from typing import Literal, NamedTuple

from algokart_chat.events import MessageId, Said, text_id

State = Literal["complete", "more", "partial"]


class Kept(NamedTuple):
    """One message kept: its id, when the room accepted it (seconds since the epoch, UTC), who
    said it, its plain text (None: an IRC CTCP request that means nothing outside IRC) and, when
    said over IRC, its IRC form and command (PRIVMSG or NOTICE)."""

    id: MessageId
    at: float
    sender: str
    text: str | None
    raw: str | None = None
    command: str | None = None


class Answer(NamedTuple):
    entries: list[Kept]
    state: State


def size_of(entry: Kept) -> int:
    """The bytes ``entry`` counts against the size bound (UTF-8 of its strings)."""
    total = 0
    for part in (entry.id, entry.sender, entry.text, entry.raw):
        if part is not None:
            total += len(part) if part.isascii() else len(part.encode("utf-8"))
    return total


class History:
    """The room's recent messages, oldest first, within ``lines``, ``size`` (bytes) and ``age``
    (seconds); 0 for any of them keeps nothing."""

    __slots__ = ("_bytes", "_entries", "_first", "_index", "age", "dropped", "lines", "size")

    def __init__(self, lines: int, size: int, age: float) -> None:
        self.lines, self.size, self.age = lines, size, age
        # Each kept message as a plain tuple (a ``Kept``'s fields, then its size): made on the path
        # of every broadcast, so no object is built for it until a question is asked.
        self._entries: deque[tuple[MessageId, float, str, str | None, str | None, str | None, int]] = deque()
        self._index: dict[str, int] = {}  # id -> place: the n-th message ever kept
        self._first = 0  # the place of the oldest kept
        self._bytes = 0
        self.dropped = 0  # messages let go so far (by a bound)

    @property
    def on(self) -> bool:
        return self.lines > 0 and self.size > 0 and self.age > 0

    def __len__(self) -> int:
        return len(self._entries)

    def newest(self) -> Kept | None:
        """The newest message kept, if any."""
        return Kept(*self._entries[-1][:6]) if self._entries else None

    @property
    def kept_bytes(self) -> int:
        return self._bytes

    def add(self, entry: Kept) -> None:
        """Keep ``entry`` (the newest), then let go of whatever is over a bound."""
        if self.on:
            self._keep([(*entry, size_of(entry))], entry.at)

    def add_said(self, event: Said) -> None:
        """Keep each text of a stamped ``Said`` (a TAGMSG, with no text, is not a message)."""
        stamp = event.stamp
        if stamp is None or event.command == "TAGMSG" or not self.on:
            return
        raws, sender, command, at = event.raws, event.sender, event.command, stamp.accepted_at
        named = len(sender) if sender.isascii() else len(sender.encode("utf-8"))
        records = []
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

    def _keep(
        self, records: list[tuple[MessageId, float, str, str | None, str | None, str | None, int]], at: float
    ) -> None:
        """Keep ``records`` (the newest, accepted at ``at``), then let go of what is over a bound."""
        entries, index = self._entries, self._index
        for record in records:
            if record[6] > self.size:
                self.dropped += 1
                continue
            index[record[0]] = self._first + len(entries)
            entries.append(record)
            self._bytes += record[6]
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
        self.dropped += 1
        if self._index.get(record[0]) == self._first - 1:
            del self._index[record[0]]

    def _slice(self, start: int, stop: int) -> list[Kept]:
        """Kept entries from place ``start`` up to ``stop`` (places, not indexes)."""
        low, high = max(start - self._first, 0), min(stop - self._first, len(self._entries))
        if low >= high:
            return []
        return [Kept(*record[:6]) for record in islice(self._entries, low, high)]

    def place(self, entry_id: str) -> int | None:
        """Where ``entry_id`` is (the n-th message ever kept), if it is still kept."""
        return self._index.get(entry_id)

    @property
    def _end(self) -> int:
        return self._first + len(self._entries)

    # --- the questions --------------------------------------------------------------------------
    def latest(self, count: int, now: float) -> Answer:
        """The last ``count`` messages: ``more`` when older ones are kept, ``partial`` when older
        ones were let go."""
        self.trim(now)
        end = self._end
        entries = self._slice(end - count, end)
        if len(entries) < len(self._entries):
            return Answer(entries, "more")
        return Answer(entries, "partial" if self.dropped else "complete")

    def after(self, entry_id: str, count: int, now: float, until: str | None = None) -> Answer:
        """Every message after ``entry_id`` and before ``until`` (the first one the asker got live),
        oldest first, at most ``count``: ``more`` when the count cut it, ``partial`` when
        ``entry_id`` is not kept (what came after it may be gone: everything kept is returned, from
        the oldest).  An ``until`` no longer kept means every message kept came after it, so the
        asker has them all: nothing is returned, ``partial``."""
        self.trim(now)
        end = self._end
        if until is not None:
            stop = self.place(until)
            if stop is None:
                return Answer([], "partial")
            end = stop
        start = self.place(entry_id)
        known = start is not None
        first = start + 1 if start is not None else self._first
        entries = self._slice(first, min(end, first + count))
        if first + len(entries) < end:
            return Answer(entries, "more")
        return Answer(entries, "complete" if known else "partial")

    def before(self, entry_id: str, count: int, now: float) -> Answer:
        """The ``count`` messages just before ``entry_id``, oldest first (IRC's BEFORE)."""
        self.trim(now)
        stop = self.place(entry_id)
        if stop is None:
            return Answer([], "partial")
        entries = self._slice(stop - count, stop)
        return Answer(entries, "more" if stop - len(entries) > self._first else "complete")

    def around(self, entry_id: str, count: int, now: float) -> Answer:
        """About ``count`` messages centred on ``entry_id`` (it included), oldest first (IRC's AROUND)."""
        self.trim(now)
        middle = self.place(entry_id)
        if middle is None:
            return Answer([], "partial")
        start = max(middle - (count - 1) // 2, self._first)
        entries = self._slice(start, start + max(count, 1))
        return Answer(entries, "complete")

    def between(self, low: str, high: str, count: int, now: float) -> Answer:
        """Messages strictly between two ids (either order), oldest first, at most ``count`` (IRC's BETWEEN)."""
        self.trim(now)
        first, last = self.place(low), self.place(high)
        if first is None or last is None:
            return Answer([], "partial")
        first, last = min(first, last), max(first, last)
        entries = self._slice(first + 1, min(last, first + 1 + count))
        return Answer(entries, "more" if first + 1 + len(entries) < last else "complete")

    def entries(self) -> Iterable[Kept]:
        return (Kept(*record[:6]) for record in self._entries)
