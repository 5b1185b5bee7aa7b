"""Token buckets for flood control: pure arithmetic, the caller passes the time.

A bucket holds up to ``burst`` tokens and gains ``rate`` tokens a second.  ``InputBudget`` is two
of them in one object, lines and bytes: each line a connection sends costs one line token and its
length in byte tokens (a telnet sequence costs a line token), so a user may send many short lines
or a few long ones, never 20 long lines a second.  The same budget, scaled, is shared by every
connection of one address.  ``TokenBucket`` is the plain kind (new connections per address).

The server never drops a line for want of a token: it stops reading from that connection until
the budget allows more, so TCP pushes back on the flooder and nothing is lost or reordered.  A
charge may go into debt (the line that crosses the byte budget, a costly reply); nothing more is
taken until it is repaid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Refills are fractions of a token, so a balance that is whole in exact arithmetic can come out a
# hair either side of it (0.3 + 0.7 - 1): within this of a whole number, it is that number.
ROUNDING: Final = 1e-9


class TokenBucket:
    __slots__ = ("_tokens", "_updated_at", "burst", "rate")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated_at = now

    def available(self, now: float) -> int:
        """How many whole tokens there are now (0 while in debt)."""
        self._refill(now)
        return max(0, int(self._tokens + ROUNDING))

    def charge(self, cost: int, now: float) -> bool:
        """Spend ``cost`` tokens, into debt if need be; False while in debt."""
        self._refill(now)
        self._tokens -= cost
        return self._tokens > -ROUNDING

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._updated_at) * self.rate)
        self._updated_at = now

    def in_debt(self, now: float) -> bool:
        """Whether more was spent than there is now."""
        self._refill(now)
        return self._tokens <= -ROUNDING

    def full(self, now: float) -> bool:
        """Whether the bucket holds its whole burst now."""
        self._refill(now)
        return self._tokens >= self.burst

    def delay(self) -> float:
        """Seconds until the next whole token, as of the last call."""
        return max(0.0, (1.0 - self._tokens) / self.rate)


@dataclass(frozen=True)
class Rates:
    """What an ``InputBudget`` allows; a rate of 0 leaves that dimension unlimited."""

    lines_per_second: float
    line_burst: int
    bytes_per_second: float
    byte_burst: int

    def scaled(self, factor: int) -> Rates:
        """``factor`` budgets' worth (an address's connections together)."""
        return Rates(
            self.lines_per_second * factor,
            self.line_burst * factor,
            self.bytes_per_second * factor,
            self.byte_burst * factor,
        )


UNLIMITED = 1 << 62


class InputBudget:
    """Line and byte tokens together; see the module docstring."""

    __slots__ = ("_bytes", "_lines", "_updated_at", "rates")

    def __init__(self, rates: Rates, now: float) -> None:
        self.rates = rates
        self._lines = float(rates.line_burst)
        self._bytes = float(rates.byte_burst)
        self._updated_at = now

    def _refill(self, now: float) -> None:
        elapsed = now - self._updated_at
        if elapsed:
            rates = self.rates
            self._lines = min(rates.line_burst, self._lines + elapsed * rates.lines_per_second)
            self._bytes = min(rates.byte_burst, self._bytes + elapsed * rates.bytes_per_second)
            self._updated_at = now

    def available(self, now: float) -> tuple[int, int]:
        """Whole lines and bytes that may be taken now (0 and 0 while either is in debt)."""
        self._refill(now)
        rates = self.rates
        lines = int(self._lines + ROUNDING) if rates.lines_per_second else UNLIMITED
        size = int(self._bytes + ROUNDING) if rates.bytes_per_second else UNLIMITED
        return (lines, size) if lines > 0 and size > 0 else (0, 0)

    def charge(self, lines: int, size: int, now: float) -> None:
        """Spend ``lines`` and ``size`` tokens, into debt if need be."""
        self._refill(now)
        self._lines -= lines
        self._bytes -= size

    def in_debt(self, now: float) -> bool:
        """Whether either dimension owes tokens now."""
        self._refill(now)
        rates = self.rates
        return (rates.lines_per_second > 0 and self._lines <= -ROUNDING) or (
            rates.bytes_per_second > 0 and self._bytes <= -ROUNDING
        )

    def full(self, now: float) -> bool:
        """Whether both dimensions hold their whole burst now (as if nothing had been spent)."""
        self._refill(now)
        rates = self.rates
        return self._lines >= rates.line_burst and self._bytes >= rates.byte_burst

    def delay(self) -> float:
        """Seconds until a whole line and a byte may be taken, as of the last call."""
        rates = self.rates
        waits = [0.0]
        if rates.lines_per_second:
            waits.append((1.0 - self._lines) / rates.lines_per_second)
        if rates.bytes_per_second:
            waits.append((1.0 - self._bytes) / rates.bytes_per_second)
        return max(waits)
