"""The floor to compare against: parses LOGIN and MSG just enough to fan out, checks nothing.

    python bench/null_server.py [--port 0]

No validation, no limits, no logging, no WHO/DM/QUIT.  It uses the same output strategy as the
real server (a broadcast is encoded once; everything queued for a connection during one loop
iteration goes out in one write), so the real server's ratio to it measures what the protocol's
rules and protections cost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib


class NullClient(asyncio.Protocol):
    __slots__ = ("name", "outbox", "pending", "room", "transport")

    def __init__(self, room: dict[NullClient, None]) -> None:
        self.room, self.name, self.pending = room, b"", b""
        self.outbox: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        *lines, self.pending = (self.pending + data).split(b"\n")
        for line in lines:
            if line.startswith(b"MSG ") and self.name:
                out = b"MSG " + self.name + b" " + line[4:].rstrip(b"\r") + b"\n"
                for client in self.room:
                    if client is not self:
                        client.send(out)
            elif line.startswith(b"LOGIN "):
                self.name = line[6:].strip()
                self.room[self] = None
                self.send(b"OK\n")

    def send(self, data: bytes) -> None:
        if not self.outbox:
            asyncio.get_running_loop().call_soon(self.flush)
        self.outbox.append(data)

    def flush(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(b"".join(self.outbox))
        self.outbox.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        self.room.pop(self, None)


async def main(port: int) -> None:
    room: dict[NullClient, None] = {}
    server = await asyncio.get_running_loop().create_server(lambda: NullClient(room), "127.0.0.1", port, backlog=4096)
    print(f"Null server started on port {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args().port))
