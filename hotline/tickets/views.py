"""Shaping orders for the API, with the citizen's identity shown only to those entitled to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.citizens import service as citizens
from hotline.citizens.models import Citizen, IdentityKind
from hotline.supervision.models import TIER_LABELS_ZH, Tier
from hotline.tickets import repository
from hotline.tickets.lifecycle import STATUS_LABELS_ZH, Status, allowed_actions, event_label
from hotline.tickets.models import Ticket
from hotline.tickets.schemas import (
    AlertView,
    AssignmentView,
    CitizenView,
    EventView,
    MessageView,
    TicketDetail,
    TicketSummary,
)
from hotline.tickets.service import actor_of, facts_from, is_overdue
from hotline.units.models import Unit
from hotline.units.repository import units_by_id


def _mask(kind: str, value: str) -> str:
    if kind == IdentityKind.PHONE:
        return citizens.mask_phone(value)
    if kind == IdentityKind.EMAIL and "@" in value:
        name, _, domain = value.partition("@")
        return f"{name[:1]}***@{domain}"
    return value[:3] + "***"


def summary(ticket: Ticket, units: dict[int, Unit], now: datetime) -> TicketSummary:
    """A list row."""
    assert ticket.id is not None
    lead = units.get(ticket.lead_unit_id) if ticket.lead_unit_id else None
    return TicketSummary(
        id=ticket.id,
        number=ticket.number,
        title=ticket.title,
        status=ticket.status,
        status_label=STATUS_LABELS_ZH[Status(ticket.status)],
        channel=ticket.channel,
        request_type=ticket.request_type,
        urgency=ticket.urgency,
        category_id=ticket.category_id,
        lead_unit_id=ticket.lead_unit_id,
        lead_unit_name=lead.name if lead else None,
        confidential=ticket.confidential,
        overdue=is_overdue(ticket, now),
        alert_level=ticket.alert_level,
        due_at=ticket.due_at,
        created_at=ticket.created_at,
    )


async def summaries(session: AsyncSession, tickets: list[Ticket], now: datetime) -> list[TicketSummary]:
    """List rows with their lead units' names loaded in one query."""
    units = await units_by_id(session, [t.lead_unit_id for t in tickets if t.lead_unit_id])
    return [summary(t, units, now) for t in tickets]


async def citizen_view(session: AsyncSession, citizen: Citizen, *, masked: bool) -> CitizenView:
    """A citizen's name and identities, masked or in full."""
    assert citizen.id is not None
    identities = await citizens.identities_of(session, citizen_id=citizen.id)
    shown = [{"kind": i.kind, "value": _mask(i.kind, i.value) if masked else i.value} for i in identities]
    return CitizenView(
        id=citizen.id,
        name=(citizens.mask_name(citizen.name) if citizen.name else None) if masked else citizen.name,
        phones=[s["value"] for s in shown if s["kind"] == IdentityKind.PHONE],
        identities=shown,
        masked=masked,
    )


async def _citizen_for(session: AsyncSession, ticket: Ticket, user: CurrentUser) -> CitizenView | None:
    if ticket.citizen_id is None:
        return None
    if user.role is Role.DEPARTMENT_STAFF and ticket.confidential:
        return None  # a confidential reporter's identity never leaves the hotline
    citizen = await session.get(Citizen, ticket.citizen_id)
    if citizen is None:
        return None
    return await citizen_view(session, citizen, masked=ticket.confidential)


async def detail(session: AsyncSession, ticket: Ticket, user: CurrentUser, now: datetime) -> TicketDetail:
    """The whole order as this user may see it: contacts, history, units and what they can do next."""
    assert ticket.id is not None
    all_assignments = await repository.assignments(session, ticket_id=ticket.id, active_only=False)
    units = await units_by_id(
        session, [a.unit_id for a in all_assignments] + [ticket.lead_unit_id, ticket.territory_unit_id]
    )
    history = await repository.events(session, ticket_id=ticket.id)
    facts = facts_from(ticket, all_assignments, units)
    return TicketDetail(
        **summary(ticket, units, now).model_dump(),
        content=ticket.content,
        address=ticket.address,
        territory_unit_id=ticket.territory_unit_id,
        territory_name=territory.name if (territory := units.get(ticket.territory_unit_id or 0)) else None,
        citizen=await _citizen_for(session, ticket, user),
        accept_due_at=ticket.accept_due_at,
        dispatched_at=ticket.dispatched_at,
        accepted_at=ticket.accepted_at,
        replied_at=ticket.replied_at,
        reply_review_due_at=ticket.reply_review_due_at,
        callback_due_at=ticket.callback_due_at,
        closed_at=ticket.closed_at,
        extension_pending=ticket.extension_pending,
        paused_at=ticket.paused_at,
        alerts=[
            AlertView(tier=a.tier, label=TIER_LABELS_ZH[Tier(a.tier)], deadline_at=a.deadline_at, fired_at=a.fired_at)
            for a in await repository.alerts(session, ticket_id=ticket.id)
        ],
        extension_requested_due_at=ticket.extension_requested_due_at,
        reply=ticket.reply,
        answer=ticket.answer,
        parent_id=ticket.parent_id,
        merged_into_id=ticket.merged_into_id,
        children=await repository.children(session, ticket_id=ticket.id),
        rework_count=ticket.rework_count,
        version=ticket.version,
        assignments=[
            AssignmentView(
                unit_id=a.unit_id,
                unit_name=units[a.unit_id].name,
                role=a.role,
                active=a.active,
                reply=a.reply,
                replied_at=a.replied_at,
            )
            for a in all_assignments
        ],
        messages=[
            MessageView(id=m.id or 0, channel=m.channel, direction=m.direction, body=m.body, created_at=m.created_at)
            for m in await repository.messages(session, ticket_id=ticket.id)
        ],
        events=[
            EventView(
                seq=e.seq,
                type=e.action,
                label=event_label(e.action),
                actor_id=e.actor_id,
                actor_role=e.actor_role,
                from_status=e.from_status,
                to_status=e.to_status,
                reason=e.reason,
                payload=e.payload,
                created_at=e.created_at,
            )
            for e in history
        ],
        allowed_actions=[a.value for a in allowed_actions(facts, actor_of(user))],
    )
