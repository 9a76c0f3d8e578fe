"""Results: record, correct (inspector), return or approve-and-publish (reviewer), follow-ups done.

The inspector's machine signs `result.record` / `result.correct` with the
inspector's own key; a reviewer of the department signs `result.return` or
`result.disclose` (approve and publish); either signs
`result.follow_up_done`. The ledger's one write path
(services/processor.py) authenticates each and runs the pure rule
(domain/results.py). A refusal is recorded by the processor and comes back
as `CommandRefused` (code, message, receipt); nothing of the attempted
change is written.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from ledger.domain.draws import Task
from ledger.domain.reference import FOLLOW_UP_BY_CODE
from ledger.domain.results import (
    CORRECT,
    DISCLOSE,
    FOLLOW_UP_DONE,
    RECORD,
    RETURN,
    STATE_LABELS,
    CorrectBody,
    DiscloseBody,
    Evidence,
    FollowUp,
    FollowUpDoneBody,
    InspectionResult,
    RecordBody,
    ReturnBody,
    body_dict,
    disclosure_due,
    key_part,
)
from ledger.domain.settings import DEFAULT_SETTINGS, Settings, work_calendar
from ledger.integrity.commands import SignedCommand, sign_command
from ledger.integrity.keys import Signer
from ledger.services.ledger import CommandRefused, LedgerService
from ledger.services.receipts import Receipt
from ledger.services.settings import _AggregateState

__all__ = ["CommandRefused", "CorrectBody", "DiscloseBody", "Evidence", "FollowUp", "FollowUpDoneBody",
           "FollowUpView", "RecordBody", "ResultView", "ReturnBody", "correct", "current", "disclose",
           "evidence_of", "follow_up_done", "record", "send_back", "sign_correct", "sign_disclose",
           "sign_follow_up_done", "sign_record", "sign_return", "task_items"]


class FollowUpView(msgspec.Struct, kw_only=True):
    kind: str
    label: str
    to_department: str | None
    note: str
    due: date
    provisional: bool
    done_on: date | None
    done_by: str | None


class ResultView(msgspec.Struct, kw_only=True):
    task_id: str
    uscc: str
    department: str
    category: str  # the first selected (one-category views)
    category_label: str
    categories: tuple[str, ...]
    category_labels: tuple[str, ...]
    findings: str
    methods: tuple[str, ...]
    items: tuple[str, ...]
    inspected_on: date
    evidence: tuple[Evidence, ...]
    follow_ups: tuple[FollowUpView, ...]
    recorded_by: str
    recorded_on: date
    result_due: date
    disclosure_due: date
    provisional: bool  # a deadline still needs a year with no recorded schedule (weekends only until then)
    corrections: int
    state: str  # submitted | returned | disclosed
    state_label: str  # 待审核 | 审核不通过 | 已公示
    return_reason: str
    disclosed: bool
    disclosed_by: str | None
    version: int
    receipt: Receipt | None = None  # the ledger's signed receipt of the command just submitted


# ---------------------------------------------------------------------------
# Signing (CLI, demo, tests; an HTTP client does the same itself).


def sign_record(signer: Signer, badge: str, body: RecordBody, **kwargs: Any) -> SignedCommand:
    return sign_command(signer, badge, RECORD, body_dict(body), **kwargs)


def sign_correct(signer: Signer, badge: str, body: CorrectBody, **kwargs: Any) -> SignedCommand:
    return sign_command(signer, badge, CORRECT, body_dict(body), **kwargs)


def sign_return(signer: Signer, reviewer: str, body: ReturnBody, **kwargs: Any) -> SignedCommand:
    return sign_command(signer, reviewer, RETURN, body_dict(body), **kwargs)


def sign_disclose(signer: Signer, reviewer: str, body: DiscloseBody, **kwargs: Any) -> SignedCommand:
    return sign_command(signer, reviewer, DISCLOSE, body_dict(body), **kwargs)


def sign_follow_up_done(signer: Signer, actor: str, body: FollowUpDoneBody, **kwargs: Any) -> SignedCommand:
    return sign_command(signer, actor, FOLLOW_UP_DONE, body_dict(body), **kwargs)


def evidence_of(path: Path, kind: str = "other") -> Evidence:
    """An evidence file's entry: its SHA-256, computed here; the file itself never leaves the machine."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return Evidence(sha256=digest.hexdigest(), name=path.name, kind=kind)


# ---------------------------------------------------------------------------
# Submitting.


class _Target(msgspec.Struct):
    task_id: str
    uscc: str
    department: str | None = None


class _Signed(msgspec.Struct):
    actor: str
    body: _Target


def _submit(ledger: LedgerService, signed: SignedCommand) -> ResultView:
    receipt = ledger.submit(signed)  # CommandRefused: refused and recorded
    claim = msgspec.json.decode(signed.command, type=_Signed)
    target = claim.body
    department = target.department or _department_of(ledger, claim.actor)
    view = current(ledger, target.task_id, target.uscc, department)
    assert view is not None, "an accepted result command leaves a result"
    view.receipt = receipt
    return view


def _department_of(ledger: LedgerService, badge: str) -> str | None:
    """The inspector's department (record and correct name none: it is the inspector's)."""
    from ledger.domain.directory import Inspector

    found = ledger.processor.app.find(Inspector.id_for(badge))
    return found.record.department if isinstance(found, Inspector) else None


def record(ledger: LedgerService, signed: SignedCommand) -> ResultView:
    """Submit a signed `result.record`; the result as recorded."""
    return _submit(ledger, signed)


def correct(ledger: LedgerService, signed: SignedCommand) -> ResultView:
    """Submit a signed `result.correct`; the result as corrected (the original stays in the log)."""
    return _submit(ledger, signed)


def send_back(ledger: LedgerService, signed: SignedCommand) -> ResultView:
    """Submit a signed `result.return` (审核不通过); the result, back with the inspector."""
    return _submit(ledger, signed)


def disclose(ledger: LedgerService, signed: SignedCommand) -> ResultView:
    """Submit a signed `result.disclose` (approve and publish); the published result."""
    return _submit(ledger, signed)


def follow_up_done(ledger: LedgerService, signed: SignedCommand) -> ResultView:
    """Submit a signed `result.follow_up_done`; the result with the follow-up done."""
    return _submit(ledger, signed)


# ---------------------------------------------------------------------------
# Reading.


def current(ledger: LedgerService, task_id: str, uscc: str, department: str | None = None) -> ResultView | None:
    """The result of `department` (default: the task's lead) for `uscc` in `task_id`, or None.

    Deadlines stored as provisional are recounted with the calendar recorded
    now (a derived view): they become final once the year's schedule is in.
    """
    app = ledger.processor.app
    task = app.find(Task.create_id(task_id))
    part = key_part(task, department) if isinstance(task, Task) and department else None
    result = app.find(InspectionResult.create_id(task_id, uscc, part))
    if not isinstance(result, InspectionResult):
        return None
    settings = app.find(Settings.ID)
    in_force = settings.results if isinstance(settings, Settings) else DEFAULT_SETTINGS
    labels = {c.code: c.label for c in in_force.result_categories()}
    calendar = work_calendar(_AggregateState(app))
    result_due, publish, provisional = result.result_due, result.disclosure_due, result.provisional
    follow_ups = []
    for f in result.follow_ups:
        due, pending = f.due, f.provisional
        if pending:
            live = calendar.due(result.inspected_on, in_force.follow_up_due_working_days.get(f.kind, 10))
            due, pending = live.day, live.provisional
        kind = FOLLOW_UP_BY_CODE.get(f.kind)
        follow_ups.append(FollowUpView(kind=f.kind, label=kind.label if kind else f.kind, to_department=f.to_department,
                                       note=f.note, due=due, provisional=pending, done_on=f.done_on,
                                       done_by=f.done_by))
    if provisional and isinstance(task, Task):
        entry = calendar.due(task.window_end, in_force.results_due_working_days)
        live = disclosure_due(result.inspected_on, in_force.disclosure_due_working_days, calendar)
        result_due, publish, provisional = entry.day, live.day, entry.provisional or live.provisional
    return ResultView(
        task_id=result.task_id, uscc=result.uscc, department=result.department, category=result.category,
        category_label=labels.get(result.category, result.category), categories=result.categories,
        category_labels=tuple(labels.get(c, c) for c in result.categories), findings=result.findings,
        methods=result.methods, items=result.items, inspected_on=result.inspected_on, evidence=result.evidence,
        follow_ups=tuple(follow_ups), recorded_by=result.recorded_by, recorded_on=result.recorded_on,
        result_due=result_due, disclosure_due=publish, provisional=provisional, corrections=result.corrections,
        state=result.state, state_label=STATE_LABELS[result.state], return_reason=result.return_reason,
        disclosed=result.disclosed, disclosed_by=result.disclosed_by, version=result.version,
    )


def task_items(ledger: LedgerService, task_id: str) -> tuple[str, ...]:
    """The items of a task (empty for an unknown task: the command is still signed and refused)."""
    task = ledger.processor.app.find(Task.create_id(task_id))
    return tuple(task.items) if isinstance(task, Task) else ()
