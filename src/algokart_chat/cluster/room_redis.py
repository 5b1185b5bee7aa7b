"""The cluster room: one room shared by every server process ("node") of a cluster, over Redis.

Plan.  One Redis stream carries every event the room can see: joins, leaves, and batches of
broadcasts and direct messages.  Every node reads the whole stream and applies it in stream
order, its own events included, so the stream order *is* the one order every user sees.  Each
node keeps a replica of the room built from the stream, so ``WHO`` and a DM's lookup are local.
A LOGIN is answered when this node applies its own join from the stream, so the new user's WHO
lists everyone who logged in before.

``RedisRoom`` is the ``ChatRoom`` and the coordinator: it owns no plan of its own but wires the
parts, each of which owns one, and answers the ChatRoom API from the replica and the writer:

- ``link``: the two redis-py clients, the scripts on them, and which master serves the slot;
- ``lease``: this node's id and lease, whether it is in the cluster (``up``, ``down``, ``out``),
  and whether writes wait for a replica; it tells the room when the node joins or leaves
  (``LeaseHolder``: the room rebuilds or forgets its replica, and tells the server);
- ``writer``: what this node's users do, one pipeline per loop iteration, in order;
- ``reader``: the stream, applied entry by entry to the replica (``replica``, pure);
- ``window``: what this node read of the stream, and where every write trims it (pure).

Guarantees, beyond those of ``room`` (each part's docstring says how):
- At most once, in order: a batch carries its node's sequence number, so one sent twice
  (after a broken link) is applied once; claims and leaves are idempotent (``scripts``).
- Nothing is lost while the link blips: what could not be sent is sent again, and the
  connections wait (``ready`` is False) instead of queueing without bound.
- Moderation: an operator's action is one MODERATE call (``writer``), which changes the bans or
  mutes hash and appends the entry every node applies in stream order (``replica``: the server's
  ``moderated``); a node that joins or rejoins gets both hashes with its snapshot (``lease``) and
  hands them to the server before it reads the stream on (``moderation_loaded``).
- Leases: a node renews its lease every ``node_timeout / 4`` seconds and, in the same script,
  retires every node whose lease ran out, announcing each of its users once.  A node that finds
  its own lease gone, the epoch changed (Redis lost its data), or the stream trimmed past what it
  had read, closes its connections (``INFO cluster-reset``) and joins again at once.  A node
  that cannot renew for ``node_timeout`` closes them (``INFO cluster-unavailable``), refuses new
  ones, and joins again when Redis is back.
- Every command has a deadline (a silently dead TCP link is found within seconds), and link
  trouble is logged once per episode, not once per try.
- Behind Sentinel or in a Redis Cluster (``cluster.target``), a pipeline ends with ``WAIT 1``: it
  counts as written once a replica has it, and is written again to the promoted replica if the
  master died first, so a failover loses nothing a replica could have had (docs/CLUSTER.md,
  *Sentinel*).
- ``stop`` sends what is unsent and retires this node (its users are announced gone at once),
  each step within ``STOP_SECONDS``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Generic, Protocol

from redis.exceptions import RedisError

from algokart_chat.cluster.entries import Keys, User, broadcast_record, direct_record, sync_record
from algokart_chat.cluster.lease import Lease, Replication, ResetReason
from algokart_chat.cluster.link import STOP_SECONDS, RedisLink, explain
from algokart_chat.cluster.reader import FanOut, StreamReader
from algokart_chat.cluster.replica import Audience, Replica
from algokart_chat.cluster.target import parse_redis_url
from algokart_chat.cluster.window import DEFAULT_STREAM_BYTES, StreamWindow, history_ms
from algokart_chat.cluster.writer import ClaimWrite, LeaveWrite, ModerateWrite, PresenceWrite, Writer
from algokart_chat.events import Said, Told
from algokart_chat.history import History
from algokart_chat.logs import fields
from algokart_chat.moderation import Change, Entry, ModerationFormatError, parse_entry_json
from algokart_chat.names import username_key
from algokart_chat.room import JoinResult, MemberT, RoomStartError

log = logging.getLogger(__name__)


class RoomServer(Audience, FanOut, Protocol):
    """What the cluster room tells the server (``server.chat_server.ChatServer``), and asks of it:
    whether its clients can take more deliveries now (``FanOut``)."""

    def room_ready(self) -> None: ...

    def room_reset(self, reason: ResetReason) -> None: ...

    def moderated(self, change: Change) -> None:
        """An operator's action, read from the stream in its place (every node's, this one's too)."""

    def moderation_loaded(self, entries: list[Entry], fresh: bool) -> None:
        """The cluster's bans and mutes as this node (re)joins, before it reads the stream on;
        ``fresh``: the cluster's data starts with this node (Redis holds none yet)."""


class RedisRoom(Generic[MemberT]):
    """A ``ChatRoom`` shared by every node of cluster ``cluster`` on the Redis at ``url``."""

    def __init__(
        self,
        url: str,
        cluster: str,
        node_timeout: float,
        server: RoomServer,
        loop: asyncio.AbstractEventLoop,
        stream_bytes: int = DEFAULT_STREAM_BYTES,
        history: History | None = None,
    ) -> None:
        self._server, self._loop = server, loop
        self.history = history if history is not None else History(0, 0, 0)
        target = parse_redis_url(url)
        self._cluster, self._where = cluster, target.describe()
        self._node_timeout = node_timeout
        # The stream keeps the room's history too (read back at a join), within stream_bytes.
        kept_ms = round(self.history.age * 1000) if self.history.on else 0
        self._window = StreamWindow(max(history_ms(node_timeout), kept_ms), stream_bytes)
        self._link = RedisLink(target, Keys(cluster), node_timeout, loop)
        self._replication = Replication(self._link)
        self._lease = Lease(self._link, node_timeout, self._window, self._replication, self, loop)
        self._tasks: list[asyncio.Task[None]] = []

        self._replica: Replica[MemberT] = Replica(server, self.history, server.moderated)
        self._reader = StreamReader(self._link, self._lease, self._window, self._replica, server, loop)
        self._writer = Writer(
            self._link, self._lease, self._window, self._replication, self._replica, server.room_ready, loop
        )

    # --- ChatRoom -------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self._lease.state == "up" and self._writer.keeping_up

    @property
    def available(self) -> bool:
        return self._lease.state != "out"

    @property
    def changes(self) -> int:
        return self._replica.changes

    def __len__(self) -> int:
        return len(self._replica)

    @property
    def node(self) -> str:
        """This node's id in the cluster (a new one each time it joins)."""
        return self._lease.node

    def describe(self) -> str:
        return f"Cluster {self._cluster} on Redis {self._where}: this node is {self.node}"

    def knows(self, name: str) -> bool:
        return self._replica.knows(name)

    def held_name(self, name: str) -> str | None:
        return self._replica.held_name(name)

    def account_of(self, name: str) -> str | None:
        return self._replica.account_of(name)

    def names(self) -> list[str]:
        return self._replica.names()

    def keyed_names(self) -> dict[str, str]:
        return self._replica.keyed_names()

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
        if self._lease.state == "out":
            done("unavailable")
            return
        old: tuple[str, str, str] | None = None
        if renaming is not None:
            old_token = self._replica.token_of(member, renaming)
            if old_token is not None:
                old = (username_key(renaming), old_token, renaming)
        token = self._replica.expect_join(member, done, hears_arrivals)
        self._writer.send(ClaimWrite(token, username_key(name), name, hidden, old, account))

    def show(self, member: MemberT, name: str, *, hears_arrivals: bool = False) -> None:
        self._replica.want_arrivals(member, name, hears_arrivals)
        self._send_presence(member, name, "1")

    def hide(self, member: MemberT, name: str, reason: str | None = None) -> None:
        self._send_presence(member, name, "0", reason or "")

    def set_away(self, member: MemberT, name: str, away: str | None) -> None:
        self._send_presence(member, name, "a", away or "")

    def away(self, name: str) -> str | None:
        return self._replica.away(name)

    def away_messages(self) -> dict[str, str]:
        return self._replica.away_messages()

    def _send_presence(self, member: MemberT, name: str, what: str, text: str = "") -> None:
        token = self._replica.token_of(member, name)
        if token is not None and self._lease.state != "out":
            self._writer.send(PresenceWrite(token, username_key(name), name, what, text))

    def leave(self, member: MemberT, name: str, reason: str | None = None) -> None:
        token = self._replica.release(member, name)
        if token is not None and self._lease.state != "out":
            self._writer.send(LeaveWrite(token, username_key(name), name, reason or ""))

    def broadcast(self, payload: Said, sender: MemberT, *, echo: bool = False) -> None:
        if self._replica.name_of(sender) is not None:
            self._writer.add_record(broadcast_record(payload, echo))

    def direct(self, name: str, payload: Told, *, echo_to: MemberT | None = None) -> None:
        # Between two accounts, history keeps it (on every node, with these accounts): the name
        # goes as its holder typed it, as the memory room keeps it.
        sender = payload.account
        recipient = self._replica.account_of(name) if sender is not None else None
        if sender is None or recipient is None:
            self._writer.add_record(direct_record(name, payload, echo_to is not None))
            return
        held = self._replica.held_name(name) or name
        self._writer.add_record(direct_record(held, payload, echo_to is not None), (sender, recipient))

    def sync(self, member: MemberT, done: Callable[[], None]) -> None:
        if self._lease.state == "out":
            done()
            return
        self._writer.add_record(sync_record(self._replica.expect_sync(done)))

    def moderate(self, change: Change) -> bool:
        self._writer.send(ModerateWrite(change))
        return True

    def tell_local(self, payload: Any) -> None:
        for member in self._replica.members():
            member.deliver(payload)

    async def start(self) -> None:
        try:
            await self._link.find_slot_owner(announce=False)
            await self._lease.register()
        except (RedisError, OSError) as problem:
            await self._link.close()
            raise RoomStartError(
                f"cannot join cluster {self._cluster} on Redis {self._where}: {explain(problem)}"
            ) from None
        self._tasks = [
            self._loop.create_task(self._reader.run()),
            self._loop.create_task(self._lease.keep()),
        ]

    async def stop(self) -> None:
        """Send what is unsent and retire this node (its users are announced gone at once)."""
        try:
            if self._lease.state != "out":
                await asyncio.wait_for(self._writer.drained(), STOP_SECONDS)
                # Members still here leave with the node: reading their leaves back must not
                # look like the cluster retiring a live node.
                self._replica.release_all()
                await asyncio.wait_for(self._lease.retire(), STOP_SECONDS)
        except (asyncio.TimeoutError, RedisError, OSError) as problem:
            log.warning(
                "Could not tell the cluster this node stops (%s): its users will be announced gone in %g s",
                problem or "timed out",
                self._node_timeout,
                extra=fields("cluster-stop-failed"),
            )
        # Before Python 3.11 a timeout racing a cancellation can swallow it (redis-py then raises
        # its TimeoutError instead): the loops also check the lease's stopping, and no wait here is
        # unbounded.
        self._lease.stopping = True
        tasks = [*self._tasks, *(task for task in (self._writer.flushing, self._link.relocating) if task is not None)]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_SECONDS)
        await self._link.close()

    # --- LeaseHolder ---------------------------------------------------------------------------
    def joined(self, node: str, last_id: bytes, users: list[User]) -> None:
        self._window.restart(last_id)
        self._writer.restart()
        self._replica.start(node, users)
        self._server.moderation_loaded(moderation_snapshot(self._lease.moderation[0]), self._lease.moderation[1])

    def left(self, reason: ResetReason) -> None:
        self._writer.clear()
        self._replica.clear()
        self._server.room_reset(reason)
        self._server.room_ready()  # connections that waited for the link: they are being closed

    def link_back(self) -> None:
        self._server.room_ready()


def moderation_snapshot(values: list[bytes]) -> list[Entry]:
    """The bans and mutes of REGISTER's snapshot (``moderation.entry_json`` each); a malformed
    one is logged and skipped."""
    entries = []
    for value in values:
        try:
            entries.append(parse_entry_json(value.decode("utf-8")))
        except (ModerationFormatError, UnicodeDecodeError) as problem:
            log.warning(
                "Skipped a malformed ban or mute in Redis (%s): %r", problem, value[:80], extra=fields("bad-data")
            )
    return entries
