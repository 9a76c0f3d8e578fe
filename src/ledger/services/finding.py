"""Finding things: plans, tasks, one result with its history, one firm across all tasks.

Reads only (the read models, caught up first); every row names the ledger
position of what it shows, so an auditor can go from here to the signed
command (`drledger report trace`, `drledger log prove`).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.domain.commands import short
from ledger.projections import finding as q
from ledger.projections.finding import HistoryLine, PlanRow, ResultDetail, TaskRow, TeamLine
from ledger.services.queries import QueryError
from ledger.store.config import StoreConfig

__all__ = ["PlanRow", "TaskRow", "TeamLine", "TaskDetail", "PlanDetail", "HistoryLine", "ResultDetail", "tasks",
           "task", "plans", "plan", "result", "tasks_of_target", "trace_target"]


class TaskDetail(msgspec.Struct, kw_only=True):
    task: TaskRow
    parameters: dict[str, Any]  # the signed task.create body: quotas, filter, team sizes, caps
    created_at: int | None  # the position of the task.create command
    created_by: str | None
    teams: list[TeamLine]


class PlanDetail(msgspec.Struct, kw_only=True):
    plan: PlanRow
    created_at: int | None
    created_by: str | None
    tasks: list[TaskRow]


def _read(config: StoreConfig, query: Any) -> Any:
    from ledger.services.pools import read

    return read(config, query)


def _found(config: StoreConfig, query: Any, missing: str) -> Any:
    """What `query` finds, or a QueryError saying `missing` (where to look instead)."""
    found = _read(config, query)
    if found is None:
        raise QueryError(missing)
    return found


def tasks(config: StoreConfig, *, plan_id: str | None = None, department: str | None = None,
          state: str | None = None, year: int | None = None) -> list[TaskRow]:
    """Tasks, filtered: of a plan, with a department taking part, in a state, starting in a year."""
    found: list[TaskRow] = _read(config, q.tasks)
    return [t for t in found
            if (plan_id is None or t.plan_id == plan_id) and (department is None or department in t.departments)
            and (state is None or t.state == state) and (year is None or t.window_start.startswith(f"{year}-"))]


_TASK_FIELDS = (  # shown in the task row; the rest of the signed body are its parameters
    "task_id", "plan_id", "name", "window_start", "window_end", "items", "departments")


def task(config: StoreConfig, task_id: str) -> TaskDetail:
    def query(conn: Any, dialect: Any) -> TaskDetail | None:
        row = q.task(conn, dialect, task_id)
        if row is None:
            return None
        body, seq, actor = q.created(conn, dialect, "task.create", "task_id", task_id)
        parameters = {k: v for k, v in body.items() if k not in _TASK_FIELDS}
        return TaskDetail(task=row, parameters=parameters, created_at=seq, created_by=actor,
                          teams=q.teams(conn, dialect, task_id))

    return _found(config, query, f"unknown task {short(task_id)!r} (drledger task list)")  # type: ignore[no-any-return]


def plans(config: StoreConfig, *, year: int | None = None, department: str | None = None) -> list[PlanRow]:
    found: list[PlanRow] = _read(config, q.plans)
    return [p for p in found
            if (year is None or p.year == year)
            and (department is None or department == p.department or department in p.joint_departments)]


def plan(config: StoreConfig, plan_id: str) -> PlanDetail:
    def query(conn: Any, dialect: Any) -> PlanDetail | None:
        row = q.plan(conn, dialect, plan_id)
        if row is None:
            return None
        _, seq, actor = q.created(conn, dialect, "plan.create", "plan_id", plan_id)
        return PlanDetail(plan=row, created_at=seq, created_by=actor, tasks=[])

    found = _found(config, query, f"unknown plan {short(plan_id)!r} (drledger plan list)")
    found.tasks = tasks(config, plan_id=plan_id)
    return found  # type: ignore[no-any-return]


def _history(rows: list[Any]) -> list[HistoryLine]:
    return [HistoryLine(seq=r.seq, at=r.at, kind=r.kind, actor=r.actor, key_id=r.key_id, command_seq=r.command_seq,
                        detail=r.detail) for r in rows]


def result(config: StoreConfig, task_id: str, uscc: str) -> ResultDetail:
    """The result as it stands, and every step of it (record, corrections, disclosure, refusals), each with its signer."""
    from ledger.services.reports import trace

    found = _found(config, lambda conn, dialect: q.result(conn, dialect, task_id, uscc),
                   f"no result recorded for {short(uscc)} in task {short(task_id)}"
                   " (drledger report trace shows what happened to it)")
    steps = [row for row in trace(config, task_id, uscc) if row.kind != "drawn"]
    found.history = _history(steps)
    return found  # type: ignore[no-any-return]


def tasks_of_target(config: StoreConfig, uscc: str) -> list[str]:
    """Every task in which `uscc` was drawn, has a result, or an attempt about it was refused."""
    found: list[str] = _read(config, lambda conn, dialect: q.tasks_of_target(conn, dialect, uscc))
    return found


def trace_target(config: StoreConfig, uscc: str) -> list[Any]:
    """`report trace` of one firm across all tasks, in ledger order, each row naming its task."""
    from ledger.services.reports import trace

    rows = []
    for task_id in tasks_of_target(config, uscc):
        for row in trace(config, task_id, uscc):
            row.task_id = task_id
            rows.append(row)
    return sorted(rows, key=lambda r: (r.seq, r.task_id))
