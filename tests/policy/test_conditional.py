from __future__ import annotations

from agentcache.policy.conditional import (
    Outcome,
    evaluate,
    format_http_date,
    parse_http_date,
    range_applies,
)

ETAG = '"abc"'
MODIFIED = 1_700_000_000.0
LATER = format_http_date(MODIFIED + 60)
EARLIER = format_http_date(MODIFIED - 60)
SAME = format_http_date(MODIFIED)


def read(**headers: str) -> Outcome:
    return evaluate(
        {k.replace("_", "-"): v for k, v in headers.items()}, ETAG, MODIFIED, is_read=True
    )


def test_no_preconditions_proceed() -> None:
    assert read() is Outcome.PROCEED


def test_if_none_match_uses_weak_comparison() -> None:
    assert read(if_none_match='"abc"') is Outcome.NOT_MODIFIED
    assert read(if_none_match='W/"abc"') is Outcome.NOT_MODIFIED
    assert read(if_none_match='"x", "abc"') is Outcome.NOT_MODIFIED
    assert read(if_none_match="*") is Outcome.NOT_MODIFIED
    assert read(if_none_match='"other"') is Outcome.PROCEED


def test_if_modified_since() -> None:
    assert read(if_modified_since=SAME) is Outcome.NOT_MODIFIED
    assert read(if_modified_since=LATER) is Outcome.NOT_MODIFIED
    assert read(if_modified_since=EARLIER) is Outcome.PROCEED
    assert read(if_modified_since="not a date") is Outcome.PROCEED


def test_if_none_match_takes_precedence_over_if_modified_since() -> None:
    assert read(if_none_match='"other"', if_modified_since=LATER) is Outcome.PROCEED


def test_if_match_and_if_unmodified_since() -> None:
    assert read(if_match='"abc"') is Outcome.PROCEED
    assert read(if_match='W/"abc"') is Outcome.PRECONDITION_FAILED  # strong comparison
    assert read(if_match='"zzz"') is Outcome.PRECONDITION_FAILED
    assert read(if_unmodified_since=EARLIER) is Outcome.PRECONDITION_FAILED
    assert read(if_unmodified_since=LATER) is Outcome.PROCEED


def test_if_range() -> None:
    assert range_applies({}, ETAG, MODIFIED)
    assert range_applies({"if-range": '"abc"'}, ETAG, MODIFIED)
    assert not range_applies({"if-range": '"old"'}, ETAG, MODIFIED)
    assert not range_applies({"if-range": 'W/"abc"'}, ETAG, MODIFIED)
    assert range_applies({"if-range": SAME}, ETAG, MODIFIED)
    assert not range_applies({"if-range": EARLIER}, ETAG, MODIFIED)


def test_http_dates_round_trip() -> None:
    assert parse_http_date(format_http_date(MODIFIED)) == MODIFIED
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777.0
