"""Stored bodies on disk, read back block by block with every block verified before it leaves.

A whole object is one file. A large object is one sparse file with its chunks at their own
offsets (as rclone's VFS cache keeps them), and the index says which chunks are present.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agentcache.entry import Entry
from agentcache.errors import CorruptEntry, StorageError
from agentcache.storage.checksum import block_digest, digests


class ChunkMissing(StorageError):
    """A chunk of a large object is not (or no longer) in the cache."""

    def __init__(self, index: int) -> None:
        super().__init__(f"chunk {index} is not cached")
        self.index = index


def verified_blocks(
    fd: int, base: int, length: int, checksums: bytes, block_bytes: int, start: int, end: int
) -> Iterator[bytes]:
    """Bytes [start, end) of the span [base, base + length) of a file whose blocks (counted
    from `base`) have the given checksums; raises CorruptEntry before yielding a bad block."""
    sums = digests(checksums)
    block = (start - base) // block_bytes
    while base + block * block_bytes < end:
        offset = base + block * block_bytes
        want = min(block_bytes, base + length - offset)
        data = os.pread(fd, want, offset)
        if len(data) != want or block >= len(sums) or block_digest(data) != sums[block]:
            raise CorruptEntry(f"block at {offset} failed its checksum")
        lo, hi = max(start - offset, 0), min(end - offset, want)
        yield data if (lo, hi) == (0, want) else data[lo:hi]
        block += 1


def _open(path: Path, key: str) -> int:
    try:
        return os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise CorruptEntry(f"body of {key!r} is missing") from None


@dataclass(slots=True)
class DiskObject:
    """A whole object in one file."""

    entry: Entry
    path: Path
    checksums: bytes
    block_bytes: int
    tier: str = "disk"

    async def read(self, start: int, end: int) -> AsyncGenerator[bytes, None]:
        fd = _open(self.path, self.entry.key)
        try:
            size = self.entry.info.size
            for data in verified_blocks(fd, 0, size, self.checksums, self.block_bytes, start, end):
                yield data
        except CorruptEntry as exc:
            raise CorruptEntry(f"{self.entry.key!r}: {exc}") from None
        finally:
            os.close(fd)


class ChunkIndex(Protocol):
    def chunk_checksums(self, version: str, index: int) -> bytes | None: ...

    def present_chunks(self, version: str, first: int, last: int) -> set[int]: ...


@dataclass(slots=True)
class ChunkedObject:
    """A large object kept as fixed-size chunks in one sparse file; `version` names this
    copy (the file), so chunks of an older copy can never be taken for this one's."""

    entry: Entry
    path: Path
    version: str
    chunk_bytes: int
    block_bytes: int
    index: ChunkIndex
    tier: str = "disk"

    @property
    def chunk_count(self) -> int:
        return -(-self.entry.info.size // self.chunk_bytes)

    def chunk_span(self, index: int) -> tuple[int, int]:
        start = index * self.chunk_bytes
        return start, min(start + self.chunk_bytes, self.entry.info.size)

    def present(self, first: int, last: int) -> set[int]:
        return self.index.present_chunks(self.version, first, last)

    async def read(self, start: int, end: int) -> AsyncGenerator[bytes, None]:
        """Bytes [start, end) from present chunks; ChunkMissing at the first absent one."""
        fd = _open(self.path, self.entry.key)
        try:
            pos = start
            while pos < end:
                index = pos // self.chunk_bytes
                checksums = self.index.chunk_checksums(self.version, index)
                if checksums is None:
                    raise ChunkMissing(index)
                base, stop = self.chunk_span(index)
                try:
                    for data in verified_blocks(
                        fd, base, stop - base, checksums, self.block_bytes, pos, min(end, stop)
                    ):
                        pos += len(data)
                        yield data
                except CorruptEntry as exc:
                    raise CorruptEntry(f"{self.entry.key!r} chunk {index}: {exc}") from None
        finally:
            os.close(fd)
