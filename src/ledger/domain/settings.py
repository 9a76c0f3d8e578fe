"""Settings that decisions depend on, as ledger data set by signed commands.

A rule that reads a setting (a deadline in working days, the result
categories, a credit rule, the refusal bound) must read the same value when
`verify` re-executes it on a copy, so settings live in the ledger, not in
the operator's files. `settings.results` replaces the results settings;
`settings.calendar` records one year's official holiday schedule (放假安排)
with its source. Decisions read only the recorded years (`chinesecalendar`
seeds them: `drledger calendar seed`); a deadline that needs a year not
recorded is counted on weekends alone and marked provisional, never refused.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, natural_id
from ledger.domain.commands import Command, Refusal, State, command, require_ledger_wide, need_text
from ledger.domain.reference import FOLLOW_UP_BY_CODE, ReferenceDataError, ResultCategory, load_result_categories
from ledger.domain.workdays import WorkCalendar, YearSchedule

PUBLIC_INSPECTOR_MODES: Final = ("masked", "department", "full")
RISK_ORDER: Final = "ABCD"

# Defaults: a refusal to cooperate or falsified disclosures put a firm in the
# high-risk class; an unreachable firm is at least "higher risk"; unresolved
# problems move it up one class.
DEFAULT_CREDIT_RULES: Final = {
    "obstructed": "D",
    "false_disclosure": "D",
    "unreachable": ">=C",
    "not_disclosed": "+1",
    "pending": "+1",
}


def check_rule(rule: str) -> None:
    """A rule is 'X' (set X), '>=X' (at least X), '+N' or '-N' (move N classes)."""
    if rule in RISK_ORDER or (rule[:2] == ">=" and rule[2:] in RISK_ORDER and len(rule) == 3):
        return
    if len(rule) == 2 and rule[0] in "+-" and rule[1] in "123":
        return
    raise ValueError(f"credit rule {rule!r}: use A-D, >=A..>=D, or +1..+3 / -1..-3")


def apply_rule(rule: str, current: str) -> str:
    """The class after `rule`, from `current`.

    >>> apply_rule(">=C", "A"), apply_rule(">=C", "D"), apply_rule("+1", "D"), apply_rule("-1", "B")
    ('C', 'D', 'D', 'A')

    Credit rules speak the national classes A-D: a firm of another class (a class set of
    settings.draws, such as Shandong's E) keeps its class.

    >>> apply_rule("+1", "E"), apply_rule("D", "E")
    ('E', 'E')
    """
    check_rule(rule)
    if current not in RISK_ORDER:
        return current
    if rule in RISK_ORDER:
        return rule
    if rule.startswith(">="):
        return max(current, rule[2:], key=RISK_ORDER.index)
    index = RISK_ORDER.index(current) + int(rule)
    return RISK_ORDER[min(max(index, 0), len(RISK_ORDER) - 1)]


class SettingsError(ValueError):
    """The results settings cannot be used."""


# 后续处置 due dates, in working days after the inspection: 列入经营异常名录 within 10
# working days (docs/domain.md); no national source fixes the others.
DEFAULT_FOLLOW_UP_DAYS: Final = {code: 10 for code in FOLLOW_UP_BY_CODE}


class ResultsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Entry deadline (录入): N working days after the task window ends (no national source: a setting).
    results_due_working_days: int = 10
    # Disclosure (公示): N working days from the end of the inspection (产生之日; 企业信息公示暂行条例 Art. 6).
    disclosure_due_working_days: int = 20
    refusals_per_hour: int = 20
    public_inspectors: str = "masked"
    categories: dict[str, Any] = {}
    credit_rules: dict[str, str] = msgspec.field(default_factory=lambda: dict(DEFAULT_CREDIT_RULES))
    follow_up_due_working_days: dict[str, int] = msgspec.field(default_factory=lambda: dict(DEFAULT_FOLLOW_UP_DAYS))

    def __post_init__(self) -> None:
        for kind, days in self.follow_up_due_working_days.items():
            if kind not in FOLLOW_UP_BY_CODE:
                raise SettingsError(f"follow_up_due_working_days: unknown follow-up {kind!r}; known:"
                                    f" {', '.join(FOLLOW_UP_BY_CODE)}")
            if not 0 <= days <= 1000:
                raise SettingsError("follow_up_due_working_days must be 0-1000")
        if not 0 <= self.results_due_working_days <= 1000 or not 0 <= self.disclosure_due_working_days <= 1000:
            raise SettingsError("working-day deadlines must be 0-1000")
        if self.refusals_per_hour < 1:
            raise SettingsError("refusals_per_hour must be at least 1")
        if self.public_inspectors not in PUBLIC_INSPECTOR_MODES:
            raise SettingsError(f"public_inspectors must be one of {', '.join(PUBLIC_INSPECTOR_MODES)}")
        known = {c.code for c in self.result_categories()}
        for category, rule in self.credit_rules.items():
            if category not in known:
                raise SettingsError(f"credit rule for unknown result category {category!r}")
            try:
                check_rule(rule)
            except ValueError as error:
                raise SettingsError(str(error)) from None

    def result_categories(self) -> tuple[ResultCategory, ...]:
        try:
            return load_result_categories(self.categories)
        except ReferenceDataError as error:
            raise SettingsError(str(error)) from None


DEFAULT_SETTINGS: Final = ResultsSettings()


class GovernanceSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Separation of powers (domain/approvals.py): floors keep one key from lifting it."""

    approvals_needed: int = 2  # distinct approvers of a guarded action, one of them discipline (纪检)
    cooling_off_days: int = 3  # a recovered key, a new approver: effective only after this
    # An inspector record (new, or changed) is drawn only once in force this long before the commitment.
    draw_cooling_off_days: int = 7
    # A commitment neither drawn nor voided this long after its last named round is published is abandoned.
    draw_abandon_after_hours: int = 24

    def __post_init__(self) -> None:
        if not 2 <= self.approvals_needed <= 20:
            raise SettingsError("approvals_needed must be 2-20")
        if not 1 <= self.cooling_off_days <= 365:
            raise SettingsError("cooling_off_days must be 1-365")
        if not 0 <= self.draw_cooling_off_days <= 365:
            raise SettingsError("draw_cooling_off_days must be 0-365")
        if not 1 <= self.draw_abandon_after_hours <= 720:
            raise SettingsError("draw_abandon_after_hours must be 1-720")


DEFAULT_GOVERNANCE: Final = GovernanceSettings()


class CalendarYear(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    year: int
    holidays: tuple[date, ...]
    workdays: tuple[date, ...]
    source: str


class Settings(LedgerAggregate):
    """The ledger's settings (one aggregate)."""

    ID = natural_id("settings", "ledger")

    results: ResultsSettings
    governance: GovernanceSettings
    calendar_years: dict[int, CalendarYear]

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return Settings.ID

    @event("Opened")
    def __init__(self, actor: str) -> None:
        self.results = DEFAULT_SETTINGS
        self.governance = DEFAULT_GOVERNANCE
        self.calendar_years = {}

    @event("ResultsSet")
    def set_results(self, results: ResultsSettings, actor: str) -> None:
        self.results = results

    @event("GovernanceSet")
    def set_governance(self, governance: GovernanceSettings, actor: str) -> None:
        self.governance = governance

    @event("CalendarYearRecorded")
    def record_year(self, schedule: CalendarYear, actor: str) -> None:
        self.calendar_years = {**self.calendar_years, schedule.year: schedule}


def results_settings(state: State) -> ResultsSettings:
    found = state.get(Settings, Settings.ID)
    return found.results if found is not None else DEFAULT_SETTINGS


def governance(state: State) -> GovernanceSettings:
    found = state.get(Settings, Settings.ID)
    return found.governance if found is not None else DEFAULT_GOVERNANCE


def work_calendar(state: State) -> WorkCalendar:
    found = state.get(Settings, Settings.ID)
    years = found.calendar_years if found is not None else {}
    return WorkCalendar({y: YearSchedule(year=y, holidays=frozenset(s.holidays), workdays=frozenset(s.workdays))
                         for y, s in years.items()}, package=False)


def _settings_for_update(state: State, command: Command) -> Settings:
    found = state.get_for_update(Settings, Settings.ID)
    return found if found is not None else Settings(actor=command.actor_id)


def _replace_section(state: State, command: Command, section: str, section_type: type[Any]) -> list[LedgerAggregate]:
    """settings.results / settings.governance: the whole section, validated, if it changes anything."""
    require_ledger_wide(command)
    try:
        new = msgspec.convert(command.content.body, section_type)
    except (msgspec.ValidationError, SettingsError) as error:
        raise Refusal("invalid", f"{command.name}: {error}") from None
    settings = _settings_for_update(state, command)
    if new == getattr(settings, section):
        raise Refusal("invalid", f"{command.name} changes nothing")
    if section == "results":
        settings.set_results(results=new, actor=command.actor_id)
    else:
        settings.set_governance(governance=new, actor=command.actor_id)
    return [settings]


@command("settings.results", "admin")
def decide_results_settings(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    return _replace_section(state, command, "results", ResultsSettings)


@command("settings.governance", "admin")
def decide_governance(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    return _replace_section(state, command, "governance", GovernanceSettings)


@command("settings.calendar", "admin")
def decide_calendar_year(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    require_ledger_wide(command)
    body = command.body(CalendarYear)
    need_text("source", body.source, 500)
    try:
        YearSchedule(year=body.year, holidays=frozenset(body.holidays), workdays=frozenset(body.workdays))
    except ValueError as error:
        raise Refusal("invalid", f"settings.calendar {body.year}: {error}") from None
    if not 2000 <= body.year <= 2100:
        raise Refusal("invalid", f"settings.calendar: year {body.year} is not plausible")
    schedule = CalendarYear(year=body.year, holidays=tuple(sorted(set(body.holidays))),
                            workdays=tuple(sorted(set(body.workdays))), source=body.source)
    settings = _settings_for_update(state, command)
    if settings.calendar_years.get(body.year) == schedule:
        raise Refusal("invalid", f"the schedule of {body.year} is already recorded as given")
    settings.record_year(schedule=schedule, actor=command.actor_id)
    return [settings]
