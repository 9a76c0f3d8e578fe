"""异议: a firm objects to a published result; the department resolves it, in public.

- `objection.raise` (a representative of the firm, domain/firms.py): against
  the disclosed (已公示) result of its own firm in a task, with its reason. One
  objection per result: the department's resolution is final on the ledger
  (a further challenge is 行政复议 or litigation, outside it).
- `objection.resolve` (a reviewer of the department that disclosed the
  result, never the inspector who recorded it): `upheld` (the objection is
  right: the result is to be corrected, by `result.correct` as any
  correction) or `rejected`, always with a reason.

Both are public (services/objections.py `public_objections`): the firm,
task, dates, outcome and reasons, never the representative's identity.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, natural_id
from ledger.domain.classes import result_disclosed
from ledger.domain.commands import Command, Refusal, State, command, need_text, require_jurisdiction, short
from ledger.domain.firms import FIRM_ROLE, representative

OUTCOMES: Final = ("upheld", "rejected")


class Objection(LedgerAggregate):
    task_id: str
    uscc: str
    raised_on: date
    outcome: str | None

    @staticmethod
    def create_id(task_id: str, uscc: str, **_: Any) -> UUID:
        return natural_id("objection", f"{task_id}/{uscc}")

    @event("Raised")
    def __init__(self, task_id: str, uscc: str, reason: str, raised_on: date, actor: str) -> None:
        self.task_id = task_id
        self.uscc = uscc
        self.raised_on = raised_on
        self.outcome = None

    @event("Resolved")
    def resolve(self, outcome: str, reason: str, resolved_on: date, actor: str) -> None:
        self.outcome = outcome


class RaiseBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    reason: str


class ResolveBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    uscc: str
    outcome: str  # upheld | rejected
    reason: str


@command("objection.raise", FIRM_ROLE)
def decide_raise(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body: RaiseBody = command.body(RaiseBody)
    need_text("reason", body.reason)
    firm = representative(state, command)
    where = f"task {short(body.task_id)}, firm {firm.uscc}"
    if not result_disclosed(state, body.task_id, firm.uscc):
        raise Refusal("not_disclosed", f"{where}: an objection is raised against a published (已公示) result;"
                                       " none is published")
    if state.get(Objection, Objection.create_id(body.task_id, firm.uscc)) is not None:
        raise Refusal("duplicate", f"{where}: an objection to this result was already raised")
    return [Objection(task_id=body.task_id, uscc=firm.uscc, reason=body.reason, raised_on=command.today,
                      actor=command.actor_id)]


@command("objection.resolve", "reviewer")
def decide_resolve(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    from ledger.domain.draws import Task
    from ledger.domain.results import InspectionResult

    body: ResolveBody = command.body(ResolveBody)
    need_text("reason", body.reason)
    where = f"objection of {short(body.uscc)} in task {short(body.task_id)}"
    if body.outcome not in OUTCOMES:
        raise Refusal("invalid", f"{where}: outcome must be one of {', '.join(OUTCOMES)}")
    objection = state.get_for_update(Objection, Objection.create_id(body.task_id, body.uscc))
    if objection is None:
        raise Refusal("unknown_object", f"no {where}")
    if objection.outcome is not None:
        raise Refusal("duplicate", f"{where} is already resolved ({objection.outcome})")
    task = state.get(Task, Task.create_id(body.task_id))
    result = state.get(InspectionResult, InspectionResult.create_id(body.task_id, body.uscc))
    assert task is not None and result is not None  # an objection exists only against a disclosed result
    # The department that disclosed the result handles it (its own department in a joint task).
    department = getattr(result, "department", None) or task.departments[0]
    require_jurisdiction(state, command, department, where)
    if command.actor_id == getattr(result, "recorded_by", None):
        raise Refusal("same_actor", f"{where}: the inspector who recorded the result cannot resolve the objection")
    objection.resolve(outcome=body.outcome, reason=body.reason, resolved_on=command.today, actor=command.actor_id)
    return [objection]
