"""The running server: the coordinator that wires its parts to one another, to the connections
and to the room.  It knows no wire protocol.

The parts, each a module of ``server/`` that states its plan:

- ``listeners``: the listening ports (``Listener``: a port, TLS or not, and a ``SessionType``), a
  ``transport.connection.Connection`` per accepted socket, and the out-of-descriptors episodes;
- ``admission``: ``--max-clients``, ``--max-per-ip``, ``--max-new-per-ip`` and the input budget
  an address's connections share (what counts as one address: ``admission_key``);
- ``deadlines``: the live connections in the order they time out (``--idle-timeout``,
  ``--login-timeout``);
- ``output``: the write pass in flush turns and slices, fan-out pushback, the clients behind;
- ``stats``: the periodic stats line and the summaries of refusals;
- ``memory``: free heap pages given back after a wave of dropped readers.

To a connection the server is a ``ConnectionHost`` (admission, clocks, output flushing); to a
session it is a ``RoomHost`` (the room, departures, waiting for a room that cannot take commands,
pushback); it answers both by asking its parts.  One ``ChatServer`` per event loop and no
module-level state, so tests can run several side by side.  Connections ask ``admit`` before they
are served and ``forget`` when they end, so the counts that the limits apply to are always exact.

Sweep: while a client is behind or an address waits to be forgotten, one timer every
SWEEP_SECONDS judges the first (``output``) and forgets the second (``admission``).

The room is whichever ``ChatRoom`` the server was given (in memory by default); it tells the
server of departures (``departed``: announced as one ``Departed`` event per loop iteration, after
the write pass under way), of being able to take commands again after its link was down
(``room_ready``: connections that waited carry on) and of losing its state (``room_reset``: every
connection is closed for that reason).

Shutdown plan: stop admitting and listening, close every connection gracefully for
``server-shutdown`` (each session says its farewell); whoever has not gone after ``grace`` seconds
(a client that stopped reading) is aborted; then the room stops (a cluster room tells the other
processes).  While shutting down, departures are not announced here: nobody is left to hear them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from algokart_chat.config import Settings
from algokart_chat.events import Departed
from algokart_chat.history import History
from algokart_chat.logs import counted, fields
from algokart_chat.moderation import Change, Entry
from algokart_chat.moderators import Matcher, Moderators
from algokart_chat.room import ChatRoom, Member
from algokart_chat.room_memory import MemoryRoom
from algokart_chat.server.admission import Admission
from algokart_chat.server.deadlines import LiveConnections
from algokart_chat.server.listeners import Bound, Listener, Listening
from algokart_chat.server.memory import MemoryRelease, find_malloc_trim
from algokart_chat.server.output import OutputScheduler
from algokart_chat.server.stats import Stats, StatsLog
from algokart_chat.token_bucket import InputBudget, Rates
from algokart_chat.transport.connection import READ_SIZE, Connection, FlowLimits

log = logging.getLogger(__name__)

SWEEP_SECONDS = 1.0  # how often clients that are behind are judged, and idle addresses forgotten


class ChatServer:
    """One server: its parts, its room and the connections of all its listeners."""

    __slots__ = (
        "_admission",
        "_all_gone",
        "_connections",
        "_departures",
        "_listening",
        "_memory",
        "_output",
        "_stats_log",
        "_sweep_timer",
        "_waiting_for_room",
        "limits",
        "loop",
        "moderators",
        "read_buffer",
        "room",
        "settings",
        "shutting_down",
    )

    def __init__(
        self,
        settings: Settings,
        loop: asyncio.AbstractEventLoop,
        room: Callable[[ChatServer], ChatRoom[Member]] | None = None,
    ) -> None:
        """``room`` makes the room from this server (which hears its departures and resets);
        by default the in-memory ``MemoryRoom``."""
        self.settings = settings
        self.loop = loop
        rates = Rates(settings.rate_limit, settings.rate_burst, settings.rate_limit_bytes, settings.rate_burst_bytes)
        limited = bool(rates.lines_per_second or rates.bytes_per_second)
        hard = settings.max_send_buffer
        self.limits = FlowLimits(
            rates if limited else None,
            hard,
            min(settings.send_buffer_soft, hard),
            settings.send_buffer_soft_seconds,
            settings.tcp_keepalive,
        )
        self.read_buffer = memoryview(bytearray(READ_SIZE))
        self.shutting_down = False
        self._listening = Listening(settings.host, settings.max_clients)
        self._admission = Admission(settings, self.limits.rates)
        self._connections: LiveConnections[Connection] = LiveConnections(
            loop, settings.idle_timeout, settings.login_timeout
        )
        self._output: OutputScheduler[Connection] = OutputScheduler(loop, self._write_pass_done)
        self._stats_log = StatsLog(loop, settings.stats_interval, lambda: (len(self._connections), len(self.room)))
        self._memory = MemoryRelease(loop, find_malloc_trim())
        self._sweep_timer: asyncio.TimerHandle | None = None
        self._departures: list[tuple[str, str | None]] = []  # (name, reason) noticed gone this iteration
        self._waiting_for_room: dict[Callable[[], None], None] = {}
        self._all_gone: asyncio.Future[None] | None = None  # at shutdown, once no connection is left
        self.room: ChatRoom[Member] = (
            room(self)
            if room is not None
            else MemoryRoom(
                self.departed,
                loop.call_soon,
                history=History(settings.history_lines, settings.history_bytes, settings.history_age),
            )
        )
        self.moderators: Moderators | None = None  # (set with the sessions': banned addresses are refused)

    def use_moderators(self, moderators: Moderators) -> None:
        """Refuse the addresses ``moderators`` bans at accept, and disconnect whoever its actions remove."""
        self.moderators = moderators
        moderators.disconnect = self.disconnect_where
        moderators.share = self.room.moderate

    def moderated(self, change: Change) -> None:
        """An operator's action, as the cluster's stream hands it to this node (``Moderators.apply``)."""
        if self.moderators is not None:
            self.moderators.apply(change)

    def moderation_loaded(self, entries: list[Entry], fresh: bool) -> None:
        """The cluster's bans and mutes, as this node (re)joins it (``Moderators.load``)."""
        if self.moderators is not None:
            self.moderators.load(entries, fresh)

    async def start(self, listeners: Sequence[Listener]) -> list[list[Bound]]:
        """Join the room, then listen on each listener's port; the addresses bound, per listener.

        ListenError if a port cannot be had (e.g. in use).  Every listener's connections share the
        one room.
        """
        self.loop.set_exception_handler(self._listening.on_loop_error)
        await self.room.start()
        try:
            ports = [await self._listening.listen(listener, self) for listener in listeners]
        except BaseException:
            await self.room.stop()  # (a cluster room has joined: leave again, not by lease expiry)
            raise
        self._stats_log.start()
        return ports

    # --- what a connection needs (transport.connection.ConnectionHost) ----------------------------
    def admit(self, connection: Connection) -> str | None:
        """Register a new connection, or return the error code it is refused with."""
        peer = connection.peer
        if self.moderators is not None and peer and self.moderators.ban_for(None, peer[0]) is not None:
            return "banned"
        key = self._admission.key_of(peer)
        refusal = self._admission.admit(key, self.loop.time(), self.room.available)
        if refusal is not None:
            return refusal
        self._connections.add(connection)
        self._listening.note_admitted()
        return None

    def forget(self, connection: Connection) -> bool:
        """Unregister a connection that has ended; False if it was never admitted."""
        if not self._connections.remove(connection):
            return False
        self._waiting_for_room.pop(connection.resume, None)
        self._output.forget(connection)
        if self._admission.forget(self._admission.key_of(connection.peer)):
            self._sweep_soon()  # (which forgets the address once it owes nothing)
        if not self._connections and self._all_gone is not None and not self._all_gone.done():
            self._all_gone.set_result(None)
        return True

    def address_budget(self, connection: Connection) -> InputBudget | None:
        """The input budget every connection of ``connection``'s address shares (with --max-per-ip)."""
        return self._admission.budget(self._admission.key_of(connection.peer))

    @property
    def stats(self) -> Stats:
        """What happened since the last stats line."""
        return self._stats_log.stats

    def note_refusal(self, reason: str, peer: str) -> None:
        """Log a refused connection: the first of each reason at once, the rest as one count."""
        self._stats_log.note_refusal(reason, peer)

    def note_activity(self, connection: Connection) -> None:
        """``connection`` just received a complete line: it is now the last to expire."""
        self._connections.note_activity(connection)

    def note_registered(self, connection: Connection) -> None:
        """``connection`` logged in: the login timeout no longer applies to it."""
        self._connections.note_registered(connection)

    def flush_soon(self, connection: Connection) -> None:
        """Have ``connection.flush()`` called once this loop iteration is over (with all the others)."""
        self._output.flush_soon(connection)

    def flush_first(self, connection: Connection) -> None:
        """``connection`` has a reply to its own command: write it first in the next slice."""
        self._output.flush_first(connection)

    def note_congested(self, congested: bool) -> None:
        self._output.note_congested(congested)

    def watch(self, connection: Connection) -> None:
        """``connection`` is behind: judge it every SWEEP_SECONDS until it is not."""
        self._output.watch(connection)
        self._sweep_soon()

    def note_dropped(self, limit: str) -> None:
        self.stats.dropped[limit] += 1

    def _sweep_soon(self) -> None:
        if self._sweep_timer is None and not self.shutting_down:
            self._sweep_timer = self.loop.call_later(SWEEP_SECONDS, self._sweep)

    def _sweep(self) -> None:
        """Reset clients over the soft limit, or reading nothing, for --send-buffer-soft-seconds;
        forget addresses that have nothing left to remember."""
        self._sweep_timer = None
        now = self.loop.time()
        clients_behind = self._output.judge_behind(now)
        addresses_waiting = self._admission.forget_idle(now)
        if clients_behind or addresses_waiting:
            self._sweep_soon()

    def release_memory_soon(self) -> None:
        """Much memory was just freed (a slow reader dropped): give it back to the system soon."""
        self._memory.soon()

    # --- what the room tells the server, and what sessions need around it ------------------------
    def departed(self, name: str, reason: str | None = None) -> None:
        """The room says ``name`` left (for ``reason``, if it gave one): tell our members still
        there, at the end of this loop iteration.

        Departures noticed together (10,000 users whose network went down) go out as one event
        to those still there, so a mass departure costs O(users), not O(users squared); while a
        write pass is under way they wait for its end.  Whatever the leaver sent before leaving
        has been broadcast already, so it still comes first.
        """
        if self.shutting_down:  # nobody is left to hear it
            return
        if not self._departures and not self._output.writing:  # (a write pass announces them when done)
            self.loop.call_soon(self.announce_departures)
        self._departures.append((name, reason))

    def _write_pass_done(self) -> None:
        if self._departures:  # those noticed during the pass: one event for all of them
            self.announce_departures()

    # --- pushback: fan-out no faster than it can be delivered (server.output) -------------------
    def fan_out_allowed(self) -> bool:
        return self._output.fan_out_allowed()

    def note_fan_out(self, size: int) -> None:
        self._output.note_fan_out(size)

    def when_fan_out_allowed(self, resume: Callable[[], None]) -> None:
        self._output.when_fan_out_allowed(resume)

    def announce_departures(self) -> None:
        """Send the departures noticed so far now.  Called before anyone joins, too: a user who
        logs in after a departure must not hear of it."""
        departures, self._departures = self._departures, []
        if departures and not self.shutting_down:
            reasons = [reason for _, reason in departures]
            self.room.tell_local(Departed([name for name, _ in departures], reasons if any(reasons) else None))

    def when_room_ready(self, resume: Callable[[], None]) -> None:
        """A connection stopped reading because the room cannot take commands; ``resume`` it
        once the room can (``room_ready``)."""
        self._waiting_for_room[resume] = None

    def room_ready(self) -> None:
        """The room takes commands again: every connection that waited for it carries on."""
        waiting, self._waiting_for_room = self._waiting_for_room, {}
        for resume in waiting:
            resume()

    def disconnect_where(self, match: Matcher, reason: str) -> list[str]:
        """Close every connection whose (name, address) ``match`` accepts, or (account, address)
        for a user logged in to an account under another name (an IRC nick: a ban of the account
        reaches it), for ``reason`` (the session's farewell says it: a kick, a ban); the names of
        the logged-in users closed."""
        closed = []
        account_of = self.room.account_of
        for connection in list(self._connections):
            name, peer = connection.session.name, connection.peer
            host = peer[0] if peer else ""
            account = account_of(name) if name is not None else None
            if match(name, host) or (account is not None and match(account, host)):
                if name is not None:
                    closed.append(name)
                connection.close(reason)
        return closed

    def room_reset(self, reason: str) -> None:
        """The room lost its state (a cluster's store, or this process's place in it): close every
        connection for ``reason`` (members and guests alike); they may reconnect."""
        if self._connections:
            log.warning(
                "Closing %s: %s",
                counted(len(self._connections), "connection"),
                reason,
                extra=fields("room-reset", connections=len(self._connections), reason=reason),
            )
        for connection in list(self._connections):
            connection.close(reason)

    # --- shutdown -------------------------------------------------------------------------------
    async def shutdown(self, grace: float = 1.0) -> None:
        self.shutting_down = True
        self._admission.close()
        self._connections.stop()
        self._stats_log.stop()
        self._memory.stop()
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
        self._listening.close()
        if self._connections:
            users = sum(1 for connection in self._connections if connection.session.name is not None)
            log.info(
                "Closing %s (%s)",
                counted(len(self._connections), "connection"),
                counted(users, "user"),
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
                    "Aborting %s that did not read their last lines within %g s",
                    counted(len(self._connections), "connection"),
                    grace,
                    extra=fields("shutdown-abort", connections=len(self._connections)),
                )
                for connection in list(self._connections):
                    connection.abort()
                # Aborted connections are gone within a loop iteration; never hang on it, though.
                await asyncio.wait([self._all_gone], timeout=grace)
        await self.room.stop()  # (in a cluster: the others hear our users leave at once)
