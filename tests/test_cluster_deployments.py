"""Cluster mode on the Redis deployments of docs/CLUSTER.md, each with real servers on free loopback
ports: over TLS as the ACL user written in docs/CLUSTER.md (and what a node says when the password,
a permission or the certificate is wrong), behind Sentinel with the master killed mid-conversation,
and on a Redis Cluster, through any of its nodes, with the master serving the slot killed.

(The whole cluster suite also runs against each deployment: ALGOKART_REDIS_DEPLOYMENT, tests/support/redis_deployments.py.)
"""

from __future__ import annotations

import signal
import unittest

from support import (
    ADMIN_PASSWORD,
    NODE_PASSWORD,
    NODE_USER,
    Client,
    Cluster,
    RedisCluster,
    RedisServer,
    SentinelRedis,
    cluster_acl,
    err,
    run_server,
    skip_without_cluster,
    unique_name,
)


class DeploymentTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        skip_without_cluster()

    def user(self, cluster: Cluster, node: int, name: str | None = None) -> Client:
        client = cluster.nodes[node].client()
        self.addCleanup(client.close)
        return client.login(name)

    def assert_cannot_start(self, url: str, *expected: str, cluster_name: str = "algokart") -> None:
        result = run_server("--port", "0", "--redis-url", url, "--cluster-name", cluster_name)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn(f"cannot join cluster {cluster_name} on Redis 127.0.0.1:", result.stderr)
        for text in expected:
            self.assertIn(text, result.stderr)
        self.assertNotIn(NODE_PASSWORD, result.stderr)


class TLSAndACLTest(DeploymentTestCase):
    """Redis over TLS only; the nodes log in as the user of docs/CLUSTER.md's ACL line, as written
    there (for the cluster name ``algokart``)."""

    redis: RedisServer

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.redis = RedisServer(tls=True)
        cls.redis.command(*cluster_acl(NODE_PASSWORD))

    @classmethod
    def tearDownClass(cls) -> None:
        cls.redis.stop()

    def test_two_nodes_as_the_documented_user(self) -> None:
        self.assertIn(f"rediss://{NODE_USER}:", self.redis.url)
        cluster = Cluster(2, redis=self.redis, name="algokart", owns_redis=False)
        self.addCleanup(cluster.stop)
        alice, bob = self.user(cluster, 0), self.user(cluster, 1)
        alice.send("MSG over TLS", f"DM {bob.name} just you")
        bob.expect(f"MSG {alice.name} over TLS", f"DM {alice.name} just you")
        bob.send("WHO")
        self.assertEqual(bob.sync(), [f"USER {alice.name}", f"USER {bob.name}"])
        alice.send("QUIT")
        self.assertEqual(alice.read_until_closed(), ["Goodbye!"])
        bob.expect(f"INFO {alice.name} disconnected")
        self.assertEqual(cluster.stop(), 0)
        self.assertEqual(self.redis.command("ZCARD", "{algokart}:nodes"), 0, "both nodes retired themselves")

    def test_a_password_without_a_user_works_too(self) -> None:
        url = self.redis.url.replace(f"{NODE_USER}:{NODE_PASSWORD}@", f":{ADMIN_PASSWORD}@")
        cluster = Cluster(0, redis=self.redis, owns_redis=False)
        self.addCleanup(cluster.stop)
        cluster.start_node("--redis-url", url)
        alice = self.user(cluster, 0)
        alice.send("WHO")
        self.assertEqual(alice.sync(), [f"USER {alice.name}"])

    def test_a_wrong_password_is_one_line(self) -> None:
        self.assert_cannot_start(self.redis.url.replace(NODE_PASSWORD, "wrong"), "invalid username-password pair")

    def test_no_password_is_one_line(self) -> None:
        self.assert_cannot_start(
            self.redis.url.replace(f"{NODE_USER}:{NODE_PASSWORD}@", ""), "Redis asks for a password"
        )

    def test_another_clusters_keys_are_refused(self) -> None:
        self.assert_cannot_start(self.redis.url, "no permissions", cluster_name=unique_name("other-"))

    def test_an_untrusted_certificate_is_one_line(self) -> None:
        # renewed.crt is another self-signed certificate for the same names: not the one Redis has
        self.assert_cannot_start(self.redis.url.replace("localhost.crt", "renewed.crt"), "certificate verify failed")

    def test_plain_text_to_a_tls_port_is_one_line(self) -> None:
        url = self.redis.url.replace("rediss://", "redis://").split("?")[0]
        self.assert_cannot_start(url)


class SentinelFailoverTest(DeploymentTestCase):
    """A master, a replica and three Sentinels; the master killed (SIGKILL) mid-conversation."""

    def test_the_nodes_follow_the_promoted_replica_and_lose_nothing(self) -> None:
        redis = SentinelRedis(down_after_ms=1000)
        cluster = Cluster(2, "--rate-limit", "0", redis=redis)  # --node-timeout 10 (the default)
        self.addCleanup(cluster.stop)
        alice, bob, carol = self.user(cluster, 0), self.user(cluster, 1), self.user(cluster, 0)
        alice.send("MSG before")
        for reader in (bob, carol):
            reader.expect(f"MSG {alice.name} before")
        first_master = redis.master_port()

        # In flight when the master dies: written to the master, held back from its replica, and
        # read by node 0 (carol's) but not by node 1 (bob's, paused and cut off).
        assert redis.relay is not None
        master = redis.server_at(first_master, "master")
        events = "{" + cluster.name + "}:events"
        written = master.command("XLEN", events)
        redis.relay.hold()
        cluster.nodes[1].process.send_signal(signal.SIGSTOP)
        try:
            # node 1 will read what follows from the new master: its links to this one are cut
            master.command("CLIENT", "KILL", "TYPE", "normal")
            alice.send(*(f"MSG {number}" for number in range(300)))
            carol.expect(*(f"MSG {alice.name} {number}" for number in range(300)))
            on_master = master.command("XLEN", events)
            self.assertGreater(on_master, written)
            replica = redis.server_at(first_master, "replica")
            self.assertLess(replica.command("XLEN", events), on_master, "the replica lacks the batch")
            master.kill()
            redis.relay.stop()  # what it held back is lost with the master
        finally:
            cluster.nodes[1].process.send_signal(signal.SIGCONT)
        alice.send(*(f"MSG {number}" for number in range(300, 600)))
        self.assertEqual(alice.sync(), [])  # its PONG: the room works again
        self.assertNotEqual(redis.master_port(), first_master, "the Sentinels promoted the replica")

        expected = [f"MSG {alice.name} {number}" for number in range(600)]
        bob.send("WHO")
        users = sorted(f"USER {user.name}" for user in (alice, bob, carol))
        bob_lines = bob.sync()
        self.assertEqual(bob_lines[:600], expected, "every message once, in order")
        self.assertEqual(sorted(bob_lines[600:]), users, "nobody was announced gone")
        self.assertEqual(carol.read_lines(300), expected[300:])
        self.assertEqual(carol.sync(), [])

        # Names stay unique: the new master has every login; a new one is a new name.
        with cluster.nodes[1].client() as guest:
            guest.send(f"LOGIN {alice.name}")
            guest.expect(err("username-taken"))
            guest.login()
            guest.send("MSG after")
            alice.expect(f"MSG {guest.name} after")
        for node in cluster.nodes:
            log = "\n".join(node.log)
            self.assertIn("Redis link back after", log)
            self.assertNotIn("Left the cluster", log)


class RedisClusterTest(DeploymentTestCase):
    """Three masters, each with a replica; the chat cluster's keys live on one of them."""

    def test_any_node_leads_to_the_slot_and_a_failover_loses_nothing(self) -> None:
        redis = RedisCluster(masters=3, replicas=1, node_timeout_ms=1000)
        self.addCleanup(redis.stop)
        name = unique_name("chat-")
        owner = redis.owner("{" + name + "}:events")
        masters = redis.servers[:3]
        # One chat node through each master: the slot's owner and the two that answer MOVED.
        cluster = Cluster(0, "--rate-limit", "0", redis=redis, name=name, owns_redis=False)
        self.addCleanup(cluster.stop)
        for master in masters:
            cluster.start_node("--redis-url", f"redis+cluster://127.0.0.1:{master.port}")
        alice, bob, carol = (self.user(cluster, node) for node in range(3))
        alice.send("MSG through any node")
        for reader in (bob, carol):
            reader.expect(f"MSG {alice.name} through any node")

        alice.send(*(f"MSG {number}" for number in range(300)))
        owner.kill()
        alice.send(*(f"MSG {number}" for number in range(300, 600)))
        self.assertEqual(alice.sync(), [])  # its PONG: the room works again
        self.assertNotEqual(redis.owner("{" + name + "}:events").port, owner.port, "a replica took over")
        expected = [f"MSG {alice.name} {number}" for number in range(600)]
        for reader in (bob, carol):
            reader.send("WHO")
            lines = reader.sync()
            self.assertEqual(lines[:600], expected, "every message once, in order")
            self.assertEqual(sorted(lines[600:]), sorted(f"USER {user.name}" for user in (alice, bob, carol)))
        with cluster.nodes[2].client() as guest:
            guest.send(f"LOGIN {alice.name}")
            guest.expect(err("username-taken"))
        for node in cluster.nodes:
            self.assertNotIn("Left the cluster", "\n".join(node.log))

    def test_a_redis_url_at_another_node_says_to_use_redis_cluster(self) -> None:
        redis = RedisCluster(masters=3)
        self.addCleanup(redis.stop)
        owner = redis.owner("{algokart}:events")
        other = next(server for server in redis.servers if server is not owner)
        self.assert_cannot_start(f"redis://127.0.0.1:{other.port}/0", "use redis+cluster://")


if __name__ == "__main__":
    unittest.main()
