"""Fakes for the unit tests of the cluster room's parts: a redis-py client that answers from canned
replies and records what it was sent, and a server that records what the room tells it.

No socket and no Redis: the parts' tests need redis-py only to import the modules under test.
``require_redis_py`` skips them where it is missing (fails, where CI requires the cluster tests).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import unittest
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from support import REQUIRE_CLUSTER_TESTS

if TYPE_CHECKING:
    import redis.asyncio as redis

    from algokart_chat.cluster.entries import User
    from algokart_chat.cluster.lease import ResetReason
    from algokart_chat.cluster.reader import StreamReader
    from algokart_chat.cluster.replica import Replica
    from algokart_chat.cluster.target import RedisTarget
    from algokart_chat.cluster.window import StreamWindow
    from algokart_chat.cluster.writer import Writer

REDIS_PY = importlib.util.find_spec("redis") is not None


def redis_error(kind: type[Exception], message: str) -> Exception:
    """One of redis-py's errors (called through ``type[Exception]``: older redis-py gives their
    constructors no type hints)."""
    return kind(message)


def require_redis_py() -> None:
    if not REDIS_PY:
        missing = "redis-py is not installed (pip install -r requirements-cluster.txt)"
        if os.environ.get(REQUIRE_CLUSTER_TESTS):
            raise AssertionError(f"{REQUIRE_CLUSTER_TESTS} is set but {missing}")
        raise unittest.SkipTest(f"cluster tests skipped: {missing}")


Command = tuple[Any, ...]
ROLE_ONE_REPLICA = [b"master", 0, [[b"10.0.0.6", b"6379", b"0"]]]  # ROLE's reply: a master with a replica


class FakeRedis:
    """A ``redis.asyncio.Redis`` as far as the cluster room uses it.  Each command takes the next
    reply queued for its name (``will``); a queued exception is raised instead.  What was sent is
    in ``sent``; each executed pipeline's commands in ``pipelines``."""

    def __init__(self, target: RedisTarget | None = None, socket_timeout: float = 0.0) -> None:
        self.target, self.socket_timeout = target, socket_timeout
        self.replies: dict[str, list[Any]] = {}
        self.sent: list[Command] = []
        self.pipelines: list[list[Command]] = []
        self.closed = False
        self.scripts: list[str] = []

    def will(self, name: str, *replies: Any) -> None:
        """Queue replies for the command (or script) ``name``; ``EXECUTE`` for a pipeline."""
        self.replies.setdefault(name, []).extend(replies)

    def reply(self, name: str) -> Any:
        queued = self.replies.get(name)
        if not queued:
            raise AssertionError(f"no reply queued for {name}")
        reply = queued.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        if callable(reply):  # computed when the command is sent
            return reply()
        return reply

    def register_script(self, source: str) -> FakeScript:
        self.scripts.append(source)
        return FakeScript(self, _script_name(source))

    def pipeline(self, transaction: bool = True) -> FakePipeline:
        return FakePipeline(self)

    async def execute_command(self, *args: Any) -> Any:
        self.sent.append(args)
        return self.reply(str(args[0]))

    async def xread(self, streams: dict[str, bytes], count: int | None = None, block: int | None = None) -> Any:
        self.sent.append(("XREAD", streams, count, block))
        return self.reply("XREAD")

    async def aclose(self) -> None:
        self.closed = True
        if self.replies.get("CLOSE"):  # a close that fails
            self.reply("CLOSE")


class FakePipeline:
    def __init__(self, client: FakeRedis) -> None:
        self.client = client
        self.commands: list[Command] = []

    def xadd(self, name: str, fields: dict[str, Any], minid: str | None = None, approximate: bool = True) -> None:
        self.commands.append(("XADD", name, fields, minid))

    def execute_command(self, *args: Any) -> None:
        self.commands.append(args)

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        self.client.pipelines.append(self.commands)
        results: list[Any] = self.client.reply("EXECUTE")
        return results


class FakeScript:
    def __init__(self, client: FakeRedis, name: str) -> None:
        self.client, self.name = client, name

    async def __call__(self, keys: list[str], args: list[Any], client: FakePipeline | None = None) -> Any:
        if client is not None:
            client.commands.append((self.name, keys, args))
            return None
        self.client.sent.append((self.name, keys, args))
        return self.client.reply(self.name)


def _script_name(source: str) -> str:
    from algokart_chat.cluster import scripts

    names = {
        getattr(scripts, name): name
        for name in ("REGISTER", "RENEW", "CLAIM", "LEAVE", "PRESENCE", "RETIRE", "MODERATE")
    }
    return names[source]


class FakeClients:
    """A ``connect`` for ``RedisLink``: every client it makes, newest last."""

    def __init__(self, prepare: Callable[[FakeRedis], None] | None = None) -> None:
        self.made: list[FakeRedis] = []
        self.prepare = prepare

    def __call__(self, target: RedisTarget, socket_timeout: float, **options: Any) -> redis.Redis:
        client = FakeRedis(target, socket_timeout)
        if self.prepare is not None:
            self.prepare(client)
        self.made.append(client)
        return cast("redis.Redis", client)


def fake(client: redis.Redis) -> FakeRedis:
    """The fake behind a client a ``FakeClients`` made."""
    return cast(FakeRedis, client)


class Server:
    """What the cluster room tells the server (``room_redis.RoomServer``), in order."""

    def __init__(self) -> None:
        self.heard: list[str] = []
        self.allowed = True
        self.waiting: list[Callable[[], None]] = []
        self.fanned_out = 0

    def departed(self, name: str, reason: str | None = None) -> None:
        self.heard.append(f"departed {name}" if reason is None else f"departed {name} ({reason})")

    def announce_departures(self) -> None:
        self.heard.append("announce")

    def room_ready(self) -> None:
        self.heard.append("ready")

    def room_reset(self, reason: str) -> None:
        self.heard.append(f"reset {reason}")

    def fan_out_allowed(self) -> bool:
        return self.allowed

    def when_fan_out_allowed(self, resume: Callable[[], None]) -> None:
        self.waiting.append(resume)

    def note_fan_out(self, size: int) -> None:
        self.fanned_out += size

    def allow_fan_out(self) -> None:
        self.allowed = True
        waiting, self.waiting = self.waiting, []
        for resume in waiting:
            resume()


class Holder:
    """What the lease tells the room (``lease.LeaseHolder``), in order; with a replica and a
    window, it also starts and clears them as the room does."""

    def __init__(self, replica: Replica[Any] | None = None, window: StreamWindow | None = None) -> None:
        self.replica, self.window = replica, window
        self.heard: list[str] = []
        self.users: list[User] = []

    def joined(self, node: str, last_id: bytes, users: list[User]) -> None:
        self.heard.append(f"joined {node} at {last_id.decode()}")
        self.users = users
        if self.window is not None:
            self.window.restart(last_id)
        if self.replica is not None:
            self.replica.start(node, users)

    def left(self, reason: ResetReason) -> None:
        self.heard.append(f"left {reason}")
        if self.replica is not None:
            self.replica.clear()

    def link_back(self) -> None:
        self.heard.append("link back")

    def describe(self) -> str:
        return "Cluster c on Redis h:6379/0"


class Parts:
    """The parts of one node of cluster ``c`` on fake clients, wired as ``RedisRoom`` wires them,
    with ``Holder`` and ``Server`` in the room's and the server's place."""

    def __init__(self, url: str = "redis://h:6379", node_timeout: float = 10.0) -> None:
        from algokart_chat.cluster.entries import Keys
        from algokart_chat.cluster.lease import Lease, Replication
        from algokart_chat.cluster.link import RedisLink
        from algokart_chat.cluster.replica import Replica
        from algokart_chat.cluster.target import parse_redis_url
        from algokart_chat.cluster.window import StreamWindow, history_ms

        self.loop = asyncio.get_running_loop()
        self.link = RedisLink(parse_redis_url(url), Keys("c"), node_timeout, self.loop, FakeClients())
        self.redis, self.stream = fake(self.link.writer), fake(self.link.reader)
        self.window = StreamWindow(history_ms(node_timeout))
        self.replication = Replication(self.link)
        self.server = Server()
        self.replica: Replica[Any] = Replica(self.server)
        self.holder = Holder(self.replica, self.window)
        self.lease = Lease(self.link, node_timeout, self.window, self.replication, self.holder, self.loop)

    def reader(self) -> StreamReader:
        from algokart_chat.cluster.reader import StreamReader

        return StreamReader(self.link, self.lease, self.window, self.replica, self.server, self.loop)

    def writer(self, written: Callable[[], None]) -> Writer:
        """A writer that calls ``written`` after each pipeline that went through."""
        from algokart_chat.cluster.writer import Writer

        return Writer(self.link, self.lease, self.window, self.replication, self.replica, written, self.loop)

    async def join(self, users: list[bytes] | None = None, last_id: bytes = b"1000-0") -> str:
        """Register (the lease) with a snapshot of ``users``; this node's id."""
        if self.replication.wait_ms:
            self.redis.will("ROLE", ROLE_ONE_REPLICA)
        self.redis.will("REGISTER", [b"epoch1", last_id, users or []])
        await self.lease.register()
        return self.lease.node


async def settle(rounds: int = 5) -> None:
    """Let the tasks the code under test started run as far as they can."""
    for _ in range(rounds):
        await asyncio.sleep(0)
