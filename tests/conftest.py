"""Shared fixtures: real origin servers (moto S3, an HTTP server, a directory) and an edge."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from agentcache.config import CacheConfig, Config, NamespaceConfig, OriginSpec
from agentcache.server.app import EdgeApp, build_app
from tests.support import servers
from tests.support.hls import make_rendition
from tests.support.origins import OriginUnderTest, file_origin, http_test_origin, s3_test_origin

NS = "tenant-a"
NS_KEY = "key-for-tenant-a-0123456789"
AUTH = {"Authorization": f"Bearer {NS_KEY}"}
ADMIN_KEY = "admin-key-for-tests-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with servers.s3_server() as url:
        yield url


@pytest.fixture(scope="session")
def http_origin_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("http-origin")


@pytest.fixture(scope="session")
def http_origin_url(http_origin_root: Path) -> Iterator[str]:
    with servers.http_origin(http_origin_root) as url:
        yield url


@pytest.fixture(scope="session")
def rendition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real HLS VOD rendition made by ffmpeg: index.m3u8 and 20 segments of 2 s."""
    return make_rendition(tmp_path_factory.mktemp("hls"))


@pytest.fixture(params=["file", "s3", "http"])
def origin(request: pytest.FixtureRequest, tmp_path: Path) -> OriginUnderTest:
    """Each behaviour test runs against every origin kind."""
    if request.param == "s3":
        return s3_test_origin(request.getfixturevalue("s3_endpoint"))
    if request.param == "http":
        root = request.getfixturevalue("http_origin_root")
        return http_test_origin(request.getfixturevalue("http_origin_url"), root)
    return file_origin(tmp_path / "origin")


class Clock:
    """An injected clock: tests move time instead of sleeping."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_config(cache_dir: Path, origin: OriginSpec, **cache: int) -> Config:
    return Config(
        cache=CacheConfig(dir=cache_dir, **cache),
        origin=OriginSpec(url=f"file://{cache_dir.parent / 'unused-origin'}"),
        namespaces=(NamespaceConfig(NS, NS_KEY, origin),),
        admin_key=ADMIN_KEY,
    )


@contextlib.asynccontextmanager
async def running(config: Config, clock: Clock) -> AsyncIterator[EdgeApp]:
    """A started edge app (tiers, control plane, namespaces), stopped afterwards."""
    app = build_app(config, clock=clock)
    await app.startup()
    try:
        yield app
    finally:
        await app.shutdown()


@contextlib.asynccontextmanager
async def client_for(app: EdgeApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as c:
        yield c


@pytest.fixture
async def edge_app(tmp_path: Path, origin: OriginUnderTest, clock: Clock) -> AsyncIterator[EdgeApp]:
    async with running(make_config(tmp_path / "cache", origin.spec), clock) as app:
        yield app


@pytest.fixture
async def client(edge_app: EdgeApp) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(edge_app) as c:
        yield c
