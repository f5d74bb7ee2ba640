"""Single-flight fills: one origin fetch that every concurrent reader streams from as it lands.

The fill runs in its own task and spools to a temp file; readers follow the write offset with
positioned reads, so a waiter's first byte leaves as soon as the origin's arrives, and a reader
that disconnects aborts nothing. Only a complete, length-checked body is committed to a tier.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from agentcache.entry import Entry, ObjectInfo
from agentcache.errors import OriginUnavailable, StorageError
from agentcache.namespace import Namespace
from agentcache.origin.base import NotModified, OriginResponse
from agentcache.storage.checksum import BlockHasher

READ_PIECE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Revalidated:
    """The origin said 304: the prior entry is current again (and has been renewed)."""

    entry: Entry


Fetch = Callable[[], Awaitable[OriginResponse | NotModified]]
MakeEntry = Callable[[ObjectInfo], Entry]
Complete = Callable[["Fill"], None]


class Fill:
    def __init__(
        self, key: str, spool: Path, fd: int, block_bytes: int, namespace: Namespace
    ) -> None:
        self.key = key
        self.namespace = namespace
        self.spool = spool
        self.fd = fd
        self.ready: asyncio.Future[Entry | Revalidated] = asyncio.get_running_loop().create_future()
        # A background refresh may have no reader to see its failure; mark it as seen.
        self.ready.add_done_callback(_mark_seen)
        self.entry: Entry | None = None
        self.hasher = BlockHasher(block_bytes)
        self.written = 0
        self.done = False
        self.error: BaseException | None = None
        self.keep = True  # an invalidation during the fill clears this: nothing is committed
        self._wake = asyncio.Event()
        self._readers = 0
        self._finished = False

    # -- the writer ------------------------------------------------------------------------

    async def run(
        self,
        fetch: Fetch,
        make_entry: MakeEntry,
        renew: Callable[[NotModified], Awaitable[Entry]],
        complete: Complete,
        on_bytes: Callable[[int], None],
    ) -> None:
        """Fetch, spool, check the length, hand over to `complete`; wake readers at every step."""
        try:
            response = await fetch()
            if isinstance(response, NotModified):
                self.ready.set_result(Revalidated(await renew(response)))
                return
            try:
                self.entry = make_entry(response.info)
                self.ready.set_result(self.entry)
                await self._spool(response, self.entry.info.size, on_bytes)
                # No await between the last byte landing and `complete`: a reader that has
                # finished can only be followed by requests that find the entry stored.
                complete(self)
            finally:
                await response.close()
        except BaseException as exc:  # every failure must reach the readers
            self.error = exc
            if not self.ready.done():
                self.ready.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._finished = True
            self._notify()
            self._maybe_close()

    async def _spool(
        self, response: OriginResponse, size: int, on_bytes: Callable[[int], None]
    ) -> None:
        """Write the body; stop at the declared size, so the commit does not wait for EOF."""
        if size == 0:
            self.done = True
            return
        async for chunk in response.chunks:
            if self.written + len(chunk) > size:
                raise OriginUnavailable(f"origin sent more than {size} bytes for {self.key!r}")
            try:
                os.pwrite(self.fd, chunk, self.written)
            except OSError as exc:  # a full or failing cache disk
                raise StorageError(f"cannot spool {self.key!r}: {exc}") from exc
            self.hasher.update(chunk)
            self.written += len(chunk)
            on_bytes(len(chunk))
            if self.written == size:
                self.done = True
                return
            self._notify()
        raise OriginUnavailable(f"origin sent {self.written} of {size} bytes for {self.key!r}")

    def _notify(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    # -- the readers -----------------------------------------------------------------------

    def acquire(self) -> None:
        """Called when a request takes this fill, so its file stays open until `release`."""
        self._readers += 1

    def release(self) -> None:
        self._readers -= 1
        self._maybe_close()

    def _maybe_close(self) -> None:
        if self._finished and self._readers == 0 and self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
            with contextlib.suppress(OSError):
                self.spool.unlink()

    async def stream(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes [start, end) of the object, each sent as soon as it has been written."""
        pos = start
        while pos < end:
            while self.written <= pos and self.error is None and not self.done:
                await self._wake.wait()
            if self.written <= pos:
                raise self.error or OriginUnavailable(f"fill of {self.key!r} ended early")
            data = os.pread(self.fd, min(self.written, end, pos + READ_PIECE_BYTES) - pos, pos)
            pos += len(data)
            yield data


def _mark_seen(future: asyncio.Future[Entry | Revalidated]) -> None:
    if not future.cancelled():
        future.exception()
