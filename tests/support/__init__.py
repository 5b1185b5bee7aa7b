"""The tests' harness: ``from support import X`` for any of it.

Importing it puts src/ (the package) and bench/ (what the benchmarks share) on sys.path, which is
why it comes before the project's modules in every test file.  The modules, lowest first:

- ``basics``: the clone's paths, the timeout that guards against hangs, fresh names, free ports,
  the server's ERR lines, the mark of the tests CI runs on one Python only (``once_per_ci``);
- ``clients``: the blocking line client, and connections from other loopback addresses;
- ``fakes``: a fake transport, a loop whose clock the test moves, a session that records its lines;
- ``redis_deployments``: real Redis deployments for the cluster tests (one server, over TLS,
  behind Sentinel, a Redis Cluster), and whether they can run here;
- ``processes``: the server as a child process (and what it holds, from /proc), nodes of one
  cluster, and ``ServerTestCase``.
"""

from __future__ import annotations

from support.basics import ONCE_ELSEWHERE, ROOT, SERVER, SRC, TIMEOUT, err, once_per_ci, unique_name, unused_port
from support.clients import Client, numbered_lines, send_in_background, socket_from
from support.fakes import FakeTransport, ManualClockLoop, RecordingSession
from support.processes import (
    ENV_SETTINGS,
    LOG_LINE,
    ON_LINUX,
    Cluster,
    ServerProcess,
    ServerTestCase,
    memory_kib,
    open_descriptors,
    run_server,
)
from support.redis_deployments import (
    ADMIN_PASSWORD,
    NODE_PASSWORD,
    NODE_USER,
    REQUIRE_CLUSTER_TESTS,
    AnyRedis,
    RedisCluster,
    RedisServer,
    SentinelRedis,
    cluster_acl,
    redis_deployment,
    skip_unless_one_server,
    skip_without_cluster,
    start_redis,
)

__all__ = [
    "ADMIN_PASSWORD",
    "ENV_SETTINGS",
    "LOG_LINE",
    "NODE_PASSWORD",
    "NODE_USER",
    "ONCE_ELSEWHERE",
    "ON_LINUX",
    "REQUIRE_CLUSTER_TESTS",
    "ROOT",
    "SERVER",
    "SRC",
    "TIMEOUT",
    "AnyRedis",
    "Client",
    "Cluster",
    "FakeTransport",
    "ManualClockLoop",
    "RecordingSession",
    "RedisCluster",
    "RedisServer",
    "SentinelRedis",
    "ServerProcess",
    "ServerTestCase",
    "cluster_acl",
    "err",
    "memory_kib",
    "numbered_lines",
    "once_per_ci",
    "open_descriptors",
    "redis_deployment",
    "run_server",
    "send_in_background",
    "skip_unless_one_server",
    "skip_without_cluster",
    "socket_from",
    "start_redis",
    "unique_name",
    "unused_port",
]
