"""Working days under the State Council's yearly holiday schedule.

Deadlines (results due N working days after a task window, disclosure within
20 working days) count working days: Monday-Friday, minus public holidays,
plus the make-up working weekends (调休上班).  The schedule is published
each December for the next year, so it cannot be computed: it comes from the
``chinesecalendar`` package, or from a schedule the operator supplies for a
year the package does not cover.  A year covered by neither raises
:class:`CalendarNotCovered` in the strict calls; :meth:`WorkCalendar.due`
never raises: it counts such a year on weekends alone and says the result is
provisional, so a missing schedule never blocks recording (the ledger's
decisions use a calendar of recorded years only, ``package=False``).

>>> from datetime import date
>>> is_working_day(date(2026, 10, 10))   # Saturday, make-up day for National Day
True
>>> add_working_days(date(2026, 9, 30), 1)   # Oct 1-7 are holidays, Oct 8 is Thursday
datetime.date(2026, 10, 8)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any, Final

import chinese_calendar
import chinese_calendar.constants as _cc
import msgspec

__all__ = [
    "CalendarNotCovered",
    "YearSchedule",
    "WorkCalendar",
    "schedules_from_dict",
    "is_working_day",
    "add_working_days",
    "Due",
    "DEFAULT_CALENDAR",
]

# chinese_calendar.is_workday recomputes min/max over all its holiday keys
# on every call (O(years) per day); deadlines over a 100k-result benchmark
# call this a lot, so read the package's own tables once.
_PKG_HOLIDAYS: Final = frozenset(_cc.holidays)
_PKG_WORKDAYS: Final = frozenset(_cc.workdays)
_PKG_YEARS: Final = range(min(d.year for d in _PKG_HOLIDAYS), max(d.year for d in _PKG_HOLIDAYS) + 1)


class CalendarNotCovered(LookupError):
    """No holiday schedule is known for a year; supply one, never guess."""

    def __init__(self, year: int, covered: Iterable[int] = ()) -> None:
        self.year = year
        years = sorted(set(covered))
        span = f"{years[0]}-{years[-1]}" if years else "none"
        super().__init__(
            f"no working-day schedule for {year}: chinesecalendar "
            f"{getattr(chinese_calendar, '__version__', '?')} covers {span}; "
            f"supply the State Council schedule for {year} (holidays and make-up working days)"
        )


class YearSchedule(msgspec.Struct, frozen=True):
    """One year's official schedule, as an operator supplies it.

    ``holidays``: days off that would otherwise be working days (weekend
    days inside a holiday block may be listed too; they change nothing).
    ``workdays``: make-up working days, which must be Saturdays or Sundays.
    """

    year: int
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        for d in self.holidays | self.workdays:
            if d.year != self.year:
                raise ValueError(f"schedule for {self.year} lists {d.isoformat()}")
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"both holiday and working day: {sorted(d.isoformat() for d in both)}")
        weekdays = [d.isoformat() for d in sorted(self.workdays) if d.weekday() < 5]
        if weekdays:
            # A make-up working day on a weekday is a no-op and almost surely a
            # typo for a neighbouring date: refuse rather than mis-count.
            raise ValueError(f"make-up working days must fall on a weekend: {weekdays}")


def schedules_from_dict(data: Mapping[str, Any]) -> dict[int, YearSchedule]:
    """Parse ``{"2027": {"holidays": ["2027-01-01", ...], "workdays": [...]}}``.

    The shape an operator would keep in a JSON or TOML file.

    >>> s = schedules_from_dict({"2031": {"holidays": ["2031-01-01"], "workdays": []}})
    >>> sorted(s[2031].holidays)
    [datetime.date(2031, 1, 1)]
    """
    out: dict[int, YearSchedule] = {}
    for year, body in data.items():
        try:
            y = int(year)
            unknown = set(body) - {"holidays", "workdays"}
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)}")
            out[y] = YearSchedule(
                year=y,
                holidays=frozenset(date.fromisoformat(s) for s in body.get("holidays", ())),
                workdays=frozenset(date.fromisoformat(s) for s in body.get("workdays", ())),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"working-day schedule for {year!r}: {exc}") from None
    return out


class Due(msgspec.Struct, frozen=True):
    """A deadline: ``provisional`` when a day counted fell in a year without a schedule
    (counted on weekends alone until the year's schedule is recorded)."""

    day: date
    provisional: bool


class WorkCalendar:
    """Operator-supplied years, plus chinesecalendar's data unless ``package=False``.

    A supplied year takes precedence over the package: it is an explicit
    operator decision (e.g. the package is stale after a late change). The
    ledger's own calendar (domain/settings.py `work_calendar`) is
    ``package=False``: decisions read only the years recorded in the ledger,
    so `verify` does not depend on the installed package's version.
    """

    def __init__(self, supplied: Mapping[int, YearSchedule] | None = None, *, package: bool = True) -> None:
        self._supplied = dict(supplied or {})
        self._package = package
        for year, sched in self._supplied.items():
            if sched.year != year:
                raise ValueError(f"schedule keyed {year} is for {sched.year}")

    def covered_years(self) -> list[int]:
        return sorted((set(_PKG_YEARS) if self._package else set()) | set(self._supplied))

    def covers(self, year: int) -> bool:
        return year in self._supplied or (self._package and year in _PKG_YEARS)

    def due(self, start: date, n: int) -> Due:
        """The n-th working day after ``start`` (n >= 0), never raising: a day in
        a year without a schedule counts as a working day if it is Monday-Friday,
        and the deadline is then provisional."""
        d, left, provisional = start, max(n, 0), False
        while left:
            d += timedelta(days=1)
            if self.covers(d.year):
                working = self.is_working_day(d)
            else:
                working, provisional = d.weekday() < 5, True
            if working:
                left -= 1
        return Due(day=d, provisional=provisional)

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day; raises CalendarNotCovered if unknown."""
        sched = self._supplied.get(d.year)
        if sched is not None:
            return d in sched.workdays or (d.weekday() < 5 and d not in sched.holidays)
        if not self._package or d.year not in _PKG_YEARS:
            raise CalendarNotCovered(d.year, self.covered_years())
        return d in _PKG_WORKDAYS or (d.weekday() < 5 and d not in _PKG_HOLIDAYS)

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (before it if n < 0).

        ``start`` itself is never counted, whether or not it is a working
        day; n == 0 returns ``start``.  Every day stepped over must be
        covered by a schedule.
        """
        step = timedelta(days=1 if n > 0 else -1)
        d, left = start, abs(n)
        while left:
            d += step
            if self.is_working_day(d):
                left -= 1
        return d


DEFAULT_CALENDAR: Final = WorkCalendar()


def is_working_day(d: date, calendar: WorkCalendar = DEFAULT_CALENDAR) -> bool:
    """Whether ``d`` is a working day in mainland China."""
    return calendar.is_working_day(d)


def add_working_days(start: date, n: int, calendar: WorkCalendar = DEFAULT_CALENDAR) -> date:
    """The n-th working day after ``start``; see :meth:`WorkCalendar.add_working_days`."""
    return calendar.add_working_days(start, n)


def package_years() -> range:
    """The years the installed chinesecalendar carries."""
    return _PKG_YEARS


def package_version() -> str:
    return str(getattr(chinese_calendar, "__version__", "?"))


def package_schedule(year: int) -> YearSchedule:
    """One year's schedule as chinesecalendar ships it (the seed of `calendar seed`).

    Holidays on a weekend change nothing and are left out, so the schedule
    lists what a reader checks against the State Council notice: weekday
    holidays and make-up working weekends.

    >>> s = package_schedule(2026)
    >>> date(2026, 10, 1) in s.holidays, date(2026, 10, 10) in s.workdays
    (True, True)
    """
    if year not in _PKG_YEARS:
        raise CalendarNotCovered(year, _PKG_YEARS)
    return YearSchedule(
        year=year,
        holidays=frozenset(d for d in _PKG_HOLIDAYS if d.year == year and d.weekday() < 5),
        workdays=frozenset(d for d in _PKG_WORKDAYS if d.year == year),
    )
