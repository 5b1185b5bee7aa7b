"""What one connection owes its client and has not handed to the transport yet: a queue of
references to payloads, given out a chunk at a time.  Pure: no socket, no clock.

The output plan.  ``Connection.send`` never writes and never copies: it appends a reference to
the payload, which every recipient of one protocol shares, and the connection's ``flush`` (once
per event-loop iteration) writes it, or, when it cannot go at once, moves it into a ``Backlog``.
Writes are chunks of at most WRITE_CHUNK bytes (a slice of a large payload, or small payloads
joined: ``Backlog.next_chunk``), and the transport is given the next one only once it has sent the
last (its high-water mark is 0), so asyncio never holds more than one chunk of a connection's
output: a client far behind costs references, not copies.  At most WRITE_QUANTUM bytes are
written per connection per loop turn, so one turn's work is bounded however far behind everyone
is.  A connection with nothing waiting has no backlog at all.

Guarantees: payloads go out whole and in the order they were queued; a payload is never copied
while it waits (a chunk of a large one is a ``memoryview`` slice); ``size`` is what the backlog
counts toward the send-buffer limits (``flow_control``): its bytes not handed over yet, plus
BACKLOG_ENTRY_BYTES for each payload, so a flood of tiny payloads cannot make a non-reader's queue
of references long for free.
"""

from __future__ import annotations

import collections

WRITE_CHUNK = 16 * 1024  # at most this much is handed to the transport at a time
WRITE_QUANTUM = 64 * 1024  # at most this much is written to one connection per loop turn
# Each payload in a backlog counts this much more toward the limits, for its bookkeeping.
BACKLOG_ENTRY_BYTES = 64


def small_write(outbox: list[bytes]) -> bytes | None:
    """What one loop turn queued as a single write, if it fits in one chunk; None if it does not."""
    size = len(outbox[0]) if len(outbox) == 1 else sum(map(len, outbox))
    if size > WRITE_CHUNK:
        return None
    return outbox[0] if len(outbox) == 1 else b"".join(outbox)


class Backlog(collections.deque[bytes]):
    """Payloads not yet handed to the transport, in order; see the module docstring.  A deque of
    the references itself (true while any waits), so the write loop's "anything left?" costs what a
    deque's does; payloads go in with ``add`` and out with ``next_chunk``, which keep ``size``."""

    __slots__ = ("_head", "size")

    def __init__(self) -> None:
        super().__init__()
        self._head = 0  # how much of the first payload the transport already has
        self.size = 0  # what the backlog counts toward the limits

    def add(self, payloads: list[bytes]) -> None:
        """Queue ``payloads`` (kept, never copied) after what waits."""
        self.extend(payloads)
        self.size += sum(map(len, payloads)) + len(payloads) * BACKLOG_ENTRY_BYTES

    def next_chunk(self) -> bytes | memoryview:
        """Take the next chunk to hand to the transport (at most WRITE_CHUNK bytes); the backlog
        must not be empty."""
        first = self[0]
        if self._head or len(first) > WRITE_CHUNK:  # a slice of a large payload, not a copy
            chunk = memoryview(first)[self._head : self._head + WRITE_CHUNK]
            self._head += len(chunk)
            self.size -= len(chunk)
            if self._head == len(first):
                self.popleft()
                self._head = 0
                self.size -= BACKLOG_ENTRY_BYTES
            return chunk
        pieces = [self.popleft()]  # small payloads joined into one chunk
        size = len(pieces[0])
        while self and size + len(self[0]) <= WRITE_CHUNK:
            size += len(self[0])
            pieces.append(self.popleft())
        self.size -= size + len(pieces) * BACKLOG_ENTRY_BYTES
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)
