"""The `agentcache` command."""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agentcache.config import load_config
from agentcache.demo import DEMO_NAMESPACE, seed
from agentcache.errors import ConfigError

app = typer.Typer(
    help="AgentCache Edge: an edge cache for S3-compatible object storage.", no_args_is_help=True
)
console = Console()


@app.callback()
def main() -> None:
    """AgentCache Edge."""


@app.command()
def serve(
    config: Annotated[Path, typer.Option(help="TOML configuration file")] = Path("agentcache.toml"),
    demo: Annotated[
        bool, typer.Option(help="Seed a demo origin and config next to --config")
    ] = False,
) -> None:
    """Run the edge with Granian."""
    from granian import Granian
    from granian.constants import Interfaces

    if demo:
        config = seed(config.parent)
    try:
        cfg = load_config(config if config.exists() else None)
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    # Workers read the key from the environment; one is made up when none is configured.
    os.environ["AGENTCACHE_ADMIN_KEY"] = cfg.admin_key or secrets.token_urlsafe(24)
    os.environ["AGENTCACHE_CONFIG"] = str(config.resolve()) if config.exists() else ""
    _banner(f"{'https' if cfg.tls_cert else 'http'}://{cfg.host}:{cfg.port}", config, demo)
    Granian(
        "agentcache.server.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=cfg.host,
        port=cfg.port,
        workers=cfg.workers,
        websockets=False,
        log_access=os.environ.get("AGENTCACHE_ACCESS_LOG") == "1",
        ssl_cert=cfg.tls_cert,
        ssl_key=cfg.tls_key,
    ).serve()


def _banner(base: str, config: Path, demo: bool) -> None:
    console.print(f"[bold]AgentCache Edge[/bold] on {base}  (config {config})")
    console.print(f"admin key: {os.environ['AGENTCACHE_ADMIN_KEY']}")
    if demo:
        key = tomllib.loads(config.read_text())["namespaces"][DEMO_NAMESPACE]["api_key"]
        console.print(f"namespace: {DEMO_NAMESPACE}   key: {key}")
        console.print(
            f"try:  curl -i -H 'Authorization: Bearer {key}' {base}/o/{DEMO_NAMESPACE}/hello.txt",
            soft_wrap=True,
        )


if __name__ == "__main__":
    app()
