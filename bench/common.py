"""Shared benchmark plumbing: processes, nginx, wrk and its output, Markdown tables."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def ensure_packages(*commands: str) -> None:
    """Install nginx/wrk/ffmpeg from Debian's packages when missing (the bench needs them)."""
    packages = {"nginx": "nginx-light", "wrk": "wrk", "ffmpeg": "ffmpeg"}
    missing = [
        packages[c]
        for c in commands
        if shutil.which(c) is None and not Path(f"/usr/sbin/{c}").exists()
    ]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"bench needs {' '.join(missing)}: install them (apt-get install ...)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *missing],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=1.0)
            return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def process(
    args: list[str], *, ready_url: str, log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    try:
        wait_http(ready_url)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


NGINX_CONF = """
worker_processes 1;
user root;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    proxy_cache_path {dir}/proxy_cache levels=1:2 keys_zone=bench:64m max_size=20g
                     inactive=1d use_temp_path=off;
    proxy_max_temp_file_size 0;
    server {{
        listen 127.0.0.1:{origin_port};
        root {origin_root};
        access_log {dir}/origin-access.log;
    }}
    server {{
        listen 127.0.0.1:{cache_port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream_port};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bench;
            proxy_cache_valid 200 1d;
            proxy_cache_lock on;
            add_header X-Cache $upstream_cache_status;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx(
    workdir: Path,
    origin_root: Path,
    *,
    origin_port: int | None = None,
    upstream_port: int | None = None,
) -> Iterator[tuple[str, str]]:
    """nginx serving `origin_root` as an origin and a proxy_cache in front of `upstream_port`
    (the origin itself by default; the WAN proxy in front of it for the WAN benchmark)."""
    workdir.mkdir(parents=True, exist_ok=True)
    origin_port = origin_port or free_port()
    cache_port = free_port()
    conf = workdir / "nginx.conf"
    settings = {
        "dir": workdir,
        "origin_port": origin_port,
        "cache_port": cache_port,
        "upstream_port": upstream_port or origin_port,
        "origin_root": origin_root,
    }
    conf.write_text(NGINX_CONF.format(**settings))
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    with process(
        [binary, "-c", str(conf), "-e", str(workdir / "error.log")],
        ready_url=f"http://127.0.0.1:{cache_port}/",
        log=workdir / "nginx.out",
    ):
        yield f"http://127.0.0.1:{origin_port}", f"http://127.0.0.1:{cache_port}"


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    bytes_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def _latency_ms(text: str, pct: str) -> float:
    match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    if not match:
        raise ValueError(f"no {pct}% latency in wrk output:\n{text}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(text: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    tps = re.search(r"Transfer/sec:\s+([\d.]+)([KMGT]?B)", text)
    if not rps or not tps:
        raise ValueError(f"unexpected wrk output:\n{text}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return WrkResult(
        float(rps.group(1)),
        float(tps.group(1)) * _BYTES[tps.group(2)],
        _latency_ms(text, "50"),
        _latency_ms(text, "99"),
        errors + (int(non2xx.group(1)) if non2xx else 0),
    )


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    headers: dict[str, str] | None = None,
    threads: int = 1,
) -> WrkResult:
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GB"


def origin_requests(workdir: Path, path: str) -> int:
    """Requests for `path` in the nginx origin's access log."""
    log = workdir / "origin-access.log"
    return sum(f" {path} " in line for line in log.read_text().splitlines()) if log.exists() else 0


@contextlib.contextmanager
def wan_proxy(target_port: int, *, rtt_ms: float, mbps: float) -> Iterator[int]:
    """bench/wan_origin.py in its own process; yields the port it listens on."""
    port = free_port()
    args = [
        sys.executable,
        str(ROOT / "bench" / "wan_origin.py"),
        "--target",
        f"127.0.0.1:{target_port}",
        "--listen",
        str(port),
        "--rtt-ms",
        str(rtt_ms),
        "--mbps",
        str(mbps),
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(b"ready")
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
