"""Start and stop the real servers the tests talk to (each in its own process)."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

SUPPORT = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(
    url: str,
    process: subprocess.Popen[bytes],
    timeout: float = 30.0,
    verify: ssl.SSLContext | bool = True,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=1.0, verify=verify)
            return
        time.sleep(0.05)
    raise RuntimeError(f"server for {url} did not start in {timeout}s")


@contextlib.contextmanager
def running(args: list[str], url: str, env: dict[str, str] | None = None) -> Iterator[str]:
    process = subprocess.Popen(
        args,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def s3_server() -> contextlib.AbstractContextManager[str]:
    port = free_port()
    return running(
        [sys.executable, str(SUPPORT / "s3_server.py"), str(port)], f"http://127.0.0.1:{port}"
    )


def http_origin(root: Path) -> contextlib.AbstractContextManager[str]:
    port = free_port()
    return running(
        [sys.executable, str(SUPPORT / "http_origin.py"), str(root), str(port)],
        f"http://127.0.0.1:{port}",
    )
