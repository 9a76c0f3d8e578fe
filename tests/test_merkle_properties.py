"""Property tests for ledger.integrity.merkle: generation and verification agree.

Trees are built from leaves derived from a Hypothesis-chosen salt, so every
example is a different tree; sizes cross several powers of two.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.integrity.merkle import (
    MemoryTree,
    ProofError,
    complete_nodes_after_append,
    complete_nodes_after_batch,
    append_nodes_needed,
    consistency_proof_plan,
    inclusion_proof,
    inclusion_proof_plan,
    consistency_proof,
    leaf_hash,
    nodes_needed,
    root,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 300


def _leaves(salt: bytes, n: int) -> list[bytes]:
    return [leaf_hash(salt + i.to_bytes(4, "big")) for i in range(n)]


def _tree(leaves: list[bytes]) -> MemoryTree:
    tree = MemoryTree()
    for h in leaves:
        tree.append(h)
    return tree


@st.composite
def tree_and_sizes(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    """Leaves of a tree, a historical size <= its size, and a leaf index below it."""
    salt = draw(st.binary(min_size=1, max_size=8))
    n = draw(st.integers(1, MAX_SIZE))
    size = draw(st.integers(1, n))
    index = draw(st.integers(0, size - 1))
    return _leaves(salt, n), size, index


class CountingStore:
    """Wraps a MemoryTree to count reads and refuse nodes beyond a size."""

    def __init__(self, tree: MemoryTree, size: int) -> None:
        self.tree, self.size, self.calls = tree, size, 0

    def get_node(self, level: int, index: int) -> bytes:
        self.calls += 1
        # A proof for a historical size must only use nodes complete at that size.
        assert (index + 1) << level <= self.size, (level, index, self.size)
        return self.tree.get_node(level, index)


@settings(max_examples=150, deadline=None)
@given(tree_and_sizes())
def test_inclusion_proofs_verify_at_every_historical_size(case: tuple[list[bytes], int, int]) -> None:
    leaves, size, index = case
    tree = _tree(leaves)
    store = CountingStore(tree, size)
    proof = inclusion_proof(index, size, store.get_node)
    assert store.calls <= 2 * size.bit_length()  # O(log n) reads
    expected_root = root_from_leaf_hashes(leaves[:size])
    verify_inclusion(leaves[index], index, size, proof, expected_root)


@settings(max_examples=150, deadline=None)
@given(tree_and_sizes(), st.data())
def test_consistency_proofs_verify(case: tuple[list[bytes], int, int], data: st.DataObject) -> None:
    leaves, size2, _ = case
    size1 = data.draw(st.integers(1, size2))
    tree = _tree(leaves)
    store = CountingStore(tree, size2)
    proof = consistency_proof(size1, size2, store.get_node)
    assert store.calls <= 3 * size2.bit_length()
    verify_consistency(
        size1, size2, proof, root_from_leaf_hashes(leaves[:size1]), root_from_leaf_hashes(leaves[:size2])
    )


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=8), st.integers(0, MAX_SIZE))
def test_root_equals_root_from_leaf_hashes_at_every_size(salt: bytes, n: int) -> None:
    leaves = _leaves(salt, n)
    tree = _tree(leaves)
    for size in range(n + 1):
        store = CountingStore(tree, size)
        assert root(size, store.get_node) == root_from_leaf_hashes(leaves[:size])
        assert store.calls <= max(size.bit_length(), 1)


@settings(max_examples=100, deadline=None)
@given(
    st.binary(max_size=8),
    st.integers(0, 64),
    st.lists(st.integers(0, 150), min_size=1, max_size=6),
)
def test_batch_append_equals_leaf_by_leaf(salt: bytes, prefix: int, batches: list[int]) -> None:
    leaves = _leaves(salt, prefix + sum(batches))
    one_by_one = _tree(leaves)
    batched = _tree(leaves[:prefix])
    start = prefix
    for count in batches:
        batch = leaves[start : start + count]
        store = CountingStore(batched, start)
        new = complete_nodes_after_batch(start, batch, store.get_node)
        # Only the left edge of the existing tree is ever read.
        assert store.calls <= bin(start).count("1")
        # Same nodes, in the same order, as appending each leaf on its own.
        expected, scratch = [], dict(batched.nodes)
        for offset, h in enumerate(batch):
            i = start + offset
            step = complete_nodes_after_append(i, h, lambda lv, ix: scratch[(lv, ix)])
            scratch[(0, i)] = h
            scratch.update(((lv, ix), nh) for lv, ix, nh in step)
            expected.extend(step)
        assert new == expected
        # The one-query form (a prefetched dict) gives the same answer.
        prefetched = {node: batched.get_node(*node) for node in append_nodes_needed(start)}
        assert complete_nodes_after_batch(start, batch, prefetched) == new
        batched.extend(batch)
        start += count
    assert batched.nodes == one_by_one.nodes
    assert batched.root() == root_from_leaf_hashes(leaves)


@settings(max_examples=150, deadline=None)
@given(tree_and_sizes(), st.data())
def test_proofs_from_a_tree_with_one_changed_leaf_fail(
    case: tuple[list[bytes], int, int], data: st.DataObject
) -> None:
    leaves, size, index = case
    changed = data.draw(st.integers(0, size - 1))
    mutated_leaves = list(leaves)
    mutated_leaves[changed] = hashlib.sha256(b"tampered" + leaves[changed]).digest()
    honest, mutated = _tree(leaves), _tree(mutated_leaves)
    good_root = honest.root(size)

    with pytest.raises(ProofError):
        verify_inclusion(
            mutated_leaves[index], index, size, mutated.inclusion_proof(index, size), good_root
        )
    # The honest proof does not vouch for the changed leaf either.
    if changed == index:
        with pytest.raises(ProofError):
            verify_inclusion(mutated_leaves[index], index, size, honest.inclusion_proof(index, size), good_root)

    size1 = data.draw(st.integers(1, size))
    forged = mutated.consistency_proof(size1, size)
    if changed < size1:
        # History was rewritten: no proof links the honest old root to the
        # tampered new root.
        with pytest.raises(ProofError):
            verify_consistency(size1, size, forged, honest.root(size1), mutated.root(size))
    if forged != honest.consistency_proof(size1, size):
        # A proof carrying tampered nodes does not link the honest roots.
        with pytest.raises(ProofError):
            verify_consistency(size1, size, forged, honest.root(size1), good_root)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5000), st.data())
def test_plans_only_name_nodes_complete_at_that_size(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    size1 = data.draw(st.integers(1, size))
    for plan in (inclusion_proof_plan(index, size), consistency_proof_plan(size1, size)):
        for level, i in nodes_needed(plan):
            assert (i + 1) << level <= size


def test_size_zero_and_out_of_range_are_refused_by_generators() -> None:
    tree = _tree(_leaves(b"x", 4))
    with pytest.raises(ValueError):
        consistency_proof(0, 4, tree.get_node)
    with pytest.raises(ValueError):
        consistency_proof(3, 2, tree.get_node)
    with pytest.raises(ValueError):
        inclusion_proof(4, 4, tree.get_node)
    assert consistency_proof(4, 4, tree.get_node) == []
