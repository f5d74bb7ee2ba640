"""Origins that wrap another: a key prefix (namespaces sharing the default origin) and retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from agentcache.entry import ObjectInfo
from agentcache.origin.base import NotModified, Origin, OriginResponse
from agentcache.origin.retry import Backoff, Sleep, retry
from agentcache.policy.ranges import ByteRange

T = TypeVar("T")


class Prefixed:
    """Puts every key of a namespace under `prefix` in a shared origin."""

    def __init__(self, inner: Origin, prefix: str, *, owns_inner: bool = False) -> None:
        self.inner = inner
        self.prefix = prefix
        self.kind = inner.kind
        self.owns_inner = owns_inner

    async def head(self, key: str) -> ObjectInfo:
        return await self.inner.head(self.prefix + key)

    async def get(
        self,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> OriginResponse | NotModified:
        return await self.inner.get(
            self.prefix + key,
            byte_range=byte_range,
            if_none_match=if_none_match,
            if_match=if_match,
        )

    async def put(
        self, key: str, body: AsyncIterator[bytes], *, size: int | None, content_type: str
    ) -> ObjectInfo:
        return await self.inner.put(self.prefix + key, body, size=size, content_type=content_type)

    async def delete(self, key: str) -> None:
        await self.inner.delete(self.prefix + key)

    async def list(self, prefix: str, limit: int) -> list[str]:
        keys = await self.inner.list(self.prefix + prefix, limit)
        return [key[len(self.prefix) :] for key in keys]

    async def check(self) -> None:
        await self.inner.check()

    async def aclose(self) -> None:
        if self.owns_inner:  # a shared default origin is closed by its owner instead
            await self.inner.aclose()


class Retrying:
    """Retries the idempotent calls (HEAD, GET before its first byte, DELETE) with backoff.

    PUT is not retried: its body is a stream that cannot be replayed.
    """

    def __init__(self, inner: Origin, backoff: Backoff, sleep: Sleep = asyncio.sleep) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.backoff = backoff
        self.sleep = sleep

    async def _retry(self, op: Callable[[], Awaitable[T]]) -> T:
        return await retry(op, self.backoff, sleep=self.sleep)

    async def head(self, key: str) -> ObjectInfo:
        return await self._retry(lambda: self.inner.head(key))

    async def get(
        self,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> OriginResponse | NotModified:
        return await self._retry(
            lambda: self.inner.get(
                key, byte_range=byte_range, if_none_match=if_none_match, if_match=if_match
            )
        )

    async def put(
        self, key: str, body: AsyncIterator[bytes], *, size: int | None, content_type: str
    ) -> ObjectInfo:
        return await self.inner.put(key, body, size=size, content_type=content_type)

    async def delete(self, key: str) -> None:
        await self._retry(lambda: self.inner.delete(key))

    async def list(self, prefix: str, limit: int) -> list[str]:
        return await self._retry(lambda: self.inner.list(prefix, limit))

    async def check(self) -> None:
        await self.inner.check()

    async def aclose(self) -> None:
        await self.inner.aclose()
