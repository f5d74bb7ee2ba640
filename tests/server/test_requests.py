"""Routing, authentication and bad input on the object path (one origin kind is enough)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ADMIN, AUTH, NS
from tests.support.origins import OriginUnderTest


@pytest.fixture(params=["file"])
def origin(request: pytest.FixtureRequest, tmp_path):  # type: ignore[no-untyped-def]
    from tests.support.origins import file_origin

    return file_origin(tmp_path / "origin")


async def test_unknown_namespace_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/o/nobody/file.txt", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_namespace"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}, {"Authorization": "Basic abc"}],
)
async def test_missing_or_wrong_key_is_401(
    client: httpx.AsyncClient, origin: OriginUnderTest, headers: dict[str, str]
) -> None:
    origin.seed("file.txt", b"secret")
    response = await client.get(f"/o/{NS}/file.txt", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert b"secret" not in response.content


async def test_x_api_key_header_works(client: httpx.AsyncClient, origin: OriginUnderTest) -> None:
    origin.seed("file.txt", b"hello")
    key = AUTH["Authorization"].removeprefix("Bearer ")
    assert (await client.get(f"/o/{NS}/file.txt", headers={"X-API-Key": key})).content == b"hello"


@pytest.mark.parametrize(
    "path",
    [
        "..%2f..%2fetc%2fpasswd",
        "a/%2e%2e/b",
        "a%00b",
        "a//b",
        "%2fetc%2fpasswd",
        "a/%0d%0aSet-Cookie:x",
    ],
)
async def test_hostile_keys_are_400(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(f"/o/{NS}/{path}", headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_key"


async def test_unsupported_method_is_405(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/o/{NS}/file.txt", headers=AUTH)
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]


async def test_oversized_header_is_431(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/o/{NS}/f", headers={**AUTH, "Range": "b" * 20000})
    assert response.status_code == 431


async def test_origin_metadata_cannot_inject_headers(
    client: httpx.AsyncClient, origin: OriginUnderTest
) -> None:
    from agentcache.server.plan import _safe

    assert _safe("text/plain\r\nSet-Cookie: a=b") == b"text/plainSet-Cookie: a=b"


async def test_health_and_metrics(client: httpx.AsyncClient, origin: OriginUnderTest) -> None:
    origin.seed("file.txt", b"hello")
    await client.get(f"/o/{NS}/file.txt", headers=AUTH)
    health = (await client.get("/api/health")).json()
    assert health["status"] == "ok"
    assert health["tiers"]["disk"]["entries"] == 1
    assert health["origins"] == {"checked": 1, "failing": 0}  # no tenant names in public
    assert (await client.get("/metrics")).status_code == 401  # per-tenant figures: admin only
    metrics = (await client.get("/metrics", headers=ADMIN)).text
    for name in (
        "agentcache_requests_total",
        "agentcache_origin_requests_total",
        "agentcache_origin_bytes_total",
        "agentcache_served_bytes_total",
        "agentcache_request_duration_seconds",
    ):
        assert name in metrics
    assert f'agentcache_requests_total{{class="ai",namespace="{NS}",result="MISS"}} 1.0' in metrics


async def test_unknown_control_route_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/nothing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
