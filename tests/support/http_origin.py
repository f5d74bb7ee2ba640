"""A plain HTTP origin for tests: Starlette's StaticFiles (ETag, Last-Modified, Range,
conditional GET) over a directory, plus PUT and DELETE, plus a request counter and a log of
every read: its method, Range header and how many body bytes it sent.

Run as `python tests/support/http_origin.py ROOT PORT`.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

from granian import Granian
from granian.constants import Interfaces
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

ROOT = Path(os.environ.get("HTTP_ORIGIN_ROOT", "."))
counts: Counter[str] = Counter()
reads: dict[str, list[dict[str, object]]] = {}


async def count(request: Request) -> JSONResponse:
    return JSONResponse({"total": sum(counts.values()), "by_key": dict(counts)})


async def read_log(request: Request) -> JSONResponse:
    return JSONResponse(reads.get(request.query_params["key"], []))


async def reset(request: Request) -> Response:
    counts.clear()
    reads.clear()
    return Response(status_code=204)


async def write(request: Request) -> Response:
    key = request.path_params["key"]
    path = (ROOT / key).resolve()
    if not path.is_relative_to(ROOT.resolve()):
        return Response(status_code=400)
    if request.method == "DELETE":
        path.unlink(missing_ok=True)
        return Response(status_code=204)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".part")
    with temp.open("wb") as out:
        async for chunk in request.stream():
            out.write(chunk)
    temp.replace(path)
    return Response(status_code=201)


inner = Starlette(
    routes=[
        Route("/__count", count),
        Route("/__reads", read_log),
        Route("/__reset", reset, methods=["POST"]),
        Route("/{key:path}", write, methods=["PUT", "DELETE"]),
        Mount("/", StaticFiles(directory=ROOT, check_dir=False)),
    ]
)


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    """Counts object reads (and conditional ones apart); a `<file>.headers` JSON sidecar adds
    response headers, so tests can give an object Cache-Control, Expires or Vary."""
    is_read = scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
    if not is_read or scope["path"].startswith("/__"):
        await inner(scope, receive, send)
        return
    key = scope["path"].lstrip("/")
    counts[key] += 1
    if any(name == b"if-none-match" for name, _ in scope["headers"]):
        counts["conditional:" + key] += 1
    sidecar = ROOT / (key + ".headers")
    extra = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    headers = {name.decode(): value.decode() for name, value in scope["headers"]}
    record: dict[str, object] = {
        "method": scope["method"],
        "range": headers.get("range"),
        "bytes": 0,
    }
    reads.setdefault(key, []).append(record)
    # Without pathsend every body byte passes through `send` below, where it is counted.
    extensions = {k: v for k, v in scope.get("extensions", {}).items() if "pathsend" not in k}
    scope = {**scope, "extensions": extensions}

    async def send_with_headers(message):  # type: ignore[no-untyped-def]
        if message["type"] == "http.response.body":
            record["bytes"] = int(record["bytes"]) + len(message.get("body", b""))  # type: ignore[call-overload]
        if message["type"] == "http.response.start":
            record["status"] = message["status"]
        if message["type"] == "http.response.start" and extra:
            message["headers"] = [
                *(h for h in message["headers"] if h[0].decode().lower() not in extra),
                *((k.encode(), v.encode()) for k, v in extra.items()),
            ]
        await send(message)

    await inner(scope, receive, send_with_headers)


if __name__ == "__main__":
    os.environ["HTTP_ORIGIN_ROOT"] = sys.argv[1]
    Granian(
        "http_origin:app",
        interface=Interfaces.ASGI,
        address="127.0.0.1",
        port=int(sys.argv[2]),
        workers=1,
        websockets=False,
        log_enabled=False,
        working_dir=Path(__file__).parent,
    ).serve()
