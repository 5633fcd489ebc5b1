"""Official Chinese public holidays and make-up working days (调休).

The State Council publishes next year's schedule each November. `chinese_calendar` ships the
years it knew when it was released; an administrator loads later years from a small JSON
document. For a year the schedule does not know, only weekends are days off.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import chinese_calendar

SATURDAY = 5
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
YEAR_DOCUMENT_KEYS = frozenset({"year", "holidays", "workdays"})


@dataclass(frozen=True)
class HolidaySchedule:
    """Days off and make-up working days for the years an authority has published."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    years: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        """Reject a schedule that contradicts itself."""
        for day in sorted(self.holidays | self.workdays):
            if day.year not in self.years:
                raise ValueError(f"{day.isoformat()} lies in {day.year}, a year the schedule does not cover")
        both = sorted(self.holidays & self.workdays)
        if both:
            raise ValueError(f"{both[0].isoformat()} is listed both as a holiday and as a workday")

    @classmethod
    def from_library(cls) -> HolidaySchedule:
        """The schedule shipped with `chinese_calendar` (2004 to 2026 in version 1.11)."""
        return _library_schedule()

    @classmethod
    def parse_year_document(cls, text: str) -> HolidaySchedule:
        """Parse `{"year": 2027, "holidays": [...], "workdays": [...]}` into a one-year schedule."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"holiday schedule is not valid JSON: {error}") from error
        year = _document_year(document)
        holidays = _document_dates(document, "holidays")
        workdays = _document_dates(document, "workdays")
        return cls().with_year(year, holidays, workdays)

    def with_year(self, year: int, holidays: Iterable[date], workdays: Iterable[date]) -> HolidaySchedule:
        """A copy whose entries for `year` are replaced by the given published schedule."""
        year_holidays, year_workdays = frozenset(holidays), frozenset(workdays)
        _check_year_entries(year, year_holidays, year_workdays)
        return HolidaySchedule(
            holidays=frozenset(d for d in self.holidays if d.year != year) | year_holidays,
            workdays=frozenset(d for d in self.workdays if d.year != year) | year_workdays,
            years=self.years | {year},
        )

    def merged(self, other: HolidaySchedule) -> HolidaySchedule:
        """A copy extended by `other`; for the years `other` covers, its entries win."""
        return HolidaySchedule(
            holidays=frozenset(d for d in self.holidays if d.year not in other.years) | other.holidays,
            workdays=frozenset(d for d in self.workdays if d.year not in other.years) | other.workdays,
            years=self.years | other.years,
        )

    def knows_year(self, year: int) -> bool:
        """Whether the official schedule for `year` is loaded (otherwise: weekends only)."""
        return year in self.years

    def is_working_day(self, day: date) -> bool:
        """Whether offices work on `day`, honouring holidays and make-up days of known years."""
        if day.year not in self.years:
            return day.weekday() < SATURDAY
        if day in self.workdays:
            return True
        return day.weekday() < SATURDAY and day not in self.holidays


@cache
def _library_schedule() -> HolidaySchedule:
    """Build the library schedule once; it never changes within a process."""
    holidays = frozenset(chinese_calendar.holidays)
    workdays = frozenset(chinese_calendar.workdays)
    return HolidaySchedule(holidays, workdays, frozenset(d.year for d in holidays | workdays))


def _check_year_entries(year: int, holidays: frozenset[date], workdays: frozenset[date]) -> None:
    """Reject entries outside `year`, days listed twice and make-up days that are not weekends."""
    for kind, days in (("holidays", holidays), ("workdays", workdays)):
        for day in sorted(days):
            if day.year != year:
                raise ValueError(f"{kind}: {day.isoformat()} is not in {year}")
    both = sorted(holidays & workdays)
    if both:
        raise ValueError(f"{both[0].isoformat()} is listed both as a holiday and as a workday")
    for day in sorted(workdays):
        if day.weekday() < SATURDAY:
            weekday = day.strftime("%A")
            raise ValueError(f"workdays: {day.isoformat()} is a {weekday}; make-up working days are weekends")


def _document_year(document: Any) -> int:
    """The `year` of a schedule document, checked for shape and range."""
    if not isinstance(document, dict):
        raise ValueError('holiday schedule must be a JSON object like {"year": 2027, "holidays": [...]}')
    unknown = sorted(set(document) - YEAR_DOCUMENT_KEYS)
    if unknown:
        raise ValueError(f"unknown keys {unknown}; expected year, holidays, workdays")
    year = document.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not date.min.year <= year <= date.max.year:
        raise ValueError(f"year must be a whole number such as 2027, not {year!r}")
    return year


def _document_dates(document: dict[str, Any], key: str) -> list[date]:
    """The ISO dates listed under `key`, with the position of the first bad entry in errors."""
    if key not in document:
        raise ValueError(f"missing {key!r}: list the dates, or [] if there are none")
    entries = document[key]
    if not isinstance(entries, list):
        raise ValueError(f'{key} must be a list of dates like "2027-01-01", not {entries!r}')
    return [_parse_date(entry, f"{key}[{index}]") for index, entry in enumerate(entries)]


def _parse_date(entry: Any, where: str) -> date:
    """One strict YYYY-MM-DD date."""
    if not isinstance(entry, str) or not ISO_DATE.fullmatch(entry):
        raise ValueError(f"{where}: {entry!r} is not a date written as YYYY-MM-DD")
    try:
        return date.fromisoformat(entry)
    except ValueError as error:
        raise ValueError(f"{where}: {entry!r} is not a valid date ({error})") from error
