"""What this node has read of the event stream, and how far every write may trim it.  Pure: no I/O.

Plan.  The stream keeps the last ``window_ms`` of history (by its entries' ids, Redis's clock),
and of that at most ``stream_bytes``.  Every node counts the size of each entry it applies
(its fields plus ``ENTRY_OVERHEAD_BYTES``) in a queue of (id, size), forgetting entries older
than the window or beyond the byte bound; the trim point (``minid``) is then the oldest entry
still counted, or the start of the window, whichever is newer.  Every write trims with
``MINID ~`` to that point.

Guarantees:
- Every node computes the same trim point from the same entries, so whichever node writes, the
  stream stays about the same size.
- The trim point never passes what this node has read (``last_id``) but by the window: an entry
  is forgotten only once newer ones were applied.  ``trimmed_past`` says whether Redis trimmed
  entries this node never read (the stream moved on without it).
- Work per entry is O(1) amortised; memory is one pair per entry in the window.
"""

from __future__ import annotations

import collections

ENTRY_OVERHEAD_BYTES = 64  # what Redis keeps for an entry beyond its fields, about
DEFAULT_STREAM_BYTES = 32 * 1024 * 1024  # --cluster-stream-bytes

EntryNumber = tuple[int, int]  # a stream id's milliseconds and sequence


def entry_number(entry_id: bytes) -> EntryNumber:
    """``b"1700000000000-3"`` as ``(1700000000000, 3)``, to compare ids in stream order."""
    milliseconds, _, sequence = entry_id.partition(b"-")
    return int(milliseconds), int(sequence or 0)


def history_ms(node_timeout: float) -> int:
    """How much history the stream keeps: four node timeouts, and at least ten seconds."""
    return max(4 * round(node_timeout * 1000), 10_000)


class StreamWindow:
    """The id of the last entry read, and the entries the stream keeps by this node's count."""

    __slots__ = ("_kept", "_kept_bytes", "_stream_bytes", "_window_ms", "last_id")

    def __init__(self, window_ms: int, stream_bytes: int = DEFAULT_STREAM_BYTES) -> None:
        self._window_ms, self._stream_bytes = window_ms, stream_bytes
        self._kept: collections.deque[tuple[EntryNumber, int]] = collections.deque()  # (id, size)
        self._kept_bytes = 0
        self.last_id = b"0-0"

    def restart(self, last_id: bytes) -> None:
        """Read on from ``last_id`` (the stream's newest entry when this node joined), counting
        from nothing."""
        self.last_id = last_id
        self._kept.clear()
        self._kept_bytes = 0

    def read(self, entry_id: bytes, entry_fields: dict[bytes, bytes]) -> int:
        """Count an entry read toward the stream's size; its size.  Entries older than the time
        window, or beyond the byte bound, are forgotten: the trim point is the oldest one kept."""
        self.last_id = entry_id
        size = ENTRY_OVERHEAD_BYTES + sum(len(key) + len(value) for key, value in entry_fields.items())
        number = entry_number(entry_id)
        kept = self._kept
        kept.append((number, size))
        self._kept_bytes += size
        oldest_in_window = number[0] - self._window_ms
        while len(kept) > 1 and (self._kept_bytes > self._stream_bytes or kept[0][0][0] < oldest_in_window):
            self._kept_bytes -= kept.popleft()[1]
        return size

    def minid(self) -> str:
        """Trim the stream to the last ``window_ms`` (by the ids this node has read), and to the
        newest ``stream_bytes`` of it, whichever keeps less."""
        by_time = (max(0, entry_number(self.last_id)[0] - self._window_ms), 0)
        oldest = max(by_time, self._kept[0][0]) if self._kept else by_time
        return f"{oldest[0]}-{oldest[1]}"

    def trimmed_past(self, newest_trimmed: bytes) -> bool:
        """Whether the stream lost entries this node never read (``newest_trimmed``: the newest id
        Redis trimmed off)."""
        return entry_number(newest_trimmed) > entry_number(self.last_id)
