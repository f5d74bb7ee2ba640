"""The edge: namespaces, the tiers in order, single-flight fills and invalidation.

`read` answers "where do this object's bytes come from right now": a fresh stored copy (HIT),
a stored copy the origin just confirmed (REVALIDATED), or a fill in progress (MISS).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

from agentcache.cache.fill import Fill, Revalidated
from agentcache.config import Config, NamespaceConfig
from agentcache.entry import Entry, ObjectInfo
from agentcache.errors import CorruptEntry, OriginNotFound, OriginUnavailable
from agentcache.metrics import Metrics
from agentcache.namespace import Namespace, buckets
from agentcache.origin import NotModified, Origin, OriginResponse, Prefixed, open_origin
from agentcache.policy.classify import class_ttl_seconds, classify
from agentcache.policy.freshness import freshness
from agentcache.policy.keys import cache_key
from agentcache.storage.base import StoredObject, Tier
from agentcache.storage.disk import DiskTier
from agentcache.storage.memory import MemoryObject, MemoryTier

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Hit:
    obj: StoredObject
    result: str  # HIT | REVALIDATED


@dataclass(frozen=True, slots=True)
class Miss:
    fill: Fill
    entry: Entry


@dataclass(frozen=True, slots=True)
class Bypass:
    """Caching is off or impossible: the origin's response goes straight to the client."""

    entry: Entry
    response: OriginResponse


class Edge:
    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.memory = MemoryTier(config.cache.memory_max_bytes, config.cache.memory_admit_max_bytes)
        self.disk = DiskTier(
            config.cache.dir, config.cache.disk_max_bytes, fsync=config.cache.fsync, clock=clock
        )
        # Every tier, fastest first: what is done to all of them goes through this tuple.
        self.tiers: tuple[Tier, ...] = (self.memory, self.disk)
        self.default_origin: Origin | None = None
        self.namespaces: dict[str, Namespace] = {}
        self._fills: dict[str, Fill] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the tiers and the default origin; namespaces are added by the control plane."""
        self.disk.open()
        self.default_origin = open_origin(self.config.origin)

    def add_namespace(self, ns: NamespaceConfig, *, signing_secret: bytes) -> Namespace:
        assert self.default_origin is not None, "start() first"
        origin = (
            open_origin(ns.origin) if ns.origin else Prefixed(self.default_origin, ns.name + "/")
        )
        requests, bandwidth = buckets(ns, self.clock())
        namespace = Namespace(
            ns.name, origin, ns, signing_secret, requests=requests, bandwidth=bandwidth
        )
        self.namespaces[ns.name] = namespace
        self.disk.set_quota(ns.name, ns.quota_bytes)
        return namespace

    async def remove_namespace(self, name: str) -> None:
        """Forget a namespace and everything cached for it."""
        namespace = self.namespaces.pop(name, None)
        if namespace is None:
            return
        await self.purge(name, prefix="")
        self.disk.set_quota(name, None)
        await namespace.origin.aclose()

    async def purge(
        self, name: str, *, keys: list[str] | None = None, prefix: str | None = None
    ) -> int:
        """Drop cached copies in one namespace: these keys, or every key under `prefix`."""
        if keys is not None:
            return sum([await self.drop(cache_key(name, key)) for key in keys])
        start = cache_key(name, prefix or "")
        for ck in [ck for ck in self._fills if ck.startswith(start)]:
            self._fills.pop(ck).keep = False
        removed = [await tier.delete_prefix(start) for tier in self.tiers]
        return max(removed)  # memory holds a subset of the disk tier's keys

    async def settle(self) -> None:
        """Wait for background work (fills, refreshes) to finish: for tests and shutdown."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for ns in self.namespaces.values():
            await ns.origin.aclose()
        if self.default_origin is not None:
            await self.default_origin.aclose()
        self.disk.close()

    # -- reads -----------------------------------------------------------------------------

    def make_entry(self, ns: Namespace, key: str, info: ObjectInfo) -> Entry:
        content_class = classify(key, info.content_type, info.size, ns.policy)
        class_ttl = class_ttl_seconds(key, info.content_type, content_class, ns.policy)
        fresh = freshness(info, class_ttl, ns.policy)
        return Entry(
            cache_key(ns.name, key),
            info,
            content_class.value,
            self.clock() - info.age_seconds,  # §4.2.3: it was already this old on arrival
            fresh.ttl_seconds,
            fresh.stale_while_revalidate_seconds,
            fresh.stale_if_error_seconds,
            fresh.storable,
        )

    async def lookup(self, ck: str) -> StoredObject | None:
        """Memory, then disk; a disk hit small enough is promoted to memory."""
        found = self.memory.lookup(ck)
        if found is not None:
            return found
        stored = await self.disk.get(ck)
        if stored is None or not self.memory.admits(stored.entry.info.size):
            return stored
        try:
            body = b"".join([part async for part in stored.read(0, stored.entry.info.size)])
        except CorruptEntry as exc:
            log.warning("dropping corrupt entry: %s", exc)
            await self.disk.delete(ck)
            return None
        self.memory.put(stored.entry, body)
        return MemoryObject(stored.entry, body, tier="disk")

    async def read(self, ns: Namespace, key: str) -> Hit | Miss | Bypass:
        ck = cache_key(ns.name, key)
        if self.config.bypass:
            return await self._bypass(ns, key)
        stored = await self.lookup(ck)
        now = self.clock()
        if stored is not None:
            if stored.entry.is_fresh(now):
                return Hit(stored, "HIT")
            if stored.entry.may_serve_while_revalidating(now):
                if ck not in self._fills:  # one background refresh at a time
                    with contextlib.suppress(OSError):  # no spool: refresh on a later request
                        self._start_fill(ns, key, stored)
                return Hit(stored, "STALE")
        fill = self._fills.get(ck)
        if fill is None:
            try:
                fill = self._start_fill(ns, key, stored)
            except OSError as exc:  # the disk cannot even hold a spool file
                self.disk.last_error = f"cannot spool: {exc}"
                log.error("disk tier unwritable, passing through: %s", exc)
                return await self._bypass(ns, key)
        fill.acquire()
        try:
            outcome = await asyncio.shield(fill.ready)
        except OriginUnavailable:
            fill.release()
            if stored is not None and stored.entry.may_serve_on_error(now):
                return Hit(stored, "STALE")
            raise
        except OriginNotFound:
            fill.release()
            if stored is not None:
                await self.drop(ck)  # the origin no longer has it
            raise
        except BaseException:
            fill.release()
            raise
        if isinstance(outcome, Revalidated):
            fill.release()
            if stored is None:  # joined another request's revalidation; our copy was evicted
                return await self.read(ns, key)
            stored.entry = outcome.entry
            return Hit(stored, "REVALIDATED")
        return Miss(fill, outcome)

    async def describe(self, ns: Namespace, key: str) -> tuple[Entry, str, str]:
        """For HEAD: (entry, X-Cache, X-Cache-Tier). A miss asks the origin's HEAD, which costs
        no body, and stores nothing."""
        stored = None if self.config.bypass else await self.lookup(cache_key(ns.name, key))
        now = self.clock()
        if stored is not None and stored.entry.may_serve_while_revalidating(now):
            return stored.entry, "HIT" if stored.entry.is_fresh(now) else "STALE", stored.tier
        self.metrics.record_origin(ns.name)
        try:
            info = await ns.origin.head(key)
        except OriginUnavailable:
            if stored is not None and stored.entry.may_serve_on_error(now):
                return stored.entry, "STALE", stored.tier
            raise
        return self.make_entry(ns, key, info), "BYPASS" if self.config.bypass else "MISS", "origin"

    async def _bypass(self, ns: Namespace, key: str) -> Bypass:
        self.metrics.record_origin(ns.name)
        response = await ns.origin.get(key)
        assert isinstance(response, OriginResponse)  # unconditional GET
        response.chunks = _counted(response.chunks, self.metrics.origin_bytes.labels(ns.name).inc)
        return Bypass(self.make_entry(ns, key, response.info), response)

    def _start_fill(self, ns: Namespace, key: str, prior: StoredObject | None) -> Fill:
        ck = cache_key(ns.name, key)
        path, fd = self.disk.spool()
        fill = Fill(ck, path, fd, self.config.cache.block_bytes, ns)
        self._fills[ck] = fill
        etag = prior.entry.info.etag if prior is not None else None

        async def fetch() -> OriginResponse | NotModified:
            self.metrics.record_origin(ns.name)
            return await ns.origin.get(key, if_none_match=etag)

        async def renew(answer: NotModified) -> Entry:
            """§4.3.4: a 304 refreshes the stored metadata; the body is not touched."""
            assert prior is not None
            info = prior.entry.info
            if answer.info is not None and answer.info.cache_control is not None:
                info = replace(
                    info,
                    cache_control=answer.info.cache_control,
                    expires=answer.info.expires,
                    date=answer.info.date,
                )
            entry = replace(self.make_entry(ns, key, info), content_class=prior.entry.content_class)
            for tier in self.tiers:
                await tier.renew(ck, entry)
            return entry

        origin_bytes = self.metrics.origin_bytes.labels(ns.name)

        async def run() -> None:
            try:
                await fill.run(
                    fetch,
                    lambda info: self.make_entry(ns, key, info),
                    renew,
                    self._complete,
                    origin_bytes.inc,
                )
            finally:
                self._forget(fill)  # a fill that failed or was revalidated

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return fill

    def _forget(self, fill: Fill) -> None:
        if self._fills.get(fill.key) is fill:
            del self._fills[fill.key]

    def _complete(self, fill: Fill) -> None:
        """A fill has all its bytes: later requests must find the stored copy, not the fill.
        Storing may fail; a failing disk costs future hits, never this response."""
        self._forget(fill)
        entry = fill.entry
        assert entry is not None
        if not (fill.keep and entry.storable):
            return
        if self.namespaces.get(fill.namespace.name) is not fill.namespace:
            return  # the namespace was deleted during the fill: a new one must not inherit it
        size = entry.info.size
        if self.memory.admits(size):
            self.memory.put(entry, os.pread(fill.fd, size, 0))
        if not self.disk.fits(size, entry.key.split("/", 1)[0]):
            return
        try:
            self.disk.commit(
                entry, fill.spool, fill.fd, fill.hasher.finish(), fill.hasher.block_bytes
            )
            self.disk.last_error = None
        except (OSError, sqlite3.Error) as exc:
            log.error("disk tier could not store %s: %s", entry.key, exc)
            self.disk.last_error = str(exc)

    # -- writes ----------------------------------------------------------------------------

    async def invalidate(self, ns: Namespace, key: str) -> None:
        await self.drop(cache_key(ns.name, key))

    async def drop(self, ck: str) -> bool:
        """Drop every tier's copy and stop an in-flight fill from committing old bytes;
        True when some tier held a copy."""
        fill = self._fills.pop(ck, None)
        if fill is not None:
            fill.keep = False
        return any([await tier.delete(ck) for tier in self.tiers])

    async def put(
        self,
        ns: Namespace,
        key: str,
        body: AsyncIterator[bytes],
        *,
        size: int | None,
        content_type: str,
    ) -> ObjectInfo:
        try:
            return await ns.origin.put(key, body, size=size, content_type=content_type)
        finally:
            await self.invalidate(ns, key)

    async def delete(self, ns: Namespace, key: str) -> None:
        try:
            await ns.origin.delete(key)
        finally:
            await self.invalidate(ns, key)

    def health(self) -> dict[str, dict[str, object]]:
        return {tier.name: tier.status() for tier in self.tiers}


async def _counted(
    chunks: AsyncIterator[bytes], count: Callable[[int], None]
) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        count(len(chunk))
        yield chunk
