"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.channels.spool import Spool
from hotline.db_types import utcnow
from hotline.deps import DB, AppSettings
from hotline.outbox.models import OutboxMessage, OutboxStatus
from hotline.supervision.models import JobRun
from hotline.tickets.lifecycle import Status
from hotline.tickets.models import Ticket
from hotline.timefmt import to_local
from routing.models import TicketSuggestion

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(db: DB, settings: AppSettings) -> JSONResponse:
    """Ready when the database (and Redis, if configured) answer; also reports the background work."""
    checks: dict[str, str] = {}
    background: dict[str, object] = {}
    try:
        async with db.read_session() as session:
            await session.execute(text("SELECT 1"))
            background = await _background(session)
        checks["database"] = "ok"
    except Exception as exc:  # a probe reports any failure instead of raising
        checks["database"] = f"error: {type(exc).__name__}"
    if settings.redis_url:
        checks["redis"] = await _redis_status(settings.redis_url)
    ready = all(v == "ok" for v in checks.values())
    spool = Spool(settings.spool_dir)  # messages waiting for the database, and any it refused (channels/spool.py)
    body = {
        "status": "ready" if ready else "not ready",
        "checks": checks,
        "spooled_messages": len(spool.pending()),
        "spooled_set_aside": spool.set_aside_count(),
        **background,
    }
    return JSONResponse(body, 200 if ready else 503)


async def _background(session: AsyncSession) -> dict[str, object]:
    """How far behind outbound delivery and classification are, and when each periodic job (e.g. the sweep) last ran."""
    now = utcnow()
    oldest = (
        await session.execute(
            select(func.min(OutboxMessage.next_attempt_at)).where(
                col(OutboxMessage.status) == OutboxStatus.PENDING, col(OutboxMessage.next_attempt_at) <= now
            )
        )
    ).scalar()
    unclassified = (
        ~select(col(TicketSuggestion.ticket_id)).where(col(TicketSuggestion.ticket_id) == col(Ticket.id)).exists()
    )
    waiting = (
        await session.execute(
            select(func.min(Ticket.created_at)).where(
                col(Ticket.status) == Status.REGISTERED, col(Ticket.merged_into_id).is_(None), unclassified
            )
        )
    ).scalar()
    runs = (await session.execute(select(JobRun))).scalars()
    return {
        "outbox_backlog_seconds": int((now - oldest).total_seconds()) if oldest else 0,
        "classification_backlog_seconds": int((now - waiting).total_seconds()) if waiting else 0,
        "jobs": {
            run.name: {
                "last_finished_at": to_local(run.last_finished_at).isoformat() if run.last_finished_at else None,
                "last_error": run.last_error,
            }
            for run in runs
        },
    }


async def _redis_status(url: str) -> str:
    import redis.asyncio as redis

    client = redis.from_url(url, socket_connect_timeout=2)
    try:
        await client.ping()
        return "ok"
    except Exception as exc:  # reported, not raised
        return f"error: {type(exc).__name__}"
    finally:
        await client.aclose()
