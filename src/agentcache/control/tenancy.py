"""Managed tenancy: creating, loading, deleting namespaces; their keys (shown once, stored as
hashes, rotatable with a grace period, revocable); signed URLs; the audit log."""

from __future__ import annotations

import dataclasses
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentcache.cache.edge import Edge
from agentcache.config import Features, Limits, NamespaceConfig, OriginSpec
from agentcache.control.sealing import Sealer
from agentcache.control.store import ControlStore, KeyRow, NamespaceRow
from agentcache.errors import ConfigError, RequestError
from agentcache.namespace import Namespace, key_digest
from agentcache.policy.classify import ClassPolicy
from agentcache.policy.keys import validate_namespace
from agentcache.policy.signing import MAX_EXPIRES_IN_SECONDS, signed_path

log = logging.getLogger(__name__)
audit_log = logging.getLogger("agentcache.audit")


@dataclass(frozen=True, slots=True)
class Created:
    name: str
    api_key: str
    s3_access_key_id: str
    s3_secret_access_key: str


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    api_key: str
    previous_keys_expire_at: float | None


def new_api_key(namespace: str) -> str:
    return f"ac_{namespace}_{secrets.token_urlsafe(32)}"


def spec_to_json(config: NamespaceConfig) -> dict[str, Any]:
    """Everything but the key: the stored description of a namespace."""
    data = dataclasses.asdict(config)
    data.pop("api_key")
    data.pop("name")
    return data


def spec_from_json(name: str, data: dict[str, Any], api_key: str | None = None) -> NamespaceConfig:
    origin = data.get("origin")
    return NamespaceConfig(
        name,
        api_key,
        OriginSpec(**origin) if origin else None,
        ClassPolicy(**data.get("policy", {})),
        display_name=data.get("display_name", ""),
        tags=tuple(data.get("tags", ())),
        features=Features(**data.get("features", {})),
        quota_bytes=data.get("quota_bytes"),
        limits=Limits(**data.get("limits", {})),
    )


class Tenancy:
    def __init__(
        self,
        store: ControlStore,
        sealer: Sealer,
        edge: Edge,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.sealer = sealer
        self.edge = edge
        self.clock = clock

    # -- start-up ----------------------------------------------------------------------------

    def load(self, declared: tuple[NamespaceConfig, ...]) -> None:
        """Reconcile TOML-declared namespaces into the store, then start every namespace."""
        for config in declared:
            try:
                if self.store.namespace(config.name) is None:
                    self._insert(config, source="config")
                else:
                    self.store.update_spec(config.name, spec_to_json(config))
                self._set_config_key(config)
            except sqlite3.IntegrityError:
                pass  # another worker starting at the same moment stored it first
        for row in self.store.namespaces():
            try:
                self._activate(row)
            except ConfigError as exc:  # one broken tenant must not keep the others down
                log.error("namespace %s not started: %s", row.name, exc)

    def _set_config_key(self, config: NamespaceConfig) -> None:
        """A TOML key is that namespace's key of record: it replaces earlier config keys."""
        assert config.api_key is not None
        digest = key_digest(config.api_key.encode())
        known = {k.key_hash for k in self.store.keys(config.name)}
        if digest not in known:
            self.store.db.execute(
                "DELETE FROM api_keys WHERE namespace = ? AND id LIKE 'cfg-%'", (config.name,)
            )
            self.store.insert_key(
                KeyRow(f"cfg-{secrets.token_hex(6)}", config.name, digest, self.clock(), None, None)
            )

    def _insert(
        self, config: NamespaceConfig, source: str, signing_secret: bytes | None = None
    ) -> tuple[str, str]:
        access_key_id = "AK" + secrets.token_hex(9).upper()
        secret_access_key = secrets.token_urlsafe(30)
        self.store.insert_namespace(
            NamespaceRow(
                config.name,
                spec_to_json(config),
                self.sealer.seal(signing_secret or secrets.token_bytes(32)),
                access_key_id,
                self.sealer.seal(secret_access_key.encode()),
                source,
                self.clock(),
            )
        )
        return access_key_id, secret_access_key

    def _activate(self, row: NamespaceRow) -> Namespace:
        namespace = self.edge.add_namespace(
            spec_from_json(row.name, row.spec), signing_secret=self.sealer.open(row.signing_secret)
        )
        self._refresh_keys(namespace)
        return namespace

    def _refresh_keys(self, namespace: Namespace) -> None:
        live = {
            k.key_hash: k.expires_at
            for k in self.store.keys(namespace.name)
            if k.revoked_at is None
        }
        namespace.key_hashes.clear()
        namespace.key_hashes.update(live)

    # -- administration ----------------------------------------------------------------------

    async def create(self, config: NamespaceConfig, actor: str) -> Created:
        validate_namespace(config.name)
        if config.policy.min_ttl_seconds > config.policy.max_ttl_seconds:
            raise RequestError(400, "bad_ttl", "ttl.min is larger than ttl.max")
        if config.name in self.edge.namespaces or self.store.namespace(config.name):
            raise RequestError(409, "namespace_exists", f"namespace {config.name!r} exists")
        signing_secret = secrets.token_bytes(32)
        try:  # the origin first: a namespace that cannot start is never stored
            namespace = self.edge.add_namespace(config, signing_secret=signing_secret)
        except ConfigError as exc:
            raise RequestError(400, "bad_origin", str(exc)) from None
        try:
            access_key_id, secret_access_key = self._insert(config, "api", signing_secret)
            api_key = new_api_key(config.name)
            digest = key_digest(api_key.encode())
            self.store.insert_key(
                KeyRow(secrets.token_hex(8), config.name, digest, self.clock(), None, None)
            )
        except BaseException:
            self.store.delete_namespace(config.name)
            await self.edge.remove_namespace(config.name)
            raise
        self._refresh_keys(namespace)
        self._audit(actor, "namespace.create", config.name, {"source": "api"})
        return Created(config.name, api_key, access_key_id, secret_access_key)

    async def delete(self, name: str, actor: str) -> None:
        self._require(name)
        self.store.delete_namespace(name)
        await self.edge.remove_namespace(name)
        self._audit(actor, "namespace.delete", name, {})

    def rotate(self, name: str, grace_seconds: int, actor: str) -> IssuedKey:
        namespace = self._require(name)
        api_key = new_api_key(name)
        key_id = secrets.token_hex(8)
        now = self.clock()
        self.store.insert_key(KeyRow(key_id, name, key_digest(api_key.encode()), now, None, None))
        expires_at = now + grace_seconds
        self.store.expire_keys(name, expires_at, except_id=key_id)
        self._refresh_keys(namespace)
        self._audit(actor, "key.rotate", name, {"key_id": key_id, "grace_seconds": grace_seconds})
        return IssuedKey(key_id, api_key, expires_at)

    def revoke(self, name: str, key_id: str, actor: str) -> None:
        namespace = self._require(name)
        if not self.store.revoke_key(name, key_id, self.clock()):
            raise RequestError(404, "unknown_key", f"no live key {key_id!r} in {name!r}")
        self._refresh_keys(namespace)
        self._audit(actor, "key.revoke", name, {"key_id": key_id})

    def keys(self, name: str) -> list[dict[str, Any]]:
        self._require(name)
        now = self.clock()
        return [
            {
                "key_id": k.id,
                "created_at": k.created_at,
                "expires_at": k.expires_at,
                "revoked": k.revoked_at is not None,
                "active": k.revoked_at is None and (k.expires_at is None or now < k.expires_at),
            }
            for k in self.store.keys(name)
        ]

    def sign(self, name: str, key: str, expires_in: int, method: str) -> tuple[str, int]:
        namespace = self._require(name)
        if not 0 < expires_in <= MAX_EXPIRES_IN_SECONDS:
            raise RequestError(400, "bad_expiry", "expires_in must be 1 second to 7 days")
        expires = int(self.clock()) + expires_in
        return signed_path(namespace.signing_secret, name, key, expires, method), expires

    def audit(self, actor: str, action: str, namespace: str | None, detail: dict[str, Any]) -> None:
        self._audit(actor, action, namespace, detail)

    def _audit(
        self, actor: str, action: str, namespace: str | None, detail: dict[str, Any]
    ) -> None:
        self.store.audit(self.clock(), actor, action, namespace, detail)
        audit_log.info("%s %s %s %s", actor, action, namespace or "-", detail)

    def _require(self, name: str) -> Namespace:
        namespace = self.edge.namespaces.get(name)
        if namespace is None:
            raise RequestError(404, "unknown_namespace", f"no namespace {name[:80]!r}")
        return namespace
