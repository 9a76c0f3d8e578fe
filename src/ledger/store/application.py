"""The eventsourcing application over the chained store: loads and saves aggregates.

It holds no rules: services/processor.py decides, this saves. One save = one
store transaction = one ledger signature (store/recorders.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from ledger.domain.actors import Ledger
from ledger.domain.directory import NewEntries
from ledger.integrity.keys import Signer
from ledger.store.bulk import Streamed
from ledger.store.config import StoreConfig
from ledger.store.mapper import CanonicalMapper
from ledger.store.recorders import IntegrityAppender

# Aggregates kept in memory between commands (a big task's draw is costly to
# decode); fast-forwarded from the store on each read, so never stale (under the
# writer lock the command processor keeps them current instead: services/processor.py).
CACHE_SIZE = "200"


class NoLedger(LookupError):
    """The store holds no ledger."""


class LedgerApplication(Application[UUID]):
    name = "drledger"

    def __init__(self, config: StoreConfig, signer: Signer | None = None, *, create_tables: bool = False) -> None:
        # Tables are created by `init` only: re-running eventsourcing's DDL while
        # another process appends deadlocks on PostgreSQL.
        self.config = config
        self._reads: tuple[Any, Any] | None = None  # find_many's connection, opened on first use
        env = config.eventsourcing_env()
        env["CREATE_TABLE"] = "y" if create_tables else "n"
        env["IS_SNAPSHOTTING_ENABLED"] = "y"
        env["AGGREGATE_CACHE_MAXSIZE"] = CACHE_SIZE
        super().__init__(env=env)
        self.integrity.signer = signer

    def construct_mapper(self) -> CanonicalMapper:
        return CanonicalMapper()

    @property
    def integrity(self) -> IntegrityAppender:
        return self.recorder.integrity  # type: ignore[attr-defined,no-any-return]

    def save(self, *objs: Any, **kwargs: Any) -> Sequence[int]:
        """Store the aggregates' pending events in one transaction; their positions' notification ids.

        Not eventsourcing's save: that one checks each object against two typing
        Protocols (most of a bulk import's save time) and keeps every domain event,
        its stored form and a Recording of both until the end. Here each aggregate's
        events are turned into their stored bytes as they are collected (the aggregate
        then holds them no more), and a run of new rows (NewEntries) is encoded row by
        row as the store inserts it (store/bulk.py Streamed). drledger has no
        snapshot intervals and no followers: nothing else of the library's save applies
        (services/processor.py keeps the saved aggregates in the cache)."""
        if kwargs or not all(isinstance(obj, (Aggregate, NewEntries)) for obj in objs):
            raise TypeError("drledger saves aggregates (and runs of new directory rows) only, without options")
        # A bulk import's new rows (NewEntries) are encoded as the store inserts them (store/bulk.py).
        return self.recorder.insert_events(Streamed(list(objs), self.mapper)) or []  # type: ignore[arg-type]

    def save_transactions(self, transactions: Sequence[Streamed | list[StoredEvent]]) -> Sequence[int]:
        """Store several signed transactions (each one command's events, in order) in ONE store
        transaction: one commit for a batch of commands, each still chained and signed as its
        own transaction (store/recorders.py)."""
        saves = [t if isinstance(t, Streamed) else Streamed([t], self.mapper) for t in transactions]
        sizes = [len(save) for save in saves]
        return self.recorder.insert_events(Streamed.joined(saves), transactions=sizes) or []  # type: ignore[arg-type]

    def find(self, aggregate_id: UUID, *, copy: bool = True) -> Any:
        """The aggregate, or None: a fresh copy the caller may change, or (copy=False)
        the cached object, which the caller must not change."""
        try:
            return self.repository.get(aggregate_id, deepcopy_from_cache=copy)
        except AggregateNotFoundError:
            return None

    def find_many(self, aggregate_ids: list[UUID]) -> dict[UUID, Any]:
        """The existing aggregates among `aggregate_ids`, rebuilt from their events in a few
        queries (bulk imports: one query per aggregate would dominate).

        The read connection is opened once and kept (opening one costs more than
        the query); each call ends its read transaction, so every call sees the
        store as committed when it starts."""
        found: dict[UUID, Any] = {}
        if not aggregate_ids:
            return found
        connection, dialect = self._read_connection()
        try:
            table = dialect.table(dialect.events_table)
            cursor = connection.cursor()
            for start in range(0, len(aggregate_ids), 500):
                chunk = aggregate_ids[start:start + 500]
                keys = [i if dialect.name == "postgres" else i.hex for i in chunk]
                cursor.execute(
                    f"SELECT originator_id, originator_version, topic, state FROM {table}"
                    f" WHERE originator_id IN ({dialect.params(len(keys))}) ORDER BY originator_id, originator_version",
                    keys,
                )
                for oid, version, topic, state in cursor.fetchall():
                    oid = oid if isinstance(oid, UUID) else UUID(oid)
                    event = self.mapper.to_domain_event(StoredEvent(oid, version, topic, bytes(state)))
                    found[oid] = event.mutate(found.get(oid))
            connection.rollback()  # ends the read transaction
        except BaseException:
            self._close_read_connection()
            raise
        return found

    def skip_empty_snapshots(self) -> None:
        """Load aggregates without asking for a snapshot first, if the store holds none: drledger
        takes none (they are eventsourcing's, kept for an operator), and every load would ask."""
        store = self.snapshots
        if store is None:
            return
        connection, dialect = self._read_connection()
        table = dialect.table(store.recorder.events_table_name)  # type: ignore[attr-defined]
        try:
            cursor = connection.cursor()
            cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")
            empty = cursor.fetchone() is None
            connection.rollback()  # ends the read transaction
        except BaseException:
            self._close_read_connection()
            raise
        if empty:
            self.repository.snapshot_store = None

    def _read_connection(self) -> tuple[Any, Any]:
        if self._reads is None:
            from ledger.store.connection import connect

            connection, dialect, _ = connect(self.config, "read")
            self._reads = (connection, dialect)
        return self._reads

    def _close_read_connection(self) -> None:
        if self._reads is not None:
            reads, self._reads = self._reads, None
            try:
                reads[0].close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    def close(self) -> None:
        self._close_read_connection()
        super().close()

    def ledger(self) -> Ledger:
        found = self.find(Ledger.ID)
        if found is None:
            raise NoLedger("this store holds no ledger: run `drledger init` first")
        return found  # type: ignore[no-any-return]
