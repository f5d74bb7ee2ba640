"""Schema-driven fuzzing of the portal (schemathesis): no 500s, no answer outside the schema.

The control plane's FastAPI app is fuzzed directly; the edge behind it is started once for
the module. Each case runs twice: as the admin and as a tenant."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from agentcache.server.app import EdgeApp, build_app
from tests.conftest import ADMIN, AUTH, Clock, make_config
from tests.support.origins import file_origin


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeApp]:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "unused-origin").mkdir()  # the default origin, for namespaces made without one
    app = build_app(make_config(root / "cache", file_origin(root / "origin").spec), Clock())
    asyncio.run(app.startup())
    yield app
    asyncio.run(app.shutdown())


# Every check but one: rules the schema cannot state (reserved names such as "api", keys with
# ".." segments, "keys or prefix but not both") answer 400 to requests the schema allows.
ACCEPTS_VALID_DATA = schemathesis.checks.positive_data_acceptance


def operations(app: EdgeApp) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app.control)
    return [result.ok() for result in schema.get_all_operations()]


def test_portal_never_fails_and_matches_its_schema(started: EdgeApp) -> None:
    # schemathesis's pytest plugin does not load under pytest 9 yet, so its strategies are
    # driven with hypothesis directly: same cases, same checks.
    for operation in operations(started):

        @given(case=operation.as_strategy())
        @settings(
            max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def fuzz(case: Any) -> None:
            for headers in (ADMIN, AUTH):
                case.call_and_validate(headers=headers, excluded_checks=[ACCEPTS_VALID_DATA])

        fuzz()


async def test_openapi_document_is_served(started: EdgeApp) -> None:
    transport = httpx.ASGITransport(app=started)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
        document = (await client.get("/api/openapi.json")).json()
    for path in (
        "/api/portal/namespaces",
        "/api/portal/namespaces/{ns}/sign",
        "/api/portal/namespaces/{ns}/stats",
        "/api/portal/purge",
    ):
        assert path in document["paths"]
