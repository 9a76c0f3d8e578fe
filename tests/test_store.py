"""The append path on both stores: chained, signed, typed, atomic."""

from __future__ import annotations

from datetime import datetime

import pytest

from ledger.application import LedgerApplication
from ledger.domain.actors import Actor, Ledger
from ledger.integrity.keys import verify_signature
from ledger.integrity.chain import transaction_message
from ledger.setup import trusted_ledger_key
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.store.recorders import LedgerReadOnly
from ledger.verify.ledger_check import verify_ledger
from tests.ledger_helpers import Memo, append_memos, new_ledger


def test_appends_are_chained_and_signed_per_transaction(store: StoreConfig) -> None:
    app = new_ledger(store)
    append_memos(app, transactions=3, per_transaction=4)
    app.close()
    with open_reader(store) as reader:
        assert reader.size() == 2 + 12
        txs = reader.transactions()
        assert [(t.first_seq, t.last_seq) for t in txs] == [(1, 2), (3, 6), (7, 10), (11, 14)]
        head = reader.hash_at(14)
        assert head is not None
    report = verify_ledger(store, trusted_key=trusted_ledger_key(store))
    assert report.ok, report.problems
    assert report.size == 14 and report.transactions == 4 and report.signatures_checked == 4
    assert report.head == head.hex()
    assert {t.key_id for t in txs} == {report.trusted_key}


def test_signature_is_over_the_documented_message(store: StoreConfig) -> None:
    app = new_ledger(store)
    ledger_key = app.ledger().ledger_key
    app.save(Memo(text="one", actor="admin"))
    app.close()
    with open_reader(store) as reader:
        tx = reader.last_transaction()
        assert tx is not None
        head = reader.hash_at(tx.last_seq)
        assert head is not None
    message = transaction_message(tx.first_seq, tx.last_seq, head, tx.signed_at_us)
    assert verify_signature(ledger_key, tx.signature, message)
    assert not verify_signature(ledger_key, tx.signature, message[:-1] + bytes([message[-1] ^ 1]))


def test_events_come_back_with_their_own_types(store: StoreConfig) -> None:
    app = new_ledger(store)
    memo = Memo(text="检查 ✓", actor="admin")
    app.save(memo)
    app.repository.cache = None  # read from the store, not a cache
    loaded = app.repository.get(memo.id)
    assert loaded.text == "检查 ✓"
    assert isinstance(loaded.created_on, datetime) and loaded.created_on.tzinfo is not None
    admin = app.find_actor("admin")
    assert admin is not None and isinstance(admin.public_key, bytes) and admin.roles == ("admin",)
    ledger = app.repository.get(Ledger.ID)
    assert isinstance(ledger.ledger_key, bytes) and len(ledger.ledger_key) == 32
    app.close()


def test_snapshots_restore_typed_state(store: StoreConfig) -> None:
    app = new_ledger(store)
    admin_id = Actor.create_id("admin")
    app.take_snapshot(admin_id)
    snapshot = next(iter(app.snapshots.get(admin_id)))
    restored = snapshot.mutate(None)
    original = app.find_actor("admin")
    assert restored.public_key == original.public_key
    assert restored.roles == ("admin",) and isinstance(restored.created_on, datetime)
    app.close()
    # Snapshots are a cache beside the chain, not part of it.
    assert verify_ledger(store).ok


def test_append_without_the_ledger_key_writes_nothing(store: StoreConfig) -> None:
    new_ledger(store).close()
    reader_app = LedgerApplication(store, signer=None)
    with pytest.raises(LedgerReadOnly):
        reader_app.save(Memo(text="x", actor="admin"))
    reader_app.close()
    with open_reader(store) as reader:
        assert reader.size() == 2 and reader.event_count() == 2


def test_a_failure_inside_the_append_rolls_everything_back(store: StoreConfig) -> None:
    app = new_ledger(store)

    def failing_hook(*_: object) -> None:
        raise RuntimeError("disk full while writing the tree")

    app.integrity.hooks.append(failing_hook)
    with pytest.raises(RuntimeError, match="disk full"):
        app.save(*[Memo(text=str(i), actor="admin") for i in range(50)])
    app.integrity.hooks.remove(failing_hook)  # keep the default tree hook
    with open_reader(store) as reader:
        assert (reader.size(), reader.event_count(), len(reader.transactions())) == (2, 2, 1)
    append_memos(app, 1, 3)  # the store still works and the chain continues
    app.close()
    assert verify_ledger(store).ok


def test_every_event_must_name_its_actor() -> None:
    from ledger.domain.base import MissingActor

    with pytest.raises(MissingActor):
        Memo(text="anonymous", actor="")
    memo = Memo(text="x", actor="admin")
    with pytest.raises(MissingActor):
        memo.amend(text="y", actor="")
