#!/usr/bin/env bash
# Make sure this machine can build the project's environment: Python >= 3.11 with venv, and
# uv (pinned) in .tools/. Installs Debian packages only when something is missing and we are root.
set -euo pipefail
UV_VERSION=0.13.8
PY=${PYTHON:-python3}

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing $* with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "bootstrap: please install $* (needs root)" >&2
    exit 1
  fi
}

command -v "$PY" >/dev/null || apt_install python3 python3-venv
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' ||
  { echo "bootstrap: Python 3.11+ required, found $("$PY" --version)" >&2; exit 1; }
"$PY" -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv

if [ ! -x .tools/bin/uv ] || [ "$(.tools/bin/uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  rm -rf .tools
  "$PY" -m venv .tools
  .tools/bin/pip install -q "uv==$UV_VERSION"
fi
