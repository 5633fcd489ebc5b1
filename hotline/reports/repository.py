"""Queries behind the dashboard: counts grouped in the database, per local day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.categories import Category
from hotline.tickets.lifecycle import Status
from hotline.tickets.models import Ticket, TicketEvent
from hotline.timefmt import local_midnight
from hotline.units.models import Unit
from routing.models import TicketSuggestion

OPEN_STATUSES = (
    Status.REGISTERED,
    Status.DISPATCHED,
    Status.RETURN_REVIEW,
    Status.IN_PROGRESS,
    Status.REPLY_REVIEW,
)


def _local_day(session: AsyncSession) -> ColumnElement[Any]:
    """``created_at`` as a China calendar day, in the database's own dialect."""
    created = col(Ticket.created_at)
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Shanghai", created))
    return func.date(created, "+8 hours")


def order_place() -> ColumnElement[Any]:
    """Where an order lies: its territory (属地), else where routing located it from its text, else its lead
    unit (whose district is the place for a district, street or community)."""
    located = (
        select(TicketSuggestion.territory_unit_id)
        .where(col(TicketSuggestion.ticket_id) == col(Ticket.id))
        .scalar_subquery()
    )
    return func.coalesce(col(Ticket.territory_unit_id), located, col(Ticket.lead_unit_id))


async def daily_counts(session: AsyncSession, *, dimension: Any, first: date, last: date) -> list[tuple[Any, Any, int]]:
    """Rows of (day, dimension value, count) for orders created from ``first`` to ``last`` (local days)."""
    day = _local_day(session).label("day")
    statement = (
        select(day, dimension, func.count())
        .where(
            col(Ticket.created_at) >= local_midnight(first),
            col(Ticket.created_at) < local_midnight(last + timedelta(days=1)),
            col(Ticket.status) != Status.MERGED,
        )
        .group_by(day, dimension)
    )
    return [(day, value, n) for day, value, n in (await session.execute(statement)).all()]


async def category_counts(session: AsyncSession, *, since: datetime, until: datetime) -> dict[int, int]:
    """Orders per category created in ``[since, until)``, merged ones left out."""
    rows = await session.execute(
        select(Ticket.category_id, func.count())
        .where(
            col(Ticket.created_at) >= since,
            col(Ticket.created_at) < until,
            col(Ticket.category_id).is_not(None),
            col(Ticket.status) != Status.MERGED,
        )
        .group_by(col(Ticket.category_id))
    )
    return {category_id: count for category_id, count in rows.all() if category_id is not None}


async def workload(session: AsyncSession, *, now: datetime) -> dict[str, int]:
    """Open orders, those past their deadline, and those by the highest warning tier fired."""
    open_order = col(Ticket.status).in_(OPEN_STATUSES)
    total = await session.scalar(select(func.count()).where(open_order))
    overdue = await session.scalar(
        select(func.count()).where(open_order, col(Ticket.due_at).is_not(None), col(Ticket.due_at) < now)
    )
    tiers = await session.execute(
        select(Ticket.alert_level, func.count())
        .where(open_order, col(Ticket.alert_level).is_not(None))
        .group_by(col(Ticket.alert_level))
    )
    return {"open": total or 0, "overdue": overdue or 0, **{tier: n for tier, n in tiers.all() if tier}}


async def categories(session: AsyncSession) -> dict[int, Category]:
    return {c.id: c for c in (await session.execute(select(Category))).scalars() if c.id is not None}


async def units(session: AsyncSession) -> dict[int, Unit]:
    return {u.id: u for u in (await session.execute(select(Unit))).scalars() if u.id is not None}


async def extension_requests(session: AsyncSession, *, limit: int) -> list[tuple[Ticket, TicketEvent | None]]:
    """Orders with an extension waiting for a decision, the earliest deadline first, with the request's event."""
    tickets = list(
        (
            await session.execute(
                select(Ticket)
                .where(col(Ticket.extension_pending), col(Ticket.status) == Status.IN_PROGRESS)
                .order_by(col(Ticket.due_at), col(Ticket.id))
                .limit(limit)
            )
        ).scalars()
    )
    ids = [t.id for t in tickets]
    events = (
        await session.execute(
            select(TicketEvent)
            .where(col(TicketEvent.ticket_id).in_(ids), col(TicketEvent.action) == "request_extension")
            .order_by(col(TicketEvent.seq))
        )
    ).scalars()
    latest = {e.ticket_id: e for e in events}  # ordered by seq: the last one wins
    return [(t, latest.get(t.id or 0)) for t in tickets]
