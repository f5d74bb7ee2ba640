"""The portal API (`/api/portal/...`): namespaces, keys, signed URLs, stats, purge, warm-up,
audit.

The admin key may do everything; a namespace's own key may read and act on that namespace
only. A namespace key asking about another namespace gets 403, whether it exists or not.
"""

from __future__ import annotations

import dataclasses
import hmac
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from agentcache.config import Features, Limits, NamespaceConfig, OriginSpec
from agentcache.control.tenancy import Tenancy
from agentcache.errors import RequestError
from agentcache.namespace import Namespace, key_digest
from agentcache.policy.classify import TTL_FIELDS, ClassPolicy
from agentcache.policy.keys import validate_key
from agentcache.server.http import presented_key
from agentcache.server.portal_models import (
    AuditOut,
    CreatedOut,
    ErrorOut,
    FeaturesModel,
    IssuedKeyOut,
    KeyOut,
    LimitsModel,
    NamespaceIn,
    NamespaceOut,
    OriginOut,
    PurgeIn,
    PurgeOut,
    RotateIn,
    SignIn,
    SignOut,
    StatsOut,
    WarmIn,
    WarmOut,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 401, 403, 404, 409, 422)
}


@dataclass(frozen=True, slots=True)
class Principal:
    admin: bool
    namespace: str | None = None

    @property
    def actor(self) -> str:
        return "admin" if self.admin else f"namespace:{self.namespace}"

    def require_admin(self) -> None:
        if not self.admin:
            raise RequestError(403, "forbidden", "this action needs the admin key")

    def require(self, namespace: str) -> None:
        if not (self.admin or self.namespace == namespace):
            raise RequestError(403, "forbidden", "a namespace key may only act on its own data")


def request_key(request: Request) -> bytes:
    return presented_key(request.headers.get("authorization"), request.headers.get("x-api-key"))


def portal_router(tenancy: Tenancy, admin_key: str | None) -> APIRouter:
    edge = tenancy.edge
    admin = admin_key.encode() if admin_key else None

    def principal(request: Request) -> Principal:
        presented = request_key(request)
        if admin is not None and presented and hmac.compare_digest(presented, admin):
            return Principal(admin=True)
        if presented:
            digest, now = key_digest(presented), tenancy.clock()
            for ns in edge.namespaces.values():
                if digest in ns.key_hashes and ns.accepts(presented, now):
                    return Principal(admin=False, namespace=ns.name)
        raise RequestError(401, "unauthorized", "an admin or namespace key is required")

    caller_dependency = Depends(principal)
    router = APIRouter(prefix="/api/portal", responses=ERRORS)

    def find(name: str) -> Namespace:
        namespace = edge.namespaces.get(name)
        if namespace is None:
            raise RequestError(404, "unknown_namespace", f"no namespace {name[:80]!r}")
        return namespace

    @router.post("/namespaces", status_code=201, response_model=CreatedOut)
    async def create_namespace(
        body: NamespaceIn, caller: Principal = caller_dependency
    ) -> CreatedOut:
        caller.require_admin()
        created = await tenancy.create(_config(body), caller.actor)
        return CreatedOut(**dataclasses.asdict(created))

    @router.get("/namespaces", response_model=list[NamespaceOut])
    async def list_namespaces(caller: Principal = caller_dependency) -> list[NamespaceOut]:
        visible = edge.namespaces.values() if caller.admin else [find(str(caller.namespace))]
        return [_describe(ns, edge.disk.used_bytes(ns.name)) for ns in visible]

    @router.get("/namespaces/{ns}", response_model=NamespaceOut)
    async def get_namespace(ns: str, caller: Principal = caller_dependency) -> NamespaceOut:
        caller.require(ns)
        return _describe(find(ns), edge.disk.used_bytes(ns))

    @router.delete("/namespaces/{ns}", status_code=204, response_class=Response)
    async def delete_namespace(ns: str, caller: Principal = caller_dependency) -> Response:
        caller.require_admin()
        await tenancy.delete(ns, caller.actor)
        edge.metrics.forget(ns)
        return Response(status_code=204)

    @router.get("/namespaces/{ns}/stats", response_model=StatsOut)
    async def namespace_stats(ns: str, caller: Principal = caller_dependency) -> StatsOut:
        caller.require(ns)
        find(ns)
        totals = edge.metrics.namespace_totals(ns)
        reads = totals["hits"] + totals["misses"]
        return StatsOut(
            hits=totals["hits"],
            misses=totals["misses"],
            hitRate=totals["hits"] / reads if reads else 0.0,
            costSaved=totals["bytes_from_cache"] / 1e9 * edge.config.egress_usd_per_gb,
            bytesFromCache=totals["bytes_from_cache"],
            bytesFromOrigin=totals["bytes_from_origin"],
        )

    @router.post("/namespaces/{ns}/sign", response_model=SignOut)
    async def sign(
        ns: str, body: SignIn, request: Request, caller: Principal = caller_dependency
    ) -> SignOut:
        caller.require(ns)
        find(ns)
        path, expires = tenancy.sign(ns, validate_key(body.key), body.expires_in, body.method)
        return SignOut(url=str(request.base_url).rstrip("/") + path, expires_at=expires)

    @router.post("/namespaces/{ns}/keys", status_code=201, response_model=IssuedKeyOut)
    async def rotate_key(
        ns: str, body: RotateIn, caller: Principal = caller_dependency
    ) -> IssuedKeyOut:
        caller.require(ns)
        find(ns)
        issued = tenancy.rotate(ns, body.grace_seconds, caller.actor)
        return IssuedKeyOut(**dataclasses.asdict(issued))

    @router.get("/namespaces/{ns}/keys", response_model=list[KeyOut])
    async def list_keys(ns: str, caller: Principal = caller_dependency) -> list[KeyOut]:
        caller.require(ns)
        find(ns)
        return [KeyOut(**k) for k in tenancy.keys(ns)]

    @router.delete("/namespaces/{ns}/keys/{key_id}", status_code=204, response_class=Response)
    async def revoke_key(ns: str, key_id: str, caller: Principal = caller_dependency) -> Response:
        caller.require(ns)
        find(ns)
        tenancy.revoke(ns, key_id, caller.actor)
        return Response(status_code=204)

    @router.post("/purge", response_model=PurgeOut)
    async def purge(body: PurgeIn, caller: Principal = caller_dependency) -> PurgeOut:
        caller.require(body.namespace)
        find(body.namespace)
        if (body.keys is None) == (body.prefix is None):
            raise RequestError(400, "bad_purge", "give exactly one of keys or prefix")
        keys = [validate_key(k) for k in body.keys] if body.keys is not None else None
        purged = await edge.purge(body.namespace, keys=keys, prefix=body.prefix)
        target = {"keys": len(keys)} if keys is not None else {"prefix": body.prefix}
        tenancy.audit(caller.actor, "purge", body.namespace, {**target, "purged": purged})
        return PurgeOut(namespace=body.namespace, purged=purged)

    @router.post(
        "/warm", status_code=202, response_model=WarmOut, responses={429: {"model": ErrorOut}}
    )
    async def warm(body: WarmIn, caller: Principal = caller_dependency) -> WarmOut:
        """Fetch keys, a prefix or a playlist with its segments in the background."""
        caller.require(body.namespace)
        job = edge.warmer.start(
            find(body.namespace), keys=body.keys, prefix=body.prefix, playlist=body.playlist
        )
        tenancy.audit(caller.actor, "warm", body.namespace, {"job": job.id, **job.target})
        return WarmOut(**dataclasses.asdict(job))

    @router.get("/warm/{job_id}", response_model=WarmOut)
    async def warm_progress(job_id: str, caller: Principal = caller_dependency) -> WarmOut:
        job = edge.warmer.jobs.get(job_id)
        if job is None:
            raise RequestError(404, "unknown_job", "no such warm-up job")
        caller.require(job.namespace)
        return WarmOut(**dataclasses.asdict(job))

    @router.get("/audit", response_model=list[AuditOut])
    async def audit(limit: int = 100, caller: Principal = caller_dependency) -> list[AuditOut]:
        caller.require_admin()
        return [AuditOut(**row) for row in tenancy.store.audit_log(max(1, min(limit, 1000)))]

    return router


def _config(body: NamespaceIn) -> NamespaceConfig:
    policy: dict[str, int] = {
        TTL_FIELDS[name]: seconds
        for name, seconds in body.ttl.model_dump(exclude_none=True).items()
    }
    for name in (
        "large_threshold_bytes",
        "stale_while_revalidate_seconds",
        "stale_if_error_seconds",
        "prefetch_segments",
    ):
        value = getattr(body, name)
        if value is not None:
            policy[name] = value
    return NamespaceConfig(
        body.name,
        None,
        OriginSpec(**body.origin.model_dump()) if body.origin else None,
        ClassPolicy(**policy),
        display_name=body.display_name,
        tags=tuple(body.tags),
        features=Features(**body.features.model_dump()),
        quota_bytes=body.quota_bytes,
        limits=Limits(**body.limits.model_dump()),
    )


def _describe(ns: Namespace, used_bytes: int) -> NamespaceOut:
    config = ns.config
    policy = config.policy
    origin = config.origin
    return NamespaceOut(
        name=ns.name,
        display_name=config.display_name,
        tags=list(config.tags),
        # Never the credentials, not even the names of the variables that hold them.
        origin=OriginOut(url=origin.url, endpoint_url=origin.endpoint_url, region=origin.region)
        if origin
        else None,
        features=FeaturesModel(**dataclasses.asdict(config.features)),
        ttl={name: getattr(policy, field) for name, field in TTL_FIELDS.items()},
        quota_bytes=config.quota_bytes,
        used_bytes=used_bytes,
        limits=LimitsModel(**dataclasses.asdict(config.limits)),
    )
