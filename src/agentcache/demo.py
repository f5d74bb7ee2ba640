"""`make run`'s embedded demo: a local origin directory with a few files and a config for it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEMO_NAMESPACE = "demo"

_CONFIG = """\
# Written by `agentcache serve --demo`; edit freely, it is not overwritten.
[server]
host = "127.0.0.1"
port = 8080
admin_key = "{admin_key}"

[cache]
dir = "cache"
memory_max_bytes = "256MiB"
memory_admit_max_bytes = "8MiB"
disk_max_bytes = "2GiB"

[origin]
url = "file://demo-origin"

[namespaces.{ns}]
api_key = "{key}"

[namespaces.{ns}.ttl]
small = 86400
ai = 604800
large = 3600
video = 21600
"""


def seed(var: Path) -> Path:
    """Create var/demo-origin and var/agentcache.toml if missing; return the config path."""
    origin = var / "demo-origin" / DEMO_NAMESPACE
    origin.mkdir(parents=True, exist_ok=True)
    files = {
        "hello.txt": b"Hello from AgentCache Edge!\n",
        "notes.md": b"# Notes\n\nCached for a week: text-like content is the 'ai' class.\n",
        "data.csv": b"id,value\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(1000)),
        "images/photo.bin": os.urandom(256 * 1024),
    }
    for name, body in files.items():
        path = origin / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
    config = var / "agentcache.toml"
    if not config.exists():
        config.write_text(
            _CONFIG.format(
                ns=DEMO_NAMESPACE,
                key=secrets.token_urlsafe(24),
                admin_key=secrets.token_urlsafe(24),
            )
        )
    return config
