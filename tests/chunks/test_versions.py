"""Issue 5, acceptance 2: chunks are pinned to the object's version. An object overwritten at
the origin between two ranged reads is never served as a mix of old and new chunks."""

from __future__ import annotations

import os
from pathlib import Path

from agentcache.config import Config
from tests.chunks.conftest import chunk_config
from tests.conftest import AUTH, Clock, client_for, running
from tests.support.origins import OriginUnderTest

CHUNK = 64 * 1024
SIZE = 10 * CHUNK
KEY = "big/data.bin"
URL = f"/o/tenant-a/{KEY}"


def ranged(start: int, end: int, **extra: str) -> dict[str, str]:
    return {**AUTH, "range": f"bytes={start}-{end - 1}", **extra}


def two_versions(origin: OriginUnderTest, tmp_path: Path) -> tuple[bytes, bytes, Config]:
    """The old bytes (seeded now), the new bytes (for the test to seed), and the config."""
    old, new = os.urandom(SIZE), os.urandom(SIZE)
    origin.seed(KEY, old)
    return old, new, chunk_config(tmp_path / "cache", origin.spec, chunk_bytes=CHUNK)


async def test_second_read_after_overwrite_is_entirely_the_new_version(
    tmp_path: Path, origin: OriginUnderTest, clock: Clock
) -> None:
    old, new, config = two_versions(origin, tmp_path)
    async with running(config, clock) as app, client_for(app) as client:
        first = await client.get(URL, headers=ranged(CHUNK + 10, CHUNK + 1000))
        assert first.content == old[CHUNK + 10 : CHUNK + 1000]
        old_etag = first.headers["etag"]
        await app.edge.settle()  # chunk 1's fill has finished
        origin.seed(KEY, new)
        # Chunk 1 is cached (old), chunk 2 is not: stitching them would mix versions.
        second = await client.get(URL, headers=ranged(CHUNK + 10, 3 * CHUNK - 10))
        assert second.status_code == 206
        assert second.content == new[CHUNK + 10 : 3 * CHUNK - 10]
        assert second.headers["etag"] != old_etag
        # And every later read, cached or not, is the new version.
        whole = await client.get(URL, headers=AUTH)
        assert whole.content == new


async def test_if_match_on_the_old_version_is_412_never_old_bytes(
    tmp_path: Path, origin: OriginUnderTest, clock: Clock
) -> None:
    _old, new, config = two_versions(origin, tmp_path)
    async with running(config, clock) as app, client_for(app) as client:
        first = await client.get(URL, headers=ranged(0, 100))
        old_etag = first.headers["etag"]
        origin.seed(KEY, new)
        stale = await client.get(
            URL, headers=ranged(4 * CHUNK, 5 * CHUNK, **{"if-match": old_etag})
        )
        assert stale.status_code == 412
        assert stale.json()["error"] == "precondition_failed"
        # If-Range with the old validator: the whole new object, not a range of either.
        full = await client.get(URL, headers=ranged(6 * CHUNK, 7 * CHUNK, **{"if-range": old_etag}))
        assert full.status_code == 200
        assert full.content == new


async def test_expired_chunked_copy_is_revalidated_by_head_and_kept_if_unchanged(
    tmp_path: Path, origin: OriginUnderTest, clock: Clock
) -> None:
    body = os.urandom(SIZE)
    origin.seed(KEY, body)
    config = chunk_config(tmp_path / "cache", origin.spec, chunk_bytes=CHUNK, large_ttl_seconds=60)
    async with running(config, clock) as app, client_for(app) as client:
        assert (await client.get(URL, headers=AUTH)).content == body
        await app.edge.settle()
        clock.advance(61)
        again = await client.get(URL, headers=ranged(CHUNK, 2 * CHUNK))
        assert again.headers["x-cache"] == "REVALIDATED"
        assert again.content == body[CHUNK : 2 * CHUNK]
        assert (await client.get(URL, headers=AUTH)).headers["x-cache"] == "HIT"
