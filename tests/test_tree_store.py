"""The stored Merkle tree on real SQLite and PostgreSQL: equal to merkle.MemoryTree,
proofs from the store verify, and tampering with the tree or a checkpoint is caught."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.checkpoints import CheckpointRefused, publish_checkpoint
from ledger.integrity.merkle import MemoryTree, ProofError, leaf_hash, verify_consistency, verify_inclusion
from ledger.integrity.note import Ed25519Signer, format_checkpoint, sign_note
from ledger.setup import load_ledger_signer
from ledger.store.config import StoreConfig
from ledger.store.log_reader import LogReader
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger
from tests.ledger_helpers import Memo, Raw, append_memos, new_ledger

BATCHES = [1, 2, 3, 5, 8, 13, 1, 1, 32, 7, 64, 4, 9]


def build(store: StoreConfig) -> MemoryTree:
    """A ledger appended in batches of various sizes, and the same tree in memory."""
    app = new_ledger(store)
    for i, n in enumerate(BATCHES):
        app.save(*[Memo(text=f"{i}.{j}", actor="admin") for j in range(n)])
    app.close()
    return memory_tree(store)


def memory_tree(store: StoreConfig) -> MemoryTree:
    with open_reader(store) as reader:
        hashes = [reader.hash_at(seq) for seq in range(1, reader.size() + 1)]
    tree = MemoryTree()
    tree.extend([leaf_hash(h) for h in hashes])  # type: ignore[arg-type]
    return tree


def stored_nodes(raw: Raw) -> dict[tuple[int, int], bytes]:
    rows = raw.sql(f"SELECT level, idx, hash FROM {raw.dialect.table('ledger_tree')}")
    return {(int(level), int(idx)): bytes(h) for level, idx, h in rows}


def test_stored_tree_equals_memory_tree(store: StoreConfig) -> None:
    tree = build(store)
    assert tree.size == 2 + sum(BATCHES)
    raw = Raw(store)
    try:
        assert stored_nodes(raw) == {k: v for k, v in tree.nodes.items() if k[0] > 0}
    finally:
        raw.close()
    with open_reader(store) as reader:
        log = LogReader(reader)
        assert [log.root(s) for s in range(tree.size + 1)] == [tree.root(s) for s in range(tree.size + 1)]
    report = verify_ledger(store)
    assert report.ok, report.problems
    assert report.checks["tree_nodes"] == tree.size - bin(tree.size).count("1")


_built: dict[str, MemoryTree] = {}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_proofs_from_the_store_verify_and_mutations_fail(store: StoreConfig, data: st.DataObject) -> None:
    key = str(store.sqlite_path or store.schema)
    if key not in _built:
        _built[key] = build(store)
    tree = _built[key]
    size = data.draw(st.integers(1, tree.size), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    size1 = data.draw(st.integers(1, size), label="size1")
    with open_reader(store) as reader:
        log = LogReader(reader)
        inc = log.inclusion(index, size)
        con = log.consistency(size1, size)
    assert inc.leaf_hash == tree.nodes[(0, index)] and inc.root == tree.root(size)
    verify_inclusion(inc.leaf_hash, index, size, inc.proof, tree.root(size))
    verify_consistency(size1, size, con.proof, tree.root(size1), tree.root(size))
    if inc.proof:
        at = data.draw(st.integers(0, len(inc.proof) - 1), label="mutated element")
        bad = list(inc.proof)
        bad[at] = bytes([bad[at][0] ^ 1]) + bad[at][1:]
        with pytest.raises(ProofError):
            verify_inclusion(inc.leaf_hash, index, size, bad, tree.root(size))
    if con.proof:
        at = data.draw(st.integers(0, len(con.proof) - 1), label="mutated consistency element")
        bad = list(con.proof)
        bad[at] = bytes([bad[at][0] ^ 1]) + bad[at][1:]
        with pytest.raises(ProofError):
            verify_consistency(size1, size, bad, tree.root(size1), tree.root(size))


def test_a_tampered_tree_node_breaks_proofs_and_verify(store: StoreConfig) -> None:
    tree = build(store)
    raw = Raw(store)
    try:
        # Leaf 0's proof at the full size uses node (1, 1) (leaves 2-3).
        raw.sql(f"UPDATE {raw.dialect.table('ledger_tree')} SET hash = ? WHERE level = 1 AND idx = 1", bytes(32))
    finally:
        raw.close()
    with open_reader(store) as reader:
        inc = LogReader(reader).inclusion(0, tree.size)
    with pytest.raises(ProofError):
        verify_inclusion(inc.leaf_hash, 0, tree.size, inc.proof, tree.root())
    report = verify_ledger(store)
    assert not report.ok
    assert any(p.position == 3 and "tree node (1, 1) does not match" in p.what for p in report.problems)


def test_a_deleted_tree_node_is_caught(store: StoreConfig) -> None:
    build(store)
    raw = Raw(store)
    try:
        raw.sql(f"DELETE FROM {raw.dialect.table('ledger_tree')} WHERE level = 2 AND idx = 3")
    finally:
        raw.close()
    problems = verify_ledger(store).problems
    assert any("tree node (2, 3) is missing" in p.what for p in problems)


def test_checkpoints_are_checked_by_verify(store: StoreConfig) -> None:
    app = new_ledger(store)
    signer = load_ledger_signer(store)
    first = publish_checkpoint(store, signer)
    assert publish_checkpoint(store, signer) == first  # idempotent for an unchanged size
    append_memos(app, 3, 4)
    second = publish_checkpoint(store, signer)
    assert second != first and second.splitlines()[1] == "14"
    app.close()
    report = verify_ledger(store)
    assert report.ok, report.problems
    assert report.checks["checkpoints"] == 2

    # The operator (holding the ledger key) re-signs the first checkpoint with another root.
    origin = first.splitlines()[0]
    forged = sign_note(format_checkpoint(origin, 2, bytes(32)), [Ed25519Signer(origin, signer.private_key)])
    raw = Raw(store)
    try:
        raw.sql(f"UPDATE {raw.dialect.table('ledger_checkpoints')} SET note = ? WHERE size = 2", forged)
    finally:
        raw.close()
    problems = verify_ledger(store).problems
    assert any("checkpoint at size 2: its root differs" in p.what for p in problems)


def test_a_checkpoint_with_a_bad_signature_or_beyond_the_chain_is_caught(store: StoreConfig) -> None:
    app = new_ledger(store)
    append_memos(app, 1, 3)
    app.close()
    note = publish_checkpoint(store, load_ledger_signer(store))
    origin = note.splitlines()[0]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519Signer(origin, Ed25519PrivateKey.generate())
    ledger_key = Ed25519Signer(origin, load_ledger_signer(store).private_key)
    raw = Raw(store)
    try:
        table = raw.dialect.table("ledger_checkpoints")
        with open_reader(store) as reader:
            root = LogReader(reader).root(5)
        raw.sql(f"UPDATE {table} SET note = ? WHERE size = 5", sign_note(format_checkpoint(origin, 5, root), [other]))
        beyond = sign_note(format_checkpoint(origin, 9, root), [ledger_key])
        raw.sql(f"INSERT INTO {table} (size, note, created_at) VALUES (?, ?, ?)", 9, beyond, "x")
    finally:
        raw.close()
    whats = [p.what for p in verify_ledger(store).problems]
    assert any("checkpoint at size 5 does not verify" in w for w in whats), whats
    assert any("checkpoint at size 9 but the chain ends at 5" in w for w in whats), whats


def test_publish_refuses_a_checkpoint_inconsistent_with_the_previous(store: StoreConfig) -> None:
    app = new_ledger(store)
    signer = load_ledger_signer(store)
    note = publish_checkpoint(store, signer)
    origin = note.splitlines()[0]
    raw = Raw(store)
    try:
        forged = sign_note(format_checkpoint(origin, 2, bytes(32)), [Ed25519Signer(origin, signer.private_key)])
        raw.sql(f"UPDATE {raw.dialect.table('ledger_checkpoints')} SET note = ? WHERE size = 2", forged)
    finally:
        raw.close()
    with pytest.raises(CheckpointRefused, match="different root"):
        publish_checkpoint(store, signer)
    append_memos(app, 1, 2)
    app.close()
    with pytest.raises(CheckpointRefused, match="not consistent"):
        publish_checkpoint(store, signer)
