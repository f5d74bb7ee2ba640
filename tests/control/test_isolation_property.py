"""Invariant 1 as a property: thousands of random interleaved operations by three tenants
(put, get, range get, head, delete, purge, stats, signed URLs, quota pressure) and no tenant
ever receives another's bytes, metadata, stats or signed URL."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from agentcache.config import NamespaceConfig, OriginSpec
from agentcache.server.app import build_app
from tests.conftest import Clock, make_config

TENANTS = ("alpha", "bravo", "charlie")
KEYS = {t: f"key-of-{t}-0123456789abcdef" for t in TENANTS}
QUOTA = 150_000  # bravo lives under quota pressure
names = st.sampled_from(["a.bin", "b.bin", "dir/c.txt", "dir/d.txt", "e"])
tenants = st.sampled_from(TENANTS)
bodies = st.one_of(
    st.binary(min_size=0, max_size=2000),
    st.integers(20_000, 70_000).map(lambda n: bytes([n % 251]) * n),
)


def auth(tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[tenant]}"}


class Tenants(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="isolation-"))
        (self.dir / "origin").mkdir()
        base = make_config(
            self.dir / "cache",
            OriginSpec(url=f"file://{self.dir / 'origin'}"),
            memory_admit_max_bytes=30_000,
        )
        config = dataclasses.replace(
            base,
            origin=OriginSpec(url=f"file://{self.dir / 'origin'}"),
            namespaces=tuple(
                NamespaceConfig(t, KEYS[t], None, quota_bytes=QUOTA if t == "bravo" else None)
                for t in TENANTS
            ),
        )
        self.loop = asyncio.new_event_loop()
        self.app = build_app(config, Clock())
        self.run(self.app.startup())
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://edge"
        )
        self.model: dict[str, dict[str, bytes]] = {t: {} for t in TENANTS}
        self.reads = {t: 0 for t in TENANTS}
        self.totals = {t: self.app.edge.metrics.namespace_totals(t) for t in TENANTS}
        self.touched: set[str] = set()

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.run(self.client.request(method, url, **kwargs))

    def read(self, tenant: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A read that may count in `tenant`'s stats, and in no one else's."""
        self.reads[tenant] += 1
        self.touched.add(tenant)
        return self.request(method, url, **kwargs)

    def teardown(self) -> None:
        self.run(self.client.aclose())
        self.run(self.app.shutdown())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def others_bytes(self, tenant: str, key: str) -> set[bytes]:
        return {m[key] for t, m in self.model.items() if t != tenant and key in m}

    @rule(tenant=tenants, key=names, body=bodies)
    def put(self, tenant: str, key: str, body: bytes) -> None:
        response = self.request("PUT", f"/o/{tenant}/{key}", headers=auth(tenant), content=body)
        assert response.status_code == 200
        self.model[tenant][key] = body

    @rule(tenant=tenants, key=names)
    def get(self, tenant: str, key: str) -> None:
        response = self.read(tenant, "GET", f"/o/{tenant}/{key}", headers=auth(tenant))
        expected = self.model[tenant].get(key)
        if expected is None:
            assert response.status_code == 404
            return
        assert response.status_code == 200
        assert response.content == expected
        assert response.headers["content-length"] == str(len(expected))

    @rule(tenant=tenants, key=names, start=st.integers(0, 80_000), length=st.integers(1, 5000))
    def range_get(self, tenant: str, key: str, start: int, length: int) -> None:
        expected = self.model[tenant].get(key)
        headers = {**auth(tenant), "Range": f"bytes={start}-{start + length - 1}"}
        response = self.read(tenant, "GET", f"/o/{tenant}/{key}", headers=headers)
        if expected is None:
            assert response.status_code == 404
        elif start >= len(expected):
            assert response.status_code == 416
            assert response.headers["content-range"] == f"bytes */{len(expected)}"
        else:
            assert response.status_code == 206
            assert response.content == expected[start : start + length]

    @rule(tenant=tenants, key=names)
    def head(self, tenant: str, key: str) -> None:
        response = self.read(tenant, "HEAD", f"/o/{tenant}/{key}", headers=auth(tenant))
        expected = self.model[tenant].get(key)
        if expected is None:
            assert response.status_code == 404
        else:
            assert response.headers["content-length"] == str(len(expected))

    @rule(tenant=tenants, key=names)
    def delete(self, tenant: str, key: str) -> None:
        assert self.request("DELETE", f"/o/{tenant}/{key}", headers=auth(tenant)).status_code == 204
        self.model[tenant].pop(key, None)

    @rule(tenant=tenants, prefix=st.sampled_from(["", "dir/", "a"]))
    def purge(self, tenant: str, prefix: str) -> None:
        response = self.request(
            "POST",
            "/api/portal/purge",
            headers=auth(tenant),
            json={"namespace": tenant, "prefix": prefix},
        )
        assert response.status_code == 200

    @rule(tenant=tenants, other=tenants, key=names)
    def trespass(self, tenant: str, other: str, key: str) -> None:
        """A tenant's key on another's objects, purge and stats: refused, nothing leaks."""
        if tenant == other:
            return
        leaked = self.model[other].get(key)
        for method in ("GET", "HEAD", "DELETE", "PUT"):
            response = self.request(
                method,
                f"/o/{other}/{key}",
                headers=auth(tenant),
                content=b"x" if method == "PUT" else None,
            )
            assert response.status_code == 401
            if method != "HEAD":  # a JSON error, which carries no object bytes
                assert json.loads(response.content)["error"] == "unauthorized"
        assert self.model[other].get(key) == leaked  # and nothing was written or deleted
        for method, url, body in (
            ("GET", f"/api/portal/namespaces/{other}/stats", None),
            ("GET", f"/api/portal/namespaces/{other}", None),
            ("POST", f"/api/portal/namespaces/{other}/sign", {"key": key}),
            ("POST", "/api/portal/purge", {"namespace": other, "prefix": ""}),
        ):
            assert self.request(method, url, headers=auth(tenant), json=body).status_code == 403
        listed = self.request("GET", "/api/portal/namespaces", headers=auth(tenant)).json()
        assert [ns["name"] for ns in listed] == [tenant]

    @rule(tenant=tenants, other=tenants, key=names)
    def signed(self, tenant: str, other: str, key: str) -> None:
        response = self.request(
            "POST", f"/api/portal/namespaces/{tenant}/sign", headers=auth(tenant), json={"key": key}
        )
        assert response.status_code == 200
        url = urlsplit(response.json()["url"])
        mine = self.read(tenant, "GET", f"{url.path}?{url.query}")
        expected = self.model[tenant].get(key)
        assert mine.status_code == (200 if expected is not None else 404)
        if expected is not None:
            assert mine.content == expected
        if other != tenant:  # the same signature on another tenant's path
            moved = url.path.replace(f"/o/{tenant}/", f"/o/{other}/", 1)
            stolen = self.request("GET", f"{moved}?{url.query}")
            assert stolen.status_code == 403
            assert not self.others_bytes(tenant, key) & {stolen.content}

    @precondition(lambda self: any(self.reads.values()))
    @rule(tenant=tenants)
    def stats(self, tenant: str) -> None:
        stats = self.request(
            "GET", f"/api/portal/namespaces/{tenant}/stats", headers=auth(tenant)
        ).json()
        assert stats["hits"] + stats["misses"] <= self.reads[tenant]

    @invariant()
    def quota_holds(self) -> None:
        assert self.app.edge.disk.used_bytes("bravo") <= QUOTA

    @invariant()
    def only_own_reads_move_stats(self) -> None:
        """Writes, deletes, purges and every other tenant's requests leave stats alone."""
        for tenant in TENANTS:
            now = self.app.edge.metrics.namespace_totals(tenant)
            if tenant not in self.touched:
                assert now == self.totals[tenant], tenant
            self.totals[tenant] = now
        self.touched.clear()


TestTenantIsolation = Tenants.TestCase
TestTenantIsolation.settings = settings(
    max_examples=100,
    stateful_step_count=60,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
