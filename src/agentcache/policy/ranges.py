"""Byte-range arithmetic for the Range header (RFC 9110 §14): pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from agentcache.errors import RequestError
from agentcache.policy.numbers import is_decimal

MAX_RANGE_HEADER_BYTES = 1024


@dataclass(frozen=True, slots=True)
class ByteRange:
    """A satisfiable range of an object: `start` inclusive, `end` exclusive."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end - 1}/{size}"


class RangeNotSatisfiable(RequestError):
    """416: carries the object size for the `Content-Range: bytes */size` header (§15.5.17)."""

    def __init__(self, size: int, why: str) -> None:
        super().__init__(
            416, "range_not_satisfiable", why, [(b"content-range", f"bytes */{size}".encode())]
        )
        self.size = size


def parse_range(header: str, size: int) -> ByteRange | None:
    """The one range a `Range` header asks of an object of `size` bytes.

    None means "serve the whole object": the unit is not bytes, or several ranges were asked,
    which §14.2 lets a server ignore. A malformed or unsatisfiable bytes range raises a 416
    (§15.5.17) rather than being silently ignored, so a client learns its request was bad.
    """
    if len(header) > MAX_RANGE_HEADER_BYTES:
        raise RangeNotSatisfiable(size, "Range header too long")
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    specs = [s.strip() for s in spec.split(",")]
    if len(specs) != 1:
        return None
    return _parse_one(specs[0], size)


def _parse_one(spec: str, size: int) -> ByteRange:
    first, dash, last = spec.partition("-")
    if not dash or not (first.isdigit() or last.isdigit()) or not _digits_or_empty(first, last):
        raise RangeNotSatisfiable(size, f"malformed byte range {spec!r}")
    if not first:  # suffix range: the last N bytes (§14.1.2)
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size, "empty suffix range")
        return ByteRange(max(0, size - suffix), size)
    start = int(first)
    end = int(last) + 1 if last else size
    if last and end <= start:
        raise RangeNotSatisfiable(size, f"byte range {spec!r} ends before it starts")
    if start >= size:
        raise RangeNotSatisfiable(size, f"byte range starts at {start}, object has {size} bytes")
    return ByteRange(start, min(end, size))


def _digits_or_empty(*parts: str) -> bool:
    return all(p == "" or is_decimal(p) for p in parts)
