"""Configuration: one TOML file plus AGENTCACHE_* environment overrides, validated once."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from agentcache.errors import ConfigError, RequestError
from agentcache.policy.classify import TTL_FIELDS, ClassPolicy
from agentcache.policy.keys import validate_namespace

_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


@dataclass(frozen=True, slots=True)
class OriginSpec:
    """Where a namespace's objects live: file://dir, s3://bucket/prefix or http(s)://base."""

    url: str
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id_env: str | None = None
    secret_access_key_env: str | None = None
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 30.0
    retry_attempts: int = 3


@dataclass(frozen=True, slots=True)
class Features:
    """Switches a namespace can flip; the capabilities behind them arrive issue by issue."""

    jetty_speed_upload: bool = True
    video_streaming: bool = True
    desktop_cdn: bool = False
    ai_content: bool = True


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-namespace token buckets; None means unlimited."""

    requests_per_second: float | None = None
    bandwidth_bytes_per_second: float | None = None


@dataclass(frozen=True, slots=True)
class NamespaceConfig:
    """A tenant. `api_key` is set for namespaces declared in TOML; API-created ones keep
    only hashes of their keys, in the control store."""

    name: str
    api_key: str | None = None
    origin: OriginSpec | None = None
    policy: ClassPolicy = field(default_factory=ClassPolicy)
    display_name: str = ""
    tags: tuple[str, ...] = ()
    features: Features = field(default_factory=Features)
    quota_bytes: int | None = None
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True, slots=True)
class CacheConfig:
    dir: Path
    memory_max_bytes: int = 256 * 2**20
    memory_admit_max_bytes: int = 8 * 2**20
    disk_max_bytes: int = 10 * 2**30
    block_bytes: int = 2**20
    # Large objects are cached as chunks of this size, fetched on demand.
    chunk_bytes: int = 5 * 2**20
    # How far a chunk fill may run ahead of its furthest reader.
    readahead_bytes: int = 20 * 2**20
    fsync: bool = False


@dataclass(frozen=True, slots=True)
class Config:
    cache: CacheConfig
    origin: OriginSpec
    namespaces: tuple[NamespaceConfig, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    admin_key: str | None = None
    bypass: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    control_db: Path | None = None  # default: control.sqlite3 beside the cache directory
    master_key: str | None = None  # seals stored secrets; default: a key file beside the db
    egress_usd_per_gb: float = 0.09  # what a GB from the origin would have cost

    @property
    def control_db_path(self) -> Path:
        return self.control_db or self.cache.dir.parent / "control.sqlite3"


def parse_size(value: object, what: str) -> int:
    """Accept 1048576, "1MiB", "10 GB"."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _SIZE_RE.match(str(value))
    if not match:
        raise ConfigError(f'{what}: {value!r} is not a size (try 1048576 or "1MiB")')
    return int(match.group(1)) * _UNITS[(match.group(2) or "b").lower()]


def _table(data: Mapping[str, Any], name: str, allowed: set[str]) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"[{name}] must be a table")
    unknown = set(table) - allowed
    if unknown:
        raise ConfigError(f"[{name}]: unknown setting(s) {', '.join(sorted(unknown))}")
    return table


def _resolve_file_url(url: str, base: Path) -> str:
    if not url.startswith("file://"):
        return url
    path = Path(url.removeprefix("file://"))
    return "file://" + str(path if path.is_absolute() else (base / path).resolve())


def _origin(value: Any, where: str, base: Path) -> OriginSpec:
    if isinstance(value, str):
        value = {"url": value}
    if not isinstance(value, dict) or "url" not in value:
        raise ConfigError(f"{where}: origin needs a url")
    allowed = {f.name for f in fields(OriginSpec)}
    unknown = set(value) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown origin setting(s) {', '.join(sorted(unknown))}")
    spec = OriginSpec(**{**value, "url": _resolve_file_url(str(value["url"]), base)})
    if not spec.url.startswith(("file://", "s3://", "http://", "https://")):
        raise ConfigError(f"{where}: origin url must be file://, s3://, http:// or https://")
    return spec


# Whole numbers >= 0 a namespace may set beside its TTLs.
_POLICY_COUNTS = ("stale_while_revalidate_seconds", "stale_if_error_seconds", "prefetch_segments")


def _policy(ns: Mapping[str, Any], where: str) -> ClassPolicy:
    ttl = ns.get("ttl", {})
    unknown = set(ttl) - set(TTL_FIELDS)
    if unknown:
        raise ConfigError(f"{where}.ttl: unknown class(es) {', '.join(sorted(unknown))}")
    values: dict[str, int] = {}
    for name, seconds in ttl.items():
        if not isinstance(seconds, int) or seconds < 0:
            raise ConfigError(f"{where}.ttl.{name}: must be a whole number of seconds >= 0")
        values[TTL_FIELDS[name]] = seconds
    if "large_threshold_bytes" in ns:
        values["large_threshold_bytes"] = parse_size(ns["large_threshold_bytes"], where)
    for name in _POLICY_COUNTS:
        if name in ns:
            value = ns[name]
            if not isinstance(value, int) or value < 0:
                raise ConfigError(f"{where}.{name}: must be a whole number >= 0")
            values[name] = value
    return ClassPolicy(**values)


def _namespace(name: str, ns: Any, base: Path) -> NamespaceConfig:
    where = f"[namespaces.{name}]"
    try:
        validate_namespace(name)
    except RequestError as exc:
        raise ConfigError(f"{where}: {exc.message}") from None
    if not isinstance(ns, dict):
        raise ConfigError(f"{where} must be a table")
    known = {
        "api_key",
        "api_key_env",
        "origin",
        "ttl",
        "large_threshold_bytes",
        "display_name",
        "tags",
        "features",
        "quota_bytes",
        "limits",
        *_POLICY_COUNTS,
    }
    unknown = set(ns) - known
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    api_key = ns.get("api_key") or os.environ.get(ns.get("api_key_env", ""), "")
    if len(api_key) < 16:
        raise ConfigError(f"{where}: api_key (or api_key_env) must hold at least 16 characters")
    origin = _origin(ns["origin"], where, base) if "origin" in ns else None
    return NamespaceConfig(
        name,
        api_key,
        origin,
        _policy(ns, where),
        display_name=str(ns.get("display_name", "")),
        tags=tuple(str(t) for t in ns.get("tags", ())),
        features=_dataclass_table(Features, ns.get("features", {}), f"{where}.features"),
        quota_bytes=parse_size(ns["quota_bytes"], where) if "quota_bytes" in ns else None,
        limits=_dataclass_table(Limits, ns.get("limits", {}), f"{where}.limits"),
    )


T = TypeVar("T")


def _dataclass_table(kind: type[T], table: Any, where: str) -> T:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    names = {f.name for f in fields(kind)}  # type: ignore[arg-type]
    unknown = set(table) - names
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    try:
        return kind(**table)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_config(path: Path | None, env: Mapping[str, str] = os.environ) -> Config:
    """Read `path` (may be None for pure defaults) and apply AGENTCACHE_* overrides."""
    data: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        base = path.resolve().parent
    unknown = set(data) - {"server", "cache", "origin", "namespaces", "control"}
    if unknown:
        raise ConfigError(f"unknown section(s) {', '.join(sorted(unknown))}")
    server = _table(
        data, "server", {"host", "port", "workers", "admin_key", "bypass", "tls_cert", "tls_key"}
    )
    control = _table(data, "control", {"database", "egress_usd_per_gb"})
    cache = _table(data, "cache", {f.name for f in fields(CacheConfig)})
    cache_dir = Path(env.get("AGENTCACHE_CACHE_DIR") or cache.get("dir") or "var/cache")
    cache_cfg = CacheConfig(
        dir=cache_dir if cache_dir.is_absolute() else base / cache_dir,
        **{k: parse_size(v, f"[cache].{k}") for k, v in cache.items() if k.endswith("_bytes")},
        fsync=bool(cache.get("fsync", False)),
    )
    if not 4096 <= cache_cfg.block_bytes <= 64 * 2**20:
        raise ConfigError("[cache]: block_bytes must be between 4 KiB and 64 MiB")
    if not 64 * 2**10 <= cache_cfg.chunk_bytes <= 2**30:
        raise ConfigError("[cache]: chunk_bytes must be between 64 KiB and 1 GiB")
    if cache_cfg.readahead_bytes < cache_cfg.chunk_bytes:
        raise ConfigError("[cache]: readahead_bytes must be at least chunk_bytes")
    if bool(server.get("tls_cert")) != bool(server.get("tls_key")):
        raise ConfigError("[server]: tls_cert and tls_key go together")
    if cache_cfg.memory_admit_max_bytes > cache_cfg.memory_max_bytes:
        raise ConfigError("[cache]: memory_admit_max_bytes exceeds memory_max_bytes")
    origin = _origin(data.get("origin", "file://var/origin"), "[origin]", base)
    namespaces = tuple(
        _namespace(name, ns, base) for name, ns in data.get("namespaces", {}).items()
    )
    return Config(
        cache=cache_cfg,
        origin=origin,
        namespaces=namespaces,
        host=env.get("AGENTCACHE_HOST") or server.get("host", "127.0.0.1"),
        port=_port(env.get("AGENTCACHE_PORT") or server.get("port", 8080)),
        workers=_workers(server.get("workers", 1)),
        admin_key=env.get("AGENTCACHE_ADMIN_KEY") or server.get("admin_key"),
        bypass=env.get("AGENTCACHE_BYPASS", "") in ("1", "true", "yes")
        or bool(server.get("bypass", False)),
        tls_cert=_path(server.get("tls_cert"), base),
        tls_key=_path(server.get("tls_key"), base),
        control_db=_path(control.get("database"), base),
        master_key=env.get("AGENTCACHE_MASTER_KEY") or None,
        egress_usd_per_gb=float(control.get("egress_usd_per_gb", 0.09)),
    )


def _workers(value: object) -> int:
    """One worker for now. Each worker keeps tenants' keys and the memory tier in its own
    memory, so a key revoked or an object purged through one worker would live on in the
    others until the shared control plane and invalidation bus (Redis) arrive."""
    if value != 1:
        raise ConfigError("[server].workers: only 1 is supported until the shared control plane")
    return 1


def _path(value: object, base: Path) -> Path | None:
    if value is None:
        return None
    path = Path(str(value))
    return path if path.is_absolute() else base / path


def _port(value: object) -> int:
    try:
        port = int(str(value))
    except ValueError:
        raise ConfigError(f"port {value!r} is not a number") from None
    if not 0 < port < 65536:
        raise ConfigError(f"port {port} is out of range")
    return port
