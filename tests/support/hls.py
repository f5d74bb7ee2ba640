"""A real HLS VOD rendition made by ffmpeg (testsrc, 2 s segments, 20 segments)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SEGMENTS = 20
SEGMENT_SECONDS = 2


def make_rendition(out: Path) -> Path:
    """Write index.m3u8 and seg000.ts .. seg019.ts into `out`."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.fail("ffmpeg is missing: `make test` installs it (scripts/test-deps.sh)")
    subprocess.run(
        [
            ffmpeg,
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x180:rate=25",
            "-t",
            str(SEGMENTS * SEGMENT_SECONDS),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",  # a key frame every 2 s, so every segment is exactly 2 s
            "-keyint_min",
            "50",
            "-sc_threshold",
            "0",
            "-f",
            "hls",
            "-hls_time",
            str(SEGMENT_SECONDS),
            "-hls_playlist_type",
            "vod",
            "-hls_segment_filename",
            str(out / "seg%03d.ts"),
            str(out / "index.m3u8"),
        ],
        check=True,
        timeout=120,
    )
    assert len(list(out.glob("seg*.ts"))) == SEGMENTS
    return out


def segment(index: int) -> str:
    return f"seg{index:03d}.ts"
