"""HLS playlists (RFC 8216), read only as far as caching needs: which keys a playlist names,
in play order, and whether it is a finished (VOD) playlist. Pure functions."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

MAX_PLAYLIST_BYTES = 4 * 1024 * 1024  # larger is not a playlist we will parse
_MAP_URI = re.compile(r'URI="([^"]+)"')


@dataclass(frozen=True, slots=True)
class Playlist:
    segments: tuple[str, ...]  # media segments (with an EXT-X-MAP init segment first), as keys
    variants: tuple[str, ...]  # a master playlist's media playlists, as keys
    ended: bool  # #EXT-X-ENDLIST: VOD, the playlist will not change


def is_vod(body: bytes) -> bool:
    return b"#EXT-X-ENDLIST" in body


def parse_playlist(body: bytes, playlist_key: str) -> Playlist:
    """Segment and variant URIs resolved against the playlist's key. URIs that leave the
    namespace (absolute URLs, other hosts, paths above its root) are not keys and are left out."""
    segments: list[str] = []
    variants: list[str] = []
    next_is_variant = False
    for raw in body.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#EXT-X-STREAM-INF"):
                next_is_variant = True
            elif line.startswith("#EXT-X-MAP"):
                match = _MAP_URI.search(line)
                key = resolve(match.group(1), playlist_key) if match else None
                if key is not None and key not in segments:
                    segments.append(key)
            continue
        key = resolve(line, playlist_key)
        if key is not None:
            (variants if next_is_variant else segments).append(key)
        next_is_variant = False
    return Playlist(tuple(segments), tuple(variants), is_vod(body))


def resolve(uri: str, playlist_key: str) -> str | None:
    """The key a URI in a playlist names, or None when it names nothing in this namespace."""
    parts = urlsplit(uri)
    if parts.scheme or parts.netloc:
        return None
    path = unquote(parts.path)
    if not path:
        return None
    base = posixpath.dirname(playlist_key)
    joined = path.lstrip("/") if path.startswith("/") else posixpath.join(base, path)
    normal = posixpath.normpath(joined)
    if normal.startswith("../") or normal in (".", ".."):
        return None
    return normal
