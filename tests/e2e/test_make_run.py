"""What `make run` does: `agentcache serve --demo` on embedded defaults, from nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.servers import free_port, wait_until_up


def start_demo(var: Path, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    log = var.parent / f"demo-{port}.log"
    env = {**os.environ, "AGENTCACHE_PORT": str(port)}
    env.pop("AGENTCACHE_ADMIN_KEY", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agentcache.cli.main",
                "serve",
                "--demo",
                "--config",
                str(var / "agentcache.toml"),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_until_up(f"http://127.0.0.1:{port}/api/health", process)
    return process, log


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(15)


def origin_requests(base: str, admin: dict[str, str]) -> float:
    metrics = httpx.get(f"{base}/metrics", headers=admin).text
    found = re.search(
        r'^agentcache_origin_requests_total\{namespace="demo"\} (\S+)$', metrics, re.M
    )
    return float(found.group(1)) if found else 0.0


def test_demo_miss_hit_and_disk_hit_after_restart(tmp_path: Path) -> None:
    var = tmp_path / "var"
    port = free_port()
    process, log = start_demo(var, port)
    try:
        printed = log.read_text()
        assert "admin key:" in printed
        curl = re.search(r"curl -i -H 'Authorization: Bearer (\S+)' (\S+)", printed)
        assert curl, printed
        key, url = curl.groups()
        admin_key = re.search(r"admin key: (\S+)", printed)
        assert admin_key, printed
        admin = {"Authorization": f"Bearer {admin_key.group(1)}"}
        auth = {"Authorization": f"Bearer {key}"}
        first, second = httpx.get(url, headers=auth), httpx.get(url, headers=auth)
        assert first.text == "Hello from AgentCache Edge!\n"
        assert (first.headers["x-cache"], first.headers["x-cache-tier"]) == ("MISS", "origin")
        assert (second.headers["x-cache"], second.headers["x-cache-tier"]) == ("HIT", "memory")
    finally:
        stop(process)
    process, _ = start_demo(var, port)  # same config, same cache directory
    try:
        third = httpx.get(url, headers=auth)
        assert (third.headers["x-cache"], third.headers["x-cache-tier"]) == ("HIT", "disk")
        assert third.text == "Hello from AgentCache Edge!\n"
        base = f"http://127.0.0.1:{port}"
        assert origin_requests(base, admin) == 0
        served = httpx.get(f"{base}/metrics", headers=admin).text
        assert 'agentcache_served_bytes_total{namespace="demo",tier="disk"} 28.0' in served
    finally:
        stop(process)
