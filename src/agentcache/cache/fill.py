"""Single-flight fills: one origin fetch that every concurrent reader streams from as it lands.

The fill runs in its own task and spools to a temp file; readers follow the write offset with
positioned reads (see `spool`), so a waiter's first byte leaves as soon as the origin's arrives,
and a reader that disconnects aborts nothing. Only a complete, length-checked body is committed
to a tier. A body too large to keep whole is handed over to a chunk fill (`adopt`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from agentcache.cache.chunks import Chunked
from agentcache.cache.spool import Spool, mark_seen
from agentcache.entry import Entry, ObjectInfo
from agentcache.errors import OriginUnavailable, StorageError
from agentcache.namespace import Namespace
from agentcache.origin.base import NotModified, OriginResponse
from agentcache.storage.checksum import BlockHasher


@dataclass(frozen=True, slots=True)
class Revalidated:
    """The origin said 304: the prior entry is current again (and has been renewed)."""

    entry: Entry


Fetch = Callable[[], Awaitable[OriginResponse | NotModified]]
MakeEntry = Callable[[ObjectInfo], Entry]
Complete = Callable[["Fill"], None]
Adopt = Callable[[Entry, OriginResponse], Chunked | None]
Outcome = Entry | Revalidated | Chunked


class Fill(Spool):
    def __init__(
        self, key: str, spool: Path, fd: int, block_bytes: int, namespace: Namespace
    ) -> None:
        super().__init__(key, fd, 0)
        self.namespace = namespace
        self.spool = spool
        self.ready: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        # A background refresh may have no reader to see its failure; mark it as seen.
        self.ready.add_done_callback(mark_seen)
        self.entry: Entry | None = None
        self.hasher = BlockHasher(block_bytes)
        self.keep = True  # an invalidation during the fill clears this: nothing is committed

    # -- the writer ------------------------------------------------------------------------

    async def run(
        self,
        fetch: Fetch,
        make_entry: MakeEntry,
        renew: Callable[[NotModified], Awaitable[Entry]],
        complete: Complete,
        on_bytes: Callable[[int], None],
        adopt: Adopt,
    ) -> None:
        """Fetch, spool, check the length, hand over to `complete`; wake readers at every step."""
        try:
            response = await fetch()
            if isinstance(response, NotModified):
                self.ready.set_result(Revalidated(await renew(response)))
                return
            handed_over = False
            try:
                self.entry = make_entry(response.info)
                chunked = adopt(self.entry, response)
                if chunked is not None:  # the response now belongs to a chunk fill
                    handed_over = True
                    self.ready.set_result(chunked)
                    return
                self.ready.set_result(self.entry)
                await self._spool(response, self.entry.info.size, on_bytes)
                # No await between the last byte landing and `complete`: a reader that has
                # finished can only be followed by requests that find the entry stored.
                complete(self)
            finally:
                if not handed_over:
                    await response.close()
        except BaseException as exc:  # every failure must reach the readers
            self._fail(exc, self.ready)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._finish()

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

    def _closed(self) -> None:
        with contextlib.suppress(OSError):
            self.spool.unlink()
