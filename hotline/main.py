"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

import web
from hotline import health
from hotline.admin.endpoints import router as admin_router
from hotline.audit.endpoints import router as audit_router
from hotline.auth.endpoints import router as auth_router
from hotline.background import job_runner, providers_for
from hotline.calls.endpoints import router as calls_router
from hotline.calls.webhooks import router as calls_webhooks
from hotline.calls.webhooks import voice_replayers
from hotline.channels import app as channels
from hotline.channels import spool
from hotline.config import Settings, get_settings
from hotline.db import Database
from hotline.errors import DomainError
from hotline.events.bus import create_bus
from hotline.outage import answer_outages
from hotline.outbox.endpoints import router as outbox_router
from hotline.reports.endpoints import router as reports_router
from hotline.supervision import calendars, policy
from hotline.supervision.endpoints import router as supervision_router
from hotline.surveys.endpoints import router as surveys_router
from hotline.surveys.endpoints import voice_webhook as survey_call_router
from hotline.tickets.attachment_endpoints import router as attachments_router
from hotline.tickets.endpoints import router as tickets_router
from hotline.units.endpoints import router as units_router
from knowledge_base.deps import live_index_of, start_warm_up
from knowledge_base.routers import routers as kb_routers
from routing.context import RoutingContext
from routing.endpoints import router as routing_router
from web.console import router as console_router
from web.routes import router as web_router

# Young objects are collected after this many allocations instead of CPython's 700: a request allocates
# hundreds, so the default ran a collection every few requests.
GC_YOUNG_THRESHOLD = 20_000


def tune_garbage_collector() -> None:
    """Collect less often, and never rescan what the process built at start.

    What startup loads (the category model, the gazetteer, routes and settings) lives as long as the
    process, yet every older-generation collection walked it again; under load those pauses were the
    intake's latency tail. Objects made later are collected as before, only in larger batches.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service: database, event bus, routers and the web UI."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.bus = create_bus(settings.redis_url)
        app.state.db = Database(settings.database_url, bus=app.state.bus)
        app.state.providers = providers_for(settings, app.state.bus)
        async with app.state.db.read_session() as session:  # the calendar and time limits in force
            await calendars.refresh(session)
            await policy.refresh(session)
        app.state.routing = RoutingContext.from_settings(settings)
        await app.state.routing.registry.reload()  # the active category model, if one was trained
        await channels.start(app)
        runner = (
            job_runner(settings, app.state.db, app.state.providers, live_index_of(app)) if settings.run_jobs else None
        )
        if runner:
            runner.start()
        warm_up = start_warm_up(app) if settings.kb_warm_up else None
        app.state.spool_replayers = {**spool.MESSAGE_REPLAYERS, **voice_replayers(app)}
        spooled = asyncio.create_task(
            spool.keep_replaying(app.state.db, settings, spool.spool_of(settings), app.state.spool_replayers),
            name="spool-replay",
        )
        if settings.gc_tuning:
            tune_garbage_collector()
        try:
            yield
        finally:
            spooled.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await spooled
            if warm_up is not None:
                warm_up.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await warm_up
            await channels.stop(app)
            if runner:
                await runner.stop()
            await app.state.db.dispose()
            close = getattr(app.state.bus, "close", None)
            if close is not None:
                await close()

    app = FastAPI(title="12345 政务服务便民热线", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.as_dict(), status_code=exc.status_code)

    answer_outages(app)

    for router in (health.router, auth_router, tickets_router, units_router, supervision_router, routing_router):
        app.include_router(router)
    for router in channels.routers:
        app.include_router(router)
    app.include_router(outbox_router)
    app.include_router(surveys_router)
    app.include_router(survey_call_router)
    app.include_router(calls_webhooks)
    app.include_router(calls_router)
    for router in kb_routers:
        app.include_router(router)
    for router in (admin_router, audit_router, reports_router, attachments_router):
        app.include_router(router)
    app.include_router(web_router)
    app.include_router(console_router)
    app.mount("/static", StaticFiles(directory=Path(web.__file__).parent / "static"), name="static")
    return app
