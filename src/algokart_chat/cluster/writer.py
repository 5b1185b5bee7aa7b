"""The write pipeline: what this node's users do, written to Redis in order, once per loop iteration.

Owns the outbox (the writes not yet sent: ``BatchWrite``, ``ClaimWrite``, ``PresenceWrite``,
``LeaveWrite``, ``ModerateWrite``), this node's batch sequence number, the count of unsent bytes, and the one
flush under way.  What an answer means for a LOGIN or a PING is the replica's; what a failure
means for the node is the lease's.

Plan.  Everything a node's users do during one event-loop iteration goes out as one pipeline,
in their order: one XADD of a batch (all the MSG, DM and sync records in a row, under the next
sequence number), a CLAIM call per LOGIN, a PRESENCE call per JOIN, PART or AWAY, a LEAVE call per
departure, a MODERATE call per operator's action; behind Sentinel or in a Redis Cluster, ``WAIT 1``
last (``lease.Replication``).  One
pipeline is in flight at a time: what arrives meanwhile waits for the next.  Every append trims
the stream to the window's ``minid``.

Guarantees:
- At most once, in order: a pipeline that fails on the link is sent again as is (batches carry
  the sequence number the readers check; claims and leaves are idempotent), until it goes
  through or the node leaves its place (what was in the outbox then belongs to the old place:
  dropped, as the lease's ``incarnation`` tells).  A pipeline redirected (the slot moved) was
  not done at all, and is sent again.
- Bounded: past ``MAX_UNSENT_BYTES`` waiting to be written, ``keeping_up`` is False and the
  room's connections wait instead of queueing more.
- A write Redis refuses is logged; a LOGIN it refused is answered ``unavailable`` and the PINGs of
  a refused batch are answered at once (they will not come back through the stream).  A claim
  answered ``reset`` or ``expired`` makes the node leave its place.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from algokart_chat.cluster.clients import LINK_ERRORS, REDIRECTS
from algokart_chat.cluster.entries import SYNC, batch_fields, direct_line, records
from algokart_chat.cluster.lease import Lease, Replication
from algokart_chat.cluster.link import RedisLink, retry_delay
from algokart_chat.cluster.replica import Replica
from algokart_chat.cluster.window import StreamWindow
from algokart_chat.logs import fields
from algokart_chat.moderation import MAX_ENTRIES, Change, change_json

log = logging.getLogger(__name__)

MAX_UNSENT_BYTES = 4 * 1024 * 1024  # beyond this, connections wait for the link to catch up


class BatchWrite:
    """Records to append as one batch entry, under this node's sequence number ``sequence``, and
    the accounts of its direct messages between two accounts (``entries.direct_line``)."""

    __slots__ = ("data", "directs", "parts", "sequence")

    def __init__(self, sequence: int, first: bytes) -> None:
        self.sequence = sequence
        self.parts = [first]
        self.directs: list[bytes] = []
        self.data = b""  # the parts joined, once it is sent


class ClaimWrite:
    """A LOGIN to write: the login's token, the name's key, the name as typed; hidden or not, for a
    rename the (key, token, name) of the login it replaces, and the account its password was
    checked for, if any."""

    __slots__ = ("account", "hidden", "key", "name", "renaming", "token")

    def __init__(
        self,
        token: str,
        key: str,
        name: str,
        hidden: bool = False,
        renaming: tuple[str, str, str] | None = None,
        account: str | None = None,
    ) -> None:
        self.token, self.key, self.name = token, key, name
        self.hidden, self.renaming, self.account = hidden, renaming, account


class LeaveWrite:
    """A departure to write, with the same fields as the claim it undoes, and its reason."""

    __slots__ = ("key", "name", "reason", "token")

    def __init__(self, token: str, key: str, name: str, reason: str = "") -> None:
        self.token, self.key, self.name, self.reason = token, key, name, reason


class PresenceWrite:
    """A held name to move into the room (``what`` 1) or out of it (0, ``text`` its reason), or
    its away message (a: ``text``, empty for back), with the claim's fields."""

    __slots__ = ("key", "name", "text", "token", "what")

    def __init__(self, token: str, key: str, name: str, what: str, text: str = "") -> None:
        self.token, self.key, self.name, self.what, self.text = token, key, name, what, text


class ModerateWrite:
    """An operator's action to write: the list it changes (``kind``), the target's key, the action
    and the change's JSON (``moderation.change_json``)."""

    __slots__ = ("action", "document", "key", "kind")

    def __init__(self, change: Change) -> None:
        self.kind, self.key, self.action = change.kind, change.target.key, change.action
        self.document = change_json(change)


Write = BatchWrite | ClaimWrite | LeaveWrite | PresenceWrite | ModerateWrite


class Writer:
    """Writes this node's outbox to the cluster's Redis through ``link``; ``written`` is
    called after each pipeline that went through (connections that waited may go on)."""

    __slots__ = (
        "_flush_task",
        "_flushed",
        "_lease",
        "_link",
        "_loop",
        "_outbox",
        "_replica",
        "_replication",
        "_sequence",
        "_unsent_bytes",
        "_window",
        "_written",
    )

    def __init__(
        self,
        link: RedisLink,
        lease: Lease,
        window: StreamWindow,
        replication: Replication,
        replica: Replica[Any],
        written: Callable[[], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._link, self._lease, self._window = link, lease, window
        self._replication, self._replica, self._written, self._loop = replication, replica, written, loop
        self._sequence = 0  # of this node's last batch
        self._outbox: list[Write] = []
        self._unsent_bytes = 0
        self._flush_task: asyncio.Task[None] | None = None
        self._flushed = asyncio.Event()  # set while nothing is being written
        self._flushed.set()

    @property
    def keeping_up(self) -> bool:
        """Whether what waits to be written is within bounds (connections may add more)."""
        return self._unsent_bytes < MAX_UNSENT_BYTES

    @property
    def flushing(self) -> asyncio.Task[None] | None:
        """The flush under way, if any (to cancel at shutdown)."""
        return self._flush_task

    async def drained(self) -> None:
        """Wait until nothing is being written."""
        await self._flushed.wait()

    def restart(self) -> None:
        """This node joined (again): its batches count from 1."""
        self._sequence = 0

    def clear(self) -> None:
        """This node lost its place: what waits to be written belongs to the old one."""
        self._outbox, self._unsent_bytes = [], 0

    def add_record(self, data: bytes, accounts: tuple[str, str] | None = None) -> None:
        """A record for this iteration's batch (a new batch if the last write is not one); a
        direct message between two accounts with ``accounts`` (its sender's and recipient's)."""
        if self._lease.state == "out":
            return
        self._unsent_bytes += len(data)
        last = self._outbox[-1] if self._outbox else None
        if isinstance(last, BatchWrite):
            last.parts.append(data)
        else:
            self._sequence += 1
            last = BatchWrite(self._sequence, data)
            self.send(last)
        if accounts is not None:
            last.directs.append(direct_line(len(last.parts) - 1, *accounts))

    def send(self, write: Write) -> None:
        """Write this in the next pipeline."""
        self._outbox.append(write)
        self._flush_soon()

    def _flush_soon(self) -> None:
        """Write the outbox once this loop iteration is over: all it gathered in one pipeline."""
        if self._flushed.is_set():
            self._flushed.clear()
            self._loop.call_soon(self._start_flush)

    def _start_flush(self) -> None:
        self._flush_task = self._loop.create_task(self._flush())

    async def _flush(self) -> None:
        """Write the outbox, one pipeline at a time, again and again after a failure."""
        try:
            while self._outbox:
                writes, self._outbox = self._outbox, []
                results = await self._write_until_done(writes)
                if results is None:
                    return
                self._unsent_bytes -= sum(len(write.data) for write in writes if isinstance(write, BatchWrite))
                self._take_results(writes, results)
                self._written()
        finally:
            self._flushed.set()
            if self._outbox and self._lease.state != "out" and not self._lease.stopping:
                self._flush_soon()

    async def _write_until_done(self, writes: list[Write]) -> list[Any] | None:
        """The replies to ``writes``, sent again after each link failure; None if this node left
        its place in the cluster (or stops) meanwhile: ``writes`` belong to the old place."""
        incarnation, failures = self._lease.incarnation, 0
        while not self._lease.stopping and incarnation == self._lease.incarnation:
            try:
                results = await self._write(writes)
            except LINK_ERRORS as problem:
                self._lease.link_failed(problem)
                failures += 1
                await asyncio.sleep(retry_delay(failures))
                continue
            if incarnation != self._lease.incarnation:
                return None
            self._lease.link_ok()
            return results
        return None

    async def _write(self, writes: list[Write]) -> list[Any]:
        keys, node, minid = self._link.keys, self._lease.node, self._window.minid()
        scripts = self._link.scripts
        pipe = self._link.writer.pipeline(transaction=False)
        for write in writes:
            if isinstance(write, BatchWrite):
                if not write.data:
                    write.data = b"".join(write.parts)
                fields = batch_fields(node, write.sequence, write.data, b"\n".join(write.directs))
                pipe.xadd(keys.events, fields, minid=minid, approximate=True)  # type: ignore[arg-type]  # redis-py's hint omits int values, which it takes
            elif isinstance(write, ClaimWrite):
                old_key, old_token, old_name = write.renaming or ("", "", "")
                await scripts.claim(
                    keys=[keys.epoch, keys.nodes, keys.events, keys.users, keys.node_users(node)],
                    args=[self._lease.epoch, node, write.token, write.key, write.name, minid]
                    + ["1" if write.hidden else "0", old_key, old_token, old_name]
                    + ([write.account] if write.account is not None else []),
                    client=pipe,
                )
            elif isinstance(write, PresenceWrite):
                await scripts.presence(
                    keys=[keys.users, keys.events],
                    args=[write.key, write.token, write.name, write.what, minid, write.text],
                    client=pipe,
                )
            elif isinstance(write, ModerateWrite):
                await scripts.moderate(
                    keys=[keys.epoch, keys.events, keys.bans if write.kind == "ban" else keys.mutes],
                    args=[self._lease.epoch, node, minid, write.action, write.key, write.document, MAX_ENTRIES],
                    client=pipe,
                )
            else:
                await scripts.leave(
                    keys=[keys.users, keys.events, keys.node_users(node)],
                    args=[write.key, write.token, write.name, minid, write.reason],
                    client=pipe,
                )
        waiting = self._replication.waiting
        if waiting:
            pipe.execute_command("WAIT", 1, self._replication.wait_ms)
        results: list[Any] = await pipe.execute(raise_on_error=False)
        redirected = next((result for result in results if isinstance(result, REDIRECTS)), None)
        if redirected is not None:  # the slot is elsewhere now: none of it was done here
            raise redirected
        if waiting:
            self._replication.note(results.pop())
        return results

    def _take_results(self, writes: list[Write], results: list[Any]) -> None:
        lost: str | None = None
        for write, result in zip(writes, results, strict=True):
            if isinstance(result, Exception):
                log.error("Redis refused a write: %s", result, extra=fields("bad-data"))
                if isinstance(write, ClaimWrite):
                    self._replica.answer(write.token, "unavailable")
                elif isinstance(write, BatchWrite):  # its PINGs will not come back through the stream
                    for part in records(write.data):
                        if part.kind == SYNC:
                            self._replica.synced(part.name)
            elif isinstance(write, ClaimWrite):
                status = result[0]
                if status == b"taken":
                    self._replica.answer(write.token, "taken")
                elif status != b"ok":
                    self._replica.answer(write.token, "unavailable")
                    lost = "Redis lost the cluster's data" if status == b"reset" else "this node's lease ran out"
                # ok: answered when this node applies the join from the stream
            elif isinstance(write, ModerateWrite) and result == b"full":
                log.warning(
                    "Moderation list full in Redis: %s of %s not applied",
                    write.kind,
                    write.key,
                    extra=fields("moderation-full", kind=write.kind, target=write.key),
                )
        if lost is not None:
            self._lease.leave_cluster("cluster-reset", lost)
