"""What the cache knows about one version of an object, apart from its bytes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """The origin's description of an object version."""

    size: int
    etag: str | None = None
    last_modified: float | None = None
    content_type: str = DEFAULT_CONTENT_TYPE
    cache_control: str | None = None
    expires: float | None = None
    date: float | None = None
    age_seconds: int = 0  # the origin's Age header: how old the response already was
    vary: str | None = None


def same_version(a: ObjectInfo, b: ObjectInfo) -> bool:
    """Whether two descriptions are of one object version: by ETag, else by date and size."""
    if a.size != b.size:
        return False
    if a.etag is not None or b.etag is not None:
        return a.etag == b.etag
    return a.last_modified is not None and a.last_modified == b.last_modified


@dataclass(frozen=True, slots=True)
class Entry:
    """A cached version: the origin's description plus when it was stored and for how long."""

    key: str
    info: ObjectInfo
    content_class: str
    stored_at: float
    ttl_seconds: float
    stale_while_revalidate_seconds: float = 0.0
    stale_if_error_seconds: float = 0.0
    storable: bool = True

    def is_fresh(self, now: float) -> bool:
        return now < self.stored_at + self.ttl_seconds

    def may_serve_while_revalidating(self, now: float) -> bool:
        """RFC 5861 §3: stale, but inside the stale-while-revalidate window."""
        return now < self.stored_at + self.ttl_seconds + self.stale_while_revalidate_seconds

    def may_serve_on_error(self, now: float) -> bool:
        """RFC 5861 §4: the origin failed, and the entry is inside the stale-if-error window."""
        return now < self.stored_at + self.ttl_seconds + self.stale_if_error_seconds

    def age_seconds(self, now: float) -> int:
        return max(0, int(now - self.stored_at))

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Entry:
        data: dict[str, Any] = json.loads(text)
        return cls(**{**data, "info": ObjectInfo(**data["info"])})
