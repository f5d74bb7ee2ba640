"""Content classes and their TTLs (DESIGN.md "Cache policy by content class"): pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MB = 1024 * 1024

_VIDEO_SUFFIXES = (".m3u8", ".ts", ".m4s", ".aac", ".mp4", ".m4a", ".m4v", ".cmfv", ".cmfa")
_VIDEO_TYPES = ("video/", "application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/")
_AI_SUFFIXES = (
    ".txt",
    ".md",
    ".markdown",
    ".csv",
    ".tsv",
    ".json",
    ".jsonl",
    ".ndjson",
    ".xml",
    ".yaml",
    ".yml",
    ".html",
    ".htm",
)
_AI_TYPES = (
    "text/",
    "application/json",
    "application/x-ndjson",
    "application/xml",
    "application/yaml",
)


# How configuration and the portal name each TTL: {"small": "small_ttl_seconds", ...}.
TTL_FIELDS = {
    "small": "small_ttl_seconds",
    "ai": "ai_ttl_seconds",
    "large": "large_ttl_seconds",
    "video": "video_ttl_seconds",
    "live_playlist": "live_playlist_ttl_seconds",
    "min": "min_ttl_seconds",
    "max": "max_ttl_seconds",
}


class ContentClass(StrEnum):
    SMALL = "small"
    AI = "ai"
    LARGE = "large"
    VIDEO = "video"


@dataclass(frozen=True, slots=True)
class ClassPolicy:
    """TTLs per class and the size that makes an object large; a namespace may override each."""

    small_ttl_seconds: int = 24 * 3600
    ai_ttl_seconds: int = 7 * 24 * 3600
    large_ttl_seconds: int = 3600
    video_ttl_seconds: int = 6 * 3600
    live_playlist_ttl_seconds: int = 2
    min_ttl_seconds: int = 0
    max_ttl_seconds: int = 365 * 24 * 3600
    large_threshold_bytes: int = 10 * MB
    # RFC 5861 windows used when the origin sends no stale-* directive of its own.
    stale_while_revalidate_seconds: int = 0
    stale_if_error_seconds: int = 3600
    # HLS: how many following segments to fetch ahead of a player (0: none).
    prefetch_segments: int = 3

    def ttl_seconds(self, content_class: ContentClass) -> int:
        ttl = {
            ContentClass.SMALL: self.small_ttl_seconds,
            ContentClass.AI: self.ai_ttl_seconds,
            ContentClass.LARGE: self.large_ttl_seconds,
            ContentClass.VIDEO: self.video_ttl_seconds,
        }[content_class]
        return self.clamp(ttl)

    def clamp(self, ttl_seconds: int) -> int:
        return max(self.min_ttl_seconds, min(self.max_ttl_seconds, ttl_seconds))


_PLAYLIST_TYPES = ("application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl")


def is_playlist(key: str, content_type: str) -> bool:
    ctype = content_type.split(";", 1)[0].strip().lower()
    return key.lower().endswith(".m3u8") or ctype in _PLAYLIST_TYPES


def class_ttl_seconds(
    key: str,
    content_type: str,
    content_class: ContentClass,
    policy: ClassPolicy,
    *,
    vod: bool = False,
) -> int:
    """The class TTL. An HLS playlist gets the short live-playlist TTL, since a live playlist
    changes every segment, unless its body showed it is VOD (finished: `#EXT-X-ENDLIST`)."""
    if content_class is ContentClass.VIDEO and is_playlist(key, content_type) and not vod:
        return policy.clamp(policy.live_playlist_ttl_seconds)
    return policy.ttl_seconds(content_class)


def classify(key: str, content_type: str, size: int, policy: ClassPolicy) -> ContentClass:
    """Video by name or type first (HLS segments can be large), then size, then text-likeness."""
    name = key.rsplit("/", 1)[-1].lower()
    ctype = content_type.split(";", 1)[0].strip().lower()
    if name.endswith(_VIDEO_SUFFIXES) or ctype.startswith(_VIDEO_TYPES):
        return ContentClass.VIDEO
    if size >= policy.large_threshold_bytes:
        return ContentClass.LARGE
    if name.endswith(_AI_SUFFIXES) or ctype.startswith(_AI_TYPES):
        return ContentClass.AI
    return ContentClass.SMALL
