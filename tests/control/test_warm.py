"""The warm-up API: keys, a prefix or a playlist fetched in the background with progress; one
job per namespace at a time; a namespace key may warm and watch only its own namespace."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from agentcache.cache.warmup import WarmJob
from agentcache.server.app import EdgeApp
from tests.conftest import ADMIN, AUTH, NS, Clock, client_for, make_config, running
from tests.support.origins import OriginUnderTest, file_origin, http_test_origin


async def settled(
    app: EdgeApp, client: httpx.AsyncClient, job: dict[str, object]
) -> dict[str, object]:
    await app.edge.settle()
    progress = await client.get(f"/api/portal/warm/{job['id']}", headers=AUTH)
    assert progress.status_code == 200
    return dict(progress.json())


async def test_warm_keys_then_reads_are_hits(tmp_path: Path, clock: Clock) -> None:
    origin = file_origin(tmp_path / "origin")
    bodies = {f"w/{i}.bin": os.urandom(1000 + i) for i in range(6)}
    for key, body in bodies.items():
        origin.seed(key, body)
    async with (
        running(make_config(tmp_path / "cache", origin.spec), clock) as app,
        client_for(app) as client,
    ):
        await client.get("/o/tenant-a/w/0.bin", headers=AUTH)  # one already cached
        started = await client.post(
            "/api/portal/warm",
            json={"namespace": NS, "keys": [*bodies, "w/missing.bin"]},
            headers=AUTH,
        )
        assert started.status_code == 202
        assert started.json()["state"] == "running"
        job = await settled(app, client, started.json())
        assert job["state"] == "done"
        assert (job["total"], job["done"]) == (7, 7)
        assert (job["fetched"], job["already_cached"], job["failed"]) == (5, 1, 1)
        assert "w/missing.bin" in str(job["errors"])
        for key, body in bodies.items():
            got = await client.get(f"/o/tenant-a/{key}", headers=AUTH)
            assert (got.headers["x-cache"], got.content) == ("HIT", body)


async def test_warm_prefix_lists_the_origin(tmp_path: Path, clock: Clock) -> None:
    origin = file_origin(tmp_path / "origin")
    for key in ("a/1.txt", "a/2.txt", "a/sub/3.txt", "b/4.txt"):
        origin.seed(key, key.encode())
    async with (
        running(make_config(tmp_path / "cache", origin.spec), clock) as app,
        client_for(app) as client,
    ):
        started = await client.post(
            "/api/portal/warm", json={"namespace": NS, "prefix": "a/"}, headers=ADMIN
        )
        job = await settled(app, client, started.json())
        assert (job["state"], job["total"], job["fetched"]) == ("done", 3, 3)
        hit = await client.get("/o/tenant-a/a/sub/3.txt", headers=AUTH)
        assert hit.headers["x-cache"] == "HIT"
        miss = await client.get("/o/tenant-a/b/4.txt", headers=AUTH)
        assert miss.headers["x-cache"] == "MISS"


async def test_warm_playlist_fetches_every_segment(
    tmp_path: Path, http_origin_url: str, http_origin_root: Path, rendition: Path, clock: Clock
) -> None:
    origin = http_test_origin(http_origin_url, http_origin_root)
    for path in rendition.iterdir():
        origin.seed(f"vod/{path.name}", path.read_bytes())
    async with (
        running(make_config(tmp_path / "cache", origin.spec), clock) as app,
        client_for(app) as client,
    ):
        started = await client.post(
            "/api/portal/warm",
            json={"namespace": NS, "playlist": "vod/index.m3u8"},
            headers=AUTH,
        )
        job = await settled(app, client, started.json())
        assert (job["state"], job["total"], job["failed"]) == ("done", 21, 0)
        last = await client.get("/o/tenant-a/vod/seg019.ts", headers=AUTH)
        assert last.headers["x-cache"] == "HIT"


async def test_one_job_per_namespace_and_bad_requests(tmp_path: Path, clock: Clock) -> None:
    origin: OriginUnderTest = file_origin(tmp_path / "origin")
    origin.seed("x.bin", b"x")
    async with (
        running(make_config(tmp_path / "cache", origin.spec), clock) as app,
        client_for(app) as client,
    ):
        first = await client.post(
            "/api/portal/warm", json={"namespace": NS, "keys": ["x.bin"]}, headers=AUTH
        )
        assert first.status_code == 202
        await app.edge.settle()
        app.edge.warmer.jobs["busy"] = WarmJob("busy", NS, {"prefix": ""}, clock.now)
        second = await client.post(
            "/api/portal/warm", json={"namespace": NS, "keys": ["x.bin"]}, headers=AUTH
        )
        assert second.status_code == 429
        assert second.json()["error"] == "warm_in_progress"
        app.edge.warmer.jobs["busy"].state = "done"
        for body in (
            {"namespace": NS},
            {"namespace": NS, "keys": ["a"], "prefix": "b"},
            {"namespace": NS, "keys": ["../etc/passwd"]},
        ):
            bad = await client.post("/api/portal/warm", json=body, headers=AUTH)
            assert bad.status_code == 400, body
            assert "error" in bad.json()
        unknown = await client.get("/api/portal/warm/nope", headers=AUTH)
        assert unknown.status_code == 404
        anonymous = await client.get(f"/api/portal/warm/{first.json()['id']}")
        assert anonymous.status_code == 401
        created = await client.post("/api/portal/namespaces", json={"name": "nosy"}, headers=ADMIN)
        nosy = {"Authorization": f"Bearer {created.json()['api_key']}"}
        foreign = await client.get(f"/api/portal/warm/{first.json()['id']}", headers=nosy)
        assert foreign.status_code == 403
