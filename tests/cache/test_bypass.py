"""Pass-through: the AGENTCACHE_BYPASS kill switch, and a cache disk that cannot be written."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agentcache.cache.edge import Edge
from agentcache.config import load_config
from agentcache.server.app import EdgeApp
from tests.conftest import AUTH, NS, Clock, client_for, make_config, running
from tests.support.origins import OriginUnderTest, file_origin

BODY = os.urandom(300_000)
URL = f"/o/{NS}/a/b.bin"


@pytest.fixture
def origin(tmp_path: Path) -> OriginUnderTest:
    made = file_origin(tmp_path / "origin")
    made.seed("a/b.bin", BODY)
    return made


@pytest.fixture
async def bypass_client(
    tmp_path: Path, origin: OriginUnderTest, clock: Clock
) -> AsyncIterator[tuple[httpx.AsyncClient, Edge]]:
    config = dataclasses.replace(make_config(tmp_path / "cache", origin.spec), bypass=True)
    async with running(config, clock) as app, client_for(app) as client:
        yield client, app.edge


def test_kill_switch_comes_from_the_environment(tmp_path: Path) -> None:
    assert load_config(None, {"AGENTCACHE_BYPASS": "1"}).bypass
    assert not load_config(None, {}).bypass


async def test_bypass_passes_everything_through(bypass_client) -> None:  # type: ignore[no-untyped-def]
    client, edge = bypass_client
    for _ in range(2):
        response = await client.get(URL, headers=AUTH)
        assert (response.headers["x-cache"], response.content) == ("BYPASS", BODY)
    ranged = await client.get(URL, headers={**AUTH, "Range": "bytes=100000-100099"})
    assert (ranged.status_code, ranged.content) == (206, BODY[100000:100100])
    head = await client.head(URL, headers=AUTH)
    assert (head.headers["x-cache"], head.headers["content-length"]) == ("BYPASS", str(len(BODY)))
    assert edge.disk.used_bytes() == 0
    assert edge.memory.used_bytes == 0
    assert edge.metrics.origin_requests.labels(NS)._value.get() == 4


async def test_unwritable_cache_disk_degrades_to_bypass(
    client: httpx.AsyncClient, edge_app: EdgeApp
) -> None:
    # Root ignores permission bits, so make the spool directory impossible instead: a file
    # where the directory should be (a real ENOTDIR from the kernel, not a mock).
    spool_dir = edge_app.edge.disk.tmp
    shutil.rmtree(spool_dir)
    spool_dir.write_bytes(b"not a directory")
    response = await client.get(URL, headers=AUTH)
    assert (response.status_code, response.headers["x-cache"]) == (200, "BYPASS")
    assert response.content == BODY
    health = await client.get("/api/health")
    assert health.status_code == 503
    assert health.json()["tiers"]["disk"]["ok"] is False

    spool_dir.unlink()
    spool_dir.mkdir()
    assert (await client.get(URL, headers=AUTH)).headers["x-cache"] == "MISS"
    assert (await client.get(URL, headers=AUTH)).headers["x-cache"] == "HIT"
    assert (await client.get("/api/health")).json()["status"] == "ok"


async def test_disk_tier_stays_under_its_bound_through_the_edge(
    tmp_path: Path, clock: Clock
) -> None:
    origin = file_origin(tmp_path / "origin")
    for i in range(30):
        origin.seed(f"f/{i}.bin", os.urandom(100_000))
    config = make_config(
        tmp_path / "cache", origin.spec, disk_max_bytes=1_000_000, memory_admit_max_bytes=1000
    )
    async with running(config, clock) as app, client_for(app) as client:
        edge = app.edge
        for i in range(30):
            response = await client.get(f"/o/{NS}/f/{i}.bin", headers=AUTH)
            assert response.status_code == 200
            assert edge.disk.used_bytes() <= 1_000_000
        on_disk = sum(p.stat().st_size for p in edge.disk.bodies.glob("*/*"))
        assert on_disk == edge.disk.used_bytes() > 800_000
        assert (await client.get(f"/o/{NS}/f/29.bin", headers=AUTH)).headers["x-cache"] == "HIT"
