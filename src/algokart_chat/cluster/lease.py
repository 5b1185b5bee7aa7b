"""This node's place in the cluster: its id, its lease, and whether it is in, cut off, or out.

Owns the node id (``<host>-<pid>-<random>-<incarnation>``), the cluster's epoch as this node
joined it, the incarnation (a new one each time the node joins, or loses its place), the state,
and the lease keeper's loop; and ``Replication``: whether writes wait for a replica (``WAIT``)
and how many the master has (``ROLE``).  What the place means for the room (the replica, the
connections) is the holder's (``LeaseHolder``: ``room_redis.RedisRoom``).

Plan.  ``register`` runs the REGISTER script: a lease under a new node id, and a snapshot of the
room (the users, the stream's last id, and the bans and mutes: ``moderation``) from which the
holder rebuilds its replica and the server its moderation lists.  ``keep``
then renews the lease every ``node_timeout / 4`` seconds (RENEW, which also retires every node
whose lease ran out), and while the node is out, registers again with backoff.  Every part
reports how its commands went: ``link_failed`` and ``link_ok``.  The state:

- ``up``: in the cluster, the link works;
- ``down``: in the cluster, but a command failed: connections wait (``RedisRoom.ready``);
- ``out``: no place (never joined, or lost it): the holder closed every connection and the
  keeper registers again at once.

Guarantees:
- The node leaves (``out``) when its lease is gone (``expired``), when Redis lost its data (the
  epoch changed: ``reset``), when the stream was trimmed past what it read, or when it could not
  renew for ``node_timeout``; each once, with one log line and the holder told why.
- A link failure, and the link back, are logged once per episode, not once per try; a renewal
  Redis refuses (bad data) once per episode too.
- Whatever was in flight when the node left belongs to the old incarnation: the parts compare
  ``incarnation`` before and after a command, and drop an answer from the old place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from typing import Literal, Protocol

from redis.exceptions import RedisError

from algokart_chat.cluster.clients import LINK_ERRORS
from algokart_chat.cluster.entries import User
from algokart_chat.cluster.link import RedisLink, retry_delay
from algokart_chat.cluster.window import StreamWindow, entry_number
from algokart_chat.logs import fields

log = logging.getLogger(__name__)

LEASE_RENEWALS_PER_TIMEOUT = 4

ResetReason = Literal["cluster-unavailable", "cluster-reset"]
State = Literal["out", "up", "down"]


class LeaseHolder(Protocol):
    """What the lease tells its coordinator (``room_redis.RedisRoom``)."""

    def joined(self, node: str, last_id: bytes, users: list[User]) -> None:
        """This node has a place (again): the room is ``users`` (in login order) as of ``last_id``."""

    def left(self, reason: ResetReason) -> None:
        """This node lost its place: forget the room, close every connection for ``reason``."""

    def link_back(self) -> None:
        """The link works again: connections that waited for it may go on."""

    def describe(self) -> str: ...


def snapshot_users(values: list[bytes]) -> list[User]:
    """The users of REGISTER's snapshot (``<join id> <node> <token> <name>[ a=<account>][ h]``
    each), in login order; a malformed record is logged and skipped."""
    users = []
    for value in values:
        try:
            join_id, _node, token, name, *marks = value.decode("utf-8").split(" ")
            hidden = marks[-1:] == ["h"]
            account = marks[:-1] if hidden else marks
            if account and (len(account) > 1 or not account[0].startswith("a=") or len(account[0]) < 3):
                raise ValueError(marks)
            user = User(name, token, hidden, account[0][2:] if account else None)
            users.append((entry_number(join_id.encode()), user))
        except ValueError:
            log.warning("Skipped a malformed user record in Redis: %r", value[:80], extra=fields("bad-data"))
    users.sort(key=lambda numbered: numbered[0])
    return [user for _, user in users]


class Replication:
    """Behind Sentinel or in a Redis Cluster, a write counts once a replica has it: a pipeline ends
    with ``WAIT 1`` (for at most half a command's deadline) while the master has a replica, so the
    replica promoted at a failover has it too.  Writes no replica confirmed are logged once per
    episode."""

    __slots__ = ("_link", "_unconfirmed_logged", "replicas", "wait_ms")

    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self.wait_ms = round(link.deadline * 500) if link.replicated else 0
        self.replicas = 1  # the master's, as of the last ROLE (at joining, and at each renewal)
        self._unconfirmed_logged = False

    @property
    def waiting(self) -> bool:
        """Whether a pipeline ends with WAIT: there is a replica to wait for."""
        return bool(self.wait_ms and self.replicas)

    async def count(self, news: bool = True) -> None:
        """How many replicas the master has now (ROLE), so that writes wait for one only while
        there is one (a master left alone by a failover does not slow every write).  ``news``:
        whether none is worth logging (a master without replicas from the start is not)."""
        if not self.wait_ms:
            return
        try:
            role = await self._link.writer.execute_command("ROLE")  # type: ignore[no-untyped-call]
        except LINK_ERRORS:
            raise
        except RedisError as problem:
            self.note(problem)
            return
        self.replicas = len(role[2]) if role and role[0] == b"master" and len(role) > 2 else 0
        if not self.replicas and news:
            self.note(0)

    def note(self, replicas: object) -> None:
        """WAIT's answer (or ROLE's count): how many replicas have every write so far.  None:
        the writes are done (the master has them) but a failover now could lose them; logged
        once per episode."""
        confirmed = not isinstance(replicas, Exception) and replicas != 0
        if not confirmed and not self._unconfirmed_logged:
            why = f"Redis refused it: {replicas}" if isinstance(replicas, Exception) else "none within WAIT's time"
            if not self.replicas:
                why = "the master has no replica"
            log.warning(
                "No replica confirmed the cluster's writes (%s): a failover now could lose them",
                why,
                extra=fields("unreplicated"),
            )
        self._unconfirmed_logged = not confirmed


class Lease:
    """This node's lease in the chat cluster of ``link``'s keys.  The other parts read ``node``,
    ``epoch``, ``incarnation``, ``state`` and ``joined``; only the lease changes them (and the room
    sets ``stopping`` at shutdown)."""

    __slots__ = (
        "_down_since",
        "_holder",
        "_last_renewal",
        "_lease_ms",
        "_link",
        "_loop",
        "_node_base",
        "_node_timeout",
        "_renewal_refused",
        "_replication",
        "_wake",
        "_window",
        "epoch",
        "incarnation",
        "joined",
        "moderation",
        "node",
        "state",
        "stopping",
    )

    def __init__(
        self,
        link: RedisLink,
        node_timeout: float,
        window: StreamWindow,
        replication: Replication,
        holder: LeaseHolder,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._link, self._window, self._replication = link, window, replication
        self._holder, self._loop = holder, loop
        self._node_timeout = node_timeout
        self._lease_ms = round(node_timeout * 1000)
        self._node_base = f"{_host_label()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.incarnation = 0  # a new node id each time this process (re)joins
        self.node = ""
        self.epoch = ""
        self.state: State = "out"
        self._down_since = 0.0
        self._last_renewal = 0.0
        self._renewal_refused = False
        self._wake = asyncio.Event()  # wakes the keeper at once (to rejoin)
        self.joined = asyncio.Event()  # set while this node is part of the cluster
        self.stopping = False  # set when the node stops: no more tries
        # The last snapshot's bans and mutes (their JSON), and whether this node's REGISTER set
        # the epoch (the cluster's data starts with it): read by the holder in ``joined``.
        self.moderation: tuple[list[bytes], bool] = ([], False)

    async def register(self) -> None:
        """Take a lease under a new node id and give the holder a snapshot of the room."""
        await self._replication.count(news=self.state != "out")
        self.incarnation += 1
        node = f"{self._node_base}-{self.incarnation}"
        keys = self._link.keys
        reply = await self._link.scripts.register(
            keys=[keys.epoch, keys.nodes, keys.events, keys.users, keys.bans, keys.mutes],
            args=[secrets.token_hex(8), node, self._lease_ms, keys.node_users_prefix, self._window.minid(), self.node],
        )
        epoch, last_id, values, *lists = reply  # (lists: the bans and mutes, and whether fresh)
        users = snapshot_users(values)
        self.moderation = (list(lists[0]), lists[1] == 1) if len(lists) == 2 else ([], False)
        self.node, self.epoch = node, epoch.decode()
        self._holder.joined(node, last_id, users)
        self._last_renewal = self._loop.time()
        self.state = "up"
        self.joined.set()

    def leave_cluster(self, reason: ResetReason, why: str) -> None:
        """This node lost its place: the holder closes every connection and forgets the room; the
        keeper joins again."""
        if self.state == "out":
            return
        self.state = "out"
        self.joined.clear()
        self.incarnation += 1  # what is in flight belongs to the old place: ignore its answers
        log.error("Left the cluster: %s; closing every connection", why, extra=fields("cluster-left", reason=reason))
        self._holder.left(reason)
        self._wake.set()

    async def retire(self) -> None:
        """At shutdown: this node's users leave at once and its lease goes (RETIRE)."""
        keys = self._link.keys
        await self._link.scripts.retire(
            keys=[keys.nodes, keys.events, keys.users],
            args=[self.node, keys.node_users_prefix, self._window.minid()],
        )

    async def keep(self) -> None:
        """Renew the lease while in the cluster; join again while out.  Runs until the node stops."""
        interval = self._node_timeout / LEASE_RENEWALS_PER_TIMEOUT
        failures = 0
        while not self.stopping:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval if self.state != "out" else None)
            self._wake.clear()
            if self.state == "out":
                try:
                    await self.register()
                except (RedisError, OSError) as problem:
                    if not failures:
                        log.warning(
                            "Cannot rejoin the cluster yet (%s); retrying", problem, extra=fields("rejoin-failed")
                        )
                    failures += 1
                    await asyncio.sleep(retry_delay(failures))
                    self._wake.set()
                    continue
                failures = 0
                log.warning(
                    "Rejoined the cluster: %s",
                    self._holder.describe(),
                    extra=fields("cluster-rejoined", node=self.node),
                )
                continue
            await self._renew()

    async def _renew(self) -> None:
        """Renew the lease.  Late (this process was paused) is fine as long as Redis answers:
        it says whether the lease is still ours.  Not renewed for node_timeout because Redis does
        not answer: this node is out (``link_failed``)."""
        started = self._loop.time()
        keys = self._link.keys
        try:
            reply = await self._link.scripts.renew(
                keys=[keys.epoch, keys.nodes, keys.events, keys.users],
                args=[self.epoch, self.node, self._lease_ms, keys.node_users_prefix, self._window.minid()],
            )
            await self._replication.count(news=self.state != "out")
        except LINK_ERRORS as problem:
            self.link_failed(problem)
            return
        except RedisError as problem:  # bad data (a key of the wrong type): logged once per episode
            if not self._renewal_refused:
                log.error("Redis refused the lease renewal: %s", problem, extra=fields("bad-data"))
            self._renewal_refused = True
            return
        self.link_ok()
        self._renewal_refused = False
        status = reply[0]
        if status == b"reset":
            self.leave_cluster("cluster-reset", "Redis lost the cluster's data")
        elif status == b"expired":
            self.leave_cluster("cluster-reset", "this node's lease ran out (was it paused or cut off?)")
        else:
            self._last_renewal = started
            if self._window.trimmed_past(reply[1]):
                self.leave_cluster("cluster-reset", "the event stream was trimmed past what this node had read")

    def link_failed(self, problem: BaseException) -> None:
        """A command failed on the link: connections wait; after ``node_timeout`` without a
        renewal, this node is out."""
        self._link.relocate_soon()
        now = self._loop.time()
        if self.state == "up":
            self.state, self._down_since = "down", now
            log.warning(
                "Lost the link to Redis (%s): connections wait while it reconnects",
                problem,
                extra=fields("redis-down"),
            )
        elif self.state == "down" and now - self._last_renewal > self._node_timeout:
            self.leave_cluster("cluster-unavailable", f"Redis unreachable for more than {self._node_timeout:g} s")

    def link_ok(self) -> None:
        """A command went through: if the link was down, it is back."""
        if self.state == "down":
            self.state = "up"
            seconds = self._loop.time() - self._down_since
            log.warning("Redis link back after %.1f s", seconds, extra=fields("redis-up", seconds=round(seconds, 3)))
            self._holder.link_back()


def _host_label() -> str:
    host = socket.gethostname().split(".")[0]
    return "".join(char if char.isalnum() or char in "-_" else "_" for char in host)[:32] or "node"
