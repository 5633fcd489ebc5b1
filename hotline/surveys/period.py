"""Loading a scorecard period: the dispatches, orders, histories, surveys and returns its formulas read."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.surveys.models import CallbackSurvey, SurveyStatus
from hotline.tickets.lifecycle import Action, Status
from hotline.tickets.models import Ticket, TicketEvent, TicketReturn

CHUNK = 500  # ids per IN (...) query
HOTLINE = 0  # the row of the hotline's own direct answers (surveys with no unit)


@dataclass
class Dispatch:
    ticket_id: int
    seq: int
    at: datetime
    accept_due_at: datetime | None


@dataclass
class PeriodData:
    """What the formulas read for one period, grouped by unit (``HOTLINE`` for the hotline's own row)."""

    start: datetime
    end: datetime
    as_of: datetime
    dispatches: dict[int, list[Dispatch]] = field(default_factory=lambda: defaultdict(list))
    history: dict[int, list[TicketEvent]] = field(default_factory=lambda: defaultdict(list))  # per order, by seq
    orders: dict[int, list[Ticket]] = field(default_factory=lambda: defaultdict(list))
    surveys: dict[int, list[CallbackSurvey]] = field(default_factory=lambda: defaultdict(list))
    wrong_returns: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    registered: list[int] = field(default_factory=list)  # the hotline's new orders in the period
    answered_directly: set[int] = field(default_factory=set)

    def actions(self, ticket_id: int) -> list[str]:
        return [e.action for e in self.history[ticket_id]]


async def load_period(session: AsyncSession, *, start: datetime, end: datetime, as_of: datetime) -> PeriodData:
    """Everything the formulas need for one period, in a handful of queries."""
    data = PeriodData(start=start, end=end, as_of=as_of)
    dispatched = await _events(session, where=[col(TicketEvent.action) == Action.DISPATCH], start=start, end=end)
    orders = await _orders(session, start, end)
    ids = {e.ticket_id for e in dispatched} | {o.id or 0 for o in orders}
    for event in await _history_of(session, ids):
        data.history[event.ticket_id].append(event)
    accept_due = {o.id: o.accept_due_at for o in await _tickets(session, {e.ticket_id for e in dispatched})}
    for event in dispatched:
        unit = event.payload.get("lead_unit_id")
        if isinstance(unit, int):
            due = _instant(event.payload.get("accept_due_at")) or accept_due.get(event.ticket_id)
            data.dispatches[unit].append(Dispatch(event.ticket_id, event.seq, event.created_at, due))
    for order in orders:
        data.orders[order.lead_unit_id or 0].append(order)
    await _load_surveys(session, data)
    await _load_returns(session, data)
    await _load_first_contact(session, data)
    return data


def _instant(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


async def _events(session: AsyncSession, *, where: list[Any], start: datetime, end: datetime) -> list[TicketEvent]:
    query = select(TicketEvent).where(*where, col(TicketEvent.created_at) >= start, col(TicketEvent.created_at) < end)
    return list((await session.execute(query)).scalars())


async def _history_of(session: AsyncSession, ticket_ids: set[int]) -> list[TicketEvent]:
    """The lifecycle steps the formulas look at, for these orders, in order."""
    wanted = (Action.DISPATCH, Action.ACCEPT, Action.APPROVE_RETURN, Action.APPROVE_REPLY, Action.REWORK)
    found: list[TicketEvent] = []
    for chunk in _chunks(ticket_ids):
        query = select(TicketEvent).where(col(TicketEvent.ticket_id).in_(chunk), col(TicketEvent.action).in_(wanted))
        found += (await session.execute(query.order_by(col(TicketEvent.ticket_id), col(TicketEvent.seq)))).scalars()
    return found


async def _tickets(session: AsyncSession, ticket_ids: set[int]) -> list[Ticket]:
    found: list[Ticket] = []
    for chunk in _chunks(ticket_ids):
        found += (await session.execute(select(Ticket).where(col(Ticket.id).in_(chunk)))).scalars()
    return found


async def _orders(session: AsyncSession, start: datetime, end: datetime) -> list[Ticket]:
    query = select(Ticket).where(
        col(Ticket.lead_unit_id).is_not(None),
        col(Ticket.dispatched_at) >= start,
        col(Ticket.dispatched_at) < end,
        col(Ticket.status) != Status.MERGED,
    )
    return list((await session.execute(query)).scalars())


async def _load_surveys(session: AsyncSession, data: PeriodData) -> None:
    query = select(CallbackSurvey).where(
        col(CallbackSurvey.created_at) >= data.start,
        col(CallbackSurvey.created_at) < data.end,
        col(CallbackSurvey.status).not_in((SurveyStatus.NOT_SAMPLED, SurveyStatus.CANCELLED)),
    )
    for survey in (await session.execute(query)).scalars():
        data.surveys[survey.unit_id or HOTLINE].append(survey)


async def _load_returns(session: AsyncSession, data: PeriodData) -> None:
    query = select(col(TicketReturn.wrong_unit_id)).where(
        col(TicketReturn.wrong_unit_id).is_not(None),
        col(TicketReturn.judged_at) >= data.start,
        col(TicketReturn.judged_at) < data.end,
    )
    for unit_id in (await session.execute(query)).scalars():
        data.wrong_returns[unit_id or 0] += 1


async def _load_first_contact(session: AsyncSession, data: PeriodData) -> None:
    query = select(col(Ticket.id)).where(
        col(Ticket.parent_id).is_(None),
        col(Ticket.status) != Status.MERGED,
        col(Ticket.created_at) >= data.start,
        col(Ticket.created_at) < data.end,
    )
    data.registered = [i for i in (await session.execute(query)).scalars() if i is not None]
    for chunk in _chunks(set(data.registered)):
        direct = select(col(TicketEvent.ticket_id)).where(
            col(TicketEvent.ticket_id).in_(chunk), col(TicketEvent.action) == Action.ANSWER_DIRECTLY
        )
        data.answered_directly |= set((await session.execute(direct)).scalars())
