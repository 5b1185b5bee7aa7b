"""What the server tells its operator about traffic: the periodic stats line and the refusals.

``Stats`` counts lines in and out, slow readers dropped, senders throttled and connections refused;
``StatsLog`` writes one INFO line that sums them up every ``--stats-interval`` seconds, and starts
a new ``Stats`` for the next period.  A refused connection is logged once per reason; more of the
same before the next stats line (or within REFUSAL_SUMMARY_SECONDS when stats are off) become one
line with a count, so a flood of refusals cannot flood the log.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from algokart_chat.logs import counted, fields
from algokart_chat.server.clock import Clock, Timer

log = logging.getLogger(__name__)

REFUSAL_SUMMARY_SECONDS = 60.0  # when --stats-interval is 0
COUNTED_PAYLOADS = 4  # Stats.count_out remembers the lines of this many payloads


class Stats:
    """What happened since the last stats line."""

    __slots__ = ("_counted", "dropped", "lines_in", "lines_out", "refused", "throttled")

    def __init__(self) -> None:
        self.lines_in = 0
        self.lines_out = 0
        self.dropped: Counter[str] = Counter()  # slow readers reset, by the limit they broke
        self.throttled = 0  # times a connection's reading paused for its budget
        self.refused = 0
        # The payloads counted last, and their lines: one payload goes to many, and a write pass
        # takes turns between them (each protocol has its own bytes of one event).
        self._counted: list[tuple[bytes, int]] = []

    def count_out(self, payload: bytes) -> None:
        counted = self._counted
        for known, lines in counted:
            if known is payload:
                self.lines_out += lines
                return
        lines = payload.count(b"\n")
        self._counted = [(payload, lines), *counted[: COUNTED_PAYLOADS - 1]]
        self.lines_out += lines


def stats_fields(stats: Stats, seconds: float, connections: int, users: int) -> dict[str, int | float]:
    """The stats line's JSON fields for ``stats`` counted over ``seconds``.  Pure."""
    return {
        "connections": connections,
        "users": users,
        "lines_in_per_s": round(stats.lines_in / seconds, 1),
        "lines_out_per_s": round(stats.lines_out / seconds, 1),
        "slow_readers_dropped": sum(stats.dropped.values()),
        "dropped_hard": stats.dropped["hard"],
        "dropped_soft": stats.dropped["soft"],
        "dropped_stalled": stats.dropped["stalled"],
        "throttled": stats.throttled,
        "refused": stats.refused,
    }


class StatsLog:
    """The current period's ``Stats``, the timer of the stats line, and the refusals not logged yet."""

    __slots__ = ("_clock", "_interval", "_population", "_refusal_timer", "_since", "_stats_timer", "_unlogged", "stats")

    def __init__(self, clock: Clock, interval: float, population: Callable[[], tuple[int, int]]) -> None:
        """``interval``: --stats-interval (0: no stats line); ``population``: the connections and
        the users now, for the stats line."""
        self._clock = clock
        self._interval = interval
        self._population = population
        self.stats = Stats()
        self._since = clock.time()
        self._stats_timer: Timer | None = None
        self._unlogged: Counter[str] = Counter()  # reason -> refusals not logged yet
        self._refusal_timer: Timer | None = None

    def start(self) -> None:
        """The server is up: the first period begins now."""
        if self._interval:
            self._since = self._clock.time()
            self._stats_timer = self._clock.call_later(self._interval, self._log_stats)

    def stop(self) -> None:
        for timer in (self._stats_timer, self._refusal_timer):
            if timer is not None:
                timer.cancel()

    def note_refusal(self, reason: str, peer: str) -> None:
        """Log a refused connection: the first of each reason at once, the rest as one count."""
        self.stats.refused += 1
        if reason in self._unlogged:
            self._unlogged[reason] += 1
            log.debug("Refused connection from %s: %s", peer, reason, extra=fields("refused", peer=peer, reason=reason))
            return
        log.warning("Refused connection from %s: %s", peer, reason, extra=fields("refused", peer=peer, reason=reason))
        self._unlogged[reason] = 0
        if self._refusal_timer is None:
            self._refusal_timer = self._clock.call_later(self._refusal_interval, self._log_refusals)

    @property
    def _refusal_interval(self) -> float:
        return self._interval or REFUSAL_SUMMARY_SECONDS

    def _log_refusals(self) -> None:
        self._refusal_timer = None
        counts = {reason: count for reason, count in self._unlogged.items() if count}
        self._unlogged.clear()
        for reason, count in counts.items():
            message = "Refused %s in the last %g s: %s"
            extra = fields("refused", reason=reason, count=count)
            log.warning(message, counted(count, "more connection"), self._refusal_interval, reason, extra=extra)
            self._unlogged[reason] = 0  # still refusing: keep counting instead of logging each
        if counts:
            self._refusal_timer = self._clock.call_later(self._refusal_interval, self._log_refusals)

    def _log_stats(self) -> None:
        now = self._clock.time()
        seconds, stats = max(now - self._since, 1e-9), self.stats
        self.stats, self._since = Stats(), now
        self._stats_timer = self._clock.call_later(self._interval, self._log_stats)
        connections, users = self._population()
        values = stats_fields(stats, seconds, connections, users)
        log.info(
            "Stats: %s, %s, %.1f lines/s in, %.1f lines/s out, %s dropped (%d hard, %d soft, %d stalled), "
            "%s a sender was throttled, %d refused",
            counted(connections, "connection"),
            counted(users, "user"),
            values["lines_in_per_s"],
            values["lines_out_per_s"],
            counted(sum(stats.dropped.values()), "slow reader"),
            stats.dropped["hard"],
            stats.dropped["soft"],
            stats.dropped["stalled"],
            counted(stats.throttled, "time"),
            stats.refused,
            extra=fields("stats", **values),
        )
