"""Origins: where objects really live. `open_origin` builds one from its configured URL."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from agentcache.config import OriginSpec
from agentcache.errors import ConfigError
from agentcache.origin.base import NotModified, Origin, OriginResponse
from agentcache.origin.file import FileOrigin
from agentcache.origin.http import HttpOrigin
from agentcache.origin.retry import Backoff
from agentcache.origin.s3 import S3Origin
from agentcache.origin.wrappers import Prefixed, Retrying

__all__ = ["NotModified", "Origin", "OriginResponse", "Prefixed", "open_origin"]


def _env(name: str | None) -> str | None:
    if not name:
        return None
    value = os.environ.get(name)
    if value is None:
        raise ConfigError(f"environment variable {name} (origin credentials) is not set")
    return value


def _checked_url(url: str) -> str:
    """An http(s) URL httpx will accept later, or a ConfigError now."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise ConfigError(f"origin URL {url!r} is not valid: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(f"origin URL {url!r} needs http:// or https:// and a host")
    return url


def open_origin(spec: OriginSpec) -> Origin:
    """The origin for `spec`, with bounded retries on its idempotent calls."""
    inner: Origin
    if spec.url.startswith("file://"):
        inner = FileOrigin(Path(spec.url.removeprefix("file://")))
    elif spec.url.startswith("s3://"):
        parts = urlsplit(spec.url)
        s3 = S3Origin(
            parts.netloc,
            endpoint_url=_checked_url(spec.endpoint_url) if spec.endpoint_url else None,
            region=spec.region,
            access_key_id=_env(spec.access_key_id_env),
            secret_access_key=_env(spec.secret_access_key_env),
            connect_timeout_seconds=spec.connect_timeout_seconds,
            read_timeout_seconds=spec.read_timeout_seconds,
        )
        prefix = parts.path.lstrip("/")
        inner = Prefixed(s3, prefix.rstrip("/") + "/", owns_inner=True) if prefix else s3
    else:
        inner = HttpOrigin(
            _checked_url(spec.url),
            connect_timeout_seconds=spec.connect_timeout_seconds,
            read_timeout_seconds=spec.read_timeout_seconds,
        )
    return Retrying(inner, Backoff(attempts=spec.retry_attempts))
