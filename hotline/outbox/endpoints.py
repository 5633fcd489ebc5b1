"""``/api/v1/admin/outbox``: what is waiting, failing or dead in outbound delivery, and requeueing a dead message."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlmodel import col, select

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.db_types import utcnow
from hotline.deps import DB, require_roles
from hotline.errors import Conflict, NotFound
from hotline.outbox.models import OutboxMessage, OutboxStatus
from hotline.timefmt import LocalDateTime

router = APIRouter(prefix="/api/v1/admin/outbox", tags=["admin"])
SystemAdmin = Annotated[CurrentUser, Depends(require_roles(Role.SYSTEM_ADMIN))]
PAGE = 200


class OutboxView(StrEnum):
    DEAD = "dead"  # gave up after the retry limit
    FAILING = "failing"  # still pending, but at least one attempt failed
    PENDING = "pending"


class OutboxItem(BaseModel):
    id: int
    channel: str
    recipient: str
    ticket_id: int | None
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: LocalDateTime
    created_at: LocalDateTime


def _item(message: OutboxMessage) -> OutboxItem:
    return OutboxItem(
        id=message.id or 0,
        channel=message.channel,
        recipient=message.recipient,
        ticket_id=message.ticket_id,
        status=message.status,
        attempts=message.attempts,
        last_error=message.last_error,
        next_attempt_at=message.next_attempt_at,
        created_at=message.created_at,
    )


@router.get("", response_model=list[OutboxItem])
async def outbox_messages(
    _: SystemAdmin, db: DB, status: Annotated[OutboxView, Query()] = OutboxView.DEAD
) -> list[OutboxItem]:
    """Dead letters (default), failing or pending messages, newest first."""
    query = select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(PAGE)
    if status is OutboxView.DEAD:
        query = query.where(col(OutboxMessage.status) == OutboxStatus.DEAD)
    else:
        query = query.where(col(OutboxMessage.status) == OutboxStatus.PENDING)
        if status is OutboxView.FAILING:
            query = query.where(col(OutboxMessage.last_error).is_not(None))
    async with db.read_session() as session:
        return [_item(m) for m in (await session.execute(query)).scalars()]


@router.post("/{message_id}/retry", response_model=OutboxItem)
async def retry_dead_message(message_id: int, _: SystemAdmin, db: DB) -> OutboxItem:
    """Put a dead message back in line (e.g. after the provider's account was fixed), with fresh attempts."""
    async with db.session() as session:
        message = await session.get(OutboxMessage, message_id, with_for_update=True)
        if message is None:
            raise NotFound("消息不存在", "no such outbound message")
        if message.status != OutboxStatus.DEAD:
            raise Conflict("只有已放弃的消息可以重发", "only a dead message can be retried")
        message.status, message.attempts, message.next_attempt_at = OutboxStatus.PENDING, 0, utcnow()
        return _item(message)
