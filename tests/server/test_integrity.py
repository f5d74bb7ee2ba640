"""Invariant 2 on the object path: a corrupt or vanished cache body is never served."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agentcache.server.app import EdgeApp
from tests.conftest import AUTH, NS, Clock, make_config, running
from tests.support.origins import OriginUnderTest, file_origin

BODY = os.urandom(3 * 1024 * 1024 + 5)  # four 1 MiB blocks, over the memory admission limit
URL = f"/o/{NS}/big.bin"


@pytest.fixture
def origin(tmp_path: Path) -> OriginUnderTest:
    made = file_origin(tmp_path / "origin")
    made.seed("big.bin", BODY)
    return made


@pytest.fixture
async def edge_app(tmp_path: Path, origin: OriginUnderTest, clock: Clock) -> AsyncIterator[EdgeApp]:
    config = make_config(tmp_path / "cache", origin.spec, memory_admit_max_bytes=1024 * 1024)
    async with running(config, clock) as app:
        yield app


def body_file(app: EdgeApp) -> Path:
    (path,) = app.edge.disk.bodies.glob("*/*")
    return path


def flip(path: Path, offset: int) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 0x01]))


async def test_served_from_disk_when_too_big_for_memory(client: httpx.AsyncClient) -> None:
    assert (await client.get(URL, headers=AUTH)).headers["x-cache"] == "MISS"
    hit = await client.get(URL, headers=AUTH)
    assert (hit.headers["x-cache"], hit.headers["x-cache-tier"]) == ("HIT", "disk")
    assert hit.content == BODY


async def test_corrupt_first_block_is_refetched(
    client: httpx.AsyncClient, edge_app: EdgeApp
) -> None:
    await client.get(URL, headers=AUTH)
    flip(body_file(edge_app), 10)
    again = await client.get(URL, headers=AUTH)
    assert (again.headers["x-cache"], again.content) == ("MISS", BODY)
    assert (await client.get(URL, headers=AUTH)).headers["x-cache"] == "HIT"


async def test_corrupt_range_outside_damage_is_still_served(
    client: httpx.AsyncClient, edge_app: EdgeApp
) -> None:
    await client.get(URL, headers=AUTH)
    flip(body_file(edge_app), 3 * 1024 * 1024)
    ranged = await client.get(URL, headers={**AUTH, "Range": "bytes=0-99"})
    assert (ranged.status_code, ranged.content) == (206, BODY[:100])


async def test_missing_body_file_is_a_miss(client: httpx.AsyncClient, edge_app: EdgeApp) -> None:
    await client.get(URL, headers=AUTH)
    body_file(edge_app).unlink()
    again = await client.get(URL, headers=AUTH)
    assert (again.headers["x-cache"], again.content) == ("MISS", BODY)
