"""How the room's history is stored: its recent messages (``events.Said``) and the direct
messages between two accounts (``events.Told``), in the order the room accepted them, each with
the id and time of its stamp (``events.Stamp``), within bounds, by place.  Pure code: values in
(with the time passed in), values out; no clock, socket or global state.  ``history.History``
asks the questions of it.

What it owns: ``Records``, the records kept and let go, and ``Kept``, one message as a value.

Plan and guarantees:
- Bounded three ways, whichever is reached first: ``lines`` messages, ``size`` bytes (a message
  counts its id, sender and text, and its IRC form when it has one; a direct message its recipient
  and both accounts too; the bookkeeping around them is a few fixed-size objects per record, so
  bounded by ``lines``) and ``age`` seconds.  The oldest go first, text by text.  Any bound at 0
  turns history off: nothing is kept.  A message bigger than ``size`` is never kept.
- A direct message is kept only when both its sender and its recipient were logged in to an
  account when the room accepted it (``Told.account``, ``Told.to_account``), with both accounts:
  names without an account change hands, accounts do not.  It shares the room messages' ids,
  order and bounds.
- A batch of texts stamped once (several ``MSG`` of one read) is one record holding the event's
  own lists: nothing is built per text on the path of a broadcast (a flood's hundreds of texts a
  read cost a few ``len`` of joined strings), and ``Kept`` values are made only when asked for.
  It answers for one entry per text: the first with the stamp's id, the k-th after it
  ``<id>.<k>`` (the ids IRC shows for them).  A bound may let go of its first texts only.
- Every message kept has a place (the n-th kept); ``place`` finds an id's by a dict look-up and a
  binary search.  The ids of the last records let go, as many as are kept (at least
  ``LET_GO_LEAST``), are remembered with their places and counts of texts, so ``lost_after`` can
  say how many messages an asker would have seen were let go after one of them, or None when it
  cannot: from places (dict look-ups), less the direct messages let go between the two that the
  asker does not see (a binary search; with an account, a walk over those).
- A direct message is let go whole; a room batch may be cut, its first texts let go, only while
  some of its texts stay.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterator, Sequence
from itertools import islice
from operator import itemgetter
from typing import Final, NamedTuple, cast

from algokart_chat.events import MessageId, Said, Told, text_id

LET_GO_LEAST: Final = 16  # records let go whose places are remembered, at the least
SUFFIX_DIGITS: Final = 9  # the digits of an id's ``.<k>`` at most (a batch holds fewer texts)
# A record, made once per stamped batch (a direct message: one text, and its recipient and the two
# accounts): id, time, sender, texts, raws, command, place of its first text, size, all ASCII.
Record = (
    tuple[MessageId, float, str, Sequence[str | None], Sequence[str] | None, str | None, int, int, bool]
    | tuple[
        MessageId, float, str, Sequence[str | None], Sequence[str] | None, str | None, int, int, bool, str, str, str
    ]
)
START: Final = 6
_SIZE: Final = 7
_ROOM: Final = 9  # a room record's length
_start_of = itemgetter(START)
_place_of = itemgetter(0)  # (of a direct message let go)
_COUNT_BITS: Final = 32  # a record let go: its place and count of texts in one int (place << 32 | count)
_COUNT_MASK: Final = (1 << _COUNT_BITS) - 1


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


def _utf8(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _suffixes(count: int) -> int:
    """The bytes of the ``.<k>`` that ``text_id`` adds to the ids of texts 0 .. ``count`` - 1."""
    total, low, width = 0, 1, 1
    while low < count:
        high = min(count, low * 10)
        total += (high - low) * (width + 1)
        low, width = high, width + 1
    return total


def _part_size(record: Record, low: int, high: int) -> int:
    """The bytes texts ``low`` .. ``high`` - 1 of ``record`` count (``size_of`` each)."""
    texts, raws = record[3], record[4]
    size = (high - low) * (_utf8(record[2]) + _utf8(record[0])) + _suffixes(high) - _suffixes(low)
    if len(record) > 9 and low == 0 and high == len(texts):  # (a direct message's fields: once, with it whole)
        size += sum(map(_utf8, record[9:]))
    if record[8]:  # (all ASCII: C loops)
        size += sum(map(len, cast("Sequence[str]", texts)[low:high]))
        return size + (sum(map(len, raws[low:high])) if raws is not None else 0)
    size += sum(_utf8(text) for text in texts[low:high] if text is not None)
    return size + (sum(map(_utf8, raws[low:high])) if raws is not None else 0)


def split_suffix(entry_id: str) -> tuple[str, int] | None:
    """``<id>.<k>`` as its stamp's id and k (ASCII digits, no leading 0, at most ``SUFFIX_DIGITS``:
    a longer k names no text kept, and is never read whole), or None."""
    base, dot, k = entry_id.rpartition(".")
    if dot and 0 < len(k) <= SUFFIX_DIGITS and k.isascii() and k.isdigit() and k[0] != "0":
        return base, int(k)
    return None


def kept_text(record: Record, k: int) -> Kept:
    raws = record[4]
    raw = raws[k] if raws is not None and k < len(raws) else None
    entry = Kept(text_id(record[0], k), record[1], record[2], record[3][k], raw, record[5])
    if len(record) == 9:
        return entry
    to, from_account, to_account = cast("tuple[str, str, str]", record[9:])
    return entry._replace(to=to, from_account=from_account, to_account=to_account)


class Records:
    """The room's recent messages, oldest first, within ``lines``, ``size`` (bytes) and ``age``
    (seconds); 0 for any of them keeps nothing."""

    __slots__ = (
        "_bytes", "_directs", "_first", "_gap", "_index", "_let_go", "_let_go_directs", "_let_go_places", "_next", "_records",
        "_skip", "_skip_bytes", "age", "dropped", "lines", "room_dropped", "size",
    )  # fmt: skip

    def __init__(self, lines: int, size: int, age: float) -> None:
        self.lines, self.size, self.age = lines, size, age
        self._records: deque[Record] = deque()  # oldest first; places increase along it
        self._index: dict[str, int] = {}  # a kept record's id -> the place of its first text
        # The last records let go (as many as are kept, at least LET_GO_LEAST), oldest first; by id,
        # the place of its first text and its count of texts in one int (~70 bytes a record in all);
        # the direct ones' places and accounts, in order.
        self._let_go: deque[MessageId] = deque()
        self._let_go_places: dict[str, int] = {}
        self._let_go_directs: deque[tuple[int, str, str]] = deque()
        self._first = 0  # the place of the oldest text kept
        self._next = 0  # the place of the next text kept
        self._skip = self._skip_bytes = 0  # texts (and bytes) of the oldest record let go already
        self._gap = 0  # where messages may be missing (``mark_gap``)
        self._bytes = 0
        self._directs = 0  # direct messages kept now
        self.dropped = 0  # messages let go so far (by a bound), direct ones included
        self.room_dropped = 0  # room messages let go so far

    @property
    def on(self) -> bool:
        return self.lines > 0 and self.size > 0 and self.age > 0

    def __len__(self) -> int:
        return self._next - self._first

    def newest(self) -> Kept | None:
        """The newest message kept, if any."""
        return kept_text(self._records[-1], len(self._records[-1][3]) - 1) if self._records else None

    @property
    def kept_bytes(self) -> int:
        return self._bytes

    def add(self, entry: Kept) -> None:
        """Keep ``entry`` (the newest), then let go of whatever is over a bound.  A direct message
        (``entry.to``) is kept only with both its accounts."""
        if not self.on or (entry.to is not None and (entry.from_account is None or entry.to_account is None)):
            return
        size = size_of(entry)
        if size > self.size:
            self.dropped += 1
            self.room_dropped += entry.to is None
            return
        raws = (entry.raw,) if entry.raw is not None else None
        record = (entry.id, entry.at, entry.sender, (entry.text,), raws, entry.command, self._next, size, False)
        self._keep(record if entry.to is None else (*record, *cast("tuple[str, str, str]", entry[6:])))

    def add_said(self, event: Said) -> None:
        """Keep each text of a stamped ``Said`` (a TAGMSG, with no text, is not a message)."""
        stamp = event.stamp
        if stamp is None or event.command == "TAGMSG" or not self.on or not event.texts:
            return
        texts, raws, count, sender = event.texts, event.raws, len(event.texts), event.sender
        if None in texts:
            plain, size = False, sum(_utf8(text) for text in texts if text is not None)
        else:
            strings = cast("Sequence[str]", texts)
            joined = strings[0] if count == 1 else "".join(strings)
            plain = joined.isascii()
            size = len(joined) if plain else len(joined.encode("utf-8"))
        if raws is not None:
            raws = raws[:count] if len(raws) > count else raws
            joined = "".join(raws)
            plain, size = plain and joined.isascii(), size + _utf8(joined)
        size += count * (_utf8(sender) + len(stamp.id)) + (_suffixes(count) if count > 1 else 0)
        if size <= self.size:
            self._keep((stamp.id, stamp.accepted_at, sender, texts, raws, event.command, self._next, size, plain))
            return
        for k, text in enumerate(texts):  # (over the byte bound as a whole: text by text)
            raw = raws[k] if raws is not None and k < len(raws) else None
            self.add(Kept(text_id(stamp.id, k), stamp.accepted_at, sender, text, raw, event.command))

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

    def _keep(self, record: Record) -> None:
        """Keep ``record`` (the newest), then let go of what is over a bound."""
        records = self._records
        self._index[record[0]] = self._next
        records.append(record)
        self._next += len(record[3])
        self._bytes += record[_SIZE]
        self._directs += len(record) > 9
        while self._next - self._first > self.lines or self._bytes > self.size:
            oldest = records[0]
            left, excess_lines = len(oldest[3]) - self._skip, self._next - self._first - self.lines
            excess_bytes = self._bytes - self.size
            if excess_lines >= left or excess_bytes >= oldest[_SIZE] - self._skip_bytes or len(oldest) > 9:
                self._drop_oldest()  # (a direct message is one text: let go whole)
                continue
            count = max(excess_lines, 0)  # (a room batch: let go of its first texts only)
            part = _part_size(oldest, self._skip, self._skip + count)
            while part < excess_bytes:
                part += _part_size(oldest, self._skip + count, self._skip + count + 1)
                count += 1
            if count >= left:  # (the cut would reach all its texts)
                self._drop_oldest()
                continue
            self._skip, self._skip_bytes, self._first = self._skip + count, self._skip_bytes + part, self._first + count
            self._bytes -= part
            self.dropped += count
            self.room_dropped += count
        if records[0][1] < record[1] - self.age:
            self.trim(record[1])

    def trim(self, now: float) -> None:
        """Let go of the messages older than ``age`` at ``now``."""
        oldest = now - self.age
        while self._records and self._records[0][1] < oldest:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        record = self._records.popleft()
        count = len(record[3]) - self._skip
        self._bytes -= record[_SIZE] - self._skip_bytes
        self._first += count
        self.dropped += count
        direct = len(record) > 9
        self._directs -= direct
        self.room_dropped += 0 if direct else count
        self._skip = self._skip_bytes = 0
        if self._index.get(record[0]) == record[START]:
            del self._index[record[0]]
        let_go, places, directs = self._let_go, self._let_go_places, self._let_go_directs
        let_go.append(record[0])
        places[record[0]] = record[START] << _COUNT_BITS | len(record[3])
        if direct:
            directs.append((record[START], *cast("tuple[str, str]", record[10:])))
        while len(let_go) > max(len(self._records), LET_GO_LEAST):
            gone = let_go.popleft()
            oldest = places[let_go[0]] >> _COUNT_BITS if let_go else self._next
            if places[gone] >> _COUNT_BITS < oldest:  # (not a later record with the same id)
                del places[gone]
            while directs and directs[0][0] < oldest:
                directs.popleft()

    # --- places ---------------------------------------------------------------------------------
    def _indexed(self, entry_id: str) -> int | None:
        """Where ``entry_id`` is by the index of the kept records (a text of a record kept, maybe
        one of the first texts of the oldest, already let go)."""
        where = self._index.get(entry_id)
        if where is not None:
            return where
        suffix = split_suffix(entry_id)
        if suffix is None or (start := self._index.get(suffix[0])) is None:
            return None
        return start + suffix[1] if suffix[1] < len(self._at(start)[0][3]) else None

    def _at(self, place: int) -> tuple[Record, int]:
        """The kept record holding place ``place``, and which of its texts it is."""
        record = self._records[bisect_right(self._records, place, key=_start_of) - 1]
        return record, place - record[START]

    def place(self, entry_id: str) -> int | None:
        """Where ``entry_id`` is (the n-th message ever kept), if it is still kept."""
        where = self._indexed(entry_id)
        return where if where is not None and where >= self._first else None

    def _walk(self, start: int, stop: int, backward: bool = False) -> Iterator[tuple[Record, int]]:
        """(record, text) of every text kept from place ``start`` up to ``stop``, oldest first (or
        newest first)."""
        start, stop = max(start, self._first), min(stop, self._next)
        if start >= stop:
            return
        records = self._records
        if not backward:
            for record in islice(records, bisect_right(records, start, key=_start_of) - 1, None):
                base = record[START]
                if base >= stop:
                    return
                for k in range(max(start - base, 0), min(len(record[3]), stop - base)):
                    yield record, k
            return
        last = bisect_right(records, stop - 1, key=_start_of) - 1
        for record in islice(reversed(records), len(records) - 1 - last, None):
            base = record[START]
            for k in range(min(len(record[3]), stop - base) - 1, max(start - base, 0) - 1, -1):
                yield record, k
            if base <= start:
                return

    def mark_gap(self) -> None:
        """Messages may be missing between those kept so far and the next (a cluster node that
        rejoins): ``lost_after`` says None rather than count across this point."""
        self._gap = self._next

    def had(self, entry_id: str) -> bool:
        """Whether ``entry_id`` is kept, or was and is among the last let go: not one never kept."""
        if self._indexed(entry_id) is not None or entry_id in self._let_go_places:
            return True
        suffix = split_suffix(entry_id)
        return suffix is not None and suffix[1] < self._let_go_places.get(suffix[0], 0) & _COUNT_MASK

    def _stood(self, entry_id: str, account: str | None) -> int | None:
        """Where ``entry_id`` is, or stood if among the last let go, if the asker (``account``)
        sees it (a direct message: one of its two accounts).  Dict look-ups."""
        where = self._indexed(entry_id)
        if where is not None:
            record = self._at(where)[0]
            return where if len(record) == 9 or account in record[10:] else None
        packed, k = self._let_go_places.get(entry_id), 0
        if packed is None and (suffix := split_suffix(entry_id)) is not None:
            packed, k = self._let_go_places.get(suffix[0]), suffix[1]
        if packed is None or k >= packed & _COUNT_MASK:
            return None
        start, directs = packed >> _COUNT_BITS, self._let_go_directs
        found = bisect_left(directs, start, key=_place_of)  # (a direct message: its accounts)
        if found < len(directs) and directs[found][0] == start and account not in directs[found][1:]:
            return None
        return start + k

    def lost_after(self, entry_id: str, until: str | None = None, *, account: str | None = None) -> int | None:
        """How many messages the asker (``account``) would see were let go after ``entry_id`` (and
        before ``until``, the first it got live): None when this history cannot tell (an id it
        never kept, from before a restart, let go before the last as many records as are kept, or
        across a ``mark_gap``).  Counted from places: every place between the two was let go, less
        the direct messages of others among them: a binary search, and for an asker with an account
        a walk over the direct messages let go between the two (none while no direct message is
        let go; at most as many as are kept)."""
        start, end = self._stood(entry_id, account), self._first
        if until is not None:
            stop = self._stood(until, account)
            end = min(end, stop) if stop is not None else -1
        if start is None or end < 0 or start < self._gap <= end:
            return None
        if end <= start + 1:
            return 0
        directs = self._let_go_directs
        low, high = bisect_right(directs, start, key=_place_of), bisect_left(directs, end, key=_place_of)
        if account is None:
            hidden = high - low
        else:
            size = len(directs)  # (from the nearer end: islice skips in C, but one by one)
            between = (
                islice(directs, low, high) if low < size - high else islice(reversed(directs), size - high, size - low)
            )
            hidden = sum(account not in direct[1:] for direct in between)
        return end - start - 1 - hidden
