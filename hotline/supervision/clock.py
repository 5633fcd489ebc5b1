"""Each order's handling clock: when its warning, yellow-card and red-card tiers fall due.

The next tier's instant is kept on the order (``next_alert_at``, indexed), so the sweep reads only
orders that are due; which tiers already fired for the current deadline lives in ``sla_alerts``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.calendar.working_time import WorkingCalendar
from hotline.supervision import calendars
from hotline.supervision.models import SlaAlert, Tier
from hotline.supervision.policy import Deadlines
from hotline.tickets.lifecycle import Status
from hotline.tickets.models import Ticket
from hotline.units.repository import units_by_id

WARNING_FRACTION = 0.8  # warning when 80% of the time has elapsed
RED_CARD_AFTER_WORKING_DAYS = 5  # red card when overdue by more than 5 working days
TIER_ORDER = (Tier.WARNING, Tier.YELLOW_CARD, Tier.RED_CARD)
# The unit's clock runs while it holds the order; a rejected return does not stop it.
CLOCK_RUNNING = frozenset({Status.DISPATCHED, Status.IN_PROGRESS, Status.RETURN_REVIEW})


def start(ticket: Ticket, deadlines: Deadlines, now: datetime) -> None:
    """Start a fresh handling clock on an order."""
    ticket.accept_due_at, ticket.due_at = deadlines.accept_due_at, deadlines.due_at
    ticket.clock_started_at, ticket.clock_kind, ticket.paused_at = now, deadlines.clock_kind, None


def stop(ticket: Ticket) -> None:
    """Take the clock off an order (returned to the hotline for re-dispatch)."""
    ticket.accept_due_at = ticket.due_at = ticket.clock_started_at = ticket.clock_kind = ticket.paused_at = None


def tier_instants(ticket: Ticket, calendar: WorkingCalendar) -> list[tuple[Tier, datetime]]:
    """When each tier falls due for the order's current deadline."""
    assert ticket.due_at is not None
    due, begun = ticket.due_at, ticket.clock_started_at or ticket.due_at
    if ticket.clock_kind == "natural":
        warning = begun + (due - begun) * WARNING_FRACTION
    else:
        warning = calendar.add_working_time(begun, calendar.working_time_between(begun, due) * WARNING_FRACTION)
    red = calendar.add_working_days(due, RED_CARD_AFTER_WORKING_DAYS)
    return [(Tier.WARNING, min(warning, due)), (Tier.YELLOW_CARD, due), (Tier.RED_CARD, red)]


async def fired_tiers(session: AsyncSession, ticket: Ticket) -> set[str]:
    """The tiers that already fired for the order's current deadline."""
    if ticket.id is None or ticket.due_at is None:
        return set()
    rows = await session.execute(
        select(SlaAlert.tier).where(col(SlaAlert.ticket_id) == ticket.id, col(SlaAlert.deadline_at) == ticket.due_at)
    )
    return set(rows.scalars())


def apply_fired(ticket: Ticket, fired: set[str], calendar: WorkingCalendar) -> None:
    """Set the order's alert level from the tiers fired, and point it at the next one still to come."""
    ticket.alert_level = next((t.value for t in reversed(TIER_ORDER) if t in fired), None)
    upcoming = [(tier, at) for tier, at in tier_instants(ticket, calendar) if tier not in fired]
    ticket.next_alert_tier, ticket.next_alert_at = upcoming[0] if upcoming else (None, None)


def due_tiers(ticket: Ticket, fired: set[str], calendar: WorkingCalendar, now: datetime) -> list[tuple[Tier, datetime]]:
    """The tiers not yet fired whose instant has come, in order."""
    return [(tier, at) for tier, at in tier_instants(ticket, calendar) if tier not in fired and at <= now]


async def unit_calendar(session: AsyncSession, unit_id: int | None) -> WorkingCalendar:
    """The calendar a unit's clocks run on: official holidays with the unit's business hours."""
    unit = (await units_by_id(session, [unit_id])).get(unit_id or 0)
    return calendars.for_hours(unit.business_hours if unit else None)


async def reschedule(session: AsyncSession, ticket: Ticket) -> None:
    """Point the order at its next unfired tier, or at nothing when its clock is not running."""
    if ticket.status not in CLOCK_RUNNING:
        ticket.paused_at = None  # a pause ends with the handling it paused
    if ticket.status not in CLOCK_RUNNING or ticket.due_at is None or ticket.paused_at is not None:
        ticket.next_alert_at = ticket.next_alert_tier = None
        if ticket.due_at is None:
            ticket.alert_level = None
        return
    apply_fired(ticket, await fired_tiers(session, ticket), await unit_calendar(session, ticket.lead_unit_id))


def paused_working_time(ticket: Ticket, now: datetime, calendar: WorkingCalendar) -> timedelta:
    """How much of the clock a pause used, in the clock's own kind of time."""
    assert ticket.paused_at is not None
    if ticket.clock_kind == "natural":
        return now - ticket.paused_at
    return calendar.working_time_between(ticket.paused_at, now)


def resume(ticket: Ticket, now: datetime, calendar: WorkingCalendar) -> timedelta:
    """End a pause: the deadline (and the clock's start) move on by the time paused."""
    paused = paused_working_time(ticket, now, calendar)
    assert ticket.due_at is not None and ticket.clock_started_at is not None
    if ticket.clock_kind == "natural":
        ticket.due_at, ticket.clock_started_at = ticket.due_at + paused, ticket.clock_started_at + paused
    else:
        ticket.due_at = calendar.add_working_time(ticket.due_at, paused)
        ticket.clock_started_at = calendar.add_working_time(ticket.clock_started_at, paused)
    ticket.paused_at = None
    return paused
