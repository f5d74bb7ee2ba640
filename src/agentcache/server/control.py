"""The control plane as one FastAPI app: health, metrics, the portal and its OpenAPI document
at /api/openapi.json. A framework is fine here; the object path never goes through it."""

from __future__ import annotations

import asyncio
import hmac
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from agentcache.control.tenancy import Tenancy
from agentcache.errors import RequestError
from agentcache.server.portal import portal_router, request_key
from agentcache.server.portal_models import ErrorOut

ORIGIN_CHECK_TIMEOUT_SECONDS = 3.0
ORIGIN_PROBE_SECONDS = 10.0


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, "status": status}, status)


def control_app(tenancy: Tenancy) -> FastAPI:
    edge = tenancy.edge
    admin_key = edge.config.admin_key
    app = FastAPI(
        title="AgentCache Edge",
        version="0.1.0",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.include_router(portal_router(tenancy, admin_key))

    probed: dict[str, Any] = {"at": float("-inf")}

    async def probe_origins() -> tuple[dict[str, str], int]:
        """Origin checks, at most once per ORIGIN_PROBE_SECONDS: health is unauthenticated and
        must not turn each call into one origin request per namespace."""
        if time.monotonic() - probed["at"] >= ORIGIN_PROBE_SECONDS:
            namespaces = list(edge.namespaces.items())  # the set may change while we await
            checks = await asyncio.gather(*(_check(ns.origin.check()) for _, ns in namespaces))
            failing = {name: why for (name, _), why in zip(namespaces, checks, strict=True) if why}
            probed.update(at=time.monotonic(), failing=failing, checked=len(namespaces))
        return probed["failing"], probed["checked"]

    def is_admin(request: Request) -> bool:
        presented = request_key(request)
        return bool(admin_key and presented and hmac.compare_digest(presented, admin_key.encode()))

    @app.get(
        "/api/health",
        response_model=None,
        responses={503: {"description": "a cache tier is failing"}},
    )
    async def health(request: Request) -> JSONResponse:
        """Tiers and origins. 503 only when a tier of this node fails: a failing origin is
        reported ("degraded") but is no reason to take the node out of rotation, since it
        still serves what it has. Namespace names only for the admin: they are tenants' data."""
        failing, checked = await probe_origins()
        tiers = edge.health()
        tiers_ok = all(t.get("ok") for t in tiers.values())
        origins: dict[str, Any] = {"checked": checked, "failing": len(failing)}
        if is_admin(request):
            origins["failures"] = failing
        body = {
            "status": "ok" if tiers_ok and not failing else "degraded",
            "tiers": tiers,
            "origins": origins,
            "bypass": edge.config.bypass,
        }
        return JSONResponse(body, status_code=200 if tiers_ok else 503)

    @app.get(
        "/metrics",
        response_model=None,
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            401: {"model": ErrorOut},
        },
    )
    async def metrics(request: Request) -> Response:
        """Prometheus exposition; per-namespace figures, so the admin key is required."""
        if not is_admin(request):  # no admin key configured: nobody reads tenants' figures
            return error(401, "unauthorized", "metrics need the admin key (Bearer)")
        return Response(
            edge.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError) -> JSONResponse:
        response = error(exc.status, exc.code, exc.message)
        for name, value in exc.headers:
            response.headers[name.decode()] = value.decode()
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error(exc.status_code, code, str(exc.detail))

    return app


async def _check(probe: Any) -> str | None:
    try:
        await asyncio.wait_for(probe, ORIGIN_CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # a health probe reports any failure; it never fails itself
        return str(exc) or type(exc).__name__
    return None
