"""Entry point: ``python src/server.py [--port N] ...`` runs the chat server (``--help`` lists all).

Exit status: 0 after a graceful shutdown (Ctrl+C, SIGTERM; Ctrl+Break on Windows), 1 when the
server cannot start (port in use, unknown host), 2 for a bad setting.  Each failure is one line
on stderr, never a traceback.  Logs go to stdout through ``logging``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import Callable, Sequence

from handlers.chat_server import ChatServer
from utils.config import Settings, SettingsError, load_settings
from utils.tls import TLSSetupError

PROG = "server.py"
log = logging.getLogger("chat")


class StartupError(Exception):
    """The server cannot start; the message is the one line the user sees."""


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = load_settings(argv, os.environ, PROG)
    except SettingsError as problem:
        print(f"{PROG}: error: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(message)s", stream=sys.stdout)
    raise_open_file_limit()
    try:
        asyncio.run(serve(settings))
    except StartupError as problem:
        print(f"{PROG}: error: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a second Ctrl+C while shutting down
        pass
    return 0


async def serve(settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    server = ChatServer(settings, loop)
    try:
        await server.start()
    except TLSSetupError as problem:
        raise StartupError(str(problem)) from None
    except OSError as problem:
        ports = " and ".join(str(p) for p in (settings.port, settings.tls_port) if p is not None)
        where = f"{settings.host} port {ports}" if settings.host else f"port {ports}"
        raise StartupError(f"cannot listen on {where}: {problem.strerror or problem}") from None
    stop = asyncio.Event()
    install_stop_handlers(loop, stop.set)
    tls = f", TLS on port {', '.join(map(str, server.tls_ports))}" if server.tls_ports else ""
    log.info("Chat server started on port %s%s", ", ".join(map(str, server.ports)), tls)
    log.info("Waiting for connections... (Press Ctrl+C to stop)")
    await stop.wait()
    log.info("Shutting down...")
    await server.shutdown()
    log.info("Server stopped")


def raise_open_file_limit() -> None:
    """POSIX: lift the soft limit on open files to the hard limit, for --max-clients connections."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return
    # macOS refuses RLIM_INFINITY and anything over OPEN_MAX (10240) for the soft limit.
    targets = (hard,) if hard != resource.RLIM_INFINITY else (1 << 20, 10240)
    for target in targets:
        if soft >= target:
            return
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return
        except (ValueError, OSError):
            continue


def install_stop_handlers(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> None:
    """Call ``stop`` on SIGINT / SIGTERM (and SIGBREAK on Windows), in the event loop's thread."""
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
    except (NotImplementedError, RuntimeError):  # Windows: no add_signal_handler
        def on_signal(_signum: int, _frame: object) -> None:
            loop.call_soon_threadsafe(stop)

        for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), on_signal)


if __name__ == "__main__":
    sys.exit(main())
