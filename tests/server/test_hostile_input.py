"""Hostile keys, names and headers: each is refused with a JSON 4xx or contained; nothing is
ever read or written outside the cache and origin directories."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from agentcache.server.app import EdgeApp
from tests.conftest import ADMIN, AUTH, NS
from tests.support.asgi import raw_request
from tests.support.origins import OriginUnderTest, file_origin

HOSTILE_PATHS = [
    "..",
    "../secret.txt",
    "a/../../secret.txt",
    "%2e%2e/secret.txt",
    "%2E%2E%2Fsecret.txt",
    "a/%2e%2e/%2e%2e/secret.txt",
    "..%2f..%2fsecret.txt",
    "%2fetc%2fpasswd",
    "/etc/passwd",
    "a%00b",
    "a%00/../../secret.txt",
    "a%0d%0aX-Injected:%201",
    "a%5c..%5csecret.txt",
    ".",
    "a/./b",
    "a//b",
    "x" * 2000,
    "%ef%bc%8e%ef%bc%8e/secret.txt",
    "%c0%ae%c0%ae/secret.txt",
    "a/%e2%80%ae/../../secret.txt",
]


@pytest.fixture
def origin(tmp_path: Path) -> OriginUnderTest:
    made = file_origin(tmp_path / "origin")
    (tmp_path / "secret.txt").write_text("outside the origin")
    made.seed("ok.txt", b"fine")
    return made


def snapshot(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if "cache" not in p.parts and "tmp" not in p.parts}


@pytest.mark.parametrize("path", HOSTILE_PATHS)
@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE"])
async def test_hostile_keys(edge_app: EdgeApp, tmp_path: Path, path: str, method: str) -> None:
    before = snapshot(tmp_path)
    response = await raw_request(
        edge_app, method, f"/o/{NS}/{path}", {**AUTH, "content-length": "4"}, b"evil"
    )
    assert 400 <= response.status < 500, (path, response.status)
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.body)["error"] == "invalid_key"
    assert "x-injected" not in response.headers
    assert snapshot(tmp_path) == before
    assert (tmp_path / "secret.txt").read_text() == "outside the origin"


@pytest.mark.parametrize("name", ["api", "metrics", "o", "..", "%2e%2e", "UPPER", "a" * 100])
async def test_hostile_namespaces_are_not_found(edge_app: EdgeApp, name: str) -> None:
    response = await raw_request(edge_app, "GET", f"/o/{name}/ok.txt", AUTH)
    assert response.status == 404
    assert json.loads(response.body)["error"] == "unknown_namespace"


async def test_unicode_lookalikes_are_distinct_keys(
    client: httpx.AsyncClient, origin: OriginUnderTest
) -> None:
    nfc, nfd = "caf\u00e9.txt", "cafe\u0301.txt"
    origin.seed(nfc, b"composed")
    assert (await client.get(f"/o/{NS}/{nfc}", headers=AUTH)).content == b"composed"
    assert (await client.get(f"/o/{NS}/{nfd}", headers=AUTH)).status_code == 404


async def test_huge_and_many_headers(client: httpx.AsyncClient) -> None:
    huge = await client.get(f"/o/{NS}/ok.txt", headers={**AUTH, "If-None-Match": "x" * 20000})
    assert huge.status_code == 431
    assert huge.json()["error"] == "header_too_large"


async def test_bogus_uploads_do_not_touch_stored_data(
    client: httpx.AsyncClient, origin: OriginUnderTest
) -> None:
    bad_length = await client.put(
        f"/o/{NS}/ok.txt", headers={**AUTH, "Content-Length": "x1"}, content=b""
    )
    assert bad_length.status_code == 400
    assert origin.read("ok.txt") == b"fine"


async def test_portal_rejects_bad_json(client: httpx.AsyncClient) -> None:
    for body in (
        b"{",
        b"[]",
        b'{"name": 5}',
        b'{"name": "ok-name", "surprise": 1}',
        os.urandom(64),
    ):
        response = await client.post("/api/portal/namespaces", headers=ADMIN, content=body)
        assert response.status_code == 422
        assert response.json()["error"] == "invalid_request"
