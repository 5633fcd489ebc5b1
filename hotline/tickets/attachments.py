"""Files staff add to an order: a unit's evidence with its reply, a photo, a signed report (回复附件)."""

from __future__ import annotations

import hashlib
from fnmatch import fnmatch

from pydantic import BaseModel
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.service import CurrentUser
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.tickets.lifecycle import Status
from hotline.tickets.models import Ticket, TicketAttachment
from hotline.timefmt import LocalDateTime

MAX_PER_ORDER = 20
MAX_PER_REPLY = 10
MAX_FILENAME = 255
CLOSED_TO_FILES = frozenset({Status.ARCHIVED, Status.MERGED})


class AttachmentView(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    unit_id: int | None
    uploaded_by_id: int | None
    created_at: LocalDateTime
    url: str


def view(attachment: TicketAttachment) -> AttachmentView:
    return AttachmentView(
        id=attachment.id or 0,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        unit_id=attachment.unit_id,
        uploaded_by_id=attachment.uploaded_by_id,
        created_at=attachment.created_at,
        url=f"/api/v1/tickets/{attachment.ticket_id}/attachments/{attachment.id}",
    )


def allowed_type(content_type: str, patterns: list[str]) -> bool:
    """Whether a media type matches one of the allowed ones (``image/*`` style)."""
    return any(fnmatch(content_type.lower(), pattern.lower()) for pattern in patterns)


async def add(
    session: AsyncSession,
    *,
    ticket: Ticket,
    user: CurrentUser,
    filename: str,
    content_type: str,
    data: bytes,
    max_bytes: int,
    types: list[str],
) -> TicketAttachment:
    """Keep a file on an order, within the size, type and count limits."""
    if ticket.status in CLOSED_TO_FILES:
        raise Conflict("该工单已归档或并单，不能再添加附件", "the order is archived or merged")
    if not data:
        raise InvalidInput("附件为空", "the file is empty")
    if len(data) > max_bytes:
        raise InvalidInput(f"附件不能超过 {max_bytes // (1024 * 1024)} MB", f"files are limited to {max_bytes} bytes")
    if not allowed_type(content_type, types):
        raise InvalidInput(f"不支持的附件类型：{content_type}", f"file type {content_type} is not accepted")
    count = await session.scalar(
        select(func.count()).select_from(TicketAttachment).where(col(TicketAttachment.ticket_id) == ticket.id)
    )
    if (count or 0) >= MAX_PER_ORDER:
        raise Conflict(f"每个工单最多 {MAX_PER_ORDER} 个附件", f"an order holds at most {MAX_PER_ORDER} files")
    attachment = TicketAttachment(
        ticket_id=ticket.id or 0,
        unit_id=user.unit_id,
        uploaded_by_id=user.id,
        filename=(filename.replace("/", "_").replace("\\", "_") or "附件")[:MAX_FILENAME],
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content=data,
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def of_ticket(session: AsyncSession, *, ticket_id: int) -> list[TicketAttachment]:
    rows = await session.execute(
        select(TicketAttachment).where(col(TicketAttachment.ticket_id) == ticket_id).order_by(col(TicketAttachment.id))
    )
    return list(rows.scalars())


async def one(session: AsyncSession, *, ticket_id: int, attachment_id: int) -> TicketAttachment:
    attachment = await session.get(TicketAttachment, attachment_id)
    if attachment is None or attachment.ticket_id != ticket_id:
        raise NotFound("附件不存在", f"attachment {attachment_id} not found on order {ticket_id}")
    return attachment


async def for_reply(session: AsyncSession, *, ticket_id: int, ids: list[int]) -> list[int]:
    """The attachments a reply refers to: they must all be files of this order."""
    if not ids:
        return []
    wanted = sorted(set(ids))
    if len(wanted) > MAX_PER_REPLY:
        raise InvalidInput(f"每次回复最多 {MAX_PER_REPLY} 个附件", f"a reply carries at most {MAX_PER_REPLY} files")
    found = set(
        (
            await session.execute(
                select(TicketAttachment.id).where(
                    col(TicketAttachment.ticket_id) == ticket_id, col(TicketAttachment.id).in_(wanted)
                )
            )
        ).scalars()
    )
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(f"附件不属于该工单：{missing}", f"attachments {missing} are not on this order")
    return wanted
