"""Disk tier: crash-safe commits, checksums, eviction, survival across restarts."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from agentcache.entry import Entry, ObjectInfo
from agentcache.errors import CorruptEntry
from agentcache.storage.checksum import BlockHasher
from agentcache.storage.disk import DiskTier

BLOCK = 4096


def entry(key: str, size: int) -> Entry:
    return Entry(
        key,
        ObjectInfo(size, f'"{key}-{size}"', 1.0, "application/octet-stream"),
        "small",
        1000.0,
        3600,
    )


def store(disk: DiskTier, key: str, body: bytes) -> None:
    path, fd = disk.spool()
    os.pwrite(fd, body, 0)
    hasher = BlockHasher(BLOCK)
    hasher.update(body)
    disk.commit(entry(key, len(body)), path, fd, hasher.finish(), BLOCK)
    os.close(fd)
    path.unlink()


async def read_all(disk: DiskTier, key: str) -> bytes | None:
    found = await disk.get(key)
    if found is None:
        return None
    return b"".join([part async for part in found.read(0, found.entry.info.size)])


@pytest.fixture
def disk(tmp_path: Path) -> DiskTier:
    tier = DiskTier(tmp_path / "cache", max_bytes=100_000)
    tier.open()
    yield tier
    tier.close()


async def test_round_trip_and_ranges(disk: DiskTier) -> None:
    body = os.urandom(10_000)
    store(disk, "ns/a", body)
    assert await read_all(disk, "ns/a") == body
    found = await disk.get("ns/a")
    assert found is not None
    assert b"".join([p async for p in found.read(4000, 8193)]) == body[4000:8193]


async def test_survives_restart(tmp_path: Path) -> None:
    body = os.urandom(9000)
    first = DiskTier(tmp_path / "c", max_bytes=10**6)
    first.open()
    store(first, "ns/k", body)
    first.close()
    second = DiskTier(tmp_path / "c", max_bytes=10**6)
    second.open()
    assert await read_all(second, "ns/k") == body
    assert second.used_bytes() == len(body)
    second.close()


async def test_flipped_byte_is_detected_not_served(disk: DiskTier) -> None:
    body = os.urandom(3 * BLOCK)
    store(disk, "ns/a", body)
    found = await disk.get("ns/a")
    assert found is not None
    with open(found.path, "r+b") as f:
        f.seek(BLOCK + 7)
        original = f.read(1)
        f.seek(BLOCK + 7)
        f.write(bytes([original[0] ^ 0xFF]))
    pieces = found.read(0, len(body))
    assert await anext(pieces) == body[:BLOCK]  # block 0 is intact and verified
    with pytest.raises(CorruptEntry):
        await anext(pieces)


async def test_truncated_or_missing_body_is_corrupt(disk: DiskTier) -> None:
    store(disk, "ns/a", os.urandom(5000))
    found = await disk.get("ns/a")
    assert found is not None
    os.truncate(found.path, 100)
    with pytest.raises(CorruptEntry):
        await read_all(disk, "ns/a")
    found.path.unlink()
    with pytest.raises(CorruptEntry):
        await read_all(disk, "ns/a")


async def test_interrupted_writes_leave_nothing_servable(tmp_path: Path) -> None:
    """A crash mid-fill leaves a spool file; a crash between rename and index leaves an
    unindexed body. Neither can ever be served, and both are removed at the next start."""
    disk = DiskTier(tmp_path / "c", max_bytes=10**6)
    disk.open()
    _spool, fd = disk.spool()
    os.write(fd, b"half a body")
    os.close(fd)
    orphan = disk.bodies / "ab" / "abcdef.1234"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"renamed but never indexed")
    assert await disk.get("ns/a") is None
    # Simulate the crash: keep the spool directory, drop its owner's lock (as death would).
    dead = disk.tmp_root / "999999999-dead"
    disk.tmp.rename(dead)
    disk.close()
    assert dead.exists()
    again = DiskTier(tmp_path / "c", max_bytes=10**6)
    again.open()
    assert not dead.exists()
    assert not orphan.exists()
    assert await again.get("ns/a") is None
    again.close()


async def test_size_bound_holds_and_evicts_least_recently_used(disk: DiskTier) -> None:
    for i in range(30):
        store(disk, f"ns/{i}", os.urandom(10_000))
        assert disk.used_bytes() <= disk.max_bytes
        await disk.get("ns/0")  # keep the first one hot
    assert disk.used_bytes() <= disk.max_bytes
    assert await disk.get("ns/0") is not None
    assert await disk.get("ns/1") is None
    files = [p for p in disk.bodies.glob("*/*")]
    assert sum(p.stat().st_size for p in files) == disk.used_bytes()


async def test_overwrite_replaces_body_and_accounting(disk: DiskTier) -> None:
    store(disk, "ns/a", os.urandom(8000))
    store(disk, "ns/a", b"short")
    assert await read_all(disk, "ns/a") == b"short"
    assert disk.used_bytes() == 5
    assert len(list(disk.bodies.glob("*/*"))) == 1


async def test_renew_rewrites_metadata_only(disk: DiskTier) -> None:
    store(disk, "ns/a", b"body")
    found = await disk.get("ns/a")
    assert found is not None
    before = found.path.stat()
    await disk.renew("ns/a", replace(found.entry, stored_at=5000.0))
    again = await disk.get("ns/a")
    assert again is not None
    assert again.entry.stored_at == 5000.0
    after = again.path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


async def test_delete_prefix_only_touches_that_prefix(disk: DiskTier) -> None:
    store(disk, "a/x", b"1")
    store(disk, "a/y", b"2")
    store(disk, "a_b/z", b"3")  # '_' is a LIKE wildcard: must be escaped
    store(disk, "ab/z", b"4")
    assert await disk.delete_prefix("a/") == 2
    assert await disk.get("a_b/z") is not None
    assert await disk.get("ab/z") is not None
    assert disk.used_bytes() == 2


async def test_a_second_worker_leaves_live_spools_alone(tmp_path: Path) -> None:
    first = DiskTier(tmp_path / "c", max_bytes=10**6)
    first.open()
    path, fd = first.spool()
    os.close(fd)
    second = DiskTier(tmp_path / "c", max_bytes=10**6)
    second.open()  # start-up cleaning must not touch a living process's fill
    assert path.exists()
    second.close()
    first.close()
