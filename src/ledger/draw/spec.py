"""A draw, "v1": from its recorded inputs to its targets and teams. Pure.

The write path (`drledger draw run`), the replay (`draw replay`, `verify`)
and the standalone verifier (docs/verify_draw.py, stdlib only) all compute
the same function; docs/draw-spec.md states it byte by byte.

1. Pool roots. Per risk class k, the eligible IDs sorted by UTF-8 bytes;
   root_k = RFC 9162 root with leaf = UTF-8 ID. The pool root is the
   RFC 9162 root over the four leaves "A:<root_A hex>" .. "D:<root_D hex>",
   so it binds each firm to its class as well as to the pool.
2. Seed = SHA-256 hex of "drledger/draw-seed/v1\\n" + task_id + "\\n" +
   secret hex + "\\n" + beacon + "\\n" + pool root hex (UTF-8).
   The secret must hash (SHA-256) to the recorded commitment.
3. Targets. For each class k in A, B, C, D: n_k = ceil(ratio_k x N_k)
   (exact decimal arithmetic) or count_k, at most N_k; the targets are
   the first n_k IDs of Rivest's sampler over that class's IDs with the seed.
4. Teams. Targets in order (class A..D, each in draw order). For each,
   inspectors eligible at the pool position (active, enforcement, in one of
   the task's departments, qualified for one of the task's items (item code)
   or for a whole department (department code), no declared conflict with
   the target, fewer than `load_cap` assignments so far in this draw) are
   ranked by the sampler with seed + ",inspectors," + target; walking that
   order, an inspector joins if it brings a department still missing, or if
   the free places left exceed the departments still missing, until the team
   has max(inspectors_per_target, number of departments) members. Experts
   (role expert, active, no conflict) are ranked with seed + ",experts," +
   target and the first `experts_per_target` join, in addition.
"""

from __future__ import annotations

import hashlib
import re
from fractions import Fraction
from math import ceil

import msgspec

from ledger.draw.sampler import sample
from ledger.integrity.merkle import leaf_hash, root_from_leaf_hashes

VERSION = "v1"
SECRET_FORM = re.compile(r"[0-9a-f]{64}")
RATIO_FORM = re.compile(r"(0|1)(\.[0-9]+)?")
RISK_CLASSES = ("A", "B", "C", "D")
SEED_TAG = "drledger/draw-seed/v1"


class DrawImpossible(ValueError):
    """The constraints cannot be met; the message says exactly where."""


class Quota(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Either a ratio (plain decimal string "0.03", 0 < r <= 1) or a fixed count of targets."""

    ratio: str | None = None
    count: int | None = None


class ItemRef(msgspec.Struct, frozen=True):
    code: str
    department: str


class Candidate(msgspec.Struct, frozen=True):
    badge: str
    department: str
    role: str
    status: str
    qualifications: tuple[str, ...]


class DrawInputs(msgspec.Struct, frozen=True, kw_only=True):
    version: str = VERSION
    task_id: str
    commitment: str  # SHA-256 hex of the secret, recorded before the draw
    secret: str  # hex, revealed by the draw
    beacon: str  # public randomness named in advance, or ""
    position: int  # ledger position the pool and the inspectors were read at
    departments: tuple[str, ...]  # lead first, then participants
    items: tuple[ItemRef, ...]
    quotas: dict[str, Quota]
    inspectors_per_target: int
    experts_per_target: int
    load_cap: int | None
    pool: dict[str, list[str]]  # class -> eligible IDs (any order; sorted here)
    excluded: list[str]  # recently inspected, left out of the pool
    inspectors: list[Candidate]
    conflicts: list[tuple[str, str]]  # (badge, uscc)


class Team(msgspec.Struct, frozen=True):
    target: str
    inspectors: list[str]
    experts: list[str]


class DrawOutcome(msgspec.Struct, frozen=True, kw_only=True):
    pool_roots: dict[str, str]
    pool_root: str
    counts: dict[str, int]
    seed: str
    targets: dict[str, list[str]]
    teams: list[Team]


def sorted_ids(ids: list[str]) -> list[str]:
    return sorted(ids, key=str.encode)


def stratum_root(ids_sorted: list[str]) -> bytes:
    return root_from_leaf_hashes([leaf_hash(i.encode()) for i in ids_sorted])


def combined_root(roots: dict[str, str]) -> str:
    return root_from_leaf_hashes([leaf_hash(f"{k}:{roots[k]}".encode()) for k in RISK_CLASSES]).hex()


def inputs_digest(inputs: DrawInputs) -> str:
    """SHA-256 hex of the canonical inputs without the secret (the drawer signs it).

    Pools are sorted by UTF-8 bytes first, so the digest does not depend on
    the order the pool was read in.
    """
    from ledger.integrity.canonical import canonical_bytes

    data = msgspec.to_builtins(inputs)
    data["pool"] = {k: sorted_ids(list(v)) for k, v in inputs.pool.items()}
    del data["secret"]
    return hashlib.sha256(canonical_bytes(data)).hexdigest()


def commitment_of(secret_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(secret_hex)).hexdigest()


def derive_seed(task_id: str, secret_hex: str, beacon: str, pool_root_hex: str) -> str:
    """The draw seed (step 2).

    >>> derive_seed("T1", "00" * 32, "", "ab" * 32)[:16]
    '3a013367535214bb'
    """
    text = "\n".join((SEED_TAG, task_id, secret_hex, beacon, pool_root_hex))
    return hashlib.sha256(text.encode()).hexdigest()


def target_count(quota: Quota, available: int) -> int:
    """n_k: ceil(ratio x N) in exact decimal arithmetic, or the count; at most N.

    >>> target_count(Quota(ratio="0.03"), 100), target_count(Quota(ratio="0.03"), 101)
    (3, 4)
    """
    if quota.count is not None:
        return min(quota.count, available)
    assert quota.ratio is not None
    return min(ceil(Fraction(quota.ratio) * available), available)


def check_inputs(inputs: DrawInputs) -> None:
    """Refuse malformed inputs with a precise reason (before any work)."""
    if inputs.version != VERSION:
        raise DrawImpossible(f"draw version {inputs.version!r} is not {VERSION!r}")
    for name in ("task_id", "beacon"):
        if "\n" in getattr(inputs, name):
            raise DrawImpossible(f"{name} must not contain a newline")
    # One text per secret: the seed hashes the text, the commitment the bytes.
    if not SECRET_FORM.fullmatch(inputs.secret):
        raise DrawImpossible("the secret must be exactly 64 lowercase hex digits")
    if commitment_of(inputs.secret) != inputs.commitment:
        raise DrawImpossible("the secret does not match the commitment recorded before the draw")
    if inputs.inspectors_per_target < 2:
        raise DrawImpossible("at least two enforcement officers per target (inspectors_per_target >= 2)")
    unknown = set(inputs.quotas) - set(RISK_CLASSES) or set(inputs.pool) - set(RISK_CLASSES)
    if unknown:
        raise DrawImpossible(f"unknown risk class(es) {', '.join(sorted(unknown))}")
    for risk_class, quota in inputs.quotas.items():
        if (quota.ratio is None) == (quota.count is None):
            raise DrawImpossible(f"class {risk_class}: give either a ratio or a count")
        if quota.count is not None and quota.count < 0:
            raise DrawImpossible(f"class {risk_class}: count must be >= 0")
        if quota.ratio is not None:
            if not RATIO_FORM.fullmatch(quota.ratio):
                raise DrawImpossible(f"class {risk_class}: ratio {quota.ratio!r} must be a plain decimal such as 0.03")
            if not 0 < Fraction(quota.ratio) <= 1:
                raise DrawImpossible(f"class {risk_class}: ratio must be between 0 and 1 (above 0)")


def _qualified(candidate: Candidate, item_codes: set[str], item_departments: set[str]) -> bool:
    return any(q in item_codes or q in item_departments for q in candidate.qualifications)


def _team(
    target: str, seed: str, officers: list[str], departments_of: dict[str, str], needed: tuple[str, ...],
    size: int, task_departments: tuple[str, ...],
) -> list[str]:
    ranking = sample(seed + ",inspectors," + target, officers) if officers else []
    missing = list(dict.fromkeys(needed))
    team: list[str] = []
    for badge in ranking:
        if len(team) == size:
            break
        department = departments_of[badge]
        if department in missing:
            missing.remove(department)
            team.append(badge)
        elif size - len(team) > len(missing):
            team.append(badge)
    if len(team) < size or missing:
        raise DrawImpossible(_shortfall(target, ranking, departments_of, needed or task_departments, size))
    return team


def _shortfall(target: str, ranking: list[str], departments_of: dict[str, str], needed: tuple[str, ...],
               size: int) -> str:
    per_department = {d: sum(1 for b in ranking if departments_of[b] == d) for d in needed}
    lacking = [d for d, n in per_department.items() if n == 0]
    if lacking and len(needed) > 1:
        return f"target {target}: no qualified inspector without a conflict in department {', '.join(lacking)}"
    return (
        f"target {target}: only {len(ranking)} qualified inspector(s) without a conflict and under the load cap"
        f" in department(s) {', '.join(needed)}; {size} needed"
    )


def compute(inputs: DrawInputs) -> DrawOutcome:
    """Targets and teams for `inputs` (module docstring); DrawImpossible if none exist."""
    check_inputs(inputs)
    pool = {k: sorted_ids(list(inputs.pool.get(k, []))) for k in RISK_CLASSES}
    roots = {k: stratum_root(pool[k]).hex() for k in RISK_CLASSES}
    pool_root = combined_root(roots)
    seed = derive_seed(inputs.task_id, inputs.secret, inputs.beacon, pool_root)
    targets: dict[str, list[str]] = {}
    for k in RISK_CLASSES:
        quota = inputs.quotas.get(k)
        n = target_count(quota, len(pool[k])) if quota else 0
        targets[k] = sample(seed, pool[k], n=n) if n else []

    item_codes = {item.code for item in inputs.items}
    item_departments = {item.department for item in inputs.items}
    conflicts = set(inputs.conflicts)
    in_task = set(inputs.departments)
    departments_of = {c.badge: c.department for c in inputs.inspectors}
    officers = [
        c.badge for c in inputs.inspectors
        if c.status == "active" and c.role == "enforcement" and c.department in in_task
        and _qualified(c, item_codes, item_departments)
    ]
    experts = [c.badge for c in inputs.inspectors if c.status == "active" and c.role == "expert"]
    size = max(inputs.inspectors_per_target, len(inputs.departments))
    needed = inputs.departments if len(inputs.departments) > 1 else ()
    load: dict[str, int] = {}
    teams: list[Team] = []
    for k in RISK_CLASSES:
        for target in targets[k]:
            free = [
                b for b in officers
                if (b, target) not in conflicts and (inputs.load_cap is None or load.get(b, 0) < inputs.load_cap)
            ]
            team = _team(target, seed, free, departments_of, needed, size, inputs.departments)
            chosen_experts: list[str] = []
            if inputs.experts_per_target:
                available = [b for b in experts if (b, target) not in conflicts]
                if len(available) < inputs.experts_per_target:
                    raise DrawImpossible(
                        f"target {target}: only {len(available)} expert(s) without a conflict; {inputs.experts_per_target} needed"
                    )
                chosen_experts = sample(seed + ",experts," + target, available, n=inputs.experts_per_target)
            for badge in team:
                load[badge] = load.get(badge, 0) + 1
            teams.append(Team(target=target, inspectors=team, experts=chosen_experts))
    return DrawOutcome(
        pool_roots=roots,
        pool_root=pool_root,
        counts={k: len(pool[k]) for k in RISK_CLASSES},
        seed=seed,
        targets=targets,
        teams=teams,
    )
