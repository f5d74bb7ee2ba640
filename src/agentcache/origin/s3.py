"""`s3://bucket/prefix` origin on aiobotocore, which exposes the whole S3 API, multipart too."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import aiohttp
import botocore.exceptions
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from agentcache.entry import DEFAULT_CONTENT_TYPE, ObjectInfo
from agentcache.errors import (
    OriginNotFound,
    OriginPreconditionFailed,
    OriginRejected,
    OriginTimeout,
    OriginUnavailable,
)
from agentcache.origin.base import READ_CHUNK_BYTES, NotModified, OriginResponse
from agentcache.policy.conditional import parse_http_date
from agentcache.policy.ranges import ByteRange

if TYPE_CHECKING:
    from aiobotocore.response import StreamingBody
    from types_aiobotocore_s3 import S3Client

MULTIPART_PART_BYTES = 8 * 1024 * 1024


class _NotModifiedSignal(Exception):
    pass


@contextlib.contextmanager
def translated_errors(key: str) -> Iterator[None]:
    """Turn botocore/aiohttp failures into the project's OriginError tree."""
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        raise _translate_client_error(key, exc) from exc
    except (
        TimeoutError,
        botocore.exceptions.ConnectTimeoutError,
        botocore.exceptions.ReadTimeoutError,
    ) as exc:
        raise OriginTimeout(f"S3 timed out on {key!r}: {exc}") from exc
    except (botocore.exceptions.BotoCoreError, aiohttp.ClientError, OSError) as exc:
        raise OriginUnavailable(f"S3 unreachable for {key!r}: {exc}") from exc


def _translate_client_error(key: str, exc: botocore.exceptions.ClientError) -> Exception:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in ("304", "NotModified") or status == 304:
        return _NotModifiedSignal()
    if code in ("NoSuchKey", "NoSuchBucket", "404", "NotFound") or status == 404:
        return OriginNotFound(f"S3 has no object {key!r}")
    if code in ("PreconditionFailed", "412") or status == 412:
        return OriginPreconditionFailed(f"S3 precondition failed for {key!r}")
    if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
        return OriginUnavailable(f"S3 error {code} on {key!r}")
    return OriginRejected(f"S3 refused {key!r}: {code} {error.get('Message', '')}".strip())


def _timestamp(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    return parse_http_date(value) if isinstance(value, str) else None


def _info(response: dict[str, Any], size: int) -> ObjectInfo:
    return ObjectInfo(
        size=size,
        etag=response.get("ETag"),
        last_modified=_timestamp(response.get("LastModified")),
        content_type=response.get("ContentType") or DEFAULT_CONTENT_TYPE,
        cache_control=response.get("CacheControl"),
        expires=_timestamp(response.get("Expires")),
        date=_timestamp(response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")),
    )


def _total_size(response: dict[str, Any]) -> int:
    content_range = response.get("ContentRange")
    if content_range and "/" in content_range:
        return int(content_range.rsplit("/", 1)[1])
    return int(response["ContentLength"])


class S3Origin:
    kind = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        connect_timeout_seconds: float,
        read_timeout_seconds: float,
    ) -> None:
        self.bucket = bucket
        self._client_args: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
            # Retries are ours (origin.retry), so botocore must not retry underneath them.
            "config": AioConfig(
                connect_timeout=connect_timeout_seconds,
                read_timeout=read_timeout_seconds,
                retries={"max_attempts": 1, "mode": "standard"},
                max_pool_connections=64,
            ),
        }
        self._stack = contextlib.AsyncExitStack()
        self._client: S3Client | None = None
        self._lock = asyncio.Lock()

    async def _s3(self) -> S3Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    creator = get_session().create_client("s3", **self._client_args)
                    self._client = await self._stack.enter_async_context(creator)
        return self._client

    async def head(self, key: str) -> ObjectInfo:
        s3 = await self._s3()
        with translated_errors(key):
            response = await s3.head_object(Bucket=self.bucket, Key=key)
        return _info(dict(response), int(response["ContentLength"]))

    async def get(
        self,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> OriginResponse | NotModified:
        s3 = await self._s3()
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if byte_range is not None:
            args["Range"] = f"bytes={byte_range.start}-{byte_range.end - 1}"
        if if_none_match is not None:
            args["IfNoneMatch"] = if_none_match
        if if_match is not None:
            args["IfMatch"] = if_match
        try:
            with translated_errors(key):
                response = dict(await s3.get_object(**args))
        except _NotModifiedSignal:
            return NotModified()
        body = cast("StreamingBody", response["Body"])

        async def chunks() -> AsyncIterator[bytes]:
            with translated_errors(key):
                while chunk := await body.read(READ_CHUNK_BYTES):
                    yield chunk

        async def close() -> None:
            body.close()

        served = byte_range if response.get("ContentRange") else None
        return OriginResponse(_info(response, _total_size(response)), chunks(), served, close)

    async def list(self, prefix: str, limit: int) -> list[str]:
        s3 = await self._s3()
        keys: list[str] = []
        paginator = s3.get_paginator("list_objects_v2")
        with translated_errors(prefix):
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                keys += [item["Key"] for item in page.get("Contents", [])]
                if len(keys) >= limit:
                    break
        return keys[:limit]

    async def put(
        self, key: str, body: AsyncIterator[bytes], *, size: int | None, content_type: str
    ) -> ObjectInfo:
        parts = rechunk(body, MULTIPART_PART_BYTES)
        first = await anext(parts, b"")
        if len(first) < MULTIPART_PART_BYTES:
            return await self._put_single(key, first, content_type)
        return await self._put_multipart(key, first, parts, content_type)

    async def _put_single(self, key: str, data: bytes, content_type: str) -> ObjectInfo:
        s3 = await self._s3()
        with translated_errors(key):
            response = await s3.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
            )
        return ObjectInfo(len(data), response.get("ETag"), None, content_type)

    async def _put_multipart(
        self, key: str, first: bytes, rest: AsyncIterator[bytes], content_type: str
    ) -> ObjectInfo:
        """Stream a body of any length as parts: memory holds one part, never the object."""
        s3 = await self._s3()
        with translated_errors(key):
            created = await s3.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type
            )
        upload_id = created["UploadId"]
        parts: list[dict[str, Any]] = []
        size = 0
        try:
            part: bytes | None = first
            while part:
                with translated_errors(key):
                    done = await s3.upload_part(
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=len(parts) + 1,
                        Body=part,
                    )
                parts.append({"PartNumber": len(parts) + 1, "ETag": done["ETag"]})
                size += len(part)
                part = await anext(rest, None)
            with translated_errors(key):
                completed = await s3.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
                )
        except BaseException:
            # A truncated or failed upload must leave nothing behind in the origin.
            with contextlib.suppress(Exception):
                await s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        return ObjectInfo(size, completed.get("ETag"), None, content_type)

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        with translated_errors(key):
            await s3.delete_object(Bucket=self.bucket, Key=key)

    async def check(self) -> None:
        s3 = await self._s3()
        with translated_errors(self.bucket):
            await s3.head_bucket(Bucket=self.bucket)

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._client = None


async def rechunk(body: AsyncIterator[bytes], part_bytes: int) -> AsyncIterator[bytes]:
    """Regroup a stream into parts of exactly `part_bytes` (the last one may be shorter)."""
    buffer = bytearray()
    async for chunk in body:
        buffer += chunk
        while len(buffer) >= part_bytes:
            yield bytes(buffer[:part_bytes])
            del buffer[:part_bytes]
    if buffer:
        yield bytes(buffer)
