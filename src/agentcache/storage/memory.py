"""Byte-bounded LRU memory tier for hot small objects."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from agentcache.entry import Entry

Header = tuple[bytes, bytes]


@dataclass(slots=True)
class MemoryObject:
    entry: Entry
    body: bytes
    tier: str = "memory"
    # The server's cached response headers for a full 200, and the (age, result, tier) they
    # were built for; storage never reads them.
    headers: list[Header] | None = field(default=None, repr=False)
    headers_for: tuple[int, str, str] | None = field(default=None, repr=False)

    async def read(self, start: int, end: int) -> AsyncGenerator[bytes, None]:
        yield self.body[start:end]


class MemoryTier:
    name = "memory"

    def __init__(self, max_bytes: int, admit_max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.admit_max_bytes = admit_max_bytes
        self.used_bytes = 0
        self._items: OrderedDict[str, MemoryObject] = OrderedDict()

    def admits(self, size: int) -> bool:
        return size <= self.admit_max_bytes

    def lookup(self, key: str) -> MemoryObject | None:
        """Synchronous get for the hot path: no await between lookup and send."""
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    async def get(self, key: str) -> MemoryObject | None:
        return self.lookup(key)

    def put(self, entry: Entry, body: bytes) -> None:
        if not self.admits(len(body)):
            return
        self.discard(entry.key)
        self._items[entry.key] = MemoryObject(entry, body)
        self.used_bytes += len(body)
        while self.used_bytes > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self.used_bytes -= len(evicted.body)

    async def renew(self, key: str, entry: Entry) -> None:
        item = self._items.get(key)
        if item is not None:
            item.entry = entry
            item.headers = None

    def discard(self, key: str) -> int:
        item = self._items.pop(key, None)
        if item is None:
            return 0
        self.used_bytes -= len(item.body)
        return 1

    async def delete(self, key: str) -> int:
        return self.discard(key)

    async def delete_prefix(self, prefix: str) -> int:
        doomed = [k for k in self._items if k.startswith(prefix)]
        for key in doomed:
            self.discard(key)
        return len(doomed)

    def status(self) -> dict[str, object]:
        return {
            "ok": True,
            "entries": len(self._items),
            "used_bytes": self.used_bytes,
            "max_bytes": self.max_bytes,
        }
