"""Supervisors' hand on the clock: urging, supervision orders and their replies, pausing for the citizen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.models import HOTLINE_ROLES, Role
from hotline.auth.service import CurrentUser
from hotline.calendar.working_time import CHINA_TZ
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.supervision import calendars, clock
from hotline.supervision.models import SupervisionOrder
from hotline.supervision.notify import notify_users, staff_of_unit
from hotline.tickets import repository
from hotline.tickets.history import write_event
from hotline.tickets.lifecycle import Status
from hotline.tickets.models import Ticket
from hotline.tickets.service import actor_of
from hotline.units.repository import units_by_id

KIND_LABELS_ZH = {"urge": "催办", "supervise": "督办", "red_card": "红牌督办"}
DEFAULT_REPLY_WORKING_DAYS = 2


async def _ticket_for(session: AsyncSession, ticket_id: int, user: CurrentUser) -> Ticket:
    ticket = await repository.get_visible(session, ticket_id=ticket_id, user=user, lock=True)
    if ticket is None:
        raise NotFound("工单不存在或无权查看", f"order {ticket_id} not found")
    return ticket


async def open_supervision(
    session: AsyncSession,
    *,
    ticket_id: int,
    user: CurrentUser,
    kind: str,
    content: str,
    reply_due_at: datetime | None,
    now: datetime,
) -> SupervisionOrder:
    """A supervisor urges (催办) or issues a supervision order (督办单) to the order's lead unit."""
    if user.role is not Role.SUPERVISOR:
        raise Forbidden("只有督办人员可以催办或督办", "only supervisors may urge or supervise")
    ticket = await _ticket_for(session, ticket_id, user)
    if ticket.status not in clock.CLOCK_RUNNING or ticket.lead_unit_id is None:
        raise Conflict("只能对承办中的工单催办或督办", "only an order a unit is handling can be urged or supervised")
    order = SupervisionOrder(
        ticket_id=ticket_id,
        unit_id=ticket.lead_unit_id,
        kind=kind,
        content=content,
        created_by_id=user.id,
        created_at=now,
        reply_due_at=reply_due_at or calendars.current().add_working_days(now, DEFAULT_REPLY_WORKING_DAYS),
    )
    session.add(order)
    await session.flush()
    await write_event(
        session,
        ticket=ticket,
        action=kind,
        actor=actor_of(user),
        from_status=ticket.status,
        reason=content,
        payload={"supervision_order_id": order.id, "unit_id": order.unit_id},
        at=now,
    )
    label = KIND_LABELS_ZH[kind]
    await notify_users(
        session,
        users=await staff_of_unit(session, ticket.lead_unit_id),
        ticket=ticket,
        key=f"supervision:{order.id}",
        subject=f"【{label}】工单 {ticket.number}",
        body=f"工单 {ticket.number}（{ticket.title}）收到{label}：{content}",
    )
    return order


async def reply_to_supervision(
    session: AsyncSession, *, order_id: int, user: CurrentUser, reply: str, now: datetime
) -> SupervisionOrder:
    """The unit answers a supervision order; its reply is recorded on the order's history."""
    order = await session.get(SupervisionOrder, order_id, with_for_update=True)
    unit = (await units_by_id(session, [order.unit_id])).get(order.unit_id) if order else None
    if order is None or unit is None or not actor_of(user).covers(unit.path):
        raise NotFound("督办单不存在或无权查看", f"supervision order {order_id} not found")
    if order.status != "open":
        raise Conflict("该督办单已回复", "this supervision order has already been answered")
    order.status, order.reply, order.replied_by_id, order.replied_at = "replied", reply, user.id, now
    ticket = await session.get(Ticket, order.ticket_id)
    assert ticket is not None
    await write_event(
        session,
        ticket=ticket,
        action="supervision_reply",
        actor=actor_of(user),
        from_status=ticket.status,
        reason=reply,
        payload={"supervision_order_id": order.id},
        at=now,
    )
    return order


async def list_supervision(
    session: AsyncSession, *, user: CurrentUser, status: str | None, unit_id: int | None
) -> list[SupervisionOrder]:
    """Supervision orders the user may see: all for the hotline, their own unit's for departments."""
    query = select(SupervisionOrder).order_by(col(SupervisionOrder.created_at).desc()).limit(500)
    if status:
        query = query.where(col(SupervisionOrder.status) == status)
    if unit_id is not None:
        query = query.where(col(SupervisionOrder.unit_id) == unit_id)
    orders = list((await session.execute(query)).scalars())
    if user.role in HOTLINE_ROLES or user.role is Role.AUDITOR:
        return orders
    units = await units_by_id(session, [o.unit_id for o in orders])
    return [o for o in orders if actor_of(user).covers(units[o.unit_id].path)]


async def _clock_holder_ticket(session: AsyncSession, ticket_id: int, user: CurrentUser) -> Ticket:
    """The order, if this user may stop or restart its clock: its lead unit, or a supervisor."""
    ticket = await _ticket_for(session, ticket_id, user)
    lead = (await units_by_id(session, [ticket.lead_unit_id])).get(ticket.lead_unit_id or 0)
    if user.role is Role.SUPERVISOR or actor_of(user).covers(lead.path if lead else None):
        return ticket
    raise Forbidden("只有主办单位或督办人员可以暂停、恢复计时", "only the lead unit or a supervisor may hold the clock")


async def pause_clock(
    session: AsyncSession, *, ticket_id: int, user: CurrentUser, reason: str, now: datetime
) -> Ticket:
    """Stop the handling clock while the unit waits for the citizen (e.g. materials to be supplied)."""
    ticket = await _clock_holder_ticket(session, ticket_id, user)
    if ticket.status != Status.IN_PROGRESS or ticket.due_at is None:
        raise Conflict("只有办理中的工单可以暂停计时", "only an order in progress can have its clock paused")
    if ticket.paused_at is not None:
        raise Conflict("计时已暂停", "the clock is already paused")
    if not reason.strip():
        raise InvalidInput("暂停计时必须填写原因", "pausing the clock requires a reason")
    ticket.paused_at = now
    await clock.reschedule(session, ticket)
    await write_event(
        session,
        ticket=ticket,
        action="clock_paused",
        actor=actor_of(user),
        from_status=ticket.status,
        reason=reason,
        payload={"due_at": ticket.due_at.astimezone(CHINA_TZ).isoformat()},
        at=now,
    )
    return ticket


async def resume_clock(session: AsyncSession, *, ticket_id: int, user: CurrentUser, now: datetime) -> Ticket:
    """Restart the clock; the deadline moves on by the time it stood still."""
    ticket = await _clock_holder_ticket(session, ticket_id, user)
    if ticket.paused_at is None:
        raise Conflict("计时未暂停", "the clock is not paused")
    paused = clock.resume(ticket, now, await clock.unit_calendar(session, ticket.lead_unit_id))
    await clock.reschedule(session, ticket)
    assert ticket.due_at is not None
    await write_event(
        session,
        ticket=ticket,
        action="clock_resumed",
        actor=actor_of(user),
        from_status=ticket.status,
        payload={
            "paused_seconds": int(paused.total_seconds()),
            "due_at": ticket.due_at.astimezone(CHINA_TZ).isoformat(),
        },
        at=now,
    )
    return ticket
