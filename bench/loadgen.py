"""Load generator: N clients log in, S of them send M messages each, everyone counts what arrives.

    python bench/loadgen.py --port 4000 --clients 200 --senders 10 --messages 2000
    python bench/loadgen.py --port 4000 --clients 1000 --senders 10 --rate 50 --seconds 6 --server-pid PID
    python bench/loadgen.py --port 4000,4001 ...     # clients (and senders) alternate between two nodes
    python bench/loadgen.py --port 4000 --irc-port 6667 --irc-every 2 ...   # every 2nd client on IRC

Senders send flat out (one write of all M lines) or paced at ``--rate`` messages a second each.
Every message carries its send time, and ``--sample`` receivers parse every line for latency; the
others only count newlines, so the generator stays cheap per delivery.  Reports delivered versus
expected (loss), deliveries per second, latency p50/p99/max, login time, and the server's peak RSS
(``/proc``, where there is one).  ``--json`` prints the same as one JSON object.  Standard library only.

With ``--irc-port``, every ``--irc-every``-th client (senders included) is an IRC client instead:
it registers, joins ``#chat`` (logged in once its ``366`` arrives), sends ``PRIVMSG #chat`` and
counts the ``PRIVMSG`` lines it gets (the JOINs of later logins are not deliveries).  With
``--irc-caps`` too, every IRC client first asks for every capability the gateway offers
(server-time, message-tags, echo-message ...): each message then carries its tags, and an IRC
sender gets its own messages back, which count as deliveries.  ``--irc-caps-every N`` instead:
only every Nth IRC client asks (2: half of them, senders included), the others stay plain.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from typing import Any, Final

from common import cpu_seconds, raise_open_file_limit, rss_kib


class Run:
    """What all clients of one run share: counters and the events that end each phase."""

    def __init__(self, clients: int, expected: int) -> None:
        self.clients = clients
        self.expected = expected
        self.logged_in = 0
        self.delivered = 0
        self.bytes_received = 0  # after login
        self.latencies_ns: list[int] = []
        self.all_logged_in = asyncio.Event()
        self.all_delivered = asyncio.Event()
        self.last_delivery = 0.0
        if expected == 0:
            self.all_delivered.set()


IRC_DELIVERY: Final = b" PRIVMSG #"  # in every message an IRC client gets, and in nothing else
EVERY_CAP: Final = (
    b"batch cap-notify echo-message labeled-response message-tags multi-prefix server-time userhost-in-names"
)


class BenchClient(asyncio.Protocol):
    __slots__ = ("caps", "irc", "logged_in", "measure_latency", "name", "partial", "run", "transport")

    def __init__(self, run: Run, name: str, measure_latency: bool, irc: bool = False, caps: bool = False) -> None:
        self.run, self.name, self.measure_latency, self.irc, self.caps = run, name, measure_latency, irc, caps
        self.logged_in = False
        self.partial = b""  # an unfinished line (or, for a plain IRC counter, the last few bytes)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        name = self.name.encode()
        if self.irc:
            negotiate = b"CAP LS 302\r\nCAP REQ :%s\r\n" % EVERY_CAP if self.caps else b""
            end = b"CAP END\r\n" if self.caps else b""
            transport.write(negotiate + b"NICK %s\r\nUSER %s 0 * :bench\r\n%sJOIN #chat\r\n" % (name, name, end))
        else:
            transport.write(b"LOGIN " + name + b"\n")

    def message(self, padding: bytes) -> bytes:
        if self.irc:
            return b"PRIVMSG #chat :%d %s\r\n" % (time.perf_counter_ns(), padding)
        return b"MSG %d %s\n" % (time.perf_counter_ns(), padding)

    def data_received(self, data: bytes) -> None:
        run = self.run
        if not self.logged_in:  # the first line is the OK; on IRC, everything up to the 366
            data = self.partial + data
            if self.irc:
                end = data.find(b" 366 ")
                if end < 0 or data.find(b"\n", end) < 0:
                    self.partial = data
                    return
                data = data[data.index(b"\n", end) + 1 :]
            else:
                data = data[data.index(b"\n") + 1 :]
            self.logged_in, self.partial = True, b""
            run.logged_in += 1
            if run.logged_in == run.clients:
                run.all_logged_in.set()
        run.bytes_received += len(data)
        if self.measure_latency:
            messages = self._timed(data)
        elif self.irc:  # (the last bytes of one read may begin a match that ends in this one)
            overlap = len(IRC_DELIVERY) - 1
            messages = (self.partial + data[:overlap]).count(IRC_DELIVERY) + data.count(IRC_DELIVERY)
            self.partial = (self.partial + data)[-overlap:] if len(data) < overlap else data[-overlap:]
        else:
            messages = data.count(b"\n")
        if messages:
            run.delivered += messages
            run.last_delivery = time.perf_counter()
            if run.delivered >= run.expected:
                run.all_delivered.set()

    def _timed(self, data: bytes) -> int:
        """Parse every complete line: note each message's latency, and count them."""
        now = time.perf_counter_ns()
        *complete, self.partial = (self.partial + data).split(b"\n")
        if not self.irc:
            for line in complete:
                fields = line.split(b" ", 3)
                if fields[0] == b"MSG" and len(fields) > 2 and fields[2].isdigit():
                    self.run.latencies_ns.append(now - int(fields[2]))
            return len(complete)
        count = 0
        for line in complete:
            if line.startswith(b"@"):  # (message tags, with --irc-caps)
                line = line.partition(b" ")[2]
            fields = line.split(b" ", 4)  # :nick!nick@host PRIVMSG #chat :<time> <padding>
            if len(fields) > 3 and fields[1] == b"PRIVMSG":
                count += 1
                if fields[3][1:].isdigit():
                    self.run.latencies_ns.append(now - int(fields[3][1:]))
        return count


async def send_paced(client: BenchClient, rate: float, seconds: float, padding: bytes) -> None:
    started = time.perf_counter()
    for number in range(round(rate * seconds)):
        delay = started + number / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        client.transport.write(client.message(padding))


def is_irc(arguments: argparse.Namespace, number: int) -> bool:
    """Whether client ``number`` is on IRC."""
    return arguments.irc_port is not None and number % arguments.irc_every == arguments.irc_every - 1


def asks_caps(arguments: argparse.Namespace, number: int) -> bool:
    """Whether client ``number`` is on IRC and asks for every capability."""
    every = arguments.irc_caps_every or (1 if arguments.irc_caps else 0)
    return every > 0 and is_irc(arguments, number) and (number // arguments.irc_every) % every == every - 1


def server_cpu_seconds(pids: list[int | None]) -> float | None:
    """The CPU time of every server process so far (a cluster's nodes together), where /proc tells."""
    times = [cpu_seconds(pid) for pid in pids]
    return None if None in times else sum(spent for spent in times if spent is not None)


async def generate(arguments: argparse.Namespace) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    per_sender = round(arguments.rate * arguments.seconds) if arguments.rate else arguments.messages
    expected = arguments.senders * per_sender * (arguments.clients - 1)
    # (echo-message: the IRC senders with every capability get their own messages back)
    expected += sum(1 for number in range(arguments.senders) if asks_caps(arguments, number)) * per_sender
    run = Run(arguments.clients, expected)
    rss_before = rss_kib(arguments.server_pid)
    connecting = asyncio.Semaphore(arguments.connect_concurrency)
    clients: list[BenchClient] = []

    refused: list[OSError] = []

    ports = [int(port) for port in arguments.port.split(",")]

    async def connect(number: int) -> None:
        measure = arguments.senders <= number < arguments.senders + arguments.sample
        irc = is_irc(arguments, number)
        client = BenchClient(run, f"b{number}", measure, irc, asks_caps(arguments, number))
        port = arguments.irc_port if irc else ports[number % len(ports)]
        async with connecting:
            try:
                await loop.create_connection(lambda: client, arguments.host, port)
            except OSError as problem:
                refused.append(problem)
                return
        clients.append(client)

    login_started = time.perf_counter()
    await asyncio.gather(*(connect(number) for number in range(arguments.clients)))
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(run.all_logged_in.wait(), arguments.timeout)
    login_seconds = time.perf_counter() - login_started
    if run.logged_in < arguments.clients:
        for client in clients:
            client.transport.close()
        return {
            "clients": arguments.clients,
            "logged_in": run.logged_in,
            "refused": len(refused),
            "expected": expected,
            "delivered": 0,
            "lost": expected,
            "login_seconds": login_seconds,
        }
    clients.sort(key=lambda client: int(client.name[1:]))

    padding = b"x" * arguments.size
    cpu_pids = [int(pid) for pid in arguments.cpu_pids.split(",")] if arguments.cpu_pids else [arguments.server_pid]
    cpu_before = server_cpu_seconds(cpu_pids)
    bytes_before = run.bytes_received
    send_started = time.perf_counter()
    senders = clients[: arguments.senders]
    if arguments.rate:
        await asyncio.gather(*(send_paced(c, arguments.rate, arguments.seconds, padding) for c in senders))
    else:
        for client in senders:
            client.transport.write(b"".join(client.message(padding) for _ in range(per_sender)))
    # Wait for everything, or until deliveries stop arriving for --timeout seconds.
    while not run.all_delivered.is_set():
        before = run.delivered
        try:
            await asyncio.wait_for(run.all_delivered.wait(), arguments.timeout)
        except asyncio.TimeoutError:
            if run.delivered == before:
                break
    elapsed = max(run.last_delivery - send_started, 1e-9)
    cpu_after = server_cpu_seconds(cpu_pids)
    server_cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    for client in clients:
        client.transport.close()
    latencies = sorted(run.latencies_ns)

    def percentile(fraction: float) -> float | None:
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] / 1e6 if latencies else None

    return {
        "clients": arguments.clients,
        "logged_in": run.logged_in,
        "refused": len(refused),
        "senders": arguments.senders,
        "messages_per_sender": per_sender,
        "expected": expected,
        "delivered": run.delivered,
        "lost": expected - run.delivered,
        "seconds": elapsed,
        "deliveries_per_second": run.delivered / elapsed if expected else None,
        "server_cpu_seconds": server_cpu,  # (from the first message sent to the last delivery)
        "server_cpu_ns_per_delivery": server_cpu * 1e9 / run.delivered if server_cpu and run.delivered else None,
        "bytes_per_delivery": (run.bytes_received - bytes_before) / run.delivered if run.delivered else None,
        "latency_ms_p50": percentile(0.50),
        "latency_ms_p99": percentile(0.99),
        "latency_ms_max": latencies[-1] / 1e6 if latencies else None,
        "login_seconds": login_seconds,
        "server_rss_kib_before": rss_before,
        "server_peak_rss_kib": rss_kib(arguments.server_pid, "VmHWM"),
    }


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", required=True, help="a port, or several (4000,4001): clients take turns")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--messages", type=int, default=2000, help="per sender, when flat out")
    parser.add_argument("--rate", type=float, default=0.0, help="messages/s per sender (0 = flat out)")
    parser.add_argument("--seconds", type=float, default=6.0, help="how long paced senders send")
    parser.add_argument("--size", type=int, default=32, help="bytes of text after the timestamp")
    parser.add_argument("--sample", type=int, default=20, help="receivers that measure latency")
    parser.add_argument("--connect-concurrency", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=10.0, help="give up after this long without progress")
    parser.add_argument("--irc-port", type=int, help="the server's IRC port: some clients use IRC")
    parser.add_argument("--irc-every", type=int, default=2, help="with --irc-port: every Nth client is on IRC")
    parser.add_argument("--irc-caps", action="store_true", help="with --irc-port: IRC clients ask for every capability")
    parser.add_argument(
        "--irc-caps-every", type=int, default=0, help="with --irc-port: every Nth IRC client asks for them"
    )
    parser.add_argument("--server-pid", type=int, help="to read the server's RSS (and CPU time) from /proc")
    parser.add_argument("--cpu-pids", help="comma-separated: add up these processes' CPU time (several nodes)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    return parser.parse_args(argv)


def main() -> int:
    raise_open_file_limit()
    arguments = parse_arguments()
    report = asyncio.run(generate(arguments))
    if arguments.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>24}: {value:,.3f}" if isinstance(value, float) else f"{key:>24}: {value}")
    return 1 if report["lost"] or report["logged_in"] < report["clients"] else 0


if __name__ == "__main__":
    sys.exit(main())
