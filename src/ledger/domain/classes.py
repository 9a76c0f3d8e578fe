"""Risk classes and the per-firm cap as configuration, and results as signals to the class.

信用风险分类 is configuration, not code: the national default is four classes A-D
(国发〔2019〕5号, 国市监信发〔2022〕6号), Shandong uses five (A-E), Henan four
differently named levels. `settings.draws` records, signed by a ledger-wide
admin, the class set in force (codes from low to high risk, labels, and for
each class an optional ceiling on the share of a class a task of only 一般
items may draw) and the annual cap of inspections per firm across tasks and
departments (国办发〔2024〕54号). A draw commitment freezes both with its inputs
(draw/spec.py `DrawInputs.classes`, and the firms at the cap among
`excluded`), so changing them later changes no standing draw.

A result is an input to the class, not an override (SAMR reclassifies
monthly with its own model): `class.signal` records, by a reviewer of the
result's department, a signal about a firm with its cause, a disclosed
result of that firm. It changes no class; the monthly reclassification
(`directory.import` of reclassifications) reads the signals.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Final
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, natural_id
from ledger.domain.commands import Command, Refusal, State, command, need_text, require_jurisdiction, \
    require_ledger_wide, short
from ledger.draw.spec import RATIO_FORM, RISK_CLASSES

CLASS_CODE: Final = re.compile(r"[A-Z][A-Z0-9]{0,7}")
SIGNALS: Final = ("raise", "lower", "note")  # what the signal suggests to the next classification


class RiskClassSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: str
    label: str
    general_max_ratio: str | None = None  # ceiling on n_k / N_k for a task of only 一般 items


class DrawSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What draws read from the ledger's configuration (the body of `settings.draws`)."""

    classes: tuple[RiskClassSpec, ...] = (
        RiskClassSpec(code="A", label="信用风险低(A类)"),
        RiskClassSpec(code="B", label="信用风险一般(B类)"),
        RiskClassSpec(code="C", label="信用风险较高(C类)"),
        RiskClassSpec(code="D", label="信用风险高(D类)"),
    )
    annual_cap_per_firm: int | None = None  # inspections of one firm a calendar year, all tasks (None: no cap)
    source: str = "国市监信发〔2022〕6号 (A-D)"

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.classes)

    def ceiling(self, code: str) -> Fraction | None:
        found = next((c for c in self.classes if c.code == code), None)
        return Fraction(found.general_max_ratio) if found is not None and found.general_max_ratio else None


DEFAULT_DRAW_SETTINGS: Final = DrawSettings()
assert DEFAULT_DRAW_SETTINGS.codes == RISK_CLASSES


def check_draw_settings(settings: DrawSettings) -> None:
    codes = settings.codes
    if not 2 <= len(codes) <= 10 or len(set(codes)) != len(codes):
        raise Refusal("invalid", "settings.draws: name 2-10 distinct risk classes, from low to high risk")
    for spec in settings.classes:
        if not CLASS_CODE.fullmatch(spec.code):
            raise Refusal("invalid", f"settings.draws: class code {short(spec.code)!r}: 1-8 capital letters or"
                                     " digits, starting with a letter")
        need_text(f"class {spec.code} label", spec.label, 100)
        if spec.general_max_ratio is not None and (not RATIO_FORM.fullmatch(spec.general_max_ratio)
                                                   or not 0 < Fraction(spec.general_max_ratio) <= 1):
            raise Refusal("invalid", f"settings.draws: class {spec.code}: general_max_ratio must be a plain"
                                     " decimal above 0, at most 1 (such as 0.05)")
    if settings.annual_cap_per_firm is not None and not 1 <= settings.annual_cap_per_firm <= 100:
        raise Refusal("invalid", "settings.draws: annual_cap_per_firm must be 1-100 (or absent: no cap)")
    need_text("source", settings.source, 500)


class DrawConfig(LedgerAggregate):
    """The draw settings in force (one aggregate)."""

    ID = natural_id("settings", "draws")
    settings: DrawSettings

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return DrawConfig.ID

    @event("Opened")
    def __init__(self, actor: str) -> None:
        self.settings = DEFAULT_DRAW_SETTINGS

    @event("Set")
    def set(self, settings: DrawSettings, actor: str) -> None:
        self.settings = settings


def draw_settings(state: State) -> DrawSettings:
    found = state.get(DrawConfig, DrawConfig.ID)
    return found.settings if found is not None else DEFAULT_DRAW_SETTINGS


def class_codes(state: State) -> tuple[str, ...]:
    return draw_settings(state).codes


@command("settings.draws", "admin")
def decide_draw_settings(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    """The risk-class set, per-class ceilings and the annual per-firm cap, replaced as a whole."""
    require_ledger_wide(command)
    new: DrawSettings = command.body(DrawSettings)
    check_draw_settings(new)
    found = state.get_for_update(DrawConfig, DrawConfig.ID)
    config = found if found is not None else DrawConfig(actor=command.actor_id)
    if config.settings == new:
        raise Refusal("invalid", "settings.draws changes nothing")
    config.set(settings=new, actor=command.actor_id)
    return [config]


# ---------------------------------------------------------------------------
# A result as a signal to the class (not an override).


class ClassSignal(LedgerAggregate):
    """One signal about a firm's class, caused by a disclosed result."""

    signal_id: str
    uscc: str
    task_id: str
    suggests: str
    reason: str

    @staticmethod
    def create_id(signal_id: str, **_: Any) -> UUID:
        return natural_id("class-signal", signal_id)

    @event("Recorded")
    def __init__(self, signal_id: str, uscc: str, task_id: str, suggests: str, reason: str, actor: str) -> None:
        self.signal_id = signal_id
        self.uscc = uscc
        self.task_id = task_id
        self.suggests = suggests
        self.reason = reason


class SignalBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    uscc: str
    suggests: str  # raise | lower | note
    reason: str


def result_disclosed(state: State, task_id: str, uscc: str) -> bool:
    """Whether the result of `uscc` in `task_id` is disclosed (已公示)."""
    from ledger.domain.results import InspectionResult

    result = state.get(InspectionResult, InspectionResult.create_id(task_id, uscc))
    if result is None:
        return False
    # The review workflow may keep a status (待审核/审核不通过/已公示) beside the flag.
    return bool(getattr(result, "disclosed", False)) or getattr(result, "status", None) in ("disclosed", "已公示")


@command("class.signal", "reviewer")
def decide_signal(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    """A reviewer of the task's lead department records what a disclosed result suggests for the
    firm's class; one signal per result."""
    from ledger.domain.draws import Task

    body: SignalBody = command.body(SignalBody)
    where = f"signal for {short(body.uscc)} in task {short(body.task_id)}"
    if body.suggests not in SIGNALS:
        raise Refusal("invalid", f"{where}: suggests must be one of {', '.join(SIGNALS)}")
    need_text("reason", body.reason)
    task = state.get(Task, Task.create_id(body.task_id))
    if task is None:
        raise Refusal("unknown_task", f"unknown task {short(body.task_id)!r}")
    require_jurisdiction(state, command, task.departments[0], where)
    if not result_disclosed(state, body.task_id, body.uscc):
        raise Refusal("not_disclosed", f"{where}: a signal's cause is a disclosed result; none is disclosed")
    signal_id = f"{body.task_id}/{body.uscc}"
    if state.get(ClassSignal, ClassSignal.create_id(signal_id)) is not None:
        raise Refusal("duplicate", f"{where}: the result already has its signal")
    return [ClassSignal(signal_id=signal_id, uscc=body.uscc, task_id=body.task_id, suggests=body.suggests,
                        reason=body.reason, actor=command.actor_id)]
