"""Time-limit policies: how long each stage of an order may take.

Stages: acceptance (签收), handling (办理), reply review (审核) and callback (回访). A rule applies to a
request type and/or an urgency (``*`` for any); the most specific rule wins, urgency before type, so
an urgent complaint gets the urgent limit. The defaults below are sourced and administrators
override any of them (table ``time_limit_policies``):

- handling by request type, working days: Guangdong 12345 rules (咨询 2, 求助 10, 建议 10, 投诉 15, 举报 15);
- handling by urgency: Beijing 12345 service standard draft (紧急 2 hours, 水电气热 24 hours, 复杂 15 days);
- acceptance and reply review: 2 working hours, 30 minutes when urgent; callback: 1 working day (SPEC §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from hotline.calendar.working_time import WorkingCalendar
from hotline.supervision import calendars
from hotline.supervision.models import TimeLimitPolicy
from hotline.tickets.models import RequestType, Urgency

LimitUnit = Literal["natural_minutes", "natural_hours", "working_hours", "working_days"]
Stage = Literal["acceptance", "handling", "reply_review", "callback"]
STAGES: tuple[Stage, ...] = ("acceptance", "handling", "reply_review", "callback")
ANY = "*"


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

    @property
    def clock_kind(self) -> str:
        return "natural" if self.unit.startswith("natural") else "working"


RuleKey = tuple[str, str, str]  # stage, request type or *, urgency or *

FAST = Limit(30, "natural_minutes")
DEFAULTS: dict[RuleKey, Limit] = {
    ("handling", RequestType.CONSULTATION, ANY): Limit(2, "working_days"),
    ("handling", RequestType.HELP, ANY): Limit(10, "working_days"),
    ("handling", RequestType.SUGGESTION, ANY): Limit(10, "working_days"),
    ("handling", RequestType.COMPLAINT, ANY): Limit(15, "working_days"),
    ("handling", RequestType.REPORT, ANY): Limit(15, "working_days"),
    ("handling", RequestType.PRAISE, ANY): Limit(5, "working_days"),
    ("handling", ANY, Urgency.URGENT): Limit(2, "natural_hours"),
    ("handling", ANY, Urgency.UTILITY_OUTAGE): Limit(24, "natural_hours"),
    ("handling", ANY, Urgency.COMPLEX): Limit(15, "working_days"),
    ("acceptance", ANY, ANY): Limit(2, "working_hours"),
    ("acceptance", ANY, Urgency.URGENT): FAST,
    ("acceptance", ANY, Urgency.UTILITY_OUTAGE): FAST,
    ("reply_review", ANY, ANY): Limit(2, "working_hours"),
    ("reply_review", ANY, Urgency.URGENT): FAST,
    ("callback", ANY, ANY): Limit(1, "working_days"),
}
_overrides: dict[RuleKey, Limit] = {}


def rules() -> dict[RuleKey, Limit]:
    """Every rule in force: the sourced defaults with the administrators' changes on top."""
    return {**DEFAULTS, **_overrides}


def limit_for(stage: Stage, request_type: str, urgency: str) -> Limit:
    """The most specific rule for a stage: type and urgency, then urgency, then type, then any."""
    in_force = rules()
    for key in ((stage, request_type, urgency), (stage, ANY, urgency), (stage, request_type, ANY), (stage, ANY, ANY)):
        if key in in_force:
            return in_force[key]
    raise LookupError(f"no time limit for {stage}")  # DEFAULTS has a catch-all for every stage but handling


def install(overrides: dict[RuleKey, Limit]) -> None:
    """Put administrators' rules in force in this process."""
    global _overrides
    _overrides = dict(overrides)


async def refresh(session: AsyncSession) -> None:
    """Load the administrators' rules from the database into this process."""
    rows = (await session.execute(select(TimeLimitPolicy))).scalars()
    install({(r.stage, r.request_type, r.urgency): Limit(r.amount, r.unit) for r in rows})  # type: ignore[arg-type]


def stage_deadline(stage: Stage, *, request_type: str, urgency: str, start: datetime) -> datetime:
    """When a stage that starts at ``start`` must be done."""
    return limit_for(stage, request_type, urgency).deadline(calendars.current(), start)


@dataclass(frozen=True)
class Deadlines:
    """The clocks an order gets when a unit takes it on."""

    accept_due_at: datetime
    due_at: datetime
    clock_kind: str  # "natural" or "working": how elapsed time is measured for the warning tier


def dispatch_deadlines(
    *, request_type: str, urgency: str, start: datetime, calendar: WorkingCalendar | None = None
) -> Deadlines:
    """The acceptance and handling deadlines of an order dispatched at ``start`` (in the unit's hours)."""
    calendar = calendar or calendars.current()
    handling = limit_for("handling", request_type, urgency)
    due = handling.deadline(calendar, start)
    accept_due = min(limit_for("acceptance", request_type, urgency).deadline(calendar, start), due)
    return Deadlines(accept_due, due, handling.clock_kind)
