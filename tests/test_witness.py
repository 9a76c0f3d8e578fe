"""Witness cosigning over real HTTP against a tlog-witness written from the spec
(tests/witness_server.py): cosigns, refuses a stale old size (409) and an
inconsistent checkpoint (422), and the client handles each."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ledger.checkpoints import key_schedule, log_verifier, publish_checkpoint, served_checkpoint
from ledger.integrity.commands import sign_command
from ledger.integrity.keys import read_key_file
from ledger.integrity.note import open_checkpoint, parse_verifier_key
from ledger.setup import ADMIN_KEY_FILE, load_ledger_signer, open_for_writing, passphrase
from ledger.store.config import StoreConfig, resolve_store
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger
from ledger.witnessing import (
    add_checkpoint_body,
    add_witness,
    post_add_checkpoint,
    push_all,
    witness_body,
    witness_status,
)
from tests.ledger_helpers import Raw, append_memos, new_ledger
from tests.witness_server import SpecWitness


def log_key(store: StoreConfig):  # -> Ed25519Verifier
    with open_reader(store) as reader:
        return log_verifier(key_schedule(reader), reader.size())


def register(app, store: StoreConfig, witness: SpecWitness, name: str = "w1") -> None:  # type: ignore[no-untyped-def]
    admin = read_key_file(store.keys_dir / ADMIN_KEY_FILE, passphrase())
    signed = sign_command(admin, "admin", "witness.add", witness_body(name, witness.vkey, witness.url))
    add_witness(app, signed, name=name, vkey=witness.vkey, url=witness.url)


def test_witness_cosigns_and_the_served_checkpoint_carries_it(store: StoreConfig) -> None:
    app = new_ledger(store)
    signer = load_ledger_signer(store)
    with SpecWitness() as witness:
        register(app, store, witness)
        witness.trust(log_key(store))
        publish_checkpoint(store, signer)
        [result] = push_all(store)
        assert result.ok and result.old == 0, result
        append_memos(app, 2, 3)
        publish_checkpoint(store, signer)
        [result] = push_all(store)  # now from the previous size, with a proof
        assert result.ok and result.old == 3 and result.size == 9, result
        assert witness.latest[log_key(store).name][0] == 9
        assert witness.requests == [200, 200]
    app.close()
    note = served_checkpoint(store)
    assert note is not None and note.count("\n— ") == 2
    checkpoint, opened = open_checkpoint(note, log_key(store), [parse_verifier_key(witness.vkey)])
    assert checkpoint.size == 9 and {s.name for s in opened.verified} == {checkpoint.origin, witness.name}
    status = witness_status(store)
    assert status.witnessed and status.cosignatures == 1 and status.threshold == 1
    assert not witness_status(store, threshold=2).witnessed
    report = verify_ledger(store)
    assert report.ok, report.problems
    assert report.checks["cosignatures"] == 2


def test_stale_old_size_gets_409_and_the_client_retries(store: StoreConfig) -> None:
    app = new_ledger(store)
    append_memos(app, 1, 4)
    note = publish_checkpoint(store, load_ledger_signer(store))
    with SpecWitness() as witness:
        register(app, store, witness)
        witness.trust(log_key(store))
        assert push_all(store)[0].ok
        # The raw protocol: a request from old 0 is refused with the witness's size.
        reply = post_add_checkpoint(witness.url, add_checkpoint_body(0, [], note))
        assert (reply.status, reply.content_type, reply.body) == (409, "text/x.tlog.size", "6\n")
        # The client forgot what it pushed: it sends old 0, learns 6 from the 409, retries.
        raw = Raw(store)
        raw.sql(f"DELETE FROM {raw.dialect.table('ledger_cosignatures')}")
        raw.close()
        append_memos(app, 1, 1)
        publish_checkpoint(store, load_ledger_signer(store))
        [result] = push_all(store)
        assert result.ok and result.old == 6 and result.size == 8, result
        assert witness.requests == [200, 409, 409, 200]
    app.close()


def test_a_forked_ledger_gets_422_and_nothing_is_stored(tmp_path: Path) -> None:
    """Split view: two copies of one ledger (same origin and key) diverge."""
    a = resolve_store(None, tmp_path / "a")
    app = new_ledger(a)
    append_memos(app, 1, 3)
    app.close()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    b = resolve_store(None, tmp_path / "b")
    with SpecWitness() as witness:
        for store, text in ((a, "honest"), (b, "forked")):
            app = open_for_writing(store)
            register(app, store, witness)
            append_memos(app, 1, 2 if text == "honest" else 3)
            app.close()
        witness.trust(log_key(a))
        publish_checkpoint(a, load_ledger_signer(a))
        assert push_all(a)[0].ok  # the witness now holds a's size-8 root
        publish_checkpoint(b, load_ledger_signer(b))
        [result] = push_all(b)  # old 0 -> 409 (8) -> retry from 8 with b's proof -> 422
        assert not result.ok and "HTTP 422" in result.message, result
        assert witness.requests == [200, 409, 422]
    assert witness_status(b).cosignatures == 0
    assert verify_ledger(b).ok


@pytest.mark.parametrize("case", ["unknown origin", "untrusted key"])
def test_403_and_404_are_reported(tmp_path: Path, case: str) -> None:
    store = resolve_store(None, tmp_path / "h")
    app = new_ledger(store)
    publish_checkpoint(store, load_ledger_signer(store))
    with SpecWitness() as witness:
        register(app, store, witness)
        if case == "untrusted key":
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

            from ledger.integrity.note import Ed25519Signer

            witness.trust(Ed25519Signer(log_key(store).name, Ed25519PrivateKey.generate()).verifier())
        [result] = push_all(store)
    app.close()
    assert not result.ok
    assert ("HTTP 404" if case == "unknown origin" else "HTTP 403") in result.message


def test_a_tampered_cosignature_is_caught_by_verify(tmp_path: Path) -> None:
    store = resolve_store(None, tmp_path / "h")
    app = new_ledger(store)
    publish_checkpoint(store, load_ledger_signer(store))
    with SpecWitness() as witness:
        register(app, store, witness)
        witness.trust(log_key(store))
        assert push_all(store)[0].ok
    app.close()
    raw = Raw(store)
    [(line,)] = raw.sql("SELECT line FROM ledger_cosignatures")
    head, sig = line.rstrip("\n").rsplit(" ", 1)
    flipped = sig[:20] + ("A" if sig[20] != "A" else "B") + sig[21:]
    raw.sql("UPDATE ledger_cosignatures SET line = ?", f"{head} {flipped}\n")
    raw.close()
    assert not witness_status(store).witnessed
    problems = verify_ledger(store).problems
    assert any("cosignature by 'w1'" in p.what and "does not verify" in p.what for p in problems)
