"""Control-plane routes (health, metrics); a framework is fine here, off the hot path."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentcache.cache.edge import Edge
from agentcache.errors import AgentCacheError

ORIGIN_CHECK_TIMEOUT_SECONDS = 3.0


def control_app(edge: Edge) -> Starlette:
    async def health(request: Request) -> JSONResponse:
        origins = dict(
            await asyncio.gather(
                *(
                    _check(name, ns.origin.kind, ns.origin.check())
                    for name, ns in edge.namespaces.items()
                )
            )
        )
        tiers = edge.health()
        ok = all(t.get("ok") for t in tiers.values()) and all(o["ok"] for o in origins.values())
        body = {
            "status": "ok" if ok else "degraded",
            "tiers": tiers,
            "origins": origins,
            "bypass": edge.config.bypass,
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        return Response(
            edge.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"error": "not_found", "message": f"no route {request.url.path}", "status": 404},
            status_code=404,
        )

    async def not_allowed(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"error": "method_not_allowed", "message": request.method, "status": 405},
            status_code=405,
        )

    return Starlette(
        routes=[Route("/api/health", health), Route("/metrics", metrics)],
        exception_handlers={404: not_found, 405: not_allowed},
    )


async def _check(name: str, kind: str, probe: object) -> tuple[str, dict[str, object]]:
    try:
        await asyncio.wait_for(probe, ORIGIN_CHECK_TIMEOUT_SECONDS)  # type: ignore[arg-type]
    except (AgentCacheError, TimeoutError) as exc:
        return name, {"ok": False, "kind": kind, "error": str(exc) or type(exc).__name__}
    return name, {"ok": True, "kind": kind}
