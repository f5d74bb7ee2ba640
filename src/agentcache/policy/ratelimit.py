"""Token buckets for per-namespace request-rate and bandwidth limits (pure, clock injected)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """`rate` tokens per second, holding at most `burst`, starting full at time `updated`.

    Bandwidth is charged after a response, when its size is known, so a bucket may go into
    debt; `take(now, 0)` then refuses until the debt is repaid."""

    rate: float
    burst: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> TokenBucket:
        return cls(rate, burst, burst, now)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def take(self, now: float, cost: float = 1.0) -> float:
        """Take `cost` tokens and return 0.0, or return the seconds until they will be there."""
        self._refill(now)
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate

    def charge(self, now: float, cost: float) -> None:
        self._refill(now)
        self.tokens -= cost
