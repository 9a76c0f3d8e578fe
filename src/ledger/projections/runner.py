"""Catch projections up with the ledger, or drop and rebuild them.

Writers call `catch_up` before they return (read-your-writes); a long-running
server would call `catch_up` in a background loop for everything else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any, Iterator
from uuid import UUID

from ledger.projections.base import ProjectedEvent, Projection
from ledger.store.config import StoreConfig
from ledger.store.connection import connect, lent
from ledger.store.schema import Dialect

WINDOW = 20_000  # ledger positions read per transaction


@contextmanager
def writable_connection(config: StoreConfig) -> Iterator[tuple[Any, Dialect, str]]:
    """A raw autocommit connection for projection work: (conn, dialect, event id column);
    a kept one where the store's connections are kept (a server: store/connection.py)."""
    with lent(config, "write", lambda: connect(config, "write", any_thread=True),
              lambda found: found[0].close()) as connection:
        yield connection


def _sql(dialect: Dialect, statement: str) -> str:
    return statement.replace("?", dialect.placeholder)


def _begin(conn: Any, dialect: Dialect) -> Any:
    cursor = conn.cursor()
    # SQLite: take the write lock now, so two runners serialise cleanly.
    cursor.execute("BEGIN IMMEDIATE" if dialect.name == "sqlite" else "BEGIN")
    return cursor


def _ensure_positions(cursor: Any, dialect: Dialect) -> None:
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {dialect.table('projection_positions')}"
        " (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
    )


def ensure_tables(conn: Any, dialect: Dialect, projections: Sequence[Projection]) -> None:
    """Create missing projection tables; no DDL at all once every one is registered
    (DDL beside concurrent appends can deadlock on PostgreSQL)."""
    cursor = conn.cursor()
    try:
        cursor.execute(f"SELECT name FROM {dialect.table('projection_positions')}")
        known = {row[0] for row in cursor.fetchall()}
    except Exception:  # noqa: BLE001 - the positions table does not exist yet
        known = set()
        if dialect.name != "sqlite":
            conn.rollback()
    if all(p.name in known for p in projections):
        return
    cursor = _begin(conn, dialect)
    try:
        _ensure_positions(cursor, dialect)
        for projection in projections:
            for statement in projection.create_statements(dialect):
                cursor.execute(statement)
            cursor.execute(
                _sql(dialect, f"INSERT INTO {dialect.table('projection_positions')} (name, position) VALUES (?, 0)"
                     " ON CONFLICT (name) DO NOTHING"),
                (projection.name,),
            )
        cursor.execute("COMMIT")
    except BaseException:
        cursor.execute("ROLLBACK")
        raise


def _head(cursor: Any, dialect: Dialect) -> int:
    cursor.execute(f"SELECT MAX(seq) FROM {dialect.table('ledger_chain')}")
    row = cursor.fetchone()
    return int(row[0] or 0)


def _up_to_date(conn: Any, dialect: Dialect, projections: Sequence[Projection]) -> dict[str, int] | None:
    """The positions, if every projection is at the head already; found with plain reads, so that
    the usual case (every read catches up first) takes no write lock and writes nothing."""
    cursor = conn.cursor()
    cursor.execute(f"SELECT name, position FROM {dialect.table('projection_positions')}")
    positions = {name: int(position) for name, position in cursor.fetchall()}
    head = _head(cursor, dialect)
    if all(positions.get(p.name, -1) >= head for p in projections):
        return {p.name: positions[p.name] for p in projections}
    return None


def _step(cursor: Any, dialect: Dialect, event_id: str, projection: Projection, window: int,
          head: int) -> int:
    """Apply one window of events up to `head` in the caller's transaction: the new position."""
    positions = dialect.table("projection_positions")
    lock = "" if dialect.name == "sqlite" else " FOR UPDATE"
    cursor.execute(_sql(dialect, f"SELECT position FROM {positions} WHERE name = ?{lock}"), (projection.name,))
    position = int(cursor.fetchone()[0])
    if position >= head:
        return position
    stop = min(head, position + window)
    marks = ", ".join([dialect.placeholder] * len(projection.topics))
    cursor.execute(
        f"SELECT c.seq, e.originator_id, e.originator_version, e.topic, e.state"
        f" FROM {dialect.table('ledger_chain')} c JOIN {dialect.table(dialect.events_table)} e"
        f" ON e.{event_id} = c.notification_id"
        f" WHERE c.seq > {dialect.placeholder} AND c.seq <= {dialect.placeholder} AND e.topic IN ({marks})"
        f" ORDER BY c.seq",
        (position, stop, *projection.topics),
    )
    events = [
        ProjectedEvent(seq, oid if isinstance(oid, UUID) else UUID(oid), version, topic, bytes(state))
        for seq, oid, version, topic, state in cursor.fetchall()
    ]
    if events:
        projection.apply(cursor, dialect, events)
    cursor.execute(_sql(dialect, f"UPDATE {positions} SET position = ? WHERE name = ?"), (stop, projection.name))
    return stop


def catch_up(
    config: StoreConfig,
    projections: Sequence[Projection],
    *,
    window: int = WINDOW,
    on_progress: Callable[[str, int, int], None] | None = None,
    connection: tuple[Any, Dialect, str] | None = None,
) -> dict[str, int]:
    """Bring every projection up to the ledger head; returns their positions.

    Each round applies one window to every projection still behind, in one
    transaction: a write's catch-up is one round, so one commit, not one per
    projection. `connection` (from writable_connection) is used if given,
    instead of opening one (a long-lived writer keeps its own).
    """
    reached: dict[str, int] = {}
    with nullcontext(connection) if connection else writable_connection(config) as (conn, dialect, event_id):
        ensure_tables(conn, dialect, projections)
        current = _up_to_date(conn, dialect, projections)
        if current is not None:
            return current
        behind = list(projections)
        while behind:
            cursor = _begin(conn, dialect)
            try:
                head = _head(cursor, dialect)
                steps = [(projection, _step(cursor, dialect, event_id, projection, window, head))
                         for projection in behind]
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            behind = []
            for projection, position in steps:
                if on_progress:
                    on_progress(projection.name, position, head)
                if position >= head:
                    reached[projection.name] = position
                else:
                    behind.append(projection)
    return reached


def rebuild(
    config: StoreConfig,
    projections: Sequence[Projection],
    *,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Drop the projections' tables and positions, then replay them from the log."""
    with writable_connection(config) as (conn, dialect, _):
        cursor = _begin(conn, dialect)
        try:
            _ensure_positions(cursor, dialect)
            for projection in projections:
                for table in projection.tables():
                    cursor.execute(f"DROP TABLE IF EXISTS {dialect.table(table)}")
                cursor.execute(
                    _sql(dialect, f"DELETE FROM {dialect.table('projection_positions')} WHERE name = ?"),
                    (projection.name,),
                )
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
    return catch_up(config, projections, on_progress=on_progress)

