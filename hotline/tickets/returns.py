"""Returns (退单): the fixed reason codes, the evidence, and who was judged wrong.

A unit returns an order with a reason code and evidence (text and/or attachments of the order's
messages). A dispatcher approving the return judges the dispatch wrong: the catalogue when the
order went where it proposed, else the dispatcher who sent it. Rejecting it judges the unit
wrong. Scorecards count return rates from ``ticket_returns.judged_wrong``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.channels.models import Message, MessageAttachment
from hotline.errors import InvalidInput
from hotline.tickets.lifecycle import Action, Actor
from hotline.tickets.models import Ticket, TicketEvent, TicketReturn
from routing.models import TicketSuggestion

RETURN_REASONS: dict[str, str] = {
    "not_our_remit": "非本单位职责",
    "wrong_territory": "属地错误",
    "insufficient_info": "信息不全",
    "duplicate": "重复工单",
    "other": "其他",
}
LEGACY_REASON_CODES = {"not_ours": "not_our_remit"}  # codes clients sent before the list was fixed
JUDGED_WRONG_LABELS_ZH = {"unit": "承办单位", "dispatcher": "派单员", "catalogue": "派单目录"}
MAX_EVIDENCE_ATTACHMENTS = 20


def reason_code(code: str | None) -> str | None:
    """The canonical reason code, or a refusal naming the allowed ones."""
    if code is None:
        return None
    code = LEGACY_REASON_CODES.get(code.strip(), code.strip())
    if code not in RETURN_REASONS:
        allowed = "、".join(f"{c}（{label}）" for c, label in RETURN_REASONS.items())
        raise InvalidInput(f"退单原因须为：{allowed}", f"unknown return reason {code!r}")
    return code


async def record_return(
    session: AsyncSession, *, ticket: Ticket, actor: Actor, reason: str | None, params: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Keep a unit's return with its evidence and how the order had been dispatched; returns the event payload."""
    assert ticket.id is not None
    code = reason_code(params.get("reason_code"))
    attachments = await _evidence_attachments(session, ticket, params.get("attachment_ids") or [])
    dispatched_by = await _last_dispatcher(session, ticket.id)
    proposal = await session.get(TicketSuggestion, ticket.id)
    lead = ticket.lead_unit_id
    followed = proposal is not None and lead is not None and proposal.lead_unit_id == lead
    returned = TicketReturn(
        ticket_id=ticket.id,
        unit_id=ticket.lead_unit_id,
        returned_by_id=actor.user_id,
        reason_code=code,
        reason=reason,
        evidence=params.get("evidence"),
        attachment_ids=attachments,
        returned_at=now,
        dispatched_by_id=dispatched_by,
        followed_suggestion=followed,
        rule_id=proposal.rule_id if followed and proposal else None,
    )
    session.add(returned)
    await session.flush()
    return {
        "reason_code": code,
        "reason_label": RETURN_REASONS.get(code or ""),
        "unit_id": ticket.lead_unit_id,
        "evidence": params.get("evidence"),
        "attachment_ids": attachments,
        "return_id": returned.id,
    }


async def judge_return(
    session: AsyncSession, *, ticket: Ticket, actor: Actor, approved: bool, now: datetime
) -> dict[str, Any]:
    """Record the dispatcher's judgment on the pending return: who was wrong; returns payload additions."""
    assert ticket.id is not None
    pending = (
        await session.execute(
            select(TicketReturn)
            .where(col(TicketReturn.ticket_id) == ticket.id, col(TicketReturn.status) == "pending")
            .order_by(col(TicketReturn.id).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if pending is None:  # returned before returns were recorded
        return {}
    pending.status = "approved" if approved else "rejected"
    pending.judged_by_id, pending.judged_at = actor.user_id, now
    if approved:
        pending.judged_wrong = "catalogue" if pending.followed_suggestion else "dispatcher"
        pending.wrong_user_id = pending.dispatched_by_id
        pending.wrong_unit_id = await _sub_dispatching_unit(session, ticket)
    else:
        pending.judged_wrong, pending.wrong_unit_id = "unit", pending.unit_id
    return {
        "return_id": pending.id,
        "judged_wrong": pending.judged_wrong,
        "judged_wrong_label": JUDGED_WRONG_LABELS_ZH[pending.judged_wrong],
    }


async def _evidence_attachments(session: AsyncSession, ticket: Ticket, ids: list[int]) -> list[int]:
    """Attachment ids that belong to messages of this order (or of the order it was sub-dispatched from)."""
    wanted = list(dict.fromkeys(ids))
    if len(wanted) > MAX_EVIDENCE_ATTACHMENTS:
        raise InvalidInput(f"证据附件最多{MAX_EVIDENCE_ATTACHMENTS}个", "too many evidence attachments")
    if not wanted:
        return []
    orders = [i for i in (ticket.id, ticket.parent_id) if i is not None]
    rows = await session.execute(
        select(col(MessageAttachment.id))
        .join(Message, col(Message.id) == col(MessageAttachment.message_id))
        .where(col(MessageAttachment.id).in_(wanted), col(Message.ticket_id).in_(orders))
    )
    found = set(rows.scalars())
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(f"附件不属于该工单：{missing}", f"attachments {missing} are not on this order")
    return wanted


async def _last_dispatcher(session: AsyncSession, ticket_id: int) -> int | None:
    """Who made the dispatch now being returned (the last dispatch event's actor)."""
    rows = await session.execute(
        select(col(TicketEvent.actor_id))
        .where(col(TicketEvent.ticket_id) == ticket_id, col(TicketEvent.action) == Action.DISPATCH)
        .order_by(col(TicketEvent.seq).desc())
        .limit(1)
    )
    return rows.scalar_one_or_none()


async def _sub_dispatching_unit(session: AsyncSession, ticket: Ticket) -> int | None:
    """For a sub-dispatched order, the unit that handed it down (it chose the wrong child unit)."""
    if ticket.parent_id is None:
        return None
    parent = await session.get(Ticket, ticket.parent_id)
    return parent.lead_unit_id if parent else None
