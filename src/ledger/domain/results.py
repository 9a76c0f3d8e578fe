"""Inspection results under enforcement (平台之外无抽查, 谁检查、谁录入、谁负责), then
review and disclosure by the department (谁检查、谁公开).

`InspectionResult`, one per (task, target, department): in a joint task
(一联合) each participating department records its own result for its own
items. A result is a multi-select of categories from the configurable tree
(domain/result_categories.toml, settings.results), with follow-ups (后续处置)
each due on its own date, and SHA-256 hashes of evidence files (never the
files). Its states, as on real platforms:

    (待录入: drawn, nothing recorded) --result.record--> 待审核 (submitted)
    待审核 --result.return (reviewer, reason)--> 审核不通过 (returned)
    审核不通过 --result.correct (inspector, reason)--> 待审核
    待审核 --result.disclose (reviewer: approve and publish)--> 已公示 (disclosed)

The inspector may correct while the result is not published (the original
stays in the log; each correction names its reason). A reviewer of the
department (role reviewer, jurisdiction over it) approves and publishes,
never one who inspected the target or signed a version of the result.

The decisions accept a result only for a target a standing draw of the task
selected, from an inspector that draw assigned to it, for items on the task
that belong to the inspector's department, inspected within the window.
They read the task's draw from the Task aggregate (derived from events), so
`verify`, re-executing them, refuses any result the rules do not allow.

Deadlines count working days with the calendar recorded in the ledger; a
year without a recorded schedule is counted on weekends alone and the
deadline is marked provisional (never refused).

Everything here is pure: no I/O, no clock (the ledger's time comes in).
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, natural_id
from ledger.domain.commands import (
    Command,
    Refusal,
    State,
    command,
    need_text,
    require_jurisdiction,
    short,
)
from ledger.domain.reference import FOLLOW_UP_BY_CODE, INSPECTION_METHODS, check_selection, codes
from ledger.domain.settings import ResultsSettings, apply_rule, results_settings, work_calendar
from ledger.domain.workdays import Due, WorkCalendar

if TYPE_CHECKING:
    from ledger.domain.draws import Task


RECORD: Final = "result.record"
CORRECT: Final = "result.correct"
RETURN: Final = "result.return"
DISCLOSE: Final = "result.disclose"
FOLLOW_UP_DONE: Final = "result.follow_up_done"
COMMAND_NAMES: Final = (RECORD, CORRECT, RETURN, DISCLOSE, FOLLOW_UP_DONE)

# The states of a result (待录入 is the absence of one for a drawn target and department).
TO_ENTER: Final = "to_enter"
SUBMITTED: Final = "submitted"
RETURNED: Final = "returned"
DISCLOSED: Final = "disclosed"
STATE_LABELS: Final = {TO_ENTER: "待录入", SUBMITTED: "待审核", RETURNED: "审核不通过", DISCLOSED: "已公示"}

# Why a result command was refused: stable codes (reports and APIs key on them),
# besides the codes every command shares (domain/commands.py AUTH_CODES).
REFUSAL_CODES: Final = {
    "unknown_task": "no such task",
    "task_not_drawn": "the task has no standing draw",
    "target_not_drawn": "the target was not drawn (平台之外无抽查)",
    "inspector_not_assigned": "the inspector was not assigned to the target",
    "department_not_in_task": "the department does not take part in the task",
    "outside_window": "the inspection date is outside the task window",
    "item_not_on_task": "an item is not on the task (清单之外无检查)",
    "item_of_other_department": "an item belongs to another department of the joint task",
    "unknown_category": "a result category is not in the settings",
    "invalid_categories": "the selected categories break a rule of the category tree",
    "follow_up_without_problem": "a follow-up (后续处置) needs a problem category",
    "duplicate_result": "the department already has a result for the target in this task",
    "no_result": "the department has no result for the target in this task yet",
    "not_submitted": "the result is not awaiting review (待审核)",
    "self_review": "the reviewer inspected the target or signed the result",
    "already_disclosed": "the result is already disclosed",
    "unknown_follow_up": "the result has no such follow-up",
    "follow_up_already_done": "the follow-up is already done",
}

SHA256: Final = re.compile(r"^[0-9a-f]{64}$")
EVIDENCE_KINDS: Final = ("photo", "record", "document", "other")  # 照片, 检查记录, 文书, 其他
MAX_EVIDENCE: Final = 200


def result_key(task_id: str, uscc: str, department: str | None = None) -> str:
    """The result's natural key: TASK/USCC for the task's lead department (as
    before joint results: every single-department result keeps it), and
    TASK/USCC/DEPARTMENT for a participating department of a joint task."""
    return f"{task_id}/{uscc}" if department is None else f"{task_id}/{uscc}/{department}"


def key_part(task: Task, department: str) -> str | None:
    """The department part of a result key: None for the task's lead department."""
    return None if department == task.departments[0] else department


def result_cause(task_id: str, uscc: str, version: int, department: str | None = None) -> str:
    """How a reclassification names the result event behind it."""
    return f"result:{result_key(task_id, uscc, department)}@{version}"


# ---------------------------------------------------------------------------
# The signed command bodies: what the inspector or reviewer signs, field for field.


class Evidence(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An evidence file by its SHA-256 (photo, 检查记录): the file stays with the department."""

    sha256: str
    name: str
    kind: str = "other"


class FollowUp(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A follow-up (后续处置) as the inspector asks for it."""

    kind: str
    to_department: str | None = None  # 抄告: the department told
    note: str = ""


class RecordBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    uscc: str
    categories: tuple[str, ...] = ()  # the multi-select
    category: str = ""  # one category: the form before multi-select (still accepted; give one of the two)
    findings: str
    methods: tuple[str, ...]
    items: tuple[str, ...]
    inspected_on: date
    evidence: tuple[Evidence, ...] = ()
    follow_ups: tuple[FollowUp, ...] = ()

    def selected(self) -> tuple[str, ...]:
        if self.categories and self.category:
            raise Refusal("invalid", "give either categories or category, not both")
        return self.categories or ((self.category,) if self.category else ())


class CorrectBody(RecordBody, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: str


class DiscloseBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Approve and publish (审核通过并公示). department None: the task's lead department."""

    task_id: str
    uscc: str
    department: str | None = None


class ReturnBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """审核不通过: back to the inspector with the reason."""

    task_id: str
    uscc: str
    department: str | None = None
    reason: str


class FollowUpDoneBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    uscc: str
    department: str | None = None
    kind: str
    to_department: str | None = None
    note: str


BODY_TYPES: Final[dict[str, type[msgspec.Struct]]] = {
    RECORD: RecordBody, CORRECT: CorrectBody, RETURN: ReturnBody, DISCLOSE: DiscloseBody,
    FOLLOW_UP_DONE: FollowUpDoneBody,
}


def body_dict(body: msgspec.Struct) -> dict[str, Any]:
    """The JSON-native dict that is signed for `body` (dates as ISO strings)."""
    return msgspec.to_builtins(body)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------
# What the aggregate keeps of a follow-up.


class FollowUpState(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    to_department: str | None
    note: str
    due: date
    provisional: bool
    done_on: date | None = None
    done_by: str | None = None
    done_note: str = ""

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.kind, self.to_department)


# ---------------------------------------------------------------------------
# Enforcement: the pure rule behind "no inspection outside the platform".


def check_content(task: Task, department: str, item_departments: dict[str, str], body: RecordBody,
                  settings: ResultsSettings, methods: set[str], today: date) -> tuple[str, ...]:
    """The recorded content; the selected categories."""
    selected = body.selected()
    categories = settings.result_categories()
    known = {c.code for c in categories}
    unknown = [short(c) for c in selected if c not in known]
    if unknown:
        raise Refusal("unknown_category", f"unknown result category {', '.join(unknown)}; known:"
                                          f" {', '.join(sorted(known))}")
    problem = check_selection(selected, categories)
    if problem:
        raise Refusal("invalid_categories", problem)
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
    others = [f"{i} ({item_departments.get(i)})" for i in body.items if item_departments.get(i) != department]
    if others:
        raise Refusal("item_of_other_department", f"item(s) {', '.join(others)} are not {department}'s: each department"
                                                  " of a joint task records its own items")
    if not task.window_start <= body.inspected_on <= task.window_end:
        raise Refusal("outside_window", f"inspected on {body.inspected_on}, outside the task window"
                                        f" {task.window_start}..{task.window_end}")
    if body.inspected_on > today:
        raise Refusal("outside_window", f"inspected on {body.inspected_on}, which is after today ({today})")
    check_evidence(body.evidence)
    by_code = {c.code: c for c in categories}
    if body.follow_ups and not any(by_code[c].problem for c in selected):
        raise Refusal("follow_up_without_problem", "follow-ups (后续处置) need at least one problem category")
    keys = [(f.kind, f.to_department) for f in body.follow_ups]
    if len(set(keys)) != len(keys):
        raise Refusal("invalid", "a follow-up is named twice")
    for f in body.follow_ups:
        kind = FOLLOW_UP_BY_CODE.get(f.kind)
        if kind is None:
            raise Refusal("invalid", f"unknown follow-up {short(f.kind)!r}; known: {', '.join(FOLLOW_UP_BY_CODE)}")
        if kind.needs_department != (f.to_department is not None):
            raise Refusal("invalid", f"follow-up {f.kind}: " + ("name the department told (抄告)" if
                                                               kind.needs_department else "takes no department"))
        if len(f.note) > 2000:
            raise Refusal("invalid", f"follow-up {f.kind}: note longer than 2000 characters")
    return selected


def check_evidence(evidence: tuple[Evidence, ...]) -> None:
    if len(evidence) > MAX_EVIDENCE:
        raise Refusal("invalid", f"at most {MAX_EVIDENCE} evidence files")
    if len({e.sha256 for e in evidence}) != len(evidence):
        raise Refusal("invalid", "an evidence file is listed twice")
    for e in evidence:
        if not SHA256.match(e.sha256):
            raise Refusal("invalid", f"evidence {short(e.name)!r}: sha256 must be 64 lower-case hex digits (the"
                                     " file's hash, never the file)")
        need_text("evidence name", e.name, 255)
        if e.kind not in EVIDENCE_KINDS:
            raise Refusal("invalid", f"evidence {short(e.name)!r}: kind must be one of {', '.join(EVIDENCE_KINDS)}")


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


def inspector_department(state: State, task: Task, badge: str) -> str:
    """The department the inspector records for: its directory record's, one of the task's."""
    from ledger.domain.directory import Inspector

    found = state.get(Inspector, Inspector.id_for(badge))
    department = found.record.department if found is not None else None
    if department is None or department not in task.departments:
        raise Refusal("department_not_in_task", f"{badge}'s department {department} does not take part in task"
                                                f" {task.task_id} ({', '.join(task.departments)})")
    return department


def item_departments(state: State, items: tuple[str, ...]) -> dict[str, str]:
    from ledger.domain.directory import InspectionItem

    out: dict[str, str] = {}
    for code in items:
        found = state.get(InspectionItem, InspectionItem.id_for(code))
        if found is not None:
            out[code] = found.record.department
    return out


def department_results(state: State, task: Task, uscc: str) -> list[InspectionResult]:
    """Every department's result for `uscc` in `task` (lead first)."""
    found = (state.get(InspectionResult, InspectionResult.create_id(task.task_id, uscc, key_part(task, d)))
             for d in task.departments)
    return [r for r in found if r is not None]


# ---------------------------------------------------------------------------
# Deadlines in working days (never refused: provisional where a year has no schedule).


class Deadlines(msgspec.Struct, frozen=True, kw_only=True):
    result_due: date
    late: bool
    disclosure_due: date
    provisional: bool


def result_due(window_end: date, working_days: int, calendar: WorkCalendar) -> Due:
    """Results are due (录入) `working_days` working days after the window ends."""
    return calendar.due(window_end, working_days)


def disclosure_due(inspected_on: date, working_days: int, calendar: WorkCalendar) -> Due:
    """公示 is due `working_days` working days from the end of the inspection (产生之日)."""
    return calendar.due(inspected_on, working_days)


def deadlines(window_end: date, inspected_on: date, recorded_on: date, result_days: int, disclosure_days: int,
              calendar: WorkCalendar) -> Deadlines:
    entry = result_due(window_end, result_days, calendar)
    publish = disclosure_due(inspected_on, disclosure_days, calendar)
    return Deadlines(result_due=entry.day, late=recorded_on > entry.day, disclosure_due=publish.day,
                     provisional=entry.provisional or publish.provisional)


def follow_up_states(asked: tuple[FollowUp, ...], kept: tuple[FollowUpState, ...], inspected_on: date,
                     settings: ResultsSettings, calendar: WorkCalendar) -> tuple[FollowUpState, ...]:
    """The follow-ups of a new version: those kept keep their state; a done one cannot be dropped."""
    old = {f.key: f for f in kept}
    new_keys = {(f.kind, f.to_department) for f in asked}
    dropped = [f"{f.kind}" for f in kept if f.done_on is not None and f.key not in new_keys]
    if dropped:
        raise Refusal("invalid", f"follow-up(s) {', '.join(dropped)} are done and cannot be dropped")
    out = []
    for f in asked:
        before = old.get((f.kind, f.to_department))
        if before is not None and before.done_on is not None:
            out.append(msgspec.structs.replace(before, note=f.note))
            continue
        due = calendar.due(inspected_on, settings.follow_up_due_working_days.get(f.kind, 10))
        out.append(FollowUpState(kind=f.kind, to_department=f.to_department, note=f.note, due=due.day,
                                 provisional=due.provisional))
    return tuple(out)


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
    """One department's result for one target in one task: its versions, review and disclosure."""

    task_id: str
    uscc: str
    department: str
    key_department: str | None  # None for the task's lead department (result_key)
    categories: tuple[str, ...]
    findings: str
    methods: tuple[str, ...]
    items: tuple[str, ...]
    inspected_on: date
    evidence: tuple[Evidence, ...]
    follow_ups: tuple[FollowUpState, ...]
    recorded_by: str
    recorded_on: date
    result_due: date
    disclosure_due: date
    provisional: bool
    original_categories: tuple[str, ...]
    corrections: int
    signers: tuple[str, ...]  # every inspector who signed a version (none of them may review it)
    state: str
    returns: int
    return_reason: str
    disclosed: bool
    disclosed_by: str | None

    @property
    def category(self) -> str:
        """The first selected category (views and reports of one category)."""
        return self.categories[0]

    @staticmethod
    def create_id(task_id: str, uscc: str, key_department: str | None = None, **_: Any) -> UUID:
        """By result_key: `key_department` None for the lead department (key_part)."""
        return natural_id("result", result_key(task_id, uscc, key_department))

    @event("Recorded")
    def __init__(self, task_id: str, uscc: str, department: str, key_department: str | None,
                 categories: tuple[str, ...], findings: str, methods: tuple[str, ...], items: tuple[str, ...],
                 inspected_on: date, evidence: tuple[Evidence, ...], follow_ups: tuple[FollowUpState, ...],
                 recorded_on: date, result_due: date, late: bool, disclosure_due: date, provisional: bool,
                 actor: str) -> None:
        self.task_id = task_id
        self.uscc = uscc
        self.department = department
        self.key_department = key_department
        self.categories = categories
        self.findings = findings
        self.methods = methods
        self.items = items
        self.inspected_on = inspected_on
        self.evidence = evidence
        self.follow_ups = follow_ups
        self.recorded_by = actor
        self.recorded_on = recorded_on
        self.result_due = result_due
        self.disclosure_due = disclosure_due
        self.provisional = provisional
        self.original_categories = categories
        self.corrections = 0
        self.signers = (actor,)
        self.state = SUBMITTED
        self.returns = 0
        self.return_reason = ""
        self.disclosed = False
        self.disclosed_by = None

    @event("Corrected")
    def correct(self, task_id: str, uscc: str, department: str, categories: tuple[str, ...], findings: str,
                methods: tuple[str, ...], items: tuple[str, ...], inspected_on: date, evidence: tuple[Evidence, ...],
                follow_ups: tuple[FollowUpState, ...], reason: str, previous_categories: tuple[str, ...],
                resubmitted: bool, disclosure_due: date, provisional: bool, actor: str) -> None:
        """A new version of the result (a correction of a returned one resubmits it); the earlier events stay."""
        self.categories = categories
        self.findings = findings
        self.methods = methods
        self.items = items
        self.inspected_on = inspected_on
        self.evidence = evidence
        self.follow_ups = follow_ups
        self.disclosure_due = disclosure_due
        self.provisional = provisional
        self.corrections += 1
        if actor not in self.signers:
            self.signers = (*self.signers, actor)
        self.state = SUBMITTED

    @event("Returned")
    def send_back(self, task_id: str, uscc: str, department: str, reason: str, actor: str) -> None:
        """审核不通过: back to the inspector with the reason."""
        self.state = RETURNED
        self.returns += 1
        self.return_reason = reason

    @event("Disclosed")
    def disclose(self, task_id: str, uscc: str, department: str, disclosed_on: date, disclosure_due: date,
                 late: bool, provisional: bool, actor: str) -> None:
        """Approved and published (已公示) by a reviewer of the department."""
        self.state = DISCLOSED
        self.disclosed = True
        self.disclosed_by = actor

    @event("FollowUpDone")
    def follow_up_done(self, task_id: str, uscc: str, department: str, kind: str, to_department: str | None,
                       done_on: date, due: date, late: bool, note: str, actor: str) -> None:
        self.follow_ups = tuple(
            msgspec.structs.replace(f, done_on=done_on, done_by=actor, done_note=note)
            if f.key == (kind, to_department) else f for f in self.follow_ups)


# ---------------------------------------------------------------------------
# Decisions.

METHODS: Final = frozenset(codes(INSPECTION_METHODS))


def _credit_feedback(state: State, result: InspectionResult, categories: tuple[str, ...], previous: bool,
                     actor: str) -> LedgerAggregate | None:
    """Reclassify the entity as the credit rules say; the event names the result behind it.

    Several categories: the highest class any of their rules gives. A
    correction starts from the class before this result's own last change,
    so a withdrawn finding stops counting.
    """
    from ledger.domain.directory import Entity
    from ledger.domain.settings import RISK_ORDER

    entity = state.get_for_update(Entity, Entity.id_for(result.uscc))
    if entity is None:
        return None
    current = entity.record.risk_class
    base = current
    part = result.key_department
    mine = f"result:{result_key(result.task_id, result.uscc, part)}@"
    if previous and entity.last_cause is not None and entity.last_cause.startswith(mine):
        base = entity.class_before_last
    rules = results_settings(state).credit_rules
    targets = [apply_rule(rules[c], base) for c in categories if c in rules]
    target = max(targets, key=RISK_ORDER.index) if targets else base
    if target == current:
        return None
    entity.reclassify(uscc=result.uscc, risk_class=target, previous=current,
                      reason=f"credit feedback: result categories {', '.join(categories)}",
                      cause=result_cause(result.task_id, result.uscc, result.version, part), actor=actor)
    return entity


def _inspector_side(state: State, command: Command, body: RecordBody) -> tuple[Task, str, tuple[str, ...]]:
    """Task, department and selected categories of a record/correct, once every rule allows it."""
    badge = command.actor_id
    task = assigned_task(state, body.task_id, body.uscc, badge)
    department = inspector_department(state, task, badge)
    # The badge's directory record names its department, and actor.register ties an inspector
    # actor to it; one registered before its badge was imported, or whose badge moved since (a
    # transfer its admin has not followed), must not record this department's results.
    require_jurisdiction(state, command, department, f"result of {body.uscc} in task {body.task_id}")
    settings = results_settings(state)
    selected = check_content(task, department, item_departments(state, body.items), body, settings, set(METHODS),
                             command.today)
    return task, department, selected


@command("result.record", "inspector")
def decide_record(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body: RecordBody = command.body(RecordBody)
    badge = command.actor_id
    task, department, selected = _inspector_side(state, command, body)
    part = key_part(task, department)
    if state.get(InspectionResult, InspectionResult.create_id(body.task_id, body.uscc, part)) is not None:
        raise Refusal("duplicate_result", f"{body.uscc} already has a result of {department} in task {body.task_id}:"
                                          " use `result correct` with a reason")
    settings, calendar = results_settings(state), work_calendar(state)
    due = deadlines(task.window_end, body.inspected_on, command.today, settings.results_due_working_days,
                    settings.disclosure_due_working_days, calendar)
    result = InspectionResult(
        task_id=body.task_id, uscc=body.uscc, department=department, key_department=part, categories=selected,
        findings=body.findings, methods=body.methods, items=body.items, inspected_on=body.inspected_on,
        evidence=body.evidence, follow_ups=follow_up_states(body.follow_ups, (), body.inspected_on, settings, calendar),
        recorded_on=command.today, result_due=due.result_due, late=due.late, disclosure_due=due.disclosure_due,
        provisional=due.provisional, actor=badge,
    )
    feedback = _credit_feedback(state, result, selected, False, badge)
    return [result] + ([feedback] if feedback else [])


@command("result.correct", "inspector")
def decide_correct(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body: CorrectBody = command.body(CorrectBody)
    badge = command.actor_id
    task, department, selected = _inspector_side(state, command, body)
    need_text("reason", body.reason)
    result = state.get_for_update(InspectionResult,
                                  InspectionResult.create_id(body.task_id, body.uscc, key_part(task, department)))
    if result is None:
        raise Refusal("no_result", f"{body.uscc} has no result of {department} in task {body.task_id} yet")
    if result.disclosed:
        raise Refusal("already_disclosed", f"the result of {body.uscc} ({department}) in task {body.task_id} is"
                                           " published: it is no longer the inspector's to change")
    settings, calendar = results_settings(state), work_calendar(state)
    follow_ups = follow_up_states(body.follow_ups, result.follow_ups, body.inspected_on, settings, calendar)
    new = (selected, body.findings, body.methods, body.items, body.inspected_on, body.evidence,
           tuple((f.kind, f.to_department, f.note) for f in follow_ups))
    old = (result.categories, result.findings, result.methods, result.items, result.inspected_on, result.evidence,
           tuple((f.kind, f.to_department, f.note) for f in result.follow_ups))
    if new == old:
        raise Refusal("invalid", "the correction changes nothing")
    publish = disclosure_due(body.inspected_on, settings.disclosure_due_working_days, calendar)
    previous = result.categories
    result.correct(task_id=body.task_id, uscc=body.uscc, department=department, categories=selected,
                   findings=body.findings, methods=body.methods, items=body.items, inspected_on=body.inspected_on,
                   evidence=body.evidence, follow_ups=follow_ups, reason=body.reason, previous_categories=previous,
                   resubmitted=result.state == RETURNED, disclosure_due=publish.day,
                   provisional=publish.provisional or result.provisional, actor=badge)
    feedback = _credit_feedback(state, result, selected, True, badge) if selected != previous else None
    return [result] + ([feedback] if feedback else [])


def _reviewed(state: State, command: Command, task_id: str, uscc: str, department: str | None,
              roles: tuple[str, ...] = ("reviewer",)) -> tuple[Task, InspectionResult]:
    """The task and a private copy of the department's result, for an actor of the department."""
    from ledger.domain.draws import Task

    task = state.get(Task, Task.create_id(task_id))
    if task is None:
        raise Refusal("unknown_task", f"unknown task {short(task_id)!r}")
    dept = department or task.departments[0]
    if dept not in task.departments:
        raise Refusal("department_not_in_task", f"{short(dept)} does not take part in task {task_id}"
                                                f" ({', '.join(task.departments)})")
    require_jurisdiction(state, command, dept, f"result of {uscc} in task {task_id}")
    result = state.get_for_update(InspectionResult, InspectionResult.create_id(task_id, uscc, key_part(task, dept)))
    if result is None:
        raise Refusal("no_result", f"{uscc} has no result of {dept} in task {task_id} yet")
    return task, result


def _not_self(task: Task, result: InspectionResult, actor: str) -> None:
    team = task.team_of(result.uscc)
    if actor in result.signers or (team is not None and actor in team.inspectors):
        raise Refusal("self_review", f"{actor!r} inspected {result.uscc} or signed its result: another reviewer of"
                                     f" {result.department} reviews it")


@command("result.return", "reviewer")
def decide_return(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body: ReturnBody = command.body(ReturnBody)
    task, result = _reviewed(state, command, body.task_id, body.uscc, body.department)
    _not_self(task, result, command.actor_id)
    need_text("reason", body.reason)
    if result.state != SUBMITTED:
        raise Refusal("already_disclosed" if result.disclosed else "not_submitted",
                      f"the result of {body.uscc} ({result.department}) is {STATE_LABELS[result.state]}, not 待审核")
    result.send_back(task_id=body.task_id, uscc=body.uscc, department=result.department, reason=body.reason,
                     actor=command.actor_id)
    return [result]


@command("result.disclose", "reviewer")
def decide_disclose(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body: DiscloseBody = command.body(DiscloseBody)
    task, result = _reviewed(state, command, body.task_id, body.uscc, body.department)
    _not_self(task, result, command.actor_id)
    if result.disclosed:
        raise Refusal("already_disclosed", f"the result of {body.uscc} ({result.department}) in task {body.task_id}"
                                           " is already disclosed")
    if result.state != SUBMITTED:
        raise Refusal("not_submitted", f"the result of {body.uscc} ({result.department}) is"
                                       f" {STATE_LABELS[result.state]}: the inspector corrects and resubmits it first")
    due = disclosure_due(result.inspected_on, results_settings(state).disclosure_due_working_days, work_calendar(state))
    result.disclose(task_id=body.task_id, uscc=body.uscc, department=result.department, disclosed_on=command.today,
                    disclosure_due=due.day, late=command.today > due.day, provisional=due.provisional,
                    actor=command.actor_id)
    return [result]


@command("result.follow_up_done", "inspector", "reviewer")
def decide_follow_up_done(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body: FollowUpDoneBody = command.body(FollowUpDoneBody)
    task, result = _reviewed(state, command, body.task_id, body.uscc, body.department)
    if "reviewer" not in command.actor.roles:
        team = task.team_of(body.uscc)
        if team is None or command.actor_id not in team.inspectors:
            raise Refusal("inspector_not_assigned", f"{command.actor_id} was not assigned to {body.uscc} in task"
                                                    f" {body.task_id}")
    need_text("note", body.note)
    found = next((f for f in result.follow_ups if f.key == (body.kind, body.to_department)), None)
    if found is None:
        raise Refusal("unknown_follow_up", f"the result of {body.uscc} ({result.department}) has no follow-up"
                                           f" {short(body.kind)}" + (f" to {body.to_department}"
                                                                     if body.to_department else ""))
    if found.done_on is not None:
        raise Refusal("follow_up_already_done", f"follow-up {body.kind} was done on {found.done_on}")
    due = found.due
    if found.provisional:  # recount with the calendar recorded since
        due = work_calendar(state).due(result.inspected_on,
                                       results_settings(state).follow_up_due_working_days.get(body.kind, 10)).day
    result.follow_up_done(task_id=body.task_id, uscc=body.uscc, department=result.department, kind=body.kind,
                          to_department=body.to_department, done_on=command.today, due=due,
                          late=command.today > due, note=body.note, actor=command.actor_id)
    return [result]
