"""Working days around the 2026 Mid-Autumn/National Day holidays, and uncovered years.

The 2026 dates below were read from chinesecalendar 1.11.0's constants.py:
holidays 2026-09-25..27 (Mid-Autumn) and 2026-10-01..07 (National Day);
make-up working days 2026-09-20 (Sunday) and 2026-10-10 (Saturday).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ledger.domain.workdays import (
    CalendarNotCovered,
    WorkCalendar,
    YearSchedule,
    add_working_days,
    is_working_day,
    schedules_from_dict,
)


def test_2026_national_day_block() -> None:
    for day in range(1, 8):
        assert not is_working_day(date(2026, 10, day)), day
    assert is_working_day(date(2026, 10, 8))  # Thursday after the holiday
    assert is_working_day(date(2026, 10, 9))


def test_2026_make_up_weekends_are_working_days() -> None:
    assert date(2026, 9, 20).weekday() == 6 and is_working_day(date(2026, 9, 20))
    assert date(2026, 10, 10).weekday() == 5 and is_working_day(date(2026, 10, 10))
    # The neighbouring weekend days stay rest days.
    assert not is_working_day(date(2026, 9, 19))
    assert not is_working_day(date(2026, 10, 11))


def test_mid_autumn_friday_is_a_holiday() -> None:
    assert date(2026, 9, 25).weekday() == 4
    assert not is_working_day(date(2026, 9, 25))


def test_add_working_days_across_national_day() -> None:
    # Wed 30 Sep + 1 -> Thu 8 Oct (1-7 off); +2 -> Fri 9; +3 -> Sat 10 (make-up).
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert add_working_days(date(2026, 9, 30), 2) == date(2026, 10, 9)
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert add_working_days(date(2026, 9, 30), 4) == date(2026, 10, 12)


def test_twenty_working_days_from_mid_september() -> None:
    # Counted by hand from the data: Sep 18 (Fri) +1 = Sep 20 (Sun, make-up),
    # Sep 21-24 = 2..5, Sep 25-27 off, Sep 28-30 = 6..8, Oct 1-7 off,
    # Oct 8, 9, 10 = 9..11, Oct 12-16 = 12..16, Oct 19-22 = 17..20.
    assert add_working_days(date(2026, 9, 18), 1) == date(2026, 9, 20)
    assert add_working_days(date(2026, 9, 18), 20) == date(2026, 10, 22)


def test_zero_and_negative() -> None:
    assert add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)
    assert add_working_days(date(2026, 10, 8), -1) == date(2026, 9, 30)


def test_add_matches_day_by_day_count() -> None:
    start = date(2026, 1, 1)
    d = start
    for n in range(1, 200):
        d = add_working_days(d, 1)
        assert add_working_days(start, n) == d
    assert sum(is_working_day(start + timedelta(days=i)) for i in range(365)) > 240


def _first_uncovered_year() -> int:
    """The first year after 2026 the installed chinesecalendar does not cover
    (2027 with 1.11.0; later as the package learns new years)."""
    year = 2027
    while WorkCalendar().covers(year):
        year += 1
    return year


FUTURE = _first_uncovered_year()


def test_year_without_data_is_refused() -> None:
    with pytest.raises(CalendarNotCovered) as info:
        is_working_day(date(FUTURE, 3, 1))
    assert info.value.year == FUTURE
    assert str(FUTURE) in str(info.value)
    with pytest.raises(CalendarNotCovered):
        is_working_day(date(2003, 3, 3))
    # A deadline that runs into an uncovered year is refused, not guessed
    # (Dec 29-31 hold at most three working days)...
    with pytest.raises(CalendarNotCovered):
        add_working_days(date(FUTURE - 1, 12, 28), 5)
    # ...but one that stays inside the covered year is fine.
    assert add_working_days(date(FUTURE - 1, 12, 28), 1).year == FUTURE - 1


def test_supplied_schedule_covers_a_year() -> None:
    new_year = date(FUTURE, 1, 1)
    saturday = new_year + timedelta(days=(5 - new_year.weekday()) % 7 or 7)  # a make-up working Saturday
    cal = WorkCalendar(schedules_from_dict({
        str(FUTURE - 1): {"holidays": [], "workdays": []},
        str(FUTURE): {"holidays": [new_year.isoformat()], "workdays": [saturday.isoformat()]},
    }))
    assert saturday.weekday() == 5
    assert not cal.is_working_day(new_year)
    assert cal.is_working_day(saturday)
    assert not cal.is_working_day(saturday + timedelta(days=1))
    # The first working day of the year: a weekday after the holiday, or the make-up Saturday.
    first = next(d for d in (new_year + timedelta(days=i) for i in range(1, 8)) if d.weekday() < 5 or d == saturday)
    assert cal.add_working_days(date(FUTURE - 1, 12, 31), 1) == first
    assert cal.covers(FUTURE) and not cal.covers(FUTURE + 1)
    with pytest.raises(CalendarNotCovered):
        cal.is_working_day(date(FUTURE + 1, 1, 3))


def test_supplied_schedule_is_checked() -> None:
    with pytest.raises(ValueError, match="weekend"):
        YearSchedule(2027, workdays=frozenset({date(2027, 1, 4)}))
    with pytest.raises(ValueError, match="2028-01-01"):
        YearSchedule(2027, holidays=frozenset({date(2028, 1, 1)}))
    with pytest.raises(ValueError, match="2027"):
        schedules_from_dict({"2027": {"holidays": ["not a date"]}})
    with pytest.raises(ValueError, match="unknown keys"):
        schedules_from_dict({"2027": {"holiday": []}})
