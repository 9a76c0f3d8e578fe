"""Helpers for tests: a ledger with signed actors, and raw tampering.

`TestLedger` is a real ledger on the test's store whose actors hold their own
keys (in the test's tmp folder, never the ledger's HOME). Tampering goes
straight to the tables with SQL, as an insider with database access would;
`rechain` recomputes every hash after an edit (and can re-sign with a key
the insider holds), to model a careful forger.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from ledger.demo.beacon import demo_beacons
from ledger.domain.rows import DepartmentRow, EntityRow
from ledger.domain.uscc import uscc_for_serial
from ledger.integrity.chain import GENESIS_PREV, event_hash, transaction_message
from ledger.integrity.commands import SignedCommand, sign_command
from ledger.integrity.keys import Signer, public_key_b64, read_key_file
from ledger.services.directory import import_rows
from ledger.services.ledger import LedgerService
from ledger.services.receipts import Receipt
from ledger.services.setup import init_ledger
from ledger.store.config import StoreConfig
from ledger.store.schema import SQLITE, postgres_dialect

ORIGIN = "test.drledger/ledger"


@dataclass
class TestLedger:
    """A ledger and its actors' keys (actor id -> Signer)."""

    __test__ = False  # not a pytest class

    store: StoreConfig
    keys: dict[str, Signer]

    @property
    def admin(self) -> Signer:
        return self.keys["admin"]

    def service(self, **kwargs: Any) -> LedgerService:
        return LedgerService(self.store, **kwargs)

    def sign(self, actor: str, name: str, body: dict[str, Any], **kwargs: Any) -> SignedCommand:
        return sign_command(self.keys[actor], actor, name, body, **kwargs)

    def submit(self, actor: str, name: str, body: dict[str, Any], attachment: Any = None) -> Receipt:
        with self.service() as ledger:
            return ledger.submit(self.sign(actor, name, body), attachment)

    def register(self, actor_id: str, *roles: str, department: str | None = None, name: str | None = None) -> Signer:
        signer = Signer.generate()
        self.submit("admin", "actor.register", {
            "actor_id": actor_id, "department": department, "name": name or actor_id, "public_key":
            public_key_b64(signer.public_key), "roles": list(roles)})
        self.keys[actor_id] = signer
        return signer

    def import_rows(self, actor: str, kind: str, rows: list[Any], **kwargs: Any) -> Any:
        with self.service() as ledger:
            return import_rows(ledger, self.keys[actor], actor, kind, rows, **kwargs)


def new_ledger(store: StoreConfig, origin: str = ORIGIN) -> TestLedger:
    key_file = store.home / "actor-keys" / "admin.pem"
    init_ledger(store, origin=origin, admin_id="admin", admin_name="Admin", admin_key_file=key_file,
                beacons=demo_beacons())
    return TestLedger(store, {"admin": read_key_file(key_file, None)})


DEPARTMENT = DepartmentRow(code="XY-SCJG", name="新余市市场监督管理局", level="city", region_code="360500")


def entity_rows(count: int, start: int = 0, risk_class: str = "B") -> list[EntityRow]:
    """`count` valid, distinct entities of the test department."""
    return [EntityRow(uscc=uscc_for_serial(start + i, region="360502"), name=f"企业{start + i}",
                      entity_type="enterprise", region_code="360502", industry="F52", risk_class=risk_class,
                      departments=("XY-SCJG",)) for i in range(count)]


def ledger_with_entities(store: StoreConfig, count: int) -> TestLedger:
    """A ledger with one department and `count` entities (two import transactions)."""
    ledger = new_ledger(store)
    ledger.import_rows("admin", "departments", [DEPARTMENT])
    if count:
        ledger.import_rows("admin", "entities", entity_rows(count))
    return ledger


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
