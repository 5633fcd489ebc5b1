"""Multi-level dispatch (四级联动): a unit hands part of an order to one of its child units."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hotline.errors import InvalidInput
from hotline.supervision import calendars, clock
from hotline.supervision.policy import dispatch_deadlines
from hotline.tickets import repository
from hotline.tickets.history import write_event
from hotline.tickets.lifecycle import Action, Status
from hotline.tickets.models import AssignmentRole, Ticket, TicketAssignment
from hotline.timefmt import to_local
from hotline.units.repository import units_by_id

if TYPE_CHECKING:
    from hotline.tickets.effects import Step


async def create_child(step: Step) -> dict[str, Any]:
    """Create a child order for a unit under the lead unit, due no later than its parent."""
    parent = step.ticket
    assert parent.id is not None and parent.lead_unit_id is not None
    unit_id: int = step.params["unit_id"]
    units = await units_by_id(step.session, [unit_id, parent.lead_unit_id])
    unit, lead = units.get(unit_id), units[parent.lead_unit_id]
    if unit is None or unit.id == lead.id or not unit.path.startswith(lead.path):
        raise InvalidInput("只能下派给本单位的下级单位", "sub-dispatch goes only to a unit below the lead unit")
    deadlines = dispatch_deadlines(
        request_type=parent.request_type,
        urgency=parent.urgency,
        start=step.now,
        calendar=calendars.for_hours(unit.business_hours),
    )
    due = step.params.get("due_at") or min(deadlines.due_at, parent.due_at or deadlines.due_at)
    if parent.due_at is not None and due > parent.due_at:
        raise InvalidInput("下级工单的办理时限不能晚于上级工单", "a child order must be due no later than its parent")
    child = Ticket(
        number=await repository.next_number(step.session, day=to_local(step.now).strftime("%Y%m%d")),
        channel=parent.channel,
        request_type=parent.request_type,
        urgency=parent.urgency,
        category_id=parent.category_id,
        territory_unit_id=unit.id,
        address=parent.address,
        title=parent.title,
        content=parent.content if not step.text else f"{parent.content}\n\n【下派说明】{step.text}",
        citizen_id=parent.citizen_id,
        confidential=parent.confidential,
        status=Status.DISPATCHED,
        lead_unit_id=unit.id,
        parent_id=parent.id,
        dispatched_at=step.now,
        accept_due_at=min(deadlines.accept_due_at, due),
        due_at=due,
        clock_started_at=step.now,
        clock_kind=deadlines.clock_kind,
        created_by_id=step.actor.user_id,
        created_at=step.now,
        updated_at=step.now,
    )
    step.session.add(child)
    await step.session.flush()
    assert child.id is not None and unit.id is not None
    step.session.add(TicketAssignment(ticket_id=child.id, unit_id=unit.id, role=AssignmentRole.LEAD))
    await clock.reschedule(step.session, child)
    await write_event(
        step.session,
        ticket=child,
        action=Action.DISPATCH,
        actor=step.actor,
        from_status=None,
        at=step.now,
        payload={
            "parent_id": parent.id,
            "parent_number": parent.number,
            "lead_unit_id": unit.id,
            "lead_unit_name": unit.name,
            "due_at": to_local(due).isoformat(),
        },
    )
    return {
        "child_id": child.id,
        "child_number": child.number,
        "unit_id": unit.id,
        "unit_name": unit.name,
        "due_at": to_local(due).isoformat(),
    }
