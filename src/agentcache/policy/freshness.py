"""How long a response stays fresh and how long it may be served stale: RFC 9111 for a shared
cache, clamped to the namespace's min/max TTL (the CloudFront model). Pure functions."""

from __future__ import annotations

from dataclasses import dataclass

from agentcache.entry import ObjectInfo
from agentcache.policy.classify import ClassPolicy
from agentcache.policy.numbers import is_decimal


@dataclass(frozen=True, slots=True)
class CacheControl:
    max_age: int | None = None
    s_maxage: int | None = None
    stale_while_revalidate: int | None = None
    stale_if_error: int | None = None
    no_store: bool = False
    no_cache: bool = False
    private: bool = False
    must_revalidate: bool = False


def parse_cache_control(value: str | None) -> CacheControl:
    """Directives are case-insensitive (§5.2); unknown ones are ignored, bad numbers too."""
    if not value:
        return CacheControl()
    seconds: dict[str, int] = {}
    flags: set[str] = set()
    for part in value.split(","):
        name, _, arg = part.strip().partition("=")
        name = name.strip().lower()
        arg = arg.strip().strip('"')
        if is_decimal(arg):
            seconds[name] = int(arg)
        elif name:  # no-cache="field" and the like count as the bare directive
            flags.add(name)
    return CacheControl(
        max_age=seconds.get("max-age"),
        s_maxage=seconds.get("s-maxage"),
        stale_while_revalidate=seconds.get("stale-while-revalidate"),
        stale_if_error=seconds.get("stale-if-error"),
        no_store="no-store" in flags,
        # A qualified no-cache="field" (§5.2.2.4) is treated as unqualified: stricter, simpler.
        no_cache="no-cache" in flags or "no-cache" in seconds,
        private="private" in flags,
        must_revalidate=bool(flags & {"must-revalidate", "proxy-revalidate"}),
    )


@dataclass(frozen=True, slots=True)
class Freshness:
    storable: bool
    ttl_seconds: float
    stale_while_revalidate_seconds: float
    stale_if_error_seconds: float


def freshness(info: ObjectInfo, class_ttl_seconds: int, policy: ClassPolicy) -> Freshness:
    cc = parse_cache_control(info.cache_control)
    # §3: a shared cache must not store no-store or private responses; Vary: * never matches.
    storable = not (cc.no_store or cc.private or (info.vary or "").strip() == "*")
    lifetime = _origin_lifetime(info, cc)
    ttl = float(policy.clamp(int(class_ttl_seconds if lifetime is None else lifetime)))
    if cc.no_cache:
        ttl = 0.0  # §5.2.2.4: store, but revalidate before every reuse
    # §5.2.2.2/§5.2.2.10: must-revalidate (and s-maxage, which implies proxy-revalidate)
    # forbid serving stale, so both stale windows close.
    no_stale = cc.must_revalidate or cc.no_cache or cc.s_maxage is not None
    swr = _window(cc.stale_while_revalidate, policy.stale_while_revalidate_seconds, no_stale)
    sie = _window(cc.stale_if_error, policy.stale_if_error_seconds, no_stale)
    return Freshness(storable, ttl, swr, sie)


def _origin_lifetime(info: ObjectInfo, cc: CacheControl) -> float | None:
    """§4.2.1: s-maxage, then max-age, then Expires minus Date; None when the origin is silent."""
    if cc.s_maxage is not None:
        return float(cc.s_maxage)
    if cc.max_age is not None:
        return float(cc.max_age)
    if info.expires is not None:
        lifetime = info.expires - (info.date if info.date is not None else info.expires)
        return max(lifetime, 0.0) if info.date is not None else None
    return None


def _window(origin_says: int | None, namespace_default: int, closed: bool) -> float:
    if closed:
        return 0.0
    return float(origin_says if origin_says is not None else namespace_default)
