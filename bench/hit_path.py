"""Hit path: nginx proxy_cache and the edge in front of the same origin, same wrk settings.

Rounds alternate the servers and the median round is reported, because a shared 2-core VM
drifts by ±10 % from one run to the next. A bare Granian ASGI app answering from memory is run
beside them for 10 KB: the ceiling any Python hit path on Granian can reach here.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

import httpx

from bench import profile
from bench.common import WrkResult, free_port, human_bytes, nginx, process, table, wrk
from bench.edge import BENCH_KEY, PIDS, edge

SIZES = [("10 KB", 10 * 1024, 32), ("1 MB", 1024 * 1024, 32), ("100 MB", 100 * 1024 * 1024, 4)]
SECONDS = int(os.environ.get("BENCH_SECONDS", "6"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
AUTH = {"Authorization": f"Bearer {BENCH_KEY}"}
PROFILE_SECONDS = 5


def median_run(runs: list[WrkResult]) -> WrkResult:
    middle = statistics.median_low([r.requests_per_second for r in runs])
    return next(r for r in runs if r.requests_per_second == middle)


def measure(urls: dict[str, str], conns: int) -> dict[str, WrkResult]:
    runs: dict[str, list[WrkResult]] = {name: [] for name in urls}
    for url in urls.values():  # warm-up, not counted
        wrk(url, connections=conns, seconds=1, headers=AUTH)
    for _ in range(ROUNDS):
        for name, url in urls.items():
            runs[name].append(wrk(url, connections=conns, seconds=SECONDS, headers=AUTH))
    return {name: median_run(r) for name, r in runs.items()}


def run(workdir: Path) -> str:
    origin_root = workdir / "origin"
    origin_root.mkdir(parents=True, exist_ok=True)
    for _, size, _ in SIZES:
        (origin_root / f"obj-{size}.bin").write_bytes(os.urandom(size))
    raw_port = free_port()
    raw = [sys.executable, str(Path(__file__).parent / "raw_asgi.py"), str(raw_port), "10240"]
    results = []
    with (
        nginx(workdir / "nginx", origin_root) as (origin_url, nginx_url),
        edge(workdir / "edge", origin_url) as edge_url,
        process(raw, ready_url=f"http://127.0.0.1:{raw_port}/", log=workdir / "raw.log"),
    ):
        for label, size, conns in SIZES:
            name = f"obj-{size}.bin"
            for _ in range(2):  # fill both caches; the edge's second read promotes to memory
                assert httpx.get(f"{nginx_url}/{name}").status_code == 200
                assert httpx.get(f"{edge_url}/o/bench/{name}", headers=AUTH).status_code == 200
            urls = {"nginx": f"{nginx_url}/{name}", "edge": f"{edge_url}/o/bench/{name}"}
            if size == 10 * 1024:
                urls["raw"] = f"http://127.0.0.1:{raw_port}/"
            got = measure(urls, conns)
            print(f"hit {label}: " + "; ".join(f"{k} {v}" for k, v in got.items()), flush=True)
            results.append((label, conns, got))
        folded = profile.sample(
            profile.worker_pid(PIDS[edge_url]),
            PROFILE_SECONDS,
            lambda: wrk(
                f"{edge_url}/o/bench/obj-10240.bin",
                connections=32,
                seconds=PROFILE_SECONDS,
                headers=AUTH,
            ),
        )
    return report(results) + (
        "\nWhere the edge worker's time goes on 10 KB hits (py-spy, sampling the worker "
        f"during a {PROFILE_SECONDS} s wrk run): {profile.summary(folded)}.\n"
    )


def report(results: list[tuple[str, int, dict[str, WrkResult]]]) -> str:
    rows = []
    raw_note = ""
    for label, conns, got in results:
        theirs, ours = got["nginx"], got["edge"]
        rows.append(
            [
                label,
                str(conns),
                f"{theirs.requests_per_second:,.0f}",
                f"{ours.requests_per_second:,.0f}",
                f"**{ours.requests_per_second / theirs.requests_per_second:.2f}×**",
                f"{human_bytes(theirs.bytes_per_second)}/s",
                f"{human_bytes(ours.bytes_per_second)}/s",
                f"**{ours.bytes_per_second / theirs.bytes_per_second:.2f}×**",
                f"{theirs.p50_ms:.2f} / {theirs.p99_ms:.2f}",
                f"{ours.p50_ms:.2f} / {ours.p99_ms:.2f}",
                f"**{ours.p99_ms / theirs.p99_ms:.2f}×**",
                f"{theirs.errors} / {ours.errors}",
            ]
        )
        if "raw" in got:
            raw = got["raw"]
            raw_note = (
                f"\nCeiling for {label}: a bare Granian ASGI callable sending the same headers "
                f"from memory served {raw.requests_per_second:,.0f} req/s "
                f"({raw.requests_per_second / theirs.requests_per_second:.2f}× nginx, P99 "
                f"{raw.p99_ms:.2f} ms); the edge reached "
                f"{ours.requests_per_second / raw.requests_per_second:.2f}× of that ceiling.\n"
            )
    header = [
        "object",
        "conns",
        "nginx req/s",
        "edge req/s",
        "edge/nginx req/s",
        "nginx throughput",
        "edge throughput",
        "edge/nginx throughput",
        "nginx P50/P99 ms",
        "edge P50/P99 ms",
        "P99 edge/nginx",
        "errors nginx/edge",
    ]
    return (
        "## Hit path: edge vs nginx proxy_cache\n\n"
        f"Both warm, in front of the same nginx static origin; `wrk -t1 -cN -d{SECONDS}s`, the "
        f"median of {ROUNDS} alternating rounds; one worker process each (2 cores: one for wrk, "
        "one for the server). The edge checks the namespace key on every request and serves "
        "10 KB and 1 MB from its memory tier, 100 MB from its disk tier (checksum-verified "
        "1 MiB blocks). Targets: ≥ 0.8× nginx req/s for 10 KB and 1 MB, ≥ 1.0× throughput for "
        "100 MB, P99 ≤ 1.5× nginx.\n\n" + table(header, rows) + "\n" + raw_note
    )
