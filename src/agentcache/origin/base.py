"""The seam every origin (file, S3, HTTP) sits behind, and the shapes it returns."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from agentcache.entry import ObjectInfo
from agentcache.policy.ranges import ByteRange

READ_CHUNK_BYTES = 1024 * 1024


async def _nothing() -> None:
    return None


@dataclass(slots=True)
class OriginResponse:
    """A body being streamed from the origin; `close` must be awaited whatever happens."""

    info: ObjectInfo
    chunks: AsyncIterator[bytes]
    byte_range: ByteRange | None = None
    close: Callable[[], Awaitable[None]] = _nothing


@dataclass(frozen=True, slots=True)
class NotModified:
    """The origin answered 304 to a conditional GET: the cached version is still current."""

    info: ObjectInfo | None = None


class Origin(Protocol):
    """Where objects really live. Implementations translate their errors to OriginError."""

    kind: str

    async def head(self, key: str) -> ObjectInfo: ...

    async def get(
        self,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> OriginResponse | NotModified:
        """`if_match` pins a ranged read to one version: OriginPreconditionFailed if changed."""

    async def put(
        self, key: str, body: AsyncIterator[bytes], *, size: int | None, content_type: str
    ) -> ObjectInfo: ...

    async def delete(self, key: str) -> None: ...

    async def list(self, prefix: str, limit: int) -> list[str]:
        """Up to `limit` keys under `prefix`, in key order (OriginRejected if it cannot list)."""
        ...

    async def check(self) -> None:
        """Raise OriginError when the origin cannot be reached (for /api/health)."""

    async def aclose(self) -> None: ...
