"""The seam every storage tier (memory, disk, later Redis) sits behind."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Protocol

from agentcache.entry import Entry


class StoredObject(Protocol):
    """A cached version found in a tier; `read` yields verified bytes of [start, end)."""

    entry: Entry
    tier: str

    def read(self, start: int, end: int) -> AsyncGenerator[bytes, None]: ...


async def read_body(stored: StoredObject) -> bytes:
    """The whole stored body, verified (for objects small enough to hold: playlists, promotions)."""
    return b"".join([part async for part in stored.read(0, stored.entry.info.size)])


class Tier(Protocol):
    name: str

    async def get(self, key: str) -> StoredObject | None: ...

    async def renew(self, key: str, entry: Entry) -> None:
        """Replace metadata only (after a 304): the body is never rewritten."""

    async def delete(self, key: str) -> int:
        """Remove the key's copy; the number removed (0 or 1)."""

    async def delete_prefix(self, prefix: str) -> int: ...

    def status(self) -> dict[str, object]: ...
