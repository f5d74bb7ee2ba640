"""The real server: Granian, a real origin process, restarts and truncated responses."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import EDGE_KEY, EdgeProcess, write_config
from tests.support.origins import http_test_origin, s3_test_origin

AUTH = {"Authorization": f"Bearer {EDGE_KEY}"}


def test_miss_hit_then_disk_hit_after_restart_without_origin_request(
    tmp_path: Path, edge_factory: type[EdgeProcess], s3_endpoint: str
) -> None:
    origin = s3_test_origin(s3_endpoint)
    body = os.urandom(50_000)
    origin.seed("e2e/report.pdf", body, "application/pdf")
    config = write_config(
        tmp_path / "agentcache.toml",
        f'url = "{origin.spec.url}"\nendpoint_url = "{s3_endpoint}"\n'
        'access_key_id_env = "AC_TEST_S3_KEY"\nsecret_access_key_env = "AC_TEST_S3_SECRET"',
    )
    edge = edge_factory(config)
    edge.start()
    url = f"{edge.url}/o/e2e/report.pdf"
    first, second = httpx.get(url, headers=AUTH), httpx.get(url, headers=AUTH)
    assert (first.headers["x-cache"], first.headers["x-cache-tier"]) == ("MISS", "origin")
    assert (second.headers["x-cache"], second.headers["x-cache-tier"]) == ("HIT", "memory")
    assert first.content == second.content == body
    assert origin.count("e2e/report.pdf") == 1

    edge.restart()
    third = httpx.get(url, headers=AUTH)
    assert (third.headers["x-cache"], third.headers["x-cache-tier"]) == ("HIT", "disk")
    assert third.content == body
    assert origin.count("e2e/report.pdf") == 1  # counted by the origin itself


def test_corrupt_block_mid_stream_truncates_never_lies(
    tmp_path: Path, edge_factory: type[EdgeProcess], http_origin_url: str, http_origin_root: Path
) -> None:
    origin = http_test_origin(http_origin_url, http_origin_root)
    body = os.urandom(3 * 1024 * 1024 + 11)
    origin.seed("e2e/big.bin", body)
    edge = edge_factory(write_config(tmp_path / "agentcache.toml", f'url = "{origin.spec.url}"'))
    edge.start()
    url = f"{edge.url}/o/e2e/big.bin"
    assert httpx.get(url, headers=AUTH).content == body
    (stored,) = (tmp_path / "cache" / "bodies").glob("*/*")
    with stored.open("r+b") as f:
        f.seek(2 * 1024 * 1024 + 1)
        f.write(b"\x00\x01\x02")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url, headers=AUTH)  # headers promised more bytes than the edge will send
    healed = httpx.get(url, headers=AUTH)
    assert (healed.headers["x-cache"], healed.content) == ("MISS", body)
    assert origin.count("e2e/big.bin") == 2


@pytest.fixture(scope="module")
def ranged_edge(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("range-edge")
    body = os.urandom(2 * 1024 * 1024 + 333)
    (root / "origin" / "e2e").mkdir(parents=True)
    (root / "origin" / "e2e" / "small.bin").write_bytes(body[:5000])
    (root / "origin" / "e2e" / "large.bin").write_bytes(body)
    edge = EdgeProcess(write_config(root / "agentcache.toml", 'url = "file://origin"'))
    edge.start()
    with httpx.Client(base_url=edge.url, headers=AUTH) as client:
        for name in ("small.bin", "large.bin"):
            client.get(f"/o/e2e/{name}")  # warm: memory tier for small, disk tier for large
        yield client, {"small.bin": body[:5000], "large.bin": body}
    edge.stop()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(["small.bin", "large.bin"]), data=st.data())
def test_ranges_over_real_server_match_reference_slices(ranged_edge, name, data) -> None:  # type: ignore[no-untyped-def]
    client, bodies = ranged_edge
    body = bodies[name]
    size = len(body)
    first = data.draw(st.none() | st.integers(0, size + 10), label="first")
    last = data.draw(st.none() | st.integers(0, size + 10), label="last")
    if first is None and last is None:
        last = 0
    spec = f"{'' if first is None else first}-{'' if last is None else last}"
    response = client.get(f"/o/e2e/{name}", headers={"Range": f"bytes={spec}"})
    if first is None:
        expected = body[-last:] if last else None
    elif first >= size or (last is not None and last < first):
        expected = None
    else:
        expected = body[first : (last + 1 if last is not None else size)]
    if expected is None:
        assert response.status_code == 416
        assert response.headers["content-range"] == f"bytes */{size}"
    else:
        assert response.status_code == 206
        assert response.content == expected
        assert response.headers["x-cache"] == "HIT"
