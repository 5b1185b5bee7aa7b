"""Scripted mode (stdin is a pipe or a file): every line read is sent, every server line is
printed exactly as received (to a terminal: as ``terminal.for_terminal`` shows it), and at end of
input the client sends QUIT and waits for the server to close, so no reply is lost.  Status 0 then;
1 if the server closed the connection first (one line on stderr).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator

from algokart_chat.client.connection import QUIT_WAIT_SECONDS, Connection
from algokart_chat.client.terminal import PROG, for_terminal


def run_scripted(connection: Connection) -> int:
    """Send standard input line by line and print what the server sends; see the module docstring."""
    out = sys.stdout.buffer
    finished = threading.Event()  # end of input, or the server closed the connection

    def print_raw(line: bytes) -> None:
        out.write(line)
        out.flush()

    def print_for_terminal(line: bytes) -> None:
        sys.stdout.write(for_terminal(line) + ("\n" if line.endswith(b"\n") else ""))
        sys.stdout.flush()

    def receive() -> None:
        connection.run(print_for_terminal if sys.stdout.isatty() else print_raw)
        finished.set()

    def send_input() -> None:
        for line in input_lines(sys.stdin.fileno()):
            if not connection.send(line) or connection.quit_sent:
                break
        finished.set()

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    threading.Thread(target=send_input, daemon=True).start()
    finished.wait()
    if connection.closed.is_set() and not connection.quit_sent:
        print(f"{PROG}: the server closed the connection", file=sys.stderr)
        return 1
    connection.quit_and_wait()
    receiver.join(QUIT_WAIT_SECONDS)
    return 0


def input_lines(fd: int) -> Iterator[bytes]:
    """Lines read straight from a file descriptor: no buffered-reader lock for exit to trip over."""
    pending = b""
    while chunk := os.read(fd, 65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        yield from (line + b"\n" for line in lines)
    if pending:
        yield pending
