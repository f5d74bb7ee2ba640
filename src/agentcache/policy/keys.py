"""Validation of namespace names and object keys, and the cache key that isolates tenants."""

from __future__ import annotations

import re
import unicodedata

from agentcache.errors import RequestError

MAX_KEY_BYTES = 1024
NAMESPACE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
# Names that would read as routes or well-known paths if a namespace were bound to a host.
RESERVED_NAMESPACES = frozenset({"api", "o", "metrics", "dashboard", "health", "admin", "static"})
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")
# Right-to-left overrides and friends make a key display as something it is not.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def validate_namespace(name: str) -> str:
    if not NAMESPACE_RE.fullmatch(name) or name in RESERVED_NAMESPACES:
        raise RequestError(400, "invalid_namespace", f"invalid namespace name {name[:80]!r}")
    return name


def validate_key(key: str) -> str:
    """Reject keys that could escape a directory or smuggle bytes into headers.

    The key arrives already percent-decoded, so `%2e%2e` is seen here as `..`.
    """
    if not key:
        raise RequestError(400, "invalid_key", "empty object key")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise RequestError(400, "invalid_key", f"object key longer than {MAX_KEY_BYTES} bytes")
    if _FORBIDDEN_CHARS.search(key) or "\ufffd" in key or _has_surrogates(key):
        raise RequestError(400, "invalid_key", "object key contains control characters")
    if _has_dot_segments(key) or _has_dot_segments(unicodedata.normalize("NFKC", key)):
        # The NFKC check catches look-alikes (fullwidth dots, ...) that an origin or a file
        # system normalising names could turn into a real '..'.
        raise RequestError(400, "invalid_key", "object key has an empty, '.' or '..' segment")
    if _BIDI_CONTROLS.search(key):
        raise RequestError(400, "invalid_key", "object key contains bidirectional controls")
    return key


def _has_dot_segments(key: str) -> bool:
    normal = key.replace("\\", "/")
    return normal.startswith("/") or any(part in ("", ".", "..") for part in normal.split("/"))


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def cache_key(namespace: str, key: str) -> str:
    """Every tier's key starts with the namespace: no route can name another tenant's entry."""
    return f"{namespace}/{key}"
