"""The client's one connection to the server: made (with TLS, verified, when asked), then owned by
one I/O thread that sends what the other threads queue and hands on every line the server sends.

One owner matters for TLS: an ``SSLSocket`` must not be read and written from two threads.  The
other threads only queue bytes (``Connection.send``), and wake the I/O thread through a socket
pair, so it never polls.  A line is whatever ends in LF; what the server sends after its last LF
before it closes is handed on as it is.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable

QUIT_WAIT_SECONDS = 5.0  # how long to wait for the server to close after QUIT
LONGEST_PART = 65536  # the most of one line held before it is handed over in parts


class Connection:
    """The socket, owned by one I/O thread (``run``); other threads only queue bytes with ``send``."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = threading.Event()  # the server closed the connection (or it broke)
        self.quit_sent = False
        self.last_sent = time.monotonic()
        self._outgoing = bytearray()
        self._lock = threading.Lock()
        self._wakeup_reader, self._wakeup_writer = socket.socketpair()
        for end in (sock, self._wakeup_reader, self._wakeup_writer):
            end.setblocking(False)

    def send(self, data: bytes) -> bool:
        """Queue bytes for the server (a LF is added if missing); False if the connection is gone."""
        if self.closed.is_set():
            return False
        if not data.endswith(b"\n"):
            data += b"\n"
        words = data.split(None, 1)
        if words and words[0].upper() in (b"QUIT", b"EXIT"):
            self.quit_sent = True
        with self._lock:
            self._outgoing += data
        self.last_sent = time.monotonic()
        with contextlib.suppress(OSError):  # full (the I/O thread has wake-ups pending anyway) or closed
            self._wakeup_writer.send(b"\0")
        return True

    def run(self, on_line: Callable[[bytes], None]) -> None:
        """The I/O thread: send what is queued, call ``on_line`` for each line (LF included) the
        server sends, until it closes the connection; then set ``closed``.  A line longer than
        ``LONGEST_PART`` (no server line is) comes in parts of at least that, the last with the LF."""
        selector = selectors.DefaultSelector()
        selector.register(self._wakeup_reader, selectors.EVENT_READ)
        selector.register(self.sock, selectors.EVENT_READ)
        partial = b""
        try:
            while True:
                self._send_queued()
                try:
                    chunk = self.sock.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
                    with self._lock:
                        writing = bool(self._outgoing)
                    selector.modify(self.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0))
                    for key, _ in selector.select():
                        if key.fileobj is self._wakeup_reader:
                            self._wakeup_reader.recv(4096)
                    continue
                if not chunk:
                    break
                partial += chunk
                *lines, partial = partial.split(b"\n")
                for line in lines:
                    on_line(line + b"\n")
                if len(partial) >= LONGEST_PART:  # (a server that never ends its line costs no memory)
                    on_line(partial)
                    partial = b""
        except OSError:
            pass
        finally:
            if partial:
                on_line(partial)
            selector.close()
            self.closed.set()

    def _send_queued(self) -> None:
        with self._lock:
            if not self._outgoing:
                return
            try:
                sent = self.sock.send(self._outgoing)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
                return
            del self._outgoing[:sent]

    def quit_and_wait(self) -> None:
        """Say QUIT (unless it was said) and wait a while for the server to close the connection."""
        if not self.quit_sent:
            self.send(b"QUIT\n")
        self.closed.wait(QUIT_WAIT_SECONDS)

    def close(self) -> None:
        """Close the socket and the wake-up pair (after ``run`` returned, or at exit)."""
        for end in (self.sock, self._wakeup_reader, self._wakeup_writer):
            end.close()


def connect(
    host: str, port: int, *, tls: bool = False, cafile: str | None = None, insecure: bool = False
) -> socket.socket:
    """A connected socket, TLS-wrapped and verified when asked (against the system store or
    ``cafile``; not at all when ``insecure``); OSError (ssl.SSLError too) if not."""
    sock = socket.create_connection((host, port), timeout=10)
    if tls:
        context = ssl.create_default_context(cafile=cafile)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            sock = context.wrap_socket(sock, server_hostname=host)
        except OSError:
            sock.close()
            raise
    sock.settimeout(None)
    return sock


def host_and_port(host: str, port: int) -> str:
    """``127.0.0.1:4000``, ``[::1]:4000``: an IPv6 address in brackets, so the port stands apart."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def connection_problem(problem: OSError) -> str:
    """Why a connection could not be made, in a few words for the one line on stderr."""
    if isinstance(problem, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({problem.verify_message}); see --cafile, or --insecure for tests"
    if isinstance(problem, ssl.SSLError):
        return f"TLS handshake failed ({problem.reason or problem})"
    if isinstance(problem, socket.timeout):
        return "timed out"
    return problem.strerror or str(problem) or type(problem).__name__
