"""A real S3-speaking origin for tests: moto's server, plus a request counter.

Run as `python tests/support/s3_server.py PORT`. `GET /__count` returns the number of object
requests (GET/HEAD on a key) seen so far, by key; `POST /__reset` zeroes it.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

counts: Counter[str] = Counter()
lock = threading.Lock()


def counting(app: Any) -> Callable[..., Iterable[bytes]]:
    def wrapped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/__count":
            with lock:
                body = json.dumps({"total": sum(counts.values()), "by_key": dict(counts)})
            start_response("200 OK", [("content-type", "application/json")])
            return [body.encode()]
        if path == "/__reset":
            with lock:
                counts.clear()
            start_response("204 No Content", [])
            return [b""]
        method = environ["REQUEST_METHOD"]
        parts = path.lstrip("/").split("/", 1)
        if method in ("GET", "HEAD") and len(parts) == 2 and parts[1]:
            with lock:
                counts[parts[1]] += 1
        return app(environ, start_response)  # type: ignore[no-any-return]

    return wrapped


if __name__ == "__main__":
    app = counting(DomainDispatcherApplication(create_backend_app))
    server = make_server(
        "127.0.0.1", int(sys.argv[1]), app, threaded=True, request_handler=MotoRequestHandler
    )
    print("ready", flush=True)
    server.serve_forever()
