"""A tenant at run time: its origin, policy, keys (as hashes), signing secret and limits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from agentcache.config import NamespaceConfig
from agentcache.origin import Origin
from agentcache.policy.classify import ClassPolicy
from agentcache.policy.ratelimit import TokenBucket

_ABSENT = -1.0


def key_digest(key: bytes) -> bytes:
    """Keys are 32 random bytes, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(key).digest()


@dataclass(slots=True)
class Namespace:
    name: str
    origin: Origin
    config: NamespaceConfig
    signing_secret: bytes
    # sha256(key) → the end of its grace period (None: valid until rotated or revoked).
    key_hashes: dict[bytes, float | None] = field(default_factory=dict)
    requests: TokenBucket | None = None
    bandwidth: TokenBucket | None = None

    @property
    def policy(self) -> ClassPolicy:
        return self.config.policy

    @property
    def limited(self) -> bool:
        return self.requests is not None or self.bandwidth is not None

    def accepts(self, presented: bytes, now: float) -> bool:
        """Look the key up by its hash: the timing depends on SHA-256 of the guess, which
        tells an attacker nothing about a stored key (the usual treatment of hashed tokens)."""
        if not presented:
            return False
        expires = self.key_hashes.get(key_digest(presented), _ABSENT)
        return expires is None or (expires != _ABSENT and now < expires)

    def throttle_seconds(self, now: float) -> float:
        """0 when a request may go ahead (and is counted), else seconds until it may."""
        wait = self.requests.take(now) if self.requests is not None else 0.0
        if self.bandwidth is not None:
            wait = max(wait, self.bandwidth.take(now, 0.0))
        return wait

    def charge_bytes(self, now: float, sent: int) -> None:
        if self.bandwidth is not None:
            self.bandwidth.charge(now, sent)


def buckets(config: NamespaceConfig, now: float) -> tuple[TokenBucket | None, TokenBucket | None]:
    limits = config.limits
    requests = bandwidth = None
    if limits.requests_per_second:
        rate = limits.requests_per_second
        requests = TokenBucket.full(rate, max(rate, 1.0), now)  # a burst of one second
    if limits.bandwidth_bytes_per_second:
        rate = limits.bandwidth_bytes_per_second
        bandwidth = TokenBucket.full(rate, rate, now)
    return requests, bandwidth
