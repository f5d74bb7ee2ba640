"""Backoff and one generic retry helper for idempotent origin calls (as redis-py does it)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from agentcache.errors import OriginUnavailable

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter, capped."""

    attempts: int = 3
    base_seconds: float = 0.05
    cap_seconds: float = 1.0

    def delay_seconds(self, failures: int, jitter: float) -> float:
        return float(jitter * min(self.cap_seconds, self.base_seconds * 2.0**failures))


async def retry(
    op: Callable[[], Awaitable[T]],
    backoff: Backoff,
    *,
    sleep: Sleep = asyncio.sleep,
    jitter: Callable[[], float] = random.random,
) -> T:
    """Run `op`, retrying on OriginUnavailable (timeouts included) up to `backoff.attempts`."""
    failures = 0
    while True:
        try:
            return await op()
        except OriginUnavailable:
            failures += 1
            if failures >= backoff.attempts:
                raise
            await sleep(backoff.delay_seconds(failures - 1, jitter()))
