"""A token bucket for per-connection flood control: pure arithmetic, the caller passes the time.

A bucket holds up to ``burst`` tokens and gains ``rate`` tokens a second; each line costs one.
The server never drops a line for want of a token: it stops reading from that connection for
``delay()`` seconds, so TCP pushes back on the flooder and nothing is lost or reordered.
"""

from __future__ import annotations


class TokenBucket:
    __slots__ = ("rate", "burst", "_tokens", "_updated_at")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated_at = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one; False means: wait ``delay()`` seconds, then retry."""
        tokens = min(self.burst, self._tokens + (now - self._updated_at) * self.rate)
        self._updated_at = now
        if tokens < 1.0:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1.0
        return True

    def charge(self, cost: int, now: float) -> bool:
        """Spend ``cost`` tokens at once, into debt if need be; False while in debt."""
        self._tokens = min(self.burst, self._tokens + (now - self._updated_at) * self.rate) - cost
        self._updated_at = now
        return self._tokens >= 0.0

    def delay(self) -> float:
        """Seconds until the next token, as of the last ``take``."""
        return max(0.0, (1.0 - self._tokens) / self.rate)
