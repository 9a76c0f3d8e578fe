"""Witness cosigning over real HTTP against a tlog-witness written from the spec
(tests/witness_server.py): cosigns, refuses a stale old size (409) and an
inconsistent checkpoint (422), and the client handles each."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import msgspec

from ledger.integrity.note import open_checkpoint, parse_verifier_key
from ledger.services.checkpoints import key_schedule, log_verifier, publish_checkpoint, served_checkpoint
from ledger.services.processor import CommandRefused
from ledger.services.witnesses import (
    add_checkpoint_body,
    add_witness,
    list_witnesses,
    post_add_checkpoint,
    push_all,
    remove_witness,
    witness_status,
)
from ledger.services.setup import load_ledger_signer
from ledger.store.config import StoreConfig, resolve_store
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger
from tests.ledger_helpers import Raw, TestLedger, entity_rows, ledger_with_entities
from tests.witness_server import SpecWitness


def log_key(store: StoreConfig):  # -> Ed25519Verifier
    with open_reader(store) as reader:
        return log_verifier(key_schedule(reader), reader.size())


def size_of(store: StoreConfig) -> int:
    with open_reader(store) as reader:
        return reader.size()


def register(ledger: TestLedger, witness: SpecWitness, name: str = "w1") -> None:
    """`witness.add`, signed by the admin with its own key."""
    with ledger.service() as service:
        add_witness(service, ledger.admin, "admin", name=name, vkey=witness.vkey, url=witness.url)


def add_entities(ledger: TestLedger, imports: int, per_import: int, start: int = 0) -> None:
    for n in range(imports):
        ledger.import_rows("admin", "entities", entity_rows(per_import, start=start + per_import * n))


def test_witness_cosigns_and_the_served_checkpoint_carries_it(store: StoreConfig) -> None:
    ledger = ledger_with_entities(store, 0)
    signer = load_ledger_signer(store)
    with SpecWitness() as witness:
        register(ledger, witness)
        witness.trust(log_key(store))
        publish_checkpoint(store, signer)
        first = size_of(store)
        [result] = push_all(store)
        assert result.ok and result.old == 0 and result.size == first, result
        add_entities(ledger, 2, 3)
        second = size_of(store)
        assert second == first + 2 * (3 + 2)
        publish_checkpoint(store, signer)
        [result] = push_all(store)  # now from the previous size, with a proof
        assert result.ok and result.old == first and result.size == second, result
        assert witness.latest[log_key(store).name][0] == second
        assert witness.requests == [200, 200]
    note = served_checkpoint(store)
    assert note is not None and note.count("\n— ") == 2
    checkpoint, opened = open_checkpoint(note, log_key(store), [parse_verifier_key(witness.vkey)])
    assert checkpoint.size == second and {s.name for s in opened.verified} == {checkpoint.origin, witness.name}
    status = witness_status(store)
    assert status.witnessed and status.cosignatures == 1 and status.threshold == 1
    assert not witness_status(store, threshold=2).witnessed
    report = verify_ledger(store)
    assert report.ok, report.problems
    assert report.checks["cosignatures"] == 2


def test_stale_old_size_gets_409_and_the_client_retries(store: StoreConfig) -> None:
    ledger = ledger_with_entities(store, 4)
    with SpecWitness() as witness:
        register(ledger, witness)
        note = publish_checkpoint(store, load_ledger_signer(store))
        first = size_of(store)
        witness.trust(log_key(store))
        assert push_all(store)[0].ok
        # The raw protocol: a request from old 0 is refused with the witness's size.
        reply = post_add_checkpoint(witness.url, add_checkpoint_body(0, [], note))
        assert (reply.status, reply.content_type, reply.body) == (409, "text/x.tlog.size", f"{first}\n")
        # The client forgot what it pushed: it sends old 0, learns the size from the 409, retries.
        raw = Raw(store)
        raw.sql(f"DELETE FROM {raw.dialect.table('ledger_cosignatures')}")
        raw.close()
        add_entities(ledger, 1, 1, start=100)
        publish_checkpoint(store, load_ledger_signer(store))
        [result] = push_all(store)
        assert result.ok and result.old == first and result.size == first + 3, result
        assert witness.requests == [200, 409, 409, 200]


def test_a_forked_ledger_gets_422_and_nothing_is_stored(tmp_path: Path) -> None:
    """Split view: two copies of one ledger (same origin and key) diverge."""
    a = resolve_store(None, tmp_path / "a")
    honest = ledger_with_entities(a, 3)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    b = resolve_store(None, tmp_path / "b")
    forked = TestLedger(b, dict(honest.keys))
    with SpecWitness() as witness:
        for ledger, count in ((honest, 2), (forked, 3)):
            register(ledger, witness)
            add_entities(ledger, 1, count, start=100)
        assert size_of(b) == size_of(a) + 1
        witness.trust(log_key(a))
        publish_checkpoint(a, load_ledger_signer(a))
        assert push_all(a)[0].ok  # the witness now holds a's root
        publish_checkpoint(b, load_ledger_signer(b))
        [result] = push_all(b)  # old 0 -> 409 (a's size) -> retry from it with b's proof -> 422
        assert not result.ok and "HTTP 422" in result.message, result
        assert witness.requests == [200, 409, 422]
    assert witness_status(b).cosignatures == 0
    assert verify_ledger(b).ok


@pytest.mark.parametrize("case", ["unknown origin", "untrusted key"])
def test_403_and_404_are_reported(tmp_path: Path, case: str) -> None:
    store = resolve_store(None, tmp_path / "h")
    ledger = ledger_with_entities(store, 0)
    with SpecWitness() as witness:
        register(ledger, witness)
        publish_checkpoint(store, load_ledger_signer(store))
        if case == "untrusted key":
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

            from ledger.integrity.note import Ed25519Signer

            witness.trust(Ed25519Signer(log_key(store).name, Ed25519PrivateKey.generate()).verifier())
        [result] = push_all(store)
    assert not result.ok
    assert ("HTTP 404" if case == "unknown origin" else "HTTP 403") in result.message


def test_a_tampered_cosignature_is_caught_by_verify(tmp_path: Path) -> None:
    store = resolve_store(None, tmp_path / "h")
    ledger = ledger_with_entities(store, 0)
    with SpecWitness() as witness:
        register(ledger, witness)
        publish_checkpoint(store, load_ledger_signer(store))
        witness.trust(log_key(store))
        assert push_all(store)[0].ok
    raw = Raw(store)
    [(line,)] = raw.sql("SELECT line FROM ledger_cosignatures")
    head, sig = line.rstrip("\n").rsplit(" ", 1)
    flipped = sig[:20] + ("A" if sig[20] != "A" else "B") + sig[21:]
    raw.sql("UPDATE ledger_cosignatures SET line = ?", f"{head} {flipped}\n")
    raw.close()
    assert not witness_status(store).witnessed
    problems = verify_ledger(store).problems
    assert any("cosignature by 'w1'" in p.what and "does not verify" in p.what for p in problems)


def test_the_witness_registry_is_signed_commands(store: StoreConfig) -> None:
    """Only an admin adds or removes a witness, each a command `verify` re-executes;
    a removed witness is no longer asked, its past cosignatures stay checked."""
    ledger = ledger_with_entities(store, 0)
    ledger.register("AU-1", "auditor")
    with SpecWitness() as witness, ledger.service() as service:
        with pytest.raises(CommandRefused) as refused:
            add_witness(service, ledger.keys["AU-1"], "AU-1", name="w1", vkey=witness.vkey, url=witness.url)
        assert refused.value.code == "missing_role" and refused.value.receipt is not None
        receipt = add_witness(service, ledger.admin, "admin", name="w1", vkey=witness.vkey, url=witness.url)
        assert receipt.outcome == "accepted" and receipt.last == receipt.first + 1
        with pytest.raises(CommandRefused) as duplicate:
            add_witness(service, ledger.admin, "admin", name="w1", vkey=witness.vkey, url=witness.url)
        assert duplicate.value.code == "duplicate"
        witness.trust(log_key(store))
        publish_checkpoint(store)
        assert push_all(store)[0].ok
        remove_witness(service, ledger.admin, "admin", name="w1", reason="retired")
        with pytest.raises(CommandRefused) as again:
            remove_witness(service, ledger.admin, "admin", name="w1", reason="retired")
        assert again.value.code == "unknown_object"
    assert [(w.name, w.active) for w in list_witnesses(store)] == [("w1", False)]
    status = witness_status(store)
    assert status.active == 0 and [(w.name, w.active, w.cosigned) for w in status.witnesses] == [("w1", False, True)]
    report = verify_ledger(store)
    assert report.ok, report.problems
    assert report.checks["cosignatures"] == 1 and report.checks["refusals_rechecked"] == 3
    with open_reader(store) as reader:
        commands = [msgspec.json.decode(row.state)["name"] for row in reader.events_with_topics(["drledger/command/Accepted"])]
    assert commands.count("witness.add") == 1 and commands.count("witness.remove") == 1
