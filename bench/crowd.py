"""The users of a fairness scenario, in a process of their own: readers, senders or a pinger.

    python bench/crowd.py readers --port 4000 --count 200 [--rate 1000000] [--rcvbuf 4096] ...
    python bench/crowd.py senders --port 4000 --count 30 --lines 100 --size 1000 ...
    python bench/crowd.py pinger --port 4000 [--guest] ...

Every role connects its users (from ``--sources``: loopback addresses taken in turn), logs them in
(``--prefix``), prints ``ready`` and waits for ``go`` on stdin; then it acts until its work is
done or ``stop`` arrives, and prints one JSON object with what it saw.  bench/fairness.py starts
these and reads their reports; nothing here runs in the server's process or the orchestrator's.

- readers read as fast as they can (``--rate 0``: ``recv(1 MiB)`` whenever a socket is readable)
  or at ``--rate`` bytes a second each (a token bucket per reader), or never (``--never``, with a
  small receive buffer: the non-readers of the guard row).  A reader whose connection ends without
  being asked counts as dropped.
- senders send ``--lines`` lines of ``--size`` bytes each, all at once (one ``sendall``) or at
  ``--rate`` lines a second for ``--seconds``; ``MSG`` to the room or ``--dm NAME``.  With
  ``--reconnect`` each sender connects, logs in, sends, quits and starts again until stopped.
  Senders also read everything sent to them, so they are never the slow readers.
- pinger sends ``PING`` every ``--interval`` seconds until stopped and reports round-trip times.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import select
import selectors
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

READ_SIZE = 1 << 20
KEEPALIVE_SECONDS = 20.0
ROOT = Path(__file__).resolve().parent.parent
CERT = ROOT / "tests" / "tls" / "localhost.crt"


def raise_descriptor_limit() -> None:
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def connect(port: int, source: str, rcvbuf: int = 0) -> socket.socket:
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source, 0))
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    return sock


def read_line(sock: socket.socket, pending: bytearray) -> bytes:
    while b"\n" not in pending:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a line; got {bytes(pending[:80])!r}")
        pending += chunk
    index = pending.index(b"\n")
    line = bytes(pending[:index])
    del pending[: index + 1]
    return line


def log_in(sock: socket.socket, name: str) -> None:
    sock.sendall(b"LOGIN " + name.encode() + b"\n")
    pending = bytearray()
    reply = read_line(sock, pending)
    if reply != b"OK":
        raise ConnectionError(f"LOGIN {name}: {reply!r}")


def sources(arguments: argparse.Namespace) -> Iterator[str]:
    return itertools.cycle(arguments.sources.split(","))


def wait_for_go() -> None:
    print("ready", flush=True)
    line = sys.stdin.readline()
    if line.strip() != "go":
        raise SystemExit(0)


def stop_requested() -> threading.Event:
    """Set once ``stop`` (or the end of stdin) arrives."""
    stop = threading.Event()

    def watch() -> None:
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    return stop


# --- readers -----------------------------------------------------------------------------------
def readers(arguments: argparse.Namespace) -> dict[str, Any]:
    where = sources(arguments)
    socks = []
    for number in range(arguments.count):
        sock = connect(arguments.port, next(where), arguments.rcvbuf)
        log_in(sock, f"{arguments.prefix}{number}")
        socks.append(sock)
    wait_for_go()
    stop = stop_requested()
    started = time.monotonic()
    received = {sock.fileno(): 0 for sock in socks}
    lines = {sock.fileno(): 0 for sock in socks}  # MSG lines (the stream after OK starts a line)
    tails = {sock.fileno(): b"\n" for sock in socks}
    dropped_at: dict[int, float] = {}
    pings = 0
    if arguments.never:
        # Never read; only notice the server ending the connection (FIN or RST), which poll
        # reports whatever data is waiting unread.
        poller = select.poll()
        for sock in socks:
            poller.register(sock, select.POLLRDHUP)
        while not stop.is_set() and len(dropped_at) < len(socks):
            for fd, _ in poller.poll(200):
                dropped_at[fd] = time.monotonic() - started
                poller.unregister(fd)
    else:
        paced = arguments.rate > 0
        allowance = {sock.fileno(): float(min(arguments.rate, READ_SIZE)) for sock in socks} if paced else {}
        last = next_ping = time.monotonic()
        selector = selectors.DefaultSelector()
        for sock in socks:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, sock)
        while not stop.is_set() and len(dropped_at) < len(socks):
            now = time.monotonic()
            if now >= next_ping:  # as the terminal client does, so the idle timeout spares readers
                next_ping = now + KEEPALIVE_SECONDS
                pings += 1
                for sock in socks:
                    if sock.fileno() not in dropped_at:
                        with contextlib.suppress(OSError):
                            sock.send(b"PING\n")
            if paced:
                for fd, left in allowance.items():
                    allowance[fd] = min(arguments.rate, left + (now - last) * arguments.rate)
                last = now
            for key, _ in selector.select(0.05):
                sock = key.data
                fd = sock.fileno()
                size = READ_SIZE
                if paced:
                    size = int(min(READ_SIZE, allowance[fd]))
                    if size < 1:
                        continue
                try:
                    data = sock.recv(size)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    dropped_at[fd] = time.monotonic() - started
                    selector.unregister(sock)
                    continue
                received[fd] += len(data)
                both = tails[fd] + data  # (a "\nMSG " split across two reads counts once)
                lines[fd] += both.count(b"\nMSG ")
                tails[fd] = both[-4:]
                if paced:
                    allowance[fd] -= len(data)
            if paced:
                # Readers out of allowance must not be woken again and again: a short nap.
                time.sleep(0.002)
        selector.close()
    for sock in socks:
        sock.close()
    return {
        "readers": len(socks),
        "dropped": len(dropped_at),
        "first_drop_s": min(dropped_at.values(), default=None),
        "last_drop_s": max(dropped_at.values(), default=None),
        "bytes": sum(received.values()),
        "pings": pings,
        "lines_min": min(lines.values(), default=0),
        "lines_max": max(lines.values(), default=0),
        "lines_total": sum(lines.values()),
    }


# --- senders -----------------------------------------------------------------------------------
def sender_lines(arguments: argparse.Namespace, number: int, first: int = 0) -> bytes:
    command = f"DM {arguments.dm} " if arguments.dm else "MSG "
    size = arguments.size
    out = []
    for line in range(first, first + arguments.lines):
        head = f"{command}{number}.{line} "
        length = size if not arguments.size_spread else size + (line * 7919) % arguments.size_spread
        out.append(head.encode() + b"x" * max(0, length - len(head)) + b"\n")
    return b"".join(out)


def drain(sock: socket.socket) -> int:
    """Read whatever is there without waiting; the number of bytes, or -1 if the connection ended.
    (``select`` first: a socket with a timeout would wait for data even with MSG_DONTWAIT.)"""
    total = 0
    while select.select([sock], [], [], 0)[0]:
        try:
            data = sock.recv(READ_SIZE)
        except OSError:
            return -1
        if not data:
            return -1
        total += len(data)
    return total


def senders(arguments: argparse.Namespace) -> dict[str, Any]:
    if arguments.reconnect:
        return reconnecting_senders(arguments)
    where = sources(arguments)
    socks = []
    for number in range(arguments.count):
        sock = connect(arguments.port, next(where))
        log_in(sock, f"{arguments.prefix}{number}")
        socks.append(sock)
    wait_for_go()
    stop = stop_requested()
    started = time.monotonic()
    sent = 0
    lost = 0
    if not arguments.rate:
        threads = []

        def send_all(sock: socket.socket, number: int) -> None:
            sock.settimeout(None)
            sock.sendall(sender_lines(arguments, number))

        for number, sock in enumerate(socks):
            thread = threading.Thread(target=send_all, args=(sock, number), daemon=True)
            thread.start()
            threads.append(thread)
        while any(thread.is_alive() for thread in threads) and not stop.is_set():
            for sock in socks:
                if drain(sock) < 0:
                    lost += 1
            time.sleep(0.01)
        sent = arguments.lines * arguments.count
    else:
        interval = 1.0 / arguments.rate
        line_number = 0
        one = argparse.Namespace(**{**vars(arguments), "lines": 1})
        while not stop.is_set() and time.monotonic() - started < arguments.seconds:
            due = started + line_number * interval
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            for number, sock in enumerate(socks):
                try:
                    sock.sendall(sender_lines(one, number, line_number))
                except OSError:
                    lost += 1
                if drain(sock) < 0:
                    lost += 1
            line_number += 1
        sent = line_number * arguments.count
    seconds = time.monotonic() - started
    if stop.is_set():  # told to stop before everything was sent
        for sock in socks:
            sock.close()
        return {"sent": None, "send_seconds": seconds, "stopped": True, "errors": lost}
    # Everything sent is answered by the room in order: a PING after it says it was all read.
    # (Its PONG may wait long behind throttled lines: this ends early if told to stop.)
    waiting = {}
    for sock in socks:
        try:
            sock.sendall(b"PING\n")
            waiting[sock] = bytearray()
        except OSError:
            pass
    while waiting and not stop.is_set():
        for sock in select.select(list(waiting), [], [], 0.2)[0]:
            try:
                data = sock.recv(READ_SIZE)
            except OSError:
                data = b""
            tail = waiting[sock]
            tail += data
            del tail[:-5]
            if not data or tail.endswith(b"PONG\n"):
                del waiting[sock]
    accepted_seconds = None if waiting else time.monotonic() - started
    for sock in socks:
        sock.close()
    return {"sent": sent, "send_seconds": seconds, "accepted_seconds": accepted_seconds, "errors": lost}


def reconnecting_senders(arguments: argparse.Namespace) -> dict[str, Any]:
    """Each of ``count`` threads loops: connect, LOGIN, ``lines`` MSG, QUIT; until stop."""
    wait_for_go()
    stop = stop_requested()
    started = time.monotonic()
    counts = {"sessions": 0, "lines": 0, "refused": 0}
    lock = threading.Lock()
    where = sources(arguments)

    def loop(number: int, source: str) -> None:
        cycle = 0
        while not stop.is_set():
            try:
                sock = connect(arguments.port, source)
            except OSError:
                stop.wait(0.05)
                continue
            try:
                log_in(sock, f"{arguments.prefix}{number}x{cycle}")
            except (ConnectionError, OSError):
                sock.close()
                with lock:
                    counts["refused"] += 1
                stop.wait(0.05)
                continue
            try:
                sock.sendall(sender_lines(arguments, number, cycle * arguments.lines) + b"QUIT\n")
                sock.settimeout(60)
                while sock.recv(READ_SIZE):
                    pass
            except OSError:
                pass
            sock.close()
            cycle += 1
            with lock:
                counts["sessions"] += 1
                counts["lines"] += arguments.lines

    threads = [
        threading.Thread(target=loop, args=(number, next(where)), daemon=True) for number in range(arguments.count)
    ]
    for thread in threads:
        thread.start()
    stop.wait(arguments.seconds)
    stop.set()
    for thread in threads:
        thread.join(70)
    return {**counts, "seconds": time.monotonic() - started}


# --- handshakers -------------------------------------------------------------------------------
def handshakers(arguments: argparse.Namespace) -> dict[str, Any]:
    """``count`` threads per source address complete TLS handshakes as fast as they can."""
    context = ssl.create_default_context(cafile=str(CERT))
    wait_for_go()
    stop = stop_requested()
    counts = {"handshakes": 0, "failed": 0}
    lock = threading.Lock()

    def loop(source: str) -> None:
        while not stop.is_set():
            try:
                with context.wrap_socket(connect(arguments.port, source), server_hostname="localhost"):
                    done = "handshakes"
            except OSError:
                done = "failed"
            with lock:
                counts[done] += 1

    threads = [
        threading.Thread(target=loop, args=(source,), daemon=True)
        for source in arguments.sources.split(",")
        for _ in range(arguments.count)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    stop.wait(arguments.seconds)
    stop.set()
    for thread in threads:
        thread.join(30)
    return {**counts, "seconds": time.monotonic() - started}


# --- pinger ------------------------------------------------------------------------------------
def pinger(arguments: argparse.Namespace) -> dict[str, Any]:
    source = arguments.sources.split(",")[0]

    def open_connection() -> socket.socket:
        sock = connect(arguments.port, source)
        if arguments.tls:
            context = ssl.create_default_context(cafile=str(CERT))
            sock = context.wrap_socket(sock, server_hostname="localhost")
        if not arguments.guest:
            log_in(sock, arguments.prefix)
        return sock

    sock = open_connection()
    wait_for_go()
    stop = stop_requested()
    times = []
    pending = bytearray()
    dropped = False
    while not stop.is_set():
        started = time.perf_counter()
        try:
            sock.sendall(b"PING\n")
            while (line := read_line(sock, pending)) != b"PONG":
                if line == b"INFO login-timeout":
                    raise ConnectionAbortedError
        except (ConnectionError, OSError):
            sock.close()
            if not arguments.guest:
                dropped = True  # the server ended the measuring user's connection
                break
            sock, pending = open_connection(), bytearray()  # a guest's time is up: a new one
            continue
        times.append(time.perf_counter() - started)
        stop.wait(max(0.0, arguments.interval - times[-1]))
    sock.close()
    times.sort()

    def percentile(fraction: float) -> float | None:
        return 1000 * times[min(len(times) - 1, int(len(times) * fraction))] if times else None

    report = {"pings": len(times), "p50_ms": percentile(0.5), "p99_ms": percentile(0.99), "max_ms": percentile(1.0)}
    return {**report, "dropped": dropped, **({"p99_ms": None} if dropped else {})}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("role", choices=("readers", "senders", "pinger", "handshakers"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--sources", default="127.0.0.1", help="loopback addresses to connect from, in turn")
    parser.add_argument("--prefix", default=f"u{os.getpid()}x", help="user names (a number is added)")
    parser.add_argument("--rate", type=float, default=0.0, help="readers: bytes/s each; senders: lines/s each")
    parser.add_argument("--rcvbuf", type=int, default=0)
    parser.add_argument("--never", action="store_true", help="readers that never read")
    parser.add_argument("--lines", type=int, default=100)
    parser.add_argument("--size", type=int, default=1000, help="bytes per line, LF excluded")
    parser.add_argument("--size-spread", type=int, default=0, help="add 0..N-1 bytes to line sizes")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--dm", help="senders: DM this user instead of MSG")
    parser.add_argument("--reconnect", action="store_true")
    parser.add_argument("--guest", action="store_true", help="pinger: do not log in")
    parser.add_argument("--tls", action="store_true", help="pinger: over TLS")
    parser.add_argument("--interval", type=float, default=0.06)
    arguments = parser.parse_args()
    raise_descriptor_limit()
    role = {"readers": readers, "senders": senders, "pinger": pinger, "handshakers": handshakers}[arguments.role]
    report = role(arguments)
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
