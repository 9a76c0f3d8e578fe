"""eventsourcing recorders that chain and sign every append in its own transaction.

The store's write lock is held when `IntegrityAppender.append` runs (SQLite: the
INSERT took the database write lock; PostgreSQL: the recorder's
`LOCK TABLE ... IN EXCLUSIVE MODE`), so reading the chain head there is safe:
chain order = position order = commit order. If anything fails, the whole
transaction (events, chain rows, signature) rolls back together.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from uuid import UUID

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

from ledger.integrity.chain import GENESIS_PREV, event_hash, transaction_message
from ledger.integrity.keys import Signer
from ledger.store.schema import SQLITE, Dialect, postgres_dialect
from ledger.store.tree import append_tree_nodes

CHAIN_COLUMNS = (("seq", "bigint"), ("notification_id", "bigint"), ("hash", "bytea"))

# Extra work inside the append transaction (e.g. the Merkle tree), given the
# cursor, the dialect, the first new position and the new event hashes.
AppendHook = Callable[[Any, Dialect, int, list[bytes]], None]


class LedgerReadOnly(RuntimeError):
    """An append was attempted without the ledger key loaded."""


class IntegrityAppender:
    """Chains and signs a batch of just-inserted events (one transaction).

    `hooks` run in order inside the append transaction, after the chain and
    signature rows. Every appender starts with the Merkle tree, then
    `process_hooks`: hooks added there reach every ledger this process opens
    afterwards, including those opened inside library calls.
    """

    process_hooks: ClassVar[list[AppendHook]] = []

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.signer: Signer | None = None
        self.hooks: list[AppendHook] = [append_tree_nodes, *IntegrityAppender.process_hooks]

    def append(self, cursor: Any, notification_ids: Sequence[int], events: Sequence[StoredEvent]) -> None:
        if self.signer is None:
            raise LedgerReadOnly("this ledger was opened without its key: it cannot append")
        if len(notification_ids) != len(events):
            raise RuntimeError("store returned a different number of ids than events")
        cursor.execute(self.dialect.select_head)
        head = cursor.fetchone()
        last_seq, last_hash = (head["seq"], bytes(head["hash"])) if head else (0, GENESIS_PREV)
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
        signature = self.signer.sign(transaction_message(first_seq, last_seq, last_hash, signed_at_us))
        cursor.execute(
            self.dialect.insert_transaction,
            (last_seq, first_seq, self.signer.key_id, signed_at_us, signature),
        )
        for hook in self.hooks:
            hook(cursor, self.dialect, first_seq, [row[2] for row in rows])


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
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        if stored_events:
            assert notification_ids is not None
            self.integrity.append(c, notification_ids, stored_events)
        return notification_ids


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
        # Pipeline mode: statements are sent without waiting; only the reads we
        # depend on (ids, chain head, the tree's left edge) wait for the server.
        with self.datastore.get_connection() as conn, conn.pipeline(), conn.transaction(), conn.cursor() as curs:
            self._insert_stored_events(curs, stored_events, **kwargs)  # locks the table
            notification_ids = [row["notification_id"] for row in curs.fetchall()]
            self.integrity.append(curs, notification_ids, stored_events)
        return notification_ids
