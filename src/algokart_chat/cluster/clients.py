"""redis-py clients for a ``RedisTarget``, and which Redis Cluster node serves the cluster's keys.

- One Redis: a client of it.  Behind Sentinel: redis-py's Sentinel client, which asks the
  Sentinels where the master is each time it connects, so it follows a failover by itself.
- A Redis Cluster: every key of a chat cluster carries the hash tag ``{name}``, so all of them
  live in one slot, on one master.  ``slot_owner`` asks the nodes it knows (those of the URL, then
  those the last answer named) which master serves that slot (``CLUSTER KEYSLOT``, ``CLUSTER
  SLOTS``: Redis 3+, Valkey); the room talks to that master with a plain client (pipelines and
  scripts as on one Redis) and asks again after a link failure or a redirect (``MOVED``, ``ASK``,
  ``CLUSTERDOWN``, ``TRYAGAIN``: ``LINK_ERRORS``), which is how it follows a failover or a slot
  moved by resharding.
"""

from __future__ import annotations

import contextlib
from typing import Any

import redis.asyncio as redis
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import AskError, ClusterDownError, RedisError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from algokart_chat.cluster.target import RedisTarget

# What a command may fail with that another try (after finding the master again) may not.
LINK_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError, AskError, ClusterDownError, TryAgainError)
REDIRECTS = (AskError, ClusterDownError, TryAgainError)  # (MovedError is an AskError)


def connect(target: RedisTarget, socket_timeout: float, **options: Any) -> redis.Redis:
    """A client of the Redis ``target`` names: that server, or the master its Sentinels name.
    (For a Redis Cluster, ``target`` is the one master that ``slot_owner`` found.)"""
    options.update(target.connection_options())
    if target.kind == "sentinel":
        asking = {name: options[name] for name in options if name.startswith(("socket_", "ssl"))}
        sentinel = Sentinel(  # type: ignore[no-untyped-call, unused-ignore]  # (older redis-py: no hints)
            list(target.hosts), sentinel_kwargs=asking, socket_timeout=socket_timeout, **options
        )
        client: redis.Redis = sentinel.master_for(target.service)
        return client
    host, port = target.hosts[0]
    return redis.Redis(host=host, port=port, socket_timeout=socket_timeout, **options)


async def slot_owner(
    target: RedisTarget, key: str, known: list[tuple[str, int]], socket_timeout: float, **options: Any
) -> tuple[str, int]:
    """The address of the master serving ``key``'s slot in the Redis Cluster of ``target``, as the
    first of ``known`` (then ``target.hosts``) that answers says.  ``known`` is updated with every
    node that answer names.  Raises the last failure if none answers."""
    failure: BaseException = RedisConnectionError("no node of the Redis Cluster given")
    for host, port in [*known, *(address for address in target.hosts if address not in known)]:
        client = connect(target.at(host, port), socket_timeout, **options)
        try:
            slot = int(await client.execute_command("CLUSTER", "KEYSLOT", key))  # type: ignore[no-untyped-call]
            ranges = await client.execute_command("CLUSTER", "SLOTS")  # type: ignore[no-untyped-call]
        except (RedisError, OSError) as problem:
            failure = problem
            continue
        finally:
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()
        owner: tuple[str, int] | None = None
        for start, end, master, *replicas in ranges:
            for node in (master, *replicas):
                address = (node[0].decode() or host, int(node[1]))
                if address not in known:
                    known.append(address)
            if start <= slot <= end:
                owner = (master[0].decode() or host, int(master[1]))
        if owner is not None:
            return owner
        # (older redis-py: no hints for its exceptions)
        failure = ClusterDownError(f"no master serves slot {slot} (of {key})")  # type: ignore[no-untyped-call, unused-ignore]
    raise failure
