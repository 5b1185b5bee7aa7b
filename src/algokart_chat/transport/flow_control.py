"""Flow control, written once for every connection: the limits on what one connection takes in and
on how far behind it may fall, and their arithmetic.  Pure: numbers and times in, verdicts out;
the caller passes the time and acts on the answer.

In.  A connection's lines are paid for from two budgets (``token_bucket.InputBudget``, lines and
bytes): its own (``--rate-limit`` lines and ``--rate-limit-bytes`` bytes a second, with their
bursts; ``FlowLimits.rates``) and its address's, shared by every connection of that address.
Either may be absent (no limit).  A line is taken only when both pay for it (``allowance``), it is
charged to both (``charge``), and while either owes tokens nothing more is taken (``in_debt``)
until the later of the two has them again (``delay``).

Out.  What is queued for a client and not sent yet (its *backlog*, in bytes) is judged against two
limits, as Redis's ``client-output-buffer-limit``: over ``hard_limit`` (``--max-send-buffer``) the
client is reset at once; over ``soft_limit`` (``--send-buffer-soft``) for ``soft_seconds``
(``--send-buffer-soft-seconds``), or reading nothing at all for that long while output waits, it
is reset at the next sweep (``overdue``).  From a quarter of the soft limit a client whose socket
keeps up waits on the server, not on its reader (``congestion_limit``): the connection's
*Pushback*.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from algokart_chat.token_bucket import InputBudget, Rates


@dataclass(frozen=True)
class FlowLimits:
    """One listener's limits for each of its connections (the server's settings)."""

    rates: Rates | None  # each connection's input budget; None: no limit
    hard_limit: int  # bytes behind: reset at once
    soft_limit: int  # bytes behind: reset after soft_seconds over it
    soft_seconds: float  # ... and after that long reading nothing while output waits
    keepalive_seconds: int = 0  # TCP keepalive (transport.keepalive) after this much silence; 0: off

    @property
    def congestion_limit(self) -> int:
        """Bytes behind from which a client whose transport keeps up waits on the server."""
        return self.soft_limit // 4

    def overdue(self, now: float, over_soft_since: float | None, paused_since: float | None) -> str | None:
        """The sweep's verdict on a client over the soft limit since ``over_soft_since`` and whose
        socket has taken nothing since ``paused_since`` (None: it is not): ``soft`` or ``stalled``
        if it must be reset for it; ``ok`` if it is still behind and must be watched; None once it
        is not behind any more."""
        seconds = self.soft_seconds
        if over_soft_since is not None and now - over_soft_since >= seconds:
            return "soft"
        if paused_since is not None and now - paused_since >= seconds:
            return "stalled"
        return "ok" if over_soft_since is not None or paused_since is not None else None

    def broken(self, limit: str, seconds: float) -> str:
        """How a client broke ``limit`` (``hard``, ``soft`` or ``stalled``, for ``seconds``), for the log."""
        return {
            "hard": f"over the hard limit of {self.hard_limit} bytes",
            "soft": f"over the soft limit of {self.soft_limit} bytes for {seconds:g} s",
            "stalled": f"it read nothing for {seconds:g} s",
        }[limit]


def seconds_over(limit: str, now: float, over_soft_since: float | None, paused_since: float | None) -> float:
    """How long a client has been over ``limit`` (to a tenth of a second): 0 for ``hard``."""
    since = over_soft_since if limit == "soft" else paused_since if limit == "stalled" else now
    return round(now - (since if since is not None else now), 1)


# --- the input budgets: a connection's own and its address's, either of them None --------------
Budgets = Iterable[InputBudget | None]


def allowance(budgets: Budgets, now: float) -> tuple[int | None, int | None]:
    """Lines and bytes every budget allows now (None: no limit); (0, 0) while any is in debt."""
    lines: int | None = None
    size: int | None = None
    for budget in budgets:
        if budget is not None:
            more_lines, more_bytes = budget.available(now)
            lines = more_lines if lines is None else min(lines, more_lines)
            size = more_bytes if size is None else min(size, more_bytes)
    return lines, size


def charge(budgets: Budgets, lines: int, size: int, now: float) -> None:
    """Spend ``lines`` and ``size`` tokens from every budget, into debt if need be."""
    for budget in budgets:
        if budget is not None:
            budget.charge(lines, size, now)


def in_debt(budgets: Budgets, now: float) -> bool:
    """Whether any budget owes tokens now."""
    return any(budget is not None and budget.in_debt(now) for budget in budgets)


def delay(budgets: Budgets) -> float:
    """Seconds until every budget allows a line again, as of their last call."""
    return max(budget.delay() if budget is not None else 0.0 for budget in budgets)
