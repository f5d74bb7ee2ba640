"""Request and response bodies of the portal API; they are also its OpenAPI schema."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
TEN_YEARS = 10 * 365 * 24 * 3600


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    error: str
    message: str
    status: int


class OriginIn(Strict):
    """An S3 or HTTP origin; credentials only by the names of environment variables."""

    url: str = Field(
        pattern=r"^(s3://[a-z0-9.-]{3,63}(/[^\s]*)?|https?://[^\s/]+(/[^\s]*)?)$", max_length=1024
    )
    endpoint_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=1024)
    region: str = Field(default="us-east-1", pattern=r"^[a-z0-9-]{1,32}$")
    access_key_id_env: str | None = Field(default=None, pattern=ENV_NAME)
    secret_access_key_env: str | None = Field(default=None, pattern=ENV_NAME)


class OriginOut(BaseModel):
    url: str
    endpoint_url: str | None
    region: str


class TtlIn(Strict):
    small: int | None = Field(default=None, ge=0, le=TEN_YEARS)
    ai: int | None = Field(default=None, ge=0, le=TEN_YEARS)
    large: int | None = Field(default=None, ge=0, le=TEN_YEARS)
    video: int | None = Field(default=None, ge=0, le=TEN_YEARS)
    live_playlist: int | None = Field(default=None, ge=0, le=TEN_YEARS)
    min: int | None = Field(default=None, ge=0, le=TEN_YEARS)
    max: int | None = Field(default=None, ge=0, le=TEN_YEARS)


class FeaturesModel(Strict):
    jetty_speed_upload: bool = True
    video_streaming: bool = True
    desktop_cdn: bool = False
    ai_content: bool = True


class LimitsModel(Strict):
    requests_per_second: float | None = Field(default=None, gt=0, le=1e9)
    bandwidth_bytes_per_second: float | None = Field(default=None, gt=0, le=1e13)


class NamespaceIn(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    display_name: str = Field(default="", max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=32)
    origin: OriginIn | None = None
    features: FeaturesModel = Field(default_factory=FeaturesModel)
    ttl: TtlIn = Field(default_factory=TtlIn)
    quota_bytes: int | None = Field(default=None, ge=0, le=2**62)
    large_threshold_bytes: int | None = Field(default=None, ge=1, le=2**62)
    stale_while_revalidate_seconds: int | None = Field(default=None, ge=0, le=TEN_YEARS)
    stale_if_error_seconds: int | None = Field(default=None, ge=0, le=TEN_YEARS)
    prefetch_segments: int | None = Field(
        default=None, ge=0, le=20, description="HLS segments fetched ahead of a player"
    )
    limits: LimitsModel = Field(default_factory=LimitsModel)


class CreatedOut(BaseModel):
    name: str
    api_key: str
    s3_access_key_id: str
    s3_secret_access_key: str


class NamespaceOut(BaseModel):
    name: str
    display_name: str
    tags: list[str]
    origin: OriginOut | None
    features: FeaturesModel
    ttl: dict[str, int]
    quota_bytes: int | None
    used_bytes: int
    limits: LimitsModel


class StatsOut(BaseModel):
    hits: int
    misses: int
    hitRate: float
    costSaved: float
    bytesFromCache: int
    bytesFromOrigin: int


class SignIn(Strict):
    key: str = Field(min_length=1, max_length=1024)
    expires_in: int = Field(default=3600, ge=1, le=7 * 24 * 3600)
    method: Literal["GET", "PUT"] = "GET"


class SignOut(BaseModel):
    url: str
    expires_at: int


class PurgeIn(Strict):
    namespace: str = Field(pattern=NAME_PATTERN)
    keys: list[str] | None = Field(default=None, max_length=1000)
    prefix: str | None = Field(default=None, max_length=1024)


class WarmIn(Strict):
    """Exactly one of keys, prefix or playlist."""

    namespace: str = Field(pattern=NAME_PATTERN)
    keys: list[str] | None = Field(default=None, max_length=10_000)
    prefix: str | None = Field(default=None, max_length=1024)
    playlist: str | None = Field(default=None, max_length=1024, description="an HLS playlist key")


class WarmOut(BaseModel):
    id: str
    namespace: str
    target: dict[str, int | str | None]
    state: Literal["running", "done", "failed"]
    total: int
    done: int
    fetched: int
    already_cached: int
    failed: int
    errors: list[str]
    created_at: float
    finished_at: float | None


class PurgeOut(BaseModel):
    namespace: str
    purged: int


class RotateIn(Strict):
    grace_seconds: int = Field(default=3600, ge=0, le=30 * 24 * 3600)


class IssuedKeyOut(BaseModel):
    key_id: str
    api_key: str
    previous_keys_expire_at: float | None


class KeyOut(BaseModel):
    key_id: str
    created_at: float
    expires_at: float | None
    revoked: bool
    active: bool


class AuditOut(BaseModel):
    at: float
    actor: str
    action: str
    namespace: str | None
    detail: dict[str, object]
