"""Failover: what users of a cluster see when the Redis master it uses is killed (SIGKILL).

    python bench/failover.py              # the three scenarios, 3 kills each (about two minutes)
    python bench/failover.py --trials 1

Behind Sentinel: a master, a replica and three Sentinels (quorum 2).  On a Redis Cluster: three
masters with a replica each (cluster-node-timeout 1000 ms), the master serving the chat cluster's
slot is the one killed.  All on loopback, two nodes (separate processes), and this process as the
users: alice and carol on node 0, bob on node 1.  Alice sends 200 messages, the master is killed
while they are in flight, and she sends 200 more.  Measured, from the kill: when the Sentinels (or
the Cluster) name the new master (``failover``); when alice's PING is answered (``pause``: the room
works again for a user who stayed); when a new LOGIN is answered OK (``unavailable`` once the
nodes had closed their connections: with ``--node-timeout`` shorter than the failover, users see
``INFO cluster-unavailable``); and what bob and carol missed or got twice.

Scenarios: Sentinel's ``down-after-milliseconds`` 1000 with the default ``--node-timeout 10``
(a failover shorter than the node timeout: a pause, nobody dropped), ``down-after`` 5000 with
``--node-timeout 2`` (longer: every connection closed, users log in again), and the Redis Cluster
with the default ``--node-timeout``.  Target: the room serves again within ``--node-timeout`` + the
failover; nothing a user sent is lost or doubled.  Needs redis-server and redis-py
(requirements-cluster.txt).  Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import math
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support import Client, Cluster, RedisCluster, SentinelRedis

MESSAGES = 200


def trial(deployment: str, down_after_ms: int, node_timeout: float) -> dict[str, float]:
    """One kill: of the master behind Sentinel, or of the Redis Cluster master serving the slot."""
    redis: SentinelRedis | RedisCluster
    if deployment == "sentinel":
        redis = SentinelRedis(down_after_ms=down_after_ms)
    else:
        redis = RedisCluster(masters=3, replicas=1, node_timeout_ms=down_after_ms)
    cluster = Cluster(2, "--rate-limit", "0", "--node-timeout", str(node_timeout), redis=redis)
    users: list[Client] = []
    try:
        alice, bob, carol = (cluster.nodes[node].client().login() for node in (0, 1, 0))
        users += [alice, bob, carol]
        first = _master_port(redis, cluster.name)
        alice.send(*(f"MSG {number}" for number in range(MESSAGES)))
        killed = time.monotonic()
        next(server for server in redis.servers if server.port == first).kill()
        alice.send(*(f"MSG {number}" for number in range(MESSAGES, 2 * MESSAGES)))
        failover = _wait(lambda: _master_port(redis, cluster.name) not in (None, first)) - killed
        pause = unavailable = float("nan")
        try:
            alice.sync()
            pause = time.monotonic() - killed
        except (OSError, AssertionError):  # closed (INFO cluster-unavailable)
            pass
        unavailable = _first_login(cluster) - killed
        result = {"failover": failover, "pause": pause, "unavailable": unavailable}
        if not math.isnan(pause):  # users stayed: count what they missed
            expected = [f"MSG {alice.name} {number}" for number in range(2 * MESSAGES)]
            got = {
                name: [line for line in user.sync() if line.startswith("MSG ")]
                for name, user in (("bob", bob), ("carol", carol))
            }
            result["missed"] = sum(len(set(expected) - set(lines)) for lines in got.values())
            result["doubled"] = sum(len(lines) - len(set(lines)) for lines in got.values())
        return result
    finally:
        for user in users:
            user.close()
        cluster.stop(signal.SIGTERM)


def _master_port(redis: SentinelRedis | RedisCluster, name: str) -> int | None:
    """The port of the master the chat cluster's keys are on now; None while nobody serves them."""
    if isinstance(redis, SentinelRedis):
        return redis.master_port()
    try:
        return redis.owner("{" + name + "}:events").port
    except (StopIteration, AssertionError):  # its master is dead and no replica took over yet
        return None


def _wait(condition: Callable[[], bool]) -> float:
    while not condition():
        time.sleep(0.01)
    return time.monotonic()


def _first_login(cluster: Cluster) -> float:
    """When a new user's LOGIN on node 1 is first answered OK (trying every 50 ms)."""
    while True:
        try:
            with cluster.nodes[1].client() as guest:
                guest.send(f"LOGIN guest{time.monotonic_ns()}")
                if guest.read_line() == "OK":
                    return time.monotonic()
        except OSError:  # closed at once: the node refuses connections while out of the cluster
            pass
        time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    options = parser.parse_args()
    ok = True
    print(f"{'scenario':56} {'failover s':>10} {'pause s':>8} {'unavail. s':>10} {'target s':>9} {'lost':>5}")
    scenarios = (("sentinel", 1000, 10.0), ("sentinel", 5000, 2.0), ("cluster", 1000, 10.0))
    for deployment, down_after_ms, node_timeout in scenarios:
        results = [trial(deployment, down_after_ms, node_timeout) for _ in range(options.trials)]
        failover = statistics.median(r["failover"] for r in results)
        pause = statistics.median(r["pause"] for r in results)
        unavailable = statistics.median(r["unavailable"] for r in results)
        target = node_timeout + max(r["failover"] for r in results)
        stayed = [r for r in results if "missed" in r]  # (none where the nodes closed every connection)
        lost = int(sum(r["missed"] + r["doubled"] for r in stayed))
        worst = max(r["unavailable"] for r in results)
        ok = ok and worst < target and lost == 0
        if deployment == "sentinel":
            label = f"Sentinel, down-after {down_after_ms} ms, --node-timeout {node_timeout:g}"
        else:
            label = f"Redis Cluster, node-timeout {down_after_ms} ms, --node-timeout {node_timeout:g}"
        shown = str(lost) if stayed else "-"
        print(f"{label:56} {failover:10.2f} {pause:8.2f} {unavailable:10.2f} {target:9.2f} {shown:>5}")
    print(
        "(medians of",
        options.trials,
        "kills; target: a new LOGIN answered within --node-timeout + failover, nothing lost)",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
