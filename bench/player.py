"""A scripted HLS player: the playlist, then each segment in order at real-time pace (segment
k is asked for k segment-durations after the first segment arrived). Used by the HLS test and
the video benchmark."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from agentcache.policy.hls import parse_playlist


@dataclass
class PlayerRun:
    startup_seconds: float = 0.0  # playlist request to the first segment's last byte
    results: list[str] = field(default_factory=list)  # X-Cache of each segment, in order
    stalls: int = 0  # segments that arrived after they were due to play

    def hit_rate(self, skip_first: bool = True) -> float:
        counted = self.results[1:] if skip_first else self.results
        return sum(r == "HIT" for r in counted) / len(counted) if counted else 0.0


async def play(
    client: httpx.AsyncClient,
    playlist_url: str,
    playlist_key: str,
    headers: dict[str, str],
    *,
    segment_seconds: float,
    segments: int | None = None,
) -> PlayerRun:
    """Play `playlist_url`; segment keys are resolved the way the edge resolves them."""
    run = PlayerRun()
    started = time.perf_counter()
    playlist = await client.get(playlist_url, headers=headers)
    playlist.raise_for_status()
    keys = parse_playlist(playlist.content, playlist_key).segments[:segments]
    base = playlist_url[: len(playlist_url) - len(playlist_key)]
    playing_since = 0.0
    for index, key in enumerate(keys):
        if index:
            due = playing_since + index * segment_seconds
            await asyncio.sleep(max(0.0, due - time.perf_counter() - segment_seconds))
        response = await client.get(base + key, headers=headers)
        response.raise_for_status()
        arrived = time.perf_counter()
        if index == 0:
            run.startup_seconds = arrived - started
            playing_since = arrived
        elif arrived > playing_since + index * segment_seconds:
            run.stalls += 1
        run.results.append(response.headers.get("x-cache", ""))
    return run
