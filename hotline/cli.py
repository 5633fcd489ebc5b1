"""The ``hotline`` command."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from hotline.config import get_settings
from hotline.timefmt import assume_china_time
from knowledge_base.cli import kb_app
from routing.classifier.cli import classifier_app

app = typer.Typer(
    help="12345 政务服务便民热线 — the hotline's command line.", no_args_is_help=True, pretty_exceptions_enable=False
)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to listen on (default HOTLINE_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on (default HOTLINE_PORT)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="server processes on this port (more than 1 needs Redis)")] = 1,
    worker_timeout: Annotated[
        float, typer.Option(min=1, help="with --workers: a process silent this many seconds is killed and replaced")
    ] = 30.0,
    forwarded_allow_ips: Annotated[
        str | None, typer.Option(help="proxies whose X-Forwarded-For/-Proto are trusted (default: 127.0.0.1)")
    ] = None,
) -> None:
    """Serve the API, web UI and channels."""
    import uvicorn

    settings = get_settings()
    if workers > 1 and not settings.redis_url:
        # Each process has its own in-process bus: a console would only see the events of its own process.
        raise typer.BadParameter("more than one worker needs HOTLINE_REDIS_URL (the event bus)", param_hint="--workers")
    options: dict[str, Any] = {
        "app": "hotline.main:create_app",
        "factory": True,
        "host": host or settings.host,
        "port": port or settings.port,
        "proxy_headers": True,
        "forwarded_allow_ips": forwarded_allow_ips,
        "log_level": "info",
        "access_log": settings.access_log,
        # Console events are a few hundred bytes on the intranet: compressing each one once per socket cost
        # more CPU in the fan-out than it saved, and every compressed socket holds its own zlib state.
        "ws_per_message_deflate": False,
    }
    if workers == 1:
        uvicorn.run(**options)
        return
    from hotline.serving import serve_processes

    raise typer.Exit(serve_processes(options, workers, worker_timeout))


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
    classifier: Annotated[
        bool,
        typer.Option(
            "--classifier",
            help="first train and activate the category classifier on classify_train.jsonl if no model is active",
        ),
    ] = False,
) -> None:
    """Load the demo city (商丘市): units, categories, demo accounts and orders in every state."""
    from hotline.seed.demo import seed

    settings = get_settings()
    folder = data_dir or settings.seed_data_dir
    summary = asyncio.run(seed(settings, orders=orders, data_dir=folder, classifier=classifier))
    typer.echo(json.dumps(summary, ensure_ascii=False))


sla_app = typer.Typer(help="Time limits and supervision (限时办结、跟踪督办).", no_args_is_help=True)
app.add_typer(sla_app, name="sla")


def _instant(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        return assume_china_time(datetime.fromisoformat(value))
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO-8601 time: {value!r}") from exc


@sla_app.command("sweep")
def sla_sweep(
    now: Annotated[str | None, typer.Option(help="the instant to sweep as of (ISO 8601; default: now)")] = None,
) -> None:
    """Fire the warning / yellow / red tiers due at an instant; safe to repeat and to replay."""
    from hotline.db import Database
    from hotline.jobs import PeriodicJob, run_once
    from hotline.supervision.tasks import SLA_SWEEP_JOB, sweep_at

    instant = _instant(now)

    async def main() -> dict[str, Any] | None:
        db = Database(get_settings().database_url)
        try:
            return await run_once(db, PeriodicJob(SLA_SWEEP_JOB, 0, lambda: sweep_at(db, instant)), reraise=True)
        finally:
            await db.dispose()

    typer.echo(json.dumps(asyncio.run(main()) or {"skipped": "another sweep is running"}, ensure_ascii=False))


@app.command()
def worker() -> None:
    """Run the background jobs (outbound delivery, supervision sweep) without serving HTTP."""
    from hotline.background import job_runner, providers_for
    from hotline.db import Database
    from hotline.events.bus import create_bus

    settings = get_settings()

    async def main() -> None:
        bus = create_bus(settings.redis_url)
        db = Database(settings.database_url, bus=bus)
        runner = job_runner(settings, db, providers_for(settings, bus))
        runner.start()
        try:
            await asyncio.Event().wait()
        finally:
            await runner.stop()
            await db.dispose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


app.add_typer(classifier_app, name="classifier", help="Train and evaluate the request classifier.")
app.add_typer(kb_app, name="kb", help="Knowledge-base tools: evaluate search quality and speed.")
