"""Large objects in chunks: an edge whose namespace chunks everything from a tiny threshold,
against the HTTP test origin, which logs every read's Range and the bytes it sent."""

from __future__ import annotations

import os
from pathlib import Path

from agentcache.config import CacheConfig, Config, NamespaceConfig, OriginSpec
from agentcache.policy.classify import ClassPolicy
from tests.conftest import ADMIN_KEY, NS, NS_KEY
from tests.support.origins import HttpOriginUnderTest, http_test_origin


def chunk_config(
    cache_dir: Path,
    origin: OriginSpec,
    *,
    chunk_bytes: int,
    threshold: int = 1,
    block_bytes: int = 4096,
    readahead_bytes: int | None = None,
    **policy: int,
) -> Config:
    return Config(
        cache=CacheConfig(
            dir=cache_dir,
            chunk_bytes=chunk_bytes,
            block_bytes=block_bytes,
            readahead_bytes=readahead_bytes or 4 * chunk_bytes,
        ),
        origin=OriginSpec(url=f"file://{cache_dir.parent / 'unused-origin'}"),
        namespaces=(
            NamespaceConfig(
                NS, NS_KEY, origin, policy=ClassPolicy(large_threshold_bytes=threshold, **policy)
            ),
        ),
        admin_key=ADMIN_KEY,
    )


def seeded_http(url: str, root: Path, key: str, body: bytes) -> HttpOriginUnderTest:
    origin = http_test_origin(url, root)
    assert isinstance(origin, HttpOriginUnderTest)
    origin.seed(key, body)
    return origin


def chunks_fetched(reads: list[dict[str, object]], size: int, chunk_bytes: int) -> list[int]:
    """The chunks each origin GET transferred, asserting each asked for whole chunks."""
    fetched: list[int] = []
    for read in reads:
        if read["method"] != "GET":
            continue
        header = read["range"]
        if header is None:
            start, end = 0, size
        else:
            assert isinstance(header, str) and header.startswith("bytes=")
            first, last = header[6:].split("-")
            start, end = int(first), min(int(last) + 1, size)
        assert start % chunk_bytes == 0, f"{header} does not start on a chunk"
        assert end == size or end % chunk_bytes == 0, f"{header} does not end on a chunk"
        fetched += range(start // chunk_bytes, -(-end // chunk_bytes))
    return fetched


def random_body(size: int) -> bytes:
    return os.urandom(size)
