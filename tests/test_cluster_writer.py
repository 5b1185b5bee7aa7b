"""Unit tests of the write pipeline (``cluster.writer``): one pipeline per loop iteration in the
users' order, batches and their sequence numbers, one pipeline in flight, the unsent-bytes bound,
resending after a link failure or a redirect, WAIT behind Sentinel, and what each answer means.
Fake clients: no Redis."""

from __future__ import annotations

import asyncio
import unittest
from typing import Any

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.cluster.entries import sync_record
from algokart_chat.room import JoinResult
from cluster_fakes import REDIS_PY, Parts, redis_error, require_redis_py, settle

if REDIS_PY:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import ResponseError, TryAgainError

    from algokart_chat.cluster.writer import MAX_UNSENT_BYTES, ClaimWrite, LeaveWrite, PresenceWrite


def setUpModule() -> None:
    require_redis_py()


class WriterTestCase(unittest.IsolatedAsyncioTestCase):
    url = "redis://h:6379"

    async def asyncSetUp(self) -> None:
        self.parts = Parts(self.url)
        self.node = await self.parts.join()
        self.redis = self.parts.redis
        self.written = 0
        self.answers: list[JoinResult] = []
        self.writer = self.parts.writer(self.count_written)

    def count_written(self) -> None:
        self.written += 1

    async def flushed(self) -> None:
        await settle()
        await asyncio.wait_for(self.writer.drained(), 5)

    def claim(self, name: str) -> ClaimWrite:
        token = self.parts.replica.expect_join(object(), self.answers.append)
        return ClaimWrite(token, name, name)

    def pipeline(self, index: int = -1) -> list[tuple[Any, ...]]:
        return self.redis.pipelines[index]


class PipelineTest(WriterTestCase):
    async def test_one_iteration_goes_out_as_one_pipeline_in_the_users_order(self) -> None:
        self.redis.will("EXECUTE", [b"2000-0", [b"ok"], b"2000-2", 1])
        self.writer.add_record(b"*ann 2\nhi")
        self.writer.add_record(b"*ann 2\nho")
        claim = self.claim("bob")
        self.writer.send(claim)
        self.writer.add_record(b"*ann 3\nbye")
        self.writer.send(LeaveWrite("t9", "cy", "Cy", "Quit: bye"))
        await self.flushed()
        xadd, claimed, xadd2, left = self.pipeline()
        self.assertEqual(xadd[:2], ("XADD", "{c}:events"))
        self.assertEqual((xadd[2]["s"], xadd[2]["d"], xadd[3]), (1, b"*ann 2\nhi*ann 2\nho", "0-0"))
        self.assertEqual(
            claimed, ("CLAIM", claimed[1], ["epoch1", self.node, claim.token, "bob", "bob", "0-0", "0", "", "", ""])
        )
        self.assertEqual((xadd2[2]["s"], xadd2[2]["d"]), (2, b"*ann 3\nbye"))
        self.assertEqual(
            left,
            ("LEAVE", ["{c}:users", "{c}:events", f"{{c}}:node:{self.node}"], ["cy", "t9", "Cy", "0-0", "Quit: bye"]),
        )
        self.assertEqual(self.written, 1)
        self.assertEqual(self.answers, [])  # an ok claim is answered when its join is read back

    async def test_a_rename_and_a_presence_carry_their_fields(self) -> None:
        self.redis.will("EXECUTE", [[b"ok"], 1, 1])
        self.writer.send(ClaimWrite("t2", "bo", "Bo", hidden=True, renaming=("al", "t1", "Al")))
        self.writer.send(PresenceWrite("t2", "bo", "Bo", "1"))
        self.writer.send(PresenceWrite("t2", "bo", "Bo", "a", "lunch"))
        await self.flushed()
        claimed, shown, away = self.pipeline()
        self.assertEqual(claimed[2][6:], ["1", "al", "t1", "Al"])
        self.assertEqual(shown, ("PRESENCE", ["{c}:users", "{c}:events"], ["bo", "t2", "Bo", "1", "0-0", ""]))
        self.assertEqual(away[2], ["bo", "t2", "Bo", "a", "0-0", "lunch"])

    async def test_writes_made_while_a_pipeline_is_in_flight_go_in_the_next(self) -> None:
        def meanwhile() -> list[Any]:
            self.writer.add_record(b"*ann 1\nb")
            return [b"2000-0"]

        self.redis.will("EXECUTE", meanwhile, [b"2000-1"])
        self.writer.add_record(b"*ann 1\na")
        await self.flushed()
        self.assertEqual([pipeline[0][2]["d"] for pipeline in self.redis.pipelines], [b"*ann 1\na", b"*ann 1\nb"])
        self.assertEqual([pipeline[0][2]["s"] for pipeline in self.redis.pipelines], [1, 2])
        self.assertEqual(self.written, 2)

    async def test_past_the_unsent_bound_connections_wait_until_it_is_written(self) -> None:
        self.redis.will("EXECUTE", [b"2000-0"])
        self.writer.add_record(b"x" * MAX_UNSENT_BYTES)
        self.assertFalse(self.writer.keeping_up)
        await self.flushed()
        self.assertTrue(self.writer.keeping_up)

    async def test_restart_counts_batches_from_one_and_clear_drops_the_outbox(self) -> None:
        self.writer.add_record(b"*ann 1\na")
        self.writer.clear()
        self.writer.restart()
        self.assertTrue(self.writer.keeping_up)
        self.redis.will("EXECUTE", [b"2000-0"])
        self.writer.add_record(b"*ann 1\nb")
        await self.flushed()
        self.assertEqual(len(self.redis.pipelines), 1)
        self.assertEqual((self.pipeline()[0][2]["s"], self.pipeline()[0][2]["d"]), (1, b"*ann 1\nb"))

    async def test_nothing_is_added_while_the_node_is_out(self) -> None:
        with self.assertLogs("algokart_chat.cluster.lease", "ERROR"):
            self.parts.lease.leave_cluster("cluster-reset", "a test")
        self.writer.add_record(b"*ann 1\na")
        await self.flushed()
        self.assertEqual(self.redis.pipelines, [])


class FailureTest(WriterTestCase):
    async def test_a_pipeline_that_fails_on_the_link_is_sent_again_as_is(self) -> None:
        self.redis.will(
            "EXECUTE",
            RedisConnectionError("reset"),
            [redis_error(TryAgainError, "slot moving"), 1],
            [b"2000-0", [b"ok"]],
        )
        claim = self.claim("bob")
        self.writer.add_record(b"*ann 1\na")
        self.writer.send(claim)
        with self.assertLogs("algokart_chat.cluster.lease", "WARNING") as logs:
            await self.flushed()
        self.assertEqual(len(self.redis.pipelines), 3)
        self.assertEqual(self.redis.pipelines[0], self.redis.pipelines[2])
        self.assertIn("Lost the link to Redis (reset)", logs.output[0])
        self.assertIn("Redis link back", logs.output[-1])
        self.assertEqual(self.written, 1)

    async def test_writes_for_an_old_place_are_dropped(self) -> None:
        def left_meanwhile() -> list[Any]:
            with self.assertLogs("algokart_chat.cluster.lease", "ERROR"):
                self.parts.lease.leave_cluster("cluster-reset", "a test")
            raise RedisConnectionError("reset")

        self.redis.will("EXECUTE", left_meanwhile)
        self.writer.add_record(b"*ann 1\na")
        await self.flushed()
        self.assertEqual(len(self.redis.pipelines), 1)
        self.assertEqual(self.written, 0)

    async def test_a_refused_write_is_logged_a_refused_claim_unavailable_and_a_refused_batchs_pings_answered(
        self,
    ) -> None:
        synced: list[str] = []
        token = self.parts.replica.expect_sync(lambda: synced.append("pong"))
        self.writer.add_record(sync_record(token))
        self.writer.send(self.claim("bob"))
        self.redis.will("EXECUTE", [ResponseError("OOM"), ResponseError("OOM")])
        with self.assertLogs("algokart_chat.cluster.writer", "ERROR") as logs:
            await self.flushed()
        self.assertEqual(logs.output, ["ERROR:algokart_chat.cluster.writer:Redis refused a write: OOM"] * 2)
        self.assertEqual((synced, self.answers), (["pong"], ["unavailable"]))

    async def test_a_claim_answered_taken_or_reset(self) -> None:
        self.writer.send(self.claim("bob"))
        self.writer.send(self.claim("cy"))
        self.redis.will("EXECUTE", [[b"taken"], [b"reset"]])
        with self.assertLogs("algokart_chat.cluster.lease", "ERROR") as logs:
            await self.flushed()
        self.assertEqual(self.answers, ["taken", "unavailable"])
        self.assertIn("Left the cluster: Redis lost the cluster's data", logs.output[0])
        self.assertEqual(self.parts.lease.state, "out")


class SentinelTest(WriterTestCase):
    url = "redis+sentinel://s:26379/mymaster"

    async def test_behind_sentinel_a_pipeline_ends_with_wait_and_its_answer_is_noted(self) -> None:
        self.redis.will("EXECUTE", [b"2000-0", 0])
        self.writer.add_record(b"*ann 1\na")
        with self.assertLogs("algokart_chat.cluster.lease", "WARNING") as logs:
            await self.flushed()
        self.assertEqual(self.pipeline()[-1], ("WAIT", 1, 1250))
        self.assertIn("No replica confirmed the cluster's writes (none within WAIT's time)", logs.output[0])


if __name__ == "__main__":
    unittest.main()
