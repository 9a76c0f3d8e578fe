"""Projections: read models in tables beside the events, applied exactly once.

Each projection consumes chained events of its topics in position order.
The runner pulls by ledger position (this works on SQLite and PostgreSQL
alike: eventsourcing's subscribe() does not exist for SQLite) and records the
position it reached in `projection_positions` in the SAME transaction as the
rows it wrote, so a crash can neither skip nor repeat an event. We keep that
position ourselves rather than in eventsourcing's tracking table because the
library's tracking recorder commits in its own transaction, not in ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from ledger.store.schema import Dialect


class ProjectedEvent(NamedTuple):
    seq: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


class Projection(Protocol):
    """A read model: its tables, the topics it reads, and how it applies them."""

    name: str
    topics: tuple[str, ...]

    def create_statements(self, dialect: Dialect) -> list[str]: ...

    def tables(self) -> list[str]: ...

    def apply(self, cursor: Any, dialect: Dialect, events: list[ProjectedEvent]) -> None: ...


def select(conn: Any, dialect: Dialect, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """The rows of `sql`, written with `?` placeholders and `{t}` before table names, in either dialect."""
    cursor = conn.cursor()
    cursor.execute(sql.replace("?", dialect.placeholder).replace("{t}", dialect.prefix), tuple(params))
    return list(cursor.fetchall())
