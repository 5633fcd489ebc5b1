"""The ``hotline`` command."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from hotline.config import get_settings
from knowledge_base.cli import kb_app

app = typer.Typer(help="12345 政务服务便民热线 — the hotline's command line.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to listen on (default HOTLINE_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on (default HOTLINE_PORT)")] = None,
) -> None:
    """Serve the API, web UI and channels."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "hotline.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        proxy_headers=True,
        log_level="info",
    )


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from hotline.migrate import upgrade

    upgrade(get_settings().database_url)
    typer.echo("database schema is up to date")


@app.command("seed-demo")
def seed_demo(
    orders: Annotated[int, typer.Option(help="how many demo orders to build")] = 300,
    data_dir: Annotated[Path | None, typer.Option(help="folder holding teddycup2020_c_replies.jsonl")] = None,
) -> None:
    """Load the demo city (商丘市): units, categories, demo accounts and orders in every state."""
    from hotline.seed.demo import seed

    settings = get_settings()
    summary = asyncio.run(seed(settings, orders=orders, data_dir=data_dir or settings.seed_data_dir))
    typer.echo(json.dumps(summary, ensure_ascii=False))


app.add_typer(kb_app, name="kb", help="Knowledge-base tools: evaluate search quality and speed.")
