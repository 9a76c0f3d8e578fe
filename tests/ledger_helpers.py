"""Helpers for store tests: a ledger with events, and raw tampering.

Tampering goes straight to the tables with SQL, as an attacker with database
access would; `rechain` recomputes every hash after an edit (and can re-sign
with a key the attacker holds), to model a careful forger.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from eventsourcing.domain import event

from ledger.application import LedgerApplication
from ledger.domain.base import LedgerAggregate
from ledger.integrity.chain import GENESIS_PREV, event_hash, transaction_message
from ledger.integrity.keys import Signer
from ledger.setup import init_ledger, open_for_writing
from ledger.store.config import StoreConfig
from ledger.store.schema import SQLITE, postgres_dialect


class Memo(LedgerAggregate):
    """A minimal aggregate for exercising the store."""

    text: str

    @event("Written")
    def __init__(self, text: str, actor: str) -> None:
        self.text = text

    @event("Amended")
    def amend(self, text: str, actor: str) -> None:
        self.text = text


def new_ledger(store: StoreConfig) -> LedgerApplication:
    init_ledger(store, origin="test.drledger/ledger", admin_id="admin", admin_name="Admin")
    return open_for_writing(store)


def append_memos(app: LedgerApplication, transactions: int, per_transaction: int) -> None:
    for t in range(transactions):
        app.save(*[Memo(text=f"memo {t}.{i}", actor="admin") for i in range(per_transaction)])


class Raw:
    """SQL access to the stored rows, for tampering."""

    def __init__(self, store: StoreConfig) -> None:
        self.store = store
        if store.kind == "sqlite":
            self.conn: Any = sqlite3.connect(store.sqlite_path, isolation_level=None)
            self.dialect = SQLITE
            self.event_id = "rowid"
        else:
            import psycopg

            self.conn = psycopg.connect(
                host=store.host, port=store.port, dbname=store.database, user=store.user, autocommit=True
            )
            self.dialect = postgres_dialect(store.schema)
            self.event_id = "notification_id"
        self.events = self.dialect.table(self.dialect.events_table)
        self.chain = self.dialect.table("ledger_chain")
        self.txs = self.dialect.table("ledger_transactions")

    def close(self) -> None:
        self.conn.close()

    def sql(self, statement: str, *params: Any) -> list[Any]:
        cursor = self.conn.cursor()
        cursor.execute(statement.replace("?", self.dialect.placeholder), params)
        return list(cursor.fetchall()) if cursor.description else []

    def event_at(self, seq: int) -> tuple[int, Any, int, str, bytes]:
        row = self.sql(
            f"SELECT e.{self.event_id}, e.originator_id, e.originator_version, e.topic, e.state"
            f" FROM {self.chain} c JOIN {self.events} e ON e.{self.event_id} = c.notification_id WHERE c.seq = ?",
            seq,
        )[0]
        return int(row[0]), row[1], int(row[2]), row[3], bytes(row[4])

    def set_event(self, seq: int, *, topic: str | None = None, state: bytes | None = None) -> None:
        nid, _, _, old_topic, old_state = self.event_at(seq)
        self.sql(
            f"UPDATE {self.events} SET topic = ?, state = ? WHERE {self.event_id} = ?",
            topic if topic is not None else old_topic,
            state if state is not None else old_state,
            nid,
        )

    def rebuild_tree(self, event_hashes: list[bytes]) -> None:
        """Rewrite the transparency tree over `event_hashes` (a careful forger's step)."""
        from ledger.integrity.merkle import MemoryTree, leaf_hash

        tree = MemoryTree()
        tree.extend([leaf_hash(h) for h in event_hashes])
        table = self.dialect.table("ledger_tree")
        self.sql(f"DELETE FROM {table}")
        for (level, idx), value in tree.nodes.items():
            if level > 0:
                self.sql(f"INSERT INTO {table} (level, idx, hash) VALUES (?, ?, ?)", level, idx, value)

    def rechain(self, signer: Signer | None = None) -> None:
        """Recompute every stored hash and the tree (and, with `signer`, every signature)."""
        from uuid import UUID

        rows = self.sql(
            f"SELECT c.seq, e.originator_id, e.originator_version, e.topic, e.state"
            f" FROM {self.chain} c JOIN {self.events} e ON e.{self.event_id} = c.notification_id ORDER BY c.seq"
        )
        prev = GENESIS_PREV
        hashes = {}
        for seq, oid, version, topic, state in rows:
            oid = oid if isinstance(oid, UUID) else UUID(oid)
            prev = event_hash(prev, seq, oid, version, topic, bytes(state))
            hashes[seq] = prev
            self.sql(f"UPDATE {self.chain} SET hash = ? WHERE seq = ?", prev, seq)
        self.rebuild_tree([hashes[seq] for seq in sorted(hashes)])
        if signer is not None:
            for first, last, signed_at in self.sql(f"SELECT first_seq, last_seq, signed_at_us FROM {self.txs}"):
                signature = signer.sign(transaction_message(first, last, hashes[last], signed_at))
                self.sql(
                    f"UPDATE {self.txs} SET signature = ?, key_id = ? WHERE last_seq = ?",
                    signature, signer.key_id, last,
                )
