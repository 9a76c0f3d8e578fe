"""Operator configuration for results: deadlines, categories, credit rules,
masking, the refusal bound, and working-day schedules for uncovered years.

Two optional files under DRLEDGER_HOME (missing file = defaults):

`results.toml`

    results_due_working_days = 10      # results due N working days after the task window ends
    disclosure_due_working_days = 20   # 公示 due N working days after the result is recorded
    refusals_per_hour = 20             # refused attempts recorded in full per actor per UTC hour
    public_inspectors = "masked"       # "masked" (张*, ****07), "department" (only the department), "full"

    [categories]                       # override / extend the result categories (reference.py)
    fake_cert = { label = "伪造证照", problem = true }

    [credit_rules]                     # category -> risk-class change: "C", ">=C", "+1", "-1"
    obstructed = "D"

`calendar.toml`: the State Council schedule of a year chinesecalendar does
not cover (a year covered by neither is refused, never guessed):

    [2027]
    holidays = ["2027-01-01", ...]
    workdays = ["2027-02-07", ...]     # make-up working weekends (调休上班)
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Final

import msgspec

from ledger.domain.reference import ReferenceDataError, ResultCategory, load_result_categories
from ledger.domain.results import PUBLIC_INSPECTOR_MODES, check_rule
from ledger.domain.workdays import WorkCalendar, schedules_from_dict

RESULTS_FILE: Final = "results.toml"
CALENDAR_FILE: Final = "calendar.toml"

# Defaults: a refusal to cooperate or falsified disclosures put a firm in the
# high-risk class; an unreachable firm is at least "higher risk"; unresolved
# problems move it up one class. Operators replace these in results.toml.
DEFAULT_CREDIT_RULES: Final = {
    "obstructed": "D",
    "false_disclosure": "D",
    "unreachable": ">=C",
    "not_disclosed": "+1",
    "pending": "+1",
}


class SettingsError(ValueError):
    """The results configuration cannot be used."""


class ResultsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    results_due_working_days: int = 10
    disclosure_due_working_days: int = 20
    refusals_per_hour: int = 20
    public_inspectors: str = "masked"
    categories: dict[str, Any] = {}
    credit_rules: dict[str, str] = msgspec.field(default_factory=lambda: dict(DEFAULT_CREDIT_RULES))

    def __post_init__(self) -> None:
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


def _toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: {error}") from None


def load_settings(home: Path) -> ResultsSettings:
    path = home / RESULTS_FILE
    try:
        return msgspec.convert(_toml(path), ResultsSettings)
    except msgspec.ValidationError as error:
        raise SettingsError(f"{path}: {error}") from None


def load_calendar(home: Path) -> WorkCalendar:
    path = home / CALENDAR_FILE
    try:
        return WorkCalendar(schedules_from_dict(_toml(path)))
    except ValueError as error:
        raise SettingsError(f"{path}: {error}") from None
