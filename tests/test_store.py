"""The append path on both stores: chained, signed, typed, atomic.

Events come only from signed commands (services/processor.py); bulk events
here are directory imports (tests/ledger_helpers.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from ledger.domain.actors import Actor, Ledger
from ledger.domain.base import MissingActor, MissingRecordedTime, recorded_time
from ledger.domain.directory import Entity
from ledger.integrity.chain import transaction_message
from ledger.integrity.keys import verify_signature
from ledger.services.directory import import_rows
from ledger.services.setup import load_ledger_signer, open_for_writing, trusted_ledger_key
from ledger.store.application import LedgerApplication
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.store.recorders import LedgerReadOnly
from ledger.verify.ledger_check import verify_ledger
from tests.ledger_helpers import entity_rows, ledger_with_entities, new_ledger

GENESIS = 3  # the genesis command, the ledger, the first admin
DEPARTMENTS = 3  # the department import: its command, the department, the import record


def test_appends_are_chained_and_signed_per_transaction(store: StoreConfig) -> None:
    ledger = ledger_with_entities(store, 0)
    for n in range(3):
        ledger.import_rows("admin", "entities", entity_rows(4, start=4 * n))
    with open_reader(store) as reader:
        assert reader.size() == GENESIS + DEPARTMENTS + 3 * (4 + 2)
        txs = reader.transactions()
        assert [(t.first_seq, t.last_seq) for t in txs] == [(1, 3), (4, 6), (7, 12), (13, 18), (19, 24)]
        head = reader.hash_at(24)
        assert head is not None
    report = verify_ledger(store, trusted_key=trusted_ledger_key(store))
    assert report.ok, report.problems
    assert report.size == 24 and report.transactions == 5 and report.signatures_checked == 5
    assert report.checks["commands_reexecuted"] == 5
    assert report.head == head.hex()
    assert {t.key_id for t in txs} == {report.trusted_key}


def test_signature_is_over_the_documented_message(store: StoreConfig) -> None:
    ledger = ledger_with_entities(store, 1)
    ledger_key = load_ledger_signer(store).public_key
    with open_reader(store) as reader:
        tx = reader.last_transaction()
        assert tx is not None
        head = reader.hash_at(tx.last_seq)
        assert head is not None
    message = transaction_message(tx.first_seq, tx.last_seq, head, tx.signed_at_us)
    assert verify_signature(ledger_key, tx.signature, message)
    assert not verify_signature(ledger_key, tx.signature, message[:-1] + bytes([message[-1] ^ 1]))
    assert ledger.keys["admin"].public_key != ledger_key  # the admin signs commands, the ledger key transactions


def test_events_come_back_with_their_own_types(store: StoreConfig) -> None:
    ledger = ledger_with_entities(store, 0)
    row = msgspec.structs.replace(entity_rows(1)[0], name="检查 ✓ 商贸有限公司")
    ledger.import_rows("admin", "entities", [row])
    app = open_for_writing(store)
    try:
        app.repository.cache = None  # read from the store, not a cache
        loaded = app.repository.get(Entity.id_for(row.uscc))
        assert loaded.record == row and loaded.record.name == "检查 ✓ 商贸有限公司"
        assert isinstance(loaded.created_on, datetime) and loaded.created_on.tzinfo is not None
        admin = app.find(Actor.create_id("admin"))
        assert admin is not None and isinstance(admin.public_key, bytes) and admin.roles == ("admin",)
        genesis = app.repository.get(Ledger.ID)
        assert isinstance(genesis.ledger_key, bytes) and len(genesis.ledger_key) == 32
    finally:
        app.close()


def test_snapshots_restore_typed_state(store: StoreConfig) -> None:
    new_ledger(store)
    app = open_for_writing(store)
    try:
        admin_id = Actor.create_id("admin")
        app.take_snapshot(admin_id)
        snapshot = next(iter(app.snapshots.get(admin_id)))
        restored = snapshot.mutate(None)
        original = app.find(admin_id)
        assert restored.public_key == original.public_key
        assert restored.roles == ("admin",) and isinstance(restored.created_on, datetime)
    finally:
        app.close()
    # Snapshots are a cache beside the chain, not part of it.
    assert verify_ledger(store).ok


def test_append_without_the_ledger_key_writes_nothing(store: StoreConfig) -> None:
    ledger = ledger_with_entities(store, 0)
    reader_app = LedgerApplication(store, signer=None)
    try:
        with recorded_time(datetime.now(UTC)):
            entity = Entity.register(entity_rows(1)[0], actor="admin")
        with pytest.raises(LedgerReadOnly):
            reader_app.save(entity)
    finally:
        reader_app.close()
    with open_reader(store) as reader:
        assert reader.size() == GENESIS + DEPARTMENTS and reader.event_count() == GENESIS + DEPARTMENTS
    assert ledger.keys  # the ledger itself is untouched and still verifies
    assert verify_ledger(store).ok


def test_a_failure_inside_the_append_rolls_everything_back(store: StoreConfig) -> None:
    ledger = ledger_with_entities(store, 0)

    def failing_hook(*_: object) -> None:
        raise RuntimeError("disk full while writing the tree")

    with ledger.service() as service:
        hooks = service.processor.app.integrity.hooks
        hooks.append(failing_hook)
        with pytest.raises(RuntimeError, match="disk full"):
            import_rows(service, ledger.keys["admin"], "admin", "entities", entity_rows(50))
        hooks.remove(failing_hook)
    with open_reader(store) as reader:
        assert (reader.size(), reader.event_count(), len(reader.transactions())) == (6, 6, 2)
    ledger.import_rows("admin", "entities", entity_rows(3))  # the store still works and the chain continues
    report = verify_ledger(store)
    assert report.ok, report.problems
    assert report.size == 6 + 3 + 2


def test_every_event_must_name_its_actor() -> None:
    row = entity_rows(1)[0]
    with recorded_time(datetime.now(UTC)):
        with pytest.raises(MissingActor):
            Entity.register(row, actor="")
        entity = Entity.register(row, actor="admin")
        with pytest.raises(MissingActor):
            entity.update(record=row, changed=("name",), reason="x", actor="")


def test_events_carry_the_ledger_time_only_inside_a_command() -> None:
    """An event made outside a command's recorded time would differ at replay: refused."""
    with pytest.raises(MissingRecordedTime):
        Entity.register(entity_rows(1)[0], actor="admin")
