"""The stream reader: every entry of the cluster's event stream, applied to this node's replica in order.

Owns the read loop (on the link's reading client) and nothing else: the position is the
window's (``window.StreamWindow.last_id``), what an entry means is the replica's
(``replica.Replica``), and whether the node is in the cluster is the lease's (``lease.Lease``).

Plan.  While this node is in the cluster, ``XREAD BLOCK 250 COUNT 1000`` from the last id read
(short, because redis-py lets a cancelled command finish: stopping waits for it), then each
entry in turn: counted toward the stream's size (the window), decoded and applied.  Before each
entry the reader asks the server whether its clients can take more (``FanOut``); while they
cannot, the rest of the reply waits here, not in the clients' queues.

Guarantees:
- Nothing is lost across reconnections: a failed read is tried again from the same id (link
  trouble goes to the lease, which logs it once per episode; a read Redis refuses is logged once
  per episode here).
- A reply read for an old place in the cluster (the node left meanwhile: the lease's
  ``incarnation`` changed) is dropped, at once or after the entry that made the node leave.
- A malformed entry is logged and skipped; the leave of a member still here (the cluster retired
  this node: it was paused or cut off for too long) makes the node leave its place.
- One node's flood reaches this node's clients no faster than they take it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from redis.exceptions import RedisError

from algokart_chat.cluster.clients import LINK_ERRORS
from algokart_chat.cluster.entries import BadEntry, Batch, decode_entry
from algokart_chat.cluster.lease import Lease
from algokart_chat.cluster.link import READ_BLOCK_MS, RedisLink, retry_delay
from algokart_chat.cluster.replica import Replica
from algokart_chat.cluster.window import StreamWindow, entry_number
from algokart_chat.logs import fields

log = logging.getLogger(__name__)

READ_COUNT = 1000  # entries per XREAD


class FanOut(Protocol):
    """What the reader asks of the server (``server.chat_server.ChatServer``): whether its clients
    can take more deliveries now (``transport.connection``, Pushback), and what it delivered."""

    def fan_out_allowed(self) -> bool: ...

    def when_fan_out_allowed(self, resume: Callable[[], None]) -> None: ...

    def note_fan_out(self, size: int) -> None: ...


class StreamReader:
    """Reads the cluster's stream through ``link`` into ``replica``, for as long as the node runs."""

    __slots__ = ("_lease", "_link", "_loop", "_replica", "_server", "_window")

    def __init__(
        self,
        link: RedisLink,
        lease: Lease,
        window: StreamWindow,
        replica: Replica[Any],
        server: FanOut,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._link, self._lease, self._window = link, lease, window
        self._replica, self._server, self._loop = replica, server, loop

    async def run(self) -> None:
        failures = 0
        backfilled = None  # the incarnation whose history was read back
        while not self._lease.stopping:
            await self._lease.joined.wait()
            incarnation = self._lease.incarnation
            if backfilled != incarnation and self._replica.history.on:
                try:
                    await self._backfill()
                except (*LINK_ERRORS, RedisError) as problem:
                    log.warning("Cannot read the history back from the stream: %s", problem, extra=fields("bad-data"))
            backfilled = incarnation
            try:
                reply: Any = await self._link.reader.xread(
                    {self._link.keys.events: self._window.last_id}, count=READ_COUNT, block=READ_BLOCK_MS
                )
            except LINK_ERRORS as problem:
                self._lease.link_failed(problem)
                failures += 1
                await asyncio.sleep(retry_delay(failures))
                continue
            except RedisError as problem:
                if not failures:
                    log.error("Cannot read the event stream: %s", problem, extra=fields("bad-data"))
                failures += 1
                await asyncio.sleep(retry_delay(failures))
                continue
            failures = 0
            self._lease.link_ok()
            if incarnation != self._lease.incarnation or not reply:
                continue
            for entry_id, entry_fields in reply[0][1]:
                # One node's flood reaches this node's clients no faster than they take it: the
                # rest of the read waits (in Redis's reply, not in their queues) while they cannot.
                if not self._server.fan_out_allowed():
                    await self._fan_out_allowed()
                    if incarnation != self._lease.incarnation:
                        break
                size = self._window.read(entry_id, entry_fields)
                self._apply(entry_id, entry_fields)
                if incarnation != self._lease.incarnation:
                    break
                self._server.note_fan_out(size * len(self._replica.members()))

    async def _backfill(self) -> None:
        """Read the stream back from where this node joined (``XREVRANGE``, newest first, in
        reads of READ_COUNT) until the history's bounds are reached (its lines, its bytes as the
        batches' sizes, its age by the entries' ids) or the stream ends, then give the replica
        the batches oldest first.  Memory: about the history's bytes plus one read."""
        lines, size, age_ms = self._replica.history.bounds()
        oldest_ms = int(time.time() * 1000) - age_ms
        batches: list[Batch] = []
        counted_lines = counted_bytes = 0
        upper = self._window.last_id.decode()
        while counted_lines < lines and counted_bytes < size:
            reply: Any = await self._link.reader.xrevrange(self._link.keys.events, max=upper, count=READ_COUNT)
            if not reply:
                break
            for entry_id, entry_fields in reply:
                if entry_number(entry_id)[0] < oldest_ms:
                    reply = []
                    break
                try:
                    entry = decode_entry(entry_fields, entry_id)
                except BadEntry:
                    continue
                if isinstance(entry, Batch):
                    batches.append(entry)
                    counted_lines += entry.records.count(b"\n") // 2 + 1
                    counted_bytes += len(entry.records)
            if len(reply) < READ_COUNT:
                break
            upper = "(" + reply[-1][0].decode()
        batches.reverse()
        added = self._replica.history.backfill(batches)
        if added:
            log.info("Read %d messages of history back from the stream", added, extra=fields("history-backfill"))

    async def _fan_out_allowed(self) -> None:
        allowed: asyncio.Future[None] = self._loop.create_future()

        def resume() -> None:
            if not allowed.done():
                allowed.set_result(None)

        self._server.when_fan_out_allowed(resume)
        await allowed

    def _apply(self, entry_id: bytes, entry_fields: dict[bytes, bytes]) -> None:
        try:
            still_in = self._replica.apply(decode_entry(entry_fields, entry_id))
        except BadEntry as problem:
            log.warning(
                "Skipped entry %s of the event stream: %s", entry_id.decode(), problem, extra=fields("bad-data")
            )
            return
        if not still_in:
            self._lease.leave_cluster("cluster-reset", "the cluster retired this node (was it paused or cut off?)")
