"""The working calendar in force: the library's official schedule plus years loaded by administrators."""

from __future__ import annotations

import json
from datetime import date, time

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from hotline.calendar.holidays import HolidaySchedule
from hotline.calendar.working_time import BusinessHours, WorkingCalendar
from hotline.supervision.models import CalendarYear

_current = WorkingCalendar(HolidaySchedule.from_library(), BusinessHours())
_by_hours: dict[tuple[str, ...], WorkingCalendar] = {}


def current() -> WorkingCalendar:
    """The calendar with the hotline's own business hours."""
    return _current


def parse_hours(spans: list[str]) -> BusinessHours:
    """Business hours from ``["08:30-12:00", "14:30-18:00"]``; ValueError when malformed."""
    parsed = []
    for span in spans:
        start, _, end = span.partition("-")
        try:
            parsed.append((time.fromisoformat(start.strip()), time.fromisoformat(end.strip())))
        except ValueError as exc:
            raise ValueError(f"{span!r} is not a span like 08:30-12:00") from exc
    return BusinessHours(tuple(parsed))


def for_hours(spans: list[str] | None) -> WorkingCalendar:
    """The calendar in force with a unit's own business hours (the hotline's when it has none)."""
    if not spans:
        return _current
    key = tuple(spans)
    if key not in _by_hours:
        _by_hours[key] = WorkingCalendar(_current.schedule, parse_hours(spans))
    return _by_hours[key]


def install(schedule: HolidaySchedule) -> WorkingCalendar:
    """Put a schedule in force for this process (after loading or changing a year)."""
    global _current
    _current = WorkingCalendar(HolidaySchedule.from_library().merged(schedule), _current.hours)
    _by_hours.clear()
    return _current


def schedule_of(row: CalendarYear) -> HolidaySchedule:
    """A loaded year as a schedule, validated like an uploaded document."""
    document = json.dumps({"year": row.year, "holidays": row.holidays, "workdays": row.workdays})
    return HolidaySchedule.parse_year_document(document)


async def refresh(session: AsyncSession) -> WorkingCalendar:
    """Load every administrator-loaded year from the database and put them in force."""
    merged = HolidaySchedule()
    for row in (await session.execute(select(CalendarYear))).scalars():
        merged = merged.merged(schedule_of(row))
    return install(merged)


def weekends_only_years(today: date) -> list[int]:
    """This year and next, where the schedule is not known and only weekends count as days off."""
    return [year for year in (today.year, today.year + 1) if not _current.schedule.knows_year(year)]
