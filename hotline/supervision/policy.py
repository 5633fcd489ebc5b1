"""Time-limit policies: how long a unit has to accept and to handle an order.

Defaults are sourced: handling limits by request type follow the Guangdong 12345 rules
(working days); urgent and utility-outage limits follow the Beijing 12345 service standard draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from hotline.calendar.working_time import WorkingCalendar
from hotline.supervision import calendars
from hotline.tickets.models import RequestType, Urgency

LimitUnit = Literal["natural_minutes", "natural_hours", "working_hours", "working_days"]


@dataclass(frozen=True)
class Limit:
    """A time limit in natural or working time."""

    amount: int
    unit: LimitUnit

    def deadline(self, calendar: WorkingCalendar, start: datetime) -> datetime:
        """When a clock started at ``start`` runs out."""
        if self.unit == "natural_minutes":
            return start + timedelta(minutes=self.amount)
        if self.unit == "natural_hours":
            return start + timedelta(hours=self.amount)
        if self.unit == "working_hours":
            return calendar.add_working_time(start, timedelta(hours=self.amount))
        return calendar.add_working_days(start, self.amount)


HANDLING_BY_TYPE = {
    RequestType.CONSULTATION: Limit(2, "working_days"),
    RequestType.HELP: Limit(10, "working_days"),
    RequestType.SUGGESTION: Limit(10, "working_days"),
    RequestType.COMPLAINT: Limit(15, "working_days"),
    RequestType.REPORT: Limit(15, "working_days"),
    RequestType.PRAISE: Limit(5, "working_days"),
}
HANDLING_BY_URGENCY = {
    Urgency.URGENT: Limit(2, "natural_hours"),
    Urgency.UTILITY_OUTAGE: Limit(24, "natural_hours"),
    Urgency.COMPLEX: Limit(15, "working_days"),
}
ACCEPTANCE = Limit(2, "working_hours")
ACCEPTANCE_URGENT = Limit(30, "natural_minutes")


def handling_limit(request_type: str, urgency: str) -> Limit:
    """The handling limit for an order: urgency overrides type when it is stricter in kind."""
    by_urgency = HANDLING_BY_URGENCY.get(Urgency(urgency))
    by_type = HANDLING_BY_TYPE[RequestType(request_type)]
    if by_urgency is None:
        return by_type
    if by_urgency.unit == "working_days":  # complex matters get the longer of the two
        return max(by_urgency, by_type, key=lambda limit: limit.amount)
    return by_urgency


def acceptance_limit(urgency: str) -> Limit:
    """How long the unit has to accept (签收)."""
    return ACCEPTANCE_URGENT if urgency in (Urgency.URGENT, Urgency.UTILITY_OUTAGE) else ACCEPTANCE


@dataclass(frozen=True)
class Deadlines:
    """The clocks an order gets when a unit takes it on."""

    accept_due_at: datetime
    due_at: datetime
    clock_kind: str  # "natural" or "working": how elapsed time is measured for the warning tier


def dispatch_deadlines(*, request_type: str, urgency: str, start: datetime) -> Deadlines:
    """The acceptance and handling deadlines of an order dispatched at ``start``."""
    calendar = calendars.current()
    handling = handling_limit(request_type, urgency)
    due = handling.deadline(calendar, start)
    accept_due = min(acceptance_limit(urgency).deadline(calendar, start), due)
    return Deadlines(accept_due, due, "natural" if handling.unit.startswith("natural") else "working")
