"""A plain HTTP origin for tests: Starlette's StaticFiles (ETag, Last-Modified, Range,
conditional GET) over a directory, plus PUT and DELETE, plus a request counter.

Run as `python tests/support/http_origin.py ROOT PORT`.
"""

from __future__ import annotations

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


async def count(request: Request) -> JSONResponse:
    return JSONResponse({"total": sum(counts.values()), "by_key": dict(counts)})


async def reset(request: Request) -> Response:
    counts.clear()
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
        Route("/__reset", reset, methods=["POST"]),
        Route("/{key:path}", write, methods=["PUT", "DELETE"]),
        Mount("/", StaticFiles(directory=ROOT, check_dir=False)),
    ]
)


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    is_read = scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
    if is_read and not scope["path"].startswith("/__"):
        counts[scope["path"].lstrip("/")] += 1
    await inner(scope, receive, send)


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
