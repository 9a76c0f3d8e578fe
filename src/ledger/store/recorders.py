"""eventsourcing recorders that chain and sign every append in its own transaction.

An append may hold several signed transactions (a batch of commands, one
store transaction: services/processor.py); each is chained and signed as if
appended alone, and the Merkle tree is extended once for all of them.

The store's write lock is held when `IntegrityAppender.append` runs (SQLite: the
INSERT took the database write lock; PostgreSQL: the recorder's
`LOCK TABLE ... IN EXCLUSIVE MODE`), so reading the chain head there is safe:
chain order = position order = commit order. If anything fails, the whole
transaction (events, chain rows, signature, tree nodes) rolls back together.

The head (chain head and the tree's left edge) is read from the chain and the
tree themselves, in one statement (store/tree.head_query). On PostgreSQL it is
sent in the same pipeline as the LOCK and the events' INSERT, so an append
costs two round trips, like bare eventsourcing's: the INSERT's ids with the
head, then everything else with the COMMIT.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    InterfaceError,
    OperationalError,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL

from ledger.integrity.chain import event_hash, transaction_message
from ledger.integrity.keys import Signer
from ledger.store.schema import SQLITE, Dialect, postgres_dialect
from ledger.store.tree import AppendHead, append_tree_nodes, head_from_rows, head_query

CHAIN_COLUMNS = (("seq", "bigint"), ("notification_id", "bigint"), ("hash", "bytea"))

# Extra work inside the append transaction, after the Merkle tree, given the
# cursor, the dialect, the first new position and the new event hashes.
AppendHook = Callable[[Any, Dialect, int, list[bytes]], None]


class LedgerReadOnly(RuntimeError):
    """An append was attempted without the ledger key loaded."""


class IntegrityAppender:
    """Chains and signs a batch of just-inserted events (one transaction).

    Inside the append transaction: the chain rows, the signature row, the
    Merkle tree's new nodes (unless `tree` is off: benchmarks only), then
    `hooks` in order. `hooks` start as `process_hooks`: hooks added there
    reach every ledger this process opens afterwards, including those opened
    inside library calls.
    """

    process_hooks: ClassVar[list[AppendHook]] = []

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.signer: Signer | None = None
        self.tree = True
        self.hooks: list[AppendHook] = [*IntegrityAppender.process_hooks]
        self.head_sql = head_query(dialect)

    def check_writable(self) -> None:
        if self.signer is None:
            raise LedgerReadOnly("this ledger was opened without its key: it cannot append")

    def request_head(self, cursor: Any) -> None:
        """Send the head query; run it after the write lock is held, in the append transaction."""
        cursor.execute(self.head_sql)

    def read_head(self, cursor: Any) -> AppendHead:
        """The head, from a cursor on which `request_head` ran (with the tree off, a
        tree left incomplete is no error: nothing reads it)."""
        return head_from_rows(cursor.fetchall(), need_edge=self.tree)

    def append(self, cursor: Any, notification_ids: Sequence[int], events: Sequence[StoredEvent],
               head: AppendHead | None = None, transactions: Sequence[int] | None = None) -> None:
        """Chain, sign and extend the tree for `events`, just inserted with `notification_ids`.
        `head`: read by the caller after the write lock (else read here, on `cursor`).
        `transactions`: the sizes of the signed transactions `events` make, in order (a batch
        of commands in one store transaction); default: one."""
        self.check_writable()
        if len(notification_ids) != len(events):
            raise RuntimeError("store returned a different number of ids than events")
        sizes = [len(events)] if transactions is None else list(transactions)
        if sum(sizes) != len(events) or any(size < 1 for size in sizes):
            raise RuntimeError("signed transactions must each hold events and together all of them")
        if head is None:
            self.request_head(cursor)
            head = self.read_head(cursor)
        last_seq, last_hash = head.seq, head.hash
        first_seq = last_seq + 1
        rows: list[tuple[int, int, bytes]] = []
        for notification_id, event in zip(notification_ids, events):
            if not isinstance(event.originator_id, UUID):
                raise TypeError("drledger aggregates must have UUID ids")
            last_seq += 1
            last_hash = event_hash(
                last_hash, last_seq, event.originator_id, event.originator_version, event.topic, event.state
            )
            rows.append((last_seq, notification_id, last_hash))
        self.dialect.insert_rows(cursor, "ledger_chain", CHAIN_COLUMNS, rows)
        signed_at_us = time.time_ns() // 1000
        end = first_seq - 1
        for size in sizes:
            start, end = end + 1, end + size
            tx_hash = rows[end - first_seq][2]
            signature = self.signer.sign(transaction_message(start, end, tx_hash, signed_at_us))
            cursor.execute(self.dialect.insert_transaction, (end, start, self.signer.key_id, signed_at_us, signature))
        hashes = [row[2] for row in rows]
        if self.tree:
            append_tree_nodes(cursor, self.dialect, first_seq, hashes, head.left_edge)
        for hook in self.hooks:
            hook(cursor, self.dialect, first_seq, hashes)


class ChainedSQLiteRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name)
        if events_table_name != SQLITE.events_table:
            raise RuntimeError(f"events table is {events_table_name!r}, readers expect {SQLITE.events_table!r}")
        self.integrity = IntegrityAppender(SQLITE)

    def construct_create_table_statements(self) -> list[str]:
        return super().construct_create_table_statements() + SQLITE.create_statements()

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = self._insert_known_ids(c, stored_events)
        if stored_events:
            assert notification_ids is not None
            self.integrity.append(c, notification_ids, stored_events, None, kwargs.get("transactions"))
        return notification_ids

    def _insert_known_ids(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent]) -> list[int]:
        """Insert the events with their row ids (notification ids) known: the first
        INSERT takes the write lock and gives its rowid; the rest follow it in one
        executemany (rowid is max + 1 without AUTOINCREMENT, and nothing else can
        write meanwhile). One statement per event only to learn its id cost more
        than the chain and the tree together on bulk imports."""
        if not stored_events:
            return []

        def key(s: StoredEvent) -> str:
            return s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id  # type: ignore[no-any-return]

        head = stored_events[0]
        c.execute(self.insert_events_statement, (key(head), head.originator_version, head.topic, head.state))
        first = c.lastrowid
        assert first is not None
        if len(stored_events) > 1:
            # A generator: the parameter rows are made as SQLite takes them, not held all at once.
            c.executemany(
                f"INSERT INTO {self.events_table_name} (rowid, originator_id, originator_version, topic, state)"
                " VALUES (?, ?, ?, ?, ?)",
                ((first + i, key(s), s.originator_version, s.topic, s.state)
                 for i, s in enumerate(itertools.islice(stored_events, 1, None), 1)),
            )
        return list(range(first, first + len(stored_events)))


class ChainedPostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        dialect = postgres_dialect(datastore.schema)
        if events_table_name != dialect.events_table:
            raise RuntimeError(f"events table is {events_table_name!r}, readers expect {dialect.events_table!r}")
        self.integrity = IntegrityAppender(dialect)
        self.sql_create_statements.extend(SQL(statement) for statement in dialect.create_statements())  # type: ignore[arg-type]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        # Not the library's pipelined version: that one commits when an error
        # is raised after the insert. Here any error rolls everything back.
        if not stored_events:
            return []
        transactions = kwargs.pop("transactions", None)  # sizes of the signed transactions (a batch)
        self.integrity.check_writable()  # before anything is sent
        # One pipeline, two round trips: BEGIN, the LOCK, the events' INSERT and
        # the head query go out together and the ids come back with the head
        # (the head query runs after the lock, in this transaction); then the
        # chain, signature and tree rows go out with the COMMIT, and the
        # pipeline's closing sync waits for them. psycopg's conn.transaction()
        # is not used: inside a pipeline it syncs on entry and on exit.
        with self.datastore.get_connection() as conn:
            try:
                with conn.pipeline(), conn.cursor() as curs, conn.cursor() as head_cursor:
                    curs.execute("BEGIN")
                    self._insert_stored_events(curs, stored_events, **kwargs)  # locks the table
                    self.integrity.request_head(head_cursor)
                    notification_ids = [row["notification_id"] for row in curs.fetchall()]
                    head = self.integrity.read_head(head_cursor)
                    self.integrity.append(curs, notification_ids, stored_events, head, transactions)
                    curs.execute("COMMIT")
            except BaseException:
                # Whatever was sent is undone (a no-op if no transaction is open). A
                # broken connection cannot roll back: the pool discards it, and the
                # server ends its transaction.
                with contextlib.suppress(psycopg.Error):
                    conn.rollback()
                raise
        return notification_ids
