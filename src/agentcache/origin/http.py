"""`http(s)://` origin: a base URL; the key is appended to its path."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import httpx

from agentcache.entry import DEFAULT_CONTENT_TYPE, ObjectInfo
from agentcache.errors import (
    OriginNotFound,
    OriginPreconditionFailed,
    OriginRejected,
    OriginTimeout,
    OriginUnavailable,
)
from agentcache.origin.base import NotModified, OriginResponse
from agentcache.policy.conditional import parse_http_date
from agentcache.policy.numbers import is_decimal
from agentcache.policy.ranges import ByteRange


@contextlib.contextmanager
def translated_errors(url: str) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as exc:
        raise OriginTimeout(f"origin timed out on {url}: {exc!r}") from exc
    except httpx.HTTPError as exc:
        raise OriginUnavailable(f"origin unreachable for {url}: {exc!r}") from exc
    except httpx.InvalidURL as exc:
        raise OriginRejected(f"origin URL {url} is not valid: {exc}") from exc


def raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    where = str(response.request.url)
    if status in (404, 410):
        raise OriginNotFound(f"origin has no {where}")
    if status == 412:
        raise OriginPreconditionFailed(f"origin precondition failed for {where}")
    if status >= 500:
        raise OriginUnavailable(f"origin answered {status} for {where}")
    raise OriginRejected(f"origin answered {status} for {where}")


def _date(headers: httpx.Headers, name: str) -> float | None:
    value = headers.get(name)
    return parse_http_date(value) if value else None


def _info(headers: httpx.Headers, size: int) -> ObjectInfo:
    age = headers.get("age", "")
    return ObjectInfo(
        size=size,
        etag=headers.get("etag"),
        last_modified=_date(headers, "last-modified"),
        content_type=headers.get("content-type") or DEFAULT_CONTENT_TYPE,
        cache_control=headers.get("cache-control"),
        # §5.3: an invalid Expires (such as "0") means already expired.
        expires=_date(headers, "expires") or (0.0 if "expires" in headers else None),
        date=_date(headers, "date"),
        age_seconds=int(age) if is_decimal(age) else 0,
        vary=headers.get("vary"),
    )


def _total_size(response: httpx.Response) -> int:
    content_range = response.headers.get("content-range", "")
    if response.status_code == 206 and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        if is_decimal(total):
            return int(total)
    length = response.headers.get("content-length")
    if length is None or not is_decimal(length):
        raise OriginRejected(f"origin sent no usable Content-Length for {response.request.url}")
    return int(length)


class HttpOrigin:
    kind = "http"

    def __init__(
        self, base_url: str, *, connect_timeout_seconds: float, read_timeout_seconds: float
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        timeout = httpx.Timeout(read_timeout_seconds, connect=connect_timeout_seconds)
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        self._client = httpx.AsyncClient(timeout=timeout, limits=limits)

    def _url(self, key: str) -> str:
        return self.base_url + quote(key, safe="/~!$&'()*+,;=:@")

    async def head(self, key: str) -> ObjectInfo:
        url = self._url(key)
        with translated_errors(url):
            response = await self._client.head(url, headers={"accept-encoding": "identity"})
        raise_for_status(response)
        return _info(response.headers, _total_size(response))

    async def get(
        self,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> OriginResponse | NotModified:
        url = self._url(key)
        headers = {"accept-encoding": "identity"}
        if byte_range is not None:
            headers["range"] = f"bytes={byte_range.start}-{byte_range.end - 1}"
        if if_none_match is not None:
            headers["if-none-match"] = if_none_match
        if if_match is not None:
            headers["if-match"] = if_match
        request = self._client.build_request("GET", url, headers=headers)
        with translated_errors(url):
            response = await self._client.send(request, stream=True)
        if response.status_code == 304:
            await response.aclose()
            return NotModified(_info(response.headers, 0))
        try:
            raise_for_status(response)
            info = _info(response.headers, _total_size(response))
        except BaseException:
            await response.aclose()
            raise
        served = byte_range if response.status_code == 206 else None
        return OriginResponse(info, _chunks(response, url), served, response.aclose)

    async def put(
        self, key: str, body: AsyncIterator[bytes], *, size: int | None, content_type: str
    ) -> ObjectInfo:
        url = self._url(key)
        headers = {"content-type": content_type}
        if size is not None:
            headers["content-length"] = str(size)
        with translated_errors(url):
            response = await self._client.put(url, content=body, headers=headers)
        raise_for_status(response)
        return _info(response.headers, size or 0)

    async def delete(self, key: str) -> None:
        url = self._url(key)
        with translated_errors(url):
            response = await self._client.delete(url)
        if response.status_code not in (404, 410):
            raise_for_status(response)

    async def list(self, prefix: str, limit: int) -> list[str]:
        raise OriginRejected("an HTTP origin cannot list its keys; name them instead")

    async def check(self) -> None:
        with translated_errors(self.base_url):
            response = await self._client.head(self.base_url)
        if response.status_code >= 500:
            raise OriginUnavailable(f"origin answered {response.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()


async def _chunks(response: httpx.Response, url: str) -> AsyncIterator[bytes]:
    # No chunk size: httpx would hold bytes back until a whole chunk had arrived, and the
    # first byte must reach waiting clients as soon as the origin sends it.
    with translated_errors(url):
        async for chunk in response.aiter_raw():
            yield chunk
