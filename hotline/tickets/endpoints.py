"""``/api/v1/tickets``: create, list, read, and one endpoint per lifecycle action."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from hotline import tables
from hotline.auth.models import HOTLINE_ROLES, Role
from hotline.auth.service import CurrentUser
from hotline.citizens.models import Citizen
from hotline.db_types import utcnow
from hotline.deps import DB, User, audit, require_roles
from hotline.errors import Forbidden, InvalidInput, NotFound
from hotline.threads import in_worker_thread
from hotline.tickets import export, repository, service, views
from hotline.tickets.lifecycle import Action
from hotline.tickets.models import Ticket
from hotline.tickets.schemas import (
    AnswerIn,
    ApproveExtensionIn,
    CitizenView,
    DispatchIn,
    ExtensionIn,
    MergeIn,
    ReasonIn,
    ReplyIn,
    ReturnIn,
    SubDispatchIn,
    TicketCreate,
    TicketDetail,
    TicketPage,
)
from hotline.timefmt import to_local

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])
MAX_PAGE_SIZE = 200
MAX_EXPORT_ROWS = 50_000  # one export; a year of a mid-sized city's orders is asked for month by month
Desk = Annotated[CurrentUser, Depends(require_roles(Role.OPERATOR, Role.DISPATCHER))]


def ticket_filters(
    channel: str | None = None,
    status: Annotated[str | None, Query(description="one status or several, comma-separated")] = None,
    unit_id: int | None = None,
    overdue: bool | None = None,
    alert_level: Annotated[str | None, Query(description="warning, yellow_card or red_card")] = None,
    q: Annotated[str | None, Query(max_length=100, description="text in content, title, number or address")] = None,
    created_from: Annotated[date | None, Query(description="registered on or after this China calendar day")] = None,
    created_to: Annotated[date | None, Query(description="registered on or before this China calendar day")] = None,
) -> repository.TicketFilters:
    """The filters the order list and its export share."""
    if created_from is not None and created_to is not None and created_from > created_to:
        raise InvalidInput("开始日期不能晚于结束日期", "created_from is after created_to")
    return repository.TicketFilters(
        channel=channel,
        status=status,
        unit_id=unit_id,
        overdue=overdue,
        q=q,
        alert_level=alert_level,
        created_from=created_from,
        created_to=created_to,
    )


Filters = Annotated[repository.TicketFilters, Depends(ticket_filters)]


@router.get("", response_model=TicketPage)
async def list_tickets(
    user: User,
    db: DB,
    filters: Filters,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> TicketPage:
    """Orders this user may see, newest first, filtered and paginated."""
    _ensure_can_read(user)
    now = utcnow()
    async with db.read_session() as session:
        rows, total = await repository.list_tickets(
            session, user=user, filters=filters, now=now, page=page, page_size=page_size
        )
        items = await views.summaries(session, rows, now)
    return TicketPage(items=items, total=total, page=page, page_size=page_size)


@router.get("/export", response_class=Response)
async def export_tickets(
    request: Request,
    user: User,
    db: DB,
    filters: Filters,
    format: Annotated[Literal["xlsx", "csv"], Query(description="Excel workbook or CSV (UTF-8 with BOM)")] = "xlsx",
) -> Response:
    """The orders this user may see, with the list's filters, as a table (oldest first); citizens masked."""
    _ensure_can_read(user)
    now = utcnow()
    async with db.read_session() as session:  # seconds for a large export: never while holding the write lock
        tickets, total = await repository.list_tickets(
            session, user=user, filters=filters, now=now, page=1, page_size=MAX_EXPORT_ROWS, oldest_first=True
        )
        if total > MAX_EXPORT_ROWS:
            raise InvalidInput(
                f"符合条件的工单有 {total} 件，超过单次导出上限 {MAX_EXPORT_ROWS} 件，请缩小日期或状态范围",
                f"{total} orders match; at most {MAX_EXPORT_ROWS} are exported at once",
            )
        rows = await export.rows(session, tickets, now)
    async with db.session() as session:
        detail = {"format": format, "orders": total, "filters": _described(filters)}
        audit(session, request, user, action="tickets.exported", object_type="ticket", object_id=None, detail=detail)
    if format == "csv":
        content, media_type = tables.as_csv(export.COLUMNS, rows), tables.CSV_MEDIA_TYPE
    else:
        content = await in_worker_thread(tables.as_workbook, export.SHEET, export.COLUMNS, rows, widths=export.WIDTHS)
        media_type = tables.WORKBOOK_MEDIA_TYPE
    name = f"orders-{to_local(now).strftime('%Y%m%d-%H%M')}.{format}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _described(filters: repository.TicketFilters) -> dict[str, Any]:
    return {key: str(value) for key, value in vars(filters).items() if value is not None}


@router.post("", response_model=TicketDetail, status_code=201)
async def create_ticket(body: TicketCreate, user: Desk, db: DB) -> TicketDetail:
    """Register an order taken by an operator (受理), e.g. from a phone call."""
    async with db.session() as session:
        ticket = await service.create_ticket(session, data=body, actor=service.actor_of(user))
        return await views.detail(session, ticket, user, utcnow())


@router.get("/{ticket_id}", response_model=TicketDetail)
async def get_ticket(ticket_id: int, user: User, db: DB) -> TicketDetail:
    """One order with its contacts, units, event history (``events``) and deadline (``due_at``)."""
    _ensure_can_read(user)
    async with db.read_session() as session:
        ticket = await _visible(session, ticket_id, user)
        return await views.detail(session, ticket, user, utcnow())


@router.get("/{ticket_id}/citizen", response_model=CitizenView)
async def reveal_citizen(ticket_id: int, request: Request, user: User, db: DB) -> CitizenView:
    """The citizen's identity in full, for the hotline only; every view of a confidential one is audited."""
    if user.role not in HOTLINE_ROLES:
        raise Forbidden("仅热线人员可查看诉求人信息", "only hotline staff may see the requester's identity")
    async with db.session() as session:
        ticket = await _visible(session, ticket_id, user)
        citizen = await session.get(Citizen, ticket.citizen_id) if ticket.citizen_id else None
        if citizen is None:
            raise NotFound("该工单没有诉求人信息", "this order has no requester on record")
        if ticket.confidential:
            audit(
                session,
                request,
                user,
                action="citizen.viewed",
                object_type="ticket",
                object_id=ticket.id,
                detail={"ticket_number": ticket.number, "citizen_id": citizen.id},
            )
        return await views.citizen_view(session, citizen, masked=False)


def _ensure_can_read(user: CurrentUser) -> None:
    if user.role in (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN):
        raise Forbidden("管理员角色不能查看工单", "administrator roles do not read work orders")


async def _visible(session: AsyncSession, ticket_id: int, user: CurrentUser) -> Ticket:
    ticket = await repository.get_visible(session, ticket_id=ticket_id, user=user)
    if ticket is None:
        raise NotFound("工单不存在或无权查看", f"order {ticket_id} not found")
    return ticket


async def _act(
    db: DB, user: CurrentUser, ticket_id: int, action: Action, text: str | None = None, **params: Any
) -> TicketDetail:
    _ensure_can_read(user)
    async with db.session() as session:
        ticket = await service.act(session, ticket_id=ticket_id, user=user, action=action, text=text, params=params)
        return await views.detail(session, ticket, user, utcnow())


@router.post("/{ticket_id}/dispatch", response_model=TicketDetail)
async def dispatch(ticket_id: int, body: DispatchIn, user: User, db: DB) -> TicketDetail:
    """Send the order to a lead unit (主办) and any assisting units (协办), starting its clocks."""
    return await _act(
        db, user, ticket_id, Action.DISPATCH, lead_unit_id=body.lead_unit_id, assisting_unit_ids=body.assisting_unit_ids
    )


@router.post("/{ticket_id}/accept", response_model=TicketDetail)
async def accept(ticket_id: int, user: User, db: DB) -> TicketDetail:
    """The lead unit takes the order on (签收)."""
    return await _act(db, user, ticket_id, Action.ACCEPT)


@router.post("/{ticket_id}/return", response_model=TicketDetail)
async def return_to_dispatcher(ticket_id: int, body: ReturnIn, user: User, db: DB) -> TicketDetail:
    """The lead unit sends the order back as not theirs (退单), with a reason code, a reason and evidence."""
    return await _act(
        db,
        user,
        ticket_id,
        Action.RETURN,
        body.reason,
        reason_code=body.reason_code,
        evidence=body.evidence,
        attachment_ids=body.attachment_ids,
    )


@router.post("/{ticket_id}/approve-return", response_model=TicketDetail)
async def approve_return(ticket_id: int, user: User, db: DB, body: ReasonIn | None = None) -> TicketDetail:
    """A dispatcher agrees with a return; the order waits to be re-dispatched (改派)."""
    return await _act(db, user, ticket_id, Action.APPROVE_RETURN, body.reason if body else None)


@router.post("/{ticket_id}/reject-return", response_model=TicketDetail)
async def reject_return(ticket_id: int, body: ReasonIn, user: User, db: DB) -> TicketDetail:
    """A dispatcher refuses a return; the unit keeps the order and its clock keeps running."""
    return await _act(db, user, ticket_id, Action.REJECT_RETURN, body.reason)


@router.post("/{ticket_id}/request-extension", response_model=TicketDetail)
async def request_extension(ticket_id: int, body: ExtensionIn, user: User, db: DB) -> TicketDetail:
    """The lead unit asks for more time (延期)."""
    return await _act(
        db, user, ticket_id, Action.REQUEST_EXTENSION, body.reason, requested_due_at=body.requested_due_at
    )


@router.post("/{ticket_id}/approve-extension", response_model=TicketDetail)
async def approve_extension(ticket_id: int, user: User, db: DB, body: ApproveExtensionIn | None = None) -> TicketDetail:
    """A supervisor grants the extension; the deadline moves."""
    return await _act(db, user, ticket_id, Action.APPROVE_EXTENSION, due_at=body.due_at if body else None)


@router.post("/{ticket_id}/reject-extension", response_model=TicketDetail)
async def reject_extension(ticket_id: int, body: ReasonIn, user: User, db: DB) -> TicketDetail:
    """A supervisor refuses the extension."""
    return await _act(db, user, ticket_id, Action.REJECT_EXTENSION, body.reason)


@router.post("/{ticket_id}/sub-dispatch", response_model=TicketDetail)
async def sub_dispatch(ticket_id: int, body: SubDispatchIn, user: User, db: DB) -> TicketDetail:
    """The lead unit hands the order down to one of its child units (district → street → community)."""
    return await _act(db, user, ticket_id, Action.SUB_DISPATCH, body.note, unit_id=body.unit_id, due_at=body.due_at)


@router.post("/{ticket_id}/assist-reply", response_model=TicketDetail)
async def assist_reply(ticket_id: int, body: ReplyIn, user: User, db: DB) -> TicketDetail:
    """An assisting unit reports its part to the lead unit."""
    return await _act(db, user, ticket_id, Action.ASSIST_REPLY, body.reply, attachment_ids=body.attachment_ids)


@router.post("/{ticket_id}/reply", response_model=TicketDetail)
async def reply(ticket_id: int, body: ReplyIn, user: User, db: DB) -> TicketDetail:
    """The lead unit replies with the result (回复); it goes to review."""
    return await _act(db, user, ticket_id, Action.REPLY, body.reply, attachment_ids=body.attachment_ids)


@router.post("/{ticket_id}/approve-reply", response_model=TicketDetail)
async def approve_reply(ticket_id: int, user: User, db: DB) -> TicketDetail:
    """A supervisor accepts the reply (审核通过); the citizen can be called back."""
    return await _act(db, user, ticket_id, Action.APPROVE_REPLY)


@router.post("/{ticket_id}/reject-reply", response_model=TicketDetail)
async def reject_reply(ticket_id: int, body: ReasonIn, user: User, db: DB) -> TicketDetail:
    """A supervisor sends the reply back to the unit (重办) with a reason."""
    return await _act(db, user, ticket_id, Action.REJECT_REPLY, body.reason)


@router.post("/{ticket_id}/answer-directly", response_model=TicketDetail)
async def answer_directly(ticket_id: int, body: AnswerIn, user: User, db: DB) -> TicketDetail:
    """The operator answers the request at first contact (直接办结)."""
    return await _act(db, user, ticket_id, Action.ANSWER_DIRECTLY, body.answer)


@router.post("/{ticket_id}/close", response_model=TicketDetail)
async def close(ticket_id: int, user: User, db: DB) -> TicketDetail:
    """Close a replied order after the callback (办结)."""
    return await _act(db, user, ticket_id, Action.CLOSE)


@router.post("/{ticket_id}/rework", response_model=TicketDetail)
async def rework(ticket_id: int, body: ReasonIn, user: User, db: DB) -> TicketDetail:
    """Reopen a replied or closed order the citizen was rightly unhappy with (重办)."""
    return await _act(db, user, ticket_id, Action.REWORK, body.reason)


@router.post("/{ticket_id}/archive", response_model=TicketDetail)
async def archive(ticket_id: int, user: User, db: DB) -> TicketDetail:
    """File a closed order (归档)."""
    return await _act(db, user, ticket_id, Action.ARCHIVE)


@router.post("/{ticket_id}/merge", response_model=TicketDetail)
async def merge(ticket_id: int, body: MergeIn, user: User, db: DB) -> TicketDetail:
    """Merge a repeated request into the open order about the same matter (并单)."""
    return await _act(db, user, ticket_id, Action.MERGE, body.reason, target_id=body.target_id)
