"""Cluster mode with real processes: nodes of one cluster on a real redis-server, and every
failure the cluster issue names (a node killed, stopped, paused; Redis connections killed
mid-flood; Redis restarted with its data, gone for longer than --node-timeout, restarted empty;
bad data in Redis; a login race across nodes) and an account's login: checked on its node, its
name held on all.

Skipped, with the reason, where redis-server or redis-py is missing; CI sets
ALGOKART_REQUIRE_CLUSTER_TESTS so that it fails instead.  Like every test here, these synchronise
on what clients and logs show, never on sleeps: a node's death is waited for by reading the
departure it causes.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
import unittest
from pathlib import Path

from support import (
    Client,
    Cluster,
    RedisServer,
    err,
    redis_deployment,
    run_server,
    skip_unless_one_server,
    skip_without_cluster,
    unique_name,
)

from test_accounts_login import accounts_file, password_of
from test_tls import TLS_ARGS, tls_client, tls_port


class ClusterTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        skip_without_cluster()

    def cluster(self, nodes: int = 2, *args: str, redis: RedisServer | None = None) -> Cluster:
        cluster = Cluster(nodes, *args, redis=redis)
        self.addCleanup(cluster.stop)
        return cluster

    def user(self, cluster: Cluster, node: int, name: str | None = None) -> Client:
        client = cluster.nodes[node].client()
        self.addCleanup(client.close)
        return client.login(name)

    def one_server(self, cluster: Cluster) -> RedisServer:
        """The cluster's one Redis, for a test that stops, pauses or restarts it."""
        skip_unless_one_server("this test stops, pauses or restarts the one Redis")
        assert isinstance(cluster.redis, RedisServer)
        return cluster.redis

    def departures(self, client: Client, count: int) -> list[str]:
        """The next ``count`` lines, which must all be departures."""
        lines = client.read_lines(count)
        self.assertTrue(all(line.endswith(" disconnected") for line in lines), lines)
        return sorted(lines)


class OneRoomTest(ClusterTestCase):
    def test_users_on_three_nodes_see_one_room(self) -> None:
        cluster = self.cluster(3)
        users = [self.user(cluster, node, name) for node, name in enumerate(("zed", "Abe", "mia"))]
        for user in users:
            user.send("WHO")
            self.assertEqual(user.sync(), ["USER zed", "USER Abe", "USER mia"])
        users[0].send("MSG one", "DM mia two", "MSG three")
        users[1].expect("MSG zed one", "MSG zed three")
        users[2].expect("MSG zed one", "DM zed two", "MSG zed three")
        guest = cluster.nodes[1].client()
        self.addCleanup(guest.close)
        guest.send("LOGIN ZED", "LOGIN ｍｉａ")
        guest.expect(err("username-taken"), err("username-taken"))
        users[1].send("QUIT")
        self.assertEqual(users[1].read_until_closed(), ["Goodbye!"])
        guest.send("LOGIN abe")  # the name is free the moment its owner's connection has ended
        guest.expect("OK")
        for user in (users[0], users[2]):
            user.expect("INFO Abe disconnected")
            user.send("WHO")
            self.assertEqual(user.sync(), ["USER zed", "USER mia", "USER abe"])
        where = {"sentinel": r"mymaster/0 via Sentinel [\d.:,]+", "cluster": r"Cluster 127\.0\.0\.1:\d+"}.get(
            redis_deployment(), r"127\.0\.0\.1:\d+/0"
        )
        cluster.wait_for_log(rf"^Cluster test-cluster-\d+ on Redis {where}: this node is \S+$")

    def test_tls_and_plaintext_users_on_different_nodes(self) -> None:
        cluster = self.cluster(2, *TLS_ARGS)
        secure = tls_client(tls_port(cluster.nodes[0]))
        self.addCleanup(secure.close)
        secure.login()
        plain = self.user(cluster, 1)
        secure.send("MSG from tls")
        plain.expect(f"MSG {secure.name} from tls")
        plain.send(f"DM {secure.name} from plaintext")
        secure.expect(f"DM {plain.name} from plaintext")

    def test_login_race_across_nodes_has_exactly_one_winner(self) -> None:
        cluster = self.cluster(2)
        for _ in range(30):
            name = unique_name("race")
            first, second = cluster.nodes[0].client(), cluster.nodes[1].client()
            with first, second:
                first.send(f"LOGIN {name}")
                second.send(f"LOGIN {name.upper()}")
                self.assertEqual(sorted([first.read_line(), second.read_line()]), [err("username-taken"), "OK"])


class AccountsTest(ClusterTestCase):
    def test_a_password_checked_on_one_node_claims_the_name_on_every_node(self) -> None:
        folder = tempfile.mkdtemp(prefix="algokart-cluster-accounts-")
        self.addCleanup(shutil.rmtree, folder, True)
        path = accounts_file(Path(folder), "alice")
        cluster = self.cluster(2, "--accounts", str(path))
        owner = cluster.nodes[1].client()
        self.addCleanup(owner.close)
        owner.send(f"LOGIN alice {password_of('alice')}")
        owner.expect("OK")
        guest = cluster.nodes[0].client()
        self.addCleanup(guest.close)
        guest.send("LOGIN alice", "LOGIN aIice", "LOGIN alice wrong guess", f"LOGIN ALICE {password_of('alice')}")
        guest.expect(err("password-required"), err("password-required"), err("bad-password"), err("username-taken"))
        guest.send("LOGIN bob", "WHO")
        self.assertEqual(guest.sync(), ["OK", "USER alice", "USER bob"])
        owner.send("QUIT")
        self.assertEqual(owner.read_until_closed(), ["Goodbye!"])
        second = cluster.nodes[0].client()
        self.addCleanup(second.close)
        second.send(f"LOGIN Alice {password_of('alice')}")
        second.expect("OK")
        cluster.nodes[1].wait_for_log(r"^Login: alice from 127\.0\.0\.1:\d+ \(account\)$")


class NodeFailureTest(ClusterTestCase):
    def test_a_killed_node_s_users_are_announced_once_by_the_survivors(self) -> None:
        cluster = self.cluster(3, "--node-timeout", "1")
        watchers = [self.user(cluster, 0), self.user(cluster, 1)]
        victims = [self.user(cluster, 2) for _ in range(3)]
        for watcher in watchers:
            watcher.sync()
        killed_at = time.monotonic()
        cluster.nodes[2].process.kill()
        expected = sorted(f"INFO {victim.name} disconnected" for victim in victims)
        for watcher in watchers:
            self.assertEqual(self.departures(watcher, 3), expected)
        self.assertLess(time.monotonic() - killed_at, 1 + 4, "announced within --node-timeout (and a little)")
        for watcher in watchers:
            self.assertEqual(watcher.sync(), [], "each departure exactly once")
        for victim in victims:  # the names are free again
            self.user(cluster, 0, victim.name)

    def test_a_stopping_node_s_users_are_announced_at_once(self) -> None:
        # A node timeout far beyond the read guard: the departures cannot come from it.
        cluster = self.cluster(2, "--node-timeout", "60")
        watcher = self.user(cluster, 0)
        leavers = [self.user(cluster, 1) for _ in range(3)]
        watcher.sync()
        self.assertEqual(cluster.nodes[1].stop(signal.SIGTERM), 0)
        for leaver in leavers:
            self.assertEqual(leaver.read_until_closed(), ["INFO server-shutdown"])
        self.assertEqual(self.departures(watcher, 3), sorted(f"INFO {leaver.name} disconnected" for leaver in leavers))
        self.assertEqual(watcher.sync(), [])
        self.assertNotIn("Traceback", cluster.nodes[1].errors)

    def test_a_paused_node_closes_its_connections_and_rejoins(self) -> None:
        cluster = self.cluster(2, "--node-timeout", "1")
        watcher = self.user(cluster, 0)
        sleeper = self.user(cluster, 1)
        watcher.sync()
        paused = cluster.nodes[1].process
        paused.send_signal(signal.SIGSTOP)
        try:
            watcher.expect(f"INFO {sleeper.name} disconnected")  # the others gave it up
        finally:
            paused.send_signal(signal.SIGCONT)
        self.assertEqual(sleeper.read_until_closed(), ["INFO cluster-reset"])
        cluster.nodes[1].wait_for_log(r"^Rejoined the cluster")
        again = self.user(cluster, 1, sleeper.name)
        again.send("WHO")
        self.assertEqual(again.sync(), [f"USER {watcher.name}", f"USER {sleeper.name}"])
        self.assertEqual(watcher.sync(), [])


class RedisFailureTest(ClusterTestCase):
    def test_killed_redis_connections_lose_nothing_mid_flood(self) -> None:
        cluster = self.cluster(2, "--rate-limit", "0")
        sender, reader = self.user(cluster, 0), self.user(cluster, 1)
        total, kills = 3000, 0
        for start in range(0, total, 300):
            sender.send(*(f"MSG {number}" for number in range(start, start + 300)))
            kills += cluster.redis.command("CLIENT", "KILL", "TYPE", "normal")
        self.assertGreater(kills, 0)
        sender.sync()
        received = [int(line.rsplit(" ", 1)[1]) for line in reader.read_lines(total)]
        self.assertEqual(received, list(range(total)), "every message once, in order")
        self.assertEqual(reader.sync(), [])

    def test_a_redis_restart_with_its_data_is_a_pause(self) -> None:
        skip_unless_one_server("this test restarts the one Redis")
        data = tempfile.TemporaryDirectory()
        self.addCleanup(data.cleanup)
        cluster = self.cluster(2, redis=RedisServer(data_dir=data.name))
        sender, reader = self.user(cluster, 0), self.user(cluster, 1)
        sender.send("MSG before")
        reader.expect(f"MSG {sender.name} before")
        self.one_server(cluster).shutdown_saving()
        sender.send(*(f"MSG while-down {number}" for number in range(20)))
        cluster.nodes[0].wait_for_log(r"^Lost the link to Redis")
        cluster.redis = RedisServer(port=self.one_server(cluster).port, data_dir=data.name)
        expected = [f"MSG {sender.name} while-down {number}" for number in range(20)]
        self.assertEqual(reader.read_lines(20), expected)
        sender.send("MSG after")
        reader.expect(f"MSG {sender.name} after")
        self.assertEqual(sender.sync(), [])
        cluster.nodes[0].wait_for_log(r"^Redis link back after")
        self.assertEqual(sum("Lost the link to Redis" in line for line in cluster.nodes[0].log), 1)

    def test_redis_gone_longer_than_the_node_timeout_then_back_empty(self) -> None:
        skip_unless_one_server("this test stops the one Redis")
        cluster = self.cluster(2, "--node-timeout", "1")
        users = [self.user(cluster, 0), self.user(cluster, 1)]
        port = self.one_server(cluster).port
        cluster.redis.stop()
        for user in users:
            self.assertEqual(user.read_until_closed(), ["INFO cluster-unavailable"])
        for node in cluster.nodes:
            with node.client() as refused:
                self.assertEqual(refused.read_until_closed(), [err("cluster-unavailable")])
        cluster.redis = RedisServer(port=port)
        for node in cluster.nodes:
            node.wait_for_log(r"^Rejoined the cluster")
            self.assertEqual(sum("Lost the link to Redis" in line for line in node.log), 1)
            self.assertLessEqual(sum("Cannot rejoin the cluster yet" in line for line in node.log), 1, node.log)
        alice, bob = self.user(cluster, 0), self.user(cluster, 1)
        alice.send("MSG back")
        bob.expect(f"MSG {alice.name} back")

    def test_a_silent_redis_is_found_by_the_deadline(self) -> None:
        # A stopped process keeps its TCP connections open and answers nothing: without deadlines
        # on every command a node would wait for minutes.
        skip_unless_one_server("this test pauses the one Redis")
        cluster = self.cluster(2, "--node-timeout", "1")
        users = [self.user(cluster, 0), self.user(cluster, 1)]
        redis = self.one_server(cluster)
        redis.process.send_signal(signal.SIGSTOP)
        try:
            for user in users:
                self.assertEqual(user.read_until_closed(), ["INFO cluster-unavailable"])
        finally:
            redis.process.send_signal(signal.SIGCONT)
        for node in cluster.nodes:
            node.wait_for_log(r"^Rejoined the cluster")
        alice, bob = self.user(cluster, 0), self.user(cluster, 1)
        alice.send("MSG awake")
        bob.expect(f"MSG {alice.name} awake")

    def test_names_are_free_at_once_when_redis_comes_back_with_its_data(self) -> None:
        skip_unless_one_server("this test restarts the one Redis")
        data = tempfile.TemporaryDirectory()
        self.addCleanup(data.cleanup)
        cluster = self.cluster(2, "--node-timeout", "1", redis=RedisServer(data_dir=data.name))
        users = [self.user(cluster, 0), self.user(cluster, 1)]
        self.one_server(cluster).shutdown_saving()
        for user in users:
            self.assertEqual(user.read_until_closed(), ["INFO cluster-unavailable"])
        cluster.redis = RedisServer(port=self.one_server(cluster).port, data_dir=data.name)
        for node in cluster.nodes:
            node.wait_for_log(r"^Rejoined the cluster")
        # The names were held by the nodes' old ids: each node retired its own as it rejoined.
        again = [self.user(cluster, 1, users[0].name), self.user(cluster, 0, users[1].name)]
        again[0].send("WHO")
        self.assertEqual(again[0].sync(), [f"USER {users[0].name}", f"USER {users[1].name}"])

    def test_redis_restarted_empty_resets_the_room(self) -> None:
        skip_unless_one_server("this test restarts the one Redis")
        cluster = self.cluster(2, "--node-timeout", "5")
        users = [self.user(cluster, 0), self.user(cluster, 1)]
        port = self.one_server(cluster).port
        cluster.redis.stop()
        cluster.redis = RedisServer(port=port)  # the same address, without the data
        for user in users:
            self.assertEqual(user.read_until_closed(), ["INFO cluster-reset"])
        for node in cluster.nodes:
            node.wait_for_log(r"^Rejoined the cluster")
        alice, bob = self.user(cluster, 0, users[0].name), self.user(cluster, 1, users[1].name)
        bob.send("WHO")
        self.assertEqual(bob.sync(), [f"USER {alice.name}", f"USER {bob.name}"])

    def test_bad_data_is_logged_and_skipped(self) -> None:
        cluster = self.cluster(2)
        alice, bob = self.user(cluster, 0), self.user(cluster, 1)
        events, users = "{" + cluster.name + "}:events", "{" + cluster.name + "}:users"
        for entry in (["t", "x"], ["t", "m", "o", "ghost", "s", "1", "d", "garbage"], ["t", "j", "n", "a b"]):
            cluster.redis.command("XADD", events, "*", *entry)
        alice.send("MSG still here")
        bob.expect(f"MSG {alice.name} still here")
        cluster.nodes[1].wait_until(lambda log: sum("Skipped entry" in line for line in log) == 3)
        saved = cluster.redis.command("DUMP", users)
        cluster.redis.command("DEL", users)
        cluster.redis.command("SET", users, "not a hash")
        with cluster.nodes[0].client() as newcomer:
            newcomer.send(f"LOGIN {unique_name()}")
            newcomer.expect(err("cluster-unavailable"))
            cluster.wait_for_log(r"^Redis refused a write")
            cluster.redis.command("DEL", users)
            cluster.redis.command("RESTORE", users, 0, saved)
            newcomer.login()
            newcomer.send("QUIT")
            self.assertEqual(newcomer.read_until_closed(), ["Goodbye!"])
        alice.expect(f"INFO {newcomer.name} disconnected")  # (before what bob sends next)
        bob.send("MSG and still")
        alice.expect(f"MSG {bob.name} and still")
        cluster.redis.command("RENAME", events, events + "-saved")
        cluster.redis.command("SET", events, "not a stream")
        self.assertEqual(alice.sync(), [], "a PING is answered even when its batch is refused")
        cluster.redis.command("DEL", events)
        cluster.redis.command("RENAME", events + "-saved", events)
        bob.send("MSG once more")
        alice.expect(f"MSG {bob.name} once more")


class StartupTest(ClusterTestCase):
    def test_redis_unreachable_at_start_is_one_line_and_status_1(self) -> None:
        unused = RedisServer()
        url = unused.url
        unused.stop()
        started = time.monotonic()
        result = run_server("--port", "0", "--redis-url", url)
        self.assertEqual(result.returncode, 1)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn("cannot join cluster", result.stderr)
        self.assertLess(time.monotonic() - started, 10)

    def test_a_node_that_cannot_listen_leaves_the_cluster_again(self) -> None:
        cluster = self.cluster(1)
        result = run_server(
            "--host",
            "127.0.0.1",
            "--port",
            str(cluster.port),
            "--redis-url",
            cluster.redis.url,
            "--cluster-name",
            cluster.name,
        )
        self.assertEqual(result.returncode, 1)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn("address already in use", result.stderr)
        self.assertEqual(cluster.redis.command("ZCARD", "{" + cluster.name + "}:nodes"), 1, "only the first node")


if __name__ == "__main__":
    unittest.main()
