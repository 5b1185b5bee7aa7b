"""Unit tests of the cluster's redis-py clients (``cluster.clients``), no Redis needed (but
redis-py: skipped without it, as the cluster tests are): the client ``connect`` makes for each
kind of target, and ``slot_owner`` asking the nodes it knows which master serves the chat
cluster's slot, on fake nodes.  On real deployments (Sentinel, a Redis Cluster, TLS):
test_cluster_deployments."""

from __future__ import annotations

import unittest
from typing import Any
from unittest import mock

from support import skip_without_cluster

from algokart_chat.cluster.target import parse_redis_url


class FakeNode:
    """A Redis Cluster node's answers to ``CLUSTER KEYSLOT`` and ``CLUSTER SLOTS``, or a failure."""

    def __init__(self, slots: list[Any] | None) -> None:
        self.slots, self.closed = slots, False

    async def execute_command(self, *words: str) -> Any:
        if self.slots is None:
            raise ConnectionRefusedError("down")
        return 7 if words[1] == "KEYSLOT" else self.slots

    async def aclose(self) -> None:
        self.closed = True


def node(host: str, port: int) -> list[Any]:
    return [host.encode(), port, b"id"]


class ConnectTest(unittest.TestCase):
    def setUp(self) -> None:
        skip_without_cluster()

    def test_one_redis_its_address_and_options(self) -> None:
        from algokart_chat.cluster.clients import connect

        client = connect(parse_redis_url("redis://:secret@10.0.0.5:6380/2"), 1.5)
        options = client.connection_pool.connection_kwargs
        self.assertEqual((options["host"], options["port"], options["db"]), ("10.0.0.5", 6380, 2))
        self.assertEqual((options["password"], options["socket_timeout"]), ("secret", 1.5))

    def test_behind_sentinel_the_master_of_its_service(self) -> None:
        from redis.asyncio.sentinel import SentinelConnectionPool

        from algokart_chat.cluster.clients import connect

        client = connect(parse_redis_url("redis+sentinel://s1:26379,s2/chat/1"), 1.5)
        self.assertIsInstance(client.connection_pool, SentinelConnectionPool)
        self.assertEqual(client.connection_pool.service_name, "chat")  # type: ignore[attr-defined]

    def test_every_redirect_is_a_link_error(self) -> None:
        from algokart_chat.cluster.clients import LINK_ERRORS, REDIRECTS

        self.assertLessEqual(set(REDIRECTS), set(LINK_ERRORS))
        self.assertIn(OSError, LINK_ERRORS)


class SlotOwnerTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        skip_without_cluster()

    async def owner(self, nodes: dict[tuple[str, int], FakeNode], known: list[tuple[str, int]]) -> tuple[str, int]:
        from algokart_chat.cluster import clients

        def connect(target: Any, socket_timeout: float, **options: Any) -> FakeNode:
            return nodes[target.hosts[0]]

        with mock.patch.object(clients, "connect", connect):
            return await clients.slot_owner(parse_redis_url("redis+cluster://a:1,b:2"), "{chat}:x", known, 1.0)

    async def test_the_first_node_that_answers_names_the_master_and_every_node(self) -> None:
        slots = [[0, 5, node("m1", 1), node("r1", 9)], [6, 16383, node("", 3), node("r2", 9)]]
        nodes = {("a", 1): FakeNode(None), ("b", 2): FakeNode(slots)}
        known: list[tuple[str, int]] = []
        self.assertEqual(await self.owner(nodes, known), ("b", 3))  # (no host: the one that answered)
        self.assertEqual(known, [("m1", 1), ("r1", 9), ("b", 3), ("r2", 9)])
        self.assertTrue(all(fake.closed for fake in nodes.values()))

    async def test_the_nodes_known_are_asked_first(self) -> None:
        nodes = {("k", 5): FakeNode([[0, 16383, node("k", 5)]]), ("a", 1): FakeNode(None)}
        self.assertEqual(await self.owner(nodes, [("k", 5)]), ("k", 5))
        self.assertFalse(nodes["a", 1].closed)  # (never asked)

    async def test_no_answer_raises_the_last_failure_and_no_master_a_cluster_down(self) -> None:
        from redis.exceptions import ClusterDownError

        down = {("a", 1): FakeNode(None), ("b", 2): FakeNode(None)}
        with self.assertRaises(ConnectionRefusedError):
            await self.owner(down, [])
        unserved = {("a", 1): FakeNode(None), ("b", 2): FakeNode([[0, 5, node("m1", 1)]])}
        with self.assertRaisesRegex(ClusterDownError, "no master serves slot 7"):
            await self.owner(unserved, [])


if __name__ == "__main__":
    unittest.main()
