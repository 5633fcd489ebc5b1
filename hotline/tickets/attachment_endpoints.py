"""``/api/v1/tickets/{id}/attachments``: files staff add to an order (e.g. with a reply), listed and downloaded."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.deps import DB, AppSettings, User
from hotline.errors import Forbidden, NotFound
from hotline.tickets import attachments, repository
from hotline.tickets.attachments import AttachmentView
from hotline.tickets.models import Ticket
from hotline.uploads import read_limited

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])


def _ensure_staff(user: CurrentUser) -> None:
    if user.role in (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN):
        raise Forbidden("管理员角色不能查看工单", "administrator roles do not read work orders")


async def _ticket(session: AsyncSession, ticket_id: int, user: CurrentUser) -> Ticket:
    ticket = await repository.get_visible(session, ticket_id=ticket_id, user=user)
    if ticket is None:
        raise NotFound("工单不存在或无权查看", f"order {ticket_id} not found")
    return ticket


@router.post("/{ticket_id}/attachments", response_model=AttachmentView, status_code=201)
async def upload(
    ticket_id: int, file: Annotated[UploadFile, File()], user: User, db: DB, settings: AppSettings
) -> AttachmentView:
    """Add a file to an order the user may see (to send with a reply: ``attachment_ids``)."""
    _ensure_staff(user)
    if user.role == Role.AUDITOR:
        raise Forbidden("审计员只能查看", "auditors only read")
    data = await read_limited(file, settings.email_max_attachment_bytes)
    async with db.session() as session:
        ticket = await _ticket(session, ticket_id, user)
        attachment = await attachments.add(
            session,
            ticket=ticket,
            user=user,
            filename=file.filename or "",
            content_type=(file.content_type or "application/octet-stream").split(";")[0].strip(),
            data=data,
            max_bytes=settings.email_max_attachment_bytes,
            types=settings.email_attachment_types,
        )
        return attachments.view(attachment)


@router.get("/{ticket_id}/attachments", response_model=list[AttachmentView])
async def list_attachments(ticket_id: int, user: User, db: DB) -> list[AttachmentView]:
    """The files staff added to an order, oldest first."""
    _ensure_staff(user)
    async with db.read_session() as session:
        await _ticket(session, ticket_id, user)
        return [attachments.view(a) for a in await attachments.of_ticket(session, ticket_id=ticket_id)]


@router.get("/{ticket_id}/attachments/{attachment_id}", response_class=Response)
async def download(ticket_id: int, attachment_id: int, user: User, db: DB) -> Response:
    """One file, as a download (never rendered inline, so an uploaded page cannot run in the product's origin)."""
    _ensure_staff(user)
    async with db.read_session() as session:
        await _ticket(session, ticket_id, user)
        attachment = await attachments.one(session, ticket_id=ticket_id, attachment_id=attachment_id)
    disposition = f"attachment; filename*=UTF-8''{quote(attachment.filename)}"
    headers = {"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"}
    return Response(attachment.content, media_type=attachment.content_type, headers=headers)
