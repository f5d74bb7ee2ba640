"""Issue 5, acceptance 4 (the real-time half): a player at real-time pace, through a real edge
process in front of a far-away origin, sees only hits after segment 0."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from bench.common import wan_proxy
from bench.player import play

from tests.e2e.conftest import EDGE_KEY, EdgeProcess, write_config
from tests.support.hls import SEGMENT_SECONDS, SEGMENTS
from tests.support.origins import http_test_origin

AUTH = {"Authorization": f"Bearer {EDGE_KEY}"}


def test_player_at_real_time_pace_sees_only_hits_after_segment_0(
    tmp_path: Path,
    edge_factory: type[EdgeProcess],
    http_origin_url: str,
    http_origin_root: Path,
    rendition: Path,
) -> None:
    origin = http_test_origin(http_origin_url, http_origin_root)
    for path in rendition.iterdir():
        origin.seed(f"e2e/vod/{path.name}", path.read_bytes())  # namespace e2e's prefix
    port = int(http_origin_url.rsplit(":", 1)[1])
    with wan_proxy(port, rtt_ms=100, mbps=160) as wan_port:  # 100 ms away, 20 MB/s
        origin_url = f"http://127.0.0.1:{wan_port}/{origin.prefix}"
        edge = edge_factory(write_config(tmp_path / "agentcache.toml", f'url = "{origin_url}"'))
        edge.start()

        async def player() -> list[str]:
            async with httpx.AsyncClient(timeout=30) as client:
                run = await play(
                    client,
                    f"{edge.url}/o/e2e/vod/index.m3u8",
                    "vod/index.m3u8",
                    AUTH,
                    segment_seconds=SEGMENT_SECONDS,
                )
            return run.results

        results = asyncio.run(player())
    assert len(results) == SEGMENTS
    assert results[0] == "MISS"
    assert results[1:] == ["HIT"] * (SEGMENTS - 1)
