"""The link to Redis: the two clients a node talks through, the scripts on them, and where they point.

Owns the clients (``clients.connect``), the Lua scripts registered on the writing one
(``Scripts``), the deadline of every command, and, in a Redis Cluster, which master serves the
slot of the chat cluster's keys (``keys``: they all share one hash tag, so one slot).  It does not decide what a failure means for the node: that is ``lease``'s.

Plan.  Two clients: ``writer`` for pipelines, scripts and lease renewals, and ``reader`` for the
stream reader, whose blocking XREAD may take ``READ_BLOCK_MS`` longer than any other command.
For one Redis, or behind Sentinel (whose client asks the Sentinels for the master each time it
connects), they are made once.  In a Redis Cluster they talk to the master serving the slot
(``clients.slot_owner``); after a link failure or a redirect ``relocate_soon`` asks again and, if
another master serves it now, replaces both clients, scripts included, and logs the move.

Guarantees:
- Every command has a deadline (``command_deadline``: a quarter of the node timeout, between 0.5
  and 5 s), so a silently dead TCP link is found within seconds; redis-py retries a command twice
  with jittered backoff, and the callers' own retries wait ``retry_delay``.
- At most one search for the slot's master runs at a time; a failed search is left for the next
  failure to start again.
- ``close`` gives each client ``STOP_SECONDS`` and never raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import FullJitterBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import MovedError, RedisError

from algokart_chat.cluster import scripts
from algokart_chat.cluster.clients import connect, slot_owner
from algokart_chat.cluster.entries import Keys
from algokart_chat.cluster.target import RedisTarget
from algokart_chat.logs import fields

log = logging.getLogger(__name__)

# How long one XREAD waits for news.  redis-py lets a cancelled command finish (so that its
# connection stays usable), so this is also how long stopping may wait for the reader.
READ_BLOCK_MS = 250
STOP_SECONDS = 2.0  # at shutdown, for what is unsent, for telling the others we stop, for a client
# After a failed try: wait up to RETRY_BASE doubling per failure, at most RETRY_CAP (full jitter),
# so that a node follows a failover soon after the Sentinels.
RETRY_BASE, RETRY_CAP = 0.05, 0.5

Connect = Callable[..., redis.Redis]  # clients.connect's signature: (target, socket_timeout, **options)


def retry_delay(failures: int) -> float:
    """Seconds to wait before the next try after ``failures`` failed ones in a row."""
    return random.uniform(0, min(RETRY_CAP, RETRY_BASE * 2 ** min(failures, 16)))


def command_deadline(node_timeout: float) -> float:
    """Seconds a command may take: long enough for a busy Redis, short enough to find a dead link."""
    return min(max(node_timeout / 4, 0.5), 5.0)


def explain(problem: BaseException) -> str:
    """Redis's answer, and what it means where it does not say (to a client that did not log in,
    a long command is a protocol error)."""
    text = str(problem)
    if "unauthenticated" in text or text.startswith("NOAUTH"):
        return f"Redis asks for a password, and the URL has none ({text})"
    if isinstance(problem, MovedError):
        return f"this is a node of a Redis Cluster: use redis+cluster://host:port, any node of it (MOVED {text})"
    return text


class Scripts:
    """The cluster's Lua scripts (``scripts``), registered on one client."""

    __slots__ = ("claim", "leave", "moderate", "presence", "register", "renew", "retire")

    def __init__(self, client: redis.Redis) -> None:
        self.register: AsyncScript = client.register_script(scripts.REGISTER)
        self.renew: AsyncScript = client.register_script(scripts.RENEW)
        self.claim: AsyncScript = client.register_script(scripts.CLAIM)
        self.leave: AsyncScript = client.register_script(scripts.LEAVE)
        self.presence: AsyncScript = client.register_script(scripts.PRESENCE)
        self.retire: AsyncScript = client.register_script(scripts.RETIRE)
        self.moderate: AsyncScript = client.register_script(scripts.MODERATE)


class RedisLink:
    """The clients of the Redis ``target`` names, for the keys of one chat cluster (``keys``)."""

    __slots__ = (
        "_connect",
        "_deadline",
        "_known_nodes",
        "_loop",
        "_options",
        "_relocating",
        "_slot_master",
        "_target",
        "keys",
        "reader",
        "scripts",
        "writer",
    )

    def __init__(
        self,
        target: RedisTarget,
        keys: Keys,
        node_timeout: float,
        loop: asyncio.AbstractEventLoop,
        connect: Connect = connect,
    ) -> None:
        self._target, self.keys, self._loop, self._connect = target, keys, loop, connect
        self._deadline = command_deadline(node_timeout)
        self._options: dict[str, Any] = {
            "socket_connect_timeout": self._deadline,
            # (older redis-py: no hints for its backoffs)
            "retry": Retry(FullJitterBackoff(cap=RETRY_CAP, base=RETRY_BASE), 2),  # type: ignore[no-untyped-call, unused-ignore]
            "protocol": 2,
        }
        # In a Redis Cluster: the master serving the slot (None: not asked yet), and every node
        # heard of.
        self._slot_master: tuple[str, int] | None = None
        self._known_nodes: list[tuple[str, int]] = []
        self._relocating: asyncio.Task[None] | None = None
        self._use(target)

    @property
    def deadline(self) -> float:
        return self._deadline

    @property
    def replicated(self) -> bool:
        """Whether the master has replicas to wait for: behind Sentinel or in a Redis Cluster."""
        return self._target.kind != "redis"

    @property
    def relocating(self) -> asyncio.Task[None] | None:
        """The search for the slot's master under way, if any (to cancel at shutdown)."""
        return self._relocating

    def _use(self, target: RedisTarget) -> None:
        """Talk to the Redis ``target`` names from now on (the scripts too)."""
        self.writer = self._connect(target, self._deadline, **self._options)
        self.reader = self._connect(target, READ_BLOCK_MS / 1000 + self._deadline, **self._options)
        self.scripts = Scripts(self.writer)

    async def find_slot_owner(self, announce: bool = True) -> None:
        """In a Redis Cluster: talk to the master that serves the cluster's slot now (and log a
        change, unless this is the start)."""
        if self._target.kind != "cluster":
            return
        owner = await slot_owner(self._target, self.keys.epoch, self._known_nodes, self._deadline, **self._options)
        if owner == self._slot_master:
            return
        self._slot_master, old = owner, (self.writer, self.reader)
        self._use(self._target.at(*owner))
        if announce:
            log.warning("The cluster's slot is served by %s:%d now", *owner, extra=fields("slot-owner"))
        await _close(old)

    def relocate_soon(self) -> None:
        """After a link failure: in a Redis Cluster, ask again which master serves the slot."""
        if self._target.kind == "cluster" and (self._relocating is None or self._relocating.done()):
            self._relocating = self._loop.create_task(self._relocate_quietly())

    async def _relocate_quietly(self) -> None:
        with contextlib.suppress(RedisError, OSError):  # no node answers: the next failure asks again
            await self.find_slot_owner()

    async def close(self) -> None:
        await _close((self.writer, self.reader))


async def _close(clients: tuple[redis.Redis, ...]) -> None:
    for client in clients:
        with contextlib.suppress(RedisError, OSError, asyncio.TimeoutError):
            await asyncio.wait_for(client.aclose(), STOP_SECONDS)
