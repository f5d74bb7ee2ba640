"""The portal API: namespaces, keys (rotation grace, revocation), signed URLs, purge, audit,
and the admin/namespace permission matrix of every route."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from agentcache.server.app import EdgeApp
from tests.conftest import ADMIN, AUTH, NS, Clock
from tests.support.origins import OriginUnderTest, file_origin


@pytest.fixture
def origin(tmp_path: Path) -> OriginUnderTest:
    return file_origin(tmp_path / "origin")


async def create(client: httpx.AsyncClient, name: str, **extra: object) -> dict[str, str]:
    response = await client.post(
        "/api/portal/namespaces", headers=ADMIN, json={"name": name, **extra}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_create_returns_secrets_once_and_never_again(client: httpx.AsyncClient) -> None:
    made = await create(
        client,
        "acme",
        display_name="Acme",
        tags=["video"],
        origin={"url": "https://origin.example", "access_key_id_env": "X"},
        ttl={"small": 60},
        quota_bytes=1000,
    )
    assert set(made) == {"name", "api_key", "s3_access_key_id", "s3_secret_access_key"}
    listed = (await client.get("/api/portal/namespaces", headers=ADMIN)).text
    for secret in (made["api_key"], made["s3_secret_access_key"], '"X"', "access_key_id_env"):
        assert secret not in listed
    one = await client.get("/api/portal/namespaces/acme", headers=bearer(made["api_key"]))
    assert one.json()["ttl"]["small"] == 60
    assert one.json()["origin"] == {
        "url": "https://origin.example",
        "endpoint_url": None,
        "region": "us-east-1",
    }
    again = await client.post("/api/portal/namespaces", headers=ADMIN, json={"name": "acme"})
    assert again.status_code == 409


async def test_keys_are_stored_hashed(client: httpx.AsyncClient, edge_app: EdgeApp) -> None:
    made = await create(client, "acme")
    dump = b"".join(
        str(row).encode() for row in edge_app.tenancy.store.db.execute("SELECT * FROM api_keys")
    )
    assert made["api_key"].encode() not in dump
    raw = (edge_app.edge.config.control_db_path).read_bytes()
    assert made["api_key"].encode() not in raw
    assert made["s3_secret_access_key"].encode() not in raw  # sealed at rest


@pytest.mark.parametrize("name", ["api", "o", "metrics", "A", "-x", "a" * 64, "a/b", "..", ""])
async def test_bad_namespace_names_are_refused(client: httpx.AsyncClient, name: str) -> None:
    response = await client.post("/api/portal/namespaces", headers=ADMIN, json={"name": name})
    assert response.status_code in (400, 422)
    assert "error" in response.json()


async def test_file_origins_cannot_be_created_by_api(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/portal/namespaces",
        headers=ADMIN,
        json={"name": "evil", "origin": {"url": "file:///etc"}},
    )
    assert response.status_code == 422


async def test_rotation_grace_then_expiry(
    client: httpx.AsyncClient, origin: OriginUnderTest, clock: Clock
) -> None:
    origin.seed("f.txt", b"hello")
    old = AUTH
    rotated = await client.post(
        f"/api/portal/namespaces/{NS}/keys", headers=old, json={"grace_seconds": 600}
    )
    assert rotated.status_code == 201
    new = bearer(rotated.json()["api_key"])
    for key in (old, new):
        assert (await client.get(f"/o/{NS}/f.txt", headers=key)).status_code == 200
    clock.advance(601)
    assert (await client.get(f"/o/{NS}/f.txt", headers=old)).status_code == 401
    assert (await client.get(f"/o/{NS}/f.txt", headers=new)).status_code == 200
    keys = (await client.get(f"/api/portal/namespaces/{NS}/keys", headers=new)).json()
    assert [k["active"] for k in keys] == [False, True]


async def test_revocation_is_immediate(client: httpx.AsyncClient, origin: OriginUnderTest) -> None:
    origin.seed("f.txt", b"hello")
    issued = (
        await client.post(
            f"/api/portal/namespaces/{NS}/keys", headers=ADMIN, json={"grace_seconds": 3600}
        )
    ).json()
    assert (await client.get(f"/o/{NS}/f.txt", headers=AUTH)).status_code == 200  # grace
    keys = (await client.get(f"/api/portal/namespaces/{NS}/keys", headers=ADMIN)).json()
    old_id = next(k["key_id"] for k in keys if k["key_id"] != issued["key_id"])
    revoked = await client.delete(f"/api/portal/namespaces/{NS}/keys/{old_id}", headers=ADMIN)
    assert revoked.status_code == 204
    assert (await client.get(f"/o/{NS}/f.txt", headers=AUTH)).status_code == 401
    gone = await client.delete(f"/api/portal/namespaces/{NS}/keys/{old_id}", headers=ADMIN)
    assert gone.status_code == 404


async def test_purge_and_audit(client: httpx.AsyncClient, origin: OriginUnderTest) -> None:
    for name in ("a/1", "a/2", "b/1"):
        origin.seed(name, b"x")
        await client.get(f"/o/{NS}/{name}", headers=AUTH)
    purged = await client.post(
        "/api/portal/purge", headers=AUTH, json={"namespace": NS, "prefix": "a/"}
    )
    assert purged.json() == {"namespace": NS, "purged": 2}
    assert (await client.get(f"/o/{NS}/a/1", headers=AUTH)).headers["x-cache"] == "MISS"
    assert (await client.get(f"/o/{NS}/b/1", headers=AUTH)).headers["x-cache"] == "HIT"
    both = await client.post(
        "/api/portal/purge", headers=AUTH, json={"namespace": NS, "prefix": "a/", "keys": ["b/1"]}
    )
    assert both.status_code == 400
    await create(client, "acme")
    await client.delete("/api/portal/namespaces/acme", headers=ADMIN)
    actions = [
        row["action"] for row in (await client.get("/api/portal/audit", headers=ADMIN)).json()
    ]
    assert actions[:3] == ["namespace.delete", "namespace.create", "purge"]


async def test_deleting_a_namespace_drops_its_cache(
    client: httpx.AsyncClient, edge_app: EdgeApp
) -> None:
    made = await create(client, "acme")
    edge_app.edge.default_origin  # noqa: B018 - acme uses the default origin under acme/
    unused = Path(edge_app.edge.config.origin.url.removeprefix("file://")) / "acme"
    unused.mkdir(parents=True)
    (unused / "f").write_bytes(b"data")
    assert (await client.get("/o/acme/f", headers=bearer(made["api_key"]))).status_code == 200
    assert edge_app.edge.disk.used_bytes("acme") == 4
    assert (await client.delete("/api/portal/namespaces/acme", headers=ADMIN)).status_code == 204
    assert edge_app.edge.disk.used_bytes("acme") == 0
    assert (await client.get("/o/acme/f", headers=bearer(made["api_key"]))).status_code == 404


async def test_stats_count_only_own_reads(
    client: httpx.AsyncClient, origin: OriginUnderTest
) -> None:
    origin.seed("f.txt", b"0123456789")
    for _ in range(3):
        await client.get(f"/o/{NS}/f.txt", headers=AUTH)
    stats = (await client.get(f"/api/portal/namespaces/{NS}/stats", headers=AUTH)).json()
    assert stats["hits"] == 2 and stats["misses"] == 1
    assert stats["hitRate"] == pytest.approx(2 / 3)
    assert (stats["bytesFromCache"], stats["bytesFromOrigin"]) == (20, 10)
    assert stats["costSaved"] == pytest.approx(20 / 1e9 * 0.09)


# -- the permission matrix ---------------------------------------------------------------------

ROUTES = [
    ("POST", "/api/portal/namespaces", {"name": "newbie"}, "admin"),
    ("GET", "/api/portal/namespaces", None, "any"),
    ("GET", "/api/portal/namespaces/{ns}", None, "own"),
    ("GET", "/api/portal/namespaces/{ns}/stats", None, "own"),
    ("POST", "/api/portal/namespaces/{ns}/sign", {"key": "f.txt"}, "own"),
    ("POST", "/api/portal/namespaces/{ns}/keys", {"grace_seconds": 60}, "own"),
    ("GET", "/api/portal/namespaces/{ns}/keys", None, "own"),
    ("POST", "/api/portal/purge", {"namespace": "{ns}", "prefix": "x"}, "own"),
    ("POST", "/api/portal/warm", {"namespace": "{ns}", "keys": ["f.txt"]}, "own"),
    ("GET", "/api/portal/audit", None, "admin"),
    ("DELETE", "/api/portal/namespaces/{ns}", None, "admin"),
]


@pytest.mark.parametrize(("method", "path", "body", "who"), ROUTES)
@pytest.mark.parametrize("caller", ["admin", "own", "other", "none", "wrong"])
async def test_permission_matrix(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, str] | None,
    who: str,
    caller: str,
) -> None:
    other = await create(client, "other-tenant")
    headers = {
        "admin": ADMIN,
        "own": AUTH,
        "other": bearer(other["api_key"]),
        "none": {},
        "wrong": bearer("ac_nope_0000000000000000000000"),
    }[caller]
    target = path.replace("{ns}", NS)
    payload = (
        {k: v.replace("{ns}", NS) if isinstance(v, str) else v for k, v in body.items()}
        if body
        else None
    )
    response = await client.request(method, target, headers=headers, json=payload)
    if caller in ("none", "wrong"):
        expected = {401}
    elif caller == "admin" or who == "any" or (who == "own" and caller == "own"):
        expected = {200, 201, 202, 204}
    else:
        expected = {403}
    assert response.status_code in expected, (caller, method, target, response.text)
    assert response.status_code == 204 or "json" in response.headers["content-type"]
    if caller == "other" and method == "GET" and who == "any":
        assert [ns["name"] for ns in response.json()] == ["other-tenant"]  # never tenant-a
