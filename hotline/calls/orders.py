"""The orders a call produced or touched: an operator links the order they registered or worked on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.service import CurrentUser
from hotline.calls.models import Call, CallEventKind, CallTicket, CallTicketRelation
from hotline.calls.service import add_event
from hotline.errors import NotFound
from hotline.tickets.models import Ticket


async def link_ticket(
    session: AsyncSession, *, call: Call, ticket_id: int, user: CurrentUser, now: datetime
) -> CallTicket:
    """Link an order to a call: produced when it was registered during the call, else touched; once per order."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("工单不存在", f"order {ticket_id} not found")
    query = select(CallTicket).where(col(CallTicket.call_id) == call.id, col(CallTicket.ticket_id) == ticket_id)
    existing = (await session.execute(query)).scalar_one_or_none()
    if existing is not None:
        return existing
    during = ticket.created_at >= (call.answered_at or call.arrived_at)
    relation = CallTicketRelation.PRODUCED if during else CallTicketRelation.TOUCHED
    assert call.id is not None
    link = CallTicket(call_id=call.id, ticket_id=ticket_id, relation=relation, linked_by_id=user.id, linked_at=now)
    session.add(link)
    add_event(session, call, CallEventKind.TICKET, now, user.id, ticket_id=ticket_id, relation=relation)
    return link
