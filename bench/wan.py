"""Misses and hits with a far-away origin: the WAN proxy adds a round trip and a per-connection
bandwidth cap in front of an nginx static origin, like a distant S3 region.

Compares, on the same machine in the same run: a client fetching from that origin directly, the
edge on a miss (its overhead) and on a hit (the speedup a user sees), and 200 concurrent cold
clients through the edge and through nginx proxy_cache (with proxy_cache_lock on).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from pathlib import Path

import httpx

from bench.common import free_port, nginx, origin_requests, table, wan_proxy
from bench.edge import BENCH_KEY, edge

RTT_MS = float(os.environ.get("BENCH_WAN_RTT_MS", "100"))
MBPS = float(os.environ.get("BENCH_WAN_MBPS", "160"))  # 20 MB/s per connection
MB = 1024 * 1024
SIZES = [("1 MB", MB), ("20 MB", 20 * MB)]
COLD_RUNS = int(os.environ.get("BENCH_WAN_COLD_RUNS", "5"))
HIT_RUNS = 50
CLIENTS = 200
AUTH = {"Authorization": f"Bearer {BENCH_KEY}"}


def timed(
    client: httpx.Client, url: str, headers: dict[str, str] | None = None
) -> tuple[float, float, int]:
    """(TTFB s, total s, bytes)."""
    started = time.perf_counter()
    first = 0.0
    size = 0
    with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            first = first or time.perf_counter() - started
            size += len(chunk)
    return first, time.perf_counter() - started, size


async def crowd(url: str, headers: dict[str, str]) -> list[float]:
    """TTFB of CLIENTS concurrent GETs of one URL."""

    async def one(client: httpx.AsyncClient) -> float:
        started = time.perf_counter()
        async with client.stream("GET", url, headers=headers) as response:
            first = 0.0
            async for _ in response.aiter_raw():
                first = first or time.perf_counter() - started
        return first

    limits = httpx.Limits(max_connections=CLIENTS + 8)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        return await asyncio.gather(*(one(client) for _ in range(CLIENTS)))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def run(workdir: Path) -> str:
    root = workdir / "origin"
    root.mkdir(parents=True)
    for _, size in SIZES:
        for i in range(COLD_RUNS + 1):
            (root / f"{size}-{i}.bin").write_bytes(os.urandom(size))
    (root / "crowd.bin").write_bytes(os.urandom(50 * MB))
    (root / "crowd-nginx.bin").write_bytes(os.urandom(50 * MB))
    origin_port = free_port()
    rows, crowd_rows = [], []
    with (
        wan_proxy(origin_port, rtt_ms=RTT_MS, mbps=MBPS) as wan_port,
        nginx(workdir / "nginx", root, origin_port=origin_port, upstream_port=wan_port) as (
            _,
            nginx_url,
        ),
        edge(workdir / "edge", f"http://127.0.0.1:{wan_port}") as edge_url,
        httpx.Client(timeout=120) as client,
    ):
        far = f"http://127.0.0.1:{wan_port}"
        for label, size in SIZES:
            direct = [timed(client, f"{far}/{size}-{i}.bin") for i in range(COLD_RUNS)]
            miss = [
                timed(client, f"{edge_url}/o/bench/{size}-{i}.bin", AUTH) for i in range(COLD_RUNS)
            ]
            hits = [
                timed(client, f"{edge_url}/o/bench/{size}-0.bin", AUTH) for _ in range(HIT_RUNS)
            ]
            rows += report_size(label, size, direct, miss, hits)
        edge_ttfb = asyncio.run(crowd(f"{edge_url}/o/bench/crowd.bin", AUTH))
        nginx_ttfb = asyncio.run(crowd(f"{nginx_url}/crowd-nginx.bin", {}))
        for name, ttfbs, path in (
            ("edge", edge_ttfb, "/crowd.bin"),
            ("nginx proxy_cache (lock on)", nginx_ttfb, "/crowd-nginx.bin"),
        ):
            crowd_rows.append(
                [
                    name,
                    str(origin_requests(workdir / "nginx", path)),
                    ms(statistics.median(ttfbs)),
                    ms(statistics.quantiles(ttfbs, n=20)[-1]),
                    ms(max(ttfbs)),
                ]
            )
    print("\n".join(" | ".join(r) for r in rows + crowd_rows), flush=True)
    return (
        "## Through a far-away origin: miss overhead, hit speedup, 200 cold clients\n\n"
        f"The WAN proxy (`bench/wan_origin.py`) adds {RTT_MS:.0f} ms of round trip and caps each "
        f"connection at {MBPS / 8:.0f} MB/s in front of an nginx static origin. Direct = a "
        f"client fetching from that origin itself. Misses: the median of {COLD_RUNS} cold "
        f"objects each; hits: {HIT_RUNS} requests. Targets: miss overhead ≤ 5 ms TTFB and "
        "≥ 0.9× throughput; hits under 50 ms P95.\n\n"
        + table(["measurement", "direct origin", "edge", "edge vs direct"], rows)
        + f"\n\n{CLIENTS} clients ask for the same cold 50 MB object at once (target: 1 origin "
        "request). TTFB in ms; nginx's cache lock makes waiters sit until the fill completes, "
        "the edge streams to all of them while it fills.\n\n"
        + table(["server", "origin requests", "TTFB median", "TTFB P95", "TTFB max"], crowd_rows)
        + "\n"
    )


def report_size(
    label: str,
    size: int,
    direct: list[tuple[float, float, int]],
    miss: list[tuple[float, float, int]],
    hits: list[tuple[float, float, int]],
) -> list[list[str]]:
    def med(runs: list[tuple[float, float, int]], i: int) -> float:
        return statistics.median(r[i] for r in runs)

    hit_totals = sorted(h[1] for h in hits)
    p95 = hit_totals[int(len(hit_totals) * 0.95) - 1]
    d_ttfb, m_ttfb = med(direct, 0), med(miss, 0)
    d_total, m_total, h_total = med(direct, 1), med(miss, 1), statistics.median(hit_totals)
    return [
        [f"{label} miss: TTFB ms", ms(d_ttfb), ms(m_ttfb), f"{(m_ttfb - d_ttfb) * 1000:+.1f} ms"],
        [
            f"{label} miss: full download ms",
            ms(d_total),
            ms(m_total),
            f"{d_total / m_total:.2f}× throughput",
        ],
        [
            f"{label} hit: full download ms, median / P95",
            ms(d_total),
            f"{ms(h_total)} / {ms(p95)}",
            f"{d_total / h_total:,.0f}× faster",
        ],
    ]
