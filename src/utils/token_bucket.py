"""A token bucket for per-connection flood control: pure arithmetic, the caller passes the time.

A bucket holds up to ``burst`` tokens and gains ``rate`` tokens a second; each event a
connection causes (a line, a telnet sequence) costs one.
The server never drops a line for want of a token: it stops reading from that connection for
``delay()`` seconds, so TCP pushes back on the flooder and nothing is lost or reordered.
"""

from __future__ import annotations


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
        return max(0, int(self._tokens))

    def charge(self, cost: int, now: float) -> bool:
        """Spend ``cost`` tokens, into debt if need be; False while in debt."""
        self._refill(now)
        self._tokens -= cost
        return self._tokens >= 0.0

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._updated_at) * self.rate)
        self._updated_at = now

    def in_debt(self, now: float) -> bool:
        """Whether more was spent than there is now."""
        self._refill(now)
        return self._tokens < 0.0

    def delay(self) -> float:
        """Seconds until the next whole token, as of the last call."""
        return max(0.0, (1.0 - self._tokens) / self.rate)
