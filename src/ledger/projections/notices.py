"""Read model of standing inspection notices: notice code -> (task, firm).

The public notice check (检查通知书核验) takes a code and must find its team
without recomputing every standing team's code on every request. This index
only finds candidates: services/firms.py `check_notice` confirms each against
the task aggregate, so a stale or forged row can never make a code check.
"""

from __future__ import annotations

from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.draws import Task
from ledger.domain.firms import notice_code
from ledger.draw.spec import Team
from ledger.projections.base import ProjectedEvent
from ledger.projections.directory import from_column, to_column
from ledger.projections.task_events import DrawnTeams, Extension, Substitution, TaskRef
from ledger.store.schema import Dialect


class NoticeProjection:
    name = "notices"

    def __init__(self) -> None:
        self.handlers = {
            get_topic(Task.Drawn): self._drawn,
            get_topic(Task.Extended): self._extended,
            get_topic(Task.Substituted): self._substituted,
            get_topic(Task.Voided): self._voided,
        }
        self.topics = tuple(self.handlers)

    def tables(self) -> list[str]:
        return ["notice_teams"]

    def create_statements(self, dialect: Dialect) -> list[str]:
        t = dialect.table
        return [
            f"CREATE TABLE IF NOT EXISTS {t('notice_teams')} (task_id TEXT NOT NULL, uscc TEXT NOT NULL,"
            " seed TEXT NOT NULL, inspectors TEXT NOT NULL, code TEXT NOT NULL, PRIMARY KEY (task_id, uscc))",
            f"CREATE INDEX IF NOT EXISTS notice_teams_code ON {t('notice_teams')} (code)",
        ]

    def apply(self, cursor: Any, dialect: Dialect, events: list[ProjectedEvent]) -> None:
        for item in events:
            self.handlers[item.topic](cursor, dialect, item)

    def _insert(self, cursor: Any, dialect: Dialect, task_id: str, seed: str, teams: list[Team]) -> None:
        cursor.executemany(
            f"INSERT INTO {dialect.table('notice_teams')} VALUES ({dialect.params(5)})",
            [(task_id, team.target, seed, to_column(tuple(team.inspectors)),
              notice_code(task_id, team.target, team.inspectors, seed)) for team in teams],
        )

    def _drawn(self, cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
        drawn = msgspec.json.decode(item.state, type=DrawnTeams)
        self._insert(cursor, dialect, drawn.task_id, drawn.seed, drawn.teams)

    def _extended(self, cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
        more = msgspec.json.decode(item.state, type=Extension)
        p = dialect.placeholder
        cursor.execute(f"SELECT seed FROM {dialect.table('notice_teams')} WHERE task_id = {p} LIMIT 1", (more.task_id,))
        row = cursor.fetchone()
        if row is not None:  # an extension follows a standing draw, whose teams are here
            self._insert(cursor, dialect, more.task_id, row[0], more.teams)

    def _substituted(self, cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
        change = msgspec.json.decode(item.state, type=Substitution)
        p, table = dialect.placeholder, dialect.table("notice_teams")
        cursor.execute(f"SELECT seed, inspectors FROM {table} WHERE task_id = {p} AND uscc = {p}",
                       (change.task_id, change.target))
        row = cursor.fetchone()
        if row is None:
            return
        seed, current = row
        inspectors = tuple(change.joining if b == change.leaving else b for b in from_column(current, True))
        cursor.execute(f"UPDATE {table} SET inspectors = {p}, code = {p} WHERE task_id = {p} AND uscc = {p}",
                       (to_column(inspectors), notice_code(change.task_id, change.target, inspectors, seed),
                        change.task_id, change.target))

    def _voided(self, cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
        task_id = msgspec.json.decode(item.state, type=TaskRef).task_id
        cursor.execute(f"DELETE FROM {dialect.table('notice_teams')} WHERE task_id = {dialect.placeholder}",
                       (task_id,))


def notice_candidates(conn: Any, dialect: Dialect, code: str) -> list[tuple[str, str]]:
    """(task, firm) pairs whose standing notice had `code` when last projected."""
    cursor = conn.cursor()
    cursor.execute(f"SELECT task_id, uscc FROM {dialect.table('notice_teams')} WHERE code = {dialect.placeholder}",
                   (code,))
    return [(task_id, uscc) for task_id, uscc in cursor.fetchall()]
