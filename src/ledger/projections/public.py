"""Read-only queries behind the public site and open data (services/publication.py).

They read the draw, directory and results read models; none of them reads
an undisclosed result's content (`disclosed` and `count_disclosed` require
state `disclosed` (已公示: a reviewer of the department approved and
published it; it can no longer change); `timeliness` returns counts only).
A result is one row per (task, target, department): in a joint task each
department publishes its own.
Long lists page by keyset (`after` = the last row's key), so a caller
streams any number of rows one batch at a time.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.domain.rows import ItemRow
from ledger.projections import finding
from ledger.projections.base import select
from ledger.projections.directory import from_column
from ledger.projections.finding import TASK_SELECT, DrawnTaskRow, PlanRow, drawn_task_row
from ledger.projections.pools import list_items
from ledger.store.schema import Dialect

PublicItem = ItemRow



def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally (ESCAPE '!')."""
    return "%" + text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def _page(sql: str, params: list[Any], order: str, key_columns: tuple[str, ...], after: Any, limit: int | None,
          offset: int, where: list[str]) -> tuple[str, list[Any]]:
    if after is not None:
        keys = after if isinstance(after, tuple) else (after,)
        where.append(f"({', '.join(key_columns)}) > ({', '.join('?' for _ in keys)})" if len(keys) > 1
                     else f"{key_columns[0]} > ?")
        params.extend(keys)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
        if offset:
            sql += f" OFFSET {int(offset)}"
    return sql, params


# ---------------------------------------------------------------------------
# Disclosed results.


class ResultFilter(msgspec.Struct, frozen=True, kw_only=True):
    uscc: str = ""  # exact
    name: str = ""  # part of the firm's name
    task_id: str = ""
    department: str = ""  # the department that published the result
    category: str = ""  # one of the result's categories (multi-select)
    disclosed_from: str = ""  # YYYY-MM-DD, inclusive
    disclosed_to: str = ""


class ResultRow(msgspec.Struct, kw_only=True):
    task_id: str
    task_name: str
    uscc: str
    entity_name: str
    department: str
    category: str  # the first selected
    categories: tuple[str, ...]
    findings: str
    items: tuple[str, ...]
    inspected_on: str
    disclosed_on: str
    corrections: int
    inspectors: tuple[str, ...]  # the standing team's badges (every department's)


_RESULTS_FROM = (" FROM {t}res_results r JOIN {t}draw_tasks t ON t.task_id = r.task_id"
                 " LEFT JOIN {t}dir_entities e ON e.uscc = r.uscc AND e.valid_to IS NULL")


def _result_where(f: ResultFilter) -> tuple[list[str], list[Any]]:
    # Only published results: state `disclosed` is final (a disclosed result is never corrected or returned).
    where, params = ["r.state = 'disclosed'", "r.disclosed_on IS NOT NULL"], []
    for clause, value in (("r.uscc = ?", f.uscc), ("r.task_id = ?", f.task_id), ("r.department = ?", f.department),
                          ("r.disclosed_on >= ?", f.disclosed_from), ("r.disclosed_on <= ?", f.disclosed_to)):
        if value:
            where.append(clause)
            params.append(value)
    if f.category:  # categories is stored ";a;b;"
        where.append("r.categories LIKE ? ESCAPE '!'")
        params.append(_like(f";{f.category};"))
    if f.name:
        where.append("e.name LIKE ? ESCAPE '!'")
        params.append(_like(f.name))
    return where, params


def disclosed(conn: Any, dialect: Dialect, f: ResultFilter, *, limit: int | None = None, offset: int = 0,
              after: tuple[str, str, str] | None = None) -> list[ResultRow]:
    """Disclosed results matching `f` in (task, USCC, department) order, with the standing team."""
    where, params = _result_where(f)
    sql, params = _page(
        "SELECT r.task_id, t.name, r.uscc, e.name, r.category, r.findings, r.items, r.inspected_on, r.disclosed_on,"
        " r.corrections, d.inspectors, r.department, r.categories" + _RESULTS_FROM +
        " LEFT JOIN {t}draw_teams d ON d.task_id = r.task_id AND d.uscc = r.uscc AND d.valid_to IS NULL",
        params, "r.task_id, r.uscc, r.department", ("r.task_id", "r.uscc", "r.department"), after, limit, offset,
        where)
    return [ResultRow(task_id=r[0], task_name=r[1] or "", uscc=r[2], entity_name=r[3] or "", department=r[11],
                      category=r[4], categories=from_column(r[12], True) or (r[4],), findings=r[5],
                      items=from_column(r[6], True), inspected_on=r[7], disclosed_on=r[8], corrections=int(r[9]),
                      inspectors=from_column(r[10] or "", True))
            for r in select(conn, dialect, sql, params)]


def count_disclosed(conn: Any, dialect: Dialect, f: ResultFilter) -> int:
    where, params = _result_where(f)
    return int(select(conn, dialect, "SELECT COUNT(*)" + _RESULTS_FROM + " WHERE " + " AND ".join(where), params)[0][0])


class Timeliness(msgspec.Struct, kw_only=True):
    recorded: int
    recorded_on_time: int
    disclosure_due: int  # disclosed, or past the disclosure deadline on `today`
    disclosed_on_time: int
    disclosed: int


_DISCLOSED = "state = 'disclosed'"


def timeliness(conn: Any, dialect: Dialect, today: str) -> Timeliness:
    """Counts over every recorded result (no content): for the on-time rates."""
    count = "COALESCE(SUM(CASE WHEN {} THEN 1 ELSE 0 END), 0)"
    row = select(conn, dialect, f"SELECT COUNT(*), {count.format('late = 0')},"
                               f" {count.format(_DISCLOSED + ' OR disclosure_due < ?')},"
                               f" {count.format(_DISCLOSED + ' AND disclosure_late = 0')},"
                               f" {count.format(_DISCLOSED)} FROM {{t}}res_results", (today,))[0]
    return Timeliness(recorded=int(row[0]), recorded_on_time=int(row[1]), disclosure_due=int(row[2]),
                      disclosed_on_time=int(row[3]), disclosed=int(row[4]))


# ---------------------------------------------------------------------------
# Tasks and their drawn firms.


class TaskFilter(msgspec.Struct, frozen=True, kw_only=True):
    text: str = ""  # task id (exact) or part of its name
    department: str = ""
    year: str = ""  # of the window's start


def _task_where(f: TaskFilter) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if f.text:
        where.append("(t.task_id = ? OR t.name LIKE ? ESCAPE '!')")
        params += [f.text, _like(f.text)]
    if f.department:
        where.append("t.departments LIKE ? ESCAPE '!'")
        params.append(_like(f";{f.department};"))
    if f.year:
        where.append("t.window_start LIKE ?")
        params.append(f"{f.year[:4]}%")
    return where, params


def tasks(conn: Any, dialect: Dialect, f: TaskFilter, *, limit: int | None = None, offset: int = 0,
          after: str | None = None) -> list[DrawnTaskRow]:
    """Tasks matching `f`, as `drledger task list` has them (projections/finding.py); their result counts
    include undisclosed results, so publication.py's PublicTask carries none of them."""
    where, params = _task_where(f)
    sql, params = _page(TASK_SELECT, params, "t.task_id", ("t.task_id",), after, limit, offset, where)
    return [drawn_task_row(r) for r in select(conn, dialect, sql, params)]


def count_tasks(conn: Any, dialect: Dialect, f: TaskFilter) -> int:
    where, params = _task_where(f)
    clause = " WHERE " + " AND ".join(where) if where else ""
    return int(select(conn, dialect, "SELECT COUNT(*) FROM {t}draw_tasks t" + clause, params)[0][0])


def task(conn: Any, dialect: Dialect, task_id: str) -> DrawnTaskRow | None:
    rows = select(conn, dialect, TASK_SELECT + " WHERE t.task_id = ?", (task_id,))
    return drawn_task_row(rows[0]) if rows else None


class DrawFilter(msgspec.Struct, frozen=True, kw_only=True):
    uscc: str = ""
    name: str = ""
    task_id: str = ""


class TargetRow(msgspec.Struct, kw_only=True):
    task_id: str
    task_name: str
    uscc: str
    entity_name: str
    inspectors: tuple[str, ...]
    experts: tuple[str, ...]
    drawn_seq: int


def targets(conn: Any, dialect: Dialect, f: DrawFilter, *, limit: int | None = None,
            after: tuple[str, str] | None = None) -> list[TargetRow]:
    """Firms of standing draws (not of voided ones), with their teams; no risk class."""
    where, params = ["d.valid_to IS NULL"], []
    for clause, value in (("d.uscc = ?", f.uscc), ("d.task_id = ?", f.task_id)):
        if value:
            where.append(clause)
            params.append(value)
    if f.name:
        where.append("e.name LIKE ? ESCAPE '!'")
        params.append(_like(f.name))
    sql, params = _page(
        "SELECT d.task_id, t.name, d.uscc, e.name, d.inspectors, d.experts, d.drawn_seq FROM {t}draw_teams d"
        " JOIN {t}draw_tasks t ON t.task_id = d.task_id"
        " LEFT JOIN {t}dir_entities e ON e.uscc = d.uscc AND e.valid_to IS NULL",
        params, "d.task_id, d.uscc", ("d.task_id", "d.uscc"), after, limit, 0, where)
    return [TargetRow(task_id=r[0], task_name=r[1] or "", uscc=r[2], entity_name=r[3] or "",
                      inspectors=from_column(r[4], True), experts=from_column(r[5], True), drawn_seq=int(r[6]))
            for r in select(conn, dialect, sql, params)]


# ---------------------------------------------------------------------------
# The list, the plans, the people, the departments.


class PublicInspector(msgspec.Struct, kw_only=True):
    name: str
    department: str
    department_name: str
    certificate_no: str | None


def inspectors(conn: Any, dialect: Dialect) -> dict[str, PublicInspector]:
    """badge -> the officer as recorded now (name, department, 执法证号)."""
    names = department_names(conn, dialect)
    return {b: PublicInspector(name=n or "", department=d or "", department_name=names.get(d or "", ""),
                               certificate_no=c or None)
            for b, n, d, c in select(conn, dialect, "SELECT badge, name, department, certificate_no"
                                                   " FROM {t}dir_inspectors WHERE valid_to IS NULL")}


def department_names(conn: Any, dialect: Dialect) -> dict[str, str]:
    return {c: n for c, n in select(conn, dialect, "SELECT code, name FROM {t}dir_departments WHERE valid_to IS NULL")}


def items(conn: Any, dialect: Dialect) -> list[ItemRow]:
    return list_items(conn, dialect)


def plans(conn: Any, dialect: Dialect) -> list[PlanRow]:
    return finding.plans(conn, dialect, newest_first=True)


# ---------------------------------------------------------------------------
# Counts for the statistics.


def task_departments(conn: Any, dialect: Dialect) -> list[tuple[tuple[str, ...], int]]:
    """Per task: its departments and the firms its standing draw selected."""
    return [(from_column(r[0], True), int(r[1])) for r in select(
        conn, dialect, "SELECT t.departments, (SELECT COUNT(*) FROM {t}draw_teams d WHERE d.task_id = t.task_id"
                       " AND d.valid_to IS NULL) FROM {t}draw_tasks t")]


def firms_per_department(conn: Any, dialect: Dialect) -> dict[str, int]:
    """Distinct firms drawn (standing draws) in tasks each department takes part in."""
    seen: dict[str, set[str]] = {}
    for departments, uscc in select(conn, dialect, "SELECT t.departments, d.uscc FROM {t}draw_teams d"
                                                  " JOIN {t}draw_tasks t ON t.task_id = d.task_id"
                                                  " WHERE d.valid_to IS NULL"):
        for department in from_column(departments, True):
            seen.setdefault(department, set()).add(uscc)
    return {d: len(firms) for d, firms in seen.items()}


def coverage(conn: Any, dialect: Dialect) -> list[tuple[str, int, int]]:
    """Per risk class: distinct firms drawn by standing draws, and firms in the directory now."""
    drawn = dict(select(conn, dialect, "SELECT risk_class, COUNT(DISTINCT uscc) FROM {t}draw_teams"
                                      " WHERE valid_to IS NULL GROUP BY risk_class"))
    total = dict(select(conn, dialect, "SELECT risk_class, COUNT(*) FROM {t}dir_entities WHERE valid_to IS NULL"
                                      " GROUP BY risk_class"))
    return [(k, int(drawn.get(k, 0)), int(total.get(k, 0))) for k in sorted(set(drawn) | set(total))]
