from __future__ import annotations

from agentcache.policy.hls import is_vod, parse_playlist, resolve

VOD = b"""#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.0,
seg000.m4s
#EXTINF:2.0,
sub/seg001.m4s?token=abc
#EXTINF:2.0,
https://elsewhere.example/seg002.m4s
#EXTINF:2.0,
../../../etc/passwd
#EXT-X-ENDLIST
"""

MASTER = b"""#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360
360p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2000000
/abs/720p.m3u8
"""


def test_vod_playlist_segments_in_order_as_keys() -> None:
    playlist = parse_playlist(VOD, "movies/m1/index.m3u8")
    assert playlist.ended
    assert playlist.segments == (
        "movies/m1/init.mp4",
        "movies/m1/seg000.m4s",
        "movies/m1/sub/seg001.m4s",
    )
    assert playlist.variants == ()


def test_master_playlist_lists_variants() -> None:
    playlist = parse_playlist(MASTER, "movies/m1/master.m3u8")
    assert playlist.variants == ("movies/m1/360p/index.m3u8", "abs/720p.m3u8")
    assert playlist.segments == ()
    assert not playlist.ended


def test_live_playlist_is_not_vod() -> None:
    assert not is_vod(b"#EXTM3U\n#EXTINF:2,\na.ts\n")
    assert is_vod(VOD)


def test_resolve_never_leaves_the_namespace() -> None:
    assert resolve("../x.ts", "a/b/p.m3u8") == "a/x.ts"
    assert resolve("../../x.ts", "a/b/p.m3u8") == "x.ts"
    assert resolve("../../../x.ts", "a/b/p.m3u8") is None
    assert resolve("//host/x.ts", "p.m3u8") is None
    assert resolve("", "p.m3u8") is None
