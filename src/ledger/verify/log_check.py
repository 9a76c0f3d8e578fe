"""`drledger verify`, transparency-log part: the stored tree and every checkpoint.

- Rebuilds the tree from the chain's event hashes in one streaming pass
  (compact range, O(log n) memory) and compares every stored node with the
  recomputed one, chunk by chunk; counts the stored nodes so none lies
  beyond the chain.
- Every stored checkpoint must verify with the ledger key in force at its
  size, name the ledger's origin, lie within the chain, carry the root
  rebuilt from the chain at its size, and be consistent with the previous
  one through a proof served by the store (so the served proofs are checked too).
- Every stored witness cosignature must verify with that witness's
  registered key.
"""

from __future__ import annotations

import hashlib

import msgspec

from ledger.checkpoints import CheckpointRefused, key_schedule, open_stored
from ledger.integrity.merkle import EMPTY_ROOT, ProofError, verify_consistency
from ledger.integrity.note import Checkpoint, NoteError
from ledger.store.checkpoints import checkpoints
from ledger.store.config import StoreConfig
from ledger.store.log_reader import LogReader
from ledger.store.reader import LedgerReader, open_reader
from ledger.store.tree import TREE_TABLE, TreeError, rows_to_nodes
from ledger.verify.ledger_check import Problem

CHUNK = 1 << 16  # leaves per query; a power of two keeps node ranges aligned
MAX_NODE_PROBLEMS = 5


class LogCheck(msgspec.Struct):
    problems: list[Problem]
    checkpoints: int
    cosignatures: int = 0
    tree_nodes: int = 0


def check_log(config: StoreConfig) -> LogCheck:
    with open_reader(config) as reader:
        size = reader.size()
        stored = checkpoints(reader)
        wanted = {cp.size for cp in stored if 0 < cp.size <= size}
        problems, roots, nodes = _check_tree(reader, size, wanted)
        roots[0] = EMPTY_ROOT
        cosigned = 0
        if stored:
            try:
                schedule = key_schedule(reader)
            except CheckpointRefused as error:
                return LogCheck(problems + [Problem(1, f"checkpoints cannot be checked: {error}")], len(stored))
            problems += _check_checkpoints(reader, stored, schedule, roots, size)
            from ledger.witnessing import check_cosignatures

            cosign_problems, cosigned = check_cosignatures(reader, stored)
            problems += cosign_problems
    return LogCheck(problems, len(stored), cosigned, nodes)


def _node_ranges(first: int, last: int) -> list[tuple[int, int, int]]:
    """(level, lo, hi) of the nodes completed by leaves [first, last).

    Node (L, i) is completed by leaf (i + 1) * 2^L - 1.
    """
    out = []
    for level in range(1, last.bit_length() + 1):
        lo, hi = ((first + (1 << level)) >> level) - 1, (last >> level) - 1
        if lo <= hi:
            out.append((level, lo, hi))
    return out


def _fetch_ranges(reader: LedgerReader, ranges: list[tuple[int, int, int]]) -> dict[tuple[int, int], bytes]:
    if not ranges:
        return {}
    where = " OR ".join(["(level = ? AND idx BETWEEN ? AND ?)"] * len(ranges))
    params = [v for r in ranges for v in r]
    rows = reader._all(f"SELECT level, idx, hash FROM {reader.dialect.table(TREE_TABLE)} WHERE {where}", params)
    return rows_to_nodes(rows)


def _check_tree(reader: LedgerReader, size: int, wanted: set[int]) -> tuple[list[Problem], dict[int, bytes], int]:
    """Compare stored nodes with the tree rebuilt from the chain; roots at `wanted` sizes."""
    problems: list[Problem] = []
    roots: dict[int, bytes] = {}
    sha256 = hashlib.sha256
    stack: list[bytes] = []
    count = 0
    for first in range(0, size, CHUNK):
        last = min(size, first + CHUNK)
        rows = reader._all(
            f"SELECT seq, hash FROM {reader.chain} WHERE seq > ? AND seq <= ? ORDER BY seq", (first, last)
        )
        if len(rows) != last - first:
            # A gap in the chain (the chain check reports it too): no tree to rebuild.
            missing = next((first + 1 + i for i, row in enumerate(rows) if row[0] != first + 1 + i), first + 1 + len(rows))
            problems.append(Problem(missing, f"position {missing} is missing from the chain: the transparency tree cannot be rebuilt"))
            return problems, roots, 0
        stored = _fetch_ranges(reader, _node_ranges(first, last))
        for _, event_hash in rows:
            h = sha256(b"\x00" + bytes(event_hash)).digest()
            count += 1
            c, level = count, 0
            while c & 1 == 0:
                right = h
                h = sha256(b"\x01" + stack.pop() + right).digest()
                level += 1
                c >>= 1
                key = (level, (count - 1) >> level)
                if stored.get(key) != h and len(problems) < MAX_NODE_PROBLEMS:
                    idx = key[1]
                    verb = "is missing" if key not in stored else "does not match the chain"
                    problems.append(
                        Problem(idx * (1 << level) + 1, f"transparency tree node ({level}, {idx}) {verb}")
                    )
            stack.append(h)
            if count in wanted:
                acc = stack[-1]
                for left in reversed(stack[:-1]):
                    acc = sha256(b"\x01" + left + acc).digest()
                roots[count] = acc
    expected = size - bin(size).count("1")
    found = int(reader._one(f"SELECT COUNT(*) FROM {reader.dialect.table(TREE_TABLE)}")[0])
    if found != expected:
        problems.append(
            Problem(None, f"the transparency tree holds {found} nodes, but a tree of {size} leaves has {expected}")
        )
    return problems, roots, found


def _check_checkpoints(reader, stored, schedule, roots: dict[int, bytes], size: int) -> list[Problem]:  # type: ignore[no-untyped-def]
    problems: list[Problem] = []
    log = LogReader(reader)
    previous: Checkpoint | None = None
    for cp in stored:
        where = min(cp.size, size + 1) or None
        try:
            checkpoint = open_stored(cp, schedule)
        except NoteError as error:
            problems.append(Problem(where, f"checkpoint at size {cp.size} does not verify: {error}"))
            continue
        if cp.size > size:
            problems.append(
                Problem(size + 1, f"checkpoint at size {cp.size} but the chain ends at {size}: its tail was removed")
            )
            continue
        if checkpoint.root != roots.get(cp.size):
            problems.append(
                Problem(where, f"checkpoint at size {cp.size}: its root differs from the tree rebuilt from the chain")
            )
            continue
        if previous is not None and previous.size > 0:
            try:
                proof = log.consistency_proof(previous.size, cp.size)
                verify_consistency(previous.size, cp.size, proof, previous.root, checkpoint.root)
            except (ProofError, TreeError) as error:
                problems.append(
                    Problem(where, f"checkpoints at sizes {previous.size} and {cp.size} are not consistent: {error}")
                )
        previous = checkpoint
    return problems
