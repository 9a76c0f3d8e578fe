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
  registered key (the `witness.add` events).
- With a witness requirement (`verify --require-witnesses K`), the latest
  checkpoint must carry K cosignatures that verify with the keys of K
  active registered witnesses.
- A checkpoint an auditor saved (`verify --checkpoint`) must verify with the
  ledger key in force at its size and carry the root rebuilt from the chain
  at that size: otherwise the ledger does not hold the history its key signed.

Resuming after a verified mark (a mirror's pull): the tree is still rebuilt
from every chain hash (the roots need it), but only the nodes completed by
the new leaves are compared, and only the checkpoints beyond the last
verified one are checked, the first of them for consistency with it (the
cosignatures, few, are all checked).

This module reads the store only; services/checkpoints.py and
services/witnesses.py (which write) build on its readers, never the reverse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.witness import Witness
from ledger.integrity.merkle import EMPTY_ROOT, ProofError, verify_consistency
from ledger.integrity.note import (
    Checkpoint,
    CosignatureV1Verifier,
    Ed25519Verifier,
    NoteError,
    open_checkpoint,
    open_note,
    note_text,
    parse_checkpoint,
    parse_verifier_key,
)
from ledger.integrity.keys import key_id
from ledger.store.checkpoints import StoredCheckpoint, checkpoints, cosignatures, latest_checkpoint
from ledger.store.config import StoreConfig
from ledger.store.log_reader import LogReader
from ledger.store.reader import LedgerReader, open_reader
from ledger.store.tree import TREE_TABLE, TreeError, rows_to_nodes
from ledger.verify.keys import LEDGER_KEY_TOPICS, KeyProblem, LedgerKeySchedule
from ledger.verify.ledger_check import Problem, VerifiedMark, WitnessCount

WITNESS_ADDED_TOPIC = get_topic(Witness.Added)
WITNESS_REMOVED_TOPIC = get_topic(Witness.Removed)
WITNESS_TOPICS = (WITNESS_ADDED_TOPIC, WITNESS_REMOVED_TOPIC)

CHUNK = 1 << 16  # leaves per query; a power of two keeps node ranges aligned
MAX_NODE_PROBLEMS = 5


class LogCheck(msgspec.Struct):
    problems: list[Problem]
    checkpoints: int
    cosignatures: int = 0
    tree_nodes: int = 0
    roots: dict[int, bytes] = {}  # rebuilt from the chain, at each checkpoint's size and at `root_sizes`
    witnessed: list[tuple[int, int]] = []  # (checkpoint size, cosignature time) of every valid cosignature


def check_log(config: StoreConfig, root_sizes: Iterable[int] = (), mark: VerifiedMark | None = None) -> LogCheck:
    """Check the stored tree, checkpoints and cosignatures; also rebuild the
    tree's root at each of `root_sizes` within the chain (saved checkpoints).
    With a verified `mark`, what it covers is not compared again (module doc)."""
    with open_reader(config) as reader:
        size = reader.size()
        stored = checkpoints(reader)
        verified = mark.checkpoint if mark else 0
        wanted = {cp.size for cp in stored if 0 < cp.size <= size} | {n for n in root_sizes if 0 < n <= size}
        problems, roots, nodes = _check_tree(reader, size, wanted | {verified} - {0}, mark.size if mark else 0)
        roots[0] = EMPTY_ROOT
        new = [cp for cp in stored if cp.size > verified]  # every one, without a mark
        cosigned, witnessed = 0, []
        if stored:
            try:
                schedule = key_schedule(reader)
            except KeyProblem as error:
                return LogCheck(problems + [Problem(1, f"checkpoints cannot be checked: {error.what}")], len(new),
                                roots=roots)
            last = Checkpoint(schedule.origin, verified, roots[verified]) if verified in roots else None
            problems += _check_checkpoints(reader, new, schedule, roots, size, last)
            # Cosignatures are few, and their times are evidence for the draws: all of them.
            cosign_problems, witnessed = check_cosignatures(reader, stored)
            cosigned = len(witnessed)
            problems += cosign_problems
    return LogCheck(problems, len(new), cosigned, nodes, roots, witnessed)


def saved_checkpoint_problem(note: str, schedule: LedgerKeySchedule, roots: dict[int, bytes], size: int,
                             trusted_key: bytes | None = None) -> str | None:
    """Why the ledger does not hold a checkpoint someone saved (None: it does).

    The note must name this ledger's origin, verify with the ledger key in
    force at its size (log_verifier), lie within the chain, and carry the
    root rebuilt from the chain at its size. `roots` must hold that root
    when the size is within the chain (check_log's `root_sizes`).
    """
    try:
        claimed = parse_checkpoint(note_text(note))
    except NoteError as error:
        return f"not a checkpoint note: {error}"
    if not schedule.changes:
        return "cannot be checked: the ledger's keys cannot be read"
    if claimed.origin != schedule.origin:
        return f"a checkpoint of log {claimed.origin!r}, not of this ledger ({schedule.origin!r})"
    in_force = log_verifier(schedule, claimed.size)
    try:
        checkpoint, _ = open_checkpoint(note, in_force)
    except NoteError:
        others = ({key for _, key in schedule.changes} | ({trusted_key} if trusted_key else set())) - {in_force.public_key}
        for other in others:
            try:
                open_checkpoint(note, Ed25519Verifier(schedule.origin, other))
            except NoteError:
                continue
            return (f"signed by ledger key {key_id(other)}, but this ledger says key {key_id(in_force.public_key)}"
                    f" was in force at size {claimed.size}: its key history was rewritten")
        return (f"its signature does not verify with the ledger key in force at size {claimed.size}"
                f" ({key_id(in_force.public_key)}): a forged note, or a ledger rewritten under another key")
    if checkpoint.size > size:
        return (f"signed for size {checkpoint.size}, but the ledger ends at {size}: its tail was removed"
                " (or this copy is older than the checkpoint)")
    root = roots.get(checkpoint.size)
    if root is None:
        return f"the ledger's tree cannot be rebuilt at size {checkpoint.size}"
    if root != checkpoint.root:
        return (f"its root for size {checkpoint.size} is not the root of this ledger's first {checkpoint.size}"
                " events: the ledger key signed a history this ledger does not hold (a fork, or history rewritten)")
    return None


# -- checkpoints: who must have signed them -----------------------------------


def key_schedule(reader: LedgerReader) -> LedgerKeySchedule:
    """Origin and ledger keys over time, from the chained genesis and rotations (KeyProblem if unreadable)."""
    return LedgerKeySchedule.from_events(reader.events_with_topics(LEDGER_KEY_TOPICS))


def log_verifier(schedule: LedgerKeySchedule, size: int) -> Ed25519Verifier:
    """The note key that must sign the checkpoint of `size`.

    A rotation recorded at position r takes effect for transactions after r,
    so the key in force once `size` events exist is the one for position size + 1.
    """
    return Ed25519Verifier(schedule.origin, schedule.key_for(size + 1))


def open_stored(stored: StoredCheckpoint, schedule: LedgerKeySchedule) -> Checkpoint:
    """Open a stored note with the key in force at its size; NoteError if bad."""
    checkpoint, _ = open_checkpoint(stored.note, log_verifier(schedule, stored.size))
    if checkpoint.size != stored.size:
        raise NoteError(f"stored under size {stored.size} but its body says {checkpoint.size}")
    return checkpoint


# -- witnesses: the registry (events) and their cosignatures ---------------------


def witness_verifier(vkey: str) -> CosignatureV1Verifier:
    """A witness key must be a cosignature/v1 vkey (type 0x04); NoteError if not."""
    verifier = parse_verifier_key(vkey)
    if not isinstance(verifier, CosignatureV1Verifier):
        raise NoteError("witness key must be a cosignature/v1 vkey (name+hex8+base64(0x04 || key))")
    return verifier


class RegisteredWitness(msgspec.Struct, frozen=True):
    name: str
    vkey: str
    url: str
    active: bool

    @property
    def verifier(self) -> CosignatureV1Verifier:
        return witness_verifier(self.vkey)


class _Added(msgspec.Struct):
    name: str
    vkey: str
    url: str


def registered_witnesses(reader: LedgerReader) -> list[RegisteredWitness]:
    """Every witness ever added, in order, with whether it is still active."""
    by_aggregate: dict[Any, RegisteredWitness] = {}
    for row in reader.events_with_topics(WITNESS_TOPICS):
        assert row.state is not None
        if row.topic == WITNESS_ADDED_TOPIC:
            added = msgspec.json.decode(row.state, type=_Added)
            by_aggregate[row.originator_id] = RegisteredWitness(added.name, added.vkey, added.url, True)
        elif row.topic == WITNESS_REMOVED_TOPIC and row.originator_id in by_aggregate:
            w = by_aggregate[row.originator_id]
            by_aggregate[row.originator_id] = RegisteredWitness(w.name, w.vkey, w.url, False)
    return list(by_aggregate.values())


def line_verifies(stored: StoredCheckpoint, line: str, verifier: CosignatureV1Verifier) -> bool:
    """Whether `line` is a valid cosignature of the stored checkpoint by `verifier`."""
    try:
        return bool(open_note(stored.note + line, [verifier]).verified)
    except NoteError:
        return False


def check_cosignatures(reader: LedgerReader,
                       stored: list[StoredCheckpoint]) -> tuple[list[Problem], list[tuple[int, int]]]:
    """Every stored cosignature verifies with its witness's registered key; the (size, time)
    each valid one attests: the checkpoint of that size existed at that time."""
    by_size = {cp.size: cp for cp in stored}
    witnesses = {w.name: w for w in registered_witnesses(reader)}
    problems: list[Problem] = []
    checked: list[tuple[int, int]] = []
    for c in cosignatures(reader):
        cp, w = by_size.get(c.size), witnesses.get(c.witness)
        if cp is None:
            problems.append(Problem(None, f"cosignature by {c.witness!r} for size {c.size}, which has no checkpoint"))
        elif w is None:
            problems.append(Problem(None, f"cosignature by {c.witness!r}, which is not a registered witness"))
        elif not _verifies_as(cp, c.line, w):
            problems.append(Problem(None, f"cosignature by {c.witness!r} on the checkpoint at size {c.size} does not verify"))
        else:
            checked.append((c.size, cosignature_time(c.line)))
    return problems, checked


def cosignature_time(line: str) -> int:
    """The time a valid cosignature/v1 line states (seconds since the epoch)."""
    from ledger.integrity.note import decode_cosignature, signature_line

    return decode_cosignature(signature_line(line)[2])[0]


def count_witnesses(reader: LedgerReader, required: int) -> WitnessCount:
    """How many active registered witnesses validly cosigned the latest checkpoint."""
    stored = latest_checkpoint(reader)
    if stored is None:
        return WitnessCount(required, None, 0, [], required <= 0)
    active = {w.name: w for w in registered_witnesses(reader) if w.active}
    good = sorted(c.witness for c in cosignatures(reader, stored.size)
                  if c.witness in active and _verifies_as(stored, c.line, active[c.witness]))
    return WitnessCount(required, stored.size, len(good), good, len(good) >= required)


def _verifies_as(stored: StoredCheckpoint, line: str, witness: RegisteredWitness) -> bool:
    try:
        return line_verifies(stored, line, witness.verifier)
    except NoteError:
        return False


# -- the tree ----------------------------------------------------------------------


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


def _check_tree(reader: LedgerReader, size: int, wanted: set[int],
                compare_from: int = 0) -> tuple[list[Problem], dict[int, bytes], int]:
    """Compare the stored nodes completed by leaves after `compare_from` with the tree
    rebuilt from the chain; roots at `wanted` sizes."""
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
        stored = _fetch_ranges(reader, _node_ranges(max(first, compare_from), last)) if last > compare_from else {}
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
                if count > compare_from and stored.get(key) != h and len(problems) < MAX_NODE_PROBLEMS:
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


def _check_checkpoints(reader, stored, schedule, roots: dict[int, bytes], size: int,  # type: ignore[no-untyped-def]
                       previous: Checkpoint | None = None) -> list[Problem]:
    problems: list[Problem] = []
    log = LogReader(reader)
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
