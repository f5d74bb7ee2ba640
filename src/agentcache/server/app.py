"""The one ASGI application Granian serves: `/o/` goes to the plain-ASGI object path,
everything else to the control plane."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from agentcache.cache.edge import Edge
from agentcache.config import Config, load_config
from agentcache.control.sealing import Sealer
from agentcache.control.store import ControlStore
from agentcache.control.tenancy import Tenancy
from agentcache.server.control import control_app
from agentcache.server.http import Receive, Scope, Send, send_error
from agentcache.server.objects import ObjectHandler

log = logging.getLogger(__name__)


class EdgeApp:
    def __init__(self, edge: Edge, tenancy: Tenancy) -> None:
        self.edge = edge
        self.tenancy = tenancy
        self.objects = ObjectHandler(edge)
        self.control = control_app(tenancy)

    async def startup(self) -> None:
        await self.edge.start()
        self.tenancy.load(self.edge.config.namespaces)

    async def shutdown(self) -> None:
        await self.edge.stop()
        self.tenancy.store.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if scope["path"].startswith("/o/"):
                await self.objects(scope, receive, send)
            else:
                await self.control(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            await send_error(send, 404, "not_found", f"unsupported scope {kind}")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def build_app(config: Config, clock: Callable[[], float] = time.time) -> EdgeApp:
    edge = Edge(config, clock=clock)
    db = config.control_db_path
    sealer = Sealer.from_env_or_file(config.master_key, db.with_suffix(".key"))
    return EdgeApp(edge, Tenancy(ControlStore(db), sealer, edge, clock))


def create_app(config: Config | None = None) -> EdgeApp:
    """Granian's factory: reads AGENTCACHE_CONFIG when no config is given."""
    if config is None:
        path = os.environ.get("AGENTCACHE_CONFIG")
        config = load_config(Path(path) if path else None)
    return build_app(config)
