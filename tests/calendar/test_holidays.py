"""Official holiday schedule: the library's years, administrator-loaded years, weekends-only fallback."""

import json
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.calendar import HolidaySchedule

LIBRARY = HolidaySchedule.from_library()

# A 2027 schedule as an administrator would type it in from the State Council notice (made up for tests).
SCHEDULE_2027 = json.dumps(
    {
        "year": 2027,
        "holidays": ["2027-01-01", "2027-01-02", "2027-01-03", *(f"2027-02-{d:02d}" for d in range(6, 15))],
        "workdays": ["2027-01-31", "2027-02-20"],
    }
)


def days(first: date, last: date) -> list[date]:
    """Every date from `first` to `last` inclusive."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_library_knows_2004_to_2026() -> None:
    assert all(LIBRARY.knows_year(year) for year in range(2004, 2027))
    assert not LIBRARY.knows_year(2003)
    assert not LIBRARY.knows_year(2027)


def test_spring_festival_2026_is_off_with_make_up_saturdays() -> None:
    assert not any(LIBRARY.is_working_day(day) for day in days(date(2026, 2, 15), date(2026, 2, 23)))
    assert LIBRARY.is_working_day(date(2026, 2, 14))  # Saturday, make-up day
    assert LIBRARY.is_working_day(date(2026, 2, 28))  # Saturday, make-up day
    assert LIBRARY.is_working_day(date(2026, 2, 24))  # Tuesday, back to work


def test_national_day_2026_is_off() -> None:
    assert not any(LIBRARY.is_working_day(day) for day in days(date(2026, 10, 1), date(2026, 10, 7)))
    assert LIBRARY.is_working_day(date(2026, 10, 8))
    assert LIBRARY.is_working_day(date(2026, 10, 10))  # Saturday, make-up day


def test_ordinary_weeks_in_a_known_year() -> None:
    assert LIBRARY.is_working_day(date(2026, 3, 4))  # Wednesday
    assert not LIBRARY.is_working_day(date(2026, 3, 7))  # Saturday
    assert not LIBRARY.is_working_day(date(2026, 3, 8))  # Sunday


def test_a_year_not_published_yet_counts_weekends_only() -> None:
    assert not LIBRARY.knows_year(2027)
    assert LIBRARY.is_working_day(date(2027, 1, 1))  # New Year's Day, but the schedule is not loaded
    assert LIBRARY.is_working_day(date(2027, 2, 8))  # Spring Festival week, likewise
    assert not LIBRARY.is_working_day(date(2027, 1, 31))  # a Sunday stays off


def test_loaded_document_adds_the_year() -> None:
    schedule = LIBRARY.merged(HolidaySchedule.parse_year_document(SCHEDULE_2027))
    assert schedule.knows_year(2026)
    assert schedule.knows_year(2027)
    assert not schedule.is_working_day(date(2027, 1, 1))
    assert not any(schedule.is_working_day(day) for day in days(date(2027, 2, 6), date(2027, 2, 14)))
    assert schedule.is_working_day(date(2027, 1, 31))  # make-up Sunday
    assert schedule.is_working_day(date(2027, 2, 15))
    assert not schedule.is_working_day(date(2026, 2, 16))  # 2026 still from the library


def test_parsed_document_knows_only_its_year() -> None:
    schedule = HolidaySchedule.parse_year_document(SCHEDULE_2027)
    assert schedule.years == frozenset({2027})
    assert date(2027, 2, 10) in schedule.holidays
    assert schedule.workdays == frozenset({date(2027, 1, 31), date(2027, 2, 20)})


def test_empty_lists_declare_a_year_without_holidays() -> None:
    schedule = HolidaySchedule.parse_year_document('{"year": 2030, "holidays": [], "workdays": []}')
    assert schedule.knows_year(2030)
    assert schedule.is_working_day(date(2030, 1, 1))


def test_a_corrected_schedule_replaces_the_year() -> None:
    corrected = LIBRARY.with_year(2026, holidays=[date(2026, 1, 1)], workdays=[])
    assert corrected.is_working_day(date(2026, 2, 16))
    assert not corrected.is_working_day(date(2026, 2, 14))  # the make-up Saturday is gone too
    assert not corrected.is_working_day(date(2025, 10, 1))  # other years untouched


def test_merged_lets_the_newer_schedule_win_for_its_years() -> None:
    replacement = HolidaySchedule().with_year(2026, holidays=[date(2026, 3, 4)], workdays=[])
    merged = LIBRARY.merged(replacement)
    assert not merged.is_working_day(date(2026, 3, 4))
    assert merged.is_working_day(date(2026, 10, 1))
    assert merged.knows_year(2004)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[2027]", "must be a JSON object"),
        ('{"year": "2027", "holidays": [], "workdays": []}', "year must be a whole number"),
        ('{"year": true, "holidays": [], "workdays": []}', "year must be a whole number"),
        ('{"year": 2027, "holiday": [], "workdays": []}', r"unknown keys \['holiday'\]"),
        ('{"year": 2027, "workdays": []}', "missing 'holidays'"),
        ('{"year": 2027, "holidays": "2027-01-01", "workdays": []}', "holidays must be a list"),
        (
            '{"year": 2027, "holidays": ["2027/01/01"], "workdays": []}',
            r"holidays\[0\]: '2027/01/01' is not a date",
        ),
        (
            '{"year": 2027, "holidays": ["2027-01-01", "2027-02-30"], "workdays": []}',
            r"holidays\[1\]: .* not a valid",
        ),
        ('{"year": 2027, "holidays": [20270101], "workdays": []}', r"holidays\[0\]: 20270101 is not a date"),
        ('{"year": 2027, "holidays": ["2026-12-31"], "workdays": []}', "2026-12-31 is not in 2027"),
        ('{"year": 2027, "holidays": [], "workdays": ["2028-01-08"]}', "2028-01-08 is not in 2027"),
        (
            '{"year": 2027, "holidays": ["2027-02-06"], "workdays": ["2027-02-06"]}',
            "2027-02-06 is listed both as a holiday and as a workday",
        ),
        ('{"year": 2027, "holidays": [], "workdays": ["2027-02-08"]}', "2027-02-08 is a Monday"),
    ],
)
def test_bad_documents_are_refused_with_a_clear_reason(document: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HolidaySchedule.parse_year_document(document)


def test_a_schedule_cannot_hold_dates_of_years_it_does_not_cover() -> None:
    with pytest.raises(ValueError, match="2027-01-01 lies in 2027"):
        HolidaySchedule(holidays=frozenset({date(2027, 1, 1)}), years=frozenset({2026}))


def test_a_schedule_cannot_list_a_day_twice() -> None:
    day = date(2026, 2, 14)
    with pytest.raises(ValueError, match="both as a holiday and as a workday"):
        HolidaySchedule(holidays=frozenset({day}), workdays=frozenset({day}), years=frozenset({2026}))


DATES_2027 = st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31))


@st.composite
def year_documents(draw: st.DrawFn) -> tuple[frozenset[date], frozenset[date]]:
    """Random holidays and make-up weekend days for 2027."""
    holidays = draw(st.frozensets(DATES_2027, max_size=40))
    weekends = DATES_2027.filter(lambda day: day.weekday() >= 5)
    workdays = draw(st.frozensets(weekends, max_size=6)) - holidays
    return holidays, workdays


@settings(max_examples=200)
@given(year_documents(), st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)))
def test_loading_a_year_follows_the_rules_and_leaves_other_years_alone(
    document: tuple[frozenset[date], frozenset[date]], day: date
) -> None:
    holidays, workdays = document
    text = json.dumps(
        {
            "year": 2027,
            "holidays": [d.isoformat() for d in holidays],
            "workdays": [d.isoformat() for d in workdays],
        }
    )
    schedule = LIBRARY.merged(HolidaySchedule.parse_year_document(text))
    if day.year == 2027:
        expected = day in workdays or (day.weekday() < 5 and day not in holidays)
        assert schedule.is_working_day(day) == expected
    else:
        assert schedule.is_working_day(day) == LIBRARY.is_working_day(day)
    assert schedule == LIBRARY.with_year(2027, holidays, workdays)
