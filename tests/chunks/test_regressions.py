"""Cases a review found: an object growing past the threshold, concurrent readers of a
changed object, a reader that leaves early, and objects with nothing to pin chunks to."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from agentcache.entry import Entry, ObjectInfo
from agentcache.storage.bodies import ChunkedObject
from tests.chunks.conftest import chunk_config, chunks_fetched
from tests.conftest import AUTH, NS, Clock, client_for, running
from tests.support.origins import HttpOriginUnderTest, http_test_origin

CHUNK = 64 * 1024


def origin_for(url: str, root: Path) -> HttpOriginUnderTest:
    origin = http_test_origin(url, root)
    assert isinstance(origin, HttpOriginUnderTest)
    return origin


async def test_small_object_in_memory_that_grows_large_is_replaced_once(
    tmp_path: Path, http_origin_url: str, http_origin_root: Path, clock: Clock
) -> None:
    origin = origin_for(http_origin_url, http_origin_root)
    origin.seed("grows.bin", os.urandom(10_000))
    config = chunk_config(
        tmp_path / "cache", origin.spec, chunk_bytes=CHUNK, threshold=100_000, small_ttl_seconds=60
    )
    async with running(config, clock) as app, client_for(app) as client:
        await client.get("/o/tenant-a/grows.bin", headers=AUTH)
        big = os.urandom(8 * CHUNK)
        origin.seed("grows.bin", big)
        clock.advance(61)
        for expected in ("MISS", "HIT", "HIT"):
            got = await client.get("/o/tenant-a/grows.bin", headers=AUTH)
            assert (got.headers["x-cache"], got.content == big) == (expected, True)
            await app.edge.settle()
        gets = [read for read in origin.reads("grows.bin") if read["method"] == "GET"]
        assert len(gets) == 2  # the small version once, the large one once
        assert app.edge.disk.last_error is None


async def test_concurrent_readers_of_a_changed_object_fetch_each_chunk_once(
    tmp_path: Path, http_origin_url: str, http_origin_root: Path, clock: Clock
) -> None:
    origin = origin_for(http_origin_url, http_origin_root)
    origin.seed("changes.bin", os.urandom(8 * CHUNK))
    config = chunk_config(tmp_path / "cache", origin.spec, chunk_bytes=CHUNK, large_ttl_seconds=60)
    async with running(config, clock) as app, client_for(app) as client:
        await client.get("/o/tenant-a/changes.bin", headers={**AUTH, "range": "bytes=0-9"})
        await app.edge.settle()
        new = os.urandom(8 * CHUNK)
        origin.seed("changes.bin", new)
        before = len(origin.reads("changes.bin"))
        clock.advance(61)
        ranged = {**AUTH, "range": f"bytes={CHUNK}-{3 * CHUNK - 1}"}
        answers = await asyncio.gather(
            *(client.get("/o/tenant-a/changes.bin", headers=ranged) for _ in range(4))
        )
        assert all(a.content == new[CHUNK : 3 * CHUNK] for a in answers)
        await app.edge.settle()
        reads = origin.reads("changes.bin")[before:]
        assert sorted(chunks_fetched(reads, len(new), CHUNK)) == [1, 2]


async def test_a_reader_that_leaves_early_stops_the_runs_it_started(
    tmp_path: Path, http_origin_url: str, http_origin_root: Path, clock: Clock
) -> None:
    """The run asks for the whole gap but reads only a window ahead of its reader; once the
    reader has gone it stops at the next chunk. What the origin sends beyond that is what the
    sockets held, a few MB at most, not the 63 MB of the gap."""
    mb = 1024 * 1024
    origin = origin_for(http_origin_url, http_origin_root)
    body = os.urandom(64 * mb)
    origin.seed("left.bin", body)
    config = chunk_config(tmp_path / "cache", origin.spec, chunk_bytes=mb)  # window: 4 MB
    async with running(config, clock) as app, client_for(app) as client:
        await client.get("/o/tenant-a/left.bin", headers={**AUTH, "range": "bytes=0-9"})
        await app.edge.settle()
        edge = app.edge
        obj = await edge.lookup(f"{NS}/left.bin")
        assert isinstance(obj, ChunkedObject)
        pieces = edge.chunks.stream(edge.namespaces[NS], obj, 0, len(body))
        assert await anext(pieces) == body[:4096]  # one block of the stored chunk 0
        await pieces.aclose()
        await edge.settle()
        sent = sum(int(str(read["bytes"])) for read in origin.reads("left.bin"))
        assert sent < 24 * mb, f"the origin sent {sent / mb:.1f} MB"
        assert not edge.chunks.claims


def test_objects_without_a_validator_are_not_chunked(tmp_path: Path) -> None:
    """Chunks must be pinned to a version; with no ETag and no date there is nothing to pin."""
    from agentcache.cache.edge import Edge
    from agentcache.config import OriginSpec

    config = chunk_config(
        tmp_path / "cache", OriginSpec(url="file:///nonexistent"), chunk_bytes=CHUNK
    )
    edge = Edge(config)
    edge.disk.open()
    try:
        ns = type("NS", (), {"policy": config.namespaces[0].policy, "name": NS})()
        bare = Entry(f"{NS}/x", ObjectInfo(size=10 * CHUNK), "large", 0.0, 60.0)
        dated = Entry(f"{NS}/x", ObjectInfo(size=10 * CHUNK, last_modified=1.0), "large", 0.0, 60.0)
        assert not edge.chunkable(ns, bare)  # type: ignore[arg-type]
        assert edge.chunkable(ns, dated)  # type: ignore[arg-type]
    finally:
        edge.disk.close()
