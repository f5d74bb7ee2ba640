"""Issue 5, acceptance 4 (the deterministic half): after a player asks for the playlist and
segment 0, segments 1-3 are cached without being asked for; VOD and live playlists get their
own TTLs; namespaces with video streaming off get no prefetch."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from agentcache.config import Features
from tests.conftest import AUTH, Clock, client_for, make_config, running
from tests.support.hls import SEGMENTS, segment
from tests.support.origins import HttpOriginUnderTest, http_test_origin


def seeded(url: str, root: Path, rendition: Path) -> HttpOriginUnderTest:
    origin = http_test_origin(url, root)
    assert isinstance(origin, HttpOriginUnderTest)
    for path in rendition.iterdir():
        origin.seed(f"vod/{path.name}", path.read_bytes())
    return origin


def fetched_segments(origin: HttpOriginUnderTest) -> list[int]:
    return [
        index
        for index in range(SEGMENTS)
        for read in origin.reads(f"vod/{segment(index)}")
        if read["method"] == "GET"
    ]


async def test_playlist_and_first_segment_bring_the_next_three_segments(
    tmp_path: Path, http_origin_url: str, http_origin_root: Path, rendition: Path, clock: Clock
) -> None:
    origin = seeded(http_origin_url, http_origin_root, rendition)
    async with (
        running(make_config(tmp_path / "cache", origin.spec), clock) as app,
        client_for(app) as client,
    ):
        playlist = await client.get("/o/tenant-a/vod/index.m3u8", headers=AUTH)
        assert playlist.status_code == 200
        first = await client.get(f"/o/tenant-a/vod/{segment(0)}", headers=AUTH)
        assert first.content == (rendition / segment(0)).read_bytes()
        await app.edge.settle()
        assert fetched_segments(origin) == [0, 1, 2, 3]  # each once, none further
        for index in (1, 2, 3):
            got = await client.get(f"/o/tenant-a/vod/{segment(index)}", headers=AUTH)
            assert got.headers["x-cache"] == "HIT"
            assert got.content == (rendition / segment(index)).read_bytes()
        await app.edge.settle()
        # Each of those requests moved the window: segments up to 6 are on their way.
        assert fetched_segments(origin) == [0, 1, 2, 3, 4, 5, 6]
        # A finished (VOD) playlist is kept for the video TTL, not the live one.
        again = await client.get("/o/tenant-a/vod/index.m3u8", headers=AUTH)
        assert again.headers["x-cache"] == "HIT"
        assert again.headers["cache-control"] == "private, max-age=21600"


async def test_no_prefetch_when_video_streaming_is_off(
    tmp_path: Path, http_origin_url: str, http_origin_root: Path, rendition: Path, clock: Clock
) -> None:
    origin = seeded(http_origin_url, http_origin_root, rendition)
    config = make_config(tmp_path / "cache", origin.spec)
    ns = replace(config.namespaces[0], features=Features(video_streaming=False))
    async with running(replace(config, namespaces=(ns,)), clock) as app, client_for(app) as client:
        await client.get("/o/tenant-a/vod/index.m3u8", headers=AUTH)
        await client.get(f"/o/tenant-a/vod/{segment(0)}", headers=AUTH)
        await app.edge.settle()
        assert fetched_segments(origin) == [0]


async def test_live_playlist_keeps_the_short_ttl_and_prefetches_its_newest_segments(
    tmp_path: Path, http_origin_url: str, http_origin_root: Path, rendition: Path, clock: Clock
) -> None:
    origin = seeded(http_origin_url, http_origin_root, rendition)
    vod = (rendition / "index.m3u8").read_text()
    live = vod.replace("#EXT-X-ENDLIST\n", "").replace("#EXT-X-PLAYLIST-TYPE:VOD\n", "")
    origin.seed("vod/live.m3u8", live.encode())
    async with (
        running(make_config(tmp_path / "cache", origin.spec), clock) as app,
        client_for(app) as client,
    ):
        await client.get("/o/tenant-a/vod/live.m3u8", headers=AUTH)
        await app.edge.settle()
        again = await client.get("/o/tenant-a/vod/live.m3u8", headers=AUTH)
        assert again.headers["cache-control"] == "private, max-age=2"
        assert fetched_segments(origin) == [17, 18, 19]  # where a live player starts
