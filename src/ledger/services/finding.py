"""Finding things: plans, tasks, one result with its history, one firm across all tasks.

Reads only (the read models, caught up first); every row names the ledger
position of what it shows, so an auditor can go from here to the signed
command (`drledger report trace`, `drledger log prove`).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.domain.commands import short
from ledger.projections.directory import from_column
from ledger.services.queries import QueryError
from ledger.store.config import StoreConfig


class PlanRow(msgspec.Struct, kw_only=True):
    plan_id: str
    year: int
    department: str
    title: str
    items: tuple[str, ...]
    joint_departments: tuple[str, ...]
    filed: bool
    tasks: int


class TaskRow(msgspec.Struct, kw_only=True):
    task_id: str
    plan_id: str
    name: str
    window_start: str
    window_end: str
    departments: tuple[str, ...]  # lead first
    joint: bool
    items: tuple[str, ...]
    state: str  # created | committed | drawn | voided
    draws: int
    targets: int  # standing drawn targets
    results: int
    disclosed: int


class TeamLine(msgspec.Struct, kw_only=True):
    uscc: str
    risk_class: str
    inspectors: tuple[str, ...]
    experts: tuple[str, ...]
    drawn_at: int
    result: str | None  # the category, once recorded
    disclosed_on: str | None


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


class HistoryLine(msgspec.Struct, kw_only=True):
    seq: int
    at: str
    kind: str  # recorded | corrected | disclosed | reclassified | refused:<code> | ...
    actor: str
    key_id: str | None
    command_seq: int | None
    detail: str


class ResultDetail(msgspec.Struct, kw_only=True):
    task_id: str
    uscc: str
    category: str
    findings: str
    inspected_on: str
    recorded_by: str
    recorded_on: str
    result_due: str
    late: bool
    corrections: int
    disclosure_due: str
    disclosed_on: str | None
    disclosure_late: bool
    history: list[HistoryLine]


def _read(config: StoreConfig, query: Any) -> Any:
    from ledger.services.pools import read

    return read(config, query)


def _sql(conn: Any, dialect: Any, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    from ledger.projections.results import _all

    return _all(conn, dialect, sql, params)


_TASK_SQL = (
    "SELECT t.task_id, t.plan_id, t.name, t.window_start, t.window_end, t.departments, t.items, t.state, t.draws,"
    " (SELECT COUNT(*) FROM {t}draw_teams d WHERE d.task_id = t.task_id AND d.valid_to IS NULL),"
    " (SELECT COUNT(*) FROM {t}res_results r WHERE r.task_id = t.task_id),"
    " (SELECT COUNT(*) FROM {t}res_results r WHERE r.task_id = t.task_id AND r.disclosed_on IS NOT NULL)"
    " FROM {t}draw_tasks t"
)


def _task_row(r: Any) -> TaskRow:
    departments = from_column(r[5], True)
    return TaskRow(task_id=r[0], plan_id=r[1] or "", name=r[2] or "", window_start=str(r[3]), window_end=str(r[4]),
                   departments=departments, joint=len(departments) > 1, items=from_column(r[6], True),
                   state=r[7], draws=int(r[8]), targets=int(r[9]) if r[7] == "drawn" else 0, results=int(r[10]),
                   disclosed=int(r[11]))


def tasks(config: StoreConfig, *, plan_id: str | None = None, department: str | None = None,
          state: str | None = None, year: int | None = None) -> list[TaskRow]:
    """Tasks, filtered: of a plan, with a department taking part, in a state, starting in a year."""
    def query(conn: Any, dialect: Any) -> list[TaskRow]:
        return [_task_row(r) for r in _sql(conn, dialect, _TASK_SQL + " ORDER BY t.window_start, t.task_id")]

    found = _read(config, query)
    return [t for t in found
            if (plan_id is None or t.plan_id == plan_id) and (department is None or department in t.departments)
            and (state is None or t.state == state) and (year is None or t.window_start.startswith(f"{year}-"))]


def _created(conn: Any, dialect: Any, name: str, key: str, value: str) -> tuple[dict[str, Any], int | None,
                                                                                 str | None]:
    """The signed body of the accepted `name` command whose body[key] == value (the latest)."""
    from ledger.projections.commands import command_names

    for command in reversed(command_names(conn, dialect, name)):
        body = command.body()
        if body.get(key) == value:
            return body, command.seq, command.actor
    return {}, None, None


def task(config: StoreConfig, task_id: str) -> TaskDetail:
    def query(conn: Any, dialect: Any) -> TaskDetail | None:
        rows = _sql(conn, dialect, _TASK_SQL + " WHERE t.task_id = ?", (task_id,))
        if not rows:
            return None
        body, seq, actor = _created(conn, dialect, "task.create", "task_id", task_id)
        results = {r[0]: (r[1], r[2]) for r in _sql(conn, dialect, "SELECT uscc, category, disclosed_on"
                                                                   " FROM {t}res_results WHERE task_id = ?",
                                                    (task_id,))}
        teams = [TeamLine(uscc=r[0], risk_class=r[1], inspectors=from_column(r[2], True),
                          experts=from_column(r[3], True), drawn_at=int(r[4]),
                          result=results.get(r[0], (None, None))[0], disclosed_on=results.get(r[0], (None, None))[1])
                 for r in _sql(conn, dialect, "SELECT uscc, risk_class, inspectors, experts, drawn_seq"
                                              " FROM {t}draw_teams WHERE task_id = ? AND valid_to IS NULL"
                                              " ORDER BY risk_class, uscc", (task_id,))]
        parameters = {k: v for k, v in body.items() if k not in ("task_id", "plan_id", "name", "window_start",
                                                                 "window_end", "items", "departments")}
        return TaskDetail(task=_task_row(rows[0]), parameters=parameters, created_at=seq, created_by=actor,
                          teams=teams)

    found = _read(config, query)
    if found is None:
        raise QueryError(f"unknown task {short(task_id)!r} (drledger task list)")
    return found  # type: ignore[no-any-return]


_PLAN_SQL = ("SELECT p.plan_id, p.year, p.department, p.title, p.items, p.joint_departments, p.filed,"
             " (SELECT COUNT(*) FROM {t}draw_tasks t WHERE t.plan_id = p.plan_id) FROM {t}draw_plans p")


def _plan_row(r: Any) -> PlanRow:
    return PlanRow(plan_id=r[0], year=int(r[1]), department=r[2], title=r[3], items=from_column(r[4], True),
                   joint_departments=from_column(r[5], True), filed=bool(r[6]), tasks=int(r[7]))


def plans(config: StoreConfig, *, year: int | None = None, department: str | None = None) -> list[PlanRow]:
    def query(conn: Any, dialect: Any) -> list[PlanRow]:
        return [_plan_row(r) for r in _sql(conn, dialect, _PLAN_SQL + " ORDER BY p.year, p.department, p.plan_id")]

    return [p for p in _read(config, query)
            if (year is None or p.year == year)
            and (department is None or department == p.department or department in p.joint_departments)]


def plan(config: StoreConfig, plan_id: str) -> PlanDetail:
    def query(conn: Any, dialect: Any) -> PlanDetail | None:
        rows = _sql(conn, dialect, _PLAN_SQL + " WHERE p.plan_id = ?", (plan_id,))
        if not rows:
            return None
        _, seq, actor = _created(conn, dialect, "plan.create", "plan_id", plan_id)
        return PlanDetail(plan=_plan_row(rows[0]), created_at=seq, created_by=actor, tasks=[])

    found = _read(config, query)
    if found is None:
        raise QueryError(f"unknown plan {short(plan_id)!r} (drledger plan list)")
    found.tasks = tasks(config, plan_id=plan_id)
    return found  # type: ignore[no-any-return]


def _history(rows: list[Any]) -> list[HistoryLine]:
    return [HistoryLine(seq=r.seq, at=r.at, kind=r.kind, actor=r.actor, key_id=r.key_id, command_seq=r.command_seq,
                        detail=r.detail) for r in rows]


def result(config: StoreConfig, task_id: str, uscc: str) -> ResultDetail:
    """The result as it stands, and every step of it (record, corrections, disclosure, refusals), each with its signer."""
    from ledger.services.reports import trace

    def query(conn: Any, dialect: Any) -> Any:
        return _sql(conn, dialect, "SELECT category, findings, inspected_on, recorded_by, recorded_on, result_due,"
                                   " late, corrections, disclosure_due, disclosed_on, disclosure_late"
                                   " FROM {t}res_results WHERE task_id = ? AND uscc = ?", (task_id, uscc))

    rows = _read(config, query)
    if not rows:
        raise QueryError(f"no result recorded for {short(uscc)} in task {short(task_id)}"
                         " (drledger report trace shows what happened to it)")
    r = rows[0]
    steps = [row for row in trace(config, task_id, uscc) if row.kind != "drawn"]
    return ResultDetail(task_id=task_id, uscc=uscc, category=r[0], findings=r[1], inspected_on=r[2], recorded_by=r[3],
                        recorded_on=r[4], result_due=r[5], late=bool(r[6]), corrections=int(r[7]),
                        disclosure_due=r[8], disclosed_on=r[9], disclosure_late=bool(r[10]), history=_history(steps))


def tasks_of_target(config: StoreConfig, uscc: str) -> list[str]:
    """Every task in which `uscc` was drawn, has a result, or an attempt about it was refused."""
    def query(conn: Any, dialect: Any) -> list[str]:
        found = set()
        for sql in ("SELECT DISTINCT task_id FROM {t}draw_teams WHERE uscc = ?",
                    "SELECT DISTINCT task_id FROM {t}res_timeline WHERE uscc = ?",
                    "SELECT DISTINCT task_id FROM {t}res_refusals WHERE uscc = ?"):
            found.update(r[0] for r in _sql(conn, dialect, sql, (uscc,)) if r[0])
        return sorted(found)

    return _read(config, query)  # type: ignore[no-any-return]


def trace_target(config: StoreConfig, uscc: str) -> list[Any]:
    """`report trace` of one firm across all tasks, in ledger order, each row naming its task."""
    from ledger.services.reports import trace

    rows = []
    for task_id in tasks_of_target(config, uscc):
        for row in trace(config, task_id, uscc):
            row.task_id = task_id
            rows.append(row)
    return sorted(rows, key=lambda r: (r.seq, r.task_id))
