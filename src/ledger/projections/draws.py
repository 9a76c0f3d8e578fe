"""Read model of plans, tasks and draws: what was drawn, who was assigned.

Teams of a voided draw stay, with `valid_to` set to the void's position, so
the history of every draw remains queryable.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.draws import Plan, Task
from ledger.projections.base import ProjectedEvent
from ledger.projections.directory import from_column, to_column
from ledger.projections.task_events import DrawnTeams, Extension, Substitution, TaskRef
from ledger.store.schema import Dialect


class _PlanCreated(msgspec.Struct):
    plan_id: str
    title: str
    department: str
    year: int
    items: tuple[str, ...]
    joint_departments: tuple[str, ...]


class _TaskCreated(msgspec.Struct):
    task_id: str
    plan_id: str
    name: str
    window_start: str
    window_end: str
    items: tuple[str, ...]
    departments: tuple[str, ...]


class DrawProjection:
    name = "draws"

    def __init__(self) -> None:
        self.handlers = {
            get_topic(Plan.Created): self._plan_created,
            get_topic(Plan.Filed): self._plan_filed,
            get_topic(Task.Created): self._task_created,
            get_topic(Task.Committed): self._state("committed"),
            get_topic(Task.Drawn): self._drawn,
            get_topic(Task.Voided): self._voided,
            get_topic(Task.Substituted): self._substituted,
            get_topic(Task.Extended): self._extended,
        }
        self.topics = tuple(self.handlers)

    def tables(self) -> list[str]:
        return ["draw_plans", "draw_tasks", "draw_teams"]

    def create_statements(self, dialect: Dialect) -> list[str]:
        t = dialect.table
        return [
            f"CREATE TABLE IF NOT EXISTS {t('draw_plans')} (plan_id TEXT PRIMARY KEY, aggregate_id TEXT NOT NULL,"
            " title TEXT, department TEXT, year INTEGER, items TEXT, joint_departments TEXT, filed INTEGER)",
            f"CREATE TABLE IF NOT EXISTS {t('draw_tasks')} (task_id TEXT PRIMARY KEY, aggregate_id TEXT NOT NULL,"
            " plan_id TEXT, name TEXT, window_start TEXT, window_end TEXT, items TEXT, departments TEXT,"
            " state TEXT NOT NULL, position BIGINT, drawn_seq BIGINT, draws INTEGER NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {t('draw_teams')} (task_id TEXT NOT NULL, uscc TEXT NOT NULL,"
            " risk_class TEXT NOT NULL, inspectors TEXT NOT NULL, experts TEXT NOT NULL,"
            " drawn_seq BIGINT NOT NULL, valid_to BIGINT, PRIMARY KEY (task_id, uscc, drawn_seq))",
            f"CREATE INDEX IF NOT EXISTS draw_teams_uscc ON {t('draw_teams')} (uscc)",
        ]

    def apply(self, cursor: Any, dialect: Dialect, events: list[ProjectedEvent]) -> None:
        for item in events:
            self.handlers[item.topic](cursor, dialect, item)

    def _plan_created(self, cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
        plan = msgspec.json.decode(item.state, type=_PlanCreated)
        cursor.execute(
            f"INSERT INTO {dialect.table('draw_plans')} VALUES ({dialect.params(8)})",
            (plan.plan_id, str(item.originator_id), plan.title, plan.department, plan.year,
             to_column(plan.items), to_column(plan.joint_departments), 0),
        )

    def _plan_filed(self, cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
        cursor.execute(
            f"UPDATE {dialect.table('draw_plans')} SET filed = 1 WHERE aggregate_id = {dialect.placeholder}",
            (str(item.originator_id),),
        )

    def _task_created(self, cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
        task = msgspec.json.decode(item.state, type=_TaskCreated)
        cursor.execute(
            f"INSERT INTO {dialect.table('draw_tasks')} VALUES ({dialect.params(12)})",
            (task.task_id, str(item.originator_id), task.plan_id, task.name, task.window_start, task.window_end,
             to_column(task.items), to_column(task.departments), "created", None, None, 0),
        )

    def _state(self, state: str):  # type: ignore[no-untyped-def]
        def handle(cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
            task_id = msgspec.json.decode(item.state, type=TaskRef).task_id
            p = dialect.placeholder
            cursor.execute(f"UPDATE {dialect.table('draw_tasks')} SET state = {p} WHERE task_id = {p}", (state, task_id))

        return handle

    def _drawn(self, cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
        drawn = msgspec.json.decode(item.state, type=DrawnTeams)
        p = dialect.placeholder
        cursor.execute(
            f"UPDATE {dialect.table('draw_tasks')} SET state = 'drawn', position = {p}, drawn_seq = {p},"
            f" draws = draws + 1 WHERE task_id = {p}",
            (drawn.position, item.seq, drawn.task_id),
        )
        class_of = {uscc: k for k, ids in drawn.targets.items() for uscc in ids}
        cursor.executemany(
            f"INSERT INTO {dialect.table('draw_teams')} VALUES ({dialect.params(7)})",
            [(drawn.task_id, team.target, class_of[team.target], to_column(tuple(team.inspectors)),
              to_column(tuple(team.experts)), item.seq, None) for team in drawn.teams],
        )

    def _substituted(self, cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
        change = msgspec.json.decode(item.state, type=Substitution)
        p = dialect.placeholder
        cursor.execute(f"SELECT inspectors FROM {dialect.table('draw_teams')} WHERE task_id = {p} AND uscc = {p}"
                       " AND valid_to IS NULL", (change.task_id, change.target))
        (current,) = cursor.fetchone()
        inspectors = tuple(change.joining if b == change.leaving else b for b in from_column(current, True))
        cursor.execute(f"UPDATE {dialect.table('draw_teams')} SET inspectors = {p} WHERE task_id = {p} AND uscc = {p}"
                       " AND valid_to IS NULL", (to_column(inspectors), change.task_id, change.target))

    def _extended(self, cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
        more = msgspec.json.decode(item.state, type=Extension)
        cursor.executemany(
            f"INSERT INTO {dialect.table('draw_teams')} VALUES ({dialect.params(7)})",
            [(more.task_id, team.target, more.risk_class, to_column(tuple(team.inspectors)),
              to_column(tuple(team.experts)), item.seq, None) for team in more.teams],
        )

    def _voided(self, cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
        task_id = msgspec.json.decode(item.state, type=TaskRef).task_id
        p = dialect.placeholder
        cursor.execute(f"UPDATE {dialect.table('draw_tasks')} SET state = 'voided' WHERE task_id = {p}", (task_id,))
        cursor.execute(
            f"UPDATE {dialect.table('draw_teams')} SET valid_to = {p} WHERE task_id = {p} AND valid_to IS NULL",
            (item.seq, task_id),
        )


def recently_inspected(conn: Any, dialect: Dialect, task_id: str, items: tuple[str, ...], window_start: date,
                       exclude_recent_days: int | None, position: int) -> set[str]:
    """Targets of other tasks' draws standing at `position` that share an item with
    `items` and whose window ended at most `exclude_recent_days` before `window_start`
    (the write path's side of verify/draws.py DrawState.recently_inspected)."""
    if not exclude_recent_days:
        return set()
    since = window_start - timedelta(days=exclude_recent_days)
    p = dialect.placeholder
    cursor = conn.cursor()
    cursor.execute(
        f"SELECT t.items, t.window_end, d.uscc FROM {dialect.table('draw_teams')} d"
        f" JOIN {dialect.table('draw_tasks')} t ON t.task_id = d.task_id"
        f" WHERE d.drawn_seq <= {p} AND (d.valid_to IS NULL OR d.valid_to > {p}) AND t.task_id <> {p}",
        (position, position, task_id),
    )
    mine = set(items)
    return {
        uscc for task_items, window_end, uscc in cursor.fetchall()
        if mine & set(from_column(task_items, True)) and date.fromisoformat(window_end) >= since
    }


def at_annual_cap(conn: Any, dialect: Dialect, task_id: str, year: int, cap: int | None, position: int) -> set[str]:
    """Firms that draws standing at `position` of other tasks whose window starts in `year` took
    as targets `cap` times or more: the annual cap per firm across tasks and departments
    (settings.draws; the write path's side of verify/draws.py DrawState.at_annual_cap)."""
    if cap is None:
        return set()
    p = dialect.placeholder
    cursor = conn.cursor()
    cursor.execute(
        f"SELECT DISTINCT d.task_id, d.uscc, t.window_start FROM {dialect.table('draw_teams')} d"
        f" JOIN {dialect.table('draw_tasks')} t ON t.task_id = d.task_id"
        f" WHERE d.drawn_seq <= {p} AND (d.valid_to IS NULL OR d.valid_to > {p}) AND t.task_id <> {p}",
        (position, position, task_id),
    )
    counts: dict[str, int] = {}
    for _, uscc, window_start in cursor.fetchall():
        if date.fromisoformat(window_start).year == year:
            counts[uscc] = counts.get(uscc, 0) + 1
    return {uscc for uscc, n in counts.items() if n >= cap}
