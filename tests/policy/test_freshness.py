from __future__ import annotations

from agentcache.entry import ObjectInfo
from agentcache.policy.classify import ClassPolicy
from agentcache.policy.freshness import freshness, parse_cache_control

POLICY = ClassPolicy(
    min_ttl_seconds=5,
    max_ttl_seconds=1000,
    stale_if_error_seconds=300,
    stale_while_revalidate_seconds=0,
)


def fresh(**info: object):  # type: ignore[no-untyped-def]
    return freshness(ObjectInfo(size=1, **info), 100, POLICY)  # type: ignore[arg-type]


def test_parse_cache_control() -> None:
    cc = parse_cache_control('Max-Age=60, s-maxage="30", no-cache, PRIVATE, bogus=x, max-stale')
    assert (cc.max_age, cc.s_maxage, cc.no_cache, cc.private) == (60, 30, True, True)
    assert parse_cache_control("max-age=abc").max_age is None


def test_silent_origin_gets_the_class_ttl() -> None:
    got = fresh()
    assert (got.storable, got.ttl_seconds, got.stale_if_error_seconds) == (True, 100, 300)


def test_origin_lifetimes_in_priority_order_and_clamped() -> None:
    assert fresh(cache_control="max-age=60").ttl_seconds == 60
    assert fresh(cache_control="max-age=60, s-maxage=20").ttl_seconds == 20
    assert fresh(cache_control="max-age=1").ttl_seconds == 5  # namespace minimum
    assert fresh(cache_control="max-age=99999").ttl_seconds == 1000  # namespace maximum
    assert fresh(expires=1120.0, date=1000.0).ttl_seconds == 120
    assert fresh(expires=0.0, date=1000.0).ttl_seconds == 5  # "Expires: 0" → expired, clamped


def test_what_a_shared_cache_must_not_store() -> None:
    assert not fresh(cache_control="no-store").storable
    assert not fresh(cache_control="private, max-age=60").storable
    assert not fresh(vary="*").storable
    assert fresh(vary="Accept-Encoding").storable


def test_no_cache_means_always_revalidate_and_never_stale() -> None:
    got = fresh(cache_control="no-cache, max-age=60")
    assert (got.storable, got.ttl_seconds, got.stale_if_error_seconds) == (True, 0, 0)


def test_stale_windows() -> None:
    got = fresh(cache_control="max-age=60, stale-while-revalidate=30, stale-if-error=600")
    assert (got.stale_while_revalidate_seconds, got.stale_if_error_seconds) == (30, 600)
    assert fresh(cache_control="max-age=60, must-revalidate").stale_if_error_seconds == 0
    assert fresh(cache_control="s-maxage=60").stale_if_error_seconds == 0
