"""Large objects as chunks fetched on demand: one origin GET per missing run of chunks,
single-flight per chunk, written in place into the object's sparse file.

A `RunFill` streams chunks [first, last] of one object version from one origin response and
indexes each chunk the moment its last byte is written. It claims its chunks, so concurrent
readers of a chunk join it instead of asking the origin again, and it keeps at most
`window` bytes ahead of the furthest reader (the response is simply not read meanwhile). It
stops at the next chunk boundary when its readers have all gone, or when another run has
taken over its next chunk (a reader that jumped far ahead starts its own run).

`ChunkReader.stream` serves a byte range: present chunks from the file, missing ones from the
run that claims them, or from a new run covering the missing chunks the range touches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass

from agentcache.cache.spool import Spool, mark_seen
from agentcache.entry import same_version
from agentcache.errors import (
    CorruptEntry,
    OriginChanged,
    OriginError,
    OriginPreconditionFailed,
    OriginUnavailable,
    StorageError,
)
from agentcache.metrics import Metrics
from agentcache.namespace import Namespace
from agentcache.origin.base import NotModified, OriginResponse
from agentcache.policy.ranges import ByteRange
from agentcache.storage.bodies import ChunkedObject, ChunkMissing
from agentcache.storage.checksum import BlockHasher
from agentcache.storage.disk import DiskTier

log = logging.getLogger(__name__)

# A reader that fails this many times in a row without getting a byte gives up (the origin
# wrapper has already retried each request).
MAX_STALLS = 2


@dataclass(frozen=True, slots=True)
class Chunked:
    """A read answered from a chunked copy: `result` is HIT, MISS, REVALIDATED or STALE."""

    obj: ChunkedObject
    result: str


class RunStopped(Exception):
    """A run ended before its last chunk on purpose; its readers carry on elsewhere."""


Claims = dict[tuple[str, int], "RunFill"]
OpenResponse = Callable[[], Awaitable[OriginResponse]]
# Index a finished chunk (index, checksums, fd); False when the object is no longer stored.
Commit = Callable[[int, bytes, int], bool]


class RunFill(Spool):
    def __init__(
        self, obj: ChunkedObject, first: int, last: int, claims: Claims, window: int
    ) -> None:
        start, _ = obj.chunk_span(first)
        super().__init__(obj.entry.key, -1, start)  # the file is opened when the run starts
        self.obj = obj
        self.end = obj.chunk_span(last)[1]
        self.window = window
        self._claims = claims
        self._mine = [(obj.version, index) for index in range(first, last + 1)]
        for claim in self._mine:
            claims[claim] = self
        # Resolved once the origin's response is known to be of the pinned version.
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.opened.add_done_callback(mark_seen)

    def owns(self, index: int) -> bool:
        return self._claims.get((self.obj.version, index)) is self

    async def run(
        self,
        open_response: OpenResponse,
        commit: Commit,
        on_bytes: Callable[[int], None],
    ) -> None:
        try:
            try:
                self.fd = os.open(self.obj.path, os.O_RDWR)
            except OSError as exc:  # the object was dropped before this run began
                raise ChunkMissing(self.written // self.obj.chunk_bytes) from exc
            response = await open_response()
            try:
                if not same_version(response.info, self.obj.entry.info):
                    raise OriginChanged(f"{self.key!r} changed at the origin")
                self.opened.set_result(None)
                await self._spool(response, commit, on_bytes)
            finally:
                await response.close()
        except BaseException as exc:  # every failure must reach the readers
            self._fail(exc, self.opened)
            if not isinstance(exc, Exception):
                raise
        finally:
            for claim in self._mine:
                if self._claims.get(claim) is self:
                    del self._claims[claim]
            self._finish()

    async def _spool(
        self,
        response: OriginResponse,
        commit: Commit,
        on_bytes: Callable[[int], None],
    ) -> None:
        chunk_bytes = self.obj.chunk_bytes
        # An origin that ignored the Range header sends the object from its first byte.
        offset = response.byte_range.start if response.byte_range is not None else 0
        index = self.written // chunk_bytes
        hasher = BlockHasher(self.obj.block_bytes)
        async for data in response.chunks:
            view = memoryview(data)
            if offset < self.written:
                view = view[self.written - offset :]
                offset += len(data) - len(view)
            while view:
                boundary = min((index + 1) * chunk_bytes, self.end)
                piece = view[: boundary - self.written]
                try:
                    os.pwrite(self.fd, piece, self.written)
                except OSError as exc:
                    raise StorageError(f"cannot write a chunk of {self.key!r}: {exc}") from exc
                hasher.update(piece)
                self.written += len(piece)
                offset += len(piece)
                view = view[len(piece) :]
                on_bytes(len(piece))
                if self.written < boundary:
                    break
                kept = commit(index, hasher.finish(), self.fd)
                if self.owns(index):
                    del self._claims[(self.obj.version, index)]
                if not kept and self._readers == 0:  # purged or evicted, and nobody reading
                    raise RunStopped(f"{self.key!r} was dropped during its fill")
                if self.written == self.end:
                    self.done = True
                    return
                index += 1
                hasher = BlockHasher(self.obj.block_bytes)
                if not self.owns(index) or (self._had_readers and self._readers == 0):
                    raise RunStopped(f"run of {self.key!r} stopped before chunk {index}")
            self._notify()
            while self._readers > 0 and self.written >= self.reader_pos + self.window:
                await self._progress.wait()
        raise OriginUnavailable(f"origin response for {self.key!r} ended at {self.written}")


class ChunkReader:
    """Every chunked object's in-flight runs, and reading ranges through them."""

    def __init__(
        self,
        disk: DiskTier,
        *,
        window_bytes: int,
        metrics: Metrics,
        spawn: Callable[[Awaitable[None]], None],
    ) -> None:
        self.disk = disk
        self.window_bytes = window_bytes
        self.metrics = metrics
        self._spawn = spawn
        self.claims: Claims = {}

    def adopt(self, ns: Namespace, obj: ChunkedObject, response: OriginResponse) -> None:
        """Let a full GET already under way fill every chunk (the first request's)."""

        async def given() -> OriginResponse:
            return response

        self._start(ns, obj, 0, obj.chunk_count - 1, given)

    def run_for(self, obj: ChunkedObject, index: int) -> RunFill | None:
        return self.claims.get((obj.version, index))

    def drop(self, obj: ChunkedObject) -> None:
        """Forget this version (it changed at the origin, or is corrupt); a newer copy of the
        same key, made by a concurrent request, stays."""
        self.disk.delete_version(obj.entry.key, obj.version)

    def _start(
        self,
        ns: Namespace,
        obj: ChunkedObject,
        first: int,
        last: int,
        open_response: OpenResponse | None = None,
    ) -> RunFill:
        """A run over chunks [first, last]: by default a ranged GET pinned to the version."""
        fill = RunFill(obj, first, last, self.claims, self.window_bytes)
        key = obj.entry.key.split("/", 1)[1]
        etag = obj.entry.info.etag
        # If-Match needs a strong validator (RFC 9110 §13.1.1); a weak one is compared after.
        if_match = etag if etag is not None and not etag.startswith("W/") else None

        async def ranged() -> OriginResponse:
            self.metrics.record_origin(ns.name)
            try:
                response = await ns.origin.get(
                    key, byte_range=ByteRange(fill.written, fill.end), if_match=if_match
                )
            except OriginPreconditionFailed:
                raise OriginChanged(f"{obj.entry.key!r} changed at the origin") from None
            assert not isinstance(response, NotModified)
            return response

        def commit(index: int, checksums: bytes, fd: int) -> bool:
            try:
                return self.disk.commit_chunk(obj, index, checksums, fd)
            except (OSError, sqlite3.Error) as exc:  # costs future hits, never this response
                log.error("disk tier could not index chunk %d of %s: %s", index, obj.entry.key, exc)
                self.disk.last_error = str(exc)
                return True  # the object is still there: carry on for the readers

        count = self.metrics.origin_bytes.labels(ns.name).inc
        self._spawn(fill.run(open_response or ranged, commit, count))
        return fill

    def fetch_missing(self, ns: Namespace, obj: ChunkedObject) -> list[RunFill]:
        """Start runs for every missing, unclaimed chunk (a prefetch or a warm-up: nobody
        reads them, so they run to their end); the runs started."""
        last = obj.chunk_count - 1
        present = obj.present(0, last)
        started: list[RunFill] = []
        index = 0
        while index <= last:
            if index in present or self.run_for(obj, index) is not None:
                index += 1
                continue
            fill = self._start_missing(ns, obj, index, last, present)
            started.append(fill)
            index = fill.end // obj.chunk_bytes + (fill.end % obj.chunk_bytes > 0)
        return started

    def _start_missing(
        self, ns: Namespace, obj: ChunkedObject, index: int, last: int, present: set[int]
    ) -> RunFill:
        """A run from `index` over the missing chunks that follow it (to `last`) that no run
        will reach soon: unclaimed, or claimed by a run more than a window behind."""
        run_end = index
        while run_end < last and run_end + 1 not in present:
            if not self._behind(obj, run_end + 1):
                break
            run_end += 1
        return self._start(ns, obj, index, run_end)

    def _behind(self, obj: ChunkedObject, index: int) -> bool:
        """No run claims chunk `index`, or the one that does is more than a window short of it."""
        fill = self.run_for(obj, index)
        return fill is None or obj.chunk_span(index)[0] - fill.written > self.window_bytes

    async def stream(
        self, ns: Namespace, obj: ChunkedObject, start: int, end: int
    ) -> AsyncGenerator[bytes, None]:
        """Bytes [start, end) of a chunked object, fetching missing chunks as it goes.

        Before the first byte, the run for the first missing chunk must have confirmed the
        version, so a response that would mix stored chunks of the old version with fetched
        ones of a new one fails (OriginChanged) before its headers are sent. The reader holds
        every run it starts or joins until it is done, so those runs are paced by it and stop
        when it goes away."""
        reader = _Reader(self, ns, obj, start, end)
        try:
            async for data in reader.read():
                yield data
        except (OriginChanged, CorruptEntry):
            self.drop(obj)
            raise
        finally:
            reader.close()


class _Reader:
    """One range being read: its position, and the runs it holds."""

    def __init__(
        self, chunks: ChunkReader, ns: Namespace, obj: ChunkedObject, start: int, end: int
    ) -> None:
        self.chunks, self.ns, self.obj = chunks, ns, obj
        self.pos, self.end = start, end
        self.last = (end - 1) // obj.chunk_bytes
        self.held: dict[RunFill, None] = {}

    def hold(self, fill: RunFill) -> RunFill:
        if fill not in self.held:
            fill.acquire()
            self.held[fill] = None
        return fill

    def close(self) -> None:
        for fill in self.held:
            fill.release()
        self.held.clear()

    def start(self, index: int, present: set[int]) -> RunFill:
        return self.hold(self.chunks._start_missing(self.ns, self.obj, index, self.last, present))

    async def confirm_version(self) -> None:
        first = self.pos // self.obj.chunk_bytes
        present = self.obj.present(first, self.last)
        missing = next((i for i in range(first, self.last + 1) if i not in present), None)
        if missing is not None:
            fill = self.chunks.run_for(self.obj, missing)
            fill = self.hold(fill) if fill is not None else self.start(missing, present)
            await asyncio.shield(fill.opened)

    def read_ahead(self, index: int) -> None:
        """Start the run for the next gap within a window of `index`, so a reader crossing
        from stored chunks into a gap finds its bytes on their way."""
        ahead = min(self.last, index + self.chunks.window_bytes // self.obj.chunk_bytes)
        if ahead <= index:
            return
        present = self.obj.present(index + 1, self.last)
        for next_index in range(index + 1, ahead + 1):
            if next_index not in present and self.chunks.run_for(self.obj, next_index) is None:
                self.start(next_index, present)
                return  # that run covers the rest of this gap; later gaps wait their turn

    async def read(self) -> AsyncGenerator[bytes, None]:
        await self.confirm_version()
        stalls, obj = 0, self.obj
        while self.pos < self.end:
            index = self.pos // obj.chunk_bytes
            self.read_ahead(index)
            fill = self.chunks.run_for(obj, index)
            if fill is not None and self.pos - fill.written > self.chunks.window_bytes:
                fill = None  # that run is far behind us: fetch from here on our own
            if fill is None:
                present = obj.present(index, self.last)
                if index in present:
                    with contextlib.suppress(ChunkMissing):  # evicted since: fetch it again
                        async for data in obj.read(
                            self.pos, min(self.end, obj.chunk_span(index)[1])
                        ):
                            self.pos += len(data)
                            yield data
                        continue
                    present = set()
                fill = self.start(index, present)
            before = self.pos
            self.hold(fill)
            try:
                async for data in fill.stream(self.pos, min(self.end, fill.end)):
                    self.pos += len(data)
                    yield data
            except RunStopped:
                continue  # the next chunk is stored or claimed by another run
            except OriginError as exc:
                stalls = 0 if self.pos > before else stalls + 1
                if isinstance(exc, OriginChanged) or stalls >= MAX_STALLS:
                    raise
                log.info(
                    "chunk run of %s failed at %d, fetching again: %s", obj.entry.key, self.pos, exc
                )
