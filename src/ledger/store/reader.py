"""Read-only access to the stored bytes, independent of the write path.

The verifier and `status` read through this module only: plain SQL over the
events table and the integrity tables, no eventsourcing application, no key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple
from uuid import UUID

import msgspec

from ledger.store.config import StoreConfig
from ledger.store.connection import StoreUnavailable, borrow_connection, connect, give_back
from ledger.store.schema import Dialect

__all__ = ["ChainRow", "EventRow", "LedgerReader", "StoreUnavailable", "TransactionRow", "open_reader"]


class ChainRow(NamedTuple):
    seq: int
    hash: bytes
    originator_id: UUID | None  # None: the event row is missing
    originator_version: int | None
    topic: str | None
    state: bytes | None


class EventRow(NamedTuple):
    """A chained event's position, topic and stored payload: what a replay of state needs."""

    seq: int
    topic: str
    state: bytes


class TransactionRow(NamedTuple):
    first_seq: int
    last_seq: int
    key_id: str
    signed_at_us: int
    signature: bytes


class _Timestamp(msgspec.Struct):
    timestamp: str = ""


class LedgerReader:
    def __init__(self, connection: Any, dialect: Dialect, event_id_column: str,
                 kept: StoreConfig | None = None) -> None:
        self.connection = connection
        self.kept = kept  # a kept connection (store/connection.py) of this config: given back, not closed
        self.dialect = dialect
        self.event_id = event_id_column  # rowid (SQLite) / notification_id (PostgreSQL)
        self.events = dialect.table(dialect.events_table)
        self.chain = dialect.table("ledger_chain")
        self.transactions_table = dialect.table("ledger_transactions")

    def close(self, broken: bool = False) -> None:
        if self.kept is None:
            self.connection.close()
            return
        config, self.kept = self.kept, None
        found = (self.connection, self.dialect, self.event_id)
        try:
            self.connection.rollback()  # ends the read transaction: the next use sees the store anew
        except Exception:  # noqa: BLE001 - a broken connection: closed, the next use opens another
            broken = True
        give_back(config, "read", found, broken=broken)

    def __enter__(self) -> LedgerReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.close(broken=kind is not None)  # after an error a kept connection may be broken

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor = self.connection.cursor()
        cursor.execute(sql.replace("?", self.dialect.placeholder), params)
        return list(cursor.fetchall())

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    def _originator(self, aggregate_id: UUID) -> Any:
        """An aggregate id as the events table stores it (uuid on PostgreSQL, hex text on SQLite)."""
        return aggregate_id if self.dialect.name == "postgres" else aggregate_id.hex

    def has_ledger_tables(self) -> bool:
        try:
            self._one(f"SELECT 1 FROM {self.chain} LIMIT 1")
        except Exception:  # noqa: BLE001 - any failure here means "not a ledger"
            self.connection.rollback()
            return False
        return True

    def head(self) -> tuple[int, bytes] | None:
        row = self._one(f"SELECT seq, hash FROM {self.chain} ORDER BY seq DESC LIMIT 1")
        return (int(row[0]), bytes(row[1])) if row else None

    def head_event(self) -> tuple[int, bytes | None] | None:
        """(position, stored payload) of the head event, in one query."""
        row = self._one(f"SELECT c.seq, e.state FROM {self.chain} c LEFT JOIN {self.events} e"
                        f" ON e.{self.event_id} = c.notification_id ORDER BY c.seq DESC LIMIT 1")
        return (int(row[0]), bytes(row[1]) if row[1] is not None else None) if row else None

    def size(self) -> int:
        head = self.head()
        return head[0] if head else 0

    def hash_at(self, seq: int) -> bytes | None:
        row = self._one(f"SELECT hash FROM {self.chain} WHERE seq = ?", (seq,))
        return bytes(row[0]) if row else None

    def chain_count(self) -> int:
        return int(self._one(f"SELECT COUNT(*) FROM {self.chain}")[0])

    def event_count(self) -> int:
        return int(self._one(f"SELECT COUNT(*) FROM {self.events}")[0])

    def unchained_events(self, limit: int = 5) -> list[int]:
        """Events in the store that the chain does not cover (written outside it)."""
        rows = self._all(
            f"SELECT e.{self.event_id} FROM {self.events} e LEFT JOIN {self.chain} c"
            f" ON c.notification_id = e.{self.event_id} WHERE c.seq IS NULL"
            f" ORDER BY e.{self.event_id} LIMIT ?",
            (limit,),
        )
        return [int(row[0]) for row in rows]

    def events_between(self, first: int, last: int, topics: Sequence[str], batch: int = 20_000) -> Iterator[EventRow]:
        """The chained events of `topics` at positions first..last, in order, streamed in batches."""
        marks = ", ".join("?" * len(topics))
        sql = (
            f"SELECT c.seq, e.topic, e.state"
            f" FROM {self.chain} c JOIN {self.events} e ON e.{self.event_id} = c.notification_id"
            f" WHERE c.seq >= ? AND c.seq <= ? AND e.topic IN ({marks}) ORDER BY c.seq"
        )
        for start in range(first, last + 1, batch):
            for seq, topic, state in self._all(sql, (start, min(last, start + batch - 1), *topics)):
                yield EventRow(seq, topic, bytes(state))

    def rows(self, first: int, last: int, batch: int = 20_000) -> Iterator[ChainRow]:
        """Chain rows first..last in order, joined with their stored events."""
        sql = (
            f"SELECT c.seq, c.hash, e.originator_id, e.originator_version, e.topic, e.state"
            f" FROM {self.chain} c LEFT JOIN {self.events} e ON e.{self.event_id} = c.notification_id"
            f" WHERE c.seq >= ? AND c.seq <= ? ORDER BY c.seq"
        )
        start = first
        while start <= last:
            stop = min(last, start + batch - 1)
            for seq, hash_, originator_id, version, topic, state in self._all(sql, (start, stop)):
                yield ChainRow(
                    seq,
                    bytes(hash_),
                    _uuid(originator_id),
                    version,
                    topic,
                    bytes(state) if state is not None else None,
                )
            start = stop + 1

    def transactions(self) -> list[TransactionRow]:
        return [
            TransactionRow(int(r[0]), int(r[1]), r[2], int(r[3]), bytes(r[4]))
            for r in self._all(
                f"SELECT first_seq, last_seq, key_id, signed_at_us, signature"
                f" FROM {self.transactions_table} ORDER BY last_seq"
            )
        ]

    def last_transaction(self) -> TransactionRow | None:
        row = self._one(
            f"SELECT first_seq, last_seq, key_id, signed_at_us, signature"
            f" FROM {self.transactions_table} ORDER BY last_seq DESC LIMIT 1"
        )
        return TransactionRow(int(row[0]), int(row[1]), row[2], int(row[3]), bytes(row[4])) if row else None

    def originators_between(self, after: int, last: int) -> set[UUID]:
        """The aggregates with an event at a position in after+1..last."""
        rows = self._all(f"SELECT DISTINCT e.originator_id FROM {self.chain} c JOIN {self.events} e"
                         f" ON e.{self.event_id} = c.notification_id WHERE c.seq > ? AND c.seq <= ?", (after, last))
        return {found for found in (_uuid(r[0]) for r in rows) if found is not None}

    def hashes(self, first: int, last: int) -> list[str]:
        """The event hashes (hex) of positions first..last."""
        rows = self._all(f"SELECT hash FROM {self.chain} WHERE seq >= ? AND seq <= ? ORDER BY seq", (first, last))
        return [bytes(r[0]).hex() for r in rows]

    def transaction_holding(self, aggregate_id: UUID, newest: bool = False) -> tuple[int, int, list[str], str]:
        """(first, last, event hashes hex, recorded time) of the signed transaction
        holding the first (newest=True: the latest) event of `aggregate_id`."""
        order = "DESC" if newest else "ASC"
        row = self._one(
            f"SELECT c.seq FROM {self.events} e JOIN {self.chain} c ON c.notification_id = e.{self.event_id}"
            f" WHERE e.originator_id = ? ORDER BY e.originator_version {order} LIMIT 1",
            (self._originator(aggregate_id),))
        if row is None:
            raise LookupError(f"no event of {aggregate_id} in the chain")
        seq = int(row[0])
        tx = self._one(f"SELECT first_seq, last_seq FROM {self.transactions_table}"
                       f" WHERE first_seq <= ? AND last_seq >= ?", (seq, seq))
        if tx is None:
            raise LookupError(f"position {seq} is in no signed transaction")
        first, last = int(tx[0]), int(tx[1])
        rows = list(self.rows(first, last))
        import msgspec

        stamp = msgspec.json.decode(rows[0].state or b"{}").get("timestamp", "")
        return first, last, [r.hash.hex() for r in rows], stamp

    def aggregate_events(self, aggregate_id: UUID) -> list[tuple[int, str, bytes, int | None]]:
        """(version, topic, stored state, log position or None) of every event of one aggregate, in version order."""
        rows = self._all(
            f"SELECT e.originator_version, e.topic, e.state, c.seq FROM {self.events} e"
            f" LEFT JOIN {self.chain} c ON c.notification_id = e.{self.event_id}"
            f" WHERE e.originator_id = ? ORDER BY e.originator_version", (self._originator(aggregate_id),))
        return [(int(r[0]), r[1], bytes(r[2]), int(r[3]) if r[3] is not None else None) for r in rows]

    def first_state(self, aggregate_id: UUID, topic: str) -> bytes | None:
        """The stored state of an aggregate's first event if it has `topic`, else None."""
        row = self._one(f"SELECT state FROM {self.events} WHERE originator_id = ? AND originator_version = 1"
                        " AND topic = ?", (self._originator(aggregate_id), topic))
        return bytes(row[0]) if row is not None else None

    def recorded_times(self, positions: Sequence[int]) -> dict[int, str]:
        """position -> the recorded time (RFC 3339, as stored) of its event."""
        found: dict[int, str] = {}
        for seq in positions:
            for row in self.rows(seq, seq):
                found[row.seq] = msgspec.json.decode(row.state or b"{}", type=_Timestamp).timestamp
        return found

    def events_with_topics(self, topics: Sequence[str]) -> list[ChainRow]:
        """Chained events of the given topics, in chain order (e.g. key events)."""
        marks = ", ".join("?" * len(topics))
        rows = self._all(
            f"SELECT c.seq, c.hash, e.originator_id, e.originator_version, e.topic, e.state"
            f" FROM {self.chain} c JOIN {self.events} e ON e.{self.event_id} = c.notification_id"
            f" WHERE e.topic IN ({marks}) ORDER BY c.seq",
            tuple(topics),
        )
        return [ChainRow(r[0], bytes(r[1]), _uuid(r[2]), r[3], r[4], bytes(r[5])) for r in rows]


def _uuid(value: Any) -> UUID | None:
    if value is None or isinstance(value, UUID):
        return value
    return UUID(value)


def open_reader(config: StoreConfig) -> LedgerReader:
    """Open the store read-only (a kept connection, where they are kept);
    StoreUnavailable says why it cannot be."""
    kept = borrow_connection(config, "read")
    if kept is not None:
        reader = LedgerReader(*kept, kept=config)
    else:
        reader = LedgerReader(*connect(config, "read"))
    if not reader.has_ledger_tables():
        reader.close()
        raise StoreUnavailable(f"{config.display} holds no ledger: run `drledger init` first")
    return reader
