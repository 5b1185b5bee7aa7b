"""What the bench scripts share: starting a server process and reading its figures from /proc."""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from algokart_chat.main import raise_open_file_limit

__all__ = [
    "ROOT",
    "ClusterNodes",
    "Spawned",
    "chat_server",
    "cluster_missing",
    "cpu_seconds",
    "null_server",
    "open_descriptors",
    "raise_open_file_limit",
    "rss_kib",
    "unused_port",
]


class Spawned:
    """A server process on a port of its own choosing (found in its line of output
    "... started on port N[, TLS on port M]") or, with ``port``, on that port once it accepts
    connections.  ``lines`` holds its output up to the start line."""

    def __init__(self, command: Sequence[str], port: int | None = None) -> None:
        self.process = subprocess.Popen(list(command), stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None  # a PIPE
        self._stdout = self.process.stdout
        self.pid = self.process.pid
        self.pids = [self.pid]
        self.lines: list[str] = []
        self.tls_port = 0
        if port is None:
            found = None
            while found is None:  # warnings may come before the start line
                line = self._stdout.readline()
                found = re.search(r"started on port (\d+)(?:, TLS on port (\d+))?", line)
                self.lines.append(line)
                if not line or len(self.lines) > 10:
                    self.stop()
                    raise RuntimeError(f"server did not start: {self.lines!r}")
            port = int(found.group(1))
            self.tls_port = int(found.group(2) or 0)
        else:
            self._wait_until_listening(port)
        self.port = port
        self.ports = [port]
        # Keep reading its output so the pipe never fills and blocks it.
        threading.Thread(target=self._stdout.read, daemon=True).start()

    def _wait_until_listening(self, port: int) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"server did not start listening on port {port}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()
        self._stdout.close()


def chat_server(*args: str, quiet: bool = False, tree: Path = ROOT) -> Spawned:
    """The real server (of another checkout with ``tree``).  ``quiet``: --log-level WARNING (no
    per-connection log lines), on a port picked here, since the startup line is then not printed."""
    # Every load-generator client comes from 127.0.0.1: no per-address limit here.
    command = [sys.executable, str(tree / "src" / "server.py"), "--max-per-ip", "0", *args]
    if not quiet:
        return Spawned([*command, "--port", "0"])
    port = unused_port()
    return Spawned([*command, "--port", str(port), "--log-level", "WARNING"], port)


class ClusterNodes:
    """A redis-server (no persistence) and ``nodes`` chat servers of one cluster on it; clients
    are spread over ``ports``.  ``pid`` is the first node's, ``pids`` every node's (not Redis's)."""

    def __init__(self, nodes: int, *args: str) -> None:
        redis_port = unused_port()
        self.redis = Spawned(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            redis_port,
        )
        url = f"redis://127.0.0.1:{redis_port}/0"
        self.nodes: list[Spawned] = []
        try:
            for _ in range(nodes):
                self.nodes.append(chat_server("--redis-url", url, "--cluster-name", "bench", *args, quiet=True))
        except BaseException:
            self.stop()
            raise
        self.ports = [node.port for node in self.nodes]
        self.pid = self.nodes[0].pid
        self.pids = [node.pid for node in self.nodes]

    def stop(self) -> None:
        for process in (*self.nodes, self.redis):
            process.stop()


def cluster_missing() -> str | None:
    """Why the cluster scenario cannot run here, or None."""
    if shutil.which("redis-server") is None:
        return "no redis-server (apt-get install redis-server)"
    try:
        import redis  # noqa: F401
    except ImportError:
        return "no redis-py (pip install -r requirements-cluster.txt)"
    return None


def null_server() -> Spawned:
    return Spawned([sys.executable, str(ROOT / "bench" / "null_server.py"), "--port", "0"])


@dataclass(frozen=True)
class Figure:
    """One measured figure of a benchmark's row, beside its target (None: not measured)."""

    row: int
    what: str
    value: float | None
    target: float
    unit: str
    higher_is_better: bool = False

    @property
    def met(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.target if self.higher_is_better else self.value <= self.target


def unused_port() -> int:
    """A free loopback port below every system's ephemeral range (Linux's starts at 32768, macOS's
    and Windows' at 49152): no other process's port-0 bind or outgoing connection can be given it
    between this probe and the bind of the server it is for, as happened with suites run side by
    side."""
    for port in random.sample(range(20000, 32768), 100):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port between 20000 and 32767")


def rss_kib(pid: int | None, field: str = "VmRSS") -> int | None:
    """The process's resident memory (``VmHWM``: its peak) in KiB, where /proc tells."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_seconds(pid: int | None) -> float | None:
    """The process's CPU time so far, user and system, where /proc tells."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_descriptors(pid: int | None) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
