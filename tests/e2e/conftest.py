"""A real edge process (the `agentcache serve` command on Granian) for end-to-end tests."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import free_port, wait_until_up

EDGE_KEY = "e2e-namespace-key-0123456789"


class EdgeProcess:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = config.parent / "edge.log"
        self.verify: ssl.SSLContext | bool = True  # trusts the edge's certificate under HTTPS

    def start(self) -> None:
        env = {**os.environ, "AGENTCACHE_PORT": str(self.port)}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "agentcache.cli.main",
                    "serve",
                    "--config",
                    str(self.config),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_up(f"{self.url}/api/health", self.process, verify=self.verify)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(15)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def write_config(path: Path, origin_toml: str, extra: str = "", cache_extra: str = "") -> Path:
    path.write_text(f"""
[cache]
dir = "cache"
memory_admit_max_bytes = "1MiB"
{cache_extra}

[origin]
{origin_toml}

[namespaces.e2e]
api_key = "{EDGE_KEY}"
{extra}
""")
    return path


@pytest.fixture
def edge_factory(tmp_path: Path) -> Iterator[type[EdgeProcess]]:
    started: list[EdgeProcess] = []

    class Tracked(EdgeProcess):
        def start(self) -> None:
            started.append(self)
            super().start()

    yield Tracked
    for edge in started:
        edge.stop(signal.SIGKILL)
