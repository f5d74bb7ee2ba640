"""The edge: namespaces, the tiers in order, single-flight fills and invalidation.

`read` answers "where do this object's bytes come from right now": a fresh stored copy (HIT),
a stored copy the origin just confirmed (REVALIDATED), a fill in progress (MISS), or, for a
large object, its chunked copy, whose missing chunks `chunks` fetches as they are read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

from agentcache.cache.chunks import Chunked, ChunkReader
from agentcache.cache.fill import Fill, Revalidated
from agentcache.cache.prefetch import Prefetcher, read_playlist
from agentcache.cache.spool import mark_seen
from agentcache.cache.warmup import Warmer
from agentcache.config import Config, NamespaceConfig
from agentcache.entry import Entry, ObjectInfo, same_version
from agentcache.errors import (
    AgentCacheError,
    CorruptEntry,
    OriginNotFound,
    OriginRejected,
    OriginUnavailable,
)
from agentcache.metrics import Metrics
from agentcache.namespace import Namespace, buckets
from agentcache.origin import NotModified, Origin, OriginResponse, Prefixed, open_origin
from agentcache.policy.classify import class_ttl_seconds, classify, is_playlist
from agentcache.policy.freshness import freshness
from agentcache.policy.hls import MAX_PLAYLIST_BYTES, is_vod
from agentcache.policy.keys import cache_key
from agentcache.storage.base import StoredObject, Tier, read_body
from agentcache.storage.bodies import ChunkedObject
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
        self._heads: dict[str, asyncio.Future[ObjectInfo]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.chunks = ChunkReader(
            self.disk,
            window_bytes=config.cache.readahead_bytes,
            metrics=self.metrics,
            spawn=self._spawn,
        )

        def lookup(ns: Namespace, key: str) -> Awaitable[StoredObject | None]:
            return self.lookup(cache_key(ns.name, key))

        self.prefetcher = Prefetcher(self.warm, lookup, self._spawn)
        self.warmer = Warmer(self.warm, lookup, self._spawn, clock)

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

    def make_entry(self, ns: Namespace, key: str, info: ObjectInfo, *, vod: bool = False) -> Entry:
        """`vod`: the object is an HLS playlist whose body says it is finished."""
        content_class = classify(key, info.content_type, info.size, ns.policy)
        class_ttl = class_ttl_seconds(key, info.content_type, content_class, ns.policy, vod=vod)
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
        if (
            stored is None
            or isinstance(stored, ChunkedObject)
            or not self.memory.admits(stored.entry.info.size)
        ):
            return stored
        try:
            body = await read_body(stored)
        except CorruptEntry as exc:
            log.warning("dropping corrupt entry: %s", exc)
            await self.disk.delete(ck)
            return None
        self.memory.put(stored.entry, body)
        return MemoryObject(stored.entry, body, tier="disk")

    async def read(
        self, ns: Namespace, key: str, *, ranged: bool = False
    ) -> Hit | Miss | Bypass | Chunked:
        """`ranged`: the client wants part of the object, so a cold large object is better
        asked for by HEAD, then only the chunks the range touches, than by a full GET."""
        ck = cache_key(ns.name, key)
        if self.config.bypass:
            return await self._bypass(ns, key)
        stored = await self.lookup(ck)
        if isinstance(stored, ChunkedObject):
            return await self._read_chunked(ns, key, stored, ranged)
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
        if fill is None and ranged and stored is None:
            try:
                info: ObjectInfo | None = await self._head(ns, key)
            except OriginRejected:  # an origin that refuses HEAD: read it the whole way
                info = None
            chunked = None if info is None else self._chunked_miss(ns, key, info)
            if chunked is not None:
                return chunked
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
        if isinstance(outcome, Chunked):
            fill.release()
            return outcome
        return Miss(fill, outcome)

    def chunkable(self, ns: Namespace, entry: Entry) -> bool:
        """Large, storable, fits the tier, and has a validator to pin its chunks to."""
        info = entry.info
        return (
            entry.storable
            and info.size > 0
            and info.size >= ns.policy.large_threshold_bytes
            and (info.etag is not None or info.last_modified is not None)
            and self.disk.fits(info.size, ns.name)
        )

    def _open_chunked(self, ns: Namespace, entry: Entry) -> tuple[ChunkedObject, bool] | None:
        """The chunked copy of this version and whether it is new; None when the object is
        not to be chunked (or the disk cannot hold it)."""
        if not self.chunkable(ns, entry) or self.namespaces.get(ns.name) is not ns:
            return None
        try:
            opened = self.disk.open_chunked(
                entry, self.config.cache.chunk_bytes, self.config.cache.block_bytes
            )
        except (OSError, sqlite3.Error) as exc:
            log.error("disk tier cannot hold %s in chunks: %s", entry.key, exc)
            self.disk.last_error = str(exc)
            return None
        self.memory.discard(entry.key)  # an older, smaller version must not shadow it
        return opened

    def _chunked_miss(self, ns: Namespace, key: str, info: ObjectInfo) -> Chunked | None:
        """A chunked copy (no chunks yet) of a large object: None for a small one."""
        opened = self._open_chunked(ns, self.make_entry(ns, key, info))
        return None if opened is None else Chunked(opened[0], "MISS")

    async def _read_chunked(
        self, ns: Namespace, key: str, obj: ChunkedObject, ranged: bool
    ) -> Hit | Miss | Bypass | Chunked:
        """A chunked copy is revalidated by HEAD: chunks of the old version are never mixed
        with the new one, so a changed object starts again from no chunks."""
        now = self.clock()
        if obj.entry.is_fresh(now):
            return Chunked(obj, "HIT")
        try:
            info = await self._head(ns, key)
        except OriginUnavailable:
            if obj.entry.may_serve_on_error(now):
                return Chunked(obj, "STALE")
            raise
        except OriginNotFound:
            self.chunks.drop(obj)
            raise
        if same_version(info, obj.entry.info):
            entry = replace(self.make_entry(ns, key, info), content_class=obj.entry.content_class)
            await self.disk.renew(obj.entry.key, entry)
            obj.entry = entry
            return Chunked(obj, "REVALIDATED")
        self.chunks.drop(obj)  # concurrent readers share this HEAD: only this version goes
        if ranged:
            chunked = self._chunked_miss(ns, key, info)
            if chunked is not None:
                return chunked
        return await self.read(ns, key)

    async def _head(self, ns: Namespace, key: str) -> ObjectInfo:
        """The origin's HEAD, one at a time per key: concurrent callers share the answer."""
        ck = cache_key(ns.name, key)
        future = self._heads.get(ck)
        if future is None:

            async def ask() -> ObjectInfo:
                self.metrics.record_origin(ns.name)
                try:
                    return await ns.origin.head(key)
                finally:
                    del self._heads[ck]

            future = self._heads[ck] = asyncio.ensure_future(ask())
            future.add_done_callback(mark_seen)
        return await asyncio.shield(future)

    async def describe(self, ns: Namespace, key: str) -> tuple[Entry, str, str]:
        """For HEAD: (entry, X-Cache, X-Cache-Tier). A miss asks the origin's HEAD, which costs
        no body, and stores nothing."""
        stored = None if self.config.bypass else await self.lookup(cache_key(ns.name, key))
        now = self.clock()
        if stored is not None and stored.entry.may_serve_while_revalidating(now):
            return stored.entry, "HIT" if stored.entry.is_fresh(now) else "STALE", stored.tier
        try:
            info = await self._head(ns, key)
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
            vod = await _is_vod_playlist(key, prior)
            entry = replace(
                self.make_entry(ns, key, info, vod=vod), content_class=prior.entry.content_class
            )
            for tier in self.tiers:
                await tier.renew(ck, entry)
            return entry

        origin_bytes = self.metrics.origin_bytes.labels(ns.name)

        def adopt(entry: Entry, response: OriginResponse) -> Chunked | None:
            """A large object: its full GET goes on as the fill of every chunk."""
            if response.byte_range is not None:
                return None
            opened = self._open_chunked(ns, entry)
            if opened is None:
                return None
            obj, created = opened
            if created:
                self.chunks.adopt(ns, obj, response)
            else:  # another request made the copy first: read through it instead
                self._spawn(response.close())
            return Chunked(obj, "MISS")

        async def run() -> None:
            try:
                await fill.run(
                    fetch,
                    lambda info: self.make_entry(ns, key, info),
                    renew,
                    self._complete,
                    origin_bytes.inc,
                    adopt,
                )
            finally:
                self._forget(fill)  # a fill that failed, was revalidated or was handed over

        self._spawn(run())
        return fill

    def _spawn(self, work: Awaitable[None]) -> None:
        """Background work the edge waits for in `settle` and cancels in `stop`."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

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
        key = entry.key.split("/", 1)[1]
        playlist = is_playlist(key, entry.info.content_type) and size <= MAX_PLAYLIST_BYTES
        body = os.pread(fill.fd, size, 0) if playlist or self.memory.admits(size) else None
        if playlist and body is not None and is_vod(body):
            # A finished playlist never changes: it keeps the video TTL.
            vod = self.make_entry(fill.namespace, key, entry.info, vod=True)
            entry = replace(vod, stored_at=entry.stored_at)
        if body is not None and self.memory.admits(size):
            self.memory.put(entry, body)
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

    async def warm(self, ns: Namespace, key: str) -> bool:
        """Make sure `key` is cached whole, fetching whatever is missing, as a request would
        but with nobody reading; True when anything came from the origin."""
        found = await self.read(ns, key)
        if isinstance(found, Hit):
            return False
        if isinstance(found, Bypass):
            await found.response.close()
            return False
        if isinstance(found, Miss):
            try:
                await found.fill.finished.wait()
            finally:
                found.fill.release()
            if found.fill.error is not None:
                raise found.fill.error
            return True
        obj = found.obj
        fetched = found.result == "MISS"
        for _ in range(3):  # a run stopped by a client that left is started again
            runs = self.chunks.fetch_missing(ns, obj)
            for run in runs:
                await run.finished.wait()
            for run in runs:
                if isinstance(run.error, AgentCacheError):
                    raise run.error
            fetched = fetched or bool(runs)
            if not runs:
                break
        return fetched

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


async def _is_vod_playlist(key: str, stored: StoredObject) -> bool:
    playlist = await read_playlist(stored, key)
    return playlist is not None and playlist.ended


async def _counted(
    chunks: AsyncIterator[bytes], count: Callable[[int], None]
) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        count(len(chunk))
        yield chunk
