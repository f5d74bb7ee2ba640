from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentcache.policy.ranges import ByteRange, RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-0", 10, ByteRange(0, 1)),
        ("bytes=2-5", 10, ByteRange(2, 6)),
        ("bytes=2-", 10, ByteRange(2, 10)),
        ("bytes=-3", 10, ByteRange(7, 10)),
        ("bytes=-30", 10, ByteRange(0, 10)),
        ("bytes=5-100", 10, ByteRange(5, 10)),
        ("BYTES = 1-2", 10, ByteRange(1, 3)),
        ("items=0-1", 10, None),
        ("bytes=0-1,4-5", 10, None),
        ("garbage", 10, None),
    ],
)
def test_examples(header: str, size: int, expected: ByteRange | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    "header",
    [
        "bytes=10-",
        "bytes=10-20",
        "bytes=-0",
        "bytes=5-2",
        "bytes=abc",
        "bytes=-",
        "bytes=1-x",
        "bytes=+1-2",
        "bytes=\u0661-\u0662",  # Arabic-Indic digits: isdigit() but not ASCII
        "bytes=" + "9" * 2000,
    ],
)
def test_unsatisfiable_or_malformed_is_416(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as info:
        parse_range(header, 10)
    assert info.value.status == 416
    assert info.value.size == 10


def test_empty_object_has_no_satisfiable_range() -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)


def reference(header_spec: tuple[int | None, int | None], body: bytes) -> bytes | None:
    """RFC 9110 §14.1.2 read literally, as slices; None = unsatisfiable."""
    first, last = header_spec
    size = len(body)
    if first is None:
        assert last is not None
        return body[-last:] if last > 0 and size > 0 else None
    if first >= size or (last is not None and last < first):
        return None
    return body[first : (last + 1 if last is not None else size)]


specs = st.tuples(st.none() | st.integers(0, 300), st.none() | st.integers(0, 300)).filter(
    lambda s: s != (None, None)
)


@given(body=st.binary(max_size=200), spec=specs)
def test_parse_range_matches_reference_slice(
    body: bytes, spec: tuple[int | None, int | None]
) -> None:
    first, last = spec
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    expected = reference(spec, body)
    if expected is None:
        with pytest.raises(RangeNotSatisfiable):
            parse_range(header, len(body))
        return
    got = parse_range(header, len(body))
    assert got is not None
    assert body[got.start : got.end] == expected
    assert got.length == len(expected)
    assert got.content_range(len(body)) == f"bytes {got.start}-{got.end - 1}/{len(body)}"
