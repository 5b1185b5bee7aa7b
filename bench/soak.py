"""Soak test: N clients do random valid and invalid things for T seconds, then invariants are checked.

    python bench/soak.py --clients 50 --seconds 30            # starts its own server on port 0
    python bench/soak.py --port 4000 --pid 12345              # against a running server

Each client, in one asyncio loop, logs in and picks at random: MSG, DM, WHO, PING, HELP, an
unknown command, an empty MSG, a DM to nobody, an over-long line, garbage bytes, or QUIT and a
new login under a fresh name.  Every MSG/DM carries a unique id.  A sender marks its messages
"landed" when the PONG of a later PING arrives.  Checked at the end, for every message:
- it reached, exactly once, every user online for its whole flight (logged in, OK received,
  before it was sent; still there when it landed);
- it reached nobody twice, never its sender, and a DM nobody but its recipient;
- every recipient saw each sender's messages in the order sent, and any two recipients saw the
  broadcasts they share in the same order.
The server's RSS and open descriptors (from /proc, where there is one) are reported before,
at the peak and after all clients left; descriptors must be back to the baseline.
Standard library only; exit status 1 if any invariant fails.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import re
import sys
import time
from dataclasses import dataclass, field

from common import chat_server, open_descriptors, rss_kib

INVALID_LINES = [b"FROB\n", b"MSG\n", b"DM nobody-here hi\n", b"LOGIN x\n", b"\x00\x1b[2J\xff\xf4\n", b"\xc3\x28\n"]


@dataclass
class Message:
    ident: str
    sender: str
    recipient: str | None  # None for a broadcast
    sent: int
    landed: int | None = None


@dataclass
class Identity:
    name: str
    logged_in: int  # tick when its OK arrived
    left: int | None = None  # tick when it sent QUIT (or the run ended)
    received: list[str] = field(default_factory=list)  # message ids, in arrival order


class Soak:
    def __init__(self, host: str, port: int, seed: int, max_line: int) -> None:
        self.host, self.port, self.max_line = host, port, max_line
        self.rng = random.Random(seed)
        self.clock = itertools.count(1)  # logical time: the loop is single-threaded
        self.messages: dict[str, Message] = {}
        self.identities: dict[str, Identity] = {}
        self.online: set[str] = set()
        self.actions = 0
        self.errors: list[str] = []

    async def run_client(self, number: int, deadline: float) -> None:
        for generation in itertools.count():
            name = f"s{number}_{generation}"
            reader, writer = await asyncio.open_connection(self.host, self.port)
            pongs: asyncio.Queue[int] = asyncio.Queue()
            writer.write(f"LOGIN {name}\n".encode())
            listening = asyncio.ensure_future(self.listen(name, reader, pongs))
            await pongs.get()  # the OK
            unlanded: list[Message] = []
            sequence = 0
            pings = 0  # sent and not answered yet
            while time.monotonic() < deadline:
                self.actions += 1
                roll = self.rng.random()
                if roll < 0.45 or (roll < 0.6 and len(self.online) < 2):
                    sequence += 1
                    message = Message(f"{name}:{sequence}", name, None, next(self.clock))
                    writer.write(f"MSG #{message.ident}\n".encode())
                elif roll < 0.6:
                    sequence += 1
                    target = self.rng.choice(sorted(self.online - {name}) or [name])
                    message = Message(f"{name}:{sequence}", name, target, next(self.clock))
                    writer.write(f"DM {target.upper()} #{message.ident}\n".encode())
                elif roll < 0.7:
                    line = self.rng.choice([b"WHO\n", b"HELP\n", b"PING\n"])
                    pings += line == b"PING\n"
                    writer.write(line)
                    message = None
                elif roll < 0.8:
                    writer.write(self.rng.choice(INVALID_LINES))
                    message = None
                elif roll < 0.82:
                    writer.write(b"L" * (self.max_line + 10) + b"\n")
                    message = None
                elif roll < 0.99:
                    message = None
                else:
                    break  # QUIT, then log in again under a new name
                if message is not None:
                    self.messages[message.ident] = message
                    unlanded.append(message)
                if roll >= 0.8 or self.rng.random() < 0.2:
                    await self.land(unlanded, pings, writer, pongs)
                    pings = 0
                await asyncio.sleep(self.rng.random() * 0.05)
            await self.land(unlanded, pings, writer, pongs)
            self.identities[name].left = next(self.clock)
            self.online.discard(name)
            writer.write(b"QUIT\n")
            await listening
            writer.close()
            if time.monotonic() >= deadline:
                return

    async def land(
        self, unlanded: list[Message], pings: int, writer: asyncio.StreamWriter, pongs: asyncio.Queue[int]
    ) -> None:
        """PING and wait for its PONG: everything sent before it has then been delivered."""
        writer.write(b"PING\n")
        for _ in range(pings + 1):
            landed = await pongs.get()
        for message in unlanded:
            message.landed = landed
        unlanded.clear()

    async def listen(self, name: str, reader: asyncio.StreamReader, pongs: asyncio.Queue[int]) -> None:
        while line := (await reader.readline()).decode("utf-8", "replace").rstrip("\n"):
            if line == "OK":
                self.identities[name] = Identity(name, next(self.clock))
                self.online.add(name)
                await pongs.put(0)
            elif line == "PONG":
                await pongs.put(next(self.clock))
            elif (found := re.fullmatch(r"(MSG|DM) (\S+) #(\S+)", line)) is not None:
                self.identities[name].received.append(found.group(3))
            elif line.startswith(("MSG ", "DM ")):
                self.errors.append(f"{name} got a malformed message line {line!r}")

    def check(self) -> int:
        """Check every invariant; return the number of deliveries checked."""
        checked = 0
        position = {
            name: {ident: index for index, ident in enumerate(who.received)} for name, who in self.identities.items()
        }
        for name, who in self.identities.items():
            if len(position[name]) != len(who.received):
                self.errors.append(f"{name} received a message twice")
            last_from: dict[str, int] = {}
            for ident in who.received:
                message = self.messages.get(ident)
                if message is None or message.sender == name:
                    self.errors.append(f"{name} received {ident}, which it should not have")
                    continue
                if message.recipient is not None and message.recipient != name:
                    self.errors.append(f"{name} received a DM meant for {message.recipient}")
                sequence = int(ident.rsplit(":", 1)[1])
                if sequence <= last_from.get(message.sender, 0):
                    self.errors.append(f"{name} got {ident} out of order")
                last_from[message.sender] = sequence
        for message in self.messages.values():
            if message.landed is None:
                self.errors.append(f"{message.ident} never landed")
                continue
            audience = [message.recipient] if message.recipient else list(self.identities)
            for name in audience:
                listener = self.identities.get(name) if name else None
                if listener is None or name == message.sender:
                    continue
                if listener.logged_in < message.sent and (listener.left is None or listener.left > message.landed):
                    checked += 1
                    if message.ident not in position[name]:
                        self.errors.append(f"{name} never received {message.ident}")
        broadcasts = {
            name: [i for i in who.received if self.messages.get(i) and not self.messages[i].recipient]
            for name, who in self.identities.items()
        }
        names = sorted(broadcasts)
        for first, second in itertools.pairwise(names):
            shared = set(broadcasts[first]) & set(broadcasts[second])
            if [i for i in broadcasts[first] if i in shared] != [i for i in broadcasts[second] if i in shared]:
                self.errors.append(f"{first} and {second} saw broadcasts in different orders")
        return checked


def process_figures(pid: int | None) -> tuple[int, int] | None:
    """(RSS in KiB, open descriptors) of the server, where /proc tells."""
    rss, descriptors = rss_kib(pid), open_descriptors(pid)
    return (rss, descriptors) if rss is not None and descriptors is not None else None


async def sample_peak(pid: int | None, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        figures = process_figures(pid)
        if figures:
            peak[0] = max(peak[0], figures[0])
            peak[1] = max(peak[1], figures[1])
        await asyncio.sleep(0.2)


async def soak(arguments: argparse.Namespace, pid: int | None) -> int:
    runner = Soak(arguments.host, arguments.port, arguments.seed, arguments.max_line_bytes)
    before = process_figures(pid)
    peak = [0, 0]
    stop = asyncio.Event()
    sampler = asyncio.ensure_future(sample_peak(pid, peak, stop))
    started = time.monotonic()
    deadline = started + arguments.seconds
    await asyncio.gather(*(runner.run_client(number, deadline) for number in range(arguments.clients)))
    stop.set()
    await sampler
    # Every client has read its connection to the end, so the server has closed them all.
    after = process_figures(pid)
    checked = runner.check()
    print(
        f"soak: {arguments.clients} clients, {time.monotonic() - started:.1f} s, {runner.actions} actions, "
        f"{len(runner.identities)} logins, {len(runner.messages)} messages, {checked} deliveries checked"
    )
    if before and after:
        print(
            f"server RSS: {before[0] / 1024:.1f} MiB before, {peak[0] / 1024:.1f} MiB peak, "
            f"{after[0] / 1024:.1f} MiB after; open descriptors: {before[1]} before, {peak[1]} peak, {after[1]} after"
        )
        if after[1] != before[1]:
            runner.errors.append(f"descriptors not back to baseline: {before[1]} -> {after[1]}")
    for problem in runner.errors[:20]:
        print("FAIL:", problem)
    print(f"{'FAILED' if runner.errors else 'OK'}: {len(runner.errors)} invariant violations")
    return 1 if runner.errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="a running server's port (default: start one on port 0)")
    parser.add_argument("--pid", type=int, help="the running server's PID, for RSS and descriptors")
    parser.add_argument("--max-line-bytes", type=int, default=8192, help="the server's --max-line-bytes")
    arguments = parser.parse_args()
    server = None
    pid = arguments.pid
    if arguments.port is None:
        server = chat_server()
        arguments.port, pid = server.port, server.pid
    try:
        return asyncio.run(soak(arguments, pid))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
