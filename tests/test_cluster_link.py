"""Unit tests of the cluster's link to Redis (``cluster.link``): the clients and their deadlines,
the scripts on the writing client, the search for a Redis Cluster's slot master, the retry
delays and the one-line explanations at start.  Fake clients: no Redis."""

from __future__ import annotations

import asyncio
import unittest
from typing import Any
from unittest import mock

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.cluster.entries import Keys
from algokart_chat.cluster.target import parse_redis_url
from cluster_fakes import REDIS_PY, FakeClients, fake, redis_error, require_redis_py, settle

if REDIS_PY:
    from redis.exceptions import AuthenticationError, MovedError
    from redis.exceptions import ConnectionError as RedisConnectionError

    from algokart_chat.cluster.link import (
        READ_BLOCK_MS,
        RETRY_CAP,
        RedisLink,
        command_deadline,
        explain,
        retry_delay,
    )


def setUpModule() -> None:
    require_redis_py()


class PureTest(unittest.TestCase):
    def test_retry_delay_grows_with_failures_up_to_its_cap(self) -> None:
        for failures in (1, 5, 20, 1000):
            delays = [retry_delay(failures) for _ in range(200)]
            self.assertTrue(all(0 <= delay <= RETRY_CAP for delay in delays))
        self.assertLessEqual(max(retry_delay(1) for _ in range(200)), 0.1)
        self.assertGreater(max(retry_delay(10) for _ in range(200)), 0.1)

    def test_a_command_deadline_is_a_quarter_of_the_node_timeout_between_half_a_second_and_five(self) -> None:
        self.assertEqual(command_deadline(10), 2.5)
        self.assertEqual(command_deadline(1), 0.5)
        self.assertEqual(command_deadline(60), 5.0)

    def test_explain_says_what_a_refusal_at_start_means(self) -> None:
        self.assertEqual(
            explain(AuthenticationError("NOAUTH Authentication required.")),
            "Redis asks for a password, and the URL has none (NOAUTH Authentication required.)",
        )
        self.assertEqual(
            explain(redis_error(MovedError, "1234 10.0.0.5:7001")),
            "this is a node of a Redis Cluster: use redis+cluster://host:port, any node of it "
            "(MOVED 1234 10.0.0.5:7001)",
        )
        self.assertEqual(explain(RedisConnectionError("refused")), "refused")


class LinkTest(unittest.IsolatedAsyncioTestCase):
    def link(self, url: str, clients: FakeClients) -> RedisLink:
        return RedisLink(parse_redis_url(url), Keys("c"), 10.0, asyncio.get_running_loop(), clients)

    async def test_two_clients_the_reader_waiting_longer_for_its_blocking_read(self) -> None:
        clients = FakeClients()
        link = self.link("redis://h:6379", clients)
        self.assertEqual([fake(link.writer), fake(link.reader)], clients.made)
        self.assertEqual(fake(link.writer).socket_timeout, 2.5)
        self.assertEqual(fake(link.reader).socket_timeout, 2.5 + READ_BLOCK_MS / 1000)
        self.assertEqual(len(fake(link.writer).scripts), 7)  # every script, on the writing client
        self.assertEqual(fake(link.reader).scripts, [])
        self.assertFalse(link.replicated)

    async def test_only_sentinel_and_redis_cluster_have_replicas_to_wait_for(self) -> None:
        self.assertTrue(self.link("redis+sentinel://s:26379/mymaster", FakeClients()).replicated)
        self.assertTrue(self.link("redis+cluster://n:7000", FakeClients()).replicated)

    async def test_one_redis_has_no_slot_to_look_for(self) -> None:
        clients = FakeClients()
        link = self.link("redis://h:6379", clients)
        with mock.patch("algokart_chat.cluster.link.slot_owner") as slot_owner:
            await link.find_slot_owner()
            link.relocate_soon()
        slot_owner.assert_not_called()
        self.assertIsNone(link.relocating)
        self.assertEqual(len(clients.made), 2)

    async def test_a_new_slot_master_gets_new_clients_and_the_old_ones_are_closed(self) -> None:
        clients = FakeClients()
        link = self.link("redis+cluster://n1:7000,n2:7000", clients)
        first = [fake(link.writer), fake(link.reader)]
        owners = [("n2", 7001), ("n2", 7001), ("n3", 7002)]

        async def slot_owner(*args: Any, **options: Any) -> tuple[str, int]:
            return owners.pop(0)

        with mock.patch("algokart_chat.cluster.link.slot_owner", slot_owner), self.assertNoLogs("algokart_chat"):
            await link.find_slot_owner(announce=False)
        self.assertTrue(all(client.closed for client in first))
        self.assertEqual(fake(link.writer).target, parse_redis_url("redis+cluster://n1:7000,n2:7000").at("n2", 7001))
        at_n2 = [fake(link.writer), fake(link.reader)]
        with mock.patch("algokart_chat.cluster.link.slot_owner", slot_owner):
            await link.find_slot_owner()  # the same master: nothing changes
            self.assertEqual([fake(link.writer), fake(link.reader)], at_n2)
            with self.assertLogs("algokart_chat.cluster.link", "WARNING") as logs:
                link.relocate_soon()
                link.relocate_soon()  # one search at a time
                await settle()
        self.assertEqual(
            logs.output, ["WARNING:algokart_chat.cluster.link:The cluster's slot is served by n3:7002 now"]
        )
        self.assertEqual(len(clients.made), 6)
        self.assertTrue(all(client.closed for client in at_n2))

    async def test_a_search_nobody_answers_is_left_for_the_next_failure(self) -> None:
        link = self.link("redis+cluster://n1:7000", FakeClients())
        failing = mock.AsyncMock(side_effect=RedisConnectionError("no node answers"))
        with mock.patch("algokart_chat.cluster.link.slot_owner", failing):
            link.relocate_soon()
            await settle()
            self.assertTrue(link.relocating is not None and link.relocating.done())
            link.relocate_soon()
            await settle()
        self.assertEqual(failing.await_count, 2)

    async def test_close_closes_both_clients_and_never_raises(self) -> None:
        link = self.link("redis://h:6379", FakeClients(lambda client: client.will("CLOSE", OSError("gone"))))
        await link.close()
        self.assertTrue(fake(link.writer).closed and fake(link.reader).closed)


if __name__ == "__main__":
    unittest.main()
