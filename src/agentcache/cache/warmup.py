"""Warm-up jobs (`POST /api/portal/warm`): fetch named keys, a prefix, or an HLS playlist with
its segments into the cache in the background, and report progress.

Each namespace runs one job at a time (a second gets 429) and a job fetches a few objects at
a time, so a warm-up cannot crowd out the traffic it is preparing for. Finished jobs are
remembered (the last `keep` of them) so their outcome can still be read.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from agentcache.cache.prefetch import Lookup, Spawn, Warm, read_playlist
from agentcache.errors import AgentCacheError, RequestError
from agentcache.namespace import Namespace
from agentcache.policy.keys import validate_key

log = logging.getLogger(__name__)

MAX_WARM_KEYS = 10_000
MAX_ERRORS_KEPT = 20


@dataclass
class WarmJob:
    id: str
    namespace: str
    target: dict[str, object]  # what was asked: {"keys": n} | {"prefix": p} | {"playlist": k}
    created_at: float
    state: str = "running"  # running | done | failed
    total: int = 0  # objects to warm, once known
    done: int = 0  # objects handled so far (fetched + already cached + failed)
    fetched: int = 0
    already_cached: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    finished_at: float | None = None

    def fail(self, key: str, exc: Exception) -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(f"{key}: {exc}")


class Warmer:
    def __init__(
        self,
        warm: Warm,
        lookup: Lookup,
        spawn: Spawn,
        clock: Callable[[], float] = time.time,
        *,
        concurrency: int = 4,
        keep: int = 100,
    ) -> None:
        self._warm = warm
        self._lookup = lookup
        self._spawn = spawn
        self._clock = clock
        self.concurrency = concurrency
        self.keep = keep
        self.jobs: OrderedDict[str, WarmJob] = OrderedDict()

    def start(
        self,
        ns: Namespace,
        *,
        keys: list[str] | None = None,
        prefix: str | None = None,
        playlist: str | None = None,
    ) -> WarmJob:
        if sum(x is not None for x in (keys, prefix, playlist)) != 1:
            raise RequestError(400, "bad_warm", "give exactly one of keys, prefix or playlist")
        running = [j for j in self.jobs.values() if j.namespace == ns.name and j.state == "running"]
        if running:
            raise RequestError(
                429,
                "warm_in_progress",
                f"warm-up {running[0].id} is still running for this namespace",
                [(b"retry-after", b"5")],
            )
        if keys is not None:
            keys = [validate_key(key) for key in keys]
            target: dict[str, object] = {"keys": len(keys)}
        elif playlist is not None:
            playlist = validate_key(playlist)
            target = {"playlist": playlist}
        else:
            target = {"prefix": prefix}
        job = WarmJob(secrets.token_hex(8), ns.name, target, self._clock())
        self.jobs[job.id] = job
        while len(self.jobs) > self.keep:
            oldest = next(iter(self.jobs.values()))
            if oldest.state == "running":
                break
            self.jobs.popitem(last=False)
        self._spawn(self._run(job, ns, keys, prefix, playlist))
        return job

    async def _run(
        self,
        job: WarmJob,
        ns: Namespace,
        keys: list[str] | None,
        prefix: str | None,
        playlist: str | None,
    ) -> None:
        try:
            if prefix is not None:
                keys = await ns.origin.list(prefix, MAX_WARM_KEYS)
            elif playlist is not None:
                keys = await self._playlist_keys(ns, playlist)
            assert keys is not None
            job.total = len(keys)
            queue = iter(keys)

            async def worker() -> None:
                for key in queue:
                    try:
                        if await self._warm(ns, key):
                            job.fetched += 1
                        else:
                            job.already_cached += 1
                    except AgentCacheError as exc:
                        job.fail(key, exc)
                    job.done += 1

            await asyncio.gather(*(worker() for _ in range(self.concurrency)))
            job.state = "done"
        except AgentCacheError as exc:
            job.state = "failed"
            job.errors.append(str(exc))
        except BaseException:
            job.state = "failed"
            raise
        finally:
            job.finished_at = self._clock()
            log.info("warm-up %s for %s: %s", job.id, ns.name, job.state)

    async def _playlist_keys(self, ns: Namespace, key: str) -> list[str]:
        """The playlist, and for a master playlist each variant, with their segments."""
        keys: list[str] = []
        pending = [key]
        while pending and len(keys) < MAX_WARM_KEYS:
            current = pending.pop(0)
            await self._warm(ns, current)
            stored = await self._lookup(ns, current)
            parsed = None if stored is None else await read_playlist(stored, current)
            if parsed is None:
                raise RequestError(
                    400, "bad_playlist", f"{current!r} is not a playlist we can read"
                )
            keys += [current, *parsed.segments]
            if current == key:  # one level: a master playlist's variants, not theirs
                pending += list(parsed.variants)
        return list(dict.fromkeys(keys))[:MAX_WARM_KEYS]
