"""``/api/v1/audit``: the read-only audit log for auditors and supervisors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import col, select

from hotline.audit.models import AuditEntry
from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.deps import DB, require_roles
from hotline.timefmt import LocalDateTime

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Reader = Annotated[CurrentUser, Depends(require_roles(Role.AUDITOR, Role.SUPERVISOR))]
MAX_PAGE_SIZE = 200


class AuditView(BaseModel):
    id: int
    at: LocalDateTime
    actor_username: str | None
    action: str
    object_type: str | None
    object_id: str | None
    detail: dict[str, Any]
    client_ip: str | None


class AuditPage(BaseModel):
    items: list[AuditView]
    total: int
    page: int
    page_size: int


@router.get("", response_model=AuditPage)
async def audit_log(
    _: Reader,
    db: DB,
    action: Annotated[str | None, Query(max_length=64, description="an action or its prefix, e.g. login.")] = None,
    actor: Annotated[str | None, Query(max_length=64, description="the actor's username")] = None,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> AuditPage:
    """Audit entries, newest first, filtered by action (prefix), actor and object."""
    conditions = []
    if action:
        conditions.append(col(AuditEntry.action).startswith(action, autoescape=True))
    if actor:
        conditions.append(col(AuditEntry.actor_username) == actor)
    if object_type:
        conditions.append(col(AuditEntry.object_type) == object_type)
    if object_id:
        conditions.append(col(AuditEntry.object_id) == object_id)
    async with db.read_session() as session:
        total = await session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions))
        rows = await session.execute(
            select(AuditEntry)
            .where(*conditions)
            .order_by(col(AuditEntry.id).desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        items = [AuditView.model_validate(e, from_attributes=True) for e in rows.scalars()]
    return AuditPage(items=items, total=total or 0, page=page, page_size=page_size)
