from __future__ import annotations

from agentcache.entry import Entry, ObjectInfo
from agentcache.storage.memory import MemoryTier


def entry(key: str, size: int) -> Entry:
    return Entry(key, ObjectInfo(size), "small", 0.0, 60)


def test_byte_bound_and_lru() -> None:
    tier = MemoryTier(max_bytes=300, admit_max_bytes=200)
    tier.put(entry("a", 100), b"a" * 100)
    tier.put(entry("b", 100), b"b" * 100)
    assert tier.lookup("a") is not None  # a is now most recent
    tier.put(entry("c", 150), b"c" * 150)
    assert tier.used_bytes <= 300
    assert tier.lookup("b") is None
    assert tier.lookup("a") is not None


def test_admission_limit() -> None:
    tier = MemoryTier(max_bytes=1000, admit_max_bytes=10)
    tier.put(entry("big", 11), b"x" * 11)
    assert tier.lookup("big") is None
    assert tier.used_bytes == 0
