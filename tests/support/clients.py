"""The blocking line client of the tests, and what they do with it: connect from another loopback
address, send numbered lines, send in the background.

Tests synchronise on replies, never on sleeps: ``Client.sync()`` sends PING and returns the
lines that arrived before the PONG.  The socket timeout is only a guard against a hang.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import TYPE_CHECKING

from support.basics import TIMEOUT, unique_name

if TYPE_CHECKING:  # typing.Self is Python 3.11+; this import is for the type checker only
    from typing_extensions import Self


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


def socket_from(address: str, port: int) -> socket.socket | None:
    """A socket connected to ``port`` on 127.0.0.1 from another loopback ``address`` (such as
    127.0.0.2: all of 127/8 is local on Linux), or None where that address is not local."""
    sock = socket.socket()
    try:
        sock.bind((address, 0))
    except OSError:
        sock.close()
        return None
    sock.connect(("127.0.0.1", port))
    return sock


def numbered_lines(count: int, size: int, command: str = "MSG") -> bytes:
    """``count`` lines of ``size`` bytes (LF excluded), numbered: ``MSG 7 xxx...``."""
    out = []
    for number in range(count):
        head = f"{command} {number} "
        out.append(head.encode() + b"x" * (size - len(head)) + b"\n")
    return b"".join(out)


def send_in_background(client: Client, data: bytes) -> None:
    """``sendall`` in a thread: the server may take minutes to read it all (it is paced)."""

    def send() -> None:
        with contextlib.suppress(OSError):  # (the test is over: the connection was closed under it)
            client.sock.sendall(data)

    threading.Thread(target=send, daemon=True).start()
