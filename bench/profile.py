"""Where an edge worker's time goes under load, sampled with py-spy while wrk runs."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psutil


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
    if any("agentcache/" in f for f in frames):
        leaf = frames[-1]
        return (
            "agentcache: awaiting send()"
            if "send" in leaf and "agentcache/" in leaf
            else "agentcache: own Python code"
        )
    return "Granian's Python glue and the event loop"


def summary(folded: Counter[str]) -> str:
    total = sum(folded.values()) or 1
    parts = [f"{name} {count / total:.0%}" for name, count in folded.most_common()]
    return f"{total} samples: " + "; ".join(parts)
