"""Conditional requests (RFC 9110 §13): evaluate preconditions against a stored version."""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Mapping
from enum import Enum


class Outcome(Enum):
    PROCEED = 200
    NOT_MODIFIED = 304
    PRECONDITION_FAILED = 412


def parse_http_date(value: str) -> float | None:
    try:
        parsed = email.utils.parsedate_tz(value)
    except (TypeError, ValueError, IndexError):
        return None
    return float(email.utils.mktime_tz(parsed)) if parsed else None


def format_http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def _weak_match(a: str, b: str) -> bool:
    return a.removeprefix("W/") == b.removeprefix("W/")


def _strong_match(a: str, b: str) -> bool:
    return not a.startswith("W/") and a == b


def _any_match(header: str, etag: str | None, compare: Callable[[str, str], bool]) -> bool:
    if not etag:
        return False
    return header.strip() == "*" or any(compare(tag, etag) for tag in _tags(header))


def evaluate(
    headers: Mapping[str, str], etag: str | None, last_modified: float | None, *, is_read: bool
) -> Outcome:
    """Apply the preconditions in the order of §13.2.2."""
    if_match = headers.get("if-match")
    if if_match is not None:
        if not _any_match(if_match, etag, _strong_match):
            return Outcome.PRECONDITION_FAILED
    elif (ius := headers.get("if-unmodified-since")) is not None:
        since = parse_http_date(ius)
        if since is not None and last_modified is not None and int(last_modified) > since:
            return Outcome.PRECONDITION_FAILED
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if _any_match(if_none_match, etag, _weak_match):
            return Outcome.NOT_MODIFIED if is_read else Outcome.PRECONDITION_FAILED
    elif is_read and (ims := headers.get("if-modified-since")) is not None:
        since = parse_http_date(ims)
        if since is not None and last_modified is not None and int(last_modified) <= since:
            return Outcome.NOT_MODIFIED
    return Outcome.PROCEED


def range_applies(
    headers: Mapping[str, str], etag: str | None, last_modified: float | None
) -> bool:
    """If-Range (§13.1.5): honour Range only when the client's validator is still current."""
    if_range = headers.get("if-range")
    if if_range is None:
        return True
    if_range = if_range.strip()
    if if_range.startswith('"') or if_range.startswith("W/"):
        return etag is not None and _strong_match(if_range, etag)
    date = parse_http_date(if_range)
    return date is not None and last_modified is not None and int(last_modified) == date
