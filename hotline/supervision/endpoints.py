"""Supervision API: urge, supervise, supervision orders, the citizen-wait clock, and the holiday calendar."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlmodel import select

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.calendar.holidays import HolidaySchedule
from hotline.db_types import utcnow
from hotline.deps import DB, User, audit, require_roles
from hotline.errors import InvalidInput
from hotline.supervision import calendars, policy, service
from hotline.supervision.models import CalendarYear, SupervisionOrder, TimeLimitPolicy
from hotline.supervision.policy import LimitUnit, Stage
from hotline.tickets import views
from hotline.tickets.models import RequestType, Urgency
from hotline.tickets.schemas import MAX_TEXT, TicketDetail
from hotline.timefmt import LocalDateTime, to_local

router = APIRouter(prefix="/api/v1", tags=["supervision"])
SystemAdmin = Annotated[CurrentUser, Depends(require_roles(Role.SYSTEM_ADMIN))]


class SupervisionIn(BaseModel):
    content: str = Field(min_length=1, max_length=MAX_TEXT)
    reply_due_at: LocalDateTime | None = None


class SupervisionReplyIn(BaseModel):
    reply: str = Field(min_length=1, max_length=MAX_TEXT)


class PauseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_TEXT)


class SupervisionOrderView(BaseModel):
    id: int
    ticket_id: int
    unit_id: int
    kind: str
    kind_label: str
    content: str
    status: str
    created_at: LocalDateTime
    reply_due_at: LocalDateTime | None
    reply: str | None
    replied_at: LocalDateTime | None


class CalendarYearIn(BaseModel):
    holidays: list[str] = Field(max_length=366)
    workdays: list[str] = Field(max_length=366)
    source: str | None = Field(default=None, max_length=255, description="e.g. 国办发明电〔2026〕X号")


class CalendarView(BaseModel):
    library_years: list[int]
    loaded_years: list[int]
    weekends_only_years: list[int]
    business_hours: list[str]


def _order_view(order: SupervisionOrder) -> SupervisionOrderView:
    return SupervisionOrderView(
        id=order.id or 0,
        ticket_id=order.ticket_id,
        unit_id=order.unit_id,
        kind=order.kind,
        kind_label=service.KIND_LABELS_ZH.get(order.kind, order.kind),
        content=order.content,
        status=order.status,
        created_at=order.created_at,
        reply_due_at=order.reply_due_at,
        reply=order.reply,
        replied_at=order.replied_at,
    )


async def _supervise(db: DB, user: CurrentUser, ticket_id: int, kind: str, body: SupervisionIn) -> SupervisionOrderView:
    async with db.session() as session:
        order = await service.open_supervision(
            session,
            ticket_id=ticket_id,
            user=user,
            kind=kind,
            content=body.content,
            reply_due_at=body.reply_due_at,
            now=utcnow(),
        )
        return _order_view(order)


@router.post("/tickets/{ticket_id}/urge", response_model=SupervisionOrderView, status_code=201)
async def urge(ticket_id: int, body: SupervisionIn, user: User, db: DB) -> SupervisionOrderView:
    """A supervisor urges the lead unit (催办); the unit is notified and must reply."""
    return await _supervise(db, user, ticket_id, "urge", body)


@router.post("/tickets/{ticket_id}/supervise", response_model=SupervisionOrderView, status_code=201)
async def supervise(ticket_id: int, body: SupervisionIn, user: User, db: DB) -> SupervisionOrderView:
    """A supervisor issues a supervision order (督办单) to the lead unit."""
    return await _supervise(db, user, ticket_id, "supervise", body)


@router.get("/supervision-orders", response_model=list[SupervisionOrderView])
async def list_supervision_orders(
    user: User, db: DB, status: str | None = None, unit_id: int | None = None
) -> list[SupervisionOrderView]:
    """Supervision orders, newest first (a department sees its own unit's)."""
    async with db.read_session() as session:
        orders = await service.list_supervision(session, user=user, status=status, unit_id=unit_id)
        return [_order_view(o) for o in orders]


@router.post("/supervision-orders/{order_id}/reply", response_model=SupervisionOrderView)
async def reply_supervision_order(order_id: int, body: SupervisionReplyIn, user: User, db: DB) -> SupervisionOrderView:
    """The unit answers a supervision order or an urging."""
    async with db.session() as session:
        return _order_view(
            await service.reply_to_supervision(session, order_id=order_id, user=user, reply=body.reply, now=utcnow())
        )


@router.post("/tickets/{ticket_id}/pause-clock", response_model=TicketDetail)
async def pause_clock(ticket_id: int, body: PauseIn, user: User, db: DB) -> TicketDetail:
    """Stop the handling clock while waiting for the citizen."""
    async with db.session() as session:
        ticket = await service.pause_clock(session, ticket_id=ticket_id, user=user, reason=body.reason, now=utcnow())
        return await views.detail(session, ticket, user, utcnow())


@router.post("/tickets/{ticket_id}/resume-clock", response_model=TicketDetail)
async def resume_clock(ticket_id: int, user: User, db: DB) -> TicketDetail:
    """Restart the clock; the deadline moves on by the time it stood still."""
    async with db.session() as session:
        ticket = await service.resume_clock(session, ticket_id=ticket_id, user=user, now=utcnow())
        return await views.detail(session, ticket, user, utcnow())


class TimeLimitRule(BaseModel):
    stage: Stage
    request_type: str = Field(default=policy.ANY, description="a request type, or * for any")
    urgency: str = Field(default=policy.ANY, description="an urgency, or * for any")
    amount: int = Field(ge=1, le=10_000)
    unit: LimitUnit
    source: str | None = Field(default=None, max_length=255)
    is_default: bool = False


def _check_rule(rule: TimeLimitRule) -> None:
    if rule.request_type != policy.ANY and rule.request_type not in RequestType.__members__.values():
        raise InvalidInput(f"未知的诉求类型：{rule.request_type}", f"unknown request type {rule.request_type!r}")
    if rule.urgency != policy.ANY and rule.urgency not in Urgency.__members__.values():
        raise InvalidInput(f"未知的紧急程度：{rule.urgency}", f"unknown urgency {rule.urgency!r}")


@router.get("/time-limits", response_model=list[TimeLimitRule])
async def list_time_limits(_: User, db: DB) -> list[TimeLimitRule]:
    """Every time-limit rule in force (the sourced defaults and administrators' changes)."""
    async with db.read_session() as session:
        await policy.refresh(session)
    return [
        TimeLimitRule(
            stage=stage,
            request_type=kind,
            urgency=urgency,
            amount=limit.amount,
            unit=limit.unit,
            is_default=policy.DEFAULTS.get((stage, kind, urgency)) == limit,
        )
        for (stage, kind, urgency), limit in sorted(policy.rules().items())
    ]


@router.put("/time-limits", response_model=list[TimeLimitRule])
async def set_time_limit(rule: TimeLimitRule, request: Request, user: SystemAdmin, db: DB) -> list[TimeLimitRule]:
    """Add or change one rule; orders dispatched from now on get the new limit."""
    _check_rule(rule)
    async with db.session() as session:
        key = {"stage": rule.stage, "request_type": rule.request_type, "urgency": rule.urgency}
        row = (await session.execute(select(TimeLimitPolicy).filter_by(**key))).scalar_one_or_none()
        row = row or TimeLimitPolicy(
            stage=rule.stage, request_type=rule.request_type, urgency=rule.urgency, amount=rule.amount, unit=rule.unit
        )
        row.amount, row.unit, row.source, row.updated_by_id, row.updated_at = (
            rule.amount,
            rule.unit,
            rule.source,
            user.id,
            utcnow(),
        )
        session.add(row)
        audit(
            session,
            request,
            user,
            action="time_limit.changed",
            object_type="time_limit",
            object_id=f"{rule.stage}:{rule.request_type}:{rule.urgency}",
            detail={"amount": rule.amount, "unit": rule.unit},
        )
    return await list_time_limits(user, db)


@router.get("/calendar", response_model=CalendarView)
async def get_calendar(_: User, db: DB) -> CalendarView:
    """Which years the official holiday schedule covers, and where only weekends count for now."""
    async with db.read_session() as session:
        calendar = await calendars.refresh(session)
        loaded = sorted((await session.execute(select(CalendarYear.year))).scalars())
    library = HolidaySchedule.from_library().years
    spans = [f"{start:%H:%M}-{end:%H:%M}" for start, end in calendar.hours.spans]
    return CalendarView(
        library_years=[min(library), max(library)],
        loaded_years=loaded,
        weekends_only_years=calendars.weekends_only_years(to_local(utcnow()).date()),
        business_hours=spans,
    )


@router.put("/calendar/years/{year}", response_model=CalendarView)
async def load_calendar_year(
    year: int, body: CalendarYearIn, request: Request, user: SystemAdmin, db: DB
) -> CalendarView:
    """Load a year's official holiday schedule published by the State Council (holidays and 调休 workdays)."""
    document = json.dumps({"year": year, "holidays": body.holidays, "workdays": body.workdays})
    try:
        HolidaySchedule.parse_year_document(document)
    except ValueError as exc:
        raise InvalidInput(f"节假日安排有误：{exc}", f"invalid holiday schedule: {exc}") from exc
    if not date.min.year < year < date.max.year:
        raise InvalidInput("年份不正确", "invalid year")
    async with db.session() as session:
        row = await session.get(CalendarYear, year) or CalendarYear(year=year)
        row.holidays, row.workdays, row.source = body.holidays, body.workdays, body.source
        row.loaded_by_id, row.loaded_at = user.id, utcnow()
        session.add(row)
        detail: dict[str, Any] = {"year": year, "holidays": len(body.holidays), "workdays": len(body.workdays)}
        audit(
            session,
            request,
            user,
            action="calendar.loaded",
            object_type="calendar_year",
            object_id=year,
            detail=detail,
        )
    return await get_calendar(user, db)
