"""The real server as a child process on port 0 (``ServerProcess``, ``run_server``), several of
them as nodes of one cluster (``Cluster``), and the test case that starts one per class
(``ServerTestCase``).
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import unittest
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from support.basics import ROOT, SERVER, TIMEOUT, unique_name
from support.clients import Client
from support.redis_deployments import AnyRedis, skip_without_cluster, start_redis

if TYPE_CHECKING:  # typing.Self is Python 3.11+; this import is for the type checker only
    from typing_extensions import Self


# Where a process's memory and descriptors can be read (/proc): the tests that measure them run there.
ON_LINUX = Path("/proc/self/status").exists()


def memory_kib(pid: int, field: str = "VmRSS") -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of a process, in KiB (from /proc: Linux only)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def open_descriptors(pid: int) -> int:
    """How many files a process has open (from /proc: Linux only)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


class ServerProcess:
    """``python src/server.py --port 0 ...`` with its port read from the startup line.

    ``log`` holds the messages of the server's log lines (time and level removed), ``raw_log``
    the lines as printed.  ``open_files`` starts it with that limit on descriptors (POSIX), of
    which it keeps ``held_files`` open for nothing, so that it can run out of them.
    """

    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        port_flag: bool = True,
        open_files: int | None = None,
        held_files: int = 0,
        without_modules: Sequence[str] = (),
    ) -> None:
        command = [sys.executable, str(SERVER)]
        if without_modules:
            command = [*python_without(*without_modules), str(SERVER)]
        if open_files is not None:
            limits = [str(open_files), str(held_files)]
            command = [sys.executable, "-c", _WITH_OPEN_FILE_LIMIT, *limits, str(SERVER)]
        if port_flag:
            command += ["--port", "0"]
        command += list(args)
        environment = {k: v for k, v in os.environ.items() if k not in ENV_SETTINGS}
        # Each test class opens hundreds of connections from 127.0.0.1 to its server: the limit on
        # new connections per address (--max-new-per-ip) is off unless a test sets it.
        environment["MAX_NEW_PER_IP"] = "0"
        environment.update(env or {})
        environment["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            cwd=str(ROOT),
            text=True,
            encoding="utf-8",
        )
        self.log: list[str] = []
        self.raw_log: list[str] = []
        self.errors = ""  # what it wrote on stderr, once stopped
        self._log_changed = threading.Condition()
        self.port = 0
        assert self.process.stdout is not None and self.process.stderr is not None  # both are PIPEs
        self._stdout, self._stderr = self.process.stdout, self.process.stderr
        match = None
        while match is None:  # warnings and the "Listening on" lines come first
            line = self._stdout.readline()
            match = re.search(r"Chat server started on port (\d+)", line)
            if not line or (match is None and not re.search(r"WARNING|Listening on|^{", line)):
                self.process.kill()
                _, errors = self.process.communicate(timeout=TIMEOUT)
                raise RuntimeError(f"server did not start: {line!r} {errors!r}")
            self._append(line)
        self.started_line = self.log[-1]
        self.port = int(match.group(1))
        # Every listener the startup line names: "..., TLS on port 4001, IRC on port 6667".
        self.ports = {label: int(port) for label, port in re.findall(r", ([A-Z][A-Z ]*) on port (\d+)", line)}
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()

    def _append(self, line: str) -> None:
        line = line.rstrip("\n")
        self.raw_log.append(line)
        match = LOG_LINE.fullmatch(line)
        self.log.append(match.group("message") if match else line)

    def _drain(self) -> None:
        for line in self._stdout:
            with self._log_changed:
                self._append(line)
                self._log_changed.notify_all()

    def wait_until(self, condition: Callable[[list[str]], bool]) -> None:
        """Wait until ``condition(log)`` holds, re-checking at every new log line."""
        with self._log_changed:
            if not self._log_changed.wait_for(lambda: condition(self.log), TIMEOUT):
                raise AssertionError(f"the log never satisfied the condition: {self.log[-20:]}")

    def wait_for_log(self, pattern: str) -> str:
        """The first log line matching ``pattern``, waiting for it if need be."""
        regex = re.compile(pattern)
        with self._log_changed:
            found = self._log_changed.wait_for(
                lambda: next((line for line in self.log if regex.search(line)), None), TIMEOUT
            )
        if found is None:
            raise AssertionError(f"no log line matches {pattern!r}: {self.log[-20:]}")
        return found

    def client(self) -> Client:
        return Client(self.port)

    def stop(self, signum: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the server did not exit within {TIMEOUT} s; its log ends {self.log[-8:]}") from None
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._drainer.join(TIMEOUT)  # it ends at the end of the server's output
            if not self._stderr.closed:  # stopped twice
                self.errors = self._stderr.read()
            self._stdout.close()
            self._stderr.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


ENV_SETTINGS = (
    "HOST",
    "PORT",
    "IDLE_TIMEOUT",
    "LOGIN_TIMEOUT",
    "ACCOUNTS",
    "REQUIRE_ACCOUNT",
    "MAX_CLIENTS",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "STATS_INTERVAL",
    "MAX_LINE_BYTES",
    "RATE_LIMIT",
    "RATE_BURST",
    "RATE_LIMIT_BYTES",
    "RATE_BURST_BYTES",
    "MAX_SEND_BUFFER",
    "SEND_BUFFER_SOFT",
    "SEND_BUFFER_SOFT_SECONDS",
    "MAX_PER_IP",
    "MAX_NEW_PER_IP",
    "IPV6_PREFIX",
    "TLS_PORT",
    "TLS_CERT",
    "TLS_KEY",
    "IRC_PORT",
    "IRC_TLS_PORT",
    "IRC_CHANNEL",
    "IRC_SERVER_NAME",
    "REDIS_URL",
    "CLUSTER_NAME",
    "NODE_TIMEOUT",
    "CLUSTER_STREAM_BYTES",
)

# A text log line: "2026-11-24T10:15:02Z INFO  message".
LOG_LINE = re.compile(r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (?P<level>[A-Z]+) +(?P<message>.*)")

# Runs the server with a lower limit on open files (argv: the limit, how many of them to hold,
# the script, its arguments).
_WITH_OPEN_FILE_LIMIT = """
import os, resource, runpy, sys
limit, held = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
held_files = [open(os.devnull) for _ in range(held)]
sys.argv = sys.argv[3:]
sys.path.insert(0, __import__("os").path.dirname(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_server(
    *args: str, env: dict[str, str] | None = None, without_modules: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run the server to completion (for runs that must fail at once); ``without_modules`` as
    for ServerProcess."""
    environment = {k: v for k, v in os.environ.items() if k not in ENV_SETTINGS}
    environment.update(env or {})
    python = python_without(*without_modules) if without_modules else [sys.executable]
    return subprocess.run(
        [*python, str(SERVER), *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=str(ROOT),
        timeout=TIMEOUT,
        check=False,
    )


def python_without(*modules: str) -> list[str]:
    """The command that runs a script (the next argument) as on a machine where ``modules``
    cannot be imported: ``[*python_without("redis"), "src/server.py", "--port", "0"]``."""
    return [sys.executable, "-c", _WITHOUT_MODULES, ",".join(modules)]


_WITHOUT_MODULES = """
import os, runpy, sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # import name: ImportError
sys.argv = sys.argv[2:]
sys.path.insert(0, os.path.dirname(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
"""


class ServerTestCase(unittest.TestCase):
    """One server per test class; ``server_args`` are its extra flags.  A subclass with
    ``cluster_nodes`` set runs the same tests on that many nodes of one cluster instead, its
    clients spread over them (see test_cluster_protocol)."""

    server_args: Sequence[str] = ()
    cluster_nodes = 0
    server: ServerProcess | Cluster

    @classmethod
    def setUpClass(cls) -> None:
        if cls.cluster_nodes:
            skip_without_cluster()
            cls.server = Cluster(cls.cluster_nodes, *cls.server_args)
        else:
            cls.server = ServerProcess(*cls.server_args)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def setUp(self) -> None:
        if isinstance(self.server, Cluster):
            self.addCleanup(self.server.settle)  # (cleanups run last-in first-out: this one last)

    def connect(self) -> Client:
        client = self.server.client()
        self.addCleanup(client.close)
        return client

    def logged_in(self, name: str | None = None) -> Client:
        return self.connect().login(name)


class Cluster:
    """``nodes`` servers of one cluster on one redis-server (that of ALGOKART_REDIS_DEPLOYMENT, or
    ``redis``, stopped with the cluster unless ``owns_redis`` is False); ``client()`` takes turns
    among them, so consecutive users are on different nodes.  The log is the first node's."""

    def __init__(
        self, nodes: int = 2, *args: str, redis: AnyRedis | None = None, name: str = "", owns_redis: bool = True
    ) -> None:
        self.redis, self.owns_redis = (redis, owns_redis) if redis is not None else start_redis()
        self.name = name or unique_name("test-cluster-")
        self.args = args
        self.nodes: list[ServerProcess] = []
        try:
            for _ in range(nodes):
                self.start_node()
        except BaseException:
            self.stop()
            raise
        self._turn = itertools.count()

    def start_node(self, *args: str) -> ServerProcess:
        node = ServerProcess("--redis-url", self.redis.url, "--cluster-name", self.name, *self.args, *args)
        self.nodes.append(node)
        return node

    @property
    def port(self) -> int:
        return self.nodes[0].port

    @property
    def log(self) -> list[str]:
        return self.nodes[0].log

    @property
    def raw_log(self) -> list[str]:
        return self.nodes[0].raw_log

    @property
    def process(self) -> subprocess.Popen[str]:
        return self.nodes[0].process

    @property
    def errors(self) -> str:
        return self.nodes[0].errors

    def wait_for_log(self, pattern: str) -> str:
        return self.nodes[0].wait_for_log(pattern)

    def wait_until(self, condition: Callable[[list[str]], bool]) -> None:
        self.nodes[0].wait_until(condition)

    def client(self) -> Client:
        return self.nodes[next(self._turn) % len(self.nodes)].client()

    def settle(self) -> None:
        """Wait until every user is gone and every node has heard so (between tests that share
        the cluster, so that no departure of one reaches a user of the next).

        A probe logs in and asks WHO until it is alone; after its QUIT, a PING on each node
        returns only once that node has applied everything written before it (PING is a sync
        point in a cluster), the probe's own departure included.
        """
        with self.nodes[0].client() as probe:
            probe.login(unique_name("probe"))

            def others_online() -> bool:
                probe.send("WHO")
                return any(line.startswith("USER ") and line != f"USER {probe.name}" for line in probe.sync())

            while others_online():
                pass
            probe.send("QUIT")
            probe.read_until_closed()
        for node in self.nodes:
            with node.client() as guest:
                guest.sync()

    def stop(self, signum: int = signal.SIGINT) -> int:
        """Stop every node, then Redis; the first failure is raised once all are stopped."""
        statuses, failures = [], []
        for node in self.nodes:
            try:
                statuses.append(node.stop(signum))
            except AssertionError as problem:  # it did not stop in time (and was killed)
                failures.append(problem)
        if self.owns_redis:
            self.redis.stop()
        if failures:
            raise failures[0]
        return max(statuses, default=0)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
