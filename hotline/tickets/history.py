"""Appending to an order's immutable history."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db_types import utcnow
from hotline.events.bus import BusEvent, publish_after_commit
from hotline.tickets import repository
from hotline.tickets.lifecycle import Actor, Status
from hotline.tickets.models import Ticket, TicketEvent

TICKETS_CHANNEL = "tickets"


class Announced(Protocol):
    """What the live screens are told of an order: a stored ``Ticket`` or a just-registered one."""

    @property
    def id(self) -> int | None: ...
    @property
    def number(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def lead_unit_id(self) -> int | None: ...


async def write_event(
    session: AsyncSession,
    *,
    ticket: Ticket,
    action: str,
    actor: Actor,
    from_status: str | None,
    reason: str | None = None,
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    """Append one event to an order's history and announce it after the commit."""
    assert ticket.id is not None
    event = new_event(
        ticket=ticket,
        seq=await repository.next_event_seq(session, ticket_id=ticket.id),
        action=action,
        actor=actor,
        from_status=from_status,
        reason=reason,
        payload=payload,
        at=at,
    )
    session.add(event)
    await session.flush()
    # The units the order is with ride along, so each unit's workbench hears of its own orders.
    units = [] if ticket.status == Status.REGISTERED else await repository.active_unit_ids(session, ticket_id=ticket.id)
    announce(session, ticket=ticket, action=action, unit_ids=units)
    return event


def new_event(
    *,
    ticket: Ticket,
    seq: int,
    action: str,
    actor: Actor,
    from_status: str | None,
    reason: str | None = None,
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    """An event of an order, not stored yet (``ticket_id`` is set when the order has one)."""
    return TicketEvent(
        ticket_id=ticket.id or 0,
        seq=seq,
        action=action,
        actor_id=actor.user_id,
        actor_role=actor.role,
        from_status=from_status,
        to_status=ticket.status,
        reason=reason,
        payload=payload or {},
        created_at=at or utcnow(),
    )


def announce(session: AsyncSession, *, ticket: Announced, action: str, unit_ids: list[int] | None = None) -> None:
    """Tell the live screens about an order's new event once the transaction has committed."""
    publish_after_commit(
        session,
        BusEvent(
            TICKETS_CHANNEL,
            {
                "type": f"ticket.{action}",
                "ticket_id": ticket.id,
                "number": ticket.number,
                "status": ticket.status,
                "lead_unit_id": ticket.lead_unit_id,
                "unit_ids": unit_ids or [],
            },
        ),
    )


async def record_history(
    session: AsyncSession, *, ticket: Ticket, action: str, actor: Actor, payload: dict[str, Any], at: datetime
) -> None:
    """Append an event that is history only (no status change), e.g. an order merged into this one."""
    await write_event(
        session, ticket=ticket, action=action, actor=actor, from_status=ticket.status, payload=payload, at=at
    )
