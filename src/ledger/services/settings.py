"""Settings are ledger data: parsed on the admin's side, signed, submitted, read back.

Decisions read their settings from the ledger (domain/settings.py), so that
`verify` re-executing them reads the same values. The operator keeps the
settings in two TOML files, which are inputs to signed commands, never read
by the ledger itself:

`results.toml` -> one `settings.results` command (the whole settings, defaults filled in)

    results_due_working_days = 10      # results due N working days after the task window ends
    disclosure_due_working_days = 20   # 公示 due N working days from the end of the inspection (产生之日)
    refusals_per_hour = 20             # refused attempts recorded in full per actor per UTC hour
    public_inspectors = "masked"       # "masked" (张*, ****07), "department" (only the department), "full"

    [categories]                       # override / extend the result categories (domain/reference.py)
    fake_cert = { label = "伪造证照", problem = true }

    [credit_rules]                     # category -> risk-class change: "C", ">=C", "+1", "-1"
    obstructed = "D"

`calendar.toml` -> one `settings.calendar` command per year: the State
Council schedule of a year (放假安排), with its source (the notice it copies).
`seed_calendar` records the years chinesecalendar knows the same way. A
year with no recorded schedule is counted on weekends alone, provisionally:

    [2027]
    holidays = ["2027-01-01", ...]
    workdays = ["2027-02-07", ...]     # make-up working weekends (调休上班)
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import msgspec

from ledger.domain.settings import (
    CalendarYear,
    ResultsSettings,
    Settings,
    SettingsError,
    results_settings,
    work_calendar,
)
from ledger.domain.workdays import WorkCalendar, schedules_from_dict
from ledger.integrity.commands import SignedCommand, sign_command
from ledger.integrity.keys import Signer
from ledger.services.ledger import LedgerService
from ledger.services.receipts import Receipt
from ledger.store.config import StoreConfig

__all__ = ["CalendarYear", "ResultsSettings", "SettingsError", "SettingsInForce", "parse_calendar", "parse_results",
           "sign_calendar_year", "sign_results", "settings_in_force", "submit_settings", "calendar_in_force",
           "results_in_force"]

RESULTS_COMMAND: Final = "settings.results"
CALENDAR_COMMAND: Final = "settings.calendar"


# ---------------------------------------------------------------------------
# The admin's side: parse the files, sign the commands.


def _toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{where}: {error}") from None


def parse_results(text: str, where: str = "results.toml") -> ResultsSettings:
    """The results settings a results.toml gives (missing keys: the defaults)."""
    try:
        return msgspec.convert(_toml(text, where), ResultsSettings)
    except (msgspec.ValidationError, SettingsError) as error:
        raise SettingsError(f"{where}: {error}") from None


def default_source(data: bytes, where: str) -> str:
    return f"{where} (sha256 {hashlib.sha256(data).hexdigest()})"


def parse_calendar(text: str, source: str, where: str = "calendar.toml") -> list[CalendarYear]:
    """One schedule per year of a calendar.toml, each citing `source`, in year order."""
    if not source.strip():
        raise SettingsError(f"{where}: name the schedule's source (the State Council notice it copies)")
    try:
        schedules = schedules_from_dict(_toml(text, where))
    except ValueError as error:
        raise SettingsError(f"{where}: {error}") from None
    if not schedules:
        raise SettingsError(f"{where}: no year in the file")
    return [CalendarYear(year=year, holidays=tuple(sorted(s.holidays)), workdays=tuple(sorted(s.workdays)),
                         source=source) for year, s in sorted(schedules.items())]


def results_body(settings: ResultsSettings) -> dict[str, Any]:
    return msgspec.to_builtins(settings)  # type: ignore[no-any-return]


def calendar_body(schedule: CalendarYear) -> dict[str, Any]:
    return msgspec.to_builtins(schedule)  # type: ignore[no-any-return]


def sign_results(signer: Signer, actor: str, settings: ResultsSettings, **kwargs: Any) -> SignedCommand:
    return sign_command(signer, actor, RESULTS_COMMAND, results_body(settings), **kwargs)


def sign_calendar_year(signer: Signer, actor: str, schedule: CalendarYear, **kwargs: Any) -> SignedCommand:
    return sign_command(signer, actor, CALENDAR_COMMAND, calendar_body(schedule), **kwargs)


def package_calendar_year(year: int) -> CalendarYear:
    """One year's schedule as the installed chinesecalendar carries it, citing it as the source."""
    from ledger.domain.workdays import package_schedule, package_version

    schedule = package_schedule(year)
    return CalendarYear(year=year, holidays=tuple(sorted(schedule.holidays)),
                        workdays=tuple(sorted(schedule.workdays)),
                        source=f"chinesecalendar {package_version()} (PyPI), which copies the State Council's"
                               f" notice on the {year} holiday schedule (国务院办公厅关于{year}年部分节假日安排的通知)")


def seed_calendar(ledger: LedgerService, signer: Signer, actor: str, years: list[int]) -> list[tuple[int, str]]:
    """Record (signed by `actor`, an admin) the chinesecalendar schedule of each of `years` the ledger
    does not hold as the package has it; (year, "recorded" | "unchanged" | "kept") each."""
    from ledger.domain.workdays import package_years

    held = settings_in_force(ledger.config, ledger)
    out: list[tuple[int, str]] = []
    for year in sorted(set(years)):
        if year not in package_years():
            raise SettingsError(f"chinesecalendar {package_years().start}-{package_years().stop - 1} does not"
                                f" know {year}: record it with `drledger settings calendar` and its source")
        schedule = package_calendar_year(year)
        recorded = held.recorded(year)
        if recorded is not None:
            same = (recorded.holidays, recorded.workdays) == (schedule.holidays, schedule.workdays)
            out.append((year, "unchanged" if same else "kept"))  # an operator's own record is never overwritten
            continue
        submit_settings(ledger, sign_calendar_year(signer, actor, schedule))
        out.append((year, "recorded"))
    return out


def submit_settings(ledger: LedgerService, signed: SignedCommand) -> Receipt:
    """Submit a signed settings command (CommandRefused if the ledger refuses it)."""
    return ledger.submit(signed)


# ---------------------------------------------------------------------------
# What is in force: read from the Settings aggregate, exactly what decisions read.


class SettingsInForce(msgspec.Struct, kw_only=True):
    results: ResultsSettings
    calendar_years: list[CalendarYear]  # recorded years, in year order
    governance: dict[str, Any] | None = None  # the separation-of-powers settings, where the ledger has them

    def calendar(self) -> WorkCalendar:
        from ledger.domain.workdays import YearSchedule

        return WorkCalendar({s.year: YearSchedule(year=s.year, holidays=frozenset(s.holidays),
                                                  workdays=frozenset(s.workdays)) for s in self.calendar_years},
                            package=False)

    def recorded(self, year: int) -> CalendarYear | None:
        return next((s for s in self.calendar_years if s.year == year), None)


class _AggregateState:
    """Aggregates as the ledger holds them now (read only)."""

    position = 0

    def __init__(self, app: Any) -> None:
        self.app = app

    def get(self, cls: type, aggregate_id: Any) -> Any:
        found = self.app.find(aggregate_id, copy=False)  # read only: the cached object, no copy
        return found if isinstance(found, cls) else None

    def get_for_update(self, cls: type, aggregate_id: Any) -> Any:
        # `get` hands out the application's cached objects: nothing read here may change one.
        raise TypeError("settings are read here, never decided: no aggregate for update")


@contextmanager
def _reading(config: StoreConfig, ledger: LedgerService | None) -> Iterator[_AggregateState]:
    from ledger.store.application import LedgerApplication
    from ledger.store.connection import lent

    if ledger is not None:
        yield _AggregateState(ledger.processor.app)
        return
    # No key: reading only. A server keeps a few (store/connection.py); their caches are
    # fast-forwarded on each read.
    with lent(config, "application", lambda: LedgerApplication(config), lambda found: found.close()) as app:
        yield _AggregateState(app)


def settings_in_force(config: StoreConfig, ledger: LedgerService | None = None) -> SettingsInForce:
    with _reading(config, ledger) as state:
        found = state.get(Settings, Settings.ID)
        results = results_settings(state)
        years = sorted(found.calendar_years.values(), key=lambda s: s.year) if found is not None else []
        governance = getattr(found, "governance", None) if found is not None else None
    return SettingsInForce(results=results, calendar_years=years,
                           governance=msgspec.to_builtins(governance) if governance is not None else None)


def results_in_force(config: StoreConfig, ledger: LedgerService | None = None) -> ResultsSettings:
    with _reading(config, ledger) as state:
        return results_settings(state)


def calendar_in_force(config: StoreConfig, ledger: LedgerService | None = None) -> WorkCalendar:
    """The years recorded in the ledger: what decisions count deadlines with (provisional beyond them)."""
    with _reading(config, ledger) as state:
        return work_calendar(state)

