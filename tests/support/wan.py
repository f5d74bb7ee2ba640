"""The WAN proxy (bench/wan_origin.py) as a separate process, for tests that need a slow,
far-away origin without sharing the test's event loop."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

from tests.support.servers import SUPPORT, free_port

WAN = SUPPORT.parent.parent / "bench" / "wan_origin.py"


@contextlib.contextmanager
def wan_proxy(target_url: str, *, rtt_ms: float, mbps: float) -> Iterator[str]:
    port = free_port()
    target = target_url.removeprefix("http://")
    process = subprocess.Popen(
        [
            sys.executable,
            str(WAN),
            "--target",
            target,
            "--listen",
            str(port),
            "--rtt-ms",
            str(rtt_ms),
            "--mbps",
            str(mbps),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        assert line.startswith("ready"), line
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
