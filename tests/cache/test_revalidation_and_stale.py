"""RFC 9111 freshness, revalidation and serve-stale against a real HTTP origin that can be
taken down (through the WAN proxy), with the edge's clock injected: nothing sleeps."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator

import httpx
import pytest
from bench.wan_origin import WanProxy

from agentcache.server.app import EdgeApp
from tests.conftest import AUTH, NS, Clock
from tests.support.origins import HttpOriginUnderTest, http_test_origin

DAY = 24 * 3600
V1, V2 = os.urandom(70_000), os.urandom(80_000)
KEY = "docs/object.bin"
URL = f"/o/{NS}/{KEY}"


@pytest.fixture
async def proxy(http_origin_url: str) -> AsyncIterator[WanProxy]:
    host, port = http_origin_url.removeprefix("http://").split(":")
    made = WanProxy(host, int(port))
    await made.start()
    yield made
    await made.stop()


@pytest.fixture
def origin(http_origin_url: str, http_origin_root, proxy: WanProxy) -> HttpOriginUnderTest:  # type: ignore[no-untyped-def]
    direct = http_test_origin(http_origin_url, http_origin_root)
    spec = dataclasses.replace(
        direct.spec,
        url=direct.spec.url.replace(http_origin_url, proxy.url),
        retry_attempts=1,
        read_timeout_seconds=0.5,
    )
    return dataclasses.replace(direct, spec=spec)  # type: ignore[type-var]


def origin_bytes(app: EdgeApp) -> float:
    return app.edge.metrics.origin_bytes.labels(NS)._value.get()


async def get(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(URL, headers=AUTH)


async def test_fresh_revalidated_changed_stale_then_error(
    client: httpx.AsyncClient,
    origin: HttpOriginUnderTest,
    edge_app: EdgeApp,
    clock: Clock,
    proxy: WanProxy,
) -> None:
    origin.seed(KEY, V1)
    assert (await get(client)).headers["x-cache"] == "MISS"
    clock.advance(DAY - 1)
    fresh = await get(client)
    assert (fresh.headers["x-cache"], fresh.content) == ("HIT", V1)
    assert origin.count(KEY) == 1

    clock.advance(2)  # expired: one conditional request, a 304, no body
    before = origin_bytes(edge_app)
    revalidated = await get(client)
    assert (revalidated.headers["x-cache"], revalidated.content) == ("REVALIDATED", V1)
    assert (origin.count(KEY), origin.conditional_count(KEY)) == (2, 1)
    assert origin_bytes(edge_app) == before
    assert (await get(client)).headers["x-cache"] == "HIT"  # renewed for another day

    origin.seed(KEY, V2)
    clock.advance(DAY + 1)
    changed = await get(client)
    assert (changed.headers["x-cache"], changed.content) == ("MISS", V2)

    clock.advance(DAY + 1)
    await proxy.set_mode("refuse")  # the origin is down
    stale = await get(client)
    assert (stale.status_code, stale.headers["x-cache"], stale.content) == (200, "STALE", V2)

    clock.advance(3600)  # past the default one-hour stale-if-error window
    down = await get(client)
    assert down.status_code == 502
    assert down.json()["error"] == "origin_unavailable"


async def test_origin_timeout_outside_the_window_is_504(
    client: httpx.AsyncClient, origin: HttpOriginUnderTest, clock: Clock, proxy: WanProxy
) -> None:
    origin.seed(KEY, V1)
    await get(client)
    clock.advance(DAY + 1800)
    await proxy.set_mode("blackhole")
    assert (await get(client)).headers["x-cache"] == "STALE"
    clock.advance(3600)
    timed_out = await get(client)
    assert timed_out.status_code == 504
    assert timed_out.json()["error"] == "origin_timeout"


async def test_origin_cache_control_sets_the_ttl(
    client: httpx.AsyncClient, origin: HttpOriginUnderTest, clock: Clock
) -> None:
    origin.seed(KEY, V1)
    origin.set_headers(KEY, {"Cache-Control": "public, max-age=60"})
    await get(client)
    clock.advance(59)
    assert (await get(client)).headers["x-cache"] == "HIT"
    clock.advance(2)
    assert (await get(client)).headers["x-cache"] == "REVALIDATED"
    assert origin.conditional_count(KEY) == 1


async def test_origin_age_counts_against_freshness(
    client: httpx.AsyncClient, origin: HttpOriginUnderTest, clock: Clock
) -> None:
    origin.seed(KEY, V1)
    origin.set_headers(KEY, {"Cache-Control": "max-age=60", "Age": "50"})
    first = await get(client)
    assert first.headers["age"] == "50"
    clock.advance(11)
    assert (await get(client)).headers["x-cache"] == "REVALIDATED"


@pytest.mark.parametrize(
    "headers",
    [{"Cache-Control": "no-store"}, {"Cache-Control": "private, max-age=600"}, {"Vary": "*"}],
)
async def test_responses_that_must_not_be_stored(
    client: httpx.AsyncClient,
    origin: HttpOriginUnderTest,
    edge_app: EdgeApp,
    headers: dict[str, str],
) -> None:
    origin.seed(KEY, V1)
    origin.set_headers(KEY, headers)
    for _ in range(3):
        response = await get(client)
        assert (response.headers["x-cache"], response.content) == ("MISS", V1)
        await edge_app.edge.settle()
    assert origin.count(KEY) == 3
    assert edge_app.edge.disk.used_bytes() == 0


async def test_stale_while_revalidate_serves_at_once_and_refreshes_once(
    client: httpx.AsyncClient, origin: HttpOriginUnderTest, edge_app: EdgeApp, clock: Clock
) -> None:
    origin.seed(KEY, V1)
    origin.set_headers(KEY, {"Cache-Control": "max-age=10, stale-while-revalidate=60"})
    await get(client)
    clock.advance(15)
    first, second = await get(client), await get(client)
    assert (first.headers["x-cache"], first.content) == ("STALE", V1)
    assert second.headers["x-cache"] == "STALE"
    await edge_app.edge.settle()
    assert origin.conditional_count(KEY) == 1  # one background refresh, not one per request
    assert (await get(client)).headers["x-cache"] == "HIT"


async def test_stale_while_revalidate_picks_up_a_new_version(
    client: httpx.AsyncClient, origin: HttpOriginUnderTest, edge_app: EdgeApp, clock: Clock
) -> None:
    origin.seed(KEY, V1)
    origin.set_headers(KEY, {"Cache-Control": "max-age=10, stale-while-revalidate=60"})
    await get(client)
    origin.seed(KEY, V2)
    clock.advance(15)
    assert (await get(client)).content == V1
    await edge_app.edge.settle()
    after = await get(client)
    assert (after.headers["x-cache"], after.content) == ("HIT", V2)


async def test_deleted_at_origin_is_404_and_dropped(
    client: httpx.AsyncClient, origin: HttpOriginUnderTest, edge_app: EdgeApp, clock: Clock
) -> None:
    origin.seed(KEY, V1)
    await get(client)
    origin.remove(KEY)
    clock.advance(DAY + 1)
    gone = await get(client)
    assert gone.status_code == 404, (gone.headers, origin.count(KEY), origin.read(KEY) is None)
    assert edge_app.edge.disk.used_bytes() == 0
