"""The baseline of the intake benchmark: a bare FastAPI endpoint that parses the form and does one insert.

It uses the product's engine factory, so the driver and its settings (aiosqlite with WAL and
``BEGIN IMMEDIATE``, or asyncpg with a pool) are the same as ``hotline serve``'s.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Request, Response
from sqlalchemy import Column, Integer, MetaData, String, Table, Text

from hotline.db import create_engine
from hotline.serving import serve_processes

metadata = MetaData()
bare_messages = Table(
    "bench_bare_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_id", String(128), nullable=False),
    Column("body", Text, nullable=False),
)


async def prepare(url: str) -> None:
    """Start from an empty table, once, before the server's processes start (they would race to create it)."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)
    await engine.dispose()


def create_app() -> FastAPI:
    engine = create_engine(os.environ["BENCH_DATABASE_URL"])

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/bare/sms")
    async def bare_sms(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8")))
        async with engine.begin() as connection:
            await connection.execute(
                bare_messages.insert().values(external_id=form.get("MessageSid", ""), body=form.get("Body", ""))
            )
        return Response('<?xml version="1.0" encoding="UTF-8"?><Response/>', media_type="application/xml")

    return app


def main() -> None:
    """Serve the bare endpoint as ``hotline serve`` serves the product: N processes, a listening socket each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    options = {
        "app": "bench.intake_bare:create_app",
        "factory": True,
        "host": args.host,
        "port": args.port,
        "proxy_headers": True,
        "log_level": "info",
        "access_log": False,
    }
    if args.workers == 1:
        uvicorn.run(**options)
        return
    sys.exit(serve_processes(options, args.workers))


if __name__ == "__main__":
    main()
