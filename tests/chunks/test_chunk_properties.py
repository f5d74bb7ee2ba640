"""Issue 5, acceptance 1: every response equals the reference bytes, and the origin is asked
for exactly the missing chunks each request touches, each chunk once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentcache.policy.ranges import parse_range
from tests.chunks.conftest import chunk_config, chunks_fetched, random_body, seeded_http
from tests.conftest import AUTH, Clock, client_for, running

CHUNK_SIZES = [1024, 4096, 10_000, 65_536]


@st.composite
def range_headers(draw: st.DrawFn, size: int) -> str | None:
    kind = draw(st.sampled_from(["full", "closed", "open", "suffix"]))
    if kind == "full":
        return None
    if kind == "suffix":
        return f"bytes=-{draw(st.integers(1, size + 10))}"
    start = draw(st.integers(0, max(size - 1, 0)))
    if kind == "open":
        return f"bytes={start}-"
    return f"bytes={start}-{draw(st.integers(start, size + 10))}"


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[int, int, list[str | None]]:
    chunk_bytes = draw(st.sampled_from(CHUNK_SIZES))
    size = draw(st.integers(1, 6 * chunk_bytes + 100))
    requests = draw(st.lists(range_headers(size), min_size=1, max_size=6))
    return chunk_bytes, size, requests


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_ranges_equal_reference_and_fetch_exactly_missing_chunks(
    scenario: tuple[int, int, list[str | None]],
    tmp_path: Path,
    http_origin_url: str,
    http_origin_root: Path,
) -> None:
    chunk_bytes, size, requests = scenario
    body = random_body(size)
    key = f"p/{uuid.uuid4().hex}.bin"
    origin = seeded_http(http_origin_url, http_origin_root, key, body)
    config = chunk_config(tmp_path / uuid.uuid4().hex, origin.spec, chunk_bytes=chunk_bytes)

    async def scenario_run() -> None:
        present: set[int] = set()
        async with running(config, Clock()) as app, client_for(app) as client:
            for header in requests:
                headers = dict(AUTH) if header is None else {**AUTH, "range": header}
                response = await client.get(f"/o/tenant-a/{key}", headers=headers)
                wanted = None if header is None else parse_range(header, size)
                start, end = (0, size) if wanted is None else (wanted.start, wanted.end)
                assert response.status_code == (200 if wanted is None else 206)
                assert response.content == body[start:end]
                await app.edge.settle()
                touched = set(range(start // chunk_bytes, -(-end // chunk_bytes)))
                fetched = chunks_fetched(origin.reads(key), size, chunk_bytes)
                assert sorted(fetched) == sorted(set(fetched)), "a chunk was fetched twice"
                assert set(fetched) == present | (touched - present)
                present |= touched

    asyncio.run(scenario_run())
