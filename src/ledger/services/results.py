"""Record, correct and disclose inspection results: sign on the inspector's side, submit, read back.

The inspector's machine signs `result.record` / `result.correct` /
`result.disclose` with the inspector's own key; the ledger's one write path
(services/processor.py) authenticates it and runs the pure rule
(domain/results.py: drawn target, assigned inspector, items on the task,
date in the window, deadlines in working days, credit feedback). A refusal
is recorded by the processor and comes back as `CommandRefused` (code,
message, receipt); nothing of the attempted change is written.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from ledger.domain.draws import Task
from ledger.domain.results import (
    CORRECT,
    DISCLOSE,
    RECORD,
    CorrectBody,
    DiscloseBody,
    InspectionResult,
    RecordBody,
    body_dict,
)
from ledger.domain.settings import DEFAULT_SETTINGS, Settings
from ledger.integrity.commands import SignedCommand, sign_command
from ledger.integrity.keys import Signer
from ledger.services.ledger import CommandRefused, LedgerService
from ledger.services.receipts import Receipt

__all__ = ["CommandRefused", "CorrectBody", "DiscloseBody", "RecordBody", "ResultView", "correct", "current",
           "disclose", "record", "sign_correct", "sign_disclose", "sign_record", "task_items"]


class ResultView(msgspec.Struct, kw_only=True):
    task_id: str
    uscc: str
    category: str
    category_label: str
    findings: str
    methods: tuple[str, ...]
    items: tuple[str, ...]
    inspected_on: date
    recorded_by: str
    recorded_on: date
    result_due: date
    disclosure_due: date
    corrections: int
    disclosed: bool
    version: int
    receipt: Receipt | None = None  # the ledger's signed receipt of the command just submitted


# ---------------------------------------------------------------------------
# Signing (CLI, demo, tests; an HTTP client does the same itself).


def sign_record(signer: Signer, badge: str, body: RecordBody, **kwargs: Any) -> SignedCommand:
    return sign_command(signer, badge, RECORD, body_dict(body), **kwargs)


def sign_correct(signer: Signer, badge: str, body: CorrectBody, **kwargs: Any) -> SignedCommand:
    return sign_command(signer, badge, CORRECT, body_dict(body), **kwargs)


def sign_disclose(signer: Signer, badge: str, body: DiscloseBody, **kwargs: Any) -> SignedCommand:
    return sign_command(signer, badge, DISCLOSE, body_dict(body), **kwargs)


# ---------------------------------------------------------------------------
# Submitting.


class _Target(msgspec.Struct):
    task_id: str
    uscc: str


class _Signed(msgspec.Struct):
    body: _Target


def _submit(ledger: LedgerService, signed: SignedCommand) -> ResultView:
    receipt = ledger.submit(signed)  # CommandRefused: refused and recorded
    target = msgspec.json.decode(signed.command, type=_Signed).body
    view = current(ledger, target.task_id, target.uscc)
    assert view is not None, "an accepted result command leaves a result"
    view.receipt = receipt
    return view


def record(ledger: LedgerService, signed: SignedCommand) -> ResultView:
    """Submit a signed `result.record`; the result as recorded."""
    return _submit(ledger, signed)


def correct(ledger: LedgerService, signed: SignedCommand) -> ResultView:
    """Submit a signed `result.correct`; the result as corrected (the original stays in the log)."""
    return _submit(ledger, signed)


def disclose(ledger: LedgerService, signed: SignedCommand) -> ResultView:
    """Submit a signed `result.disclose`; the disclosed result."""
    return _submit(ledger, signed)


# ---------------------------------------------------------------------------
# Reading.


def current(ledger: LedgerService, task_id: str, uscc: str) -> ResultView | None:
    """The result of `uscc` in `task_id` as the ledger holds it now, or None."""
    app = ledger.processor.app
    result = app.find(InspectionResult.create_id(task_id, uscc))
    if not isinstance(result, InspectionResult):
        return None
    settings = app.find(Settings.ID)
    in_force = settings.results if isinstance(settings, Settings) else DEFAULT_SETTINGS
    labels = {c.code: c.label for c in in_force.result_categories()}
    return ResultView(
        task_id=result.task_id, uscc=result.uscc, category=result.category,
        category_label=labels.get(result.category, result.category), findings=result.findings,
        methods=result.methods, items=result.items, inspected_on=result.inspected_on,
        recorded_by=result.recorded_by, recorded_on=result.recorded_on, result_due=result.result_due,
        disclosure_due=result.disclosure_due, corrections=result.corrections, disclosed=result.disclosed,
        version=result.version,
    )


def task_items(ledger: LedgerService, task_id: str) -> tuple[str, ...]:
    """The items of a task (empty for an unknown task: the command is still signed and refused)."""
    task = ledger.processor.app.find(Task.create_id(task_id))
    return tuple(task.items) if isinstance(task, Task) else ()
