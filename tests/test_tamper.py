"""The tamper matrix: each edit an attacker with database access could make
is caught by `verify`, at the right position, on both stores."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime

import msgspec
import pytest

from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.commands import COMMAND_TAG, sign_command
from ledger.integrity.keys import Signer
from ledger.services.setup import genesis_body, trusted_ledger_key
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import ExpectedHead, VerifyReport, verify_ledger
from tests.ledger_helpers import ORIGIN, Raw, entity_rows, ledger_with_entities

# Genesis is positions 1-3 (command, ledger, admin); the department import 4-6;
# then 5 imports of 4 entities, each its command, 4 entities and its record: 7..36.
TX = 4 + 2
SIZE = 6 + 5 * TX


@pytest.fixture
def raw(store: StoreConfig) -> Iterator[Raw]:
    ledger = ledger_with_entities(store, 0)
    for n in range(5):
        ledger.import_rows("admin", "entities", entity_rows(4, start=4 * n))
    tool = Raw(store)
    yield tool
    tool.close()


def first_problem(store: StoreConfig, **kwargs: object) -> tuple[int | None, str]:
    report: VerifyReport = verify_ledger(store, trusted_key=trusted_ledger_key(store), **kwargs)
    assert not report.ok, "tampering went unnoticed"
    return report.problems[0].position, report.problems[0].what


def test_untouched_ledger_verifies(store: StoreConfig, raw: Raw) -> None:
    report = verify_ledger(store, trusted_key=trusted_ledger_key(store))
    assert report.ok and report.size == SIZE


def test_flipped_payload_byte(store: StoreConfig, raw: Raw) -> None:
    _, _, _, topic, state = raw.event_at(9)
    assert topic == "drledger/entity/Registered"
    flipped = state.replace(b'"risk_class":"B"', b'"risk_class":"C"', 1)
    assert flipped != state
    raw.set_event(9, state=flipped)
    position, what = first_problem(store)
    assert position == 9 and "hash does not match" in what


def test_changed_topic(store: StoreConfig, raw: Raw) -> None:
    raw.set_event(5, topic="drledger/department/Updated")
    position, what = first_problem(store)
    assert position == 5 and "hash does not match" in what


def test_deleted_middle_event(store: StoreConfig, raw: Raw) -> None:
    nid = raw.event_at(12)[0]
    raw.sql(f"DELETE FROM {raw.events} WHERE {raw.event_id} = ?", nid)
    position, what = first_problem(store)
    assert position == 12 and "missing" in what


def test_deleted_middle_event_with_its_chain_row(store: StoreConfig, raw: Raw) -> None:
    nid = raw.event_at(12)[0]
    raw.sql(f"DELETE FROM {raw.events} WHERE {raw.event_id} = ?", nid)
    raw.sql(f"DELETE FROM {raw.chain} WHERE seq = ?", 12)
    position, what = first_problem(store)
    assert position == 12 and "missing from the chain" in what


def test_deleted_tail_is_caught_by_the_expected_head(store: StoreConfig, raw: Raw) -> None:
    with open_reader(store) as reader:
        saved = ExpectedHead(hash=reader.hash_at(SIZE), size=SIZE)
    last_tx_first = SIZE - TX + 1
    for seq in range(last_tx_first, SIZE + 1):
        nid = raw.event_at(seq)[0]
        raw.sql(f"DELETE FROM {raw.events} WHERE {raw.event_id} = ?", nid)
        raw.sql(f"DELETE FROM {raw.chain} WHERE seq = ?", seq)
    raw.sql(f"DELETE FROM {raw.txs} WHERE last_seq = ?", SIZE)
    # The transparency tree still holds nodes over the cut tail ...
    position, what = first_problem(store)
    assert position is None and "transparency tree holds" in what
    with open_reader(store) as reader:
        kept = [reader.hash_at(seq) for seq in range(1, reader.size() + 1)]
    raw.rebuild_tree(kept)
    # ... but a tail cut cleanly, tree included, is a valid shorter ledger on its own ...
    assert verify_ledger(store).ok
    # ... which is why auditors keep heads (and receipts): both forms catch it.
    position, what = first_problem(store, expected=saved)
    assert position == last_tx_first and "tail was removed" in what
    position, what = first_problem(store, expected=ExpectedHead(hash=saved.hash))
    assert position is None and "not in the chain" in what


def test_swapped_events(store: StoreConfig, raw: Raw) -> None:
    a, b = raw.event_at(8)[0], raw.event_at(9)[0]
    raw.sql(f"UPDATE {raw.chain} SET notification_id = ? WHERE seq = ?", -1, 8)
    raw.sql(f"UPDATE {raw.chain} SET notification_id = ? WHERE seq = ?", a, 9)
    raw.sql(f"UPDATE {raw.chain} SET notification_id = ? WHERE seq = ?", b, 8)
    position, what = first_problem(store)
    assert position == 8 and "hash does not match" in what


def test_forged_event_with_consistent_hash_but_no_valid_signature(store: StoreConfig, raw: Raw) -> None:
    # Copy event SIZE's row as a new event SIZE + 1, chain it correctly, sign with a stranger's key.
    from uuid import uuid4

    from ledger.integrity.chain import event_hash, transaction_message

    _, _, _, topic, state = raw.event_at(SIZE)
    oid = uuid4()
    oid_value = oid.hex if store.kind == "sqlite" else oid
    raw.sql(f"INSERT INTO {raw.events} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)", oid_value, 1, topic, state)
    nid = raw.sql(f"SELECT MAX({raw.event_id}) FROM {raw.events}")[0][0]
    with open_reader(store) as reader:
        prev = reader.hash_at(SIZE)
    forged_hash = event_hash(prev, SIZE + 1, oid, 1, topic, state)
    raw.sql(f"INSERT INTO {raw.chain} (seq, notification_id, hash) VALUES (?, ?, ?)", SIZE + 1, nid, forged_hash)
    # Without any signature row:
    position, what = first_problem(store)
    assert position == SIZE + 1 and "not covered by a ledger signature" in what
    # With a signature by a key that is not the ledger's:
    stranger = Signer.generate()
    signature = stranger.sign(transaction_message(SIZE + 1, SIZE + 1, forged_hash, 1))
    raw.sql(f"INSERT INTO {raw.txs} VALUES (?, ?, ?, ?, ?)", SIZE + 1, SIZE + 1, stranger.key_id, 1, signature)
    position, what = first_problem(store)
    assert position == SIZE + 1 and "signed by key" in what
    # With a garbage signature that claims the ledger key id:
    ledger_key_id = raw.sql(f"SELECT key_id FROM {raw.txs} WHERE last_seq = ?", SIZE)[0][0]
    raw.sql(f"UPDATE {raw.txs} SET key_id = ? WHERE last_seq = ?", ledger_key_id, SIZE + 1)
    position, what = first_problem(store)
    assert position == SIZE + 1 and "does not verify" in what


def test_event_written_outside_the_chain(store: StoreConfig, raw: Raw) -> None:
    from uuid import uuid4

    oid = uuid4()
    raw.sql(
        f"INSERT INTO {raw.events} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
        oid.hex if store.kind == "sqlite" else oid, 1, "x:Y", b"{}",
    )
    position, what = first_problem(store)
    assert position is None and "not in the chain" in what


def _payload(raw: Raw, seq: int) -> dict:  # type: ignore[type-arg]
    return msgspec.json.decode(raw.event_at(seq)[4])


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_swapped_ledger_key_in_genesis(store: StoreConfig, raw: Raw) -> None:
    attacker = Signer.generate()
    payload = _payload(raw, 2)
    payload["ledger_key"] = _b64(attacker.public_key)
    raw.set_event(2, state=canonical_bytes(payload))
    # Naive edit: the genesis hash no longer matches.
    report = verify_ledger(store)
    assert not report.ok and report.problems[0].position == 2
    assert "hash does not match" in report.problems[0].what
    # Careful forger: rechains and re-signs everything with its own key ...
    raw.rechain(attacker)
    # ... but the admin signed the genesis command with the real key: re-executing it
    # gives another genesis than the stored one ...
    report = verify_ledger(store)
    assert not report.ok
    assert report.problems[0].position == 2 and "differs from what the rules produce" in report.problems[0].what
    # ... and the key pinned at init is not the one in the forged genesis.
    position, what = first_problem(store)
    assert position == 1 and "not the trusted key" in what


def test_full_genesis_forgery_is_caught_by_the_trust_anchor(store: StoreConfig, raw: Raw) -> None:
    """A forger holding new ledger AND admin keys rewrites genesis and re-signs every admin command."""
    attacker_ledger, attacker_admin = Signer.generate(), Signer.generate()
    genesis_command = _payload(raw, 1)
    content = msgspec.json.decode(base64.b64decode(genesis_command["command"]))
    signed = sign_command(
        attacker_admin, "admin", "ledger.genesis",
        genesis_body(ORIGIN, attacker_ledger.public_key, "admin", "Admin", attacker_admin.public_key,
                     content["body"]["beacons"]),
        nonce=content["nonce"], issued_at=msgspec.convert(content["issued_at"], type=datetime),
    )
    genesis_command.update(command=_b64(signed.command), signature=_b64(signed.signature), key_id=signed.key_id)
    raw.set_event(1, state=canonical_bytes(genesis_command))
    ledger = _payload(raw, 2)
    ledger.update(ledger_key=_b64(attacker_ledger.public_key), admin_key=_b64(attacker_admin.public_key))
    raw.set_event(2, state=canonical_bytes(ledger))
    admin = _payload(raw, 3)
    admin["public_key"] = _b64(attacker_admin.public_key)
    raw.set_event(3, state=canonical_bytes(admin))
    with open_reader(store) as reader:
        firsts = [tx.first_seq for tx in reader.transactions()]
    for seq in firsts[1:]:  # every later command was the admin's: re-sign it with the forged admin key
        record = _payload(raw, seq)
        command = base64.b64decode(record["command"])
        record.update(signature=_b64(attacker_admin.sign(COMMAND_TAG + command)), key_id=attacker_admin.key_id)
        raw.set_event(seq, state=canonical_bytes(record))
    raw.rechain(attacker_ledger)
    report = verify_ledger(store)
    assert report.ok, report.problems  # self-consistent: only an anchor can tell
    position, what = first_problem(store)
    assert position == 1 and "not the trusted key" in what
