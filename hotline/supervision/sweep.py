"""The supervision sweep: fire warning, yellow-card and red-card tiers that are due, exactly once each.

It reads only orders whose ``next_alert_at`` has come (indexed), keeps no state in memory, and can be
replayed for any instant (``hotline sla sweep --now``). The unique key of ``sla_alerts`` makes each
tier fire once per order and deadline even when two sweeps run at the same time. Work is done a
batch of orders at a time, with one statement per kind of row (alerts, events, outbox).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.models import Role
from hotline.calendar.working_time import CHINA_TZ, WorkingCalendar
from hotline.db import Database
from hotline.events.bus import BusEvent, publish_after_commit
from hotline.outbox.service import enqueue_many
from hotline.supervision import calendars, clock, policy
from hotline.supervision.models import TIER_LABELS_ZH, SlaAlert, SupervisionOrder, Tier
from hotline.supervision.notify import Contact, notice_rows, staff_of_units, supervisors
from hotline.tickets import repository
from hotline.tickets.history import TICKETS_CHANNEL
from hotline.tickets.models import Ticket, TicketEvent
from hotline.units.repository import units_by_id

BATCH_SIZE = 500
SUPERVISION_REPLY_WORKING_DAYS = 2


@dataclass
class SweepResult:
    """What one sweep did."""

    now: datetime
    orders: int = 0
    fired: dict[str, int] = field(default_factory=lambda: {t.value: 0 for t in Tier})
    notifications: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "now": self.now.astimezone(CHINA_TZ).isoformat(),
            "orders": self.orders,
            "fired": self.fired,
            "notifications": self.notifications,
        }


async def sweep(db: Database, *, now: datetime, batch_size: int = BATCH_SIZE) -> SweepResult:
    """Escalate every order with a tier due at ``now``, one committed batch at a time."""
    result = SweepResult(now=now)
    async with db.read_session() as session:
        calendar = await calendars.refresh(session)
        await policy.refresh(session)
    while True:
        async with db.session() as session:
            due = await _claim_due(session, now=now, limit=batch_size)
            await _escalate_batch(session, due, now=now, calendar=calendar, result=result)
        result.orders += len(due)
        if len(due) < batch_size:
            return result


async def _claim_due(session: AsyncSession, *, now: datetime, limit: int) -> list[Ticket]:
    query = (
        select(Ticket)
        .where(col(Ticket.next_alert_at) <= now)
        .order_by(col(Ticket.next_alert_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).scalars())


async def _fired(session: AsyncSession, tickets: list[Ticket]) -> dict[int, set[str]]:
    """The tiers already fired for each order's current deadline."""
    deadlines = {t.id: t.due_at for t in tickets}
    rows = await session.execute(
        select(col(SlaAlert.ticket_id), col(SlaAlert.tier), col(SlaAlert.deadline_at)).where(
            col(SlaAlert.ticket_id).in_(list(deadlines))
        )
    )
    fired: dict[int, set[str]] = defaultdict(set)
    for ticket_id, tier, deadline in rows:
        if deadline == deadlines[ticket_id]:
            fired[ticket_id].add(tier)
    return fired


async def _insert_alerts(session: AsyncSession, rows: list[dict[str, Any]]) -> set[tuple[int, str]]:
    """Record tiers as fired; returns the ones this sweep recorded (not those another sweep beat it to)."""
    if not rows:
        return set()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(SlaAlert)
        .on_conflict_do_nothing(index_elements=["ticket_id", "tier", "deadline_at"])
        .returning(col(SlaAlert.ticket_id), col(SlaAlert.tier))
    )
    return {(ticket_id, tier) for ticket_id, tier in await session.execute(statement, rows)}


async def _escalate_batch(
    session: AsyncSession, tickets: list[Ticket], *, now: datetime, calendar: WorkingCalendar, result: SweepResult
) -> None:
    """Fire the due tiers of a batch of orders, then move each order on to its next tier."""
    if not tickets:
        return
    fired = await _fired(session, tickets)
    units = await units_by_id(session, [t.lead_unit_id for t in tickets])
    hours = {
        t.id: calendars.for_hours(units[t.lead_unit_id].business_hours if t.lead_unit_id in units else None)
        for t in tickets
    }
    wanted = {t.id: clock.due_tiers(t, fired[t.id or 0], hours[t.id], now) for t in tickets}
    recorded = await _insert_alerts(
        session,
        [
            {
                "ticket_id": t.id,
                "tier": tier.value,
                "deadline_at": t.due_at,
                "due_instant": at,
                "fired_at": now,
                "unit_id": t.lead_unit_id,
            }
            for t in tickets
            for tier, at in wanted[t.id]
        ],
    )
    announced = [(t, [tier for tier, _ in wanted[t.id] if (t.id, tier.value) in recorded]) for t in tickets]
    await _announce(session, [(t, tiers) for t, tiers in announced if tiers], now=now, calendar=calendar, result=result)
    for ticket in tickets:
        clock.apply_fired(
            ticket, fired[ticket.id or 0] | {tier.value for tier, _ in wanted[ticket.id]}, hours[ticket.id]
        )


async def _announce(
    session: AsyncSession,
    fired: list[tuple[Ticket, list[Tier]]],
    *,
    now: datetime,
    calendar: WorkingCalendar,
    result: SweepResult,
) -> None:
    """Write each fired tier's event, notify the units, and open a supervision order on a red card."""
    if not fired:
        return
    seqs = await repository.last_event_seqs(session, ticket_ids=[t.id or 0 for t, _ in fired])
    staff = await staff_of_units(session, {t.lead_unit_id for t, _ in fired if t.lead_unit_id})
    notice_to: list[Contact] | None = None
    events: list[TicketEvent] = []
    outbox: list[dict[str, Any]] = []
    for ticket, tiers in fired:
        for tier in tiers:
            result.fired[tier.value] += 1
            events.append(_event(ticket, f"sla_{tier.value}", seqs, now, {"tier": tier.value}))
            subject, body, key = _notice(ticket, tier)
            outbox += notice_rows(
                staff.get(ticket.lead_unit_id or 0, []), ticket_id=ticket.id, key=key, subject=subject, body=body
            )
            if tier is Tier.RED_CARD:
                order = await _open_red_card_order(session, ticket, now=now, calendar=calendar)
                events.append(
                    _event(ticket, "supervise", seqs, now, {"supervision_order_id": order.id, "kind": "red_card"})
                )
                notice_to = notice_to if notice_to is not None else await supervisors(session)
                outbox += notice_rows(
                    notice_to, ticket_id=ticket.id, key=f"{key}:notice", subject="红牌通报", body=f"【通报】{body}"
                )
        publish_after_commit(
            session,
            BusEvent(
                TICKETS_CHANNEL,
                {
                    "type": "ticket.sla",
                    "ticket_id": ticket.id,
                    "number": ticket.number,
                    "tiers": [t.value for t in tiers],
                    "lead_unit_id": ticket.lead_unit_id,
                },
            ),
        )
    session.add_all(events)
    await session.flush()
    result.notifications += await enqueue_many(session, outbox)


def _event(ticket: Ticket, action: str, seqs: dict[int, int], now: datetime, payload: dict[str, Any]) -> TicketEvent:
    assert ticket.id is not None and ticket.due_at is not None
    seqs[ticket.id] = seqs.get(ticket.id, 0) + 1
    return TicketEvent(
        ticket_id=ticket.id,
        seq=seqs[ticket.id],
        action=action,
        actor_id=None,
        actor_role=Role.SYSTEM,
        from_status=ticket.status,
        to_status=ticket.status,
        created_at=now,
        payload={**payload, "due_at": ticket.due_at.astimezone(CHINA_TZ).isoformat(), "unit_id": ticket.lead_unit_id},
    )


def _notice(ticket: Ticket, tier: Tier) -> tuple[str, str, str]:
    assert ticket.due_at is not None
    label = TIER_LABELS_ZH[tier]
    due_text = ticket.due_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    body = f"工单 {ticket.number}（{ticket.title}）办理时限 {due_text}，已触发{label}，请及时办理。"
    return f"【{label}】工单 {ticket.number}", body, f"sla:{ticket.id}:{tier.value}:{ticket.due_at.isoformat()}"


async def _open_red_card_order(
    session: AsyncSession, ticket: Ticket, *, now: datetime, calendar: WorkingCalendar
) -> SupervisionOrder:
    """A red card opens a supervision order (督办单) to the lead unit, to be answered by its head."""
    order = SupervisionOrder(
        ticket_id=ticket.id or 0,
        unit_id=ticket.lead_unit_id or 0,
        kind="red_card",
        created_at=now,
        content=(
            f"工单 {ticket.number} 超期超过 {clock.RED_CARD_AFTER_WORKING_DAYS} 个工作日，"
            "请单位负责人督促办理并书面回复。"
        ),
        reply_due_at=calendar.add_working_days(now, SUPERVISION_REPLY_WORKING_DAYS),
    )
    session.add(order)
    await session.flush()
    return order
