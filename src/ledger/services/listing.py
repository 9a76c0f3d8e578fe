"""Listings the HTTP API serves beside the CLI's queries: plans, tasks and the log's entries.

Plans and tasks come from the draw read model (projections/draws.py); the
log page from the chain (positions, topics, hashes; never payloads: those
are for authorised auditors through the feeds).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.store.config import StoreConfig


class PlanRow(msgspec.Struct, kw_only=True):
    plan_id: str
    title: str
    department: str
    year: int
    items: tuple[str, ...]
    joint_departments: tuple[str, ...]
    filed: bool


class TaskRow(msgspec.Struct, kw_only=True):
    task_id: str
    plan_id: str
    name: str
    window_start: str
    window_end: str
    items: tuple[str, ...]
    departments: tuple[str, ...]
    state: str  # created | committed | drawn | voided
    drawn_at: int | None  # position of the standing draw
    draws: int


class LogEntry(msgspec.Struct, kw_only=True):
    position: int
    hash: str  # the chained event hash (hex)
    topic: str | None
    aggregate: str | None
    version: int | None


def _split(value: Any) -> tuple[str, ...]:
    return tuple(part for part in (value or "").split(";") if part)


def plans(config: StoreConfig, plan_id: str | None = None) -> list[PlanRow]:
    from ledger.services.pools import read

    def query(conn: Any, dialect: Any) -> list[PlanRow]:
        p = dialect.placeholder
        where, params = (f" WHERE plan_id = {p}", [plan_id]) if plan_id else ("", [])
        cursor = conn.cursor()
        cursor.execute(f"SELECT plan_id, title, department, year, items, joint_departments, filed"
                       f" FROM {dialect.table('draw_plans')}{where} ORDER BY plan_id", params)
        return [PlanRow(plan_id=r[0], title=r[1] or "", department=r[2] or "", year=int(r[3] or 0),
                        items=_split(r[4]), joint_departments=_split(r[5]), filed=bool(r[6]))
                for r in cursor.fetchall()]

    return read(config, query)


def tasks(config: StoreConfig, task_id: str | None = None, plan_id: str | None = None,
          state: str | None = None) -> list[TaskRow]:
    from ledger.services.pools import read

    def query(conn: Any, dialect: Any) -> list[TaskRow]:
        p = dialect.placeholder
        clauses, params = [], []
        for column, value in (("task_id", task_id), ("plan_id", plan_id), ("state", state)):
            if value:
                clauses.append(f"{column} = {p}")
                params.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        cursor = conn.cursor()
        cursor.execute(f"SELECT task_id, plan_id, name, window_start, window_end, items, departments, state,"
                       f" drawn_seq, draws FROM {dialect.table('draw_tasks')}{where} ORDER BY task_id", params)
        return [TaskRow(task_id=r[0], plan_id=r[1] or "", name=r[2] or "", window_start=str(r[3] or ""),
                        window_end=str(r[4] or ""), items=_split(r[5]), departments=_split(r[6]), state=r[7],
                        drawn_at=int(r[8]) if r[8] is not None else None, draws=int(r[9] or 0))
                for r in cursor.fetchall()]

    return read(config, query)


def log_page(config: StoreConfig, start: int, limit: int) -> tuple[list[LogEntry], int]:
    """Entries start..start+limit-1 of the log, and the log's size."""
    from ledger.store.reader import open_reader

    with open_reader(config) as reader:
        size = reader.size()
        last = min(size, start + limit - 1)
        rows = list(reader.rows(start, last)) if start <= last else []
    return [LogEntry(position=r.seq, hash=r.hash.hex(), topic=r.topic,
                     aggregate=str(r.originator_id) if r.originator_id else None, version=r.originator_version)
            for r in rows], size


class StoredEventOut(msgspec.Struct, kw_only=True):
    """One stored event, exactly as stored (the payload's canonical bytes in base64)."""

    originator_id: str
    version: int
    topic: str
    state: bytes
    position: int | None = None  # its position in the log (None: not stored, a preview)


def aggregate_events(config: StoreConfig, aggregate_id: Any) -> list[StoredEventOut]:
    """Every stored event of one aggregate with its log position, in version order."""
    from ledger.store.reader import open_reader

    with open_reader(config) as reader:
        oid = aggregate_id if reader.dialect.name == "postgres" else aggregate_id.hex
        rows = reader._all(  # noqa: SLF001 (the reader's one query helper)
            f"SELECT e.originator_version, e.topic, e.state, c.seq FROM {reader.events} e"
            f" LEFT JOIN {reader.chain} c ON c.notification_id = e.{reader.event_id}"
            f" WHERE e.originator_id = ? ORDER BY e.originator_version", (oid,))
    return [StoredEventOut(originator_id=str(aggregate_id), version=int(r[0]), topic=r[1], state=bytes(r[2]),
                           position=int(r[3]) if r[3] is not None else None) for r in rows]
