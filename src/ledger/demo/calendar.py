"""Stand-in working-day schedules for demo and test ledgers only.

Deadlines are refused for a year that neither chinesecalendar nor the
operator's calendar.toml covers: that rule stays. A demo or test ledger
records results "now", so once "now" plus 20 working days reaches a year the
installed calendar lacks, it needs that year's schedule. This writes a
weekends-only stand-in into that ledger's own calendar.toml, labelled as
such. It is never used for a real ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path

from ledger.domain.workdays import WorkCalendar
from ledger.results_settings import CALENDAR_FILE, load_calendar

HEADER = "# STAND-IN written by the drledger demo/tests: weekends only, NOT the State Council schedule.\n"


def supply_standin_years(home: Path, years: Iterable[int], say: Callable[[str], None] = lambda _: None) -> list[int]:
    """Add weekends-only schedules for the `years` no calendar covers; returns them."""
    calendar = load_calendar(home)
    missing = sorted(y for y in set(years) if not calendar.covers(y))
    if not missing:
        return []
    path = home / CALENDAR_FILE
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if HEADER not in text:
        text = HEADER + text
    for year in missing:
        text += f'\n["{year}"]\nholidays = []\nworkdays = []\n'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    say(f"no working-day schedule for {', '.join(map(str, missing))}: wrote a weekends-only STAND-IN to {path}"
        " (demo only; a real ledger needs the State Council schedule)")
    return missing


def working_days_until(start: date, year: int, calendar: WorkCalendar) -> int:
    """Working days after `start` up to the end of `year - 1` (tests size deadlines with it)."""
    count, day = 0, start
    while day.year < year:
        day += timedelta(days=1)
        if day.year < year and calendar.is_working_day(day):
            count += 1
    return count
