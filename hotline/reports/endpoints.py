"""``/api/v1/reports``: the aggregates behind the supervisor dashboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.db_types import utcnow
from hotline.deps import DB, require_roles
from hotline.reports import service
from hotline.reports.schemas import Dashboard

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Watcher = Annotated[CurrentUser, Depends(require_roles(Role.SUPERVISOR, Role.DISPATCHER, Role.AUDITOR))]
MAX_DAYS = 92


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
