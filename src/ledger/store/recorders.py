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
import time
from collections.abc import Callable, Iterator, Sequence
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
from ledger.store.bulk import Streamed
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
        if head is None:
            self.request_head(cursor)
            head = self.read_head(cursor)
        chain = Chain(head)
        for notification_id, event in zip(notification_ids, events):
            chain.link(notification_id, event)
        self.finish(cursor, chain, transactions)

    def finish(self, cursor: Any, chain: Chain, transactions: Sequence[int] | None = None) -> None:
        """Everything after the events' INSERT: the chain rows, the signatures (one per signed
        transaction, `transactions` their sizes; default one), the tree, the hooks."""
        self.check_writable()
        assert self.signer is not None
        rows, head = chain.rows, chain.head
        if not rows:
            raise RuntimeError("an append of no events")
        sizes = [len(rows)] if transactions is None else list(transactions)
        if sum(sizes) != len(rows) or any(size < 1 for size in sizes):
            raise RuntimeError("signed transactions must each hold events and together all of them")
        first_seq = rows[0][0]
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


class Chain:
    """The chain rows (seq, notification id, hash) of an append's events, linked one by one
    from the head (so a bulk append hashes each event as it is inserted, holding none)."""

    def __init__(self, head: AppendHead) -> None:
        self.head = head
        self.rows: list[tuple[int, int, bytes]] = []
        self._seq, self._hash = head.seq, head.hash

    def link(self, notification_id: int, event: StoredEvent) -> None:
        if not isinstance(event.originator_id, UUID):
            raise TypeError("drledger aggregates must have UUID ids")
        self._seq += 1
        self._hash = event_hash(self._hash, self._seq, event.originator_id, event.originator_version, event.topic,
                                event.state)
        self.rows.append((self._seq, notification_id, self._hash))


BULK_EVENTS = 20_000  # an append this large gets BULK_CACHE_KIB of page cache (SQLite)
BULK_CACHE_KIB = 256 * 1024
DEFAULT_CACHE_PAGES = -2000  # SQLite's default: 2,000 KiB


class ChainedSQLiteRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name)
        if events_table_name != SQLITE.events_table:
            raise RuntimeError(f"events table is {events_table_name!r}, readers expect {SQLITE.events_table!r}")
        self.integrity = IntegrityAppender(SQLITE)

    def construct_create_table_statements(self) -> list[str]:
        return super().construct_create_table_statements() + SQLITE.create_statements()

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if len(stored_events) < BULK_EVENTS:
            return super().insert_events(stored_events, **kwargs)
        # A bulk import: the events' primary key (random aggregate ids) is written all over
        # its index, which then no longer fits SQLite's default 2 MB page cache and is read
        # and written again page by page. A larger cache for this one transaction, given back after.
        with self.datastore.get_connection(commit=True) as connection:
            pragma = connection.cursor()
            pragma.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
            try:
                with connection.transaction(commit=True) as c:
                    return self._insert_events(c, stored_events, **kwargs)
            finally:
                pragma.execute(f"PRAGMA cache_size = {DEFAULT_CACHE_PAGES}")

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent] | Streamed, **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert the events with their row ids (notification ids) known, chaining each as it
        goes: the first INSERT takes the write lock and gives its rowid; the rest follow it in
        one executemany (rowid is max + 1 without AUTOINCREMENT, and nothing else can write
        meanwhile). One statement per event only to learn its id cost more than the chain and
        the tree together on bulk imports. The events are read once, as SQLite takes them
        (a bulk import's are made then: store/bulk.py), and not held."""
        events = iter(stored_events)
        head_event = next(events, None)
        if head_event is None:
            return []
        self.integrity.check_writable()

        def key(s: StoredEvent) -> str:
            return s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id  # type: ignore[no-any-return]

        c.execute(self.insert_events_statement,
                  (key(head_event), head_event.originator_version, head_event.topic, head_event.state))
        first = c.lastrowid
        assert first is not None
        self.integrity.request_head(c)  # the write lock is held
        chain = Chain(self.integrity.read_head(c))
        chain.link(first, head_event)

        def params() -> Iterator[tuple[Any, ...]]:
            for notification_id, s in enumerate(events, first + 1):
                chain.link(notification_id, s)
                yield notification_id, key(s), s.originator_version, s.topic, s.state

        c.executemany(
            f"INSERT INTO {self.events_table_name} (rowid, originator_id, originator_version, topic, state)"
            " VALUES (?, ?, ?, ?, ?)",
            params(),
        )
        self.integrity.finish(c, chain, kwargs.get("transactions"))
        return list(range(first, first + len(chain.rows)))


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
        transactions = kwargs.pop("transactions", None)  # sizes of the signed transactions (a batch)
        if len(stored_events) >= BULK_EVENTS:
            return self._insert_bulk(stored_events, transactions)
        stored_events = list(stored_events)  # read twice here (a bulk import's are made as they are read)
        if not stored_events:
            return []
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

    def _insert_bulk(self, stored_events: Sequence[StoredEvent] | Streamed,
                     transactions: Sequence[int] | None = None) -> list[int]:
        """A bulk import's append: the events go in with COPY (not one parameter array that
        holds them all), each chained as it is sent; their ids are reserved first from the
        table's sequence, under the table lock every writer takes, so they follow commit order.
        No pipeline (COPY cannot run in one); its few extra round trips are nothing here."""
        self.integrity.check_writable()
        dialect = self.integrity.dialect
        table = dialect.table(dialect.events_table)
        count = len(stored_events)
        with self.datastore.get_connection() as conn:
            try:
                with conn.cursor() as curs:
                    curs.execute("BEGIN")
                    self._lock_table(curs)
                    self._notify_channel(curs)
                    self.integrity.request_head(curs)
                    chain = Chain(self.integrity.read_head(curs))
                    curs.execute("SELECT pg_get_serial_sequence(%s, 'notification_id') AS seq", (table,))
                    sequence = curs.fetchone()["seq"]  # type: ignore[index]
                    curs.execute("SELECT nextval(%s) AS first", (sequence,))
                    first = int(curs.fetchone()["first"])  # type: ignore[index]
                    curs.execute("SELECT setval(%s, %s)", (sequence, first + count - 1))
                    with curs.copy(f"COPY {table} (notification_id, originator_id, originator_version, topic, state)"
                                   " FROM STDIN") as copy:
                        for notification_id, event in enumerate(stored_events, first):
                            chain.link(notification_id, event)
                            copy.write_row((notification_id, event.originator_id, event.originator_version,
                                            event.topic, event.state))
                    if len(chain.rows) != count:
                        raise RuntimeError("the events to append were fewer or more than counted")
                    self.integrity.finish(curs, chain, transactions)
                    curs.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(psycopg.Error):
                    conn.rollback()
                raise
        return list(range(first, first + count))
