"""Building orders at chosen instants, for the clock tests."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from hotline.auth.models import Role, User
from hotline.auth.service import CurrentUser
from hotline.db import Database
from hotline.supervision.models import SlaAlert
from hotline.tickets import service
from hotline.tickets.lifecycle import Action, Actor
from hotline.tickets.models import RequestType, Ticket, TicketEvent, Urgency
from hotline.tickets.schemas import TicketCreate
from tests.conftest import City, as_current

OPERATOR = Actor(role=Role.OPERATOR)


async def dispatched_order(
    db: Database,
    city: City,
    staff: dict[str, User],
    *,
    at: datetime,
    unit: str = "liangyuan",
    request_type: RequestType = RequestType.CONSULTATION,
    urgency: Urgency = Urgency.GENERAL,
    accept: bool = True,
) -> int:
    """An order created and dispatched at ``at`` (and accepted a minute later)."""
    operator = as_current(staff["operator1"])
    async with db.session() as session:
        ticket = await service.create_ticket(
            session,
            data=TicketCreate(content="井盖缺失", request_type=request_type, urgency=urgency),
            actor=OPERATOR,
            now=at,
        )
        await service.act(
            session,
            ticket_id=ticket.id or 0,
            user=operator,
            action=Action.DISPATCH,
            params={"lead_unit_id": city.unit(unit).id},
            now=at,
        )
        if accept:
            dept = department(staff, city, unit)
            await service.act(session, ticket_id=ticket.id or 0, user=dept, action=Action.ACCEPT, now=at)
        return ticket.id or 0


def department(staff: dict[str, User], city: City, unit: str) -> CurrentUser:
    user = staff[f"dept_{unit}1"]
    return as_current(user, city.unit(unit))


async def ticket(db: Database, ticket_id: int) -> Ticket:
    async with db.read_session() as session:
        found = await session.get(Ticket, ticket_id)
        assert found is not None
        return found


async def fired(db: Database, ticket_id: int) -> Counter[str]:
    """How many times each tier fired for an order, and how many tier events its history has."""
    async with db.read_session() as session:
        tiers = (await session.execute(select(SlaAlert.tier).where(col(SlaAlert.ticket_id) == ticket_id))).scalars()
        counts = Counter(tiers)
        events = await session.execute(
            select(TicketEvent.action, func.count())
            .where(col(TicketEvent.ticket_id) == ticket_id, col(TicketEvent.action).like("sla_%"))
            .group_by(col(TicketEvent.action))
        )
        for action, n in events:
            counts[f"event:{action}"] = n
    return counts
