"""SQL for the integrity tables that live beside eventsourcing's stored_events.

ledger_chain         one row per event: gap-free position, notification id, hash
ledger_transactions  one row per committed append: covered positions, signature
ledger_tree          complete subtree hashes of the transparency log (store/tree.py)
ledger_checkpoints   signed checkpoint notes; ledger_cosignatures: witnesses' cosignatures
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any



@dataclass(frozen=True)
class Dialect:
    """The few SQL differences between SQLite and PostgreSQL that we need."""

    name: str
    placeholder: str
    blob: str
    prefix: str  # schema qualification for table names ("" or '"schema".')
    events_table: str  # eventsourcing's table: named by the factory, not by us

    def table(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def params(self, count: int) -> str:
        return ", ".join([self.placeholder] * count)

    def create_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.table('ledger_chain')} ("
            " seq BIGINT PRIMARY KEY,"
            " notification_id BIGINT NOT NULL UNIQUE,"
            f" hash {self.blob} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.table('ledger_transactions')} ("
            " last_seq BIGINT PRIMARY KEY,"
            " first_seq BIGINT NOT NULL,"
            " key_id TEXT NOT NULL,"
            " signed_at_us BIGINT NOT NULL,"
            f" signature {self.blob} NOT NULL)",
            # Refusals beyond the recorded ones are only counted (domain/refusals.py).
            f"CREATE TABLE IF NOT EXISTS {self.table('ledger_refusal_counts')} ("
            " bucket TEXT NOT NULL, hour TEXT NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (bucket, hour))",
        ] + log_create_statements(self)

    def insert_rows(self, cursor: Any, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> None:
        """Insert many rows in one statement on PostgreSQL (unnest of arrays, one
        round trip), with executemany on SQLite (in-process, no round trips).

        `columns` are (name, PostgreSQL type) pairs, e.g. ("seq", "bigint").
        The arrays go in binary (%b): no text escaping of each bytea element.
        """
        names = ", ".join(name for name, _ in columns)
        if self.name == "sqlite":
            cursor.executemany(f"INSERT INTO {self.table(table)} ({names}) VALUES ({self.params(len(columns))})", rows)
            return
        arrays = ", ".join(f"%b::{kind}[]" for _, kind in columns)
        cursor.execute(
            f"INSERT INTO {self.table(table)} ({names}) SELECT * FROM unnest({arrays})",
            [list(column) for column in zip(*rows)],
        )

    @property
    def insert_transaction(self) -> str:
        return (
            f"INSERT INTO {self.table('ledger_transactions')}"
            f" (last_seq, first_seq, key_id, signed_at_us, signature) VALUES ({self.params(5)})"
        )


SQLITE = Dialect(name="sqlite", placeholder="?", blob="BLOB", prefix="", events_table="stored_events")
# eventsourcing's PostgreSQL factory prefixes tables with the application name.
POSTGRES_EVENTS_TABLE = "drledger_events"


def postgres_dialect(schema: str) -> Dialect:
    prefix = f'"{schema}".' if schema else ""
    return Dialect(name="postgres", placeholder="%s", blob="BYTEA", prefix=prefix, events_table=POSTGRES_EVENTS_TABLE)


TREE_TABLE = "ledger_tree"
CHECKPOINTS_TABLE = "ledger_checkpoints"
COSIGNATURES_TABLE = "ledger_cosignatures"


def log_create_statements(dialect: Dialect) -> list[str]:
    """DDL for the transparency-log tables ."""
    # SQLite: a clustered primary key halves the lookups of a proof query.
    without_rowid = " WITHOUT ROWID" if dialect.name == "sqlite" else ""
    return [
        f"CREATE TABLE IF NOT EXISTS {dialect.table(TREE_TABLE)} ("
        " level INTEGER NOT NULL,"
        " idx BIGINT NOT NULL,"
        f" hash {dialect.blob} NOT NULL,"
        f" PRIMARY KEY (level, idx)){without_rowid}",
        f"CREATE TABLE IF NOT EXISTS {dialect.table(CHECKPOINTS_TABLE)} ("
        " size BIGINT PRIMARY KEY,"
        " note TEXT NOT NULL,"
        " created_at TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {dialect.table(COSIGNATURES_TABLE)} ("
        " size BIGINT NOT NULL,"
        " witness TEXT NOT NULL,"
        " line TEXT NOT NULL,"
        " received_at TEXT NOT NULL,"
        " PRIMARY KEY (size, witness))",
    ]
