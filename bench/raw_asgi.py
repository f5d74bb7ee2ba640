"""The ceiling for a Python hit path: a bare ASGI callable on Granian answering from memory
with the same headers the edge sends. `python bench/raw_asgi.py PORT SIZE`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

BODY = os.urandom(int(os.environ.get("RAW_ASGI_SIZE", "10240")))
HEADERS = [
    (b"content-type", b"application/octet-stream"),
    (b"accept-ranges", b"bytes"),
    (b"cache-control", b"private, max-age=86400"),
    (b"etag", b'"18eb61ee9c1aa120-2800"'),
    (b"last-modified", b"Wed, 25 Nov 2026 19:55:53 GMT"),
    (b"content-length", str(len(BODY)).encode()),
    (b"age", b"0"),
    (b"x-cache", b"HIT"),
    (b"x-cache-tier", b"memory"),
]


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


if __name__ == "__main__":
    from granian import Granian
    from granian.constants import Interfaces

    os.environ["RAW_ASGI_SIZE"] = sys.argv[2]
    Granian(
        "raw_asgi:app",
        interface=Interfaces.ASGI,
        address="127.0.0.1",
        port=int(sys.argv[1]),
        workers=1,
        websockets=False,
        log_enabled=False,
        working_dir=Path(__file__).resolve().parent,
    ).serve()
