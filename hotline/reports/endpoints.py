"""``/api/v1/reports``: the aggregates behind the supervisor dashboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.db_types import utcnow
from hotline.deps import DB, require_roles
from hotline.reports import service
from hotline.reports.schemas import Dashboard, ExtensionRequest

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Watcher = Annotated[CurrentUser, Depends(require_roles(Role.SUPERVISOR, Role.DISPATCHER, Role.AUDITOR))]
MAX_DAYS = 92
MAX_LIST = 200


@router.get("/dashboard", response_model=Dashboard)
async def dashboard(
    _: Watcher,
    db: DB,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="how many local days the volume charts cover")] = 14,
    hot_days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="the period hot topics are counted over")] = 7,
) -> Dashboard:
    """Volumes per day by channel, category and district; hot topics; open, overdue and warned orders."""
    async with db.read_session() as session:
        return await service.dashboard(session, now=utcnow(), days=days, hot_days=hot_days)


@router.get("/extension-requests", response_model=list[ExtensionRequest])
async def extension_requests(
    _: Watcher, db: DB, limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 50
) -> list[ExtensionRequest]:
    """Orders whose unit asked for more time (延期), waiting for a supervisor's decision, earliest deadline first."""
    async with db.read_session() as session:
        return await service.extension_requests(session, limit=limit)
