"""The stored Merkle tree on real SQLite and PostgreSQL: equal to merkle.MemoryTree,
proofs from the store verify, and tampering with the tree or a checkpoint is caught."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.services.checkpoints import CheckpointRefused, publish_checkpoint
from ledger.integrity.merkle import (
    MemoryTree,
    ProofError,
    append_nodes_needed,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from ledger.integrity.note import Ed25519Signer, format_checkpoint, sign_note
from ledger.services.setup import load_ledger_signer
from ledger.store.config import StoreConfig
from ledger.store.log_reader import LogReader
from ledger.store.reader import open_reader
from ledger.store.tree import TreeError, head_from_rows, head_query
from ledger.verify.ledger_check import verify_ledger
from tests.ledger_helpers import DEPARTMENT, Raw, TestLedger, entity_rows, ledger_with_entities, new_ledger

# Entities per import: each import is one transaction of n + 2 events.
BATCHES = [1, 2, 3, 5, 8, 13, 1, 1, 32, 7, 64, 4, 9]


def add_entities(ledger: TestLedger, imports: int, per_import: int) -> None:
    """`imports` signed imports of `per_import` new entities each."""
    with open_reader(ledger.store) as reader:
        start = reader.size()  # distinct entities on every call
    for n in range(imports):
        ledger.import_rows("admin", "entities", entity_rows(per_import, start=1000 * start + per_import * n))


def build(store: StoreConfig) -> MemoryTree:
    """A ledger appended in transactions of various sizes, and the same tree in memory."""
    ledger = ledger_with_entities(store, 0)
    for n in BATCHES:
        add_entities(ledger, 1, n)
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
    assert tree.size == 6 + sum(n + 2 for n in BATCHES)
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


def test_proofs_from_the_store_verify_and_mutations_fail(store: StoreConfig) -> None:
    tree = build(store)  # this test's own ledger; the examples only read it

    @settings(max_examples=40, deadline=None)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
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

    check()


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


def test_the_append_head_query_reads_the_chain_head_and_the_left_edge(store: StoreConfig) -> None:
    tree = build(store)
    raw = Raw(store)
    try:
        head = head_from_rows(raw.sql(head_query(raw.dialect)))
    finally:
        raw.close()
    assert (head.seq, head.hash) == (tree.size, memory_hashes(store)[-1])
    assert head.left_edge == {node: tree.nodes[node] for node in append_nodes_needed(tree.size)}
    assert bin(tree.size).count("1") == len(head.left_edge) > 1


def test_an_append_over_a_missing_left_edge_node_is_refused_and_writes_nothing(store: StoreConfig) -> None:
    ledger = ledger_with_entities(store, 0)
    add_entities(ledger, 1, 3)  # size 6 + 5 = 11 = 0b1011: left edge (3, 0), (1, 4), (0, 10)
    raw = Raw(store)
    try:
        raw.sql(f"DELETE FROM {raw.dialect.table('ledger_tree')} WHERE level = 1 AND idx = 4")
    finally:
        raw.close()
    with open_reader(store) as reader:
        before = (reader.size(), reader.event_count(), len(reader.transactions()))
    with pytest.raises(TreeError, match=r"lacks node \(1, 4\)"):
        add_entities(ledger, 1, 2)
    with open_reader(store) as reader:
        assert (reader.size(), reader.event_count(), len(reader.transactions())) == before == (11, 11, 3)


def memory_hashes(store: StoreConfig) -> list[bytes]:
    with open_reader(store) as reader:
        return [reader.hash_at(seq) for seq in range(1, reader.size() + 1)]  # type: ignore[misc]


def test_checkpoints_are_checked_by_verify(store: StoreConfig) -> None:
    ledger = new_ledger(store)
    signer = load_ledger_signer(store)
    first = publish_checkpoint(store, signer)
    assert first.splitlines()[1] == "3"  # the genesis transaction
    assert publish_checkpoint(store, signer) == first  # idempotent for an unchanged size
    assert publish_checkpoint(store) == first  # the ledger key from HOME/keys by default
    ledger.import_rows("admin", "departments", [DEPARTMENT])
    add_entities(ledger, 2, 4)
    second = publish_checkpoint(store, signer)
    assert second != first and second.splitlines()[1] == str(3 + 3 + 2 * 6)
    report = verify_ledger(store)
    assert report.ok, report.problems
    assert report.checks["checkpoints"] == 2

    # The operator (holding the ledger key) re-signs the first checkpoint with another root.
    origin = first.splitlines()[0]
    forged = sign_note(format_checkpoint(origin, 3, bytes(32)), [Ed25519Signer(origin, signer.private_key)])
    raw = Raw(store)
    try:
        raw.sql(f"UPDATE {raw.dialect.table('ledger_checkpoints')} SET note = ? WHERE size = 3", forged)
    finally:
        raw.close()
    problems = verify_ledger(store).problems
    assert any("checkpoint at size 3: its root differs" in p.what for p in problems)


def test_a_checkpoint_with_a_bad_signature_or_beyond_the_chain_is_caught(store: StoreConfig) -> None:
    ledger_with_entities(store, 0)  # 6 events
    note = publish_checkpoint(store, load_ledger_signer(store))
    origin = note.splitlines()[0]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519Signer(origin, Ed25519PrivateKey.generate())
    ledger_key = Ed25519Signer(origin, load_ledger_signer(store).private_key)
    raw = Raw(store)
    try:
        table = raw.dialect.table("ledger_checkpoints")
        with open_reader(store) as reader:
            root = LogReader(reader).root(6)
        raw.sql(f"UPDATE {table} SET note = ? WHERE size = 6", sign_note(format_checkpoint(origin, 6, root), [other]))
        beyond = sign_note(format_checkpoint(origin, 9, root), [ledger_key])
        raw.sql(f"INSERT INTO {table} (size, note, created_at) VALUES (?, ?, ?)", 9, beyond, "x")
    finally:
        raw.close()
    whats = [p.what for p in verify_ledger(store).problems]
    assert any("checkpoint at size 6 does not verify" in w for w in whats), whats
    assert any("checkpoint at size 9 but the chain ends at 6" in w for w in whats), whats


def test_publish_refuses_a_checkpoint_inconsistent_with_the_previous(store: StoreConfig) -> None:
    ledger = new_ledger(store)
    signer = load_ledger_signer(store)
    note = publish_checkpoint(store, signer)
    origin = note.splitlines()[0]
    raw = Raw(store)
    try:
        forged = sign_note(format_checkpoint(origin, 3, bytes(32)), [Ed25519Signer(origin, signer.private_key)])
        raw.sql(f"UPDATE {raw.dialect.table('ledger_checkpoints')} SET note = ? WHERE size = 3", forged)
    finally:
        raw.close()
    with pytest.raises(CheckpointRefused, match="different root"):
        publish_checkpoint(store, signer)
    ledger.import_rows("admin", "departments", [DEPARTMENT])
    with pytest.raises(CheckpointRefused, match="not consistent"):
        publish_checkpoint(store, signer)
