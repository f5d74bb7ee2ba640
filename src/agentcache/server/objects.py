"""`/o/{namespace}/{key}`: the object path, plain ASGI with no framework on the way to a hit."""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from urllib.parse import parse_qs

from agentcache.cache.chunks import Chunked
from agentcache.cache.edge import Bypass, Edge, Hit
from agentcache.entry import DEFAULT_CONTENT_TYPE, Entry
from agentcache.errors import (
    CorruptEntry,
    OriginChanged,
    OriginError,
    RequestError,
    StorageError,
)
from agentcache.namespace import Namespace
from agentcache.policy.keys import validate_key
from agentcache.policy.numbers import is_decimal
from agentcache.policy.signing import EXPIRES_PARAM, SIGNATURE_PARAM, verify
from agentcache.server.http import (
    Header,
    Receive,
    Scope,
    Send,
    presented_key,
    request_headers,
    send_error,
    send_json,
)
from agentcache.server.plan import PLAN_HEADERS, Plan, entry_headers, plan_read, response_headers
from agentcache.storage.base import StoredObject
from agentcache.storage.bodies import ChunkMissing
from agentcache.storage.memory import MemoryObject

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024**4  # S3's object size limit
_BodyFactory = Callable[[int, int], AsyncIterator[bytes]]
# Granian queues body messages per response; smaller messages keep a slow reader's backlog small.
SEND_PIECE_BYTES = 256 * 1024


class ObjectHandler:
    def __init__(self, edge: Edge) -> None:
        self.edge = edge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        hot = self._plain_memory_hit(scope) if scope["method"] == "GET" else None
        if hot is not None:
            ns, obj, response = hot
            await send({"type": "http.response.start", "status": 200, "headers": response})
            await send({"type": "http.response.body", "body": obj.body, "more_body": False})
            self.edge.metrics.record_read(
                ns.name,
                obj.entry.content_class,
                "HIT",
                "memory",
                len(obj.body),
                time.perf_counter() - started,
            )
            if obj.entry.content_class == "video":
                self._prefetch(ns, obj.entry)
            return
        try:
            ns, key, headers = self._route(scope)
            method = scope["method"]
            if method == "GET" or method == "HEAD":
                await self._read(ns, key, headers, method == "HEAD", send, started)
            elif method == "PUT":
                await self._put(ns, validate_key(key), headers, receive, send)
            elif method == "DELETE":
                await self.edge.delete(ns, validate_key(key))
                self.edge.metrics.writes.labels(ns.name, "DELETE").inc()
                await send({"type": "http.response.start", "status": 204, "headers": []})
                await send({"type": "http.response.body", "body": b""})
            else:
                await send_error(
                    send,
                    405,
                    "method_not_allowed",
                    f"{method} is not supported",
                    [(b"allow", b"GET, HEAD, PUT, DELETE")],
                )
        except RequestError as exc:
            await send_error(send, exc.status, exc.code, exc.message, list(exc.headers))
        except OriginError as exc:
            log.info("origin error: %s", exc)
            await send_error(send, exc.status, exc.code, str(exc))
        except StorageError as exc:
            log.error("cache storage error: %s", exc)
            await send_error(send, 502, "cache_error", "the cache could not serve this object")
        except Exception:
            # A bug, not bad input: log it, and answer JSON if no response has started yet.
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            with contextlib.suppress(Exception):
                await send_error(send, 500, "internal_error", "internal error; see the edge log")

    def _plain_memory_hit(
        self, scope: Scope
    ) -> tuple[Namespace, MemoryObject, list[Header]] | None:
        """The most common request, answered with the fewest steps (measured: a third of a
        10 KB hit's time went to the general path): a fresh memory entry, the exact
        `Authorization: Bearer <key>` or `X-API-Key`, no range, no precondition. Anything else
        returns None and takes the general path, which is the reference behaviour."""
        name, _, key = scope["path"][3:].partition("/")
        ns = self.edge.namespaces.get(name)
        if ns is None or ns.limited or scope["query_string"]:
            return None
        obj = self.edge.memory.lookup(name + "/" + key)
        if obj is None:
            return None
        bearer = api_key = b""  # the exact common forms; anything else takes the general path
        for header, value in scope["headers"]:
            if header == b"authorization":
                bearer = value[7:] if value[:7] == b"Bearer " else b""
            elif header == b"x-api-key":
                api_key = value
            elif header in PLAN_HEADERS:
                return None
        presented = bearer or api_key  # the precedence of server.http.presented_key
        now = self.edge.clock()
        entry = obj.entry
        if now >= entry.stored_at + entry.ttl_seconds or not ns.accepts(presented, now):
            return None
        return ns, obj, _full_headers(obj, entry.age_seconds(now), "HIT", "memory")

    def _route(self, scope: Scope) -> tuple[Namespace, str, dict[str, str]]:
        name, _, key = scope["path"][3:].partition("/")
        ns = self.edge.namespaces.get(name)
        if ns is None:
            raise RequestError(404, "unknown_namespace", f"no namespace {name[:80]!r}")
        headers = request_headers(scope)
        now = self.edge.clock()
        query = scope.get("query_string", b"")
        if SIGNATURE_PARAM.encode() in query:
            params = parse_qs(query.decode("latin-1"))
            verify(
                ns.signing_secret,
                scope["method"],
                name,
                key,
                params.get(EXPIRES_PARAM, [""])[0],
                params.get(SIGNATURE_PARAM, [""])[0],
                now,
            )
        elif not ns.accepts(
            presented_key(headers.get("authorization"), headers.get("x-api-key")), now
        ):
            raise RequestError(401, "unauthorized", "missing or wrong API key for this namespace")
        wait = ns.throttle_seconds(now)
        if wait > 0:
            raise RateLimited(wait)
        return ns, key, headers

    # -- reads -----------------------------------------------------------------------------

    async def _read(
        self,
        ns: Namespace,
        key: str,
        headers: dict[str, str],
        head: bool,
        send: Send,
        started: float,
    ) -> None:
        validate_key(key)
        if head:
            await self._head(ns, key, headers, send, started)
            return
        # A corrupt stored body, or a chunked copy whose object changed at the origin, is
        # dropped and the read retried as a miss.
        for _ in range(2):
            found = await self.edge.read(ns, key, ranged="range" in headers)
            if isinstance(found, Chunked):
                if await self._send_chunked(ns, found, headers, send, started):
                    return  # else that copy has been dropped: read again
            elif isinstance(found, Hit):
                if await self._send_stored(ns, found.obj, found.result, headers, send, started):
                    return
                await self.edge.invalidate(ns, key)
            elif isinstance(found, Bypass):
                response = found.response
                try:
                    await self._send_stream(
                        ns,
                        found.entry,
                        "BYPASS",
                        "origin",
                        headers,
                        send,
                        started,
                        functools.partial(_slice, response.chunks),
                    )
                finally:
                    await response.close()
                return
            else:
                fill = found.fill
                try:
                    await self._send_stream(
                        ns, found.entry, "MISS", "origin", headers, send, started, fill.stream
                    )
                finally:
                    fill.release()
                return
        raise CorruptEntry(f"{ns.name}/{key} was corrupt twice in a row")

    async def _head(
        self, ns: Namespace, key: str, headers: dict[str, str], send: Send, started: float
    ) -> None:
        entry, result, tier = await self.edge.describe(ns, key)
        plan = plan_read(entry, headers)
        await self._start(send, ns, entry, plan, result, tier)
        await send({"type": "http.response.body", "body": b""})
        self._record(ns, entry, result, tier, 0, started)

    async def _send_memory(
        self,
        ns: Namespace,
        hot: MemoryObject,
        result: str,
        tier: str,
        headers: dict[str, str],
        send: Send,
        started: float,
    ) -> None:
        entry = hot.entry
        plan = plan_read(entry, headers)
        age = entry.age_seconds(self.edge.clock())
        if plan.full:
            response = _full_headers(hot, age, result, tier)
        else:
            response = response_headers(
                entry_headers(entry), plan, entry.info.size, age, result, tier
            )
        await send({"type": "http.response.start", "status": plan.status, "headers": response})
        body = b"" if plan.status == 304 else hot.body[plan.start : plan.end]
        await send({"type": "http.response.body", "body": body, "more_body": False})
        self._record(ns, entry, result, tier, len(body), started)

    async def _send_stored(
        self,
        ns: Namespace,
        obj: StoredObject,
        result: str,
        headers: dict[str, str],
        send: Send,
        started: float,
    ) -> bool:
        """Serve a tier's copy; False when its first block is corrupt and nothing was sent."""
        if isinstance(obj, MemoryObject):
            await self._send_memory(ns, obj, result, obj.tier, headers, send, started)
            return True
        plan = plan_read(obj.entry, headers)
        pieces = obj.read(plan.start, plan.end)
        return await self._send_checked(
            ns, obj.entry, result, obj.tier, headers, send, started, plan, pieces
        )

    async def _send_chunked(
        self, ns: Namespace, found: Chunked, headers: dict[str, str], send: Send, started: float
    ) -> bool:
        """Serve a range of a chunked copy, fetching its missing chunks; False when nothing
        was sent because the copy is corrupt or the object changed at the origin."""
        obj = found.obj
        plan = plan_read(obj.entry, headers)
        result, tier = found.result, "disk"
        first_chunk, last_chunk = plan.start // obj.chunk_bytes, (plan.end - 1) // obj.chunk_bytes
        if plan.status != 304 and len(obj.present(first_chunk, last_chunk)) <= (
            last_chunk - first_chunk
        ):
            result, tier = ("MISS" if result == "HIT" else result), "origin"
        pieces = self.edge.chunks.stream(ns, obj, plan.start, plan.end)
        return await self._send_checked(
            ns, obj.entry, result, tier, headers, send, started, plan, pieces
        )

    async def _send_checked(
        self,
        ns: Namespace,
        entry: Entry,
        result: str,
        tier: str,
        headers: dict[str, str],
        send: Send,
        started: float,
        plan: Plan,
        pieces: AsyncGenerator[bytes, None],
    ) -> bool:
        """Send a stored copy's bytes. The first piece decides, before any header leaves,
        whether the copy can serve: False (nothing sent) when it is corrupt, gone, or of an
        object that changed at the origin."""
        try:
            try:
                first = await anext(pieces, b"") if plan.status != 304 else b""
            except (CorruptEntry, OriginChanged, ChunkMissing) as exc:
                log.warning("cached copy unusable, reading again: %s", exc)
                return False
            await self._send_stream(
                ns,
                entry,
                result,
                tier,
                headers,
                send,
                started,
                lambda _start, _end: _prepend(first, pieces),
                plan,
            )
            return True
        finally:
            await pieces.aclose()

    async def _send_stream(
        self,
        ns: Namespace,
        entry: Entry,
        result: str,
        tier: str,
        headers: dict[str, str],
        send: Send,
        started: float,
        body: _BodyFactory,
        plan: Plan | None = None,
    ) -> None:
        plan = plan or plan_read(entry, headers)
        await self._start(send, ns, entry, plan, result, tier)
        sent = 0
        if plan.status != 304:
            try:
                async for piece in body(plan.start, plan.end):
                    for at in range(0, len(piece), SEND_PIECE_BYTES):
                        chunk = piece[at : at + SEND_PIECE_BYTES]
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    sent += len(piece)
            except (StorageError, OriginError) as exc:
                # Headers are gone: end the response short so the client sees a truncated body
                # (Content-Length promises more) instead of wrong bytes.
                log.error("aborting response for %s after %d bytes: %s", entry.key, sent, exc)
                if isinstance(exc, CorruptEntry):
                    await self.edge.drop(entry.key)
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        self._record(ns, entry, result, tier, sent, started)

    async def _start(
        self, send: Send, ns: Namespace, entry: Entry, plan: Plan, result: str, tier: str
    ) -> None:
        base = entry_headers(entry)
        headers = response_headers(
            base, plan, entry.info.size, entry.age_seconds(self.edge.clock()), result, tier
        )
        await send({"type": "http.response.start", "status": plan.status, "headers": headers})

    def _record(
        self, ns: Namespace, entry: Entry, result: str, tier: str, sent: int, started: float
    ) -> None:
        ns.charge_bytes(self.edge.clock(), sent)
        self.edge.metrics.record_read(
            ns.name, entry.content_class, result, tier, sent, time.perf_counter() - started
        )
        if entry.content_class == "video":
            self._prefetch(ns, entry)

    def _prefetch(self, ns: Namespace, entry: Entry) -> None:
        """A player read a playlist or a segment: fetch what it will ask for next."""
        self.edge.prefetcher.on_read(ns, entry.key.split("/", 1)[1], entry.info.content_type)

    # -- writes ----------------------------------------------------------------------------

    async def _put(
        self, ns: Namespace, key: str, headers: dict[str, str], receive: Receive, send: Send
    ) -> None:
        declared = _content_length(headers)
        content_type = headers.get("content-type") or DEFAULT_CONTENT_TYPE
        info = await self.edge.put(
            ns, key, _request_body(receive, declared), size=declared, content_type=content_type
        )
        self.edge.metrics.writes.labels(ns.name, "PUT").inc()
        extra: list[Header] = [(b"etag", info.etag.encode())] if info.etag else []
        await send_json(
            send,
            200,
            {"namespace": ns.name, "key": key, "etag": info.etag, "size": info.size},
            extra,
        )


class RateLimited(RequestError):
    def __init__(self, retry_after_seconds: float) -> None:
        super().__init__(
            429,
            "rate_limited",
            "this namespace is over its request or bandwidth limit; retry later",
            [(b"retry-after", str(math.ceil(retry_after_seconds)).encode())],
        )
        self.retry_after_seconds = retry_after_seconds


def _content_length(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    if not is_decimal(value):
        raise RequestError(400, "bad_content_length", "Content-Length is not a number")
    if int(value) > MAX_UPLOAD_BYTES:
        raise RequestError(413, "too_large", f"uploads are limited to {MAX_UPLOAD_BYTES} bytes")
    return int(value)


async def _request_body(receive: Receive, declared: int | None) -> AsyncIterator[bytes]:
    """The request body as a stream; a short or overlong body raises before the write lands."""
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestError(400, "truncated_upload", "client went away mid-upload")
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > (declared if declared is not None else MAX_UPLOAD_BYTES):
            raise RequestError(413, "too_large", "request body longer than declared")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            break
    if declared is not None and received != declared:
        raise RequestError(400, "truncated_upload", f"got {received} of {declared} bytes")


def _full_headers(obj: MemoryObject, age: int, result: str, tier: str) -> list[Header]:
    """A plain 200's headers for a memory entry, built once per second of age and reused."""
    if obj.headers is None or obj.headers_for != (age, result, tier):
        plan = Plan(200, 0, obj.entry.info.size, full=True)
        base = entry_headers(obj.entry)
        obj.headers = response_headers(base, plan, obj.entry.info.size, age, result, tier)
        obj.headers_for = (age, result, tier)
    return obj.headers


async def _slice(chunks: AsyncIterator[bytes], start: int, end: int) -> AsyncIterator[bytes]:
    """Bytes [start, end) of a stream that begins at offset 0 (a pass-through Range)."""
    pos = 0
    async for chunk in chunks:
        lo, hi = max(start - pos, 0), min(end - pos, len(chunk))
        pos += len(chunk)
        if lo < hi:
            yield chunk[lo:hi]
        if pos >= end:
            return


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for piece in rest:
        yield piece
