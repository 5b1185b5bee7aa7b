"""Join storm: N IRC users register and join the channel at once, from several processes.

    python bench/join_storm.py --irc-port 6667 --clients 10000 --server-pid PID
    python bench/join_storm.py --irc-port 6667 --clients 1000 --workers 2 --json

What a network blip looks like to the server: every user reconnects at the same moment, and each
sends ``NICK``, ``USER`` and ``JOIN #chat`` as soon as its connection is up.  The clients are
split over ``--workers`` processes (``worker`` role, started here), so that the generator is not
what limits the storm on a small machine; they connect as fast as ``--connect-concurrency`` lets
them.  Every client counts whom it knows to be in the channel: its ``NAMES`` reply (each name of
every ``353`` line, itself included) plus every ``JOIN`` line of someone else it gets.  It is done
once it has seen its own ``JOIN`` and the ``366`` and knows all N; a count above N (someone listed
twice, or listed and announced) is an error, as is one that stops short for ``--timeout`` seconds.

Measured: the server's CPU time (user + system, from ``/proc``) from just before the first
connection to the moment the last client is done, that is, until every client has its names and
every JOIN of the storm has reached everyone already in; the wall time of the same span; and the
bytes the clients received.  ``--json`` prints it as one JSON object.  Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
from typing import Any, Final

from common import cpu_seconds, raise_open_file_limit

JOIN: Final = b" JOIN "  # in every JOIN line (and in nothing else the storm brings)


class Tally:
    """One worker's clients, counted together."""

    def __init__(self, clients: int, everyone: int) -> None:
        self.clients, self.everyone = clients, everyone
        self.done = 0
        self.over = 0  # clients that counted more than everyone
        self.bytes = 0
        self.progress = 0  # bumped at every read: the worker gives up after --timeout without any
        self.all_done = asyncio.Event()


class StormClient(asyncio.Protocol):
    """Registers as ``nick``, joins, and counts whom it knows in the channel."""

    __slots__ = ("head", "known", "nick", "partial", "seen_end", "tally", "transport")

    def __init__(self, tally: Tally, nick: str) -> None:
        self.tally, self.nick = tally, nick
        self.head = b""  # everything up to the 366 (its own JOIN, the names)
        self.seen_end = False
        self.known = 0
        self.partial = b""  # the last bytes of a read, which may begin a JOIN the next read ends

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        nick = self.nick.encode()
        transport.write(b"NICK %s\r\nUSER %s 0 * :storm\r\nJOIN #chat\r\n" % (nick, nick))

    def data_received(self, data: bytes) -> None:
        tally = self.tally
        tally.bytes += len(data)
        tally.progress += 1
        if not self.seen_end:
            head = self.head + data
            end = head.find(b" 366 ")
            if end < 0 or head.find(b"\n", end) < 0:
                self.head = head
                return
            cut = head.index(b"\n", end) + 1
            self.head, data = b"", head[cut:]
            self.seen_end = True
            self.known = self._count_head(head[:cut])
        overlap = len(JOIN) - 1
        self.known += (self.partial + data[:overlap]).count(JOIN) + data.count(JOIN)
        self.partial = (self.partial + data)[-overlap:]
        if self.known >= tally.everyone:
            self.tally.over += self.known > tally.everyone
            self.known = -(1 << 60)  # (counted once)
            tally.done += 1
            if tally.done == tally.clients:
                tally.all_done.set()

    def _count_head(self, head: bytes) -> int:
        """Whom the lines up to the 366 show: the names, and the JOINs of others."""
        own = f":{self.nick}!".encode()
        known = 0
        for line in head.split(b"\r\n"):
            fields = line.split(b" ", 2)
            if len(fields) == 3 and fields[1] == b"353":
                known += len(line.partition(b" :")[2].split())
            elif len(fields) == 3 and fields[1] == b"JOIN" and not line.startswith(own):
                known += 1
        return known


async def storm(arguments: argparse.Namespace) -> dict[str, Any]:
    """The worker: its clients connect (once the coordinator says go), join, and count."""
    loop = asyncio.get_running_loop()
    tally = Tally(arguments.count, arguments.everyone)
    connecting = asyncio.Semaphore(arguments.connect_concurrency)
    clients: list[StormClient] = []
    refused = 0

    async def connect(number: int) -> None:
        nonlocal refused
        client = StormClient(tally, f"{arguments.prefix}{number}")
        async with connecting:
            try:
                await loop.create_connection(lambda: client, arguments.host, arguments.irc_port)
            except OSError:
                refused += 1
                return
        clients.append(client)

    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # (the go)
    started = time.perf_counter()
    await asyncio.gather(*(connect(number) for number in range(arguments.first, arguments.first + arguments.count)))
    while not tally.all_done.is_set():
        before = tally.progress
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(tally.all_done.wait(), arguments.timeout)
        if tally.progress == before:
            break
    seconds = time.perf_counter() - started
    for client in clients:
        client.transport.close()
    return {"clients": arguments.count, "done": tally.done, "over": tally.over, "refused": refused,
            "bytes": tally.bytes, "seconds": seconds}  # fmt: skip


def coordinate(arguments: argparse.Namespace) -> dict[str, Any]:
    """Start the workers, let them all go at once, and read the server's CPU time around the storm."""
    shares = [arguments.clients // arguments.workers + (k < arguments.clients % arguments.workers)
              for k in range(arguments.workers)]  # fmt: skip
    workers = []
    first = 0
    for share in shares:
        command = [sys.executable, __file__, "--worker", "--first", str(first), "--count", str(share),
                   "--everyone", str(arguments.clients), "--irc-port", str(arguments.irc_port),
                   "--host", arguments.host, "--prefix", arguments.prefix, "--timeout", str(arguments.timeout),
                   "--connect-concurrency", str(max(1, arguments.connect_concurrency // arguments.workers))]  # fmt: skip
        workers.append(subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        first += share
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    pids = [int(pid) for pid in arguments.cpu_pids.split(",")] if arguments.cpu_pids else [arguments.server_pid]
    cpu_before = [cpu_seconds(pid) for pid in pids]
    started = time.perf_counter()
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    reports = []
    for worker in workers:  # (the CPU time is read once the last of them is done)
        assert worker.stdout is not None
        line = worker.stdout.readline()
        reports.append(json.loads(line) if line.strip() else {"clients": 0, "done": 0, "over": 0, "bytes": 0})
    cpu_after = [cpu_seconds(pid) for pid in pids]
    seconds = time.perf_counter() - started
    for worker in workers:
        worker.wait()
    spent = [after - before for before, after in zip(cpu_before, cpu_after, strict=True)
             if before is not None and after is not None]  # fmt: skip
    done = sum(report["done"] for report in reports)
    return {
        "clients": arguments.clients,
        "done": done,
        "over": sum(report["over"] for report in reports),
        "refused": sum(report.get("refused", 0) for report in reports),
        "incomplete": arguments.clients - done,
        "storm_seconds": seconds,
        "server_cpu_seconds": sum(spent) if len(spent) == len(pids) and pids[0] else None,
        "received_mib": sum(report["bytes"] for report in reports) / (1 << 20),
    }


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--irc-port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4, help="load-generator processes")
    parser.add_argument("--connect-concurrency", type=int, default=1000, help="connections opening at once, in all")
    parser.add_argument("--timeout", type=float, default=30.0, help="give up after this long without progress")
    parser.add_argument("--prefix", default="s", help="nicks: this and a number")
    parser.add_argument("--server-pid", type=int, default=0, help="whose CPU time is read from /proc")
    parser.add_argument("--cpu-pids", help="comma-separated: add up these processes' CPU time (several nodes)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--everyone", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> int:
    raise_open_file_limit()
    arguments = parse_arguments()
    if arguments.worker:
        print(json.dumps(asyncio.run(storm(arguments))), flush=True)
        return 0
    report = coordinate(arguments)
    if arguments.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>20}: {value:,.3f}" if isinstance(value, float) else f"{key:>20}: {value}")
    return 1 if report["incomplete"] or report["over"] or report["refused"] else 0


if __name__ == "__main__":
    sys.exit(main())
