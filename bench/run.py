"""`make bench`: run every benchmark side by side with its baseline; rewrite BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import hit_path, video, wan
from bench.common import ROOT, ensure_packages


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"{nginx.replace('nginx version: ', '')}, run {when}"
    )


def main() -> None:
    ensure_packages("nginx", "wrk", "ffmpeg")
    sections = []
    with tempfile.TemporaryDirectory(prefix="agentcache-bench-") as tmp:
        only = os.environ.get("BENCH_ONLY", "hit,wan,video,large").split(",")
        if "hit" in only:
            sections.append(hit_path.run(Path(tmp) / "hit"))
        if "wan" in only:
            sections.append(wan.run(Path(tmp) / "wan"))
        if "video" in only:
            sections.append(video.run_video(Path(tmp) / "video"))
        if "large" in only:
            sections.append(video.run_large(Path(tmp) / "large"))
    text = (
        "# Benchmarks\n\nWritten by `make bench` (`bench/run.py`) from its own output; do not "
        f"edit by hand.\n\nMachine: {machine()}.\n\n" + "\n".join(sections)
    )
    (ROOT / "BENCHMARKS.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
