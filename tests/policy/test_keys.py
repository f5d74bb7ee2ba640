from __future__ import annotations

import pytest

from agentcache.errors import RequestError
from agentcache.policy.keys import cache_key, validate_key, validate_namespace


@pytest.mark.parametrize(
    "key",
    [
        "..",
        "a/../b",
        "../etc/passwd",
        "/etc/passwd",
        "a//b",
        "a/./b",
        "a/",
        "",
        "a\x00b",
        "a\nb",
        "a\\b",
        "x" * 1025,
        "caf\udce9",
    ],
)
def test_hostile_keys_are_refused(key: str) -> None:
    with pytest.raises(RequestError) as info:
        validate_key(key)
    assert info.value.status == 400


@pytest.mark.parametrize("key", ["a", "dir/file.txt", "…/ünïcode ok.txt", "a..b", ".hidden"])
def test_ordinary_keys_pass(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize("name", ["api", "o", "A", "a", "-x", "x_y", "x" * 64, "metrics"])
def test_bad_namespace_names(name: str) -> None:
    with pytest.raises(RequestError):
        validate_namespace(name)


def test_cache_key_starts_with_namespace() -> None:
    assert cache_key("acme", "a/b") == "acme/a/b"
