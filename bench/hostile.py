"""Hostile patterns at full size: each row's figure beside its target, in one run.

    python bench/hostile.py               # every row (about two minutes)
    python bench/hostile.py --rows 6 7    # some of them
    python bench/hostile.py --quick       # every row scaled down (seconds)

Each row gets a fresh server process with the defaults, except ``--max-per-ip 0`` where the
row needs more connections than one address may hold (every client here comes from 127.0.0.1;
rows 3 and 10 keep the default and use 127.0.0.2 as the "other" address).  In rows 1-13 attackers
and the measuring user run in this process, in threads; from row 14 on each runs in a process of
its own (``Worker``), never in the server's nor in this one.  The server's memory and CPU come from
/proc, so the figures need Linux.  Exit status 1 if any figure misses its target.

Scaled down to seconds, rows 1 and 2 are tested in tests/test_output_end_to_end.py, 3 and 10 in
test_admission_end_to_end.py, 4 in test_tls.py, 5, 11 and 12 in test_protocol_end_to_end.py, 6 in
test_input_pump_end_to_end.py and 13 in test_listeners_end_to_end.py.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import re
import select
import selectors
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from common import ROOT, Figure, Spawned, chat_server, raise_open_file_limit, rss_kib, unused_port

SERVER = ROOT / "src" / "server.py"
CERT, KEY = ROOT / "tests" / "tls" / "localhost.crt", ROOT / "tests" / "tls" / "localhost.key"
TIMEOUT = 30.0


class Line:
    """A blocking line client."""

    def __init__(self, port: int, source: str | None = None, rcvbuf: int = 0, tls: bool = False) -> None:
        sock = socket.socket()
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if source:
            sock.bind((source, 0))
        sock.settimeout(TIMEOUT)
        sock.connect(("127.0.0.1", port))
        if tls:
            sock = ssl.create_default_context(cafile=str(CERT)).wrap_socket(sock, server_hostname="localhost")
        self.sock, self.buffer = sock, b""

    def send(self, *lines: str) -> None:
        self.sock.sendall("".join(line + "\n" for line in lines).encode())

    def read_line(self) -> str:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed; rest {self.buffer[:80]!r}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def login(self, name: str) -> Line:
        self.send(f"LOGIN {name}")
        if (reply := self.read_line()) != "OK":
            raise ConnectionError(f"LOGIN {name}: {reply}")
        return self

    def sync(self) -> list[str]:
        self.send("PING")
        lines = []
        while (line := self.read_line()) != "PONG":
            lines.append(line)
        return lines

    def close(self) -> None:
        self.sock.close()


PING_INTERVAL = 0.06  # about 16 a second: under --rate-limit (20), so the measured user is never throttled


def ping_p99_ms(user: Line, count: int) -> float:
    """PING round trips, one every PING_INTERVAL; the 99th percentile in milliseconds."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        user.sync()
        times.append(time.perf_counter() - started)
        time.sleep(max(0.0, PING_INTERVAL - times[-1]))
    times.sort()
    return 1000 * times[min(len(times) - 1, int(len(times) * 0.99))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def attackers(*targets: Callable[[threading.Event], None]) -> Iterator[None]:
    """Run each attack in a thread until the block ends."""
    stop = threading.Event()

    def run(target: Callable[[threading.Event], None]) -> None:
        with contextlib.suppress(OSError):
            target(stop)

    threads = [threading.Thread(target=run, args=(target,), daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(TIMEOUT)


def other_address_available() -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.2", 0))
            return True
        except OSError:
            return False


# --- the rows -------------------------------------------------------------------------------------
def non_readers(size: int) -> list[Figure]:
    """Rows 1 and 2: non-readers while one user floods; then they keep their end open."""
    server = chat_server("--rate-limit", "0", quiet=True)
    try:
        sender, watcher = Line(server.port).login("sender"), Line(server.port).login("watcher")
        stuck = [Line(server.port, rcvbuf=4096).login(f"stuck{i}") for i in range(size)]
        watcher.sync()
        before = rss_kib(server.pid) or 0
        dropped, number, filler = 0, 0, "f" * 1000
        while dropped < size:
            sender.send(*(f"MSG {number + i} {filler}" for i in range(20)))
            number += 20
            dropped += sum(line.endswith(" disconnected") for line in watcher.sync())
        peak = ((rss_kib(server.pid, "VmHWM") or 0) - before) / size
        held = fin_wait_1_bytes(server.port)
        for client in stuck:
            client.close()
        time.sleep(2)  # the server trims a second after the wave of drops
        after = ((rss_kib(server.pid) or 0) - before) / size
        return [
            Figure(1, f"server memory per non-reader at the peak ({size})", peak, 128, "KiB"),
            Figure(1, "... once they are gone", after, 16, "KiB"),
            Figure(2, "unsent data held by dropped sockets (FIN-WAIT-1)", held, 0, "bytes"),
        ]
    finally:
        server.stop()


def fin_wait_1_bytes(port: int) -> int:
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            columns = row.split()
            local_port, state, queues = int(columns[1].rsplit(":", 1)[1], 16), columns[3], columns[4]
            if local_port == port and state == "04":
                held += int(queues.split(":")[0], 16)
    return held


def silent_tls(size: int) -> list[Figure]:
    """Row 3: connections to the TLS port that never start the handshake."""
    server, tls_port = start_tls("--max-per-ip", "32")
    try:
        before = rss_kib(server.pid) or 0
        started = time.monotonic()
        silent = [socket.create_connection(("127.0.0.1", tls_port)) for _ in range(size)]
        login = None
        if other_address_available():  # during the flood; by its OK the server has seen the flood too
            began = time.monotonic()
            Line(tls_port, source="127.0.0.2", tls=True).login("elsewhere").close()
            login = Figure(3, "a TLS user from another address logs in", time.monotonic() - began, 3, "s")
        per_connection = ((rss_kib(server.pid) or 0) - before) / size
        figures = [Figure(3, f"server memory per silent TLS connection ({size})", per_connection, 64, "KiB")]
        figures += [login] if login else []
        closed_after = wait_all_closed(silent) - started
        figures.append(Figure(3, "every silent connection closed, after accept", closed_after, 11, "s"))
        return figures
    finally:
        server.stop()


def start_tls(*args: str) -> tuple[Spawned, int]:
    command = [sys.executable, str(SERVER), "--port", "0", "--tls-port", "0"]
    command += ["--tls-cert", str(CERT), "--tls-key", str(KEY), *args]
    server = Spawned(command)
    return server, server.tls_port


def wait_all_closed(sockets: list[socket.socket]) -> float:
    """Block until the server has closed every one of ``sockets``; the time of the last."""
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            selector.register(sock, selectors.EVENT_READ, sock)
        left = len(sockets)
        while left:
            for key, _ in selector.select(TIMEOUT):
                ready: socket.socket = key.data
                try:
                    data = ready.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(ready)
                    ready.close()
                    left -= 1
    return time.monotonic()


def idle_tls(size: int) -> list[Figure]:
    """Row 4: idle logged-in TLS users."""
    server, tls_port = start_tls("--max-per-ip", "0")
    try:
        first = Line(tls_port, tls=True).login("first")
        first.sync()
        before = rss_kib(server.pid) or 0
        users = [Line(tls_port, tls=True).login(f"idle{i}") for i in range(size)]
        first.sync()
        per_user = ((rss_kib(server.pid) or 0) - before) / size
        for user in users:
            user.close()
        return [Figure(4, f"server memory per idle TLS user ({size})", per_user, 64, "KiB")]
    finally:
        server.stop()


def login_timeout(_size: int) -> list[Figure]:
    """Row 5: a guest that pings now and then but never logs in (--login-timeout 2 here)."""
    server = chat_server("--login-timeout", "2", quiet=True)
    try:
        guest = Line(server.port)
        began = time.monotonic()
        while True:
            guest.send("PING", "")
            if guest.read_line() == "INFO login-timeout":
                break
            time.sleep(0.2)
        return [Figure(5, "a pinging guest is closed after (--login-timeout 2)", time.monotonic() - began, 3, "s")]
    finally:
        server.stop()


def telnet(seconds: float) -> list[Figure]:
    """Row 6: endless IAC SB, and endless IAC NOP, while a user pings."""

    def endless(start: bytes, chunk: bytes) -> Callable[[threading.Event], None]:
        def attack(stop: threading.Event) -> None:
            with socket.create_connection(("127.0.0.1", server.port)) as sock:
                sock.sendall(start)
                while not stop.is_set():
                    sock.sendall(chunk)

        return attack

    subnegotiation = endless(b"\xff\xfa\x1f", b"x" * 65536)  # IAC SB NAWS, never IAC SE
    nops = endless(b"", b"\xff\xf1" * 32768)  # IAC NOP

    server = chat_server(quiet=True)
    try:
        user = Line(server.port).login("user")
        with attackers(subnegotiation, nops):
            cpu, began = cpu_seconds(server.pid), time.monotonic()
            p99 = ping_p99_ms(user, int(seconds / PING_INTERVAL))
            share = 100 * (cpu_seconds(server.pid) - cpu) / (time.monotonic() - began)
        return [
            Figure(6, "server CPU under IAC SB and IAC NOP floods", share, 25, "%"),
            Figure(6, "... another user's PING p99", p99, 50, "ms"),
        ]
    finally:
        server.stop()


def who_flood(size: int) -> list[Figure]:
    """Row 7: 20 users send WHO as fast as allowed with ``size`` online."""

    def asker(number: int) -> Callable[[threading.Event], None]:
        def ask(stop: threading.Event) -> None:
            user = Line(server.port).login(f"asker{number}")
            reader = threading.Thread(target=lambda: drain(user.sock), daemon=True)
            reader.start()
            while not stop.is_set():
                user.send(*["WHO"] * 10)
            user.close()

        return ask

    server = chat_server("--max-clients", "20000", quiet=True)
    try:
        online = [Line(server.port).login(f"online{i}") for i in range(size)]
        user = Line(server.port).login("measured")
        with attackers(*(asker(n) for n in range(20))):
            p99 = ping_p99_ms(user, 150)
        for client in online:
            client.close()
        return [Figure(7, f"PING p99 while 20 users flood WHO, {size} online", p99, 100, "ms")]
    finally:
        server.stop()


def drain(sock: socket.socket) -> None:
    try:
        while sock.recv(1 << 20):
            pass
    except OSError:
        pass


def mass_departure(size: int) -> list[Figure]:
    """Row 8: ``size`` users disconnect at the same moment; 10 watchers stay."""
    server = chat_server("--max-clients", "20000", quiet=True)
    try:
        leaving = [Line(server.port).login(f"leaving{i}") for i in range(size)]
        watchers = [Line(server.port).login(f"watcher{i}") for i in range(10)]
        for watcher in watchers:
            watcher.sync()
        heard: list[list[str]] = [[] for _ in watchers]

        def listen(watcher: Line, lines: list[str]) -> None:
            while len(lines) < size:
                lines.append(watcher.read_line())

        threads = [threading.Thread(target=listen, args=pair) for pair in zip(watchers, heard, strict=True)]
        for thread in threads:
            thread.start()
        began = time.monotonic()
        for client in leaving:
            client.close()
        for thread in threads:
            thread.join(TIMEOUT * 4)
        took = time.monotonic() - began
        expected = {f"INFO leaving{i} disconnected" for i in range(size)}
        exact = all(len(lines) == size and set(lines) == expected for lines in heard)
        return [
            Figure(8, f"{size} leave at once: every watcher has heard of all", took, 1.5, "s"),
            Figure(8, "... each departure heard exactly once (1 = yes)", float(exact), 1, "", True),
        ]
    finally:
        server.stop()


def stuck_stdout(size: int) -> list[Figure]:
    """Row 9: stdout is a pipe nobody reads while connections are refused; then SIGTERM."""
    command = [sys.executable, str(SERVER), "--port", "0", "--max-clients", "1", "--log-level", "debug"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert server.stdout is not None
        started = None
        while started is None and (line := server.stdout.readline()):
            started = re.search(rb"started on port (\d+)", line)
        assert started is not None, "the server did not start"
        port = int(started.group(1))
        occupant = Line(port).login("occupant")
        began = time.monotonic()
        for _ in range(size):
            refused = Line(port)
            refused.read_line()
            refused.close()
        rate = size / (time.monotonic() - began)
        occupant.sync()
        began = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(TIMEOUT)
        return [
            Figure(9, "refusals served while stdout is stuck", rate, 500, "/s", True),
            Figure(9, "... then SIGTERM exits within", time.monotonic() - began, 5, "s"),
        ]
    finally:
        server.kill()
        server.wait()


def address_hog(size: int) -> list[Figure]:
    """Row 10: one address opens ``size`` connections (default --max-per-ip)."""
    server = Spawned([sys.executable, str(SERVER), "--port", "0"])
    try:
        hog = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(size)]
        for sock in hog:
            sock.sendall(b"PING\n")
        held = sum(first_line(sock) == b"PONG" for sock in hog)
        figures = [Figure(10, f"connections one address holds (of {size})", held, 64, "")]
        if other_address_available():
            began = time.monotonic()
            Line(server.port, source="127.0.0.2").login("elsewhere").close()
            figures.append(Figure(10, "another address logs in meanwhile", time.monotonic() - began, 1, "s"))
        for sock in hog:
            sock.close()
        return figures
    finally:
        server.stop()


def first_line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n") and (chunk := sock.recv(1)):
        data += chunk
    return data.rstrip(b"\n")


def text_rules(_size: int) -> list[Figure]:
    """Rows 11 and 12: bidi controls in text, a name that mixes scripts."""
    server = chat_server(quiet=True)
    try:
        alice, bob = Line(server.port).login("Alice"), Line(server.port).login("bob")
        alice.send("MSG access \u202egranted\u202c")
        bidi_gone = bob.read_line() == "MSG Alice access granted"
        lookalike = Line(server.port)
        lookalike.send("LOGIN \u0410lice")  # Cyrillic А
        refused = lookalike.read_line().startswith("ERR invalid-username ")
        return [
            Figure(11, "bidi controls removed from MSG (1 = yes)", float(bidi_gone), 1, "", True),
            Figure(12, "a mixed-script look-alike name refused (1 = yes)", float(refused), 1, "", True),
        ]
    finally:
        server.stop()


# --- IRC rows: attackers and the measuring user each in a process of their own -------------------
IRC_SERVER = "bench.irc"


class Irc(Line):
    """A blocking IRC client (lines end in LF, which IRC takes), registered and in #chat on creation."""

    def __init__(self, port: int, nick: str) -> None:
        super().__init__(port)
        self.nick, self.pings = nick, 0
        self.send(f"NICK {nick}", f"USER {nick} 0 * :{nick}", "JOIN #chat")
        self.read_until(" 366 ")

    def read_line(self) -> str:
        return super().read_line().removesuffix("\r")

    def read_until(self, marker: str) -> list[str]:
        lines = [self.read_line()]
        while marker not in lines[-1]:
            lines.append(self.read_line())
        return lines

    def sync(self) -> list[str]:
        """PING (a sync point); the lines that came before its PONG."""
        self.pings += 1
        self.send(f"PING sync{self.pings}")
        return self.read_until(f"PONG {IRC_SERVER} :sync{self.pings}")[:-1]


class Worker:
    """``target(pipe, *args)`` in a process of its own (spawned: it shares nothing with this one),
    talking to this one over ``pipe``."""

    def __init__(self, target: Callable[..., None], *args: object) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=target, args=(child, *args), daemon=True)
        self.process.start()
        child.close()

    def ask(self, *message: object, timeout: float = TIMEOUT * 4) -> Any:
        """Send ``message`` (if any) and wait for the worker's answer."""
        if message:
            self.pipe.send(message)
        if not self.pipe.poll(timeout):
            raise TimeoutError(f"no answer from {self.process.name} to {message!r}")
        return self.pipe.recv()

    def stop(self) -> None:
        self.process.join(TIMEOUT)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.pipe.close()


def irc_server(*args: str) -> tuple[Spawned, int]:
    port = unused_port()
    return chat_server("--irc-port", str(port), "--irc-server-name", IRC_SERVER, *args, quiet=True), port


def pinger(pipe: Connection, port: int, seconds: float) -> None:
    """Worker: a line user who, on ``go``, pings every PING_INTERVAL for ``seconds`` and answers
    the p99 in milliseconds (a PING still unanswered by then counts with the time it has waited)."""
    user = Line(port).login("measured")
    pipe.send("ready")
    pipe.recv()
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while (started := time.perf_counter()) < deadline:
        user.sock.settimeout(max(0.1, deadline - started))
        try:
            user.sync()
        except TimeoutError:
            times.append(time.perf_counter() - started)
            break
        times.append(time.perf_counter() - started)
        time.sleep(max(0.0, PING_INTERVAL - times[-1]))
    times.sort()
    pipe.send(1000 * times[min(len(times) - 1, int(len(times) * 0.99))])
    user.close()


HOSTILE_MASK = "\ufdfa" * 160  # 480 bytes; NFKC makes each character 18


def mask_askers(pipe: Connection, port: int, connections: int) -> None:
    """Worker: ``connections`` IRC users who, from ``go`` to ``stop``, send WHO with a new mask
    each time, as fast as their budgets allow; answers how many masks were answered."""
    askers = [Irc(port, f"asker{number}") for number in range(connections)]
    pipe.send("ready")
    pipe.recv()
    stop, answered = threading.Event(), [0] * connections

    def ask(number: int) -> None:
        asker, sent = askers[number], 0
        with contextlib.suppress(OSError):
            while not stop.is_set():
                asker.send(*(f"WHO {HOSTILE_MASK}{number}x{sent + i}*" for i in range(16)))
                sent += 16
                for _ in range(16):
                    asker.read_until(" 315 ")
                answered[number] += 16

    in_threads_until_told(pipe, stop, ask, connections)
    pipe.send(sum(answered))


def in_threads_until_told(pipe: Connection, stop: threading.Event, work: Callable[[int], None], count: int) -> None:
    """Run ``work(0)`` ... ``work(count - 1)`` each in a thread of its own until ``pipe`` says to
    stop, then set ``stop`` and wait for them (a worker's attack between ``go`` and ``stop``)."""
    threads = [threading.Thread(target=work, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    pipe.recv()
    stop.set()
    for thread in threads:
        thread.join(TIMEOUT)


def who_masks(size: int) -> list[Figure]:
    """Row 14: IRC users send WHO with distinct 500-byte masks that NFKC makes 18 times longer."""
    connections = 20 if size >= 1000 else 4
    server, irc_port = irc_server()
    askers = pinger_worker = None
    try:
        askers = Worker(mask_askers, irc_port, connections)
        pinger_worker = Worker(pinger, server.port, 10 if size >= 1000 else 2)
        askers.ask()  # (ready)
        pinger_worker.ask()
        before = rss_kib(server.pid) or 0
        pinger_worker.pipe.send("go")
        askers.pipe.send("go")
        p99 = pinger_worker.ask()
        answered = askers.ask("stop")
        grown = ((rss_kib(server.pid) or 0) - before) / 1024
        return [
            Figure(14, "distinct hostile WHO masks answered", answered, size, "", True),
            Figure(14, "... server RSS growth for them", grown, 4, "MiB"),
            Figure(14, "... another user's PING p99 meanwhile", p99, 50, "ms"),
        ]
    finally:
        for worker in (askers, pinger_worker):
            if worker is not None:
                worker.stop()
        server.stop()


TARGETS = ("v1", "v2", "v3", "v4")
RATE_LIMIT, RATE_BURST = 20, 100  # lines: the defaults of --rate-limit and --rate-burst


def target_readers(pipe: Connection, port: int) -> None:
    """Worker: IRC users v1-v4 in #chat, each noting when every PRIVMSG reached it; on ``report``,
    once all is read, answers those times per user."""
    users = [Irc(port, nick) for nick in TARGETS]
    heard: list[list[tuple[float, str]]] = [[] for _ in users]
    pongs = [threading.Semaphore(0) for _ in users]

    def read(number: int) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while True:
                line = users[number].read_line()
                if " PRIVMSG " in line:
                    heard[number].append((time.monotonic(), line.split(" ", 3)[2]))
                elif " PONG " in line:
                    pongs[number].release()

    for number in range(len(users)):
        threading.Thread(target=read, args=(number,), daemon=True).start()
    pipe.send("ready")
    while pipe.recv() == ("report",):
        for user, pong in zip(users, pongs, strict=True):
            user.send("PING report")
            pong.acquire(timeout=TIMEOUT)
        pipe.send([list(times) for times in heard])
        for times in heard:
            times.clear()


def target_flooder(pipe: Connection, port: int) -> None:
    """Worker: one IRC user in #chat.  ``("copies", n)``: n lines naming #chat 80 times and n naming
    v1 120 times; ``("flood", seconds)``: lines to v1-v4 as fast as the server takes them, then
    the time the flood began and ended."""
    flooder = Irc(port, "flooder")
    pipe.send("ready")
    while True:
        message = pipe.recv()
        if message[0] == "copies":
            channels, nicks = ",".join(["#chat"] * 80), ",".join([TARGETS[0]] * 120)
            flooder.send(*[f"PRIVMSG {channels} :x"] * message[1], *[f"PRIVMSG {nicks} :y"] * message[1])
            flooder.sync()
            pipe.send("done")
        elif message[0] == "flood":
            pipe.send(flood(flooder.sock, f"PRIVMSG {','.join(TARGETS)} :", message[1]))
        else:
            return


def flood(sock: socket.socket, head: str, seconds: float) -> tuple[float, float]:
    """Send numbered lines as fast as the server reads them for ``seconds``; the times the flood
    began and ended."""
    sock.setblocking(False)
    began, pending, number = time.monotonic(), b"", 0
    while time.monotonic() - began < seconds:
        if not pending:
            pending = "".join(f"{head}{number + i}\r\n" for i in range(10)).encode()
            number += 10
        if select.select([], [sock], [], 0.05)[1]:
            with contextlib.suppress(BlockingIOError):
                pending = pending[sock.send(pending) :]
    return began, time.monotonic()  # (the socket is not used again: a line half sent is harmless)


def multi_target(seconds: int) -> list[Figure]:
    """Row 15: one IRC user's messages to many targets (repeated, or distinct) in one line."""
    server, irc_port = irc_server()
    readers = flooder = None
    try:
        readers, flooder = Worker(target_readers, irc_port), Worker(target_flooder, irc_port)
        readers.ask()  # (ready)
        flooder.ask()
        lines = 10
        flooder.ask("copies", lines)
        heard = readers.ask("report")
        to_channel = sum(target == "#chat" for _, target in heard[1]) / lines  # (v2: a member, not v1)
        to_v1 = sum(target == TARGETS[0] for _, target in heard[0]) / lines
        began, ended = flooder.ask("flood", seconds)
        flooder.pipe.send(("quit",))
        heard = readers.ask("report")
        delivered = sum(began <= when <= ended for times in heard for when, _ in times)
        budget = RATE_BURST + RATE_LIMIT * (ended - began)  # lines it could send in that time
        return [
            Figure(15, "deliveries to a member per PRIVMSG naming #chat 80 times", to_channel, 1, ""),
            Figure(15, "deliveries to v1 per PRIVMSG naming v1 120 times", to_v1, 1, ""),
            Figure(15, f"4-target flood for {seconds} s: deliveries per line of budget", delivered / budget, 1, ""),
        ]
    finally:
        for worker in (readers, flooder):
            if worker is not None:
                with contextlib.suppress(OSError):
                    worker.pipe.send(("quit",))
                worker.stop()
        server.stop()


WITH_OPEN_FILE_LIMIT = """
import os, resource, runpy, sys
limit, held = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
held_files = [open(os.devnull) for _ in range(held)]
sys.argv = sys.argv[3:]
sys.path.insert(0, os.path.dirname(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def descriptors(_size: int) -> list[Figure]:
    """Row 13: 300 connections with a limit of 256; then out of descriptors with 100 held elsewhere."""
    figures = []
    for held in (0, 100):
        command = [sys.executable, "-c", WITH_OPEN_FILE_LIMIT, "256", str(held), str(SERVER), "--port", "0"]
        server = Spawned([*command, "--max-per-ip", "0"])
        try:
            clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(300)]
            for sock in clients:
                sock.sendall(b"PING\n")
            if held == 0:
                lowered = sum("--max-clients lowered" in line for line in server.lines)
                figures.append(
                    Figure(13, "warned at start that --max-clients is lowered (1 = yes)", lowered, 1, "", True)
                )
                full = sum(first_line(sock).startswith(b"ERR server-full ") for sock in clients)
                figures.append(Figure(13, "of 300 with 256 descriptors, told server-full", full, 1, "", True))
            else:
                cpu, began = cpu_seconds(server.pid), time.monotonic()
                time.sleep(3)
                share = 100 * (cpu_seconds(server.pid) - cpu) / (time.monotonic() - began)
                figures.append(Figure(13, "server CPU while out of descriptors", share, 5, "%"))
            began = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(TIMEOUT)
            what = "SIGTERM exits within" if held == 0 else "... SIGTERM exits within, out of descriptors"
            figures.append(Figure(13, what, time.monotonic() - began, 2, "s"))
            for sock in clients:
                sock.close()
        finally:
            server.stop()
    return figures


ROWS: dict[int, tuple[Callable[[int], list[Figure]], int, int]] = {
    # row: (scenario, full size, quick size); rows 2, 11 and 12 come with 1, 12 and 11
    1: (non_readers, 2000, 100),
    3: (silent_tls, 2000, 100),
    4: (idle_tls, 1000, 50),
    5: (login_timeout, 0, 0),
    6: (telnet, 10, 1),
    7: (who_flood, 3000, 300),
    8: (mass_departure, 10000, 500),
    9: (stuck_stdout, 2000, 200),
    10: (address_hog, 1000, 100),
    11: (text_rules, 0, 0),
    13: (descriptors, 0, 0),
    14: (who_masks, 2000, 200),
    15: (multi_target, 10, 4),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="*", default=sorted(ROWS), help="rows to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="every row scaled down")
    arguments = parser.parse_args()
    if not sys.platform.startswith("linux"):
        print("hostile.py reads the server's memory and CPU from /proc: Linux only", file=sys.stderr)
        return 2
    raise_open_file_limit()
    missed = 0
    print(FIGURES_HEADING)
    for row in arguments.rows:
        scenario, full, quick = ROWS[row]
        for figure in scenario(quick if arguments.quick else full):
            print(figure_line(figure), flush=True)
            missed += not figure.met
    return 1 if missed else 0


FIGURES_HEADING = f"{'row':>3}  {'figure':<62} {'measured':>10}  {'target':>10}"


def figure_line(figure: Figure) -> str:
    """A figure beside its target, under FIGURES_HEADING, and whether it met it."""
    relation = ">=" if figure.higher_is_better else "<="
    mark = "ok" if figure.met else "MISSED"
    value, target = f"{figure.value:.1f} {figure.unit}", f"{relation} {figure.target:g} {figure.unit}"
    return f"{figure.row:>3}  {figure.what:<62} {value:>10}  {target:>10}  {mark}"


if __name__ == "__main__":
    sys.exit(main())
