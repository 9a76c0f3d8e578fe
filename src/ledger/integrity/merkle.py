"""RFC 9162 (RFC 6962) Merkle tree: hashing, proof generation, proof verification.

Pure functions only: nothing here reads a file, a database or the clock.
Storage is abstracted as ``get_node(level, index) -> bytes``.

Hashing
    ``leaf_hash(d) = SHA-256(0x00 || d)``, ``node_hash(l, r) = SHA-256(0x01 || l || r)``,
    and the root of the empty tree is ``SHA-256("")`` (``EMPTY_ROOT``).
    The tree over ``n`` leaves is the left-balanced tree of RFC 9162 §2.1.1:
    the left child of every node holds the largest power of two strictly
    smaller than the node's leaf count.

Node addressing
    A *complete* subtree is addressed as ``(level, index)``: level 0 holds the
    leaf hashes (index = leaf index) and node ``(level, i)`` covers the leaves
    ``[i * 2**level, (i + 1) * 2**level)``.  Only complete subtrees are ever
    stored; they never change once written, so a store can be append-only.
    Nodes on the right edge of a tree whose size is not a power of two
    ("ephemeral" nodes) are recomputed on demand by folding the complete
    subtrees that make up their range (at most ``log2(n)`` of them).

Proof generation
    Each proof element is the hash of a leaf range of the left-balanced tree,
    so a proof is first *planned* as a list of ranges, each range is
    decomposed into complete-subtree ids, and then *materialised* from a dict
    of hashes.  ``inclusion_proof_plan`` / ``consistency_proof_plan`` /
    ``root_plan`` plus ``nodes_needed`` let a SQL store fetch every node a
    proof needs in one query; ``inclusion_proof`` / ``consistency_proof`` /
    ``root`` are the convenience forms that call ``get_node`` once per needed
    node (O(log n) calls).

Verification rules (the exact contract of this module)
    * Every hash argument (leaf hash, roots, proof elements) must be exactly
      32 bytes.  This is checked first, before any size rule.  RFC 9162's
      step-by-step algorithms have no length check, which is how an empty
      leaf hash can "verify" against an empty root; we refuse that.
      Consequence: transparency-dev's ``consistency/additional/
      sizes-are-equal-one-and-proof-is-empty.json`` (12-byte placeholder roots,
      accepted upstream because equal sizes only compare bytes) is rejected
      here; the vector test records that as a documented deviation.
    * Inclusion: ``0 <= index < size``; the proof must have exactly the
      length RFC 9162 §2.1.3.1 generates; then the §2.1.3.2 algorithm.
    * Consistency, ``size1 == 0``: always an error, for every ``size2``
      (including ``size2 == 0``).  RFC 9162 §2.1.4 defines a consistency
      proof only for ``0 < size1 <= size2``; the empty tree is a prefix of
      every tree, so there is nothing to prove and nothing to verify.  This
      is also transparency-dev/merkle's rule since PR #236.  C2SP
      tlog-witness accepts ``old 0`` with an empty proof, but that is a
      protocol decision ("no previous checkpoint"), which the witness layer
      must make explicitly *without* calling ``verify_consistency``; keeping
      it out of this primitive means no caller can mistake "accepted from
      size 0" for "checked against a root".
    * Consistency, ``size1 == size2 > 0``: the proof must be empty and the two
      roots equal (RFC 9162 §2.1.4.1: PROOF(n, D[n]) is empty).
    * Consistency, ``0 < size1 < size2``: the proof must have exactly the
      length §2.1.4.1 generates; then the §2.1.4.2 algorithm.
    * ``size2 < size1`` and negative sizes are errors.

Every failure raises ``ProofError`` (a ``ValueError``) whose message says
which rule failed.

>>> t = MemoryTree()
>>> t.extend([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")])
>>> proof = inclusion_proof(2, 3, t.get_node)
>>> verify_inclusion(leaf_hash(b"c"), 2, 3, proof, t.root())
>>> verify_inclusion(leaf_hash(b"x"), 2, 3, proof, t.root())
Traceback (most recent call last):
...
ledger.integrity.merkle.ProofError: inclusion proof does not lead to the expected root: computed ... for leaf 2 in tree of size 3
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "HASH_SIZE",
    "EMPTY_ROOT",
    "NodeId",
    "GetNode",
    "ProofError",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "range_nodes",
    "complete_nodes_after_append",
    "append_nodes_needed",
    "complete_nodes_after_batch",
    "inclusion_proof_plan",
    "consistency_proof_plan",
    "root_plan",
    "nodes_needed",
    "materialize",
    "inclusion_proof",
    "consistency_proof",
    "root",
    "root_from_inclusion_proof",
    "verify_inclusion",
    "verify_consistency",
    "MemoryTree",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]
"""``(level, index)`` of a complete subtree."""

GetNode = Callable[[int, int], bytes]
"""Returns the stored hash of complete subtree ``(level, index)``."""

Plan = list[tuple[NodeId, ...]]
"""One entry per proof element: the complete subtrees whose right fold is it."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A Merkle proof (or its inputs) failed verification."""


# --------------------------------------------------------------------------
# Hashing


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data).

    >>> leaf_hash(b"").hex()
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d'
    """
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _fold_right(hashes: Sequence[bytes]) -> bytes:
    """Hash a left-to-right list of descending complete subtrees into one root.

    The right edge of a left-balanced tree nests to the right, so the
    smallest (rightmost) subtree is combined first.
    """
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (RFC 9162 §2.1.1), in O(n) time and O(log n) memory.

    Keeps the stack of complete subtrees (a "compact range") as leaves arrive,
    then folds it, which equals the recursive definition.

    >>> root_from_leaf_hashes([]) == EMPTY_ROOT
    True
    """
    stack: list[bytes] = []
    push, pop, sha, node = stack.append, stack.pop, hashlib.sha256, _NODE_PREFIX  # locals: a pool has 1M leaves
    for count, h in enumerate(hashes, start=1):
        # Each trailing zero bit of the new count completes one more level (node_hash, inlined).
        while not count & 1:
            h = sha(node + pop() + h).digest()
            count >>= 1
        push(h)
    if not stack:
        return EMPTY_ROOT
    return _fold_right(stack)


# --------------------------------------------------------------------------
# Ranges and complete subtrees


def range_nodes(begin: int, end: int) -> list[NodeId]:
    """Complete subtrees covering leaves [begin, end), left to right, maximal.

    For ranges that are nodes of the left-balanced tree (``begin`` aligned to
    a power of two at least ``end - begin``) the subtrees come in strictly
    descending sizes and their right fold is that node's hash.

    >>> range_nodes(4, 7)
    [(1, 2), (0, 6)]
    >>> range_nodes(0, 8)
    [(3, 0)]
    """
    if not 0 <= begin <= end:
        raise ValueError(f"invalid leaf range [{begin}, {end})")
    out: list[NodeId] = []
    pos = begin
    while pos < end:
        # Largest aligned power of two starting at pos that still fits.
        level = (pos & -pos).bit_length() - 1 if pos else (end - pos).bit_length() - 1
        while pos + (1 << level) > end:
            level -= 1
        out.append((level, pos >> level))
        pos += 1 << level
    return out


def complete_nodes_after_append(
    index: int, leaf_hash: bytes, get_node: GetNode
) -> list[tuple[int, int, bytes]]:
    """New complete subtrees (level >= 1) created when leaf ``index`` is appended.

    The caller stores the leaf itself at ``(0, index)``.  Leaf ``index``
    completes one subtree per trailing one bit of ``index``; each needs its
    left sibling, which is already stored.
    """
    _check_hash("leaf hash", leaf_hash)
    if index < 0:
        raise ValueError(f"negative leaf index {index}")
    out: list[tuple[int, int, bytes]] = []
    h, level, i = leaf_hash, 0, index
    while i & 1:
        h = node_hash(get_node(level, i - 1), h)
        level, i = level + 1, i >> 1
        out.append((level, i, h))
    return out


def append_nodes_needed(start: int) -> list[NodeId]:
    """Stored nodes that appending leaves from ``start`` onward may read.

    These are the complete subtrees of the existing prefix [0, start); a
    batch append never needs any other stored node, so a SQL store can fetch
    them in one query and pass them in as a dict.
    """
    return range_nodes(0, start)


def complete_nodes_after_batch(
    start: int,
    leaf_hashes: Sequence[bytes],
    get_node: GetNode | Mapping[NodeId, bytes],
) -> list[tuple[int, int, bytes]]:
    """New complete subtrees (level >= 1) created by appending a batch of leaves.

    ``leaf_hashes`` are the leaves at indices ``start, start+1, ...``.  Nodes
    created inside the batch are kept in an in-memory dict, so ``get_node``
    (or the mapping of ``append_nodes_needed(start)``) is consulted only for
    the left edge of the existing tree: at most ``popcount(start)`` reads for
    the whole batch, whatever its length.  The result equals concatenating
    ``complete_nodes_after_append`` for each leaf in order.
    """
    if start < 0:
        raise ValueError(f"negative start index {start}")
    for leaf in leaf_hashes:
        _check_hash("leaf hash", leaf)
    lookup = _as_getter(get_node)
    sha256 = hashlib.sha256
    # Level by level (one comprehension of pair hashes each, not a loop step per leaf):
    # `row` holds the nodes of `level` from index `first` on that this batch made or needs.
    out: list[tuple[int, int, bytes]] = []
    row, first, level = list(leaf_hashes), start, 0
    while row:
        if first & 1:  # the left sibling of the batch's first node is stored already
            row.insert(0, lookup(level, first - 1))
            first -= 1
        pairs = len(row) // 2
        if not pairs:
            break
        row = [sha256(_NODE_PREFIX + row[2 * k] + row[2 * k + 1]).digest() for k in range(pairs)]
        level, first = level + 1, first >> 1
        out.extend((level, first + k, h) for k, h in enumerate(row))
    # In the order appending leaf by leaf creates them: by the last leaf each covers, lowest first.
    out.sort(key=lambda node: ((node[1] + 1) << node[0], node[0]))
    return out


# --------------------------------------------------------------------------
# Proof plans (which nodes) and materialisation (which hashes)


def _largest_power_of_two_below(n: int) -> int:
    """Largest power of two strictly less than n (n > 1): RFC 9162's k."""
    return 1 << ((n - 1).bit_length() - 1)


def _inclusion_ranges(index: int, begin: int, end: int) -> list[tuple[int, int]]:
    """PATH(m, D[begin:end]) of RFC 9162 §2.1.3.1 as leaf ranges, leaf first."""
    out: list[tuple[int, int]] = []
    # Iterative descent; collected top-down, so reversed at the end.
    while end - begin > 1:
        k = _largest_power_of_two_below(end - begin)
        if index < begin + k:
            out.append((begin + k, end))
            end = begin + k
        else:
            out.append((begin, begin + k))
            begin = begin + k
    out.reverse()
    return out


def _consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """SUBPROOF(m, D[n], true) of RFC 9162 §2.1.4.1 as leaf ranges."""
    out: list[tuple[int, int]] = []
    m, begin, end, whole = size1, 0, size2, True
    while m != end:
        k = _largest_power_of_two_below(end - begin)
        if m - begin <= k:
            out.append((begin + k, end))
            end = begin + k
        else:
            out.append((begin, begin + k))
            begin, whole = begin + k, False
    if not whole:
        # The old tree is not a complete left subtree: its boundary node is
        # part of the proof (the verifier cannot know it from root1 alone).
        out.append((begin, end))
    out.reverse()
    return out


def _plan(ranges: Iterable[tuple[int, int]]) -> Plan:
    return [tuple(range_nodes(b, e)) for b, e in ranges]


def inclusion_proof_plan(index: int, size: int) -> Plan:
    """Complete subtrees needed for each element of PATH(index, D[size]).

    >>> inclusion_proof_plan(0, 7)
    [((0, 1),), ((1, 1),), ((1, 2), (0, 6))]
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    return _plan(_inclusion_ranges(index, 0, size))


def consistency_proof_plan(size1: int, size2: int) -> Plan:
    """Complete subtrees needed for each element of PROOF(size1, D[size2]).

    ``size1 == size2`` gives an empty plan; ``size1 == 0`` is refused (see the
    module docstring).

    >>> consistency_proof_plan(6, 8)
    [((1, 2),), ((1, 3),), ((2, 0),)]
    """
    if size1 <= 0 or size1 > size2:
        raise ValueError(
            f"consistency proof needs 0 < size1 <= size2, got {size1}, {size2}"
        )
    return _plan(_consistency_ranges(size1, size2))


def root_plan(size: int) -> Plan:
    """Plan whose single element is the root of a tree of ``size`` (empty for 0).

    >>> root_plan(7)
    [((2, 0), (1, 2), (0, 6))]
    """
    if size < 0:
        raise ValueError(f"negative tree size {size}")
    return _plan([(0, size)]) if size else []


def nodes_needed(plan: Plan) -> list[NodeId]:
    """Distinct node ids a plan needs, in first-use order (for one SQL query)."""
    return list(dict.fromkeys(node for element in plan for node in element))


def materialize(plan: Plan, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """Turn a proof plan into proof hashes using fetched node hashes."""
    return [_fold_right([nodes[n] for n in element]) for element in plan]


def _as_getter(source: GetNode | Mapping[NodeId, bytes]) -> GetNode:
    if isinstance(source, Mapping):
        return lambda level, index: source[(level, index)]
    return source


def _fetch(ids: Iterable[NodeId], get_node: GetNode) -> dict[NodeId, bytes]:
    return {node: get_node(*node) for node in ids}


def inclusion_proof(index: int, size: int, get_node: GetNode) -> list[bytes]:
    """Inclusion proof for leaf ``index`` in the tree of ``size`` leaves."""
    plan = inclusion_proof_plan(index, size)
    return materialize(plan, _fetch(nodes_needed(plan), get_node))


def consistency_proof(size1: int, size2: int, get_node: GetNode) -> list[bytes]:
    """Consistency proof from ``size1`` to ``size2`` (0 < size1 <= size2)."""
    plan = consistency_proof_plan(size1, size2)
    return materialize(plan, _fetch(nodes_needed(plan), get_node))


def root(size: int, get_node: GetNode) -> bytes:
    """Root hash of the tree of ``size`` leaves (EMPTY_ROOT for size 0)."""
    plan = root_plan(size)
    if not plan:
        return EMPTY_ROOT
    return materialize(plan, _fetch(nodes_needed(plan), get_node))[0]


# --------------------------------------------------------------------------
# Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)


def _check_hash(what: str, h: bytes) -> None:
    if not isinstance(h, bytes | bytearray | memoryview):
        raise ProofError(f"{what} must be bytes, got {type(h).__name__}")
    if len(h) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {len(h)}")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)


def _shift_until_odd_or_zero(fn: int, sn: int) -> tuple[int, int]:
    while fn & 1 == 0 and fn != 0:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1-4).

    Checks hash lengths, the index and the proof length; the caller compares
    the result with a trusted root (``verify_inclusion`` does).
    """
    _check_hash("leaf hash", leaf_hash)
    _check_proof_hashes(proof)
    if index < 0 or size < 0:
        raise ProofError(f"negative leaf index or tree size ({index}, {size})")
    if index >= size:
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    want = len(_inclusion_ranges(index, 0, size))
    if len(proof) != want:
        raise ProofError(
            f"inclusion proof has {len(proof)} hashes, expected {want} "
            f"for leaf {index} in tree of size {size}"
        )
    fn, sn, r = index, size - 1, bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                fn, sn = _shift_until_odd_or_zero(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree (size, root).

    Raises ProofError; returns None on success.
    """
    _check_hash("root", root)
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if computed != bytes(root):
        raise ProofError(
            "inclusion proof does not lead to the expected root: computed "
            f"{computed.hex()} for leaf {index} in tree of size {size}"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that tree (size1, root1) is a prefix of tree (size2, root2).

    Follows RFC 9162 §2.1.4.2 after the size rules in the module docstring
    (notably: ``size1 == 0`` is always an error).  Raises ProofError.
    """
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    _check_proof_hashes(proof)
    if size1 < 0 or size2 < 0:
        raise ProofError(f"negative tree size ({size1}, {size2})")
    if size2 < size1:
        raise ProofError(f"size2 ({size2}) is smaller than size1 ({size1})")
    if size1 == 0:
        raise ProofError(
            "size1 is 0: RFC 9162 defines consistency proofs only for "
            "0 < size1 <= size2 (the empty tree is a prefix of every tree; "
            "handle 'no previous tree' before calling verify_consistency)"
        )
    if size1 == size2:
        if proof:
            raise ProofError(
                f"sizes are equal ({size1}) but the proof has {len(proof)} hashes, expected 0"
            )
        if bytes(root1) != bytes(root2):
            raise ProofError(f"sizes are equal ({size1}) but the roots differ")
        return
    want = len(_consistency_ranges(size1, size2))
    if len(proof) != want:
        raise ProofError(
            f"consistency proof has {len(proof)} hashes, expected {want} "
            f"from size {size1} to size {size2}"
        )
    fr, sr = _consistency_roots(size1, size2, proof, root1)
    if fr != bytes(root1):
        raise ProofError(
            f"consistency proof does not reproduce root1 of size {size1}: computed {fr.hex()}"
        )
    if sr != bytes(root2):
        raise ProofError(
            f"consistency proof does not reproduce root2 of size {size2}: computed {sr.hex()}"
        )


def _consistency_roots(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> tuple[bytes, bytes]:
    """RFC 9162 §2.1.4.2 steps 1-6 for 0 < size1 < size2: returns (fr, sr)."""
    if not proof:
        raise ProofError("consistency proof is empty")
    path = [bytes(p) for p in proof]
    if size1 & (size1 - 1) == 0:
        # The old tree is a complete subtree: its root is the first node.
        path.insert(0, bytes(root1))
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                fn, sn = _shift_until_odd_or_zero(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the path to the root")
    return fr, sr


# --------------------------------------------------------------------------
# In-memory store


class MemoryTree:
    """A Merkle tree kept in a dict of complete subtrees: for tests and tools.

    >>> t = MemoryTree()
    >>> t.append(leaf_hash(b""))
    0
    >>> t.root().hex()[:16]
    '6e340b9cffb37a98'
    """

    def __init__(self) -> None:
        self.nodes: dict[NodeId, bytes] = {}
        self.size = 0

    def get_node(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def append(self, leaf: bytes) -> int:
        """Append one leaf hash; returns its index."""
        index = self.size
        new = complete_nodes_after_append(index, leaf, self.get_node)
        self.nodes[(0, index)] = bytes(leaf)
        self.nodes.update(((level, i), h) for level, i, h in new)
        self.size += 1
        return index

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Append a batch of leaf hashes with ``complete_nodes_after_batch``."""
        start = self.size
        new = complete_nodes_after_batch(start, leaves, self.get_node)
        self.nodes.update(((0, start + i), bytes(h)) for i, h in enumerate(leaves))
        self.nodes.update(((level, i), h) for level, i, h in new)
        self.size += len(leaves)

    def root(self, size: int | None = None) -> bytes:
        return root(self.size if size is None else size, self.get_node)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else size, self.get_node)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        return consistency_proof(size1, self.size if size2 is None else size2, self.get_node)
