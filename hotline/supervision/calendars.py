"""The working calendar in force: the library's official schedule plus years loaded by administrators."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from hotline.calendar.holidays import HolidaySchedule
from hotline.calendar.working_time import BusinessHours, WorkingCalendar
from hotline.supervision.models import CalendarYear

_current = WorkingCalendar(HolidaySchedule.from_library(), BusinessHours())


def current() -> WorkingCalendar:
    """The calendar deadlines are computed with."""
    return _current


def install(schedule: HolidaySchedule) -> WorkingCalendar:
    """Put a schedule in force for this process (after loading or changing a year)."""
    global _current
    _current = WorkingCalendar(HolidaySchedule.from_library().merged(schedule), _current.hours)
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
