"""Start an AgentCache Edge process for a benchmark."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from bench.common import free_port, process

BENCH_KEY = "bench-namespace-key-0123456789"


@contextlib.contextmanager
def edge(
    workdir: Path, origin_url: str, *, extra_cache: str = "", extra_namespace: str = ""
) -> Iterator[str]:
    """An edge with namespace `bench` in front of `origin_url`; yields its base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "agentcache.toml"
    config.write_text(f"""
[server]
port = {port}
workers = 1

[cache]
dir = "cache"
memory_max_bytes = "512MiB"
memory_admit_max_bytes = "8MiB"
disk_max_bytes = "20GiB"
{extra_cache}

[origin]
url = "file://unused"

[namespaces.bench]
api_key = "{BENCH_KEY}"
origin = "{origin_url}"
{extra_namespace}
""")
    args = [sys.executable, "-m", "agentcache.cli.main", "serve", "--config", str(config)]
    url = f"http://127.0.0.1:{port}"
    with process(args, ready_url=f"{url}/api/health", log=workdir / "edge.log") as proc:
        PIDS[url] = proc.pid
        yield url


PIDS: dict[str, int] = {}  # edge URL → master pid, for the profiler
