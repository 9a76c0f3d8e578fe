"""Tasks as in practice: temporary tasks, window extension, ratio ceilings of 一般 items.

- 临时任务: a task outside the annual plan (`task.create` with `temporary`, no
  plan) is drawn only after `task.approve` by a second actor: a reviewer of
  the lead department (or above) who did not create it, with a reason. The
  draw commitment refuses an unapproved temporary task (`needs_approval`).
- `task.extend_window`: a planner of the lead department moves the window's
  end later (never earlier, never to the same day), with a reason; each
  extension is an event. A standing commitment keeps the window it froze
  (its inputs' `window_end`).
- 重点/一般 items (国市监信〔2019〕38号: key items may be inspected at a high
  ratio without upper limit, general items at a strictly limited one): the
  class set (`settings.draws`) may give a class a `general_max_ratio`. A task
  whose items are all 一般 may then draw at most ceil(ratio x N_k) firms of
  that class (N_k the frozen pool of the class), checked at the commitment
  (the only point where N_k is known); a task with any 重点 item has no
  ceiling.
"""

from __future__ import annotations

from datetime import date
from math import ceil
from typing import Any

import msgspec

from ledger.domain.base import LedgerAggregate
from ledger.domain.classes import draw_settings
from ledger.domain.commands import Command, Refusal, State, command, need_text, require_jurisdiction, short
from ledger.draw.spec import DrawInputs, target_count


class ApproveBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    reason: str


class ExtendWindowBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    window_end: date
    reason: str


def _task(state: State, task_id: str) -> Any:
    from ledger.domain.draws import Task

    task = state.get_for_update(Task, Task.create_id(task_id))
    if task is None:
        raise Refusal("unknown_task", f"unknown task {short(task_id)!r}")
    return task


@command("task.approve", "reviewer")
def decide_approve(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    """A temporary task (临时任务) approved by a reviewer of its lead department, not its creator."""
    body: ApproveBody = command.body(ApproveBody)
    need_text("reason", body.reason)
    task = _task(state, body.task_id)
    where = f"task {body.task_id}"
    require_jurisdiction(state, command, task.departments[0], where)
    if not getattr(task, "temporary", False):
        raise Refusal("invalid", f"{where} is part of annual plan {task.plan_id}: it needs no approval")
    if task.approved:
        raise Refusal("duplicate", f"{where} is already approved")
    if command.actor_id == task.created_by:
        raise Refusal("same_actor", f"{where}: its creator cannot approve it; a second actor must")
    task.approve(task_id=body.task_id, reason=body.reason, actor=command.actor_id)
    return [task]


@command("task.extend_window", "planner")
def decide_extend_window(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    """The window's end moved later, by a planner of the lead department, with a reason."""
    body: ExtendWindowBody = command.body(ExtendWindowBody)
    need_text("reason", body.reason)
    task = _task(state, body.task_id)
    where = f"task {body.task_id}"
    require_jurisdiction(state, command, task.departments[0], where)
    if body.window_end <= task.window_end:
        raise Refusal("not_forward", f"{where}: the window ends {task.window_end}; an extension moves it later"
                                     f" (not to {body.window_end})")
    if body.window_end.year > task.window_end.year + 1:
        raise Refusal("invalid", f"{where}: extend to at most the end of the next year")
    task.extend_window(task_id=body.task_id, window_end=body.window_end, previous=task.window_end,
                       reason=body.reason, actor=command.actor_id)
    return [task]


def check_general_ceilings(state: State, task: Any, inputs: DrawInputs, where: str) -> None:
    """A task of only 一般 items draws at most ceil(general_max_ratio x N_k) of a class that has one."""
    from ledger.domain.directory import InspectionItem

    settings = draw_settings(state)
    for code in task.items:
        item = state.get(InspectionItem, InspectionItem.id_for(code))
        if item is not None and item.record.key_item:
            return  # a 重点 item: no ceiling
    for risk_class, quota in inputs.quotas.items():
        ceiling = settings.ceiling(risk_class)
        if ceiling is None:
            continue
        available = len(inputs.pool.get(risk_class, []))
        wanted, allowed = target_count(quota, available), ceil(ceiling * available)
        if wanted > allowed:
            raise Refusal("ratio_limit", f"{where}: class {risk_class}: {wanted} of {available} firms asked; a task"
                                         f" of only 一般 items may draw at most {allowed} (general_max_ratio"
                                         f" {float(ceiling):g} in settings.draws)")
