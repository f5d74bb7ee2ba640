#!/usr/bin/env bash
# What the test suite needs beyond Python: ffmpeg (the HLS tests make a real rendition with it).
# Installs from Debian's packages when missing and we are root; otherwise says what to install.
set -euo pipefail
if ! command -v ffmpeg >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-deps: installing ffmpeg with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
  else
    echo "test-deps: please install ffmpeg (the HLS tests need it)" >&2
    exit 1
  fi
fi
