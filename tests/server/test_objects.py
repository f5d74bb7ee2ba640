"""The object path's HTTP behaviour, run against every origin kind (file, S3, HTTP)."""

from __future__ import annotations

import os

import httpx
import pytest

from agentcache.server.app import EdgeApp
from tests.conftest import AUTH, NS, Clock
from tests.support.origins import OriginUnderTest

BODY = os.urandom(200_000)
URL = f"/o/{NS}/dir/object.bin"


def origin_requests(app: EdgeApp) -> float:
    return app.edge.metrics.origin_requests.labels(NS)._value.get()


async def test_miss_then_memory_hit(
    client: httpx.AsyncClient, origin: OriginUnderTest, edge_app: EdgeApp
) -> None:
    origin.seed("dir/object.bin", BODY)
    first = await client.get(URL, headers=AUTH)
    second = await client.get(URL, headers=AUTH)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.content == second.content == BODY
    assert (first.headers["x-cache"], first.headers["x-cache-tier"]) == ("MISS", "origin")
    assert (second.headers["x-cache"], second.headers["x-cache-tier"]) == ("HIT", "memory")
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["accept-ranges"] == "bytes"
    assert "max-age=" in second.headers["cache-control"]
    assert second.headers["age"] == "0"
    assert origin_requests(edge_app) == 1
    assert origin.count("dir/object.bin") in (None, 1)


async def test_age_grows_with_the_clock(
    client: httpx.AsyncClient, origin: OriginUnderTest, clock: Clock
) -> None:
    origin.seed("dir/object.bin", BODY)
    await client.get(URL, headers=AUTH)
    clock.advance(42)
    assert (await client.get(URL, headers=AUTH)).headers["age"] == "42"


async def test_disk_hit_after_memory_is_lost(
    client: httpx.AsyncClient, origin: OriginUnderTest, edge_app: EdgeApp
) -> None:
    origin.seed("dir/object.bin", BODY)
    await client.get(URL, headers=AUTH)
    await edge_app.edge.memory.delete(f"{NS}/dir/object.bin")
    again = await client.get(URL, headers=AUTH)
    assert (again.headers["x-cache"], again.headers["x-cache-tier"]) == ("HIT", "disk")
    assert again.content == BODY
    promoted = await client.get(URL, headers=AUTH)
    assert promoted.headers["x-cache-tier"] == "memory"
    assert origin_requests(edge_app) == 1


async def test_head_has_headers_and_no_body(
    client: httpx.AsyncClient, origin: OriginUnderTest
) -> None:
    origin.seed("dir/object.bin", BODY)
    cold = await client.head(URL, headers=AUTH)
    assert cold.status_code == 200
    assert cold.content == b""
    assert int(cold.headers["content-length"]) == len(BODY)
    await client.get(URL, headers=AUTH)
    warm = await client.head(URL, headers=AUTH)
    assert (warm.headers["x-cache"], warm.content) == ("HIT", b"")
    assert warm.headers["etag"] == cold.headers["etag"]


@pytest.mark.parametrize("warm", [False, True], ids=["miss", "hit"])
@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("0-99", 0, 100),
        ("1000-", 1000, len(BODY)),
        ("-500", len(BODY) - 500, len(BODY)),
        ("199990-300000", 199990, len(BODY)),
    ],
)
async def test_single_range(
    client: httpx.AsyncClient, origin: OriginUnderTest, warm: bool, spec: str, start: int, end: int
) -> None:
    origin.seed("dir/object.bin", BODY)
    if warm:
        await client.get(URL, headers=AUTH)
    response = await client.get(URL, headers={**AUTH, "Range": f"bytes={spec}"})
    assert response.status_code == 206
    assert response.content == BODY[start:end]
    assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{len(BODY)}"
    assert int(response.headers["content-length"]) == end - start


@pytest.mark.parametrize("spec", ["bytes=200000-", "bytes=5-1", "bytes=x-y"])
async def test_bad_range_is_416_json(
    client: httpx.AsyncClient, origin: OriginUnderTest, spec: str
) -> None:
    origin.seed("dir/object.bin", BODY)
    response = await client.get(URL, headers={**AUTH, "Range": spec})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(BODY)}"
    assert response.json()["error"] == "range_not_satisfiable"


async def test_conditional_requests(client: httpx.AsyncClient, origin: OriginUnderTest) -> None:
    origin.seed("dir/object.bin", BODY)
    full = await client.get(URL, headers=AUTH)
    etag, modified = full.headers["etag"], full.headers["last-modified"]
    not_modified = await client.get(URL, headers={**AUTH, "If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert (
        await client.get(URL, headers={**AUTH, "If-Modified-Since": modified})
    ).status_code == 304
    changed = await client.get(URL, headers={**AUTH, "If-None-Match": '"nope"'})
    assert (changed.status_code, changed.content) == (200, BODY)
    stale_range = await client.get(
        URL, headers={**AUTH, "Range": "bytes=0-9", "If-Range": '"old-version"'}
    )
    assert (stale_range.status_code, stale_range.content) == (200, BODY)
    good_range = await client.get(URL, headers={**AUTH, "Range": "bytes=0-9", "If-Range": etag})
    assert (good_range.status_code, good_range.content) == (206, BODY[:10])
    failed = await client.get(URL, headers={**AUTH, "If-Match": '"nope"'})
    assert failed.status_code == 412


async def test_conditional_on_a_cold_cache(
    client: httpx.AsyncClient, origin: OriginUnderTest
) -> None:
    origin.seed("dir/object.bin", BODY)
    etag = (await client.head(URL, headers=AUTH)).headers["etag"]
    assert (await client.get(URL, headers={**AUTH, "If-None-Match": etag})).status_code == 304


async def test_put_writes_through_and_invalidates(
    client: httpx.AsyncClient, origin: OriginUnderTest, edge_app: EdgeApp
) -> None:
    origin.seed("dir/object.bin", BODY)
    assert (await client.get(URL, headers=AUTH)).content == BODY
    new = os.urandom(3000)
    put = await client.put(URL, headers={**AUTH, "Content-Type": "image/png"}, content=new)
    assert put.status_code == 200
    assert put.json()["size"] == len(new)
    assert origin.read("dir/object.bin") == new
    after = await client.get(URL, headers=AUTH)
    assert (after.headers["x-cache"], after.content) == ("MISS", new)


async def test_streamed_put_of_unknown_length(
    client: httpx.AsyncClient, origin: OriginUnderTest
) -> None:
    pieces = [os.urandom(1 << 20) for _ in range(10)]  # 10 MiB: S3 takes it as multipart

    async def body():  # type: ignore[no-untyped-def]
        for piece in pieces:
            yield piece

    put = await client.put(f"/o/{NS}/up/big.bin", headers=AUTH, content=body())
    assert put.status_code == 200
    assert origin.read("up/big.bin") == b"".join(pieces)


async def test_truncated_upload_leaves_origin_untouched(
    client: httpx.AsyncClient, origin: OriginUnderTest
) -> None:
    origin.seed("dir/object.bin", BODY)

    async def short_body():  # type: ignore[no-untyped-def]
        yield b"only this much"

    put = await client.put(URL, headers={**AUTH, "Content-Length": "1000"}, content=short_body())
    assert put.status_code == 400
    assert put.json()["error"] == "truncated_upload"
    assert origin.read("dir/object.bin") == BODY


async def test_delete_writes_through(client: httpx.AsyncClient, origin: OriginUnderTest) -> None:
    origin.seed("dir/object.bin", BODY)
    await client.get(URL, headers=AUTH)
    assert (await client.delete(URL, headers=AUTH)).status_code == 204
    assert origin.read("dir/object.bin") is None
    gone = await client.get(URL, headers=AUTH)
    assert gone.status_code == 404
    assert gone.json()["error"] == "not_found"


async def test_missing_object_is_404_json(
    client: httpx.AsyncClient, origin: OriginUnderTest
) -> None:
    response = await client.get(f"/o/{NS}/no/such/thing", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["status"] == 404


async def test_expired_entry_revalidates_without_body(
    client: httpx.AsyncClient, origin: OriginUnderTest, edge_app: EdgeApp, clock: Clock
) -> None:
    origin.seed("dir/object.bin", BODY)
    await client.get(URL, headers=AUTH)
    clock.advance(25 * 3600)  # past the small-class 24 h TTL
    bytes_before = edge_app.edge.metrics.origin_bytes.labels(NS)._value.get()
    again = await client.get(URL, headers=AUTH)
    assert (again.headers["x-cache"], again.content) == ("REVALIDATED", BODY)
    assert edge_app.edge.metrics.origin_bytes.labels(NS)._value.get() == bytes_before
    assert (await client.get(URL, headers=AUTH)).headers["x-cache"] == "HIT"


async def test_expired_and_changed_fetches_new_version(
    client: httpx.AsyncClient, origin: OriginUnderTest, clock: Clock
) -> None:
    origin.seed("dir/object.bin", BODY)
    await client.get(URL, headers=AUTH)
    new = os.urandom(5000)
    origin.seed("dir/object.bin", new)
    clock.advance(25 * 3600)
    again = await client.get(URL, headers=AUTH)
    assert (again.headers["x-cache"], again.content) == ("MISS", new)
