"""The supervision sweep: fire warning, yellow-card and red-card tiers that are due, exactly once each.

It reads only orders whose ``next_alert_at`` has come (indexed), keeps no state in memory, and can be
replayed for any instant (``hotline sla sweep --now``). The unique key of ``sla_alerts`` makes each
tier fire once per order and deadline even when two sweeps run at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.models import Role
from hotline.calendar.working_time import CHINA_TZ
from hotline.db import Database
from hotline.supervision import calendars, clock
from hotline.supervision.models import TIER_LABELS_ZH, SlaAlert, SupervisionOrder, Tier
from hotline.supervision.notify import notify_users, staff_of_unit, supervisors
from hotline.tickets.history import write_event
from hotline.tickets.lifecycle import Actor
from hotline.tickets.models import Ticket

BATCH_SIZE = 500
SUPERVISION_REPLY_WORKING_DAYS = 2
SWEEPER = Actor(role=Role.SYSTEM)


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
        await calendars.refresh(session)
    while True:
        async with db.session() as session:
            due = await _claim_due(session, now=now, limit=batch_size)
            for ticket in due:
                await escalate(session, ticket, now=now, result=result)
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


async def escalate(session: AsyncSession, ticket: Ticket, *, now: datetime, result: SweepResult) -> None:
    """Fire every tier of this order that is due at ``now``, in order."""
    while ticket.next_alert_at is not None and ticket.next_alert_at <= now and ticket.next_alert_tier:
        tier = Tier(ticket.next_alert_tier)
        if await _record_once(session, ticket, tier, due_instant=ticket.next_alert_at, now=now):
            result.fired[tier.value] += 1
            result.notifications += await _announce(session, ticket, tier, now=now)
        await clock.reschedule(session, ticket)


async def _record_once(
    session: AsyncSession, ticket: Ticket, tier: Tier, *, due_instant: datetime, now: datetime
) -> bool:
    assert ticket.due_at is not None
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(SlaAlert)
        .values(
            ticket_id=ticket.id,
            tier=tier.value,
            deadline_at=ticket.due_at,
            due_instant=due_instant,
            fired_at=now,
            unit_id=ticket.lead_unit_id,
        )
        .on_conflict_do_nothing(index_elements=["ticket_id", "tier", "deadline_at"])
    )
    return bool(getattr(await session.execute(statement), "rowcount", 0))


async def _announce(session: AsyncSession, ticket: Ticket, tier: Tier, *, now: datetime) -> int:
    """Record the tier on the order, tell the unit, and on a red card open a supervision order."""
    assert ticket.due_at is not None
    label = TIER_LABELS_ZH[tier]
    due_text = ticket.due_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    await write_event(
        session,
        ticket=ticket,
        action=f"sla_{tier.value}",
        actor=SWEEPER,
        from_status=ticket.status,
        payload={
            "tier": tier.value,
            "due_at": ticket.due_at.astimezone(CHINA_TZ).isoformat(),
            "unit_id": ticket.lead_unit_id,
        },
        at=now,
    )
    subject = f"【{label}】工单 {ticket.number}"
    body = f"工单 {ticket.number}（{ticket.title}）办理时限 {due_text}，已触发{label}，请及时办理。"
    key = f"sla:{ticket.id}:{tier.value}:{ticket.due_at.isoformat()}"
    staff = await staff_of_unit(session, ticket.lead_unit_id) if ticket.lead_unit_id else []
    sent = await notify_users(session, users=staff, ticket=ticket, key=key, subject=subject, body=body)
    if tier is Tier.RED_CARD:
        sent += await _red_card_supervision(session, ticket, now=now, key=key, body=body)
    return sent


async def _red_card_supervision(session: AsyncSession, ticket: Ticket, *, now: datetime, key: str, body: str) -> int:
    """A red card opens a supervision order to the unit and circulates a notice to supervisors."""
    assert ticket.lead_unit_id is not None
    order = SupervisionOrder(
        ticket_id=ticket.id or 0,
        unit_id=ticket.lead_unit_id,
        kind="red_card",
        created_at=now,
        content=(
            f"工单 {ticket.number} 超期超过 {clock.RED_CARD_AFTER_WORKING_DAYS} 个工作日，"
            "请单位负责人督促办理并书面回复。"
        ),
        reply_due_at=calendars.current().add_working_days(now, SUPERVISION_REPLY_WORKING_DAYS),
    )
    session.add(order)
    await session.flush()
    await write_event(
        session,
        ticket=ticket,
        action="supervise",
        actor=SWEEPER,
        from_status=ticket.status,
        payload={"supervision_order_id": order.id, "kind": "red_card", "unit_id": ticket.lead_unit_id},
        at=now,
    )
    notice = f"【通报】{body}"
    return await notify_users(
        session, users=await supervisors(session), ticket=ticket, key=f"{key}:notice", subject="红牌通报", body=notice
    )
