"""The running server: its listening sockets, the room, the live connections, output flushing,
idle time-outs and shutdown.  It knows no wire protocol.

Each listener (``Listener``: a port, TLS or not, and a ``SessionType``) makes a
``handlers.connection.Connection`` per accepted socket with that protocol's session; ``server.py``
decides which listeners exist.  To a connection the server is a ``ConnectionHost`` (admission,
clocks, output flushing); to a session it is a ``RoomHost`` (the room, departures, waiting for a
room that cannot take commands).  One ``ChatServer`` per event loop and no module-level state, so
tests can run several side by side.  Connections ask ``admit`` before they are served and ``forget``
when they end, so the counts that ``--max-clients`` and ``--max-per-ip`` limit are always exact.

Deadline plan: every connection has the same idle timeout, so the one that has been quiet longest
always expires first.  Connections are kept in a dict ordered by their last complete line
(``note_activity`` moves one to the end, O(1)), and one timer watches the oldest: no timer per
connection, and each sweep touches only the expired ones.  Guests (not logged in) are kept the same
way in connection order for the login timeout.

Output: a connection with something to send asks ``flush_soon``; one callback per loop iteration
then flushes them all, so a broadcast to N people schedules one callback, not N.

Out of file descriptors, asyncio stops accepting for a second and retries by itself; we log
that once per episode instead of once per retry, and the episode's end when a connection is
admitted again.  It schedules one retry per slot of the accept
batch it was in, so listeners take ACCEPT_BATCH connections per wake-up (the kernel's queue stays
long) and the retries that fire after shutdown are ignored.  TLS connections get a
``TLSTransport`` between the socket and their connection, so they are admitted at accept too.

Logs for operators: ``Stats`` counts lines in and out, slow readers dropped and refusals, and one
INFO line sums them up every ``--stats-interval`` seconds.  A refused connection is logged once
per reason; more of the same before the next stats line (or within REFUSAL_SUMMARY_SECONDS when
stats are off) become one line with a count, so a flood of refusals cannot flood the log.

Memory: dropping slow readers frees their transport buffers; a second after such a drop the
server asks the C library to give free heap pages back (``utils.memory``), once for the whole wave.

Shutdown plan: stop listening, close every connection gracefully for ``server-shutdown`` (each
session says its farewell); whoever has not gone after ``grace`` seconds (a client that stopped
reading) is aborted; then the room stops (a cluster room tells the other processes).  While
shutting down, departures are not announced here: nobody is left to hear them.

The room is whichever ``ChatRoom`` the server was given (in memory by default); it tells the
server of departures (``departed``: announced as one ``Departed`` event per loop iteration), of
being able to take commands again after its link was down (``room_ready``: connections that waited
carry on) and of losing its state (``room_reset``: every connection is closed for that reason).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from events import Departed
from handlers.broadcast import ChatRoom, Member, Room
from handlers.connection import Connection, FlowLimits, SessionType
from handlers.tls_transport import TLSTransport
from utils.config import Settings
from utils.logs import fields
from utils.memory import find_malloc_trim

log = logging.getLogger("chat.server")

REFUSAL_SUMMARY_SECONDS = 60.0  # when --stats-interval is 0
ACCEPT_BATCH = 16  # connections accepted per wake-up of a listener; see _listen
MEMORY_RELEASE_DELAY = 1.0  # a wave of slow readers is dropped within it, then trimmed once


class Stats:
    """What happened since the last stats line."""

    __slots__ = ("lines_in", "lines_out", "refused", "slow_readers_dropped")

    def __init__(self) -> None:
        self.lines_in = 0
        self.lines_out = 0
        self.slow_readers_dropped = 0
        self.refused = 0


class ListenError(Exception):
    """A port could not be had: which setting chose it, the port, and the system's reason."""

    def __init__(self, setting: str, port: int, problem: OSError) -> None:
        super().__init__(f"{setting} {port}: {problem}")
        self.setting, self.port, self.problem = setting, port, problem


@dataclass(frozen=True)
class Listener:
    """One listening port: which setting chose it (for error messages), TLS or not, what it
    serves, and how the startup line names it ("" for the line protocol's plaintext port)."""

    port: int
    setting: str  # "--port / PORT"
    tls: ssl.SSLContext | None
    session_type: SessionType
    label: str = ""  # "TLS": the startup line says "TLS on port 4001"


class ChatServer:
    __slots__ = (
        "_all_gone",
        "_connections",
        "_departures",
        "_guests",
        "_idle_timer",
        "_listeners",
        "_login_timer",
        "_malloc_trim",
        "_memory_timer",
        "_out_of_descriptors",
        "_per_ip",
        "_refusal_timer",
        "_refusals_unlogged",
        "_stats_since",
        "_stats_timer",
        "_unflushed",
        "_waiting_for_room",
        "limits",
        "loop",
        "room",
        "settings",
        "shutting_down",
        "stats",
    )

    def __init__(
        self,
        settings: Settings,
        loop: asyncio.AbstractEventLoop,
        room: Callable[[ChatServer], ChatRoom[Member]] | None = None,
    ) -> None:
        """``room`` makes the room from this server (which hears its departures and resets);
        by default the in-memory ``Room``."""
        self.settings = settings
        self.limits = FlowLimits(settings.rate_limit, settings.rate_burst, settings.max_send_buffer)
        self.loop = loop
        self.room: ChatRoom[Member] = room(self) if room is not None else Room(self.departed)
        self._waiting_for_room: dict[Callable[[], None], None] = {}
        self.shutting_down = False
        self._listeners: list[asyncio.AbstractServer] = []
        self._connections: dict[Connection, None] = {}  # ordered by last activity, oldest first
        self._per_ip: Counter[str] = Counter()
        self._all_gone: asyncio.Future[None] | None = None
        self._out_of_descriptors = False
        self._idle_timer: asyncio.TimerHandle | None = None
        self._guests: dict[Connection, None] = {}  # not logged in yet, in connection order
        self._login_timer: asyncio.TimerHandle | None = None
        self._unflushed: list[Connection] = []  # connections with output queued this iteration
        self.stats = Stats()
        self._departures: list[str] = []  # names noticed gone this iteration
        self._stats_since = loop.time()
        self._stats_timer: asyncio.TimerHandle | None = None
        self._refusals_unlogged: Counter[str] = Counter()  # reason -> refusals not logged yet
        self._refusal_timer: asyncio.TimerHandle | None = None
        self._malloc_trim = find_malloc_trim()
        self._memory_timer: asyncio.TimerHandle | None = None

    async def start(self, listeners: Sequence[Listener]) -> list[list[int]]:
        """Join the room, then listen on each listener's port; the ports bound, per listener.

        ListenError if a port cannot be had (e.g. in use).  Every listener's connections share the
        one room.
        """
        self.loop.set_exception_handler(self._on_loop_error)
        await self.room.start()
        try:
            ports = [await self._listen(listener) for listener in listeners]
        except BaseException:
            await self.room.stop()  # (a cluster room has joined: leave again, not by lease expiry)
            raise
        if self.settings.stats_interval:
            self._stats_since = self.loop.time()
            self._stats_timer = self.loop.call_later(self.settings.stats_interval, self._log_stats)
        return ports

    async def _listen(self, listener: Listener) -> list[int]:
        backlog = min(max(self.settings.max_clients, 128), 65535)
        try:
            sockets = open_listening_sockets(self.settings.host, listener.port, backlog)
        except OSError as problem:
            raise ListenError(listener.setting, listener.port, problem) from None
        for sock in sockets:
            # TLS runs in each connection's own TLSTransport (see there why not asyncio's ssl=):
            # a connection counts from accept, and a silent one delays nobody's handshake.
            #
            # asyncio accepts up to ``backlog`` connections per wake-up and, out of descriptors,
            # schedules one retry per slot left: a small batch keeps that to a few cheap retries
            # a second.  The kernel's queue keeps its full length (listen() again below).
            server = await self.loop.create_server(self._protocol_factory(listener), sock=sock, backlog=ACCEPT_BATCH)
            sock.listen(backlog)
            self._listeners.append(server)
        return sorted({sock.getsockname()[1] for sock in sockets})

    def _protocol_factory(self, listener: Listener) -> Callable[[], asyncio.Protocol]:
        tls, session_type = listener.tls, listener.session_type
        if tls is None:
            return lambda: Connection(self, session_type)
        return lambda: TLSTransport(Connection(self, session_type), tls, self.loop)

    # --- what a connection needs (handlers.connection.ConnectionHost) ----------------------------
    def admit(self, connection: Connection) -> str | None:
        """Register a new connection, or return the error code it is refused with."""
        if self.shutting_down or len(self._connections) >= self.settings.max_clients:
            return "server-full"
        if not self.room.available:
            return "cluster-unavailable"
        address = _host_of(connection)
        if self.settings.max_per_ip and self._per_ip[address] >= self.settings.max_per_ip:
            return "too-many-connections"
        self._connections[connection] = None
        self._per_ip[address] += 1
        if self._out_of_descriptors:
            self._out_of_descriptors = False
            log.warning("Accepting connections again", extra=fields("descriptors-back"))
        if self._idle_timer is None and self.settings.idle_timeout:
            self._idle_timer = self.loop.call_at(connection.last_line_at + self.settings.idle_timeout, self._sweep_idle)
        if self.settings.login_timeout:
            self._guests[connection] = None
            if self._login_timer is None:
                deadline = connection.connected_at + self.settings.login_timeout
                self._login_timer = self.loop.call_at(deadline, self._sweep_guests)
        return None

    def forget(self, connection: Connection) -> bool:
        """Unregister a connection that has ended; False if it was never admitted."""
        if connection not in self._connections:
            return False
        del self._connections[connection]
        self._guests.pop(connection, None)
        self._waiting_for_room.pop(connection.resume, None)
        address = _host_of(connection)
        self._per_ip[address] -= 1
        if not self._per_ip[address]:
            del self._per_ip[address]
        if not self._connections and self._all_gone is not None and not self._all_gone.done():
            self._all_gone.set_result(None)
        return True

    def note_refusal(self, reason: str, peer: str) -> None:
        """Log a refused connection: the first of each reason at once, the rest as one count."""
        self.stats.refused += 1
        if reason in self._refusals_unlogged:
            self._refusals_unlogged[reason] += 1
            log.debug("Refused connection from %s: %s", peer, reason)
            return
        log.warning("Refused connection from %s: %s", peer, reason, extra=fields("refused", peer=peer, reason=reason))
        self._refusals_unlogged[reason] = 0
        if self._refusal_timer is None:
            self._refusal_timer = self.loop.call_later(self._refusal_interval, self._log_refusals)

    def note_activity(self, connection: Connection) -> None:
        """``connection`` just received a complete line: it is now the last to expire."""
        del self._connections[connection]
        self._connections[connection] = None

    def note_registered(self, connection: Connection) -> None:
        """``connection`` logged in: the login timeout no longer applies to it."""
        self._guests.pop(connection, None)

    def flush_soon(self, connection: Connection) -> None:
        """Have ``connection.flush()`` called once this loop iteration is over.

        One callback for all connections: a broadcast to 10,000 people schedules one, not 10,000.
        """
        if not self._unflushed:
            self.loop.call_soon(self._flush_all)
        self._unflushed.append(connection)

    def _flush_all(self) -> None:
        unflushed, self._unflushed = self._unflushed, []
        for connection in unflushed:
            connection.flush()

    def release_memory_soon(self) -> None:
        """Much memory was just freed (a slow reader dropped): give it back to the system soon."""
        if self._malloc_trim is not None and self._memory_timer is None:
            self._memory_timer = self.loop.call_later(MEMORY_RELEASE_DELAY, self._release_memory)

    def _release_memory(self) -> None:
        self._memory_timer = None
        if self._malloc_trim is not None:
            self._malloc_trim()
            log.debug("Gave free memory back to the system", extra=fields("memory-released"))

    # --- what the room tells the server, and what sessions need around it ------------------------
    def departed(self, name: str) -> None:
        """The room says ``name`` left: tell our members still there, at the end of this loop iteration.

        Departures noticed together (10,000 users whose network went down) go out as one event
        to those still there, so a mass departure costs O(users), not O(users squared).  Whatever
        the leaver sent before leaving has been broadcast already, so it still comes first.
        """
        if self.shutting_down:  # nobody is left to hear it
            return
        if not self._departures:
            self.loop.call_soon(self.announce_departures)
        self._departures.append(name)

    def announce_departures(self) -> None:
        """Send the departures noticed so far now.  Called before anyone joins, too: a user who
        logs in after a departure must not hear of it."""
        names, self._departures = self._departures, []
        if names and not self.shutting_down:
            self.room.tell_local(Departed(names))

    def when_room_ready(self, resume: Callable[[], None]) -> None:
        """A connection stopped reading because the room cannot take commands; ``resume`` it
        once the room can (``room_ready``)."""
        self._waiting_for_room[resume] = None

    def room_ready(self) -> None:
        """The room takes commands again: every connection that waited for it carries on."""
        waiting, self._waiting_for_room = self._waiting_for_room, {}
        for resume in waiting:
            resume()

    def room_reset(self, reason: str) -> None:
        """The room lost its state (a cluster's store, or this process's place in it): close every
        connection for ``reason`` (members and guests alike); they may reconnect."""
        if self._connections:
            log.warning(
                "Closing %d connections: %s",
                len(self._connections),
                reason,
                extra=fields("room-reset", connections=len(self._connections), reason=reason),
            )
        for connection in list(self._connections):
            connection.close(reason)

    # --- time-outs ------------------------------------------------------------------------------
    def _sweep_guests(self) -> None:
        """Close every connection not logged in --login-timeout after connecting.  What a guest
        sends does not move its deadline."""
        self._login_timer = None
        timeout = self.settings.login_timeout
        next_deadline = self._expire(self._guests, lambda connection: connection.connected_at + timeout, self._evict)
        if next_deadline is not None:
            self._login_timer = self.loop.call_at(next_deadline, self._sweep_guests)

    def _evict(self, guest: Connection) -> None:
        del self._guests[guest]
        guest.close("login-timeout")

    def _sweep_idle(self) -> None:
        """Close every connection idle for --idle-timeout; wake again when the next one would be."""
        self._idle_timer = None
        timeout = self.settings.idle_timeout
        next_deadline = self._expire(self._connections, lambda connection: connection.last_line_at + timeout, _time_out)
        if next_deadline is None and self._connections:  # all expired and closing: look again then
            next_deadline = self.loop.time() + timeout
        if next_deadline is not None:
            self._idle_timer = self.loop.call_at(next_deadline, self._sweep_idle)

    def _expire(
        self,
        connections: dict[Connection, None],
        deadline_of: Callable[[Connection], float],
        expire: Callable[[Connection], None],
    ) -> float | None:
        """``expire`` each of ``connections`` (kept in deadline order) whose deadline has passed;
        the next deadline, or None if every one has passed."""
        now = self.loop.time()
        expired = []
        next_deadline = None
        for connection in connections:
            deadline = deadline_of(connection)
            if deadline > now:
                next_deadline = deadline
                break
            expired.append(connection)
        for connection in expired:
            expire(connection)
        return next_deadline

    # --- logs -----------------------------------------------------------------------------------
    @property
    def _refusal_interval(self) -> float:
        return self.settings.stats_interval or REFUSAL_SUMMARY_SECONDS

    def _log_refusals(self) -> None:
        self._refusal_timer = None
        counts = {reason: count for reason, count in self._refusals_unlogged.items() if count}
        self._refusals_unlogged.clear()
        for reason, count in counts.items():
            message = "Refused %d more connections in the last %g s: %s"
            extra = fields("refused", reason=reason, count=count)
            log.warning(message, count, self._refusal_interval, reason, extra=extra)
            self._refusals_unlogged[reason] = 0  # still refusing: keep counting instead of logging each
        if counts:
            self._refusal_timer = self.loop.call_later(self._refusal_interval, self._log_refusals)

    def _log_stats(self) -> None:
        now = self.loop.time()
        seconds, stats = max(now - self._stats_since, 1e-9), self.stats
        self.stats, self._stats_since = Stats(), now
        self._stats_timer = self.loop.call_later(self.settings.stats_interval, self._log_stats)
        values = {
            "connections": len(self._connections),
            "users": len(self.room),
            "lines_in_per_s": round(stats.lines_in / seconds, 1),
            "lines_out_per_s": round(stats.lines_out / seconds, 1),
            "slow_readers_dropped": stats.slow_readers_dropped,
            "refused": stats.refused,
        }
        log.info(
            "Stats: %(connections)d connections, %(users)d users, %(lines_in_per_s).1f lines/s in, "
            "%(lines_out_per_s).1f lines/s out, %(slow_readers_dropped)d slow readers dropped, %(refused)d refused",
            values,
            extra=fields("stats", **values),
        )

    # --- shutdown -------------------------------------------------------------------------------
    async def shutdown(self, grace: float = 1.0) -> None:
        self.shutting_down = True
        timers = (self._idle_timer, self._login_timer, self._stats_timer, self._refusal_timer, self._memory_timer)
        for timer in timers:
            if timer is not None:
                timer.cancel()
        for listener in self._listeners:
            listener.close()
        if self._connections:
            users = sum(1 for connection in self._connections if connection.session.name is not None)
            log.info(
                "Closing %d connections (%d users)",
                len(self._connections),
                users,
                extra=fields("shutdown", connections=len(self._connections), users=users),
            )
        for connection in list(self._connections):
            connection.close("server-shutdown")
        if self._connections:
            self._all_gone = self.loop.create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._all_gone), grace)
            except asyncio.TimeoutError:
                log.info(
                    "Aborting %d connections that did not read their last lines within %g s",
                    len(self._connections),
                    grace,
                    extra=fields("shutdown-abort", connections=len(self._connections)),
                )
                for connection in list(self._connections):
                    connection.abort()
                # Aborted connections are gone within a loop iteration; never hang on it, though.
                await asyncio.wait([self._all_gone], timeout=grace)
        await self.room.stop()  # (in a cluster: the others hear our users leave at once)

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        problem = context.get("exception")
        if self.shutting_down and isinstance(problem, (OSError, ValueError)):
            # asyncio's accept retries, scheduled while out of descriptors, firing on the closed
            # listener: nothing to do about them, and no reason for a traceback.
            log.debug("Ignored while shutting down: %s (%r)", context.get("message"), problem)
            return
        if isinstance(problem, OSError) and problem.errno in (errno.EMFILE, errno.ENFILE):
            if not self._out_of_descriptors:
                self._out_of_descriptors = True
                log.error(
                    "Out of file descriptors: new connections wait until some close (%s)",
                    problem.strerror,
                    extra=fields("out-of-descriptors"),
                )
            return
        loop.default_exception_handler(context)


def _time_out(connection: Connection) -> None:
    if not connection.closing:
        connection.close("idle")


def _host_of(connection: Connection) -> str:
    peer = connection.peer
    return peer[0] if peer else ""


def open_listening_sockets(host: str | None, port: int, backlog: int) -> list[socket.socket]:
    """Bind every address of ``host`` to one port (``port`` 0: the first bind picks it).

    With no host, one dual-stack socket serves IPv4 and IPv6 where the system has them, so
    ``nc localhost 4000`` works whichever address ``localhost`` resolves to first.
    """
    if host is None:
        if socket.has_dualstack_ipv6():
            return [socket.create_server(("", port), family=socket.AF_INET6, backlog=backlog, dualstack_ipv6=True)]
        return [socket.create_server(("", port), backlog=backlog)]
    addresses: list[tuple[socket.AddressFamily, tuple[Any, ...]]] = []
    for found_family, _, _, _, found_address in socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    ):
        if (found_family, found_address[0]) not in [(f, a[0]) for f, a in addresses]:
            addresses.append((found_family, found_address))
    sockets: list[socket.socket] = []
    for family, address in addresses:
        if sockets:  # later addresses share the port the first one got
            address = (address[0], sockets[0].getsockname()[1], *address[2:])
        try:
            sockets.append(socket.create_server(address, family=family, backlog=backlog))
        except OSError as problem:
            if not sockets:
                raise
            log.warning("Not listening on %s: %s", address[0], problem.strerror or problem)
    return sockets
