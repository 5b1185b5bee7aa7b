"""Unit tests of this node's place in the cluster (``cluster.lease``): registering and the snapshot,
renewals and what their answers mean, the link going down and back, leaving and joining again,
and the replica count behind Sentinel.  Fake clients: no Redis."""

from __future__ import annotations

import asyncio
import contextlib
import unittest
from unittest import mock

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.cluster.entries import Keys
from algokart_chat.cluster.target import parse_redis_url
from cluster_fakes import REDIS_PY, ROLE_ONE_REPLICA, FakeClients, Parts, fake, require_redis_py, settle

if REDIS_PY:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import ResponseError

    from algokart_chat.cluster.lease import Replication, snapshot_users
    from algokart_chat.cluster.link import RedisLink

NO_REPLICA = "No replica confirmed the cluster's writes (the master has no replica): a failover now could lose them"


def setUpModule() -> None:
    require_redis_py()


class SnapshotTest(unittest.TestCase):
    def test_users_come_in_login_order_with_hidden_ones_marked(self) -> None:
        values = [b"20-0 n1 t2 bob h", b"3-1 n2 t1 alice", b"20-10 n1 t3 carol"]
        self.assertEqual(
            snapshot_users(values),
            [("alice", "t1", False, None), ("bob", "t2", True, None), ("carol", "t3", False, None)],
        )

    def test_a_malformed_record_is_logged_and_skipped(self) -> None:
        with self.assertLogs("algokart_chat.cluster.lease", "WARNING") as logs:
            users = snapshot_users([b"3-1 n2 t1 alice", b"nonsense", b"4-0 n1 t2 bob x", b"\xff"])
        self.assertEqual(users, [("alice", "t1", False, None)])
        self.assertEqual(len(logs.output), 3)
        self.assertIn("Skipped a malformed user record in Redis: b'nonsense'", logs.output[0])


class LeaseTestCase(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self) -> None:
        self.parts = Parts("redis+sentinel://s:26379/mymaster")
        self.loop, self.lease, self.redis = self.parts.loop, self.parts.lease, self.parts.redis
        self.replication, self.holder = self.parts.replication, self.parts.holder

    async def register(self, users: list[bytes] | None = None) -> None:
        await self.parts.join(users)

    async def renew(self, *reply: object) -> None:
        self.redis.will("ROLE", ROLE_ONE_REPLICA)
        self.redis.will("RENEW", list(reply))
        await self.lease._renew()

    def at(self, seconds: float) -> contextlib.AbstractContextManager[object]:
        """The loop's clock reads ``seconds`` (for what the lease measures with it)."""
        return mock.patch.object(self.loop, "time", return_value=seconds)


class RegisterTest(LeaseTestCase):
    async def test_registering_takes_a_lease_and_gives_the_holder_the_room(self) -> None:
        await self.register([b"5-0 other-1 t1 alice"])
        node = self.lease.node
        self.assertRegex(node, r"^[\w-]+-\d+-[0-9a-f]{6}-1$")
        self.assertEqual(self.holder.heard, [f"joined {node} at 1000-0"])
        self.assertEqual(self.holder.users, [("alice", "t1", False, None)])
        self.assertEqual((self.lease.state, self.lease.epoch, self.lease.incarnation), ("up", "epoch1", 1))
        self.assertTrue(self.lease.joined.is_set())
        name, keys, args = self.redis.sent[-1]
        self.assertEqual(
            (name, keys), ("REGISTER", ["{c}:epoch", "{c}:nodes", "{c}:events", "{c}:users", "{c}:bans", "{c}:mutes"])
        )
        self.assertEqual(args[1:], [node, 10_000, "{c}:node:", "0-0", ""])  # no node id before

    async def test_registering_again_is_a_new_node_that_retires_the_old_one(self) -> None:
        await self.register()
        first = self.lease.node
        with self.assertLogs("algokart_chat.cluster.lease", "ERROR"):
            self.lease.leave_cluster("cluster-reset", "a test")
        await self.register()
        self.assertTrue(self.lease.node.endswith("-3"))  # leaving was an incarnation too
        self.assertEqual(self.redis.sent[-1][2][-1], first)

    async def test_leaving_tells_the_holder_once_and_drops_what_was_in_flight(self) -> None:
        await self.register()
        with self.assertLogs("algokart_chat.cluster.lease", "ERROR") as logs:
            self.lease.leave_cluster("cluster-unavailable", "a test")
            self.lease.leave_cluster("cluster-reset", "again")
        self.assertEqual(
            logs.output, ["ERROR:algokart_chat.cluster.lease:Left the cluster: a test; closing every connection"]
        )
        self.assertEqual(self.holder.heard[1:], ["left cluster-unavailable"])
        self.assertEqual((self.lease.state, self.lease.incarnation), ("out", 2))
        self.assertFalse(self.lease.joined.is_set())

    async def test_the_keeper_joins_again_while_out(self) -> None:
        await self.register()
        self.redis.will("ROLE", ROLE_ONE_REPLICA, ROLE_ONE_REPLICA)
        self.redis.will("REGISTER", RedisConnectionError("refused"), [b"epoch1", b"2000-0", []])
        with self.assertLogs("algokart_chat.cluster.lease", "WARNING") as logs:
            self.lease.leave_cluster("cluster-reset", "a test")
            keeper = self.loop.create_task(self.lease.keep())
            await asyncio.wait_for(self.lease.joined.wait(), 5)
            await settle()
        self.lease.stopping = True
        keeper.cancel()
        self.assertEqual(self.lease.state, "up")
        self.assertIn("Cannot rejoin the cluster yet (refused); retrying", logs.output[1])
        self.assertIn("Rejoined the cluster: Cluster c on Redis h:6379/0", logs.output[2])

    async def test_retiring_names_this_node(self) -> None:
        await self.register()
        self.redis.will("RETIRE", 0)
        await self.lease.retire()
        self.assertEqual(
            self.redis.sent[-1],
            ("RETIRE", ["{c}:nodes", "{c}:events", "{c}:users"], [self.lease.node, "{c}:node:", "0-0"]),
        )


class RenewTest(LeaseTestCase):
    async def test_a_renewal_answered_ok_keeps_the_node_in(self) -> None:
        await self.register()
        await self.renew(b"ok", b"0-0")
        self.assertEqual(self.lease.state, "up")
        self.assertEqual(self.redis.sent[-2][2][:2], ["epoch1", self.lease.node])

    async def test_an_expired_lease_a_lost_epoch_or_a_stream_trimmed_past_the_reader_resets(self) -> None:
        for reply, why in [
            ((b"expired",), "this node's lease ran out (was it paused or cut off?)"),
            ((b"reset",), "Redis lost the cluster's data"),
            ((b"ok", b"1000-1"), "the event stream was trimmed past what this node had read"),
        ]:
            with self.subTest(why=why):
                await self.register()
                with self.assertLogs("algokart_chat.cluster.lease", "ERROR") as logs:
                    await self.renew(*reply)
                self.assertIn(f"Left the cluster: {why}", logs.output[0])
                self.assertEqual(self.holder.heard[-1], "left cluster-reset")

    async def test_a_renewal_redis_refuses_is_logged_once_per_episode(self) -> None:
        await self.register()
        with self.assertLogs("algokart_chat.cluster.lease", "ERROR") as logs:
            for _ in range(3):
                self.redis.will("RENEW", ResponseError("WRONGTYPE"))
                await self.lease._renew()
            await self.renew(b"ok", b"0-0")
            self.redis.will("RENEW", ResponseError("WRONGTYPE"))
            await self.lease._renew()
        self.assertEqual(len(logs.output), 2)
        self.assertEqual(self.lease.state, "up")


class LinkStateTest(LeaseTestCase):
    def failed(self, seconds: float, problem: str = "unreachable") -> None:
        """A command failed on the link when the loop's clock read ``seconds``."""
        with self.at(seconds):
            self.lease.link_failed(OSError(problem))

    async def test_a_failure_takes_the_link_down_once_and_a_success_brings_it_back(self) -> None:
        await self.register()
        with self.assertLogs("algokart_chat.cluster.lease", "WARNING") as logs:
            self.failed(100.0, "reset by peer")
            self.failed(101.0, "refused")
            self.assertEqual(self.lease.state, "down")
            with self.at(102.5):
                self.lease.link_ok()
                self.lease.link_ok()
        self.assertEqual(
            [line.split(":", 2)[2] for line in logs.output],
            [
                "Lost the link to Redis (reset by peer): connections wait while it reconnects",
                "Redis link back after 2.5 s",
            ],
        )
        self.assertEqual(self.holder.heard[1:], ["link back"])
        self.assertEqual(self.lease.state, "up")

    async def test_down_for_longer_than_the_node_timeout_since_the_last_renewal_is_out(self) -> None:
        with self.at(50.0):
            await self.register()
        with self.assertLogs("algokart_chat.cluster.lease", "WARNING") as logs:
            for seconds in (55.0, 60.0):
                self.failed(seconds)
            self.assertEqual(self.lease.state, "down")  # 10 s since the renewal: not more yet
            self.failed(60.5)
        self.assertEqual(self.lease.state, "out")
        self.assertIn("Left the cluster: Redis unreachable for more than 10 s", logs.output[-1])
        self.assertEqual(self.holder.heard[-1], "left cluster-unavailable")

    async def test_a_renewal_that_fails_on_the_link_takes_it_down(self) -> None:
        await self.register()
        self.redis.will("RENEW", RedisConnectionError("timeout"))
        with self.assertLogs("algokart_chat.cluster.lease", "WARNING"):
            await self.lease._renew()
        self.assertEqual(self.lease.state, "down")


class ReplicationTest(LeaseTestCase):
    async def test_one_redis_has_no_replica_to_wait_for_nor_to_count(self) -> None:
        link = RedisLink(parse_redis_url("redis://h"), Keys("c"), 10.0, self.loop, FakeClients())
        replication = Replication(link)
        await replication.count()
        self.assertEqual(fake(link.writer).sent, [])
        self.assertFalse(replication.waiting)

    async def test_writes_wait_for_a_replica_while_the_master_has_one(self) -> None:
        self.assertEqual(self.replication.wait_ms, 1250)  # half a command's deadline
        self.redis.will("ROLE", [b"master", 0, []], ROLE_ONE_REPLICA)
        with self.assertLogs("algokart_chat.cluster.lease", "WARNING") as logs:
            await self.replication.count()
        self.assertEqual(logs.output, [f"WARNING:algokart_chat.cluster.lease:{NO_REPLICA}"])
        self.assertFalse(self.replication.waiting)
        await self.replication.count()
        self.assertTrue(self.replication.waiting)

    async def test_a_master_alone_from_the_start_is_not_news(self) -> None:
        self.redis.will("ROLE", [b"master", 0, []])
        with self.assertNoLogs("algokart_chat.cluster.lease"):
            await self.replication.count(news=False)
        self.assertFalse(self.replication.waiting)

    async def test_writes_no_replica_confirmed_are_logged_once_per_episode(self) -> None:
        with self.assertLogs("algokart_chat.cluster.lease", "WARNING") as logs:
            self.replication.note(1)
            self.replication.note(0)
            self.replication.note(0)
            self.replication.note(1)
            self.replication.note(ResponseError("NOREPLICAS"))
        self.assertEqual(
            [line.split(":", 2)[2] for line in logs.output],
            [
                "No replica confirmed the cluster's writes (none within WAIT's time): a failover now could lose them",
                "No replica confirmed the cluster's writes (Redis refused it: NOREPLICAS): a failover now could lose them",
            ],
        )

    async def test_a_role_redis_refuses_counts_as_unconfirmed_and_a_link_failure_is_raised(self) -> None:
        self.redis.will("ROLE", ResponseError("NOPERM"), RedisConnectionError("gone"))
        with self.assertLogs("algokart_chat.cluster.lease", "WARNING"):
            await self.replication.count()
        with self.assertRaises(RedisConnectionError):
            await self.replication.count()


if __name__ == "__main__":
    unittest.main()
