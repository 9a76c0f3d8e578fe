"""Roots and proofs served from the stored tree: one query, O(log n) rows each.

Works over a `LedgerReader` (read-only raw SQL, both dialects). Each request
is planned with ledger.integrity.merkle, every node the plan needs (root,
proof, leaf) is fetched in a single SELECT, then materialised.
"""

from __future__ import annotations

from ledger.integrity.merkle import (
    EMPTY_ROOT,
    Plan,
    consistency_proof_plan,
    inclusion_proof_plan,
    materialize,
    nodes_needed,
    root_plan,
)
from ledger.store.reader import LedgerReader
from ledger.store.tree import fetch_nodes


class ProofRequestError(ValueError):
    """A proof was asked for sizes or an index the ledger cannot serve."""


class InclusionBundle:
    """Leaf hash, proof and root for one leaf in one tree size."""

    __slots__ = ("index", "size", "leaf_hash", "proof", "root")

    def __init__(self, index: int, size: int, leaf_hash: bytes, proof: list[bytes], root: bytes) -> None:
        self.index, self.size, self.leaf_hash, self.proof, self.root = index, size, leaf_hash, proof, root


class ConsistencyBundle:
    """Both roots and the proof between two tree sizes."""

    __slots__ = ("size1", "size2", "root1", "root2", "proof")

    def __init__(self, size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]) -> None:
        self.size1, self.size2, self.root1, self.root2, self.proof = size1, size2, root1, root2, proof


class LogReader:
    def __init__(self, reader: LedgerReader) -> None:
        self.reader = reader

    def size(self) -> int:
        return self.reader.size()

    def _check_size(self, size: int, what: str = "tree size") -> None:
        if size < 0:
            raise ProofRequestError(f"{what} must not be negative, got {size}")
        current = self.size()
        if size > current:
            raise ProofRequestError(f"{what} {size} is larger than the ledger ({current} events)")

    def _fetch(self, *plans: Plan) -> dict[tuple[int, int], bytes]:
        ids = nodes_needed([element for plan in plans for element in plan])
        return fetch_nodes(self.reader.connection.cursor(), self.reader.dialect, ids)

    def root(self, size: int) -> bytes:
        """Root of the tree over the first `size` events (EMPTY_ROOT for 0)."""
        self._check_size(size)
        plan = root_plan(size)
        return materialize(plan, self._fetch(plan))[0] if plan else EMPTY_ROOT

    def inclusion(self, index: int, size: int) -> InclusionBundle:
        """Leaf `index` (position index + 1) in the tree of `size`: one query."""
        self._check_size(size)
        if not 0 <= index < size:
            raise ProofRequestError(f"leaf index {index} is outside a tree of size {size}")
        proof_plan, whole, leaf = inclusion_proof_plan(index, size), root_plan(size), [((0, index),)]
        nodes = self._fetch(proof_plan, whole, leaf)
        return InclusionBundle(
            index, size, nodes[(0, index)], materialize(proof_plan, nodes), materialize(whole, nodes)[0]
        )

    def consistency(self, size1: int, size2: int) -> ConsistencyBundle:
        """Proof that the tree of size1 is a prefix of the tree of size2: one query.

        size1 = 0 is refused, as merkle.verify_consistency refuses it (see
        docs/transparency-log.md: nothing to prove from the empty tree).
        """
        self._check_size(size2, "size2")
        if size1 <= 0 or size1 > size2:
            raise ProofRequestError(f"consistency proofs need 0 < size1 <= size2, got {size1}, {size2}")
        proof_plan, plan1, plan2 = consistency_proof_plan(size1, size2), root_plan(size1), root_plan(size2)
        nodes = self._fetch(proof_plan, plan1, plan2)
        return ConsistencyBundle(
            size1, size2, materialize(plan1, nodes)[0], materialize(plan2, nodes)[0], materialize(proof_plan, nodes)
        )

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self.inclusion(index, size).proof

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        return self.consistency(size1, size2).proof
