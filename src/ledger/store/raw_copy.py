"""The ledger's rows as stored, read out in signed transactions and written into a copy.

An auditor's mirror holds the same rows as the ledger: the same event rows
(originator, version, topic, the exact payload bytes, the notification id),
the same chain rows (position, hash) and the same transaction signatures.
Nothing is re-encoded on the way: `read_page` returns the stored bytes and
`append_rows` inserts them as they are. The tree nodes are the only thing
computed on the copy's side (from the chain, as the append hook computes
them: store/tree.py), so the copy's tree is its own, and verify checks it.

`append_rows` runs in one transaction holding the copy's write lock, and
checks under it that the rows continue the copy's chain head; `truncate`
removes every row past a position (a mirror that failed verification goes
back to the state it was in). `save_mark` keeps, in the copy, how far it
was verified (size, head hash, last checkpoint size): the next pull checks
only what follows (verify/ledger_check.py `resume`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple
from uuid import UUID

from ledger.store.checkpoints import CHECKPOINTS_TABLE, COSIGNATURES_TABLE
from ledger.store.config import StoreConfig
from ledger.store.connection import connect
from ledger.store.reader import LedgerReader, TransactionRow
from ledger.store.tree import TREE_TABLE, append_tree_nodes, head_from_rows, head_query


class RawRow(NamedTuple):
    seq: int
    notification_id: int
    hash: bytes
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


class CopyConflict(RuntimeError):
    """The rows do not continue the copy's chain (another head, or a gap)."""


def read_page(reader: LedgerReader, since: int, limit: int) -> tuple[list[TransactionRow], list[RawRow]]:
    """Whole signed transactions after position `since`: as many as fit in `limit`
    events (at least one), with their rows. ([], []) past the head."""
    found = reader._all(
        f"SELECT first_seq, last_seq, key_id, signed_at_us, signature FROM {reader.transactions_table}"
        " WHERE last_seq > ? AND first_seq <= ? ORDER BY last_seq", (since, since + max(limit, 1)))
    if not found:
        found = reader._all(
            f"SELECT first_seq, last_seq, key_id, signed_at_us, signature FROM {reader.transactions_table}"
            " WHERE last_seq > ? ORDER BY last_seq LIMIT 1", (since,))
    transactions = [TransactionRow(int(r[0]), int(r[1]), r[2], int(r[3]), bytes(r[4])) for r in found]
    fitting = [tx for tx in transactions if tx.last_seq <= since + limit] or transactions[:1]
    if not fitting:
        return [], []
    last = fitting[-1].last_seq
    rows = reader._all(
        f"SELECT c.seq, c.notification_id, c.hash, e.originator_id, e.originator_version, e.topic, e.state"
        f" FROM {reader.chain} c JOIN {reader.events} e ON e.{reader.event_id} = c.notification_id"
        f" WHERE c.seq > ? AND c.seq <= ? ORDER BY c.seq", (since, last))
    return fitting, [RawRow(int(r[0]), int(r[1]), bytes(r[2]), r[3] if isinstance(r[3], UUID) else UUID(r[3]),
                            int(r[4]), r[5], bytes(r[6])) for r in rows]


@contextmanager
def _locked(config: StoreConfig) -> Iterator[tuple[Any, Any]]:
    """A cursor in one transaction holding the copy's write lock (committed on success)."""
    connection, dialect, _ = connect(config, "write")
    try:
        cursor = connection.cursor()
        if dialect.name == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
        else:
            cursor.execute("BEGIN")
            cursor.execute(f"LOCK TABLE {dialect.table(dialect.events_table)} IN EXCLUSIVE MODE")
        try:
            yield cursor, dialect
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")
    finally:
        connection.close()


def append_rows(config: StoreConfig, transactions: Sequence[TransactionRow], rows: Sequence[RawRow],
                expect_head: tuple[int, bytes]) -> None:
    """Insert the rows exactly as given, in one transaction, if the copy's head is
    still `expect_head` (position, hash); the tree grows by the nodes they complete."""
    with _locked(config) as (cursor, dialect):
        cursor.execute(head_query(dialect))
        head = head_from_rows(cursor.fetchall())
        if (head.seq, head.hash) != expect_head:
            raise CopyConflict(f"the copy's head moved to position {head.seq} while the rows were fetched")
        if not rows:
            return
        if rows[0].seq != head.seq + 1 or any(b.seq != a.seq + 1 for a, b in zip(rows, rows[1:])):
            raise CopyConflict(f"the rows do not follow position {head.seq} without a gap")
        sqlite = dialect.name == "sqlite"
        id_column = "rowid" if sqlite else "notification_id"
        cursor.executemany(
            f"INSERT INTO {dialect.table(dialect.events_table)}"
            f" ({id_column}, originator_id, originator_version, topic, state) VALUES ({dialect.params(5)})",
            [(r.notification_id, r.originator_id.hex if sqlite else r.originator_id, r.originator_version, r.topic,
              r.state) for r in rows])
        dialect.insert_rows(cursor, "ledger_chain", (("seq", "bigint"), ("notification_id", "bigint"), ("hash", "bytea")),
                            [(r.seq, r.notification_id, r.hash) for r in rows])
        cursor.executemany(dialect.insert_transaction,
                           [(tx.last_seq, tx.first_seq, tx.key_id, tx.signed_at_us, tx.signature) for tx in transactions])
        append_tree_nodes(cursor, dialect, rows[0].seq, [r.hash for r in rows], head.left_edge)


def truncate(config: StoreConfig, size: int) -> None:
    """Remove every row past position `size` (events, chain, signatures, tree nodes, checkpoints)."""
    with _locked(config) as (cursor, dialect):
        p = dialect.placeholder
        events, chain = dialect.table(dialect.events_table), dialect.table("ledger_chain")
        id_column = "rowid" if dialect.name == "sqlite" else "notification_id"
        cursor.execute(f"DELETE FROM {events} WHERE {id_column} IN"
                       f" (SELECT notification_id FROM {chain} WHERE seq > {p})", (size,))
        cursor.execute(f"DELETE FROM {chain} WHERE seq > {p}", (size,))
        cursor.execute(f"DELETE FROM {dialect.table('ledger_transactions')} WHERE last_seq > {p}", (size,))
        # Node (level, idx) covers leaves [idx << level, (idx + 1) << level): keep those within `size`.
        cursor.execute(f"DELETE FROM {dialect.table(TREE_TABLE)} WHERE (idx + 1) * (CAST(1 AS BIGINT) << level) > {p}", (size,))
        cursor.execute(f"DELETE FROM {dialect.table(COSIGNATURES_TABLE)} WHERE size > {p}", (size,))
        cursor.execute(f"DELETE FROM {dialect.table(CHECKPOINTS_TABLE)} WHERE size > {p}", (size,))


def insert_checkpoint_note(config: StoreConfig, size: int, note: str, created_at: str) -> bool:
    """Keep a checkpoint note the copy does not have yet (False if it has one at that size)."""
    with _locked(config) as (cursor, dialect):
        table = dialect.table(CHECKPOINTS_TABLE)
        cursor.execute(f"SELECT 1 FROM {table} WHERE size = {dialect.placeholder}", (size,))
        if cursor.fetchall():
            return False
        cursor.execute(f"INSERT INTO {table} (size, note, created_at) VALUES ({dialect.params(3)})",
                       (size, note, created_at))
        return True


def topic_rows_after(reader: LedgerReader, topics: Sequence[str], since: int, limit: int) -> list[RawRow]:
    """Chained events of the given topics after position `since`, in position order, at most `limit`."""
    marks = ", ".join("?" * len(topics))
    rows = reader._all(
        f"SELECT c.seq, c.notification_id, c.hash, e.originator_id, e.originator_version, e.topic, e.state"
        f" FROM {reader.chain} c JOIN {reader.events} e ON e.{reader.event_id} = c.notification_id"
        f" WHERE c.seq > ? AND e.topic IN ({marks}) ORDER BY c.seq LIMIT ?", (since, *topics, limit))
    return [RawRow(int(r[0]), int(r[1]), bytes(r[2]), r[3] if isinstance(r[3], UUID) else UUID(r[3]),
                   int(r[4]), r[5], bytes(r[6])) for r in rows]


def versions_of(reader: LedgerReader, topic: str, originators: Sequence[UUID]) -> dict[UUID, int]:
    """originator -> the lowest version of its event with `topic` (originators without one are absent)."""
    if not originators:
        return {}
    keys = [o if reader.dialect.name == "postgres" else o.hex for o in originators]
    rows = reader._all(
        f"SELECT originator_id, MIN(originator_version) FROM {reader.events}"
        f" WHERE topic = ? AND originator_id IN ({', '.join('?' * len(keys))}) GROUP BY originator_id", (topic, *keys))
    return {(r[0] if isinstance(r[0], UUID) else UUID(r[0])): int(r[1]) for r in rows}


MARK_TABLE = "mirror_verified"


def save_mark(config: StoreConfig, size: int, head: bytes, checkpoint: int, verified_at: str) -> None:
    """Record that the copy was verified up to `size` (head hash `head`) and checkpoint size `checkpoint`."""
    with _locked(config) as (cursor, dialect):
        table = dialect.table(MARK_TABLE)
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {table} (size BIGINT NOT NULL, head {dialect.blob} NOT NULL,"
                       " checkpoint BIGINT NOT NULL, verified_at TEXT NOT NULL)")
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute(f"INSERT INTO {table} (size, head, checkpoint, verified_at) VALUES ({dialect.params(4)})",
                       (size, head, checkpoint, verified_at))


def read_mark(reader: LedgerReader) -> tuple[int, bytes, int] | None:
    """(size, head hash, checkpoint size) the copy was last verified at; None if never."""
    try:
        row = reader._one(f"SELECT size, head, checkpoint FROM {reader.dialect.table(MARK_TABLE)}")
    except Exception:  # noqa: BLE001 - no such table: a copy never verified by a pull
        reader.connection.rollback()
        return None
    return (int(row[0]), bytes(row[1]), int(row[2])) if row else None
