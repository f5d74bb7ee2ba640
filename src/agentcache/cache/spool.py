"""Bytes landing in a file at a moving frontier, and readers that follow it.

A writer (a fill) appends at `written`; any number of readers stream [start, end) with
positioned reads, each byte leaving as soon as it is on disk. The file stays open while the
writer runs or any reader holds it (`acquire`/`release`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

from agentcache.errors import OriginUnavailable

READ_PIECE_BYTES = 1024 * 1024


class Spool:
    def __init__(self, key: str, fd: int, start: int) -> None:
        self.key = key
        self.fd = fd
        self.written = start  # the frontier: every byte before it (from `start`) is written
        self.done = False
        self.error: BaseException | None = None
        self.reader_pos = start  # the furthest any reader has got: writers may pace themselves
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._readers = 0
        self._had_readers = False
        self._finished = False
        self.finished = asyncio.Event()  # the writer has stopped, done or not

    def _notify(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    def _fail(self, exc: BaseException, waiting: asyncio.Future[Any]) -> None:
        """Hand a failure to the readers, and to whoever waits on `waiting` if it is pending."""
        self.error = exc
        if not waiting.done():
            waiting.set_exception(exc)

    def _finish(self) -> None:
        self._finished = True
        self.finished.set()
        self._notify()
        self._maybe_close()

    def acquire(self) -> None:
        """Called when a request takes this spool, so its file stays open until `release`."""
        self._readers += 1
        self._had_readers = True

    def release(self) -> None:
        self._readers -= 1
        self._reader_moved()
        self._maybe_close()

    def _maybe_close(self) -> None:
        if self._finished and self._readers == 0 and self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
            self._closed()

    def _closed(self) -> None:
        """What to do once the file is closed for good (a temp spool removes itself)."""

    def _reader_moved(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()

    async def stream(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes [start, end), each sent as soon as it has been written."""
        pos = start
        if start > self.reader_pos:  # a writer pacing itself must come at least this far
            self.reader_pos = start
            self._reader_moved()
        while pos < end:
            while self.written <= pos and self.error is None and not self.done:
                await self._wake.wait()
            if self.written <= pos:
                raise self.error or OriginUnavailable(f"fill of {self.key!r} ended early")
            data = os.pread(self.fd, min(self.written, end, pos + READ_PIECE_BYTES) - pos, pos)
            pos += len(data)
            if pos > self.reader_pos:
                self.reader_pos = pos
                self._reader_moved()
            yield data


def mark_seen(future: asyncio.Future[Any]) -> None:
    """A done-callback for futures nobody may await: their failure is not "never retrieved"."""
    if not future.cancelled():
        future.exception()
