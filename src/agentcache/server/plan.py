"""What to answer for a read, given the stored version and the request: pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agentcache.entry import Entry
from agentcache.errors import RequestError
from agentcache.policy.conditional import Outcome, evaluate, format_http_date, range_applies
from agentcache.policy.ranges import ByteRange, parse_range
from agentcache.server.http import Header


@dataclass(frozen=True, slots=True)
class Plan:
    status: int  # 200, 206 or 304
    start: int = 0
    end: int = 0
    full: bool = False  # no precondition or range in the request: the plain 200


_PLAN_HEADER_NAMES = (
    "range",
    "if-none-match",
    "if-modified-since",
    "if-match",
    "if-unmodified-since",
    "if-range",
)
_PLAN_HEADERS = frozenset(_PLAN_HEADER_NAMES)
PLAN_HEADERS = frozenset(name.encode() for name in _PLAN_HEADER_NAMES)  # as ASGI sends them


def plan_read(entry: Entry, headers: Mapping[str, str]) -> Plan:
    info = entry.info
    if _PLAN_HEADERS.isdisjoint(headers):
        return Plan(200, 0, info.size, full=True)
    outcome = evaluate(headers, info.etag, info.last_modified, is_read=True)
    if outcome is Outcome.NOT_MODIFIED:
        return Plan(304)
    if outcome is Outcome.PRECONDITION_FAILED:
        raise RequestError(412, "precondition_failed", "a precondition of the request failed")
    range_header = headers.get("range")
    if range_header is not None and range_applies(headers, info.etag, info.last_modified):
        byte_range = parse_range(range_header, info.size)
        if byte_range is not None:
            return Plan(206, byte_range.start, byte_range.end)
    return Plan(200, 0, info.size)


def entry_headers(entry: Entry) -> list[Header]:
    """Headers that depend only on the stored version (built once per memory entry).

    Every read is authenticated (a key or a signed URL), so downstream caches are told
    `private` whatever the origin said: a shared proxy in front of the edge must never hand
    one tenant's object to a request that carried no key. The lifetime is the edge's own.
    """
    info = entry.info
    ttl = int(entry.ttl_seconds)
    cache_control = f"private, max-age={ttl}" if ttl > 0 else "private, no-cache"
    headers = [
        (b"content-type", _safe(info.content_type)),
        (b"accept-ranges", b"bytes"),
        (b"cache-control", cache_control.encode()),
    ]
    if info.etag:
        headers.append((b"etag", _safe(info.etag)))
    if info.last_modified is not None:
        headers.append((b"last-modified", format_http_date(info.last_modified).encode()))
    return headers


def _safe(value: str) -> bytes:
    """Origin metadata must never inject a header: drop anything outside visible ASCII."""
    return "".join(c for c in value if " " <= c <= "~").encode("ascii")


def response_headers(
    base: list[Header], plan: Plan, size: int, age: int, result: str, tier: str
) -> list[Header]:
    headers = base.copy() if plan.status != 304 else [h for h in base if h[0] != b"content-type"]
    if plan.status != 304:
        length = plan.end - plan.start
        headers.append((b"content-length", str(length).encode()))
    if plan.status == 206:
        content_range = ByteRange(plan.start, plan.end).content_range(size)
        headers.append((b"content-range", content_range.encode()))
    headers += [
        (b"age", str(age).encode()),
        (b"x-cache", result.encode()),
        (b"x-cache-tier", tier.encode()),
    ]
    return headers
