"""The chat server as a command: ``python src/server.py [--port N] ...`` (installed: ``algokart-chat``;
``python -m algokart_chat``; ``--help`` lists all).  ``command`` hands every command line to
``main`` here but those of ``... accounts ...``, the accounts file's (``accounts_cli``).

SIGHUP reloads the TLS certificate and key for new connections (nobody is dropped), and the
accounts file (``--accounts``): the next password check uses the new accounts.  With accounts, one
``PasswordChecks`` (its pool of two threads) serves the line and IRC sessions' logins, and stops at shutdown.

Exit status: 0 after a graceful shutdown (Ctrl+C, SIGTERM; Ctrl+Break on Windows), 1 when the
server cannot start (Python older than 3.10, port in use, no permission, unknown host, unusable
TLS files; in cluster mode, Redis unreachable), 2 for a bad setting (or cluster mode without
redis-py 5.0.1 or newer).  Each failure is one line on stderr, never a traceback.  Logs go to stdout
through ``logging`` and ``logs``, which never lets a stuck stdout stall the server or its exit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import os
import re
import signal
import socket
import sys
from collections.abc import Callable, Sequence

from algokart_chat.accounts_file import AccountsFile, AccountsFileError
from algokart_chat.bans_file import BansFileError
from algokart_chat.config import Settings, SettingsError, load_settings
from algokart_chat.history import History
from algokart_chat.logs import LogPipeline, counted, fields
from algokart_chat.moderators import Moderators
from algokart_chat.password_checks import Logins, PasswordChecks
from algokart_chat.room import ChatRoom, Member, RoomStartError
from algokart_chat.server.admission import admission_key
from algokart_chat.server.chat_server import ChatServer
from algokart_chat.server.listeners import Listener, ListenError
from algokart_chat.sessions.line_session import ChatSessions
from algokart_chat.transport.tls import Certificate, TLSSetupError
from algokart_chat.version import __version__, command_name

PROG = command_name("server.py")
REDIS_PY_NEEDED = "5.0.1"  # as requirements-cluster.txt says
LOG_DRAIN_SECONDS = 1.0
DESCRIPTOR_RESERVE = 96  # stdio, listeners, the selector, and refused connections on their way out
log = logging.getLogger(__name__)


class StartupError(Exception):
    """The server cannot start; the message is the one line the user sees."""


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        settings = load_settings(arguments, os.environ, PROG)
    except SettingsError as problem:
        print(f"{PROG}: error: {problem}", file=sys.stderr)
        return 2
    missing = cluster_client_missing() if settings.redis_url is not None else None
    if missing is not None:
        print(
            f"{PROG}: error: --redis-url (REDIS_URL) needs redis-py {REDIS_PY_NEEDED} or newer ({missing}): "
            + how_to_install_redis_py(),
            file=sys.stderr,
        )
        return 2
    logs = LogPipeline(settings.log_level, settings.log_format == "json", sys.stdout)
    settings = fit_to_descriptors(settings, raise_open_file_limit())
    status = 0
    try:
        asyncio.run(serve(settings))
    except StartupError as problem:
        print(f"{PROG}: error: {problem}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:  # a second Ctrl+C while shutting down
        pass
    if not logs.stop(deadline=LOG_DRAIN_SECONDS):
        sys.stderr.flush()
        os._exit(status)  # stdout is stuck: interpreter shutdown would wait on it forever
    return status


async def serve(settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    try:
        accounts = AccountsFile(settings.accounts) if settings.accounts is not None else None
    except AccountsFileError as problem:  # (it was good when the settings were read)
        raise StartupError(str(problem)) from None
    server = ChatServer(settings, loop, cluster_room(settings))
    logins = account_logins(settings, loop, accounts) if accounts is not None else None
    try:
        moderators = Moderators(settings.bans, settings.ipv6_prefix, node=socket.gethostname())
    except BansFileError as problem:
        raise StartupError(str(problem)) from None
    server.use_moderators(moderators)
    try:
        listeners = make_listeners(settings, server, logins, moderators)
    except TLSSetupError as problem:
        raise StartupError(str(problem)) from None
    try:
        bound = await server.start(listeners)
    except ListenError as problem:
        raise StartupError(listen_error(settings.host, problem)) from None
    except RoomStartError as problem:  # e.g. Redis unreachable in cluster mode
        raise StartupError(str(problem)) from None
    stop = asyncio.Event()
    install_stop_handlers(loop, stop.set)
    certificate = next((listener.tls for listener in listeners if listener.tls is not None), None)
    install_reload_handler(loop, lambda: reload_files(certificate, accounts))
    ports = [sorted({address.port for address in addresses}) for addresses in bound]
    for listener, addresses in zip(listeners, bound, strict=True):
        protocol = listener.label or "line protocol"
        names = [str(address) for address in addresses]
        log.info(
            "Listening on %s (%s)",
            " and ".join(names),
            protocol,
            extra=fields("listening", addresses=names, protocol=protocol),
        )
    where = ", ".join(
        f"{listener.label + ' on ' if listener.label else ''}port {', '.join(map(str, listener_ports))}"
        for listener, listener_ports in zip(listeners, ports, strict=True)
    )
    ports_by_label = {
        listener.label or "plain": listener_ports for listener, listener_ports in zip(listeners, ports, strict=True)
    }
    log.info(
        "Chat server started on %s",
        where,
        extra=fields(
            "started",
            ports=ports_by_label["plain"],
            tls_ports=ports_by_label.get("TLS", []),
            irc_ports=ports_by_label.get("IRC", []),
            irc_tls_ports=ports_by_label.get("IRC TLS", []),
            version=__version__,
        ),
    )
    if accounts is not None:
        log.info(
            "Accounts: %s from %s",
            counted(len(accounts.accounts), "account"),
            accounts.path,
            extra=fields("accounts", file=accounts.path, accounts=len(accounts.accounts)),
        )
    cluster = server.room.describe()
    if cluster is not None:
        log.info("%s", cluster, extra=fields("cluster", description=cluster))
    log.info("Waiting for connections... (Press Ctrl+C to stop)", extra=fields("waiting"))
    await stop.wait()
    log.info("Shutting down...", extra=fields("stopping"))
    await server.shutdown()
    if logins is not None:
        logins.checks.close()  # (the sessions are gone, and their checks with them)
    log.info("Server stopped", extra=fields("stopped"))


def account_logins(settings: Settings, loop: asyncio.AbstractEventLoop, accounts: AccountsFile) -> Logins:
    """The logins of the server's sessions: one pool of password checks on the accounts in use
    (those of the last good reload), the throttle counting addresses as --max-per-ip does."""
    checks = PasswordChecks(lambda: accounts.accounts)
    ipv6_prefix = settings.ipv6_prefix
    return Logins(checks, loop, lambda host: admission_key(host, ipv6_prefix), require_account=settings.require_account)


def make_listeners(
    settings: Settings, server: ChatServer, logins: Logins | None = None, moderators: Moderators | None = None
) -> list[Listener]:
    """The line protocol on --port, and on --tls-port inside TLS, and IRC on --irc-port and, inside
    TLS, --irc-tls-port, all with account logins if ``logins`` and moderation if ``moderators``.
    TLSSetupError if the certificate or key cannot be used."""
    chat = ChatSessions(server, settings.max_line_bytes, logins, moderators).session_type
    listeners = [Listener(settings.port, "--port / PORT", None, chat)]
    tls = None
    if settings.tls_cert is not None and settings.tls_key is not None:
        tls = Certificate(settings.tls_cert, settings.tls_key)
    if settings.tls_port is not None:
        listeners.append(Listener(settings.tls_port, "--tls-port / TLS_PORT", tls, chat, "TLS"))
    if settings.irc_port is not None or settings.irc_tls_port is not None:
        # Imported here: a server without IRC starts without importing the IRC sessions (a
        # sixth of its start-up).
        from algokart_chat.sessions.irc_session import IrcSessions

        irc = IrcSessions(
            server, settings.irc_server_name, settings.irc_channel, logins, moderators, settings.irc_join_replay
        ).session_type
        if settings.irc_port is not None:
            listeners.append(Listener(settings.irc_port, "--irc-port / IRC_PORT", None, irc, "IRC"))
        if settings.irc_tls_port is not None:
            listeners.append(Listener(settings.irc_tls_port, "--irc-tls-port / IRC_TLS_PORT", tls, irc, "IRC TLS"))
    return listeners


def cluster_client_missing() -> str | None:
    """Why the redis-py here cannot serve cluster mode (not installed, or older than 5.0.1, as
    Debian 12's python3-redis 4.3.4 is); None if it can.  Called in cluster mode only."""
    try:
        import redis
        import redis.asyncio
    except ImportError:
        return "not installed"
    found = getattr(redis, "__version__", "0")
    try:
        enough = release_numbers(found) >= release_numbers(REDIS_PY_NEEDED)
    except ValueError:
        return f"found version {found}"
    return None if enough else f"found {found}"


def release_numbers(version: str) -> tuple[int, ...]:
    """``"5.0.1"`` as ``(5, 0, 1)``; a suffix such as ``rc1`` or ``.post2`` is ignored.  Raises
    ValueError when ``version`` does not start with a number."""
    numbers = re.match(r"\d+(?:\.\d+)*", version)
    if numbers is None:
        raise ValueError(version)
    return tuple(int(number) for number in numbers.group().split("."))


def how_to_install_redis_py() -> str:
    """The install command for the way the server was started: installed, one file, or a clone."""
    if PROG == "algokart-chat":
        return (
            "install the cluster extra: pip install 'algokart-chat[cluster]' (from a clone: '.[cluster]'; pipx alike)"
        )
    if PROG.endswith(".pyz"):
        return (
            f"run {PROG} with a Python that has it (python3 -m venv .venv && "
            f".venv/bin/pip install 'redis[hiredis]>={REDIS_PY_NEEDED}', then .venv/bin/python {PROG} ...)"
        )
    return (
        "pip install -r requirements-cluster.txt, in a venv where the system refuses it "
        "(python3 -m venv .venv && .venv/bin/pip install -r requirements-cluster.txt, "
        "then .venv/bin/python src/server.py ...)"
    )


def cluster_room(settings: Settings) -> Callable[[ChatServer], ChatRoom[Member]] | None:
    """In cluster mode, what makes the server's room (a ``RedisRoom``); None: the in-memory one."""
    if settings.redis_url is None:
        return None
    from algokart_chat.cluster.room_redis import RedisRoom  # redis-py: imported in cluster mode only

    url, name, timeout, size = (
        settings.redis_url,
        settings.cluster_name,
        settings.node_timeout,
        settings.cluster_stream_bytes,
    )
    bounds = (settings.history_lines, settings.history_bytes, settings.history_age)
    return lambda server: RedisRoom(url, name, timeout, server, server.loop, size, History(*bounds))


def listen_error(host: str | None, failure: ListenError) -> str:
    """One line that names the address, the port and the setting to change."""
    where = f"{host or 'all interfaces'} port {failure.port}"
    problem, setting = failure.problem, failure.setting
    reason = problem.strerror or str(problem)
    if isinstance(problem, socket.gaierror):
        return f"cannot listen on {where}: unknown host ({reason}); change --host / HOST"
    if problem.errno == errno.EADDRINUSE:
        return f"cannot listen on {where}: address already in use (another server?); change {setting}"
    if problem.errno in (errno.EACCES, errno.EPERM):
        return (
            f"cannot listen on {where}: permission denied (ports below 1024 need privileges); "
            f"change {setting} to 1024 or above"
        )
    return f"cannot listen on {where}: {reason}; check --host / HOST and {setting}"


def raise_open_file_limit() -> int | None:
    """POSIX: lift the soft limit on open files to the hard limit, for --max-clients connections.

    Returns the limit now in force, or None where there is none to know (Windows, unlimited).
    """
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # macOS refuses RLIM_INFINITY and anything over OPEN_MAX (10240) for the soft limit.
    targets = (hard,) if hard != resource.RLIM_INFINITY else (1 << 20, 10240)
    for target in targets:
        if soft == resource.RLIM_INFINITY or soft >= target:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            break
        except (ValueError, OSError):
            continue
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def fit_to_descriptors(settings: Settings, open_file_limit: int | None) -> Settings:
    """Lower --max-clients so that ``server-full`` comes before the kernel runs out of descriptors."""
    if open_file_limit is None or settings.max_clients <= open_file_limit - DESCRIPTOR_RESERVE:
        return settings
    fitted = max(1, open_file_limit - DESCRIPTOR_RESERVE)
    log.warning(
        "Only %d file descriptors allowed: --max-clients lowered from %d to %d "
        "(raise the limit with ulimit -n or LimitNOFILE)",
        open_file_limit,
        settings.max_clients,
        fitted,
        extra=fields(
            "max-clients-lowered", open_files=open_file_limit, requested=settings.max_clients, max_clients=fitted
        ),
    )
    return dataclasses.replace(settings, max_clients=fitted)


def reload_files(certificate: Certificate | None, accounts: AccountsFile | None) -> None:
    """SIGHUP: the TLS certificate (or the line that there is none) and the accounts file."""
    if certificate is not None or accounts is None:
        reload_certificate(certificate)
    if accounts is not None:
        accounts.reload()


def reload_certificate(certificate: Certificate | None) -> None:
    """SIGHUP: read the TLS certificate and key again, for the connections accepted from now on
    (a renewal); those open keep theirs.  A pair that cannot be used: one log line, the old stays."""
    if certificate is None:
        log.info("SIGHUP: no TLS certificate to reload", extra=fields("reload", reloaded=False))
        return
    try:
        certificate.reload()
    except TLSSetupError as problem:
        log.error(
            "TLS certificate not reloaded, the old one stays: %s",
            problem,
            extra=fields("tls-reload-failed", reason=str(problem)),
        )
        return
    cert, key = certificate.cert_file, certificate.key_file
    log.info(
        "TLS certificate reloaded from %s and %s: new connections get it",
        cert,
        key,
        extra=fields("tls-reloaded", cert=cert, key=key),
    )


def install_reload_handler(loop: asyncio.AbstractEventLoop, reload: Callable[[], None]) -> None:
    """Call ``reload`` on SIGHUP, in the event loop's thread (Windows has no SIGHUP)."""
    if not hasattr(signal, "SIGHUP"):
        return
    try:
        loop.add_signal_handler(signal.SIGHUP, reload)
    except (NotImplementedError, RuntimeError):  # a loop without signal handlers

        def on_signal(_signum: int, _frame: object) -> None:
            loop.call_soon_threadsafe(reload)

        signal.signal(signal.SIGHUP, on_signal)


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
