"""Stand-in working-day schedules for demo and test ledgers only.

Deadlines are refused for a year that neither chinesecalendar nor the
ledger's recorded calendar (`settings.calendar`) covers: that rule stays. A
demo or test ledger records results "now", so once "now" plus 20 working
days reaches a year the installed calendar lacks, it needs that year's
schedule. This records a weekends-only stand-in for such a year as a signed
`settings.calendar` command whose source says, in the ledger for everyone to
see, that it is a stand-in. It is never used for a real ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Final

from ledger.domain.workdays import WorkCalendar
from ledger.integrity.keys import Signer
from ledger.services.ledger import LedgerService
from ledger.services.settings import CalendarYear, calendar_in_force, sign_calendar_year, submit_settings

STANDIN_SOURCE: Final = ("STAND-IN recorded by the drledger demo/tests: weekends only, NOT the State Council"
                         " schedule (demo and test ledgers only)")


def supply_standin_years(ledger: LedgerService, signer: Signer, actor: str, years: Iterable[int],
                         say: Callable[[str], None] = lambda _: None) -> list[int]:
    """Record weekends-only schedules, signed by `actor` (an admin), for the `years`
    no calendar covers; returns them."""
    calendar = calendar_in_force(ledger.config, ledger)
    missing = sorted(y for y in set(years) if not calendar.covers(y))
    for year in missing:
        standin = CalendarYear(year=year, holidays=(), workdays=(), source=STANDIN_SOURCE)
        submit_settings(ledger, sign_calendar_year(signer, actor, standin))
    if missing:
        say(f"no working-day schedule for {', '.join(map(str, missing))}: recorded a weekends-only STAND-IN"
            " (settings.calendar; demo only, a real ledger needs the State Council schedule)")
    return missing


def working_days_until(start: date, year: int, calendar: WorkCalendar) -> int:
    """Working days after `start` up to the end of `year - 1` (tests size deadlines with it)."""
    count, day = 0, start
    while day.year < year:
        day += timedelta(days=1)
        if day.year < year and calendar.is_working_day(day):
            count += 1
    return count
