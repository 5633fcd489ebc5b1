"""Working-time arithmetic for work-order deadlines (限时办结), in China Standard Time.

Business time is the union of the half-open spans [start, end) of `BusinessHours` on every
working day of a `HolidaySchedule`. Conventions, shared by every function here:

- A start outside business time (evening, lunch break, weekend, holiday, or exactly at a span
  end) counts from the next span start.
- A zero duration therefore returns the start itself when it lies in business time, otherwise
  that next span start.
- A positive duration returns the earliest instant at which that much business time has
  elapsed, so a deadline that uses up a span exactly is that span's end (12:00, 17:30), never
  the start of the next one.

As a result `working_time_between(s, add_working_time(s, d)) == d` for every start `s`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property, lru_cache
from typing import Literal, get_args

from hotline.calendar.holidays import HolidaySchedule

CHINA_TZ = timezone(timedelta(hours=8))
ZERO = timedelta(0)
MIDNIGHT = time(0)
DEFAULT_SPANS = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))
CACHED_SCHEDULES = 16

TimeUnit = Literal["natural_hours", "working_hours", "working_days"]


@dataclass(frozen=True)
class BusinessHours:
    """The (start, end) spans worked on each working day; 09:00-12:00 and 13:30-17:30 by default."""

    spans: tuple[tuple[time, time], ...] = DEFAULT_SPANS

    def __post_init__(self) -> None:
        """Require ordered, non-overlapping, non-empty spans of naive local times."""
        if not self.spans:
            raise ValueError("business hours need at least one span")
        previous_end: time | None = None
        for start, end in self.spans:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("business hours are local China times; drop the tzinfo")
            if not start < end:
                raise ValueError(f"span {start:%H:%M}-{end:%H:%M} must end after it starts")
            if previous_end is not None and start < previous_end:
                raise ValueError(
                    f"span starting {start:%H:%M} overlaps or precedes the one ending {previous_end:%H:%M}"
                )
            previous_end = end

    @cached_property
    def bounds(self) -> tuple[tuple[timedelta, timedelta], ...]:
        """The spans as offsets from midnight."""
        return tuple((_since_midnight(start), _since_midnight(end)) for start, end in self.spans)

    @cached_property
    def day_length(self) -> timedelta:
        """Business time in one working day (7 hours by default)."""
        return sum((end - start for start, end in self.bounds), ZERO)

    @cached_property
    def opening(self) -> timedelta:
        """Offset from midnight of the first span start."""
        return self.bounds[0][0]

    @cached_property
    def closing(self) -> timedelta:
        """Offset from midnight of the last span end."""
        return self.bounds[-1][1]

    def worked_before(self, offset: timedelta) -> timedelta:
        """Business time of a working day between midnight and `offset`."""
        return sum((min(max(offset - start, ZERO), end - start) for start, end in self.bounds), ZERO)

    def offset_after(self, worked: timedelta) -> timedelta:
        """Earliest offset from midnight by which `worked` (0 < worked <= day_length) has elapsed."""
        before = ZERO
        for start, end in self.bounds:
            if worked <= before + (end - start):
                return start + (worked - before)
            before += end - start
        raise ValueError(f"{worked} exceeds the working day of {self.day_length}")

    def next_opening(self, offset: timedelta) -> timedelta | None:
        """`offset` if it lies in a span, else the next span start that day, else None."""
        for start, end in self.bounds:
            if offset < end:
                return max(offset, start)
        return None


class WorkingDayIndex:
    """Sorted ordinals of each year's working days, built on first use, for O(log n) day arithmetic."""

    def __init__(self, schedule: HolidaySchedule) -> None:
        self._schedule = schedule
        self._years: dict[int, list[int]] = {}

    def ordinals(self, year: int) -> list[int]:
        """The ordinals of the working days of `year`, ascending."""
        known = self._years.get(year)
        if known is None:
            first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
            is_working = self._schedule.is_working_day
            known = [n for n in range(first, last + 1) if is_working(date.fromordinal(n))]
            self._years[year] = known
        return known

    def shift(self, day: date, count: int) -> date:
        """The `count`-th working day after `day`; `day` itself when `count` is 0."""
        if count == 0:
            return day
        year = day.year
        ordinals = self.ordinals(year)
        index = bisect_right(ordinals, day.toordinal()) + count - 1
        while index >= len(ordinals):
            index -= len(ordinals)
            year += 1
            ordinals = self.ordinals(year)
        return date.fromordinal(ordinals[index])

    def count(self, first: date, last: date) -> int:
        """The number of working days in [first, last)."""
        total = 0
        for year in range(first.year, last.year + 1):
            ordinals = self.ordinals(year)
            low = bisect_left(ordinals, first.toordinal()) if year == first.year else 0
            high = bisect_left(ordinals, last.toordinal()) if year == last.year else len(ordinals)
            total += high - low
        return total


@lru_cache(maxsize=CACHED_SCHEDULES)
def working_day_index(schedule: HolidaySchedule) -> WorkingDayIndex:
    """One shared index per schedule, so calendars built per request stay cheap."""
    return WorkingDayIndex(schedule)


@dataclass(frozen=True)
class WorkingCalendar:
    """Business-time arithmetic over a holiday schedule and a unit's business hours."""

    schedule: HolidaySchedule
    hours: BusinessHours = field(default_factory=BusinessHours)

    @cached_property
    def _days(self) -> WorkingDayIndex:
        """The working-day index of this calendar's schedule."""
        return working_day_index(self.schedule)

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day under the schedule."""
        return self.schedule.is_working_day(day)

    def working_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """The business spans of `day` as aware China times; empty on a day off."""
        if not self.is_working_day(day):
            return []
        return [(_at(day, start), _at(day, end)) for start, end in self.hours.bounds]

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The instant `duration` of business time after `start` (see the module docstring)."""
        if duration < ZERO:
            raise ValueError(f"duration must not be negative, got {duration}")
        day, offset = self._next_business_instant(to_china_time(start))
        if duration == ZERO:
            return _at(day, offset)
        days, rest = divmod(self.hours.worked_before(offset) + duration, self.hours.day_length)
        if rest == ZERO:
            return _at(self._days.shift(day, days - 1), self.hours.closing)
        return _at(self._days.shift(day, days), self.hours.offset_after(rest))

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The instant `days` full working days of business time after `start`."""
        if days < 0:
            raise ValueError(f"days must not be negative, got {days}")
        return self.add_working_time(start, days * self.hours.day_length)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Business time in [start, end); zero when `end` is not after `start`."""
        start, end = to_china_time(start), to_china_time(end)
        if end <= start:
            return ZERO
        whole_days = self._days.count(start.date(), end.date())
        return whole_days * self.hours.day_length + self._worked_that_day(end) - self._worked_that_day(start)

    def elapsed_fraction(
        self,
        start: datetime,
        deadline: datetime,
        now: datetime,
        paused: timedelta = ZERO,
    ) -> float:
        """Share of the working time from `start` to `deadline` used by `now`, not counting `paused`."""
        if paused < ZERO:
            raise ValueError(f"paused must not be negative, got {paused}")
        # The budget is the limit as granted (extensions included); a pause shortens the time used
        # instead of moving `deadline`, so pass the deadline before any pause was added to it.
        budget = self.working_time_between(start, deadline)
        used = max(self.working_time_between(start, now) - paused, ZERO)
        if budget == ZERO:
            return 1.0 if to_china_time(now) >= to_china_time(deadline) else 0.0
        return used / budget

    def _next_business_instant(self, moment: datetime) -> tuple[date, timedelta]:
        """The working day and offset of the first business instant at or after `moment`."""
        day = moment.date()
        if self.is_working_day(day):
            opening = self.hours.next_opening(_since_midnight(moment.time()))
            if opening is not None:
                return day, opening
        return self._days.shift(day, 1), self.hours.opening

    def _worked_that_day(self, moment: datetime) -> timedelta:
        """Business time on the day of `moment` before `moment`."""
        if not self.is_working_day(moment.date()):
            return ZERO
        return self.hours.worked_before(_since_midnight(moment.time()))


@dataclass(frozen=True)
class TimeLimit:
    """A time limit such as 2 working days (咨询) or 2 natural hours (紧急)."""

    amount: int
    unit: TimeUnit

    def __post_init__(self) -> None:
        """Require a non-negative amount and a known unit."""
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 0:
            raise ValueError(f"amount must be a non-negative whole number, got {self.amount!r}")
        if self.unit not in get_args(TimeUnit):
            raise ValueError(f"unit must be one of {get_args(TimeUnit)}, got {self.unit!r}")

    def deadline(self, calendar: WorkingCalendar, start: datetime) -> datetime:
        """The deadline of a work order started at `start` under this limit."""
        if self.unit == "natural_hours":
            return to_china_time(start) + timedelta(hours=self.amount)
        if self.unit == "working_hours":
            return calendar.add_working_time(start, timedelta(hours=self.amount))
        return calendar.add_working_days(start, self.amount)


def to_china_time(moment: datetime) -> datetime:
    """`moment` in China Standard Time; naive datetimes are refused because they are ambiguous."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: attach a timezone such as CHINA_TZ")
    return moment.astimezone(CHINA_TZ)


def _since_midnight(clock: time) -> timedelta:
    """A wall-clock time as an offset from midnight."""
    return datetime.combine(date.min, clock) - datetime.combine(date.min, MIDNIGHT)


def _at(day: date, offset: timedelta) -> datetime:
    """The aware China time `offset` after midnight of `day`."""
    return datetime.combine(day, MIDNIGHT, CHINA_TZ) + offset
