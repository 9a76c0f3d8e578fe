"""The demo's working-day calendar: the years chinesecalendar knows, recorded as ledger data.

Deadlines count working days with the schedules recorded in the ledger
(`settings.calendar`, one signed command per year with its source). The
demo seeds them from chinesecalendar, as `drledger calendar seed` does; a
year the package does not know stays unrecorded, and deadlines reaching it
are provisional (weekends only) until an admin records its schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta

from ledger.domain.workdays import WorkCalendar, package_years
from ledger.integrity.keys import Signer
from ledger.services.ledger import LedgerService
from ledger.services.settings import seed_calendar


def seed_known_years(ledger: LedgerService, signer: Signer, actor: str, years: Iterable[int],
                     say: Callable[[str], None] = lambda _: None) -> list[int]:
    """Record, signed by `actor` (an admin), chinesecalendar's schedule of each of `years` it knows."""
    known = sorted(y for y in set(years) if y in package_years())
    recorded = [year for year, outcome in seed_calendar(ledger, signer, actor, known) if outcome == "recorded"]
    unknown = sorted(set(years) - set(known))
    if recorded:
        say(f"calendar: recorded chinesecalendar's schedule of {', '.join(map(str, recorded))} (settings.calendar)")
    if unknown:
        say(f"calendar: no schedule for {', '.join(map(str, unknown))} yet: deadlines reaching it are provisional"
            " (weekends only) until an admin records the State Council schedule")
    return recorded


def working_days_until(start: date, year: int, calendar: WorkCalendar) -> int:
    """Working days after `start` up to the end of `year - 1` (tests size deadlines with it)."""
    count, day = 0, start
    while day.year < year:
        day += timedelta(days=1)
        if day.year < year and calendar.is_working_day(day):
            count += 1
    return count
