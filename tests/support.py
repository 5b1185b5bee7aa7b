"""Shared test helpers: the real server in a subprocess on port 0, and a line client.

Tests synchronise on replies, never on sleeps: ``Client.sync()`` sends PING and returns the
lines that arrived before the PONG.  The socket timeout is only a guard against a hang.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
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
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

TIMEOUT = 15.0  # a guard against hangs, never a way to wait for something
_names = itertools.count(1)


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}{next(_names)}"


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
    ) -> None:
        command = [sys.executable, str(SERVER)]
        if open_files is not None:
            limits = [str(open_files), str(held_files)]
            command = [sys.executable, "-c", _WITH_OPEN_FILE_LIMIT, *limits, str(SERVER)]
        if port_flag:
            command += ["--port", "0"]
        command += list(args)
        environment = {k: v for k, v in os.environ.items() if k not in ENV_SETTINGS}
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
        while match is None:  # warnings may come first
            line = self._stdout.readline()
            match = re.search(r"Chat server started on port (\d+)", line)
            if not line or (match is None and not re.search(r"WARNING|^{", line)):
                self.process.kill()
                _, errors = self.process.communicate(timeout=TIMEOUT)
                raise RuntimeError(f"server did not start: {line!r} {errors!r}")
            self._append(line)
        self.port = int(match.group(1))
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
    "MAX_SEND_BUFFER",
    "MAX_PER_IP",
    "TLS_PORT",
    "TLS_CERT",
    "TLS_KEY",
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
    """One server per test class; ``server_args`` are its extra flags."""

    server_args: Sequence[str] = ()
    server: ServerProcess

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = ServerProcess(*cls.server_args)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def connect(self) -> Client:
        client = self.server.client()
        self.addCleanup(client.close)
        return client

    def logged_in(self, name: str | None = None) -> Client:
        return self.connect().login(name)


class FakeTransport(asyncio.Transport):
    """Records what the handler writes; closes like a real transport, via the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: asyncio.Protocol, peer: tuple[str, int]) -> None:
        super().__init__()
        self.loop, self.protocol, self.peer = loop, protocol, peer
        self.written = bytearray()
        self.closing = False
        self.reading = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.peer if name == "peername" else default

    def write(self, data: bytes) -> None:  # type: ignore[override]  # takes bytes only, as the server writes
        assert not self.closing, "write after close"
        self.written += data

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

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0
