"""Inspection results under enforcement (平台之外无抽查, 谁检查、谁录入、谁负责).

`InspectionResult`, one per (task, target): `Recorded` once, then any number
of `Corrected` (the original stays in the log; each correction names its
reason), then `Disclosed` (公示). The decisions below accept a result only
for a target a standing draw of the task selected, from an inspector that
draw assigned to it, for items on the task, inspected within the window.
They read the task's draw from the Task aggregate (derived from events), so
`verify`, re-executing them, refuses any result the rules do not allow.

Everything here is pure: no I/O, no clock (the ledger's time comes in).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, natural_id
from ledger.domain.commands import Command, Refusal, State, command, need_text, short
from ledger.domain.reference import INSPECTION_METHODS, codes
from ledger.domain.settings import apply_rule, results_settings, work_calendar
from ledger.domain.workdays import CalendarNotCovered, WorkCalendar

if TYPE_CHECKING:
    from ledger.domain.draws import Task


RECORD: Final = "result.record"
CORRECT: Final = "result.correct"
DISCLOSE: Final = "result.disclose"
COMMAND_NAMES: Final = (RECORD, CORRECT, DISCLOSE)

# Why a result command was refused: stable codes (reports and APIs key on them),
# besides the codes every command shares (domain/commands.py AUTH_CODES).
REFUSAL_CODES: Final = {
    "unknown_task": "no such task",
    "task_not_drawn": "the task has no standing draw",
    "target_not_drawn": "the target was not drawn (平台之外无抽查)",
    "inspector_not_assigned": "the inspector was not assigned to the target",
    "outside_window": "the inspection date is outside the task window",
    "item_not_on_task": "an item is not on the task (清单之外无检查)",
    "unknown_category": "the result category is not in the settings",
    "duplicate_result": "the target already has a result in this task",
    "no_result": "the target has no result in this task yet",
    "already_disclosed": "the result is already disclosed",
    "calendar_not_covered": "a deadline falls in a year without working-day data",
}


def result_key(task_id: str, uscc: str) -> str:
    return f"{task_id}/{uscc}"


def result_cause(task_id: str, uscc: str, version: int) -> str:
    """How a reclassification names the result event behind it."""
    return f"result:{result_key(task_id, uscc)}@{version}"


# ---------------------------------------------------------------------------
# The signed command bodies: what the inspector signs, field for field.


class RecordBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    uscc: str
    category: str
    findings: str
    methods: tuple[str, ...]
    items: tuple[str, ...]
    inspected_on: date


class CorrectBody(RecordBody, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: str


class DiscloseBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    uscc: str


BODY_TYPES: Final[dict[str, type[msgspec.Struct]]] = {RECORD: RecordBody, CORRECT: CorrectBody, DISCLOSE: DiscloseBody}


def body_dict(body: msgspec.Struct) -> dict[str, Any]:
    """The JSON-native dict that is signed for `body` (dates as ISO strings)."""
    return msgspec.to_builtins(body)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------
# Enforcement: the pure rule behind "no inspection outside the platform".


def check_content(task: Task, body: RecordBody, categories: set[str], methods: set[str], today: date) -> None:
    """The recorded content: category, methods, items on the task, date in the window."""
    if body.category not in categories:
        raise Refusal("unknown_category", f"unknown result category {short(body.category)!r}; known:"
                                          f" {', '.join(sorted(categories))}")
    if not body.findings.strip() or len(body.findings) > 10_000:
        raise Refusal("invalid", "findings must be 1-10000 characters")
    if not body.methods or len(set(body.methods)) != len(body.methods):
        raise Refusal("invalid", "name at least one inspection method, each once")
    unknown = [short(m) for m in body.methods if m not in methods]
    if unknown:
        raise Refusal("invalid", f"unknown inspection method(s) {', '.join(unknown)}")
    if not body.items or len(set(body.items)) != len(body.items):
        raise Refusal("invalid", "name at least one inspected item, each once")
    off_task = [short(i) for i in body.items if i not in task.items]
    if off_task:
        raise Refusal("item_not_on_task", f"item(s) {', '.join(off_task)} are not on task {task.task_id} (清单之外无检查)")
    if not task.window_start <= body.inspected_on <= task.window_end:
        raise Refusal("outside_window", f"inspected on {body.inspected_on}, outside the task window"
                                        f" {task.window_start}..{task.window_end}")
    if body.inspected_on > today:
        raise Refusal("outside_window", f"inspected on {body.inspected_on}, which is after today ({today})")


def assigned_task(state: State, task_id: str, uscc: str, badge: str) -> Task:
    """The task, once a standing draw of it assigned `badge` to `uscc`."""
    from ledger.domain.draws import Task

    task = state.get(Task, Task.create_id(task_id))
    if task is None:
        raise Refusal("unknown_task", f"unknown task {short(task_id)!r}")
    if not task.drawn:
        raise Refusal("task_not_drawn", f"task {task_id} has no standing draw")
    team = task.team_of(uscc)
    if team is None:
        raise Refusal("target_not_drawn", f"{short(uscc)} was not drawn in task {task_id} (平台之外无抽查)")
    if badge not in team.inspectors:
        raise Refusal("inspector_not_assigned",
                      f"{badge} was not assigned to {uscc} in task {task_id} (assigned: {', '.join(team.inspectors)})")
    return task


# ---------------------------------------------------------------------------
# Deadlines in working days.


class Deadlines(msgspec.Struct, frozen=True, kw_only=True):
    result_due: date
    late: bool
    disclosure_due: date


def result_due(window_end: date, working_days: int, calendar: WorkCalendar) -> date:
    """Results are due `working_days` working days after the window ends."""
    return calendar.add_working_days(window_end, working_days)


def deadlines(window_end: date, recorded_on: date, result_days: int, disclosure_days: int,
              calendar: WorkCalendar) -> Deadlines:
    """Raises CalendarNotCovered if either deadline needs a year with no schedule."""
    due = result_due(window_end, result_days, calendar)
    return Deadlines(result_due=due, late=recorded_on > due,
                     disclosure_due=calendar.add_working_days(recorded_on, disclosure_days))


# ---------------------------------------------------------------------------
# Masking inspectors' personal data in public views.

def mask_name(name: str) -> str:
    """Keep the surname (first character): 张三丰 -> 张**."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_badge(badge: str) -> str:
    """Keep the last two characters: XY-SCJG-0007 -> **********07."""
    return "*" * max(len(badge) - 2, 1) + badge[-2:]


# ---------------------------------------------------------------------------
# Aggregates.


class InspectionResult(LedgerAggregate):
    """The result of one target in one task, with its corrections and disclosure."""

    task_id: str
    uscc: str
    category: str
    findings: str
    methods: tuple[str, ...]
    items: tuple[str, ...]
    inspected_on: date
    recorded_by: str
    recorded_on: date
    result_due: date
    disclosure_due: date
    original_category: str
    corrections: int
    disclosed: bool

    @staticmethod
    def create_id(task_id: str, uscc: str, **_: Any) -> UUID:
        return natural_id("result", result_key(task_id, uscc))

    @event("Recorded")
    def __init__(self, task_id: str, uscc: str, category: str, findings: str, methods: tuple[str, ...],
                 items: tuple[str, ...], inspected_on: date, recorded_on: date, result_due: date, late: bool,
                 disclosure_due: date, actor: str) -> None:
        self.task_id = task_id
        self.uscc = uscc
        self.category = category
        self.findings = findings
        self.methods = methods
        self.items = items
        self.inspected_on = inspected_on
        self.recorded_by = actor
        self.recorded_on = recorded_on
        self.result_due = result_due
        self.disclosure_due = disclosure_due
        self.original_category = category
        self.corrections = 0
        self.disclosed = False

    @event("Corrected")
    def correct(self, task_id: str, uscc: str, category: str, findings: str, methods: tuple[str, ...],
                items: tuple[str, ...], inspected_on: date, reason: str, previous_category: str,
                actor: str) -> None:
        """A new version of the result; the earlier events stay in the log."""
        self.category = category
        self.findings = findings
        self.methods = methods
        self.items = items
        self.inspected_on = inspected_on
        self.corrections += 1

    @event("Disclosed")
    def disclose(self, task_id: str, uscc: str, disclosed_on: date, disclosure_due: date, late: bool,
                 actor: str) -> None:
        self.disclosed = True




# ---------------------------------------------------------------------------
# Decisions.

METHODS: Final = frozenset(codes(INSPECTION_METHODS))


def _credit_feedback(state: State, result: InspectionResult, category: str, previous: str | None,
                     actor: str) -> LedgerAggregate | None:
    """Reclassify the entity as the credit rules say; the event names the result behind it.

    A correction starts from the class before this result's own last change,
    so a withdrawn finding stops counting.
    """
    from ledger.domain.directory import Entity

    entity = state.get_for_update(Entity, Entity.id_for(result.uscc))
    if entity is None:
        return None
    current = entity.record.risk_class
    base = current
    mine = f"result:{result_key(result.task_id, result.uscc)}@"
    if previous is not None and entity.last_cause is not None and entity.last_cause.startswith(mine):
        base = entity.class_before_last
    rule = results_settings(state).credit_rules.get(category)
    target = apply_rule(rule, base) if rule else base
    if target == current:
        return None
    entity.reclassify(uscc=result.uscc, risk_class=target, previous=current,
                      reason=f"credit feedback: result category {category}",
                      cause=result_cause(result.task_id, result.uscc, result.version), actor=actor)
    return entity


@command("result.record", "inspector")
def decide_record(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body: RecordBody = command.body(RecordBody)
    badge = command.actor_id
    task = assigned_task(state, body.task_id, body.uscc, badge)
    settings = results_settings(state)
    check_content(task, body, {c.code for c in settings.result_categories()}, set(METHODS), command.today)
    if state.get(InspectionResult, InspectionResult.create_id(body.task_id, body.uscc)) is not None:
        raise Refusal("duplicate_result", f"{body.uscc} already has a result in task {body.task_id}:"
                                          " use `result correct` with a reason")
    try:
        due = deadlines(task.window_end, command.today, settings.results_due_working_days,
                        settings.disclosure_due_working_days, work_calendar(state))
    except CalendarNotCovered as error:
        raise Refusal("calendar_not_covered", str(error)) from None
    result = InspectionResult(
        task_id=body.task_id, uscc=body.uscc, category=body.category, findings=body.findings,
        methods=body.methods, items=body.items, inspected_on=body.inspected_on, recorded_on=command.today,
        result_due=due.result_due, late=due.late, disclosure_due=due.disclosure_due, actor=badge,
    )
    feedback = _credit_feedback(state, result, body.category, None, badge)
    return [result] + ([feedback] if feedback else [])


@command("result.correct", "inspector")
def decide_correct(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body: CorrectBody = command.body(CorrectBody)
    badge = command.actor_id
    task = assigned_task(state, body.task_id, body.uscc, badge)
    settings = results_settings(state)
    check_content(task, body, {c.code for c in settings.result_categories()}, set(METHODS), command.today)
    need_text("reason", body.reason)
    result = state.get_for_update(InspectionResult, InspectionResult.create_id(body.task_id, body.uscc))
    if result is None:
        raise Refusal("no_result", f"{body.uscc} has no result in task {body.task_id} yet")
    new = (body.category, body.findings, body.methods, body.items, body.inspected_on)
    if new == (result.category, result.findings, result.methods, result.items, result.inspected_on):
        raise Refusal("invalid", "the correction changes nothing")
    previous = result.category
    result.correct(task_id=body.task_id, uscc=body.uscc, category=body.category, findings=body.findings,
                   methods=body.methods, items=body.items, inspected_on=body.inspected_on, reason=body.reason,
                   previous_category=previous, actor=badge)
    feedback = _credit_feedback(state, result, body.category, previous, badge) if body.category != previous else None
    return [result] + ([feedback] if feedback else [])


@command("result.disclose", "inspector")
def decide_disclose(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body: DiscloseBody = command.body(DiscloseBody)
    badge = command.actor_id
    assigned_task(state, body.task_id, body.uscc, badge)
    result = state.get_for_update(InspectionResult, InspectionResult.create_id(body.task_id, body.uscc))
    if result is None:
        raise Refusal("no_result", f"{body.uscc} has no result in task {body.task_id} yet")
    if result.disclosed:
        raise Refusal("already_disclosed", f"the result of {body.uscc} in task {body.task_id} is already disclosed")
    result.disclose(task_id=body.task_id, uscc=body.uscc, disclosed_on=command.today,
                    disclosure_due=result.disclosure_due, late=command.today > result.disclosure_due, actor=badge)
    return [result]
