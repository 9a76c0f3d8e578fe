"""`drledger verify`: recompute the chain from the stored bytes and check
every signature, on both cores, reporting the first bad position.

Checks, in order of the chain:
- positions run 1..size with no gap, each with its stored event;
- each hash recomputes from the stored bytes (integrity/chain.py layout);
- signed transactions cover 1..size exactly, each signature verifying with
  the ledger key in force (genesis key, then each rotation);
- every transaction is re-executed (verify/reexecute.py): its command verifies
  under its actor's key in force and the rules produce exactly its events;
- no stored event lies outside the chain;
- the genesis ledger key equals the trusted key, and the expected head (if
  given) is in the chain at its size;
- with a witness requirement, the latest checkpoint carries K valid
  cosignatures of active registered witnesses;
- each saved checkpoint (if given) is signed by the ledger key in force at its
  size and its root is the chain's root at that size (verify/log_check.py).

Resuming from a verified mark (`resume`, a mirror's pull): every hash is still
recomputed from the stored bytes, and the chain must still hold the marked
head at the marked size, so the prefix is the one that was verified; but
only what follows the mark is checked: ledger signatures, re-execution (the
state is folded from the prefix's events: verify/reexecute.py), tree nodes
and checkpoints (verify/log_check.py). A prefix whose signatures, tree or
checkpoints were altered since is caught by a full verify only.

Without a trusted key the ledger key is the one the ledger names itself: the
report says so (`ledger_key_pinned`, `warnings`), since a ledger rewritten
whole under a new key would pass.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

import msgspec

from ledger.integrity.chain import GENESIS_PREV, event_hash, transaction_message
from ledger.integrity.keys import key_id, verify_signature
from ledger.store.config import StoreConfig
from ledger.store.reader import LedgerReader, TransactionRow, open_reader
from ledger.verify.reexecute import COMMAND_TOPIC, ReplayProblem, ReplayReport, reexecute
from ledger.verify.keys import (
    LEDGER_KEY_TOPICS,
    KeyProblem,
    LedgerKeySchedule,
)

CHUNK = 50_000
PARALLEL_FROM = 100_000  # below this, process start-up costs more than it saves


class Problem(msgspec.Struct, frozen=True):
    position: int | None
    what: str


class SavedCheckpoint(msgspec.Struct, frozen=True):
    """A checkpoint note someone kept (`drledger log checkpoint` output), to hold the ledger to."""

    source: str
    size: int
    note: str


class SavedCheckpointCheck(msgspec.Struct, frozen=True):
    source: str
    size: int
    ok: bool
    what: str


class WitnessCount(msgspec.Struct, frozen=True):
    """Valid cosignatures of active registered witnesses on the latest checkpoint."""

    required: int
    size: int | None  # the latest checkpoint's size (None: none published)
    found: int
    witnesses: list[str]  # who cosigned it validly
    ok: bool

    def summary(self) -> str:
        if self.size is None:
            return f"no checkpoint has been published: 0 witness cosignatures, {self.required} required"
        names = f" ({', '.join(self.witnesses)})" if self.witnesses else ""
        return (f"the latest checkpoint (size {self.size}) carries {self.found} valid cosignature(s) from active"
                f" registered witnesses{names}, {self.required} required")


class VerifyReport(msgspec.Struct, kw_only=True):
    ok: bool
    store: str
    size: int
    head: str
    transactions: int
    signatures_checked: int
    actor_signatures_checked: int
    trusted_key: str | None
    expected_head: str | None
    problems: list[Problem]
    checks: dict[str, int] = {}
    read_only: bool = False  # opened read-only (SQLite: immutable), nothing written
    ledger_key_pinned: bool = False  # False: the ledger key was taken from the ledger itself
    ledger_key_source: str = "ledger"  # or where the trusted key came from (--ledger-key, a trust.json)
    warnings: list[str] = []
    saved_checkpoints: list[SavedCheckpointCheck] = []
    witnesses: WitnessCount | None = None  # when a number of witnesses was required
    resumed_from: int = 0  # positions up to here were verified before (a mark): only what follows is checked


class ExpectedHead(msgspec.Struct, frozen=True):
    hash: bytes
    size: int | None = None

    @classmethod
    def parse(cls, text: str) -> ExpectedHead:
        """`HEX` or `SIZE:HEX` (64 hex digits).

        >>> ExpectedHead.parse("2:" + "ab" * 32).size
        2
        """
        size_text, _, hex_text = text.rpartition(":")
        try:
            digest = bytes.fromhex(hex_text)
        except ValueError:
            raise ValueError("expected head must be 64 hex digits, optionally prefixed by SIZE:") from None
        if len(digest) != 32:
            raise ValueError("expected head must be 64 hex digits (a SHA-256 hash)")
        if size_text and not size_text.isdigit():
            raise ValueError("expected head size must be a positive whole number")
        return cls(hash=digest, size=int(size_text) if size_text else None)

    def display(self) -> str:
        return f"{self.size}:{self.hash.hex()}" if self.size else self.hash.hex()


class VerifiedMark(msgspec.Struct, frozen=True):
    """What a verify checked: the chain up to `size`, whose head was `head`, and the
    checkpoints up to size `checkpoint` (0: none); a later verify may resume from it."""

    size: int
    head: bytes
    checkpoint: int = 0


class ChunkResult(msgspec.Struct):
    first: int
    last: int
    rows: int
    signatures: int
    problem: Problem | None


def verify_chunk(
    config: StoreConfig,
    first: int,
    last: int,
    transactions: list[TransactionRow],
    schedule: LedgerKeySchedule,
) -> ChunkResult:
    """Recompute hashes first..last and check the signatures that end in it."""
    signatures = rows = 0
    with open_reader(config) as reader:
        prev = GENESIS_PREV if first == 1 else reader.hash_at(first - 1)
        if prev is None:
            return ChunkResult(first, last, 0, 0, 0, Problem(first - 1, f"position {first - 1} is missing from the chain"))
        hashes: dict[int, bytes] = {}
        wanted = {tx.last_seq for tx in transactions}
        expected = first
        for row in reader.rows(first, last):
            if row.seq != expected:
                return ChunkResult(first, last, rows, signatures, Problem(expected, f"position {expected} is missing from the chain"))
            if row.state is None or row.topic is None or row.originator_id is None or row.originator_version is None:
                return ChunkResult(first, last, rows, signatures, Problem(row.seq, f"position {row.seq}: its event is missing from the store"))
            computed = event_hash(prev, row.seq, row.originator_id, row.originator_version, row.topic, row.state)
            if computed != row.hash:
                return ChunkResult(first, last, rows, signatures, Problem(row.seq, f"position {row.seq}: hash does not match the stored event (topic {row.topic}, version {row.originator_version})"))
            if row.seq in wanted:
                hashes[row.seq] = computed
            prev = computed
            rows += 1
            expected += 1
        if expected <= last:
            return ChunkResult(first, last, rows, signatures, Problem(expected, f"position {expected} is missing from the chain"))
    for tx in transactions:
        key = schedule.key_for(tx.first_seq)
        if tx.key_id != key_id(key):
            return ChunkResult(first, last, rows, signatures, Problem(tx.first_seq, f"positions {tx.first_seq}-{tx.last_seq}: signed by key {tx.key_id}, but the ledger key in force is {key_id(key)}"))
        message = transaction_message(tx.first_seq, tx.last_seq, hashes[tx.last_seq], tx.signed_at_us)
        if not verify_signature(key, tx.signature, message):
            return ChunkResult(first, last, rows, signatures, Problem(tx.first_seq, f"positions {tx.first_seq}-{tx.last_seq}: the ledger signature does not verify"))
        signatures += 1
    return ChunkResult(first, last, rows, signatures, None)


def _coverage_problems(transactions: list[TransactionRow], size: int) -> list[Problem]:
    """Signed transactions must tile 1..size exactly."""
    expected_first = 1
    for tx in transactions:
        if tx.first_seq != expected_first or tx.last_seq < tx.first_seq:
            if tx.first_seq > expected_first:
                return [Problem(expected_first, f"positions {expected_first}-{tx.first_seq - 1} are not covered by a ledger signature")]
            return [Problem(tx.first_seq, f"signed transaction {tx.first_seq}-{tx.last_seq} overlaps another or is malformed")]
        expected_first = tx.last_seq + 1
    if expected_first <= size:
        return [Problem(expected_first, f"positions {expected_first}-{size} are not covered by a ledger signature")]
    if expected_first > size + 1:
        return [Problem(size + 1, f"a signature covers positions up to {expected_first - 1} but the chain ends at {size} (tail deleted)")]
    return []


def verify_ledger(
    config: StoreConfig,
    *,
    trusted_key: bytes | None = None,
    expected: ExpectedHead | None = None,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    reexecute_commands: bool = True,
    trusted_key_source: str = "trusted key",
    checkpoints: Sequence[SavedCheckpoint] = (),
    require_witnesses: int | None = None,
    resume: VerifiedMark | None = None,
) -> VerifyReport:
    """Check the ledger; `reexecute_commands=False` checks bytes, signatures and
    the log only (the chain-only baseline of benchmarks/commands.py).
    `trusted_key_source` says where `trusted_key` came from (for the report);
    `resume` checks only what follows a verified mark (module doc)."""
    with open_reader(config) as reader:
        head = reader.head()
        size, head_hash = head if head else (0, b"")
        transactions = reader.transactions()
        problems: list[Problem] = []
        schedule = LedgerKeySchedule()
        old = format_problem(reader)
        if old is not None:
            return VerifyReport(ok=False, store=config.display, size=size, head=head_hash.hex(),
                                transactions=len(transactions), signatures_checked=0, actor_signatures_checked=0,
                                trusted_key=None, expected_head=None, problems=[old])
        try:
            schedule = LedgerKeySchedule.from_events(reader.events_with_topics(LEDGER_KEY_TOPICS))
        except KeyProblem as problem:
            problems.append(Problem(problem.position, problem.what))
        if trusted_key is not None and schedule.genesis_key and schedule.genesis_key != trusted_key:
            problems.append(Problem(1, f"genesis ledger key {key_id(schedule.genesis_key)} is not the trusted key {key_id(trusted_key)}"))
        problems += _coverage_problems(transactions, size)
        problems += [
            Problem(None, f"stored event {nid} is not in the chain (written outside the append transaction)")
            for nid in reader.unchained_events()
        ]
        if expected is not None:
            problems += _expected_head_problems(reader, expected, size)
        if resume is not None and not mark_holds(reader, resume):
            problems.append(Problem(min(resume.size, size + 1) or None,
                                    f"the copy no longer holds the chain verified up to position {resume.size}"
                                    " (cut or rewritten below it): verify the whole copy"))
    after = resume.size if resume else 0
    to_sign = [tx for tx in transactions if tx.last_seq > after]  # the ledger signatures still to check

    workers = workers or min(2, os.cpu_count() or 1)
    sizes = [cp.size for cp in checkpoints]
    replay, replay_failure, replayed = ReplayReport(), None, False
    if reexecute_commands and workers > 1 and size > 0 and not problems:
        # Two cores: the bytes (chain, signatures, tree) are checked in a second process
        # while this one re-executes the commands. Re-execution assumes intact bytes, so
        # whatever it found is set aside when the bytes are broken.
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("forkserver")) as pool:
            checked = pool.submit(_check_bytes, config, size, to_sign, schedule, sizes, resume)
            replay, replay_failure = _replay(config, size, on_progress, after)
            replayed = True
            try:
                results, log = checked.result()
            except BrokenProcessPool:  # a second process cannot start here: check the bytes in this one
                results, log = _check_bytes(config, size, to_sign, schedule, sizes, resume)
    else:
        results = _run_chunks(config, size, to_sign, schedule, workers, on_progress)
        log = _check_log(config, sizes, resume)
    problems += [r.problem for r in results if r.problem is not None]
    problems += log.problems
    from ledger.verify.log_check import count_witnesses, saved_checkpoint_problem  # lazy: log_check imports this module

    saved = []
    for cp in checkpoints:
        why = saved_checkpoint_problem(cp.note, schedule, log.roots, size, trusted_key)
        if why is not None:
            problems.append(Problem(None, f"checkpoint {cp.source}: {why}"))
        saved.append(SavedCheckpointCheck(cp.source, cp.size, why is None,
                                          why or f"size {cp.size} is in the ledger: same root, signed by its ledger key"))
    witnesses = None
    if require_witnesses is not None:
        with open_reader(config) as reader:
            witnesses = count_witnesses(reader, require_witnesses)
        if not witnesses.ok:
            problems.append(Problem(None, f"not witnessed: {witnesses.summary()}"))
    if problems:
        replay = ReplayReport()  # re-execution assumes the bytes are intact
    elif reexecute_commands:
        if not replayed:
            replay, replay_failure = _replay(config, size, on_progress, after)
        if isinstance(replay_failure, ReplayProblem):
            problems.append(Problem(replay_failure.position, replay_failure.what))
        elif replay_failure is not None:
            raise replay_failure
    problems.sort(key=lambda p: (p.position is None, p.position or 0))
    timing = draw_timing(config, log.witnessed) if not problems else {}
    warnings = [] if trusted_key is not None else [unpinned_warning(schedule.genesis_key)]
    warnings += local_beacon_warnings(config)
    return VerifyReport(
        ok=not problems,
        store=config.display,
        size=size,
        head=head_hash.hex(),
        transactions=len(transactions),
        signatures_checked=sum(r.signatures for r in results),
        actor_signatures_checked=sum(replay.commands.values()) + replay.refusals,
        resumed_from=after,
        trusted_key=key_id(trusted_key) if trusted_key else None,
        expected_head=expected.display() if expected else None,
        problems=problems,
        read_only=config.read_only,
        ledger_key_pinned=trusted_key is not None,
        ledger_key_source=trusted_key_source if trusted_key is not None else "ledger",
        warnings=warnings,
        saved_checkpoints=saved,
        witnesses=witnesses,
        checks={"checkpoints": log.checkpoints, "cosignatures": log.cosignatures, "tree_nodes": log.tree_nodes,
                "commands_reexecuted": sum(replay.commands.values()), "refusals_rechecked": replay.refusals,
                "draws_replayed": replay.commands["draw.run"], "draw_commitments": replay.commands["draw.commit"],
                "draw_voids": replay.commands["draw.void"], "abandoned_commitments": replay.abandoned, **timing},
    )


def mark_holds(reader: LedgerReader, mark: VerifiedMark) -> bool:
    """Whether the store's chain still has the marked head at the marked size."""
    return mark.size == 0 or reader.hash_at(mark.size) == mark.head


def _check_log(config: StoreConfig, sizes: Sequence[int], resume: VerifiedMark | None = None) -> Any:
    from ledger.verify.log_check import check_log  # lazy: log_check imports this module

    return check_log(config, sizes, resume)  # the stored tree, every checkpoint and cosignature


def _check_bytes(config: StoreConfig, size: int, transactions: list[TransactionRow], schedule: LedgerKeySchedule,
                 sizes: Sequence[int], resume: VerifiedMark | None) -> tuple[list[ChunkResult], Any]:
    """Chain, ledger signatures and the log, in one process (beside the re-execution)."""
    return _run_chunks(config, size, transactions, schedule, 1, None), _check_log(config, sizes, resume)


def _replay(config: StoreConfig, size: int, on_progress: Callable[[int, int], None] | None,
            check_from: int = 0) -> tuple[ReplayReport, Exception | None]:
    """Re-execute every command (after `check_from`): the report, and the first problem (or crash) met."""
    progress = (lambda done: on_progress(done, size)) if on_progress else None
    with open_reader(config) as reader:
        try:
            return reexecute(reader, progress, check_from), None
        except Exception as failure:  # noqa: BLE001 - judged by the caller, once the bytes are checked
            return ReplayReport(), failure


def draw_timing(config: StoreConfig, witnessed: list[tuple[int, int]]) -> dict[str, int]:
    """How many commitments a witness saw before their first named round was published (a
    cosignature, timed before it, on a checkpoint that includes the commitment), and how many
    have only the operator's recorded time to show they came first."""
    from ledger.verify.draws import TASK_COMMITTED, RecordedCommitment

    with open_reader(config) as reader:
        rows = reader.events_with_topics([TASK_COMMITTED])
    in_time = 0
    for row in rows:
        committed = msgspec.json.decode(row.state or b"", type=RecordedCommitment)
        first_round = min(b.published_at for b in committed.beacons)
        if any(size >= row.seq and at < first_round for size, at in witnessed):
            in_time += 1
    return {"commitments_witnessed_in_time": in_time, "commitments_operator_timed": len(rows) - in_time}


def local_beacon_warnings(config: StoreConfig) -> list[str]:
    """A loud line for every local test beacon the genesis pins: its holder knows every round."""
    from ledger.beacon.network import LOCAL_BEACON_ID
    from ledger.verify.draws import BEACON_PINNED, GENESIS, DrawState

    state = DrawState()
    with open_reader(config) as reader:
        for row in reader.events_with_topics([GENESIS, BEACON_PINNED]):
            state.apply(row)
    pinned = state.beacons
    return [f"the genesis pins the beacon network {LOCAL_BEACON_ID!r}: a LOCAL TEST beacon whose holder knows every"
            " round in advance, so this ledger's draws prove nothing to outsiders (demo and tests only)"
            for beacon_id in pinned if beacon_id == LOCAL_BEACON_ID]


def unpinned_warning(genesis_key: bytes) -> str:
    named = f" ({key_id(genesis_key)})" if genesis_key else ""
    return (f"no trusted ledger key is pinned: the ledger key{named} was taken from the ledger itself, so a ledger"
            " rewritten whole under a new key would pass too; pin it with --ledger-key BASE64 or HOME/trust.json"
            " (docs/auditors.md)")


def format_problem(reader: LedgerReader) -> Problem | None:
    """A ledger of an older format is refused with a clear message, never half-checked."""
    first = next(iter(reader.rows(1, 1)), None)
    if first is None or first.topic == COMMAND_TOPIC:
        return None
    return Problem(1, f"this ledger starts with {first.topic!r}: it was written in an older format (1), which this"
                      f" drledger does not verify; a format-2 ledger opens with its genesis command ({COMMAND_TOPIC})")


def _expected_head_problems(reader: LedgerReader, expected: ExpectedHead, size: int) -> list[Problem]:
    if expected.size is not None:
        if expected.size > size:
            return [Problem(size + 1, f"the ledger has {size} events, fewer than the expected {expected.size}: its tail was removed")]
        if reader.hash_at(expected.size) != expected.hash:
            return [Problem(expected.size, f"position {expected.size}: hash differs from the expected head (history rewritten)")]
        return []
    found = reader._one(f"SELECT seq FROM {reader.chain} WHERE hash = ?", (expected.hash,))
    if found is None:
        return [Problem(None, "the expected head is not in the chain: the ledger was truncated or rewritten")]
    return []


def _run_chunks(
    config: StoreConfig,
    size: int,
    transactions: list[TransactionRow],
    schedule: LedgerKeySchedule,
    workers: int | None,
    on_progress: Callable[[int, int], None] | None,
) -> list[ChunkResult]:
    if size == 0:
        return []
    bounds = [(first, min(size, first + CHUNK - 1)) for first in range(1, size + 1, CHUNK)]
    by_chunk: dict[int, list[TransactionRow]] = {first: [] for first, _ in bounds}
    for tx in transactions:
        if 1 <= tx.last_seq <= size:
            by_chunk[((tx.last_seq - 1) // CHUNK) * CHUNK + 1].append(tx)
    args = [(config, first, last, by_chunk[first], schedule) for first, last in bounds]
    workers = workers or min(2, os.cpu_count() or 1)
    results: list[ChunkResult] = []
    done = 0
    if workers <= 1 or size < PARALLEL_FROM:
        for arg in args:
            results.append(verify_chunk(*arg))
            done += results[-1].last - results[-1].first + 1
            if on_progress:
                on_progress(done, size)
        return results
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("forkserver")) as pool:
        futures = [pool.submit(verify_chunk, *arg) for arg in args]
        for future in as_completed(futures):
            results.append(future.result())
            done += results[-1].last - results[-1].first + 1
            if on_progress:
                on_progress(done, size)
    return sorted(results, key=lambda r: r.first)
