"""Read model of draw attempts: one small row per commitment, run and void.

The draw list (`drledger draw list`, GET /api/v1/draws) used to decode every
commit, run and void event on each request, and a run's event holds its whole
team list. These rows hold only what the list shows, formatted once here.
Abandonment is not projected: it depends on the time of the query and the
settings in force, so services/draws.py derives it from these rows.
"""

from __future__ import annotations

from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.draws import Task
from ledger.projections.base import ProjectedEvent
from ledger.projections.task_events import AttemptEvent, AttemptRound
from ledger.store.schema import Dialect


class AttemptRow(msgspec.Struct):
    position: int
    task_id: str
    kind: str  # commit | run | void
    actor: str
    reason: str
    commitment_only: bool
    beacons: list[AttemptRound]


KINDS = {get_topic(Task.Committed): "commit", get_topic(Task.Drawn): "run", get_topic(Task.Voided): "void"}

COLUMNS = (("position", "bigint"), ("task_id", "text"), ("kind", "text"), ("actor", "text"), ("reason", "text"),
           ("commitment_only", "integer"), ("beacons", "text"))

_beacons = msgspec.json.Decoder(list[AttemptRound])


class AttemptProjection:
    name = "draw_attempts"

    def __init__(self) -> None:
        self.topics = tuple(KINDS)
        self._decode = msgspec.json.Decoder(AttemptEvent).decode

    def tables(self) -> list[str]:
        return ["draw_attempts"]

    def create_statements(self, dialect: Dialect) -> list[str]:
        t = dialect.table
        return [
            f"CREATE TABLE IF NOT EXISTS {t('draw_attempts')} (position BIGINT PRIMARY KEY, task_id TEXT NOT NULL,"
            " kind TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT NOT NULL, commitment_only INTEGER NOT NULL,"
            " beacons TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS draw_attempts_task ON {t('draw_attempts')} (task_id, position)",
        ]

    def apply(self, cursor: Any, dialect: Dialect, events: list[ProjectedEvent]) -> None:
        rows = []
        for item in events:
            event = self._decode(item.state)
            kind = KINDS[item.topic]
            # Only a commitment's rounds are shown (and make it abandonable).
            beacons = msgspec.json.encode(event.beacons if kind == "commit" else []).decode()
            rows.append((item.seq, event.task_id, kind, event.actor, event.reason, int(event.commitment_only),
                         beacons))
        dialect.insert_rows(cursor, "draw_attempts", COLUMNS, rows)


def attempt_rows(conn: Any, dialect: Dialect, task_id: str | None = None) -> list[AttemptRow]:
    """Every projected attempt (of one task, or all) in ledger order."""
    sql = (f"SELECT position, task_id, kind, actor, reason, commitment_only, beacons"
           f" FROM {dialect.table('draw_attempts')}")
    params: tuple[Any, ...] = ()
    if task_id is not None:
        sql += f" WHERE task_id = {dialect.placeholder}"
        params = (task_id,)
    cursor = conn.cursor()
    cursor.execute(sql + " ORDER BY position", params)
    return [AttemptRow(int(position), task, kind, actor, reason, bool(only), _beacons.decode(beacons))
            for position, task, kind, actor, reason, only, beacons in cursor.fetchall()]
