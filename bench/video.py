"""HLS video and a 1 GB download through a far-away origin.

Video: a real VOD rendition (ffmpeg testsrc, 2 s segments) behind the WAN proxy. Startup is
the time from the playlist request to the first segment's last byte, each over a new
connection, for the origin directly, the edge with a cold cache and the edge with it cached.
Then a scripted player (`bench/player.py`) plays at real-time pace through an edge with
prefetch and one without, and counts the segments after the first that were hits.

Large: one 1 GB object downloaded whole from the origin directly, through the edge with a
cold cache (chunks filled as they stream) and with a warm one.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import httpx

from bench.common import free_port, nginx, table, wan_proxy
from bench.edge import BENCH_KEY, edge
from bench.player import play

RTT_MS = float(os.environ.get("BENCH_WAN_RTT_MS", "100"))
MBPS = float(os.environ.get("BENCH_WAN_MBPS", "160"))  # 20 MB/s per connection
LARGE_MBPS = float(os.environ.get("BENCH_LARGE_MBPS", "800"))  # 100 MB/s for the 1 GB object
STARTUP_RUNS = 5
PLAYER_SEGMENTS = int(os.environ.get("BENCH_PLAYER_SEGMENTS", "10"))
SEGMENT_SECONDS = 2
MB = 1024 * 1024
GB = 1024 * MB
AUTH = {"Authorization": f"Bearer {BENCH_KEY}"}


def rendition(out: Path, seconds: int) -> None:
    out.mkdir(parents=True)
    subprocess.run(
        [
            shutil.which("ffmpeg") or "ffmpeg",
            *("-hide_banner", "-loglevel", "error", "-f", "lavfi"),
            *("-i", "testsrc=size=1280x720:rate=25", "-t", str(seconds)),
            *("-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-sc_threshold", "0"),
            *("-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod"),
            *("-hls_segment_filename", str(out / "seg%03d.ts"), str(out / "index.m3u8")),
        ],
        check=True,
    )


async def startup(url: str, key: str, headers: dict[str, str]) -> float:
    async with httpx.AsyncClient(timeout=60) as client:  # a new connection, as a new viewer
        run = await play(client, url, key, headers, segment_seconds=SEGMENT_SECONDS, segments=1)
    return run.startup_seconds


async def player(url: str, key: str) -> tuple[float, int]:
    async with httpx.AsyncClient(timeout=60) as client:
        run = await play(
            client, url, key, AUTH, segment_seconds=SEGMENT_SECONDS, segments=PLAYER_SEGMENTS
        )
    return run.hit_rate(), run.stalls


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def run_video(workdir: Path) -> str:
    root = workdir / "origin"
    names = [f"vod-{i}" for i in range(2 * STARTUP_RUNS + 2)]
    rendition(root / names[0], PLAYER_SEGMENTS * SEGMENT_SECONDS)
    for name in names[1:]:
        shutil.copytree(root / names[0], root / name)
    origin_port = free_port()
    with (
        wan_proxy(origin_port, rtt_ms=RTT_MS, mbps=MBPS) as wan_port,
        nginx(workdir / "nginx", root, origin_port=origin_port, upstream_port=wan_port),
        edge(workdir / "edge", f"http://127.0.0.1:{wan_port}") as edge_url,
        edge(
            workdir / "edge-noprefetch",
            f"http://127.0.0.1:{wan_port}",
            extra_namespace="prefetch_segments = 0",
        ) as plain_url,
    ):
        far = f"http://127.0.0.1:{wan_port}"
        direct, cold, warm = [], [], []
        for i in range(STARTUP_RUNS):
            key = f"{names[i]}/index.m3u8"
            direct.append(asyncio.run(startup(f"{far}/{key}", key, {})))
            cold.append(asyncio.run(startup(f"{edge_url}/o/bench/{key}", key, AUTH)))
            warm.append(asyncio.run(startup(f"{edge_url}/o/bench/{key}", key, AUTH)))
        with_prefetch = asyncio.run(
            player(f"{edge_url}/o/bench/{names[-2]}/index.m3u8", f"{names[-2]}/index.m3u8")
        )
        without = asyncio.run(
            player(f"{plain_url}/o/bench/{names[-1]}/index.m3u8", f"{names[-1]}/index.m3u8")
        )
    d, c, w = (statistics.median(x) for x in (direct, cold, warm))
    startup_rows = [
        ["direct origin", ms(d), "1.00×"],
        ["edge, cold cache", ms(c), f"{d / c:.2f}×"],
        ["edge, cached", ms(w), f"{d / w:.0f}×"],
    ]
    player_rows = [
        ["edge with prefetch (3 segments)", f"{with_prefetch[0]:.0%}", str(with_prefetch[1])],
        ["edge without prefetch", f"{without[0]:.0%}", str(without[1])],
    ]
    print(startup_rows, player_rows, flush=True)
    return (
        "## HLS video through a far-away origin\n\n"
        f"A 720p VOD rendition made by ffmpeg (testsrc, {SEGMENT_SECONDS} s segments) behind the "
        f"WAN proxy ({RTT_MS:.0f} ms round trip, {MBPS / 8:.0f} MB/s per connection). Startup: "
        "playlist request to the first segment's last byte, each viewer on a new connection, "
        f"median of {STARTUP_RUNS} renditions. Goal: under 500 ms cold-ish, under 50 ms "
        "warm.\n\n"
        + table(["startup", "ms", "speed-up vs direct"], startup_rows)
        + f"\n\nA player at real-time pace ({PLAYER_SEGMENTS} segments; segment k is asked for "
        "while segment k-1 plays) counts the segments after the first that were hits, and "
        "the segments that arrived after they were due (stalls).\n\n"
        + table(["player", "hit rate after segment 0", "stalls"], player_rows)
        + "\n"
    )


def download(client: httpx.Client, url: str, headers: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    size = 0
    with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            size += len(chunk)
    return time.perf_counter() - started, size


def run_large(workdir: Path) -> str:
    root = workdir / "origin"
    root.mkdir(parents=True)
    with (root / "big.bin").open("wb") as f:
        for _ in range(GB // (64 * MB)):
            f.write(os.urandom(64 * MB))
    origin_port = free_port()
    with (
        wan_proxy(origin_port, rtt_ms=RTT_MS, mbps=LARGE_MBPS) as wan_port,
        nginx(workdir / "nginx", root, origin_port=origin_port, upstream_port=wan_port),
        edge(workdir / "edge", f"http://127.0.0.1:{wan_port}") as edge_url,
        httpx.Client(timeout=600) as client,
    ):
        direct = download(client, f"http://127.0.0.1:{wan_port}/big.bin", {})
        cold = download(client, f"{edge_url}/o/bench/big.bin", AUTH)
        warm = download(client, f"{edge_url}/o/bench/big.bin", AUTH)
    assert direct[1] == cold[1] == warm[1] == GB

    def row(name: str, took: float) -> list[str]:
        return [name, f"{took:.2f}", f"{GB / MB / took:,.0f}", f"{direct[0] / took:.2f}×"]

    rows = [row("direct origin", direct[0]), row("edge, cold", cold[0]), row("edge, warm", warm[0])]
    print(rows, flush=True)
    return (
        "## A 1 GB object, downloaded whole\n\n"
        f"Through the WAN proxy ({RTT_MS:.0f} ms round trip, {LARGE_MBPS / 8:.0f} MB/s per "
        "connection). Cold: the edge streams the origin's response to the client while it "
        "writes the chunks; warm: every chunk is on the edge's disk.\n\n"
        + table(["download", "seconds", "MB/s", "vs direct"], rows)
        + "\n"
    )
