"""Issue 5, acceptance 3 and the storage rules: a range of a huge object costs the origin only
the chunks it touches, and purge and eviction take every chunk of an object, gaps and all."""

from __future__ import annotations

import os
from pathlib import Path

from tests.chunks.conftest import chunk_config, chunks_fetched
from tests.conftest import AUTH, Clock, client_for, running
from tests.support.origins import HttpOriginUnderTest, http_test_origin

MB = 1024 * 1024
GB = 1024 * MB
CHUNK = 5 * MB


def sparse_object(path: Path, size: int, marks: dict[int, bytes]) -> None:
    """A `size`-byte file that is mostly holes, with random bytes written at `marks`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.truncate(size)
        for offset, data in marks.items():
            f.seek(offset)
            f.write(data)


async def test_middle_megabyte_of_2gb_object_costs_at_most_a_chunk_per_chunk_touched(
    tmp_path: Path, http_origin_url: str, http_origin_root: Path, clock: Clock
) -> None:
    middle = GB - MB // 2
    marked = os.urandom(3 * MB)  # covers the 1 MB asked for and the straddling range below
    origin = http_test_origin(http_origin_url, http_origin_root)
    assert isinstance(origin, HttpOriginUnderTest)
    key = "huge/2gb.bin"
    sparse_object(origin._path(key), 2 * GB, {middle - MB: marked})
    config = chunk_config(tmp_path / "cache", origin.spec, chunk_bytes=CHUNK, threshold=10 * MB)
    async with running(config, clock) as app, client_for(app) as client:
        url = f"/o/tenant-a/{key}"
        response = await client.get(
            url, headers={**AUTH, "range": f"bytes={middle}-{middle + MB - 1}"}
        )
        assert response.status_code == 206
        assert response.headers["content-range"] == f"bytes {middle}-{middle + MB - 1}/{2 * GB}"
        assert response.content == marked[MB : 2 * MB]
        await app.edge.settle()
        reads = origin.reads(key)
        touched = {middle // CHUNK, (middle + MB - 1) // CHUNK}
        assert set(chunks_fetched(reads, 2 * GB, CHUNK)) == touched
        sent = sum(int(str(read["bytes"])) for read in reads)
        assert sent <= CHUNK * len(touched)
        # A range across a chunk boundary touches two chunks; the cached one costs nothing.
        boundary = (middle // CHUNK + 1) * CHUNK
        across = await client.get(
            url, headers={**AUTH, "range": f"bytes={boundary - 1000}-{boundary + 999}"}
        )
        start = boundary - 1000 - (middle - MB)
        assert across.content == marked[start : start + 2000]
        await app.edge.settle()
        reads = origin.reads(key)
        assert sum(int(str(read["bytes"])) for read in reads) <= CHUNK * 2
        assert app.edge.disk.used_bytes() <= 2 * CHUNK


async def test_purge_and_eviction_remove_every_chunk_even_with_gaps(
    tmp_path: Path, http_origin_url: str, http_origin_root: Path, clock: Clock
) -> None:
    chunk = 64 * 1024
    origin = http_test_origin(http_origin_url, http_origin_root)
    body = os.urandom(20 * chunk)
    origin.seed("gappy.bin", body)
    origin.seed("other.bin", body)
    config = chunk_config(tmp_path / "cache", origin.spec, chunk_bytes=chunk)
    async with running(config, clock) as app, client_for(app) as client:
        edge = app.edge
        for index in (0, 3, 7, 19):  # chunks with gaps between them
            start = index * chunk + 5
            got = await client.get(
                "/o/tenant-a/gappy.bin", headers={**AUTH, "range": f"bytes={start}-{start + 9}"}
            )
            assert got.content == body[start : start + 10]
        await edge.settle()
        db = edge.disk.db
        assert db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == 4
        assert edge.disk.used_bytes() == 4 * chunk
        bodies = list((tmp_path / "cache" / "bodies").glob("*/*"))
        assert len(bodies) == 1

        purged = await client.post(
            "/api/portal/purge",
            json={"namespace": "tenant-a", "keys": ["gappy.bin"]},
            headers={"Authorization": "Bearer admin-key-for-tests-0123456789"},
        )
        assert purged.status_code == 200
        assert db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == 0
        assert edge.disk.used_bytes() == 0
        assert not any(path.exists() for path in bodies)

        # Eviction: a bound of 22 chunks. The gappy object keeps 5 chunks, then the other
        # object's 20 arrive and push it out, every chunk of it.
        edge.disk.max_bytes = 22 * chunk
        for index in (1, 4, 9, 12, 15):
            start = index * chunk
            await client.get(
                "/o/tenant-a/gappy.bin", headers={**AUTH, "range": f"bytes={start}-{start}"}
            )
        await edge.settle()
        assert db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == 5
        clock.advance(1)
        assert (await client.get("/o/tenant-a/other.bin", headers=AUTH)).content == body
        await edge.settle()
        assert edge.disk.used_bytes() == 20 * chunk
        keys = {row[0] for row in db.execute("SELECT key FROM entries")}
        assert keys == {"tenant-a/other.bin"}
        assert db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == 20
        assert len(list((tmp_path / "cache" / "bodies").glob("*/*"))) == 1
