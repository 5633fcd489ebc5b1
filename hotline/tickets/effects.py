"""What each lifecycle action does to an order besides changing its status.

Each effect validates its own input before writing; any refusal raises and the caller's
transaction rolls back, so an action is applied whole or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.channels.outbound import notify_citizen
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.supervision import calendars, clock
from hotline.supervision.policy import Stage, dispatch_deadlines, stage_deadline
from hotline.tickets import attachments, repository
from hotline.tickets.history import record_history
from hotline.tickets.lifecycle import OPEN_STATUSES, Action, Actor, Outcome, Status
from hotline.tickets.models import AssignmentRole, Ticket, TicketAssignment
from hotline.tickets.returns import judge_return, record_return
from hotline.tickets.subdispatch import create_child
from hotline.timefmt import to_local
from hotline.units.models import Unit, UnitKind
from hotline.units.repository import units_by_id

REASON_ACTIONS = frozenset(
    {
        Action.RETURN,
        Action.REJECT_RETURN,
        Action.REQUEST_EXTENSION,
        Action.REJECT_EXTENSION,
        Action.REJECT_REPLY,
        Action.REWORK,
        Action.MERGE,
        Action.APPROVE_RETURN,
        Action.APPROVE_EXTENSION,
    }
)
RESULT_TEXT_LIMIT = 500  # characters of the answer in the message to the citizen
NOT_DISPATCHABLE = frozenset({UnitKind.HOTLINE_CENTER})


def text_is_reason(action: Action) -> bool:
    """Whether an action's free text is a reason (kept on the event) rather than content."""
    return action in REASON_ACTIONS


@dataclass(frozen=True)
class Step:
    session: AsyncSession
    ticket: Ticket
    outcome: Outcome
    actor: Actor
    text: str | None
    params: dict[str, Any]
    now: datetime


Effect = Callable[[Step], Awaitable[dict[str, Any]]]


def _iso(value: datetime | None) -> str | None:
    return to_local(value).isoformat() if value else None


async def _unit(step: Step, unit_id: int, what: str) -> Unit:
    unit = (await units_by_id(step.session, [unit_id])).get(unit_id)
    if unit is None or not unit.is_active:
        raise InvalidInput(f"{what}不存在：{unit_id}", f"{what}: no such unit {unit_id}")
    if unit.kind in NOT_DISPATCHABLE:
        raise InvalidInput(f"不能派单给{unit.name}", f"cannot dispatch to {unit.name}")
    return unit


async def _dispatch(step: Step) -> dict[str, Any]:
    lead_id: int = step.params["lead_unit_id"]
    assisting_ids = list(dict.fromkeys(step.params.get("assisting_unit_ids") or []))
    if lead_id in assisting_ids:
        raise InvalidInput("主办单位不能同时是协办单位", "the lead unit cannot also be an assisting unit")
    lead = await _unit(step, lead_id, "主办单位")
    assisting = [await _unit(step, unit_id, "协办单位") for unit_id in assisting_ids]
    ticket = step.ticket
    assert ticket.id is not None
    await repository.deactivate_assignments(step.session, ticket_id=ticket.id)
    step.session.add(TicketAssignment(ticket_id=ticket.id, unit_id=lead_id, role=AssignmentRole.LEAD))
    for unit in assisting:
        assert unit.id is not None
        step.session.add(TicketAssignment(ticket_id=ticket.id, unit_id=unit.id, role=AssignmentRole.ASSISTING))
    ticket.lead_unit_id = lead_id
    ticket.dispatched_at = step.now
    ticket.accepted_at = None
    deadlines = dispatch_deadlines(
        request_type=ticket.request_type,
        urgency=ticket.urgency,
        start=step.now,
        calendar=calendars.for_hours(lead.business_hours),
    )
    clock.start(ticket, deadlines, step.now)
    return {
        "lead_unit_id": lead_id,
        "lead_unit_name": lead.name,
        "assisting_unit_ids": [u.id for u in assisting],
        "assisting_unit_names": [u.name for u in assisting],
        "accept_due_at": _iso(ticket.accept_due_at),
        "due_at": _iso(ticket.due_at),
    }


async def _accept(step: Step) -> dict[str, Any]:
    step.ticket.accepted_at = step.now
    return {"due_at": _iso(step.ticket.due_at)}


async def _return(step: Step) -> dict[str, Any]:
    return await record_return(
        step.session, ticket=step.ticket, actor=step.actor, reason=step.text, params=step.params, now=step.now
    )


async def _approve_return(step: Step) -> dict[str, Any]:
    ticket = step.ticket
    assert ticket.id is not None
    judged = await judge_return(step.session, ticket=ticket, actor=step.actor, approved=True, now=step.now)
    returned_from = ticket.lead_unit_id
    await repository.deactivate_assignments(step.session, ticket_id=ticket.id)
    ticket.lead_unit_id = None
    ticket.dispatched_at = None
    clock.stop(ticket)
    return {"returned_from_unit_id": returned_from, **judged}


async def _reject_return(step: Step) -> dict[str, Any]:
    return await judge_return(step.session, ticket=step.ticket, actor=step.actor, approved=False, now=step.now)


async def _request_extension(step: Step) -> dict[str, Any]:
    requested: datetime = step.params["requested_due_at"]
    if step.ticket.due_at is not None and requested <= step.ticket.due_at:
        raise InvalidInput(
            "延期后的办理时限必须晚于当前时限", "the requested deadline must be later than the current one"
        )
    step.ticket.extension_requested_due_at = requested
    return {"requested_due_at": _iso(requested), "current_due_at": _iso(step.ticket.due_at)}


async def _approve_extension(step: Step) -> dict[str, Any]:
    ticket = step.ticket
    new_due: datetime | None = step.params.get("due_at") or ticket.extension_requested_due_at
    if new_due is None or (ticket.due_at is not None and new_due <= ticket.due_at):
        raise InvalidInput("批准的办理时限必须晚于当前时限", "the approved deadline must be later than the current one")
    old_due, ticket.due_at, ticket.extension_requested_due_at = ticket.due_at, new_due, None
    return {"old_due_at": _iso(old_due), "new_due_at": _iso(new_due)}


async def _reject_extension(step: Step) -> dict[str, Any]:
    requested, step.ticket.extension_requested_due_at = step.ticket.extension_requested_due_at, None
    return {"requested_due_at": _iso(requested)}


async def _sub_dispatch(step: Step) -> dict[str, Any]:
    return await create_child(step)


async def _assist_reply(step: Step) -> dict[str, Any]:
    ticket = step.ticket
    assert ticket.id is not None
    mine = [
        a for a in await repository.assignments(step.session, ticket_id=ticket.id) if a.role == AssignmentRole.ASSISTING
    ]
    units = await units_by_id(step.session, [a.unit_id for a in mine])
    assignment = next(a for a in mine if step.actor.covers(units[a.unit_id].path))
    assignment.reply, assignment.replied_at = step.text, step.now
    files = await attachments.for_reply(step.session, ticket_id=ticket.id, ids=step.params.get("attachment_ids") or [])
    return {
        "unit_id": assignment.unit_id,
        "unit_name": units[assignment.unit_id].name,
        "reply": step.text,
        "attachment_ids": files,
    }


async def _reply(step: Step) -> dict[str, Any]:
    ticket = step.ticket
    files = await attachments.for_reply(
        step.session, ticket_id=ticket.id or 0, ids=step.params.get("attachment_ids") or []
    )
    ticket.reply, ticket.replied_at = step.text, step.now
    ticket.reply_review_due_at = _stage_due(ticket, "reply_review", step.now)
    return {"reply": step.text, "review_due_at": _iso(ticket.reply_review_due_at), "attachment_ids": files}


def _stage_due(ticket: Ticket, stage: Stage, start: datetime) -> datetime:
    return stage_deadline(stage, request_type=ticket.request_type, urgency=ticket.urgency, start=start)


async def _reject_reply(step: Step) -> dict[str, Any]:
    step.ticket.reply_review_due_at = None
    return {}


async def _approve_reply(step: Step) -> dict[str, Any]:
    ticket = step.ticket
    ticket.answer, ticket.reply_review_due_at = ticket.reply, None
    ticket.callback_due_at = _stage_due(ticket, "callback", step.now)
    told = await _tell_citizen(step, ticket.answer or "")
    return {"callback_due_at": _iso(ticket.callback_due_at), "citizen_notified": told}


async def _tell_citizen(step: Step, answer: str) -> bool:
    """Send the result to the citizen on the channel they used (through the outbox)."""
    ticket = step.ticket
    assert ticket.id is not None
    body = f"您反映的问题（工单号 {ticket.number}）已办理：{answer[:RESULT_TEXT_LIMIT]}"
    return await notify_citizen(step.session, ticket_id=ticket.id, body=body, key=f"result:{ticket.version}")


async def _answer_directly(step: Step) -> dict[str, Any]:
    step.ticket.answer = step.ticket.reply = step.text
    step.ticket.replied_at = step.now
    step.ticket.callback_due_at = _stage_due(step.ticket, "callback", step.now)
    told = await _tell_citizen(step, step.text or "")
    return {"answer": step.text, "knowledge_entry_id": step.params.get("knowledge_entry_id"), "citizen_notified": told}


async def _close(step: Step) -> dict[str, Any]:
    step.ticket.closed_at = step.now
    return {}


async def _rework(step: Step) -> dict[str, Any]:
    ticket = step.ticket
    ticket.rework_count += 1
    ticket.closed_at = None
    if step.outcome.to_status is Status.IN_PROGRESS:
        clock.start(
            ticket,
            dispatch_deadlines(
                request_type=ticket.request_type,
                urgency=ticket.urgency,
                start=step.now,
                calendar=await clock.unit_calendar(step.session, ticket.lead_unit_id),
            ),
            step.now,
        )
    return {"rework_count": ticket.rework_count, "due_at": _iso(ticket.due_at)}


async def _merge(step: Step) -> dict[str, Any]:
    ticket = step.ticket
    target_id: int = step.params["target_id"]
    if target_id == ticket.id:
        raise InvalidInput("不能并入工单本身", "an order cannot be merged into itself")
    target = await repository.get_locked(step.session, ticket_id=target_id)
    if target is None:
        raise NotFound("目标工单不存在", f"target order {target_id} not found")
    if target.status not in OPEN_STATUSES:
        raise Conflict("目标工单已不在办理中，不能并入", f"target order {target.number} is not open")
    assert ticket.id is not None
    moved = await repository.move_messages(step.session, from_ticket_id=ticket.id, to_ticket_id=target_id)
    ticket.merged_into_id = target_id
    await record_history(
        step.session,
        ticket=target,
        action="merge_in",
        actor=step.actor,
        payload={"source_id": ticket.id, "source_number": ticket.number, "messages": moved},
        at=step.now,
    )
    return {"target_id": target_id, "target_number": target.number, "messages_moved": moved}


async def _nothing(step: Step) -> dict[str, Any]:
    return {}


EFFECTS: dict[Action, Effect] = {
    Action.DISPATCH: _dispatch,
    Action.ACCEPT: _accept,
    Action.RETURN: _return,
    Action.APPROVE_RETURN: _approve_return,
    Action.REJECT_RETURN: _reject_return,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.APPROVE_EXTENSION: _approve_extension,
    Action.REJECT_EXTENSION: _reject_extension,
    Action.SUB_DISPATCH: _sub_dispatch,
    Action.ASSIST_REPLY: _assist_reply,
    Action.REPLY: _reply,
    Action.APPROVE_REPLY: _approve_reply,
    Action.REJECT_REPLY: _reject_reply,
    Action.ANSWER_DIRECTLY: _answer_directly,
    Action.CLOSE: _close,
    Action.REWORK: _rework,
    Action.ARCHIVE: _nothing,
    Action.MERGE: _merge,
}


async def apply(
    session: AsyncSession,
    *,
    ticket: Ticket,
    outcome: Outcome,
    actor: Actor,
    text: str | None,
    params: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Run the effect of an allowed action and return the payload of its event."""
    return await EFFECTS[outcome.action](Step(session, ticket, outcome, actor, text, params, now))
