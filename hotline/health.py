"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from hotline.deps import DB, AppSettings

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(db: DB, settings: AppSettings) -> JSONResponse:
    """The database (and Redis, if configured) answer."""
    checks: dict[str, str] = {}
    try:
        async with db.read_session() as session:
            await session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # a probe reports any failure instead of raising
        checks["database"] = f"error: {type(exc).__name__}"
    if settings.redis_url:
        checks["redis"] = await _redis_status(settings.redis_url)
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503)


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
