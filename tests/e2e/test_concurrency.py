"""Issue 3's fault and load tests against a real edge process and a WAN-shaped real origin."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import psutil
import xxhash
from bench.common import wan_proxy

from tests.e2e.conftest import EDGE_KEY, EdgeProcess, write_config
from tests.support.origins import HttpOriginUnderTest, http_test_origin

AUTH = {"Authorization": f"Bearer {EDGE_KEY}"}
MB = 1024 * 1024


async def timed_get(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    first_byte: asyncio.Event | None = None,
) -> tuple[float, str, int, str]:
    """(time to first body byte, xxh3 of the body, body length, X-Cache)."""
    started = time.perf_counter()
    first = 0.0
    digest = xxhash.xxh3_64()
    length = 0
    async with client.stream("GET", url, headers=headers) as response:
        async for chunk in response.aiter_raw():
            if not first:
                first = time.perf_counter() - started
                if first_byte is not None:
                    first_byte.set()
            digest.update(chunk)
            length += len(chunk)
    return first, digest.hexdigest(), length, response.headers.get("x-cache", "")


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def seeded(url: str, root: Path, key: str, body: bytes) -> HttpOriginUnderTest:
    origin = http_test_origin(url, root)
    origin.seed(key, body)
    assert isinstance(origin, HttpOriginUnderTest)
    return origin


def test_200_concurrent_cold_gets_make_one_origin_request(
    tmp_path: Path, edge_factory: type[EdgeProcess], http_origin_url: str, http_origin_root: Path
) -> None:
    body = os.urandom(50 * MB)
    expected = xxhash.xxh3_64_hexdigest(body)
    origin = seeded(http_origin_url, http_origin_root, "e2e/cold.bin", body)
    # 40 ms round trip and 400 Mbit/s: the fill takes about a second, long enough for every
    # client to arrive while it is in flight.
    with wan_proxy(port_of(http_origin_url), rtt_ms=40, mbps=400) as wan_port:
        far_origin = f"http://127.0.0.1:{wan_port}"
        prefix_url = f"{far_origin}/{origin.prefix}"
        edge = edge_factory(write_config(tmp_path / "agentcache.toml", f'url = "{prefix_url}"'))
        edge.start()

        async def run() -> tuple[float, list[tuple[float, str, int, str]]]:
            limits = httpx.Limits(max_connections=256)
            async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                direct = await timed_get(client, f"{prefix_url}e2e/cold.bin", {})
                # The first client is timed alone; the other 199 arrive as its first byte does,
                # while the fill (about a second) is still in flight.
                first_byte = asyncio.Event()
                first_task = asyncio.create_task(
                    timed_get(client, f"{edge.url}/o/e2e/cold.bin", AUTH, first_byte)
                )
                await first_byte.wait()
                others = [timed_get(client, f"{edge.url}/o/e2e/cold.bin", AUTH) for _ in range(199)]
                return direct[0], await asyncio.gather(first_task, *others)

        direct_ttfb, results = asyncio.run(run())
    assert origin.count("e2e/cold.bin") == 2  # the direct measurement, and the edge's one fill
    assert all((digest, length) == (expected, len(body)) for _, digest, length, _ in results)
    assert all(x_cache == "MISS" for *_, x_cache in results)  # all joined the in-flight fill
    first_ttfb = results[0][0]
    print(f"first client's TTFB {first_ttfb * 1000:.1f} ms, origin's {direct_ttfb * 1000:.1f} ms")
    assert first_ttfb - direct_ttfb < 0.010, (first_ttfb, direct_ttfb)


def test_200_concurrent_gets_of_a_cold_chunk_make_one_origin_request(
    tmp_path: Path, edge_factory: type[EdgeProcess], http_origin_url: str, http_origin_root: Path
) -> None:
    """The same for one cold chunk of a large object whose other chunks are cached."""
    chunk = 5 * MB
    body = os.urandom(12 * chunk)
    origin = seeded(http_origin_url, http_origin_root, "e2e/chunked.bin", body)
    wanted = (7 * chunk + 1000, 8 * chunk - 1000)  # inside chunk 7
    expected = xxhash.xxh3_64_hexdigest(body[wanted[0] : wanted[1]])
    ranged = {**AUTH, "range": f"bytes={wanted[0]}-{wanted[1] - 1}"}
    # 40 ms round trip and 40 Mbit/s: the chunk takes about a second to arrive.
    with wan_proxy(port_of(http_origin_url), rtt_ms=40, mbps=40) as wan_port:
        prefix_url = f"http://127.0.0.1:{wan_port}/{origin.prefix}"
        edge = edge_factory(write_config(tmp_path / "agentcache.toml", f'url = "{prefix_url}"'))
        edge.start()
        url = f"{edge.url}/o/e2e/chunked.bin"
        warm = httpx.get(url, headers={**AUTH, "range": "bytes=0-99"}, timeout=30)
        assert warm.content == body[:100]  # the object is known now; chunk 7 is not cached

        async def run() -> tuple[float, list[tuple[float, str, int, str]]]:
            limits = httpx.Limits(max_connections=256)
            async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                direct = await timed_get(client, f"{prefix_url}e2e/chunked.bin", ranged)
                first_byte = asyncio.Event()
                first_task = asyncio.create_task(timed_get(client, url, ranged, first_byte))
                await first_byte.wait()
                others = [timed_get(client, url, ranged) for _ in range(199)]
                return direct[0], await asyncio.gather(first_task, *others)

        before = len(origin.reads("e2e/chunked.bin"))
        direct_ttfb, results = asyncio.run(run())
    reads = origin.reads("e2e/chunked.bin")[before:]
    edge_reads = [read for read in reads if read["range"] != ranged["range"]]  # not the direct one
    assert [read["range"] for read in edge_reads] == [f"bytes={7 * chunk}-{8 * chunk - 1}"]
    assert all(
        (digest, length) == (expected, wanted[1] - wanted[0]) for _, digest, length, _ in results
    )
    assert all(x_cache == "MISS" for *_, x_cache in results)
    first_ttfb = results[0][0]
    print(f"first client's TTFB {first_ttfb * 1000:.1f} ms, origin's {direct_ttfb * 1000:.1f} ms")
    assert first_ttfb - direct_ttfb < 0.010, (first_ttfb, direct_ttfb)


def test_sigkill_mid_fill_never_serves_a_truncated_object(
    tmp_path: Path, edge_factory: type[EdgeProcess], http_origin_url: str, http_origin_root: Path
) -> None:
    body = os.urandom(40 * MB)
    origin = seeded(http_origin_url, http_origin_root, "e2e/killed.bin", body)
    with wan_proxy(port_of(http_origin_url), rtt_ms=10, mbps=160) as wan_port:  # 20 MB/s
        far_origin = f"http://127.0.0.1:{wan_port}"
        config = write_config(tmp_path / "agentcache.toml", f'url = "{far_origin}/{origin.prefix}"')
        edge = edge_factory(config)
        edge.start()
        url = f"{edge.url}/o/e2e/killed.bin"
        received = 0
        with httpx.stream("GET", url, headers=AUTH, timeout=30) as response:
            assert response.headers["x-cache"] == "MISS"
            for chunk in response.iter_raw(MB):
                received += len(chunk)
                if received >= 10 * MB:
                    break
            assert edge.process is not None
            os.killpg(edge.process.pid, signal.SIGKILL)  # master and worker, mid-fill
            edge.process.wait(10)
            edge.process = None
        # A large object fills chunk by chunk: the chunks whose bytes were all written
        # before the kill are indexed, the chunk being written is not.
        kept = _chunks_indexed(tmp_path / "cache")
        assert kept, "no chunk survived the kill"
        before = len(origin.reads("e2e/killed.bin"))
        edge.start()
        again = httpx.get(url, headers=AUTH, timeout=60)
        assert (again.headers["x-cache"], again.content == body) == ("MISS", True)
        refetched = [read["range"] for read in origin.reads("e2e/killed.bin")[before:]]
        assert refetched == [f"bytes={len(kept) * 5 * MB}-{len(body) - 1}"]  # only what was lost
        assert httpx.get(url, headers=AUTH).headers["x-cache"] == "HIT"


def test_rss_stays_bounded_streaming_twenty_1gb_objects(
    tmp_path: Path, edge_factory: type[EdgeProcess]
) -> None:
    """20 concurrent 1 GB objects through a miss and then a hit. The objects are sparse files
    (made, not stored) with distinct bytes at both ends, so every response is checked."""
    gb = 1024 * MB
    origin_dir = tmp_path / "origin" / "e2e"
    origin_dir.mkdir(parents=True)
    marks = {}
    for i in range(20):
        head, tail = os.urandom(4096), os.urandom(4096)
        with (origin_dir / f"big-{i}.bin").open("wb") as f:
            f.write(head)
            f.seek(gb - len(tail))
            f.write(tail)
        marks[i] = (head, tail)
    config = write_config(
        tmp_path / "agentcache.toml",
        'url = "file://origin"',
        cache_extra='disk_max_bytes = "25GiB"',
    )
    edge = edge_factory(config)
    edge.start()
    assert edge.process is not None
    (worker,) = psutil.Process(edge.process.pid).children()

    async def fetch(client: httpx.AsyncClient, i: int) -> tuple[int, str]:
        head, tail = marks[i]
        length, first, last = 0, b"", b""
        async with client.stream("GET", f"{edge.url}/o/e2e/big-{i}.bin", headers=AUTH) as r:
            async for chunk in r.aiter_raw(MB):
                if length < 4096:
                    first += chunk[: 4096 - length]
                length += len(chunk)
                last = (last + chunk)[-4096:]
            assert (first, last) == (head, tail), f"object {i} differs"
            return length, r.headers["x-cache"]

    async def round_of_twenty() -> list[tuple[int, str]]:
        async with httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=32)) as c:
            return await asyncio.gather(*(fetch(c, i) for i in range(20)))

    try:
        misses = asyncio.run(round_of_twenty())
        hits = asyncio.run(round_of_twenty())
        status = Path(f"/proc/{worker.pid}/status").read_text().splitlines()
        peak_kib = int(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
    finally:
        edge.stop()
        shutil.rmtree(tmp_path / "cache", ignore_errors=True)  # 20 GB of cached bodies
        shutil.rmtree(tmp_path / "origin", ignore_errors=True)
    assert misses == [(gb, "MISS")] * 20
    assert hits == [(gb, "HIT")] * 20
    print(f"edge worker peak RSS streaming 20 x 1 GB (miss, then hit): {peak_kib / 1024:.0f} MB")
    assert peak_kib * 1024 < 300 * MB, f"peak RSS {peak_kib / 1024:.0f} MB"


def _chunks_indexed(cache_dir: Path) -> list[int]:
    with sqlite3.connect(cache_dir / "index.sqlite3") as db:
        return sorted(row[0] for row in db.execute("SELECT idx FROM chunks"))
