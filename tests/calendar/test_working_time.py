"""Working-time deadlines: checked against a plain day-by-day walk and on dates a supervisor knows."""

import json
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.calendar import CHINA_TZ, BusinessHours, HolidaySchedule, TimeLimit, WorkingCalendar

LIBRARY = HolidaySchedule.from_library()

# The 2027 schedule as an administrator would load it from the State Council notice (made up for tests).
ADMIN_2027_DOCUMENT = json.dumps(
    {
        "year": 2027,
        "holidays": [
            *("2027-01-01", "2027-01-02", "2027-01-03"),
            *(f"2027-02-{d:02d}" for d in range(6, 15)),
            *("2027-04-03", "2027-04-04", "2027-04-05"),
            *(f"2027-05-{d:02d}" for d in range(1, 6)),
            *(f"2027-10-{d:02d}" for d in range(1, 8)),
        ],
        "workdays": ["2027-01-31", "2027-02-20", "2027-04-25", "2027-05-08", "2027-09-26", "2027-10-09"],
    }
)
LOADED = LIBRARY.merged(HolidaySchedule.parse_year_document(ADMIN_2027_DOCUMENT))
CALENDAR = WorkingCalendar(LOADED)
SEVEN_HOURS = timedelta(hours=7)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


def china(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware China Standard Time instant."""
    return datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ)


# --- Reference implementation: walk day by day, span by span, with nothing clever. ---


def reference_spans(
    schedule: HolidaySchedule,
    hours: BusinessHours,
    day: date,
) -> list[tuple[datetime, datetime]]:
    """The business spans of one day, empty on a day off."""
    if not schedule.is_working_day(day):
        return []
    return [(datetime.combine(day, s, CHINA_TZ), datetime.combine(day, e, CHINA_TZ)) for s, e in hours.spans]


def reference_add(
    schedule: HolidaySchedule,
    hours: BusinessHours,
    start: datetime,
    duration: timedelta,
) -> datetime:
    """Consume `duration` span by span from `start`; skip spans that ended at or before `start`."""
    start = start.astimezone(CHINA_TZ)
    remaining, day = duration, start.date()
    while True:
        for span_start, span_end in reference_spans(schedule, hours, day):
            if span_end <= start:
                continue
            begin = max(span_start, start)
            if remaining <= span_end - begin:
                return begin + remaining
            remaining -= span_end - begin
        day += timedelta(days=1)


def reference_between(
    schedule: HolidaySchedule,
    hours: BusinessHours,
    start: datetime,
    end: datetime,
) -> timedelta:
    """Sum the overlap of [start, end) with every business span on the days in between."""
    start, end = start.astimezone(CHINA_TZ), end.astimezone(CHINA_TZ)
    total, day = timedelta(0), start.date()
    while day <= end.date():
        for span_start, span_end in reference_spans(schedule, hours, day):
            total += max(timedelta(0), min(span_end, end) - max(span_start, start))
        day += timedelta(days=1)
    return total


# --- Strategies ---

FIRST_DAY, LAST_DAY = date(2025, 6, 1), date(2027, 12, 31)
BOUNDARY_TIMES = [time(0), time(8, 59), time(9), time(11, 59), time(12), time(12, 30), time(13, 30)]
BOUNDARY_TIMES += [time(17, 29), time(17, 30), time(17, 31), time(23, 59, 59, 999999)]
INPUT_ZONES = [
    CHINA_TZ,
    UTC,
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=9, minutes=30)),
]


@st.composite
def starts(draw: st.DrawFn) -> datetime:
    """Instants from 2025-06 to 2027-12, often on a span boundary, given in assorted time zones."""
    day = draw(st.dates(min_value=FIRST_DAY, max_value=LAST_DAY))
    clock = draw(st.one_of(st.sampled_from(BOUNDARY_TIMES), st.times()))
    moment = datetime.combine(day, clock, CHINA_TZ)
    return moment.astimezone(draw(st.sampled_from(INPUT_ZONES)))


@st.composite
def business_hours(draw: st.DrawFn) -> BusinessHours:
    """One to three spans of at least an hour, possibly touching."""
    minute = draw(st.integers(0, 480))
    spans = []
    for _ in range(draw(st.integers(1, 3))):
        end = minute + draw(st.integers(60, 240))
        spans.append((time(minute // 60, minute % 60), time(end // 60, end % 60)))
        minute = end + draw(st.integers(0, 90))
    return BusinessHours(tuple(spans))


@st.composite
def random_schedules(draw: st.DrawFn) -> HolidaySchedule:
    """Known years with random runs of holidays and random make-up weekend days."""
    years = draw(st.frozensets(st.integers(2025, 2028)))
    holidays: set[date] = set()
    for first in draw(st.lists(st.dates(min_value=FIRST_DAY, max_value=date(2028, 2, 1)), max_size=20)):
        holidays.update(first + timedelta(days=n) for n in range(draw(st.integers(1, 12))))
    weekends = st.dates(min_value=FIRST_DAY, max_value=date(2028, 2, 1)).filter(lambda d: d.weekday() >= 5)
    workdays = set(draw(st.lists(weekends, max_size=20))) - holidays
    return HolidaySchedule(
        holidays=frozenset(d for d in holidays if d.year in years),
        workdays=frozenset(d for d in workdays if d.year in years),
        years=years,
    )


schedules = st.one_of(st.just(LIBRARY), st.just(LOADED), random_schedules())
hours_options = st.one_of(st.just(BusinessHours()), business_hours())
working_minutes = st.integers(0, 200 * 60).map(lambda m: timedelta(minutes=m))
durations = st.one_of(working_minutes, st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=200)))
working_days = st.integers(0, 30)


# --- Properties against the reference ---


@PROPERTY_SETTINGS
@given(schedules, hours_options, starts(), durations)
def test_add_working_time_matches_the_reference(
    schedule: HolidaySchedule, hours: BusinessHours, start: datetime, duration: timedelta
) -> None:
    deadline = WorkingCalendar(schedule, hours).add_working_time(start, duration)
    assert deadline == reference_add(schedule, hours, start, duration)
    assert deadline.utcoffset() == timedelta(hours=8)


@PROPERTY_SETTINGS
@given(schedules, hours_options, starts(), working_days)
def test_add_working_days_matches_the_reference(
    schedule: HolidaySchedule, hours: BusinessHours, start: datetime, days: int
) -> None:
    calendar = WorkingCalendar(schedule, hours)
    ordinary_wednesday = reference_spans(LIBRARY, hours, date(2026, 3, 4))
    day_length = sum((end - begin for begin, end in ordinary_wednesday), timedelta(0))
    assert calendar.add_working_days(start, days) == reference_add(schedule, hours, start, days * day_length)


@PROPERTY_SETTINGS
@given(
    schedules,
    hours_options,
    starts(),
    st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=60)),
)
def test_working_time_between_matches_the_reference(
    schedule: HolidaySchedule, hours: BusinessHours, start: datetime, gap: timedelta
) -> None:
    end = start + gap
    assert WorkingCalendar(schedule, hours).working_time_between(start, end) == reference_between(
        schedule, hours, start, end
    )


# --- Invariants ---


@PROPERTY_SETTINGS
@given(schedules, hours_options, starts(), durations)
def test_the_time_between_start_and_deadline_is_the_limit(
    schedule: HolidaySchedule, hours: BusinessHours, start: datetime, duration: timedelta
) -> None:
    calendar = WorkingCalendar(schedule, hours)
    assert calendar.working_time_between(start, calendar.add_working_time(start, duration)) == duration


@PROPERTY_SETTINGS
@given(schedules, hours_options, starts(), durations)
def test_a_deadline_lies_in_or_at_the_end_of_a_business_span(
    schedule: HolidaySchedule, hours: BusinessHours, start: datetime, duration: timedelta
) -> None:
    calendar = WorkingCalendar(schedule, hours)
    deadline = calendar.add_working_time(start, duration)
    spans = calendar.working_spans(deadline.date())
    assert any(begin <= deadline <= end for begin, end in spans)
    if duration == timedelta(0):
        assert any(begin <= deadline < end for begin, end in spans)
    assert deadline >= start


@PROPERTY_SETTINGS
@given(schedules, hours_options, starts(), starts(), durations, durations)
def test_deadlines_are_monotonic(
    schedule: HolidaySchedule,
    hours: BusinessHours,
    start_a: datetime,
    start_b: datetime,
    duration_a: timedelta,
    duration_b: timedelta,
) -> None:
    calendar = WorkingCalendar(schedule, hours)
    (early, late), (short, long) = sorted([start_a, start_b]), sorted([duration_a, duration_b])
    assert calendar.add_working_time(early, short) <= calendar.add_working_time(early, long)
    assert calendar.add_working_time(early, short) <= calendar.add_working_time(late, short)


@PROPERTY_SETTINGS
@given(schedules, starts(), st.lists(st.timedeltas(timedelta(0), timedelta(days=20)), min_size=2, max_size=2))
def test_working_time_between_adds_up(
    schedule: HolidaySchedule,
    start: datetime,
    gaps: list[timedelta],
) -> None:
    calendar = WorkingCalendar(schedule)
    middle, end = start + gaps[0], start + gaps[0] + gaps[1]
    whole = calendar.working_time_between(start, end)
    assert whole == calendar.working_time_between(start, middle) + calendar.working_time_between(middle, end)
    assert calendar.working_time_between(end, start) == timedelta(0)


@PROPERTY_SETTINGS
@given(schedules, starts(), st.integers(1, 30), st.data())
def test_elapsed_fraction_is_the_share_of_working_time_used(
    schedule: HolidaySchedule, start: datetime, days: int, data: st.DataObject
) -> None:
    calendar = WorkingCalendar(schedule)
    budget = days * 7 * 60
    worked = data.draw(st.integers(0, budget), label="worked minutes")
    paused = data.draw(st.integers(0, worked), label="paused minutes")
    deadline = calendar.add_working_days(start, days)
    now = calendar.add_working_time(start, timedelta(minutes=worked))
    fraction = calendar.elapsed_fraction(start, deadline, now, timedelta(minutes=paused))
    assert fraction == pytest.approx((worked - paused) / budget)
    assert calendar.elapsed_fraction(start, deadline, deadline) == 1.0


# --- Examples a supervisor would recognise (default hours 09:00-12:00, 13:30-17:30: 7 hours a day) ---


def test_two_working_days_from_the_friday_before_spring_festival_2026() -> None:
    # Friday 2-13 15:00-17:30 gives 2.5 h, make-up Saturday 2-14 gives 7 h, 2-15..2-23 are off,
    # Tuesday 2-24 gives the last 4.5 h: 09:00-12:00 and 13:30-15:00.
    assert CALENDAR.add_working_days(china(2026, 2, 13, 15), 2) == china(2026, 2, 24, 15)


def test_the_make_up_saturday_counts_as_a_working_day() -> None:
    # Friday 2.5 h, then 4.5 h of Saturday 2026-02-14.
    assert CALENDAR.add_working_days(china(2026, 2, 13, 15), 1) == china(2026, 2, 14, 15)


def test_one_working_day_before_national_day_2026() -> None:
    # Wednesday 9-30 10:00-17:30 gives 6 h; 10-01..10-07 are off; Thursday 10-08 09:00-10:00.
    assert CALENDAR.add_working_days(china(2026, 9, 30, 10), 1) == china(2026, 10, 8, 10)


def test_a_year_not_in_the_schedule_counts_weekends_only() -> None:
    unloaded = WorkingCalendar(LIBRARY)
    assert not unloaded.schedule.knows_year(2027)
    # Friday 2027-02-05 10:00: 6 h that day, then Monday 2-08 until 10:00 (no Spring Festival known).
    assert unloaded.add_working_days(china(2027, 2, 5, 10), 2) == china(2027, 2, 9, 10)


def test_the_loaded_2027_schedule_skips_spring_festival() -> None:
    assert CALENDAR.schedule.knows_year(2027)
    # Friday 2-05 6 h, 2-06..2-14 off, Monday 2-15 7 h, Tuesday 2-16 until 10:00.
    assert CALENDAR.add_working_days(china(2027, 2, 5, 10), 2) == china(2027, 2, 16, 10)


def test_the_loaded_2027_make_up_sunday_counts() -> None:
    # Friday 2027-01-29 16:30-17:30 gives 1 h, Saturday is off, make-up Sunday 1-31 gives 6 h by 16:30.
    assert CALENDAR.add_working_days(china(2027, 1, 29, 16, 30), 1) == china(2027, 1, 31, 16, 30)


def test_a_start_in_the_lunch_break_counts_from_the_afternoon() -> None:
    after_lunch = CALENDAR.add_working_time(china(2026, 3, 4, 12, 30), timedelta(hours=1))
    assert after_lunch == china(2026, 3, 4, 14, 30)


def test_a_start_after_hours_on_friday_counts_from_monday_morning() -> None:
    assert CALENDAR.add_working_time(china(2026, 3, 6, 19), timedelta(hours=2)) == china(2026, 3, 9, 11)


def test_using_up_the_morning_ends_at_noon_not_after_lunch() -> None:
    assert CALENDAR.add_working_time(china(2026, 3, 4, 9), timedelta(hours=3)) == china(2026, 3, 4, 12)
    assert CALENDAR.add_working_days(china(2026, 3, 4, 9), 1) == china(2026, 3, 4, 17, 30)


def test_a_zero_limit_inside_business_hours_is_the_start_itself() -> None:
    assert CALENDAR.add_working_time(china(2026, 3, 4, 10, 15), timedelta(0)) == china(2026, 3, 4, 10, 15)


def test_a_zero_limit_outside_business_hours_is_the_next_opening() -> None:
    assert CALENDAR.add_working_time(china(2026, 3, 4, 12), timedelta(0)) == china(2026, 3, 4, 13, 30)
    assert CALENDAR.add_working_time(china(2026, 3, 6, 17, 30), timedelta(0)) == china(2026, 3, 9, 9)


def test_input_in_another_time_zone_is_converted_to_china_time() -> None:
    start = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
    deadline = CALENDAR.add_working_time(start, timedelta(hours=1))
    assert deadline == china(2026, 3, 4, 10)
    assert deadline.tzinfo == CHINA_TZ


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        CALENDAR.add_working_days(datetime(2026, 3, 4, 9), 1)
    with pytest.raises(ValueError, match="naive datetime"):
        CALENDAR.working_time_between(china(2026, 3, 4), datetime(2026, 3, 5))


def test_negative_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        CALENDAR.add_working_time(china(2026, 3, 4, 9), timedelta(minutes=-1))
    with pytest.raises(ValueError, match="must not be negative"):
        CALENDAR.add_working_days(china(2026, 3, 4, 9), -1)


def test_working_time_over_spring_festival_2026() -> None:
    # Friday 2-13 from 15:00: 2.5 h, Saturday 2-14: 7 h, then nothing until Tuesday 2-24.
    over_the_festival = CALENDAR.working_time_between(china(2026, 2, 13, 15), china(2026, 2, 24, 9))
    assert over_the_festival == timedelta(hours=9.5)
    assert CALENDAR.working_time_between(china(2026, 2, 24, 9), china(2026, 2, 13, 15)) == timedelta(0)


def test_working_spans_of_a_make_up_day_and_a_holiday() -> None:
    assert CALENDAR.working_spans(date(2026, 2, 14)) == [
        (china(2026, 2, 14, 9), china(2026, 2, 14, 12)),
        (china(2026, 2, 14, 13, 30), china(2026, 2, 14, 17, 30)),
    ]
    assert CALENDAR.working_spans(date(2026, 2, 16)) == []


def test_the_warning_tier_fires_at_80_percent_of_working_time() -> None:
    start = china(2026, 3, 2, 9)  # Monday
    deadline = CALENDAR.add_working_days(start, 10)
    assert deadline == china(2026, 3, 13, 17, 30)
    assert CALENDAR.elapsed_fraction(start, deadline, china(2026, 3, 11, 17, 30)) == pytest.approx(0.8)
    assert CALENDAR.elapsed_fraction(start, deadline, china(2026, 3, 11, 17, 29)) < 0.8
    # A working day spent waiting for the citizen does not count.
    waited = CALENDAR.elapsed_fraction(start, deadline, china(2026, 3, 11, 17, 30), paused=SEVEN_HOURS)
    assert waited == pytest.approx(0.7)


def test_a_zero_budget_is_used_up_once_its_deadline_is_reached() -> None:
    moment = china(2026, 3, 4, 10)
    assert CALENDAR.elapsed_fraction(moment, moment, moment) == 1.0
    assert CALENDAR.elapsed_fraction(moment, moment, moment - timedelta(minutes=1)) == 0.0


def test_custom_business_hours() -> None:
    long_day = WorkingCalendar(LOADED, BusinessHours(((time(8), time(20)),)))
    assert long_day.add_working_days(china(2026, 3, 4, 14), 1) == china(2026, 3, 5, 14)
    assert long_day.add_working_time(china(2026, 3, 4, 20), timedelta(0)) == china(2026, 3, 5, 8)


@pytest.mark.parametrize(
    ("spans", "message"),
    [
        ((), "at least one span"),
        (((time(12), time(9)),), "must end after it starts"),
        (((time(9), time(9)),), "must end after it starts"),
        (((time(9), time(12)), (time(11), time(17))), "overlaps or precedes"),
        (((time(13), time(17)), (time(9), time(12))), "overlaps or precedes"),
        (((time(9, tzinfo=CHINA_TZ), time(12)),), "drop the tzinfo"),
    ],
)
def test_invalid_business_hours_are_refused(spans: tuple[tuple[time, time], ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessHours(spans)


def test_default_business_hours_make_a_seven_hour_day() -> None:
    assert BusinessHours().day_length == SEVEN_HOURS


# --- Time limits ---


def test_an_urgent_limit_in_natural_hours_runs_through_the_night_and_weekend() -> None:
    limit = TimeLimit(24, "natural_hours")
    assert limit.deadline(CALENDAR, china(2026, 3, 6, 20)) == china(2026, 3, 7, 20)


def test_an_acceptance_limit_in_working_hours() -> None:
    # Friday 17:00-17:30 is half an hour; Monday 09:00-10:30 the rest.
    deadline = TimeLimit(2, "working_hours").deadline(CALENDAR, china(2026, 3, 6, 17))
    assert deadline == china(2026, 3, 9, 10, 30)


def test_a_consultation_limit_of_two_working_days() -> None:
    assert TimeLimit(2, "working_days").deadline(CALENDAR, china(2026, 2, 13, 15)) == china(2026, 2, 24, 15)


@pytest.mark.parametrize(("amount", "unit"), [(-1, "working_days"), (True, "working_days"), (2, "weeks")])
def test_invalid_time_limits_are_refused(amount: int, unit: str) -> None:
    with pytest.raises(ValueError):
        TimeLimit(amount, unit)  # type: ignore[arg-type]
