"""Plans, tasks, teams and results as the read models hold them.

One source for the rows behind `drledger plan|task list|show` and `result show`
(services/finding.py), the API's reads, and the public site's tasks and plans
(projections/public.py). Every row names the ledger position of what it shows.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.projections.base import select
from ledger.projections.commands import command_names
from ledger.projections.directory import from_column
from ledger.store.schema import Dialect


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


class DrawnTaskRow(TaskRow, kw_only=True):
    """A task with the position of its standing draw (the public site proves its inclusion)."""

    drawn_seq: int | None


class TeamLine(msgspec.Struct, kw_only=True):
    uscc: str
    risk_class: str
    inspectors: tuple[str, ...]
    experts: tuple[str, ...]
    drawn_at: int
    result: str | None  # the category, once recorded
    disclosed_on: str | None


TASK_SELECT = (
    "SELECT t.task_id, t.plan_id, t.name, t.window_start, t.window_end, t.departments, t.items, t.state, t.draws,"
    " (SELECT COUNT(*) FROM {t}draw_teams d WHERE d.task_id = t.task_id AND d.valid_to IS NULL),"
    " (SELECT COUNT(*) FROM {t}res_results r WHERE r.task_id = t.task_id),"
    " (SELECT COUNT(*) FROM {t}res_results r WHERE r.task_id = t.task_id AND r.disclosed_on IS NOT NULL),"
    " t.drawn_seq FROM {t}draw_tasks t"
)


def task_row(r: Any) -> TaskRow:
    departments = from_column(r[5], True)
    return TaskRow(task_id=r[0], plan_id=r[1] or "", name=r[2] or "", window_start=str(r[3] or ""),
                   window_end=str(r[4] or ""), departments=departments, joint=len(departments) > 1,
                   items=from_column(r[6], True), state=r[7], draws=int(r[8]),
                   targets=int(r[9]) if r[7] == "drawn" else 0, results=int(r[10]), disclosed=int(r[11]))


def drawn_task_row(r: Any) -> DrawnTaskRow:
    return DrawnTaskRow(**msgspec.structs.asdict(task_row(r)), drawn_seq=int(r[12]) if r[12] is not None else None)


def tasks(conn: Any, dialect: Dialect) -> list[TaskRow]:
    """Every task, by window start."""
    return [task_row(r) for r in select(conn, dialect, TASK_SELECT + " ORDER BY t.window_start, t.task_id")]


def task(conn: Any, dialect: Dialect, task_id: str) -> TaskRow | None:
    rows = select(conn, dialect, TASK_SELECT + " WHERE t.task_id = ?", (task_id,))
    return task_row(rows[0]) if rows else None


def teams(conn: Any, dialect: Dialect, task_id: str) -> list[TeamLine]:
    """The task's standing teams, each with its result's category and disclosure date once there."""
    results = {r[0]: (r[1], r[2]) for r in select(conn, dialect, "SELECT uscc, category, disclosed_on"
                                                                 " FROM {t}res_results WHERE task_id = ?",
                                                  (task_id,))}
    return [TeamLine(uscc=r[0], risk_class=r[1], inspectors=from_column(r[2], True), experts=from_column(r[3], True),
                     drawn_at=int(r[4]), result=results.get(r[0], (None, None))[0],
                     disclosed_on=results.get(r[0], (None, None))[1])
            for r in select(conn, dialect, "SELECT uscc, risk_class, inspectors, experts, drawn_seq"
                                           " FROM {t}draw_teams WHERE task_id = ? AND valid_to IS NULL"
                                           " ORDER BY risk_class, uscc", (task_id,))]


_PLAN_SELECT = ("SELECT p.plan_id, p.year, p.department, p.title, p.items, p.joint_departments, p.filed,"
                " (SELECT COUNT(*) FROM {t}draw_tasks t WHERE t.plan_id = p.plan_id) FROM {t}draw_plans p")


def _plan_row(r: Any) -> PlanRow:
    return PlanRow(plan_id=r[0], year=int(r[1] or 0), department=r[2] or "", title=r[3] or "",
                   items=from_column(r[4], True), joint_departments=from_column(r[5], True), filed=bool(r[6]),
                   tasks=int(r[7]))


def plans(conn: Any, dialect: Dialect, newest_first: bool = False) -> list[PlanRow]:
    """Every plan, by year (oldest first unless `newest_first`), department and id."""
    order = " ORDER BY p.year DESC, p.department, p.plan_id" if newest_first else \
        " ORDER BY p.year, p.department, p.plan_id"
    return [_plan_row(r) for r in select(conn, dialect, _PLAN_SELECT + order)]


def plan(conn: Any, dialect: Dialect, plan_id: str) -> PlanRow | None:
    rows = select(conn, dialect, _PLAN_SELECT + " WHERE p.plan_id = ?", (plan_id,))
    return _plan_row(rows[0]) if rows else None


def created(conn: Any, dialect: Dialect, name: str, key: str, value: str) -> tuple[dict[str, Any], int | None,
                                                                                   str | None]:
    """The signed body, position and signer of the latest accepted `name` command whose body[key] == value."""
    for command in reversed(command_names(conn, dialect, name)):
        body = command.body()
        if body.get(key) == value:
            return body, command.seq, command.actor
    return {}, None, None


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


def result(conn: Any, dialect: Dialect, task_id: str, uscc: str) -> ResultDetail | None:
    """The result as it stands (its history is the caller's: services/reports.py traces it)."""
    rows = select(conn, dialect, "SELECT category, findings, inspected_on, recorded_by, recorded_on, result_due,"
                                 " late, corrections, disclosure_due, disclosed_on, disclosure_late"
                                 " FROM {t}res_results WHERE task_id = ? AND uscc = ?", (task_id, uscc))
    if not rows:
        return None
    r = rows[0]
    return ResultDetail(task_id=task_id, uscc=uscc, category=r[0], findings=r[1], inspected_on=r[2],
                        recorded_by=r[3], recorded_on=r[4], result_due=r[5], late=bool(r[6]), corrections=int(r[7]),
                        disclosure_due=r[8], disclosed_on=r[9], disclosure_late=bool(r[10]), history=[])


def tasks_of_target(conn: Any, dialect: Dialect, uscc: str) -> list[str]:
    """Every task in which `uscc` was drawn, has a result, or an attempt about it was refused."""
    found = set()
    for sql in ("SELECT DISTINCT task_id FROM {t}draw_teams WHERE uscc = ?",
                "SELECT DISTINCT task_id FROM {t}res_timeline WHERE uscc = ?",
                "SELECT DISTINCT task_id FROM {t}res_refusals WHERE uscc = ?"):
        found.update(r[0] for r in select(conn, dialect, sql, (uscc,)) if r[0])
    return sorted(found)
