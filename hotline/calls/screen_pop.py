"""The screen pop (来电弹屏): who is calling, their earlier calls and orders, and which orders are still open.

It goes only to the hotline's own consoles (``/ws/console`` admits hotline staff alone), so it may
name the caller even on confidential orders: the hotline sees the citizen, departments never do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.calls import repository
from hotline.calls.models import CALL_STATUS_LABELS_ZH, Call, CallStatus
from hotline.citizens import service as citizens
from hotline.citizens.models import Citizen
from hotline.tickets.lifecycle import OPEN_STATUSES, STATUS_LABELS_ZH, Status
from hotline.tickets.models import Ticket

HISTORY_CALLS = 5
HISTORY_ORDERS = 10


async def screen_pop(session: AsyncSession, call: Call) -> dict[str, Any]:
    """What the operator sees when a call is answered."""
    pop: dict[str, Any] = {"call_id": call.id, "caller": call.caller, "citizen": None, "calls": [], "open_orders": []}
    pop["recent_orders"] = []
    if call.citizen_id is None:
        return pop
    citizen = await session.get(Citizen, call.citizen_id)
    identities = await citizens.identities_of(session, citizen_id=call.citizen_id)
    pop["citizen"] = {
        "id": call.citizen_id,
        "name": citizen.name if citizen else None,
        "identities": [{"kind": i.kind, "value": i.value} for i in identities],
    }
    earlier = await repository.recent_calls_of(
        session, citizen_id=call.citizen_id, phone=call.caller, limit=HISTORY_CALLS + 1
    )
    pop["calls"] = [_call_line(c) for c in earlier if c.id != call.id][:HISTORY_CALLS]
    orders = await _orders_of(session, call.citizen_id)
    pop["open_orders"] = [_order_line(t) for t in orders if t.status in OPEN_STATUSES]
    pop["recent_orders"] = [_order_line(t) for t in orders if t.status not in OPEN_STATUSES]
    return pop


async def _orders_of(session: AsyncSession, citizen_id: int) -> list[Ticket]:
    query = (
        select(Ticket)
        .where(col(Ticket.citizen_id) == citizen_id)
        .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .limit(HISTORY_ORDERS)
    )
    return list((await session.execute(query)).scalars())


def _call_line(call: Call) -> dict[str, Any]:
    return {
        "call_id": call.id,
        "direction": call.direction,
        "status": call.status,
        "status_label": CALL_STATUS_LABELS_ZH.get(CallStatus(call.status), call.status),
        "arrived_at": call.arrived_at,
    }


def _order_line(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": ticket.id,
        "number": ticket.number,
        "title": ticket.title,
        "status": ticket.status,
        "status_label": STATUS_LABELS_ZH.get(Status(ticket.status), ticket.status),
        "due_at": ticket.due_at,
        "created_at": ticket.created_at,
    }
