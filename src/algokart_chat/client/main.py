"""The terminal client: ``python src/test_client.py [--host H] [--port P] [--user NAME] [--tls ...]``
(installed: ``algokart-chat-client``).  This module reads the flags, connects and runs a mode.

What the user types is sent as is; what the server sends is shown as it arrives:
- interactive (stdin is a terminal: ``interactive``): a ``> `` prompt with line editing and
  history; a server line that arrives while the user is typing gets its own row above the prompt
  and the half-typed line is redrawn intact; colour when stdout is a terminal and NO_COLOR is unset;
- scripted (stdin is a pipe or file: ``scripted``): every line is sent, every server line is
  printed exactly as received (to a terminal: as below), and at end of input the client sends QUIT
  and waits for the server to close, so no reply is lost.  Nothing is added, asked or
  reconnected: the output is the server's, byte for byte (a script decides what a drop means).
Whatever the server sends is text to a terminal, never commands (``terminal.for_terminal``).

``--tls`` connects with TLS, verifying the server's certificate against the system store or
``--cafile``; ``--insecure`` skips verification (for self-signed test setups) and says so on stderr.

Exit status: 0 after QUIT (typed, end of input, Ctrl+D, Ctrl+C), 1 when the connection cannot be
made (refused, unknown host, time-out, untrusted certificate) or is lost, 2 for bad flags.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence

from algokart_chat.client.connection import Connection, connect, connection_problem, host_and_port
from algokart_chat.client.interactive import run_interactive
from algokart_chat.client.scripted import run_scripted
from algokart_chat.client.terminal import PROG
from algokart_chat.version import __version__


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The flags, with HOST and PORT from the environment when not given; exits with status 2 if bad."""
    parser = argparse.ArgumentParser(prog=PROG, description="Terminal client for algokart-chat.")
    parser.add_argument(
        "--host",
        default=os.environ.get("HOST") or "127.0.0.1",
        help="server address, IPv6 with or without brackets ([::1]) [env HOST, default 127.0.0.1]",
    )
    parser.add_argument("--port", type=int, default=None, help="server port [env PORT, default 4000]")
    parser.add_argument("--user", metavar="NAME", help="send LOGIN NAME on connect")
    parser.add_argument("--tls", action="store_true", help="connect with TLS (to the server's --tls-port)")
    parser.add_argument("--cafile", metavar="FILE", help="with --tls: trust this CA or self-signed certificate")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="with --tls: do not verify the server's certificate (self-signed test setups)",
    )
    parser.add_argument("--version", action="version", version=f"algokart-chat terminal client {__version__}")
    arguments = parser.parse_args(argv)
    if arguments.host.startswith("[") and arguments.host.endswith("]"):  # [::1], as in a URL
        arguments.host = arguments.host[1:-1]
    if arguments.port is None:
        environment_port = os.environ.get("PORT") or "4000"
        if not (environment_port.isascii() and environment_port.isdigit()):
            parser.error(f"invalid PORT value {environment_port!r}")
        arguments.port = int(environment_port)
    if not 0 < arguments.port < 65536:
        parser.error(f"port {arguments.port} is out of range 1-65535")
    if (arguments.cafile or arguments.insecure) and not arguments.tls:
        parser.error("--cafile and --insecure go with --tls")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Run the client with these flags (the command line's by default); return its exit status."""
    arguments = parse_arguments(argv)
    if arguments.insecure:
        print(f"{PROG}: warning: --insecure: the server's certificate is not verified", file=sys.stderr)
    try:
        sock = connect(
            arguments.host, arguments.port, tls=arguments.tls, cafile=arguments.cafile, insecure=arguments.insecure
        )
    except OSError as problem:
        print(
            f"{PROG}: cannot connect to {host_and_port(arguments.host, arguments.port)}: {connection_problem(problem)}",
            file=sys.stderr,
        )
        return 1
    if sys.stdout.isatty() and isinstance(sys.stdout, io.TextIOWrapper):
        # A character the terminal's encoding lacks is shown as "?" rather than ending the client,
        # and text goes out in that encoding: UTF-8 bytes on a Latin-1 terminal could be C1 controls.
        sys.stdout.reconfigure(errors="replace")
    connection = Connection(sock)

    def reconnect() -> Connection:
        return Connection(
            connect(
                arguments.host, arguments.port, tls=arguments.tls, cafile=arguments.cafile, insecure=arguments.insecure
            )
        )

    try:
        if sys.stdin.isatty():
            return run_interactive(connection, arguments.user, reconnect)
        if arguments.user:
            connection.send(f"LOGIN {arguments.user}\n".encode())
        return run_scripted(connection)
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
