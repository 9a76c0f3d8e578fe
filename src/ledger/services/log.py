"""Proofs from the ledger's transparency log (RFC 9162 tree over the chained events).

A proof is checked against the tree before it is handed out: a damaged
stored tree shows here as a ProofError, never as a wrong proof.
"""

from __future__ import annotations

from ledger.integrity.merkle import ProofError, verify_consistency, verify_inclusion
from ledger.integrity.note import NoteError
from ledger.store.config import StoreConfig
from ledger.store.log_reader import ConsistencyBundle, InclusionBundle, LogReader, ProofRequestError
from ledger.store.reader import open_reader
from ledger.store.tree import TreeError

__all__ = ["ConsistencyBundle", "InclusionBundle", "NoteError", "ProofError", "ProofRequestError", "TreeError",
           "consistency_proof", "inclusion_proof", "verify_consistency", "verify_inclusion"]


def inclusion_proof(config: StoreConfig, index: int, size: int | None = None) -> InclusionBundle:
    """Leaf `index` in the tree of `size` (default: the current size)."""
    with open_reader(config) as reader:
        log = LogReader(reader)
        bundle = log.inclusion(index, log.size() if size is None else size)
    verify_inclusion(bundle.leaf_hash, bundle.index, bundle.size, bundle.proof, bundle.root)
    return bundle


def consistency_proof(config: StoreConfig, size1: int, size2: int | None = None) -> ConsistencyBundle:
    """The tree of `size1` is a prefix of the tree of `size2` (default: the current size)."""
    with open_reader(config) as reader:
        log = LogReader(reader)
        bundle = log.consistency(size1, log.size() if size2 is None else size2)
    verify_consistency(bundle.size1, bundle.size2, bundle.proof, bundle.root1, bundle.root2)
    return bundle
