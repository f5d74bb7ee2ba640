"""The seam every storage tier (memory, disk, later Redis) sits behind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from agentcache.entry import Entry


class StoredObject(Protocol):
    """A cached version found in a tier; `read` yields verified bytes of [start, end)."""

    entry: Entry
    tier: str

    def read(self, start: int, end: int) -> AsyncIterator[bytes]: ...


class Tier(Protocol):
    name: str

    async def get(self, key: str) -> StoredObject | None: ...

    async def renew(self, key: str, entry: Entry) -> None:
        """Replace metadata only (after a 304): the body is never rewritten."""

    async def delete(self, key: str) -> int:
        """Remove the key's copy; the number removed (0 or 1)."""

    async def delete_prefix(self, prefix: str) -> int: ...

    def status(self) -> dict[str, object]: ...
