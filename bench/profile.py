"""Where an edge worker's time goes under load, sampled with py-spy while wrk runs."""

from __future__ import annotations

import linecache
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psutil

SRC = Path(__file__).resolve().parent.parent / "src"


def worker_pid(master_pid: int) -> int:
    children = psutil.Process(master_pid).children()
    return children[0].pid if children else master_pid


def sample(pid: int, seconds: int, load: Callable[[], object]) -> Counter[str]:
    """py-spy's raw samples of `pid` while `load()` runs, folded by where they land."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "raw.txt"
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(seconds),
                "--format",
                "raw",
                "--nonblocking",
                "-o",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        load()
        spy.wait(seconds + 30)
        text = out.read_text() if out.exists() else ""
    folded: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        folded[_bucket(stack)] += int(count)
    return folded


def _bucket(stack: str) -> str:
    frames = [f for f in stack.split(";") if f]
    if not frames:
        return "outside Python (Granian's Rust runtime, I/O wait)"
    if not any("agentcache/" in f for f in frames):
        return "Granian's Python glue and the event loop"
    # py-spy shows a native call as time on the Python line that made it.
    if "await send(" in _source_line(frames[-1]):
        return "agentcache awaiting Granian's send() (native)"
    return "agentcache's own Python code"


def _source_line(frame: str) -> str:
    """The source line of a py-spy frame such as `f (agentcache/server/objects.py:120)`."""
    match = re.search(r"\((agentcache/[^:]+):(\d+)\)$", frame)
    if not match:
        return ""
    return linecache.getline(str(SRC / match.group(1)), int(match.group(2)))


def summary(folded: Counter[str]) -> str:
    total = sum(folded.values()) or 1
    parts = [f"{name} {count / total:.0%}" for name, count in folded.most_common()]
    return f"{total} samples: " + "; ".join(parts)
