from __future__ import annotations

from pathlib import Path

import pytest

from agentcache.config import load_config, parse_size
from agentcache.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agentcache.toml"
    path.write_text(text)
    return path


def test_full_example(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
[server]
port = 9000
[cache]
dir = "c"
memory_max_bytes = "64MiB"
disk_max_bytes = "1 GB"
[origin]
url = "file://origin"
[namespaces.acme]
api_key = "0123456789abcdef0123"
stale_if_error_seconds = 60
large_threshold_bytes = "20MiB"
[namespaces.acme.ttl]
small = 10
max = 100
""",
        ),
        env={"AGENTCACHE_PORT": "9100"},
    )
    assert config.port == 9100  # the environment wins
    assert config.cache.dir == tmp_path / "c"
    assert config.cache.memory_max_bytes == 64 * 2**20
    assert config.cache.disk_max_bytes == 10**9
    assert config.origin.url == f"file://{tmp_path / 'origin'}"
    (acme,) = config.namespaces
    policy = acme.policy
    assert (policy.small_ttl_seconds, policy.max_ttl_seconds) == (10, 100)
    assert (policy.stale_if_error_seconds, policy.large_threshold_bytes) == (60, 20 * 2**20)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[bogus]\n", "unknown section"),
        ("[cache]\nsize = 1\n", "unknown setting"),
        ('[cache]\nmemory_max_bytes = "lots"\n', "not a size"),
        ('[origin]\nurl = "ftp://x"\n', "must be file://"),
        ('[namespaces.api]\napi_key = "0123456789abcdef0"\n', "invalid namespace"),
        ('[namespaces.ok]\napi_key = "short"\n', "at least 16"),
        (
            '[namespaces.ok]\napi_key = "0123456789abcdef0"\n[namespaces.ok.ttl]\nhuge = 1\n',
            "unknown class",
        ),
        (
            '[namespaces.ok]\napi_key = "0123456789abcdef0"\nstale_if_error_seconds = -1\n',
            "whole number",
        ),
        ("[server]\nport = 70000\n", "out of range"),
        ("[server]\nworkers = 2\n", "only 1 is supported"),
        ("not toml at all [", "cannot read"),
    ],
)
def test_bad_values_are_reported_clearly(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text), env={})


def test_sizes() -> None:
    assert parse_size("1KiB", "x") == 1024
    assert parse_size(5, "x") == 5
    with pytest.raises(ConfigError):
        parse_size(-1, "x")


def test_the_example_tenants_load(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STUDIO_KEY", "LEDGER_KEY"):
        monkeypatch.setenv(name, f"{name.lower()}-0123456789abcdef")
    config = load_config(Path(__file__).parent.parent / "examples" / "agentcache.toml", env={})
    studio, ledger = config.namespaces
    hours = [
        p // 3600
        for p in (
            studio.policy.small_ttl_seconds,
            studio.policy.large_ttl_seconds,
            studio.policy.video_ttl_seconds,
        )
    ]
    assert hours == [24, 6, 12]
    assert (studio.features.jetty_speed_upload, studio.features.desktop_cdn) == (True, True)
    hours = [
        p // 3600
        for p in (
            ledger.policy.small_ttl_seconds,
            ledger.policy.large_ttl_seconds,
            ledger.policy.video_ttl_seconds,
        )
    ]
    assert hours == [6, 3, 6]
    assert (ledger.features.jetty_speed_upload, ledger.features.desktop_cdn) == (False, False)
    assert ledger.limits.requests_per_second == 500
