"""Read-ahead: a reader still on stored chunks has the next gap's run started a window ahead
of it, so it does not wait a round trip when it gets there."""

from __future__ import annotations

import os
from pathlib import Path

from agentcache.storage.bodies import ChunkedObject
from tests.chunks.conftest import chunk_config, chunks_fetched
from tests.conftest import AUTH, NS, Clock, client_for, running
from tests.support.origins import HttpOriginUnderTest, http_test_origin

CHUNK = 64 * 1024


async def test_second_gap_is_asked_for_while_the_reader_is_a_window_before_it(
    tmp_path: Path, http_origin_url: str, http_origin_root: Path, clock: Clock
) -> None:
    origin = http_test_origin(http_origin_url, http_origin_root)
    assert isinstance(origin, HttpOriginUnderTest)
    body = os.urandom(10 * CHUNK)
    origin.seed("ra.bin", body)
    config = chunk_config(tmp_path / "cache", origin.spec, chunk_bytes=CHUNK)  # window: 4 chunks
    async with running(config, clock) as app, client_for(app) as client:
        for first, last in ((0, 2), (4, 6)):  # stored: 0-2 and 4-6; gaps: 3 and 7-9
            ranged = {**AUTH, "range": f"bytes={first * CHUNK}-{(last + 1) * CHUNK - 1}"}
            await client.get("/o/tenant-a/ra.bin", headers=ranged)
        await app.edge.settle()
        edge = app.edge
        obj = await edge.lookup(f"{NS}/ra.bin")
        assert isinstance(obj, ChunkedObject)

        def asked_for(index: int) -> bool:
            ranges = [read["range"] for read in origin.reads("ra.bin")]
            started = f"bytes={index * CHUNK}-" in "".join(str(r) for r in ranges)
            return started or edge.chunks.run_for(obj, index) is not None

        pieces = edge.chunks.stream(edge.namespaces[NS], obj, 0, len(body))
        got = b""
        while len(got) < 3 * CHUNK + 1:  # up to the first byte of chunk 3
            got += await anext(pieces)
        assert asked_for(7)  # four chunks ahead of the reader, the second gap is on its way
        got += b"".join([piece async for piece in pieces])
        assert got == body
        await edge.settle()
        assert sorted(chunks_fetched(origin.reads("ra.bin"), len(body), CHUNK)) == list(range(10))
