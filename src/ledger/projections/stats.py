"""The rows behind 考核 statistics (services/stats.py computes the measures from them, without I/O)."""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.projections.base import select
from ledger.projections.directory import from_column
from ledger.store.schema import Dialect


class TaskFact(msgspec.Struct, frozen=True):
    task_id: str
    departments: tuple[str, ...]  # lead first
    window_start: str
    window_end: str


class TeamFact(msgspec.Struct, frozen=True):
    """A target standing drawn in a task."""

    task_id: str
    uscc: str
    risk_class: str


class EntityFact(msgspec.Struct, frozen=True):
    uscc: str
    risk_class: str
    departments: tuple[str, ...]


class ResultFact(msgspec.Struct, frozen=True):
    task_id: str
    uscc: str
    late: bool
    disclosed: bool
    disclosure_late: bool


class StatsInputs(msgspec.Struct, frozen=True, kw_only=True):
    tasks: tuple[TaskFact, ...]
    teams: tuple[TeamFact, ...]
    entities: tuple[EntityFact, ...]
    results: tuple[ResultFact, ...]
    missing: tuple[tuple[str, str], ...] = ()  # (task, target) past the result due date, no result


def stats_inputs(conn: Any, dialect: Dialect) -> StatsInputs:
    """Every task; the targets of standing draws; active entities; every department's result."""
    tasks = tuple(TaskFact(task_id=r[0], departments=from_column(r[1], True), window_start=str(r[2]),
                           window_end=str(r[3]))
                  for r in select(conn, dialect, "SELECT task_id, departments, window_start, window_end"
                                                 " FROM {t}draw_tasks ORDER BY task_id"))
    teams = tuple(TeamFact(task_id=r[0], uscc=r[1], risk_class=r[2])
                  for r in select(conn, dialect, "SELECT d.task_id, d.uscc, d.risk_class FROM {t}draw_teams d"
                                                 " JOIN {t}draw_tasks t ON t.task_id = d.task_id"
                                                 " WHERE d.valid_to IS NULL AND t.state = 'drawn'"))
    entities = tuple(EntityFact(uscc=r[0], risk_class=r[1], departments=from_column(r[2], True))
                     for r in select(conn, dialect, "SELECT uscc, risk_class, departments FROM {t}dir_entities"
                                                    " WHERE valid_to IS NULL AND status = 'active'"))
    results = tuple(ResultFact(task_id=r[0], uscc=r[1], late=bool(r[2]), disclosed=r[3] is not None,
                               disclosure_late=bool(r[4]))
                    for r in select(conn, dialect, "SELECT task_id, uscc, late, disclosed_on, disclosure_late"
                                                   " FROM {t}res_results"))
    return StatsInputs(tasks=tasks, teams=teams, entities=entities, results=results)
