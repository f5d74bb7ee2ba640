"""Per-namespace quotas evict only their own entries; token buckets answer 429 + Retry-After."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import httpx
import pytest

from agentcache.config import Limits, NamespaceConfig
from agentcache.server.app import EdgeApp
from tests.conftest import ADMIN, AUTH, NS, NS_KEY, Clock, client_for, make_config, running
from tests.support.origins import file_origin

OTHER, OTHER_KEY = "tenant-b", "key-for-tenant-b-0123456789"


def two_tenants(tmp_path: Path, **a: object) -> tuple[Path, object]:
    origin = file_origin(tmp_path / "origin")
    base = make_config(tmp_path / "cache", origin.spec, memory_admit_max_bytes=1000)
    config = dataclasses.replace(
        base,
        namespaces=(
            NamespaceConfig(NS, NS_KEY, origin.spec, **a),  # type: ignore[arg-type]
            NamespaceConfig(OTHER, OTHER_KEY, origin.spec),
        ),
    )
    return tmp_path / "origin", config


async def test_quota_evicts_only_the_namespace_over_it(tmp_path: Path, clock: Clock) -> None:
    root, config = two_tenants(tmp_path, quota_bytes=500_000)
    for i in range(20):
        (root / f"{i}.bin").write_bytes(os.urandom(100_000))
    b_auth = {"Authorization": f"Bearer {OTHER_KEY}"}
    async with running(config, clock) as app, client_for(app) as client:  # type: ignore[arg-type]
        for i in range(5):  # tenant-b warms five objects
            await client.get(f"/o/{OTHER}/{i}.bin", headers=b_auth)
        for i in range(20):  # tenant-a pushes 2 MB through a 500 KB quota
            assert (await client.get(f"/o/{NS}/{i}.bin", headers=AUTH)).status_code == 200
            assert app.edge.disk.used_bytes(NS) <= 500_000
        assert app.edge.disk.used_bytes(OTHER) == 500_000
        results = [
            (await client.get(f"/o/{OTHER}/{i}.bin", headers=b_auth)).headers["x-cache"]
            for i in range(5)
        ]
        assert results == ["HIT"] * 5  # tenant-b's hit rate is untouched
        assert (await client.get(f"/o/{NS}/19.bin", headers=AUTH)).headers["x-cache"] == "HIT"
        assert (await client.get(f"/o/{NS}/0.bin", headers=AUTH)).headers["x-cache"] == "MISS"


async def test_object_bigger_than_its_quota_is_served_not_stored(
    tmp_path: Path, clock: Clock
) -> None:
    root, config = two_tenants(tmp_path, quota_bytes=1000)
    (root / "big.bin").write_bytes(os.urandom(5000))
    async with running(config, clock) as app, client_for(app) as client:  # type: ignore[arg-type]
        for _ in range(2):
            response = await client.get(f"/o/{NS}/big.bin", headers=AUTH)
            assert (response.status_code, response.headers["x-cache"]) == (200, "MISS")
        assert app.edge.disk.used_bytes(NS) == 0


async def test_request_rate_limit(tmp_path: Path, clock: Clock) -> None:
    root, config = two_tenants(tmp_path, limits=Limits(requests_per_second=2))
    (root / "f.txt").write_bytes(b"x")
    async with running(config, clock) as app, client_for(app) as client:  # type: ignore[arg-type]
        codes = [(await client.get(f"/o/{NS}/f.txt", headers=AUTH)).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = await client.get(f"/o/{NS}/f.txt", headers=AUTH)
        assert limited.json()["error"] == "rate_limited"
        assert limited.headers["retry-after"] == "1"
        b_auth = {"Authorization": f"Bearer {OTHER_KEY}"}
        assert (await client.get(f"/o/{OTHER}/f.txt", headers=b_auth)).status_code == 200
        clock.advance(0.5)
        assert (await client.get(f"/o/{NS}/f.txt", headers=AUTH)).status_code == 200


async def test_bandwidth_limit(tmp_path: Path, clock: Clock) -> None:
    root, config = two_tenants(tmp_path, limits=Limits(bandwidth_bytes_per_second=100_000))
    (root / "f.bin").write_bytes(os.urandom(250_000))
    async with running(config, clock) as app, client_for(app) as client:  # type: ignore[arg-type]
        assert (await client.get(f"/o/{NS}/f.bin", headers=AUTH)).status_code == 200
        over = await client.get(f"/o/{NS}/f.bin", headers=AUTH)  # 150 KB in debt
        assert over.status_code == 429
        assert over.headers["retry-after"] == "2"
        clock.advance(1.6)
        assert (await client.get(f"/o/{NS}/f.bin", headers=AUTH)).status_code == 200


@pytest.mark.parametrize("limits", [{"requests_per_second": 0}, {"requests_per_second": -1}])
async def test_bad_limits_are_refused_by_the_portal(
    client: httpx.AsyncClient, edge_app: EdgeApp, limits: dict[str, float]
) -> None:
    response = await client.post(
        "/api/portal/namespaces", headers=ADMIN, json={"name": "limited", "limits": limits}
    )
    assert response.status_code == 422


@pytest.fixture
def origin(tmp_path: Path):  # type: ignore[no-untyped-def]
    return file_origin(tmp_path / "origin")
