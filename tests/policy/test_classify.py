from __future__ import annotations

import pytest

from agentcache.policy.classify import MB, ClassPolicy, ContentClass, classify

POLICY = ClassPolicy()


@pytest.mark.parametrize(
    ("key", "ctype", "size", "expected"),
    [
        ("a/photo.jpg", "image/jpeg", 2 * MB, ContentClass.SMALL),
        ("a/archive.zip", "application/zip", 10 * MB, ContentClass.LARGE),
        ("a/readme.md", "application/octet-stream", 1000, ContentClass.AI),
        ("a/data", "application/json; charset=utf-8", 1000, ContentClass.AI),
        ("a/big.csv", "text/csv", 50 * MB, ContentClass.LARGE),
        ("v/index.m3u8", "application/octet-stream", 400, ContentClass.VIDEO),
        ("v/seg001.ts", "video/mp2t", 30 * MB, ContentClass.VIDEO),
        ("v/chunk.m4s", "application/octet-stream", 100, ContentClass.VIDEO),
    ],
)
def test_classify(key: str, ctype: str, size: int, expected: ContentClass) -> None:
    assert classify(key, ctype, size, POLICY) is expected


def test_default_ttls_follow_design() -> None:
    assert POLICY.ttl_seconds(ContentClass.SMALL) == 24 * 3600
    assert POLICY.ttl_seconds(ContentClass.AI) == 7 * 24 * 3600
    assert POLICY.ttl_seconds(ContentClass.LARGE) == 3600
    assert POLICY.ttl_seconds(ContentClass.VIDEO) == 6 * 3600


def test_namespace_overrides_and_clamps() -> None:
    policy = ClassPolicy(small_ttl_seconds=10, max_ttl_seconds=3600, large_threshold_bytes=MB)
    assert policy.ttl_seconds(ContentClass.SMALL) == 10
    assert policy.ttl_seconds(ContentClass.AI) == 3600
    assert classify("x.bin", "application/octet-stream", MB, policy) is ContentClass.LARGE


def test_hls_playlists_get_the_live_playlist_ttl() -> None:
    from agentcache.policy.classify import class_ttl_seconds

    policy = ClassPolicy(live_playlist_ttl_seconds=2, video_ttl_seconds=3600)
    assert class_ttl_seconds("v/index.m3u8", "x", ContentClass.VIDEO, policy) == 2
    assert (
        class_ttl_seconds("v/p", "application/vnd.apple.mpegurl", ContentClass.VIDEO, policy) == 2
    )
    assert class_ttl_seconds("v/seg1.ts", "video/mp2t", ContentClass.VIDEO, policy) == 3600
