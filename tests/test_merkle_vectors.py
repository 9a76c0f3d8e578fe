"""ledger.integrity.merkle against every published RFC 6962 / RFC 9162 vector.

Vectors live in tests/vectors/tlog/merkle (sources in tests/vectors/README.md).
Each vector file is its own test case, named by its path.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ledger.integrity.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MemoryTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from tests.conftest import VECTORS

MERKLE = VECTORS / "tlog" / "merkle"
TESTDATA = MERKLE / "transparency-dev-merkle" / "testdata"

# Merkle Tree Certificates subtree proofs: not RFC 9162, not implemented here.
NOT_RFC9162 = {"subtreeinclusion", "subtreeconsistency"}


def _files(kind: str) -> list[Path]:
    return sorted((TESTDATA / kind).rglob("*.json"))


def _id(path: Path) -> str:
    return str(path.relative_to(TESTDATA))


def _b64(s: str) -> bytes:
    return base64.b64decode(s, validate=True)


def _proof(v: dict) -> list[bytes]:
    # Go's encoding/json writes a nil slice as null: an empty proof.
    return [_b64(p) for p in v["proof"] or []]


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


REFERENCE = _load(MERKLE / "reference-tree-8-leaves.json")
REFERENCE_LEAVES = [bytes.fromhex(x) for x in REFERENCE["leaf_inputs_hex"]]


def _reference_tree(size: int = 8) -> MemoryTree:
    tree = MemoryTree()
    for data in REFERENCE_LEAVES[:size]:
        tree.append(leaf_hash(data))
    return tree


def _rule_requires_error(hashes: list[bytes]) -> bool:
    """Our documented rule: every hash input must be exactly 32 bytes."""
    return any(len(h) != HASH_SIZE for h in hashes)


def test_vector_directories_are_all_covered() -> None:
    # A new upstream vector directory must not be silently ignored.
    assert {p.name for p in TESTDATA.iterdir()} == {"inclusion", "consistency"} | NOT_RFC9162
    assert len(_files("inclusion")) > 50
    assert len(_files("consistency")) > 50


@pytest.mark.parametrize("path", _files("inclusion"), ids=_id)
def test_inclusion_vector(path: Path) -> None:
    v = _load(path)
    leaf, root_hash = _b64(v["leafHash"]), _b64(v["root"])
    proof = _proof(v)
    want_err = v["wantErr"] or _rule_requires_error([leaf, root_hash, *proof])
    # No inclusion vector is accepted upstream but refused by our length rule.
    assert want_err == v["wantErr"]
    if want_err:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, v["leafIdx"], v["treeSize"], proof, root_hash)
        return
    verify_inclusion(leaf, v["leafIdx"], v["treeSize"], proof, root_hash)
    _check_generated_inclusion(v["leafIdx"], v["treeSize"], root_hash, proof)


def _check_generated_inclusion(index: int, size: int, root_hash: bytes, proof: list[bytes]) -> None:
    """A valid proof over the reference tree must equal the one we generate."""
    if size <= len(REFERENCE_LEAVES) and bytes.fromhex(
        REFERENCE["root_hash_by_tree_size_hex"][str(size)]
    ) == root_hash:
        assert inclusion_proof(index, size, _reference_tree().get_node) == proof


# Vectors accepted upstream that our length rule refuses.  Listed so that the
# deviation is visible and a new one fails the suite instead of hiding.
LENGTH_RULE_DEVIATIONS = {
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json",
}


@pytest.mark.parametrize("path", _files("consistency"), ids=_id)
def test_consistency_vector(path: Path) -> None:
    v = _load(path)
    root1, root2 = _b64(v["root1"]), _b64(v["root2"])
    proof = _proof(v)
    size1, size2 = v["size1"], v["size2"]
    refused_by_length = _rule_requires_error([root1, root2, *proof])
    assert (refused_by_length and not v["wantErr"]) == (_id(path) in LENGTH_RULE_DEVIATIONS)
    if v["wantErr"] or refused_by_length:
        with pytest.raises(ProofError) as caught:
            verify_consistency(size1, size2, proof, root1, root2)
        if not v["wantErr"]:
            assert f"must be {HASH_SIZE} bytes" in str(caught.value)
        return
    verify_consistency(size1, size2, proof, root1, root2)
    if 0 < size1 <= size2 <= len(REFERENCE_LEAVES) and root2 == _reference_tree().root(size2):
        assert consistency_proof(size1, size2, _reference_tree().get_node) == proof


def test_size1_zero_vectors_all_expect_an_error() -> None:
    # The documented rule (size1 == 0 is always an error) agrees with every
    # published vector: none accepts size1 == 0.
    zero = [_load(p) for p in _files("consistency") if _load(p)["size1"] == 0]
    assert zero and all(v["wantErr"] for v in zero)


def test_size1_zero_is_refused_even_with_empty_proof_and_real_roots() -> None:
    tree = _reference_tree()
    for size2 in (0, 1, 8):
        with pytest.raises(ProofError, match="size1 is 0"):
            verify_consistency(0, size2, [], EMPTY_ROOT, tree.root(size2))


# --------------------------------------------------------------------------
# Reference tree, hasher and proofgen seed proofs


def test_reference_tree_nodes_and_roots() -> None:
    tree = _reference_tree()
    for level, hashes in enumerate(REFERENCE["node_hashes_by_level_hex"]):
        for index, want in enumerate(hashes):
            assert tree.get_node(level, index).hex() == want, (level, index)
    # No node beyond what the reference lists was stored.
    assert len(tree.nodes) == sum(len(x) for x in REFERENCE["node_hashes_by_level_hex"])
    for size_text, want in REFERENCE["root_hash_by_tree_size_hex"].items():
        size = int(size_text)
        leaves = [leaf_hash(d) for d in REFERENCE_LEAVES[:size]]
        assert root_from_leaf_hashes(leaves).hex() == want, size
        assert root(size, tree.get_node).hex() == want, size


@pytest.mark.parametrize(
    "vector",
    _load(MERKLE / "rfc6962-hasher.json")["vectors"],
    ids=lambda v: f"rfc6962-hasher.json:{v['desc']}",
)
def test_rfc6962_hasher(vector: dict) -> None:
    fn = vector["fn"]
    if fn == "empty_root":
        got = EMPTY_ROOT
    elif fn == "hash_leaf":
        got = leaf_hash(bytes.fromhex(vector["input_hex"]))
    elif fn == "hash_children":
        got = node_hash(bytes.fromhex(vector["left_hex"]), bytes.fromhex(vector["right_hex"]))
    else:
        pytest.fail(f"unknown hasher function {fn}")
    assert got.hex() == vector["want_hex"]


SEEDS = _load(MERKLE / "proofgen-seed-proofs.json")


@pytest.mark.parametrize(
    "seed",
    SEEDS["inclusion"],
    ids=lambda s: f"proofgen-seed-proofs.json:inclusion-{s['leaf_index_0based']}-of-{s['tree_size']}",
)
def test_proofgen_inclusion_seed(seed: dict) -> None:
    index, size = seed["leaf_index_0based"], seed["tree_size"]
    want = [bytes.fromhex(h) for h in seed["audit_path_hex"]]
    tree = _reference_tree()
    assert tree.inclusion_proof(index, size) == want
    verify_inclusion(leaf_hash(REFERENCE_LEAVES[index]), index, size, want, tree.root(size))


@pytest.mark.parametrize(
    "seed",
    SEEDS["consistency"],
    ids=lambda s: f"proofgen-seed-proofs.json:consistency-{s['size1']}-to-{s['size2']}",
)
def test_proofgen_consistency_seed(seed: dict) -> None:
    size1, size2 = seed["size1"], seed["size2"]
    want = [bytes.fromhex(h) for h in seed["proof_hex"]]
    tree = _reference_tree()
    assert tree.consistency_proof(size1, size2) == want
    verify_consistency(size1, size2, want, tree.root(size1), tree.root(size2))


# --------------------------------------------------------------------------
# Precise errors (each rule has its own message)


def test_error_messages_name_the_failed_rule() -> None:
    tree = _reference_tree()
    r8, leaf0 = tree.root(8), leaf_hash(REFERENCE_LEAVES[0])
    proof = tree.inclusion_proof(0, 8)
    with pytest.raises(ProofError, match="leaf hash must be 32 bytes, got 0"):
        verify_inclusion(b"", 0, 8, proof, r8)
    with pytest.raises(ProofError, match="not below tree size 8"):
        verify_inclusion(leaf0, 8, 8, proof, r8)
    with pytest.raises(ProofError, match="has 2 hashes, expected 3"):
        verify_inclusion(leaf0, 0, 8, proof[:2], r8)
    with pytest.raises(ProofError, match="does not lead to the expected root"):
        verify_inclusion(leaf0, 1, 8, proof, r8)
    with pytest.raises(ProofError, match="size2 \\(1\\) is smaller than size1 \\(2\\)"):
        verify_consistency(2, 1, [], tree.root(2), tree.root(1))
    with pytest.raises(ProofError, match="sizes are equal \\(3\\) but the roots differ"):
        verify_consistency(3, 3, [], tree.root(3), r8)
    with pytest.raises(ProofError, match="does not reproduce root1"):
        verify_consistency(3, 8, tree.consistency_proof(3, 8), tree.root(4), r8)
    with pytest.raises(ProofError, match="does not reproduce root2"):
        verify_consistency(3, 8, tree.consistency_proof(3, 8), tree.root(3), tree.root(7))


# --------------------------------------------------------------------------
# The stdlib-only verifier printed in docs/transparency-log.md must be right.

DOC = Path(__file__).resolve().parents[1] / "docs" / "transparency-log.md"


def _doc_verifier():
    text = DOC.read_text(encoding="utf-8")
    (code,) = [b.split("```", 1)[0] for b in text.split("```python\n")[1:] if "def verify_inclusion" in b]
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace["verify_inclusion"]


@pytest.mark.parametrize("path", _files("inclusion"), ids=_id)
def test_doc_stdlib_verifier_agrees_with_vector(path: Path) -> None:
    v = _load(path)
    ok = _doc_verifier()(_b64(v["leafHash"]), v["leafIdx"], v["treeSize"], _proof(v), _b64(v["root"]))
    assert ok is (not v["wantErr"])


def test_doc_stdlib_verifier_worked_example() -> None:
    tree = _reference_tree()
    proof = tree.inclusion_proof(5, 7)
    assert [p.hex()[:8] for p in proof] == ["bc1a0643", "b08693ec", "d37ee418"]
    assert _doc_verifier()(leaf_hash(REFERENCE_LEAVES[5]), 5, 7, proof, tree.root(7)) is True
    assert _doc_verifier()(leaf_hash(REFERENCE_LEAVES[4]), 5, 7, proof, tree.root(7)) is False
