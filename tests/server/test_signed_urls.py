"""Signed URLs: a browser downloads with the URL alone; any tampering or expiry is a 403."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from agentcache.policy.signing import signature
from tests.conftest import ADMIN, AUTH, NS, Clock
from tests.support.origins import OriginUnderTest, file_origin


@pytest.fixture
def origin(tmp_path: Path) -> OriginUnderTest:
    made = file_origin(tmp_path / "origin")
    made.seed("docs/report.pdf", b"%PDF report")
    made.seed("docs/other.pdf", b"%PDF other")
    return made


async def sign(
    client: httpx.AsyncClient, key: str = "docs/report.pdf", expires_in: int = 300
) -> str:
    response = await client.post(
        f"/api/portal/namespaces/{NS}/sign",
        headers=AUTH,
        json={"key": key, "expires_in": expires_in},
    )
    assert response.status_code == 200, response.text
    url = urlsplit(response.json()["url"])
    return f"{url.path}?{url.query}"


async def test_signed_url_works_alone_and_shares_the_cache(client: httpx.AsyncClient) -> None:
    url = await sign(client)
    first = await client.get(url)  # no key, no other header
    assert (first.status_code, first.content) == (200, b"%PDF report")
    keyed = await client.get(f"/o/{NS}/docs/report.pdf", headers=AUTH)
    assert keyed.headers["x-cache"] == "HIT"  # the signature is not part of the cache key
    assert (await client.head(url)).status_code == 200


def tampered(url: str) -> list[str]:
    path, query = url.split("?")
    params = {k: v[0] for k, v in parse_qs(query).items()}
    sig, exp = params["X-Signature"], params["X-Expires"]
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    return [
        f"{path}?X-Expires={exp}&X-Signature={flipped}",  # signature
        f"{path}?X-Expires={int(exp) + 1}&X-Signature={sig}",  # expiry pushed out
        f"{path.replace('report', 'other')}?X-Expires={exp}&X-Signature={sig}",  # key
        f"{path.replace(NS, 'other-ns')}?X-Expires={exp}&X-Signature={sig}",  # namespace
        f"{path}?X-Expires={exp}",  # no signature: falls back to a key, and there is none
        f"{path}?X-Expires=soon&X-Signature={sig}",  # malformed expiry
        f"{path}?X-Expires={exp}&X-Signature=",  # empty signature
    ]


async def test_every_tamper_is_refused(client: httpx.AsyncClient) -> None:
    await client.post("/api/portal/namespaces", headers=ADMIN, json={"name": "other-ns"})
    url = await sign(client)
    for bad in tampered(url):
        response = await client.get(bad)
        assert response.status_code in (401, 403), bad
        assert response.json()["error"] in ("bad_signature", "unauthorized")
        assert b"%PDF" not in response.content


async def test_method_is_covered(client: httpx.AsyncClient) -> None:
    url = await sign(client)
    assert (await client.delete(url)).status_code == 403
    assert (await client.put(url, content=b"overwrite")).status_code == 403


async def test_expiry_with_the_injected_clock(client: httpx.AsyncClient, clock: Clock) -> None:
    url = await sign(client, expires_in=60)
    clock.advance(59)
    assert (await client.get(url)).status_code == 200
    clock.advance(2)
    expired = await client.get(url)
    assert (expired.status_code, expired.json()["error"]) == (403, "expired_signature")


async def test_a_tenant_cannot_sign_for_another(client: httpx.AsyncClient) -> None:
    other = (
        await client.post("/api/portal/namespaces", headers=ADMIN, json={"name": "other-ns"})
    ).json()
    response = await client.post(
        f"/api/portal/namespaces/{NS}/sign",
        headers={"Authorization": f"Bearer {other['api_key']}"},
        json={"key": "docs/report.pdf"},
    )
    assert response.status_code == 403


def test_signature_binds_every_field() -> None:
    base = signature(b"s" * 32, "GET", "ns", "k", 100)
    for variant in (
        signature(b"t" * 32, "GET", "ns", "k", 100),
        signature(b"s" * 32, "PUT", "ns", "k", 100),
        signature(b"s" * 32, "GET", "nt", "k", 100),
        signature(b"s" * 32, "GET", "ns", "j", 100),
        signature(b"s" * 32, "GET", "ns", "k", 101),
        signature(b"s" * 32, "GET", "ns\nk", "", 100),
    ):
        assert variant != base
