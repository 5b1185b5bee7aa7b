"""History's figures: its memory beside its bounds, and users reconnecting at once for their gap.

    python bench/history_figures.py            # every figure (about half a minute)
    python bench/history_figures.py --quick    # scaled down (seconds; tests/test_bench.py runs it)

Memory (rows 1-3): a ``History`` is filled, in a process of its own under ``tracemalloc``, with
many more messages than its bounds hold, texts of one size per row: short texts (the line bound
is reached first), long texts (the byte bound), and short texts with no line bound to speak of
(the byte bound, with the most messages kept: the most bookkeeping).  The figure is the peak of
the memory the history held during the fill, beside ``--history-bytes`` plus ``BOOKKEEPING``
bytes for each message kept (its record, the id, time and place objects, its place in the deque
and in the index by id, each string's header, and the id of a record let go, remembered for the
count of messages lost): the bookkeeping is bounded by ``--history-lines``.
(The flood's and the crowd's figures with history on beside history off are bench/run.py's.)

Reconnection (row 4): a server with the defaults (history on, flood control on) and a room whose
last ``--gap`` messages were sent after a given id; ``--users`` users connect at once, each sends
``LOGIN`` and ``HISTORY AFTER <id>`` in one write, reads its answer to ``HISTORY-END`` and leaves,
and again with new names, round after round, while another user sends ``PING`` every 60 ms: the
figure is that user's p99 round trip.  Every answer must be ``complete`` with the whole gap.  The
senders of the gap, the reconnecting users and the measuring user each run in a process of their
own (``hostile.Worker``), never in the server's nor in this one.  Exit status 1 if a figure misses
its target (with ``--quick``, the round trip's is shown but not judged).
"""

from __future__ import annotations

import argparse
import selectors
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

from common import Figure, chat_server, raise_open_file_limit
from hostile import FIGURES_HEADING, Line, Worker, figure_line, pinger

# Bytes a message kept may cost beyond its strings' bytes (measured: 440-500 held, more at the peak
# of the index's growth): its record, its texts' tuple, time and place, and the id of a record let go.
BOOKKEEPING = 640
PING_P99_TARGET_MS = 100.0
USER_NAMES = 50  # the fill's senders (as in a room, each sender's name is one string shared by its messages)


@dataclass(frozen=True)
class Fill:
    what: str
    lines: int
    size: int
    text_bytes: int
    messages: int


def fill_history(pipe: Connection, fill: Fill) -> None:
    """Worker: fill a History as ``fill`` says under tracemalloc; answer what it held."""
    import tracemalloc

    from algokart_chat.events import MessageId
    from algokart_chat.history import History, Kept

    names = [f"user{number}" for number in range(USER_NAMES)]
    tracemalloc.start()
    history = History(fill.lines, fill.size, 86400.0)
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    started = 1.8e9
    for number in range(fill.messages):
        text = f"{number:08d} " + "x" * (fill.text_bytes - 9)  # a string of its own, as a received one is
        entry = Kept(MessageId(f"k3f9a-{number}"), started + number / 1000, names[number % USER_NAMES], text)
        history.add(entry)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    pipe.send((current - base, peak - base, len(history), history.kept_bytes))


def memory_figures(row: int, fill: Fill) -> list[Figure]:
    worker = Worker(fill_history, fill)
    held, peak, kept, kept_bytes = worker.ask()
    worker.stop()
    bookkeeping = (held - kept_bytes) / kept
    print(
        f"     {fill.what}: {kept:,} messages kept of {fill.messages:,}, {kept_bytes / 1024:,.0f} KiB of "
        f"text; held {held / 1024:,.0f} KiB, bookkeeping {bookkeeping:.0f} bytes a message",
        flush=True,
    )
    bound = (fill.size + kept * BOOKKEEPING) / 1024
    return [
        Figure(row, f"{fill.what}: peak held (KiB)", peak / 1024, bound, "KiB"),
        Figure(row, f"{fill.what}: bookkeeping per message kept", bookkeeping, BOOKKEEPING, "B"),
    ]


def fill_gap(pipe: Connection, port: int, senders: int, per_sender: int) -> None:
    """Worker: the id of a message (the reconnecting users' last seen), then ``senders`` users
    send ``per_sender`` messages each after it (within the default burst); answers the id."""
    watcher = Line(port).login("watcher")
    watcher.send("IDS ON")
    watcher.sync()
    first = Line(port).login("sender0")
    first.send("MSG the last message they saw")
    anchor = next(line for line in watcher.sync() if line.startswith("@"))[1:].split(" ", 1)[0]
    users = [first, *(Line(port).login(f"sender{number}") for number in range(1, senders))]
    for number, user in enumerate(users):
        user.send(*(f"MSG message {index} of sender {number}, while they were away" for index in range(per_sender)))
    for user in users:
        user.sync()  # (every message is in the room, and its history, before PONG)
        user.close()
    watcher.close()
    pipe.send(anchor)


def reconnect(pipe: Connection, port: int, users: int, anchor: str, gap: int, seconds: float) -> None:
    """Worker: on ``go``, round after round for ``seconds``: ``users`` connect at once, each
    asks ``HISTORY AFTER anchor`` with its LOGIN, reads the answer and leaves.  Answers
    (rounds, answers, answers complete with the whole gap, slowest round in ms)."""
    pipe.send("ready")
    pipe.recv()
    rounds = answers = whole = 0
    slowest = 0.0
    deadline = time.perf_counter() + seconds
    while (started := time.perf_counter()) < deadline:
        selector = selectors.DefaultSelector()
        for number in range(users):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(f"LOGIN r{rounds}u{number}\nHISTORY AFTER {anchor}\n".encode())
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, (sock, bytearray()))
        while selector.get_map():
            for key, _ in selector.select(30):
                sock, received = key.data
                chunk = sock.recv(1 << 16)
                received += chunk
                end = received.find(b"HISTORY-END ")
                if not chunk or (end >= 0 and received.endswith(b"\n")):
                    answers += 1
                    lines = received.count(b"\nHISTORY ")  # (each follows the OK or another line)
                    whole += received[end:].startswith(b"HISTORY-END complete %d\n" % gap) and lines == gap
                    selector.unregister(sock)
                    sock.close()
        selector.close()
        rounds += 1
        slowest = max(slowest, time.perf_counter() - started)
    pipe.send((rounds, answers, whole, slowest * 1000))


def reconnection_figures(row: int, users: int, gap: int, seconds: float) -> list[Figure]:
    server = chat_server(quiet=True)  # the defaults: history and flood control on
    workers: list[Worker] = []
    try:
        senders = -(-gap // 80)  # (each within the default burst)
        filler = Worker(fill_gap, server.port, senders, gap // senders)
        workers.append(filler)
        anchor = filler.ask()
        gap = senders * (gap // senders)
        measured = Worker(pinger, server.port, seconds)
        storm = Worker(reconnect, server.port, users, anchor, gap, seconds)
        workers += [measured, storm]
        measured.ask(), storm.ask()  # both ready
        measured.pipe.send("go")
        storm.pipe.send("go")
        p99 = measured.ask()
        rounds, answers, whole, slowest = storm.ask()
    finally:
        for worker in workers:
            worker.stop()
        server.stop()
    print(
        f"     {rounds} rounds of {users} users reconnecting at once, each asking for a gap of {gap} "
        f"messages: {answers:,} answers, {whole:,} with the whole gap; slowest round {slowest:.0f} ms",
        flush=True,
    )
    return [
        Figure(row, f"{users} reconnecting for a gap of {gap}: others' PING p99", p99, PING_P99_TARGET_MS, "ms"),
        Figure(
            row, "answers with the whole gap (complete)", whole / answers * 100 if answers else None, 100, "%", True
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every figure scaled down (seconds)")
    parser.add_argument("--users", type=int, help="users reconnecting at once (default 100; quick 20)")
    parser.add_argument("--gap", type=int, help="messages each asks for (default 400; quick 40)")
    parser.add_argument("--seconds", type=float, help="how long they keep reconnecting (default 6; quick 1)")
    arguments = parser.parse_args()
    raise_open_file_limit()
    quick = arguments.quick
    scale = 10 if quick else 1
    fills = (
        Fill("1000 lines, 1 MiB, 100-byte texts", 1000, 1 << 20, 100, 20_000 // scale),
        Fill("1000 lines, 1 MiB, 4000-byte texts", 1000, 1 << 20, 4000, 5_000 // scale),
        Fill("1M lines, 1 MiB, 32-byte texts", 1 << 20, 1 << 20, 32, 200_000 // (scale // 4 or 1)),
    )
    print(FIGURES_HEADING)
    missed = 0
    for row, fill in enumerate(fills, 1):
        for figure in memory_figures(row, fill):
            print(figure_line(figure), flush=True)
            missed += not figure.met
    users = arguments.users or (20 if quick else 100)
    gap = arguments.gap or (40 if quick else 400)
    seconds = arguments.seconds or (1.0 if quick else 6.0)
    for figure in reconnection_figures(len(fills) + 1, users, gap, seconds):
        print(figure_line(figure), flush=True)
        missed += not figure.met and not (quick and figure.unit == "ms")  # (quick: no timing judged)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
