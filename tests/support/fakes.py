"""Fakes for testing a connection in this process: a transport, a loop whose clock the test moves,
and a session that records what it was given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class FakeTransport(asyncio.Transport):
    """Records what the connection writes; closes like a real transport, via the loop.

    ``room`` plays the kernel: None takes everything at once; a number takes that many bytes, and
    what does not fit waits (``get_write_buffer_size``, and ``pause_writing`` for the protocol, as
    asyncio does with a high-water mark of 0) until ``drain`` makes room."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: asyncio.BaseProtocol, peer: tuple[str, int]) -> None:
        super().__init__()
        self.loop, self.protocol, self.peer = loop, protocol, peer
        self.written = bytearray()
        self.writes = 0
        self.closing = False
        self.reading = True
        self.room: int | None = None
        self.waiting = bytearray()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.peer if name == "peername" else default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closing, "write after close"
        self.writes += 1
        if self.room is None:
            self.written += data
            return
        taken = min(self.room, len(data)) if not self.waiting else 0
        self.written += data[:taken]
        self.room -= taken
        was_waiting = bool(self.waiting)
        self.waiting += data[taken:]
        if self.waiting and not was_waiting:
            self.protocol.pause_writing()

    def drain(self, size: int) -> None:
        """The peer read ``size`` bytes: send what waited, and say so once nothing waits."""
        assert self.room is not None
        self.room += size
        taken = min(self.room, len(self.waiting))
        self.written += self.waiting[:taken]
        del self.waiting[:taken]
        self.room -= taken
        if taken and not self.waiting:
            self.protocol.resume_writing()

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

    def is_reading(self) -> bool:
        return self.reading and not self.closing

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return len(self.waiting)


class ManualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose time moves only when the test moves it."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0

    def time(self) -> float:
        return self.now

    def run_ready(self) -> None:
        """Run what is due now (callbacks, and timers whose time has come)."""
        for _ in range(3):
            self.run_until_complete(asyncio.sleep(0))


class RecordingSession:
    """The half of a session that takes lines (``transport.input_pump.InputSession``), recording
    each call in ``calls``: ``ready`` says whether it takes the next line, and the line
    ``not_now`` is declined once (the connection offers it again once resumed)."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.calls: list[str] = []
        self.ready = True
        self.not_now: str | None = None
        self.on_line: Callable[[str], object] = lambda line: None

    def line_received(self, line: str) -> bool:
        self.calls.append(line)
        self.on_line(line)
        if line == self.not_now:
            self.not_now = None
            return False
        return True

    def line_too_long(self) -> None:
        self.calls.append("<too long>")

    def read_done(self) -> None:
        self.calls.append("<read done>")

    def ready_for_input(self) -> bool:
        return self.ready
