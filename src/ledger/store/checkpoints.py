"""Raw SQL for stored checkpoints and cosignatures, and a locked write connection.

Checkpoints are not events: they are signed statements *about* the event
log, written after the fact, so they live in their own append-only tables.
A write takes the store's write lock for the whole publish (SQLite: BEGIN
IMMEDIATE; PostgreSQL: LOCK TABLE ... EXCLUSIVE), so two publishers cannot
both pass the consistency check against the same previous checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from ledger.store.config import StoreConfig
from ledger.store.connection import connect
from ledger.store.reader import LedgerReader
from ledger.store.tree import CHECKPOINTS_TABLE, COSIGNATURES_TABLE


class StoredCheckpoint(NamedTuple):
    size: int
    note: str
    created_at: str


class StoredCosignature(NamedTuple):
    size: int
    witness: str
    line: str
    received_at: str


def checkpoints(reader: LedgerReader) -> list[StoredCheckpoint]:
    table = reader.dialect.table(CHECKPOINTS_TABLE)
    return [
        StoredCheckpoint(int(r[0]), r[1], r[2])
        for r in reader._all(f"SELECT size, note, created_at FROM {table} ORDER BY size")
    ]


def latest_checkpoint(reader: LedgerReader) -> StoredCheckpoint | None:
    table = reader.dialect.table(CHECKPOINTS_TABLE)
    row = reader._one(f"SELECT size, note, created_at FROM {table} ORDER BY size DESC LIMIT 1")
    return StoredCheckpoint(int(row[0]), row[1], row[2]) if row else None


def cosignatures(reader: LedgerReader, size: int | None = None) -> list[StoredCosignature]:
    table = reader.dialect.table(COSIGNATURES_TABLE)
    sql = f"SELECT size, witness, line, received_at FROM {table}"
    params: tuple[int, ...] = ()
    if size is not None:
        sql, params = sql + " WHERE size = ?", (size,)
    rows = reader._all(sql + " ORDER BY size, witness", params)
    return [StoredCosignature(int(r[0]), r[1], r[2], r[3]) for r in rows]


def insert_checkpoint(reader: LedgerReader, checkpoint: StoredCheckpoint) -> None:
    table = reader.dialect.table(CHECKPOINTS_TABLE)
    reader.connection.cursor().execute(
        f"INSERT INTO {table} (size, note, created_at) VALUES ({reader.dialect.params(3)})", tuple(checkpoint)
    )


def store_cosignature(reader: LedgerReader, cosignature: StoredCosignature) -> None:
    """Keep one cosignature per (size, witness): a newer one replaces it."""
    table, p = reader.dialect.table(COSIGNATURES_TABLE), reader.dialect.placeholder
    cursor = reader.connection.cursor()
    cursor.execute(f"DELETE FROM {table} WHERE size = {p} AND witness = {p}", (cosignature.size, cosignature.witness))
    cursor.execute(
        f"INSERT INTO {table} (size, witness, line, received_at) VALUES ({reader.dialect.params(4)})",
        tuple(cosignature),
    )


@contextmanager
def locked_writer(config: StoreConfig) -> Iterator[LedgerReader]:
    """A LedgerReader over a writable connection holding the write lock.

    Commits when the block ends normally, rolls back on any exception.
    """
    connection, dialect, event_id = connect(config, "write")
    if dialect.name == "sqlite":
        connection.execute("BEGIN IMMEDIATE")
    else:
        connection.execute("BEGIN")
        connection.execute(f"LOCK TABLE {dialect.table(CHECKPOINTS_TABLE)} IN EXCLUSIVE MODE")
    reader = LedgerReader(connection, dialect, event_id)
    try:
        yield reader
    except BaseException:
        _end(reader, "ROLLBACK")
        raise
    _end(reader, "COMMIT")


def _end(reader: LedgerReader, verb: str) -> None:
    try:
        reader.connection.execute(verb)  # the explicit BEGIN needs an explicit end (autocommit connection)
    finally:
        reader.connection.close()
