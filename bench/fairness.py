"""Fairness under load at full size: each row's figure beside its target, in one run.

    python bench/fairness.py              # every row (about six minutes)
    python bench/fairness.py --rows 1 3   # some of them
    python bench/fairness.py --quick      # every row scaled down (about a minute)
    python bench/fairness.py --against DIR   # the same rows against DIR/src/server.py (say, main)

Every row starts a fresh server with the default settings (clients spread over loopback addresses
127.0.1.x, 127.0.2.x ..., at most 30 a address, so the per-address limit holds them all) and runs
its readers, its senders and its measuring user each in a process of their own (bench/crowd.py),
never in this process nor the server's.  The server's memory comes from /proc, so the figures need
Linux; the cluster rows need redis-server and redis-py.  Exit status 1 if a figure misses its target.

Every row but 7 has a test scaled down to seconds, whose docstring names the row: in
tests/test_output_end_to_end.py, but for row 4 (tests/test_input_pump_end_to_end.py) and rows 6 and 8
(tests/test_admission_end_to_end.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from common import ROOT, Figure, Spawned, cluster_missing, raise_open_file_limit, rss_kib, unused_port

CLUSTER_ROWS = (9, 10)

CROWD = ROOT / "bench" / "crowd.py"
CERT, KEY = ROOT / "tests" / "tls" / "localhost.crt", ROOT / "tests" / "tls" / "localhost.key"
PER_ADDRESS = 30


def addresses(count: int, block: int) -> str:
    """Source addresses for ``count`` users, PER_ADDRESS each: 127.<block>.x.y."""
    needed = max(1, -(-count // PER_ADDRESS))
    return ",".join(f"127.{block}.{1 + n // 250}.{1 + n % 250}" for n in range(needed))


class Crowd:
    """A bench/crowd.py process: started, logged in (``ready``), then ``go``; its report at the end."""

    def __init__(self, role: str, port: int, *options: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(CROWD), role, "--port", str(port), *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._stdin, self._stdout = self.process.stdin, self.process.stdout
        self.report: dict[str, Any] = {}

    def wait_ready(self) -> None:
        line = self._stdout.readline()
        if line.strip() != "ready":
            self.process.kill()
            raise RuntimeError(f"crowd did not get ready: {line!r}")

    def go(self) -> None:
        self._stdin.write("go\n")
        self._stdin.flush()

    def stop(self) -> dict[str, Any]:
        if self.report:
            return self.report
        if self.process.poll() is None:
            try:
                self._stdin.write("stop\n")
                self._stdin.flush()
            except BrokenPipeError:
                pass
        return self.finish()

    def finish(self, timeout: float = 300) -> dict[str, Any]:
        """Wait for the report (the crowd ends by itself, or was told to stop).  Its stdin stays
        open meanwhile: the end of it means stop."""
        if not self.report:
            self.process.wait(timeout=timeout)
            out = self._stdout.read()
            self._stdin.close()
            lines = [line for line in out.splitlines() if line.startswith("{")]
            self.report = json.loads(lines[-1]) if lines else {"error": out[-500:]}
        return self.report


class Servers:
    """How to start the server under test: this tree's, or another checkout's (``--against``)."""

    def __init__(self, tree: Path) -> None:
        self.tree = tree

    def start(self, *flags: str) -> Spawned:
        """The server with the defaults (but ``flags``); its TLS port, if any, as ``tls_port``."""
        command = [sys.executable, str(self.tree / "src" / "server.py"), *flags]
        if "--tls-port" in flags:  # the startup line names both ports
            return Spawned([*command, "--port", "0"])
        port = unused_port()
        return Spawned([*command, "--port", str(port), "--log-level", "WARNING"], port)


def run(server: Spawned, crowds: Sequence[Crowd], senders: Sequence[Crowd], seconds: float) -> dict[str, Any]:
    """Every crowd ready, then go; wait for the senders to finish (at most ``seconds``), stop the
    rest; the server's RSS before and at the peak."""
    for crowd in crowds:
        crowd.wait_ready()
    before = rss_kib(server.pid) or 0
    for crowd in crowds:
        crowd.go()
    deadline = time.monotonic() + seconds
    for sender in senders:
        with contextlib.suppress(subprocess.TimeoutExpired):
            sender.finish(timeout=max(0.1, deadline - time.monotonic()))
    time.sleep(max(0.0, min(1.0, deadline - time.monotonic())))  # late deliveries
    for crowd in crowds:
        crowd.stop()
    return {"rss_before": before, "rss_peak": rss_kib(server.pid, "VmHWM") or 0}


# --- the rows -------------------------------------------------------------------------------------
def burst_rows(servers: Servers, quick: bool, row: int) -> list[Figure]:
    """Rows 1 and 2: one big burst (row 1: one user, 80 lines of 8,000 bytes; row 2: 32 users of
    one address, 100 lines of 300-1,000 bytes each) into a room of flat-out and 1 MB/s readers."""
    fast, slow = (20, 4) if quick else (200, 20)
    server = servers.start()
    try:
        crowds = [
            Crowd("readers", server.port, "--count", str(fast), "--sources", addresses(fast, 1), "--prefix", "fast"),
            Crowd(
                "readers",
                server.port,
                *("--count", str(slow), "--sources", addresses(slow, 2), "--prefix", "slow", "--rate", "1000000"),
            ),
        ]
        pinger = Crowd("pinger", server.port, "--sources", "127.0.3.1", "--prefix", "pinger")
        if row == 1:
            sender = Crowd("senders", server.port, "--sources", "127.0.4.1", "--lines", "80", "--size", "8000")
        else:
            options = ("--count", "32", "--sources", "127.0.4.2", "--size", "300", "--size-spread", "700")
            sender = Crowd("senders", server.port, *options)
        run(server, [*crowds, pinger, sender], [sender], 8 if quick else 20)
        return [
            Figure(row, f"flat-out readers dropped (of {fast})", crowds[0].report.get("dropped"), 0, ""),
            Figure(row, f"1 MB/s readers dropped (of {slow})", crowds[1].report.get("dropped"), 0, ""),
            Figure(row, "... another user's PING p99", pinger.report.get("p99_ms"), 100, "ms"),
        ]
    finally:
        server.stop()


def crowd_flood(servers: Servers, quick: bool) -> list[Figure]:
    """Row 3: 300 users from 10 addresses each send 100 lines of 1,000 bytes at once, room of 2,000."""
    room, flooders = (200, 30) if quick else (2000, 300)
    server = servers.start()
    try:
        halves = [room // 2, room - room // 2]
        readers = [
            Crowd("readers", server.port, "--count", str(n), "--sources", addresses(n, 10 + i), "--prefix", f"r{i}x")
            for i, n in enumerate(halves)
        ]
        sources = ",".join(f"127.0.5.{n}" for n in range(1, 11))
        sender = Crowd("senders", server.port, "--count", str(flooders), "--sources", sources)
        guest = Crowd("pinger", server.port, "--sources", "127.0.3.2", "--guest")
        memory = run(server, [*readers, guest, sender], [sender], 30 if quick else 120)
        dropped = sum(reader.report.get("dropped", 0) for reader in readers)
        growth = (memory["rss_peak"] - memory["rss_before"]) / 1024
        return [
            Figure(3, f"readers dropped (of {room})", dropped, 0, ""),
            Figure(3, "peak RSS growth over the idle room", growth, 64, "MiB"),
            Figure(3, "... a guest's PING p99", guest.report.get("p99_ms"), 200, "ms"),
        ]
    finally:
        server.stop()


def paced_big_lines(servers: Servers, quick: bool) -> list[Figure]:
    """Row 4: 10 users chat at the default rate with 8,000-byte lines; readers on 100 KB/s links."""
    seconds = 6 if quick else 20
    server = servers.start()
    try:
        readers = Crowd("readers", server.port, "--count", "20", "--sources", addresses(20, 1), "--rate", "100000")
        senders = Crowd(
            "senders",
            server.port,
            *("--count", "10", "--sources", "127.0.4.3", "--rate", "20", "--size", "8000"),
            *("--seconds", str(seconds)),
        )
        # The senders ask for 20 lines a second but get 8 KiB/s in: the row ends with their time.
        run(server, [readers, senders], [senders], seconds + 2)
        return [Figure(4, "100 KB/s readers dropped (of 20)", readers.report.get("dropped"), 0, "")]
    finally:
        server.stop()


def direct_flood(servers: Servers, quick: bool) -> list[Figure]:
    """Row 5: 10 accounts, then 32 from one address, each DM 100 lines of 1,000 bytes to one user."""
    server = servers.start()
    try:
        figures = []
        for step, (count, sources) in enumerate(((10, addresses(10, 6)), (32, "127.0.6.200"))):
            victim = Crowd("readers", server.port, "--sources", "127.0.7.1", "--prefix", f"victim{step}x")
            pinger = Crowd("pinger", server.port, "--sources", "127.0.3.3", "--prefix", f"pinger{step}x")
            options = ("--count", str(count), "--sources", sources, "--dm", f"victim{step}x0")
            senders = Crowd("senders", server.port, *options, "--prefix", f"s{step}x")
            run(server, [victim, pinger, senders], [senders], 20 if quick else 60)
            figures += [
                Figure(5, f"the recipient of {count} accounts' DMs dropped", victim.report.get("dropped"), 0, ""),
                Figure(5, "... another user's PING p99", pinger.report.get("p99_ms"), 50, "ms"),
            ]
        return figures
    finally:
        server.stop()


def reconnect_loop(servers: Servers, quick: bool) -> list[Figure]:
    """Row 6: 32 connections of one address loop connect, LOGIN, 100 MSG, QUIT."""
    seconds = 4 if quick else 10
    server = servers.start()
    try:
        reader = Crowd("readers", server.port, "--sources", "127.0.7.2")
        pinger = Crowd("pinger", server.port, "--sources", "127.0.3.4")
        options = ("--count", "32", "--sources", "127.0.6.201", "--reconnect", "--seconds", str(seconds))
        looper = Crowd("senders", server.port, *options)
        run(server, [reader, pinger, looper], [looper], seconds + 70)
        rate = reader.report.get("lines_total", 0) / seconds
        return [
            Figure(6, "lines/s one address gets into the room", rate, 1280, "/s"),
            Figure(6, "... another user's PING p99", pinger.report.get("p99_ms"), 100, "ms"),
        ]
    finally:
        server.stop()


def busy_crowd(servers: Servers, quick: bool) -> list[Figure]:
    """Row 7: 5,000 online, 50 of them chat at the default rate with 100-byte lines."""
    online, chatting, seconds = (500, 10, 5) if quick else (5000, 50, 15)
    server = servers.start()
    try:
        readers = [
            Crowd("readers", server.port, "--count", str(n), "--sources", addresses(n, 20 + i), "--prefix", f"q{i}x")
            for i, n in enumerate((online // 2, online - online // 2))
        ]
        pinger = Crowd("pinger", server.port, "--sources", "127.0.3.5")
        senders = Crowd(
            "senders",
            server.port,
            *("--count", str(chatting), "--sources", addresses(chatting, 30), "--rate", "20", "--size", "100"),
            *("--seconds", str(seconds)),
        )
        run(server, [*readers, pinger, senders], [senders], seconds + 60)
        expected = senders.report.get("sent", 0)
        least = min(reader.report.get("lines_min", 0) for reader in readers)
        dropped = sum(reader.report.get("dropped", 0) for reader in readers)
        return [
            Figure(7, "... PING p99", pinger.report.get("p99_ms"), 100, "ms"),
            Figure(7, f"readers dropped (of {online})", dropped, 0, ""),
            Figure(7, "accepted lines the least lucky reader missed", expected - least, 0, ""),
        ]
    finally:
        server.stop()


def handshake_flood(servers: Servers, quick: bool) -> list[Figure]:
    """Row 8: 10 addresses x 8 threads complete TLS handshakes as fast as they can."""
    seconds = 3 if quick else 8
    server = servers.start("--tls-port", "0", "--tls-cert", str(CERT), "--tls-key", str(KEY))
    try:
        tls_port = server.tls_port
        pinger = Crowd("pinger", tls_port, "--sources", "127.0.3.6", "--tls")
        sources = ",".join(f"127.0.8.{n}" for n in range(1, 11))
        flood = Crowd("handshakers", tls_port, "--count", "8", "--sources", sources, "--seconds", str(seconds))
        run(server, [pinger, flood], [flood], seconds + 30)
        return [
            Figure(8, "a TLS user's PING p99 during the handshake flood", pinger.report.get("p99_ms"), 100, "ms"),
        ]
    finally:
        server.stop()


class Cluster:
    """A redis-server and two nodes with the default settings; ``used_memory`` samples Redis."""

    def __init__(self, servers: Servers) -> None:
        port = unused_port()
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.redis = Spawned(command, port)
        url = f"redis://127.0.0.1:{port}/0"
        self.nodes = [servers.start("--redis-url", url, "--cluster-name", "fair") for _ in range(2)]
        import redis  # (the cluster rows run only where it is installed)

        self.client = redis.Redis(host="127.0.0.1", port=port)

    def used_memory(self) -> int:
        memory: Any = self.client.info("memory")  # (older redis-py: typed as maybe awaitable)
        return int(memory["used_memory"])

    def stop(self) -> None:
        for process in (*self.nodes, self.redis):
            process.stop()


def stream_size(servers: Servers, quick: bool) -> list[Figure]:
    """Row 9: 30 users on one node chat at the default rate with 8,000-byte lines."""
    seconds = 10 if quick else 60
    cluster = Cluster(servers)
    try:
        a, b = cluster.nodes
        reader = Crowd("readers", b.port, "--sources", "127.0.7.4")
        options = ("--count", "30", "--sources", "127.0.4.5", "--rate", "20", "--size", "8000")
        senders = Crowd("senders", a.port, *options, "--seconds", str(seconds))
        for crowd in (reader, senders):
            crowd.wait_ready()
        before = peak = cluster.used_memory()
        for crowd in (reader, senders):
            crowd.go()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            peak = max(peak, cluster.used_memory())
            time.sleep(0.5)
        senders.stop()
        reader.stop()
        return [Figure(9, "Redis used_memory growth", (peak - before) / (1 << 20), 64, "MiB")]
    finally:
        cluster.stop()


def cross_node_burst(servers: Servers, quick: bool) -> list[Figure]:
    """Row 10: 30 users on node A each send 100 lines of 1,000 bytes at once; 50 readers on B."""
    cluster = Cluster(servers)
    try:
        a, b = cluster.nodes
        readers = Crowd("readers", b.port, "--count", "50", "--sources", addresses(50, 40))
        pinger = Crowd("pinger", b.port, "--sources", "127.0.3.7")
        sender = Crowd("senders", a.port, "--count", "30", "--sources", "127.0.4.6")
        run(b, [readers, pinger, sender], [sender], 20 if quick else 60)
        return [
            Figure(10, "readers on the other node dropped (of 50)", readers.report.get("dropped"), 0, ""),
            Figure(10, "... a user's PING p99 there", pinger.report.get("p99_ms"), 100, "ms"),
        ]
    finally:
        cluster.stop()


def non_readers(servers: Servers, quick: bool) -> list[Figure]:
    """Row 11: users who never read while one user sends as fast as allowed; flat-out readers too."""
    count = 40 if quick else 200
    server = servers.start()
    try:
        never = Crowd(
            "readers",
            server.port,
            "--count",
            str(count),
            "--sources",
            addresses(count, 1),
            "--never",
            "--rcvbuf",
            "4096",
        )
        fast = Crowd("readers", server.port, "--count", "10", "--sources", "127.0.7.3")
        sender = Crowd("senders", server.port, "--sources", "127.0.4.4", "--lines", "100000", "--size", "1000")
        crowds = [never, fast, sender]
        for crowd in crowds:
            crowd.wait_ready()
        before = rss_kib(server.pid) or 0
        for crowd in crowds:
            crowd.go()
        report = never.finish(timeout=120)  # it ends once every non-reader is gone
        peak = ((rss_kib(server.pid, "VmHWM") or 0) - before) / count
        sender.stop()
        fast.stop()
        return [
            Figure(11, f"seconds until every non-reader ({count}) was dropped", report.get("last_drop_s"), 60, "s"),
            Figure(11, "server memory per non-reader at the peak", peak, 128, "KiB"),
            Figure(11, "flat-out readers dropped (of 10)", fast.report.get("dropped"), 0, ""),
        ]
    finally:
        server.stop()


ROWS: dict[int, Callable[[Servers, bool], list[Figure]]] = {
    1: lambda servers, quick: burst_rows(servers, quick, 1),
    2: lambda servers, quick: burst_rows(servers, quick, 2),
    3: crowd_flood,
    4: paced_big_lines,
    5: direct_flood,
    6: reconnect_loop,
    7: busy_crowd,
    8: handshake_flood,
    9: stream_size,
    10: cross_node_burst,
    11: non_readers,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every row scaled down")
    parser.add_argument("--rows", type=int, nargs="+", help="only these rows")
    parser.add_argument("--against", type=Path, metavar="DIR", help="run DIR/src/server.py instead of this tree's")
    arguments = parser.parse_args()
    raise_open_file_limit()
    servers = Servers(arguments.against or ROOT)
    figures: list[Figure] = []
    missing = cluster_missing()
    for number, row in ROWS.items():
        if arguments.rows and number not in arguments.rows:
            continue
        if number in CLUSTER_ROWS and missing is not None:
            figures.append(Figure(number, f"not run: {missing}"[:60], None, 0, ""))
            continue
        try:
            figures += row(servers, arguments.quick)
        except (OSError, RuntimeError, subprocess.SubprocessError, ValueError) as problem:  # a missed row
            figures.append(Figure(number, f"row failed: {problem}"[:60], None, 0, ""))
        print(f"ran row {number}", file=sys.stderr, flush=True)
    print(f"{'row':>3}  {'figure':<58} {'measured':>10}  {'target':>10}")
    for figure in figures:
        value = "-" if figure.value is None else f"{figure.value:.1f}"
        comparison = ">=" if figure.higher_is_better else "<="
        print(
            f"{figure.row:>3}  {figure.what:<58} {value + ' ' + figure.unit:>10}  "
            f"{comparison} {figure.target:g} {figure.unit:<4} {'ok' if figure.met else 'MISSED'}"
        )
    return 0 if all(figure.met for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
