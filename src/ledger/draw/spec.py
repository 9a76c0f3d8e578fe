"""A draw, "v2": from its frozen inputs and a public beacon to its targets and teams. Pure.

The write path (`drledger draw run`), the replay (`draw replay`, `verify`)
and the standalone verifier (docs/verify_draw.py) all compute the same
function; docs/draw-spec.md states it byte by byte.

0. Frozen inputs. The inputs (pool, inspectors, conflicts, caps) are read at
   the commitment's ledger position and their digest (step 6b) is recorded
   with the commitment, together with the beacon round(s) named in advance.
   Nothing the drawer holds enters the draw: once the named rounds are
   published, anyone can compute the outcome.
1. Pool roots. Each firm enters as its salted commitment
   c = SHA-256("drledger/pool-commitment/v1\n" || salt || UTF-8 uscc), with
   salt = HMAC-SHA256(salt key, UTF-8 uscc) and the salt key 32 random bytes
   the write path makes at the commitment (frozen with the inputs). Per risk
   class k, the commitments sorted (hex); root_k = RFC 9162 root with leaf =
   the commitment's hex. The pool root is the RFC 9162 root over the four
   leaves "A:<root_A hex>" .. "D:<root_D hex>", so it binds each firm to its
   class as well as to the pool, and a public bundle need name no undrawn firm.
2. Seed = SHA-256 hex of the UTF-8 text "drledger/draw-seed/v2\n" + task_id
   + "\n" + inputs digest hex (over the public form: firms by commitment), then for each beacon in the committed order
   "\n" + chain hash hex + ":" + round + ":" + randomness hex.
3. Targets. For each class k in A, B, C, D: n_k = ceil(ratio_k x N_k)
   (exact decimal arithmetic) or count_k, at most N_k; the targets are
   firms of the first n_k commitments of Rivest's sampler over that class's
   commitments (hex) with the seed.
4. Teams. Targets in order (class A..D, each in draw order). For each,
   officers eligible at the commitment (active, enforcement, in one of the
   task's departments, qualified for one of the task's items (item code) or
   for a whole department (department code), holding an enforcement
   certificate (执法证) valid through the task's `window_end`, their record in
   force since at least `cooling_off_days` before the commitment, no declared conflict with
   the target, fewer than `load_cap` assignments so far in this draw) are
   ranked by the sampler with seed + ",inspectors," + target; walking that
   order, an officer joins if it brings a department still missing, or if
   the free places left exceed the departments still missing, until the team
   has max(inspectors_per_target, number of departments) members. The team
   keeps the ranking order, and its first officer is the team leader (组长).
   Experts (role expert, active, cooled off, no conflict) are ranked with
   seed + ",experts," + target and the first `experts_per_target` join, in
   addition.

After the draw, without a redraw (each a signed command; `verify` re-executes it):

7. Substitution (替换): an officer who recuses (回避, signed by the officer) or is
   replaced with a reviewer's approval leaves the team; the next officer of the
   same ranking (step 4, the load cap counting the current teams) who is not in
   the team and never left this target's team, of the same department in a
   joint task, takes the place (at the same index: a replaced leader's
   successor leads). At most one in ten targets (at least one) per draw.
8. 补抽: more targets of one class are the next firms of that class's sampler
   order after those drawn (the frozen pool, the same seed), with teams drawn
   as in step 4, the load cap counting every team of the task.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
import weakref
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from math import ceil
from typing import Any, overload

import msgspec

from ledger.draw.sampler import encode_distinct, first_band_limit, rank, sample, sample_utf8, seed_prefix
from ledger.integrity.merkle import leaf_hash, root_from_leaf_hashes

VERSION = "v2"
HEX64 = re.compile(r"[0-9a-f]{64}")
RATIO_FORM = re.compile(r"(0|1)(\.[0-9]+)?")
DATE_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
RISK_CLASSES = ("A", "B", "C", "D")
SEED_TAG = "drledger/draw-seed/v2"
COMMITMENT_TAG = b"drledger/pool-commitment/v1\n"
SALT_KEY_TAG = b"drledger/salt-key/v1\n"


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
    since: str  # RFC 3339 time of the event that put this record in force (the cooling-off counts from it)
    certificate_no: str | None = None  # 执法证 number; an enforcement officer without one is not drawn
    certificate_valid_until: str | None = None  # YYYY-MM-DD, the certificate's last valid day


class BeaconOutput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One verified round of a public beacon, as it enters the seed."""

    network: str  # beacon ID (informational)
    chain_hash: str  # hex: which network (drand chain hash)
    round: int
    randomness: str  # hex: SHA-256 of the round's signature


class DrawInputs(msgspec.Struct, frozen=True, kw_only=True, weakref=True):
    version: str = VERSION
    task_id: str
    position: int  # the commitment's ledger position: pool, inspectors and conflicts as of here
    committed_at: str  # RFC 3339 recorded time of the commitment
    cooling_off_days: int  # an inspector record younger than this at the commitment is not drawn
    window_end: str  # YYYY-MM-DD, the task's last inspection day: an officer's certificate must be valid through it
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
    salt_key: str  # 64 hex: 32 random bytes made at the commitment; each firm's salt is HMAC-SHA256(key, uscc)
    # The risk-class set in force at the commitment, low to high risk (settings.draws). The digest
    # covers it only when it differs from the national default A-D (so A-D draws keep their form).
    classes: tuple[str, ...] = RISK_CLASSES


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


def class_pool(classes: tuple[str, ...], found: dict[str, list[str]]) -> dict[str, list[str]]:
    """The pool as the inputs carry it: every class of the set (in order), then any other class
    that has firms (which `check_inputs` refuses, naming it). The write path and verify both
    build it so, whatever order their sources list the classes in.

    >>> class_pool(("A", "B"), {"B": ["x"], "C": [], "E": ["y"]})
    {'A': [], 'B': ['x'], 'E': ['y']}
    """
    pool = {k: list(found.get(k, [])) for k in classes}
    pool.update({k: list(v) for k, v in sorted(found.items()) if v and k not in pool})
    return pool


def sorted_ids(ids: list[str]) -> list[str]:
    return sorted(ids, key=str.encode)


def firm_salt(salt_key: str, uscc: str) -> bytes:
    """A firm's salt: HMAC-SHA256(salt key, UTF-8 uscc), 32 bytes."""
    return hmac.digest(bytes.fromhex(salt_key), uscc.encode(), "sha256")


def firm_commitment(salt: bytes, uscc: str) -> str:
    """hex SHA-256("drledger/pool-commitment/v1\\n" || salt || UTF-8 uscc): the firm as the pool shows it.

    >>> firm_commitment(bytes(32), "91360502E1NYPH5A4X")[:16]
    '7dbb43668effeee5'
    """
    return hashlib.sha256(COMMITMENT_TAG + salt + uscc.encode()).hexdigest()


def commitment_for(salt_key: str, uscc: str) -> str:
    return firm_commitment(firm_salt(salt_key, uscc), uscc)


def salt_key_digest(salt_key: str) -> str:
    """hex SHA-256("drledger/salt-key/v1\\n" || salt key): what the digest and a public bundle show of it."""
    return hashlib.sha256(SALT_KEY_TAG + bytes.fromhex(salt_key)).hexdigest()


class CommittedClass(Sequence[bytes]):
    """One class of the committed pool, compactly: its commitments' lowercase hex sorted (= by
    their bytes), 64 ASCII bytes each end to end, and each one's firm (USCC) in the same order.
    1M firms take 64 MB here, not a million Python strings. As a sequence: the UTF-8 commitments,
    which is what the sampler and the tree read."""

    __slots__ = ("hexes", "firms")

    def __init__(self, hexes: bytes, firms: list[str]) -> None:
        self.hexes, self.firms = hexes, firms

    def __len__(self) -> int:
        return len(self.firms)

    @overload
    def __getitem__(self, index: int) -> bytes: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        at = 64 * (index % len(self))
        return self.hexes[at:at + 64]

    def __iter__(self) -> Iterator[bytes]:
        view = self.hexes
        return (view[at:at + 64] for at in range(0, len(view), 64))

    def commitments(self) -> list[str]:
        """The commitments (hex), sorted."""
        return [c.decode() for c in self]

    def root(self) -> bytes:
        """root_k: the RFC 9162 root with leaf = the commitment's hex (streamed: O(log n) memory)."""
        return root_from_leaf_hashes(map(leaf_hash, self))

    def json(self) -> Iterator[bytes]:
        """The canonical JSON of the list of commitments (hex), in pieces: `["c1","c2",...]`."""
        import numpy as np  # here: the CLI's other commands start without it

        yield b"["
        for start in range(0, len(self), _JSON_CHUNK):
            block = np.frombuffer(self.hexes, dtype=np.uint8, offset=64 * start,
                                  count=64 * min(_JSON_CHUNK, len(self) - start)).reshape(-1, 64)
            quoted = np.empty((len(block), 67), dtype=np.uint8)
            quoted[:, 0] = quoted[:, 65] = ord('"')
            quoted[:, 1:65] = block
            quoted[:, 66] = ord(",")
            text = quoted.tobytes()
            yield text if start + _JSON_CHUNK < len(self) else text[:-1]  # no comma after the last
        yield b"]"


_JSON_CHUNK = 1 << 16


def commit_class(salt_key: str, firms: Iterable[str]) -> CommittedClass:
    """The firms of one class by their commitments, sorted; a firm listed twice counts once.

    Each salt is HMAC-SHA256 (RFC 2104) from the key's inner and outer blocks hashed once:
    per firm two copied hash states, where OpenSSL's one-shot HMAC sets up a whole context
    (half the time for 1M firms). `firm_salt` is the plain form; tests hold them equal.

    >>> commit_class("ab" * 32, ["91360502E1NYPH5A4X"]).commitments() == [commitment_for("ab" * 32, "91360502E1NYPH5A4X")]
    True
    """
    import numpy as np  # here: the CLI's other commands start without it

    sha, block = hashlib.sha256, bytes.fromhex(salt_key).ljust(64, b"\0")
    inner, outer = sha(bytes(b ^ 0x36 for b in block)).copy, sha(bytes(b ^ 0x5C for b in block)).copy
    listed = list(firms)
    digests = bytearray()
    for uscc in listed:
        data = uscc.encode()
        salting = inner()
        salting.update(data)
        salted = outer()
        salted.update(salting.digest())
        digests += sha(COMMITMENT_TAG + salted.digest() + data).digest()
    words = np.frombuffer(digests, dtype=">u8").reshape(-1, 4)
    order = np.lexsort(words.T[::-1])  # by the 32 bytes, most significant word first
    ranked = words[order]
    distinct = np.ones(len(order), dtype=bool)
    distinct[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
    if not distinct.all():
        order, ranked = order[distinct], ranked[distinct]
    return CommittedClass(binascii.hexlify(ranked.tobytes()), [listed[i] for i in order.tolist()])


class _Derived:
    """What a draw derives from one `DrawInputs` object more than once (the committed pool, the
    inputs digest, the pool summary): computed once, kept exactly as long as that object."""

    __slots__ = ("committed", "digest", "summary")

    def __init__(self) -> None:
        self.committed: dict[str, CommittedClass] | None = None
        self.digest: str | None = None
        self.summary: PoolSummary | None = None


_DERIVED: dict[int, _Derived] = {}


def _derived(inputs: DrawInputs) -> _Derived:
    # Keyed by the object: DrawInputs is frozen and its pool is never changed after it is built.
    key = id(inputs)
    found = _DERIVED.get(key)
    if found is None:
        found = _DERIVED[key] = _Derived()
        weakref.finalize(inputs, _DERIVED.pop, key, None)
    return found


def committed_pool(inputs: DrawInputs) -> dict[str, CommittedClass]:
    """class -> its firms by commitment, the commitments in order of their bytes (= their hex)."""
    derived = _derived(inputs)
    if derived.committed is None:
        derived.committed = {k: commit_class(inputs.salt_key, inputs.pool.get(k, [])) for k in inputs.classes}
    return derived.committed


def _public_fields(inputs: DrawInputs) -> dict:
    """The public form of everything but the pool (public_inputs)."""
    data = msgspec.to_builtins(msgspec.structs.replace(inputs, pool={}))
    key = inputs.salt_key
    del data["salt_key"]
    data["salt_key_digest"] = salt_key_digest(key)
    if tuple(inputs.classes) == RISK_CLASSES:
        del data["classes"]
    data["excluded"] = sorted(commitment_for(key, u) for u in inputs.excluded)
    data["conflicts"] = sorted([b, commitment_for(key, u)] for b, u in inputs.conflicts)
    return data


def _stray_class(inputs: DrawInputs, firms: list[str]) -> list[str]:
    """A class outside the set (check_inputs refuses it) still enters the digest, by commitment."""
    return sorted(commitment_for(inputs.salt_key, u) for u in firms)


def public_inputs(inputs: DrawInputs) -> dict:
    """The inputs as their digest covers them (docs/draw-spec.md §6b) and a public bundle shows
    them: every USCC (pool, excluded, conflicts) replaced by its commitment, each list sorted,
    and the salt key by its digest."""
    data = _public_fields(inputs)
    committed = committed_pool(inputs)
    data["pool"] = {k: committed[k].commitments() if k in committed else _stray_class(inputs, v)
                    for k, v in inputs.pool.items()}
    return data


def combined_root(roots: dict[str, str], classes: tuple[str, ...] = RISK_CLASSES) -> str:
    """The RFC 9162 root over the leaves "<class>:<root hex>", classes in the set's order."""
    return root_from_leaf_hashes([leaf_hash(f"{k}:{roots[k]}".encode()) for k in classes]).hex()


def inputs_digest(inputs: DrawInputs) -> str:
    """SHA-256 hex of the canonical public inputs (recorded with the commitment): the salt key's
    digest, and the firms by their commitments, so a public bundle can recompute it.

    The bytes hashed are exactly `canonical_bytes(public_inputs(inputs))`, but each class's list
    of commitments is hashed as it is written out (CommittedClass.json) rather than built as a
    list of strings: the canonical text of the rest holds a marker in its place (a NUL byte,
    which canonical JSON never contains, escaping it inside strings)."""
    from ledger.integrity.canonical import canonical_bytes

    derived = _derived(inputs)
    if derived.digest is None:
        data = _public_fields(inputs)
        committed = committed_pool(inputs)
        listed = [k for k in inputs.pool if k in committed]
        data["pool"] = {k: msgspec.Raw(b"\0%d\0" % listed.index(k)) if k in committed else _stray_class(inputs, v)
                        for k, v in inputs.pool.items()}
        text = canonical_bytes(data).split(b"\0")
        digest = hashlib.sha256(text[0])
        for marker, after in zip(text[1::2], text[2::2]):
            for piece in committed[listed[int(marker)]].json():
                digest.update(piece)
            digest.update(after)
        derived.digest = digest.hexdigest()
    return derived.digest


def derive_seed(task_id: str, digest: str, beacons: list[BeaconOutput] | tuple[BeaconOutput, ...]) -> str:
    """The draw seed (step 2).

    >>> b = BeaconOutput(network="n", chain_hash="cd" * 32, round=7, randomness="ef" * 32)
    >>> derive_seed("T1", "ab" * 32, [b])[:16]
    'c1925ebb824fa0ae'
    """
    lines = [SEED_TAG, task_id, digest, *(f"{b.chain_hash}:{b.round}:{b.randomness}" for b in beacons)]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def cooled_off(candidate: Candidate, committed_at: str, days: int) -> bool:
    """True if the candidate's record was in force `days` before the commitment.

    >>> c = Candidate("B1", "D", "enforcement", "active", (), "2026-01-01T00:00:00.000000Z")
    >>> cooled_off(c, "2026-01-08T00:00:00.000000Z", 7), cooled_off(c, "2026-01-07T23:59:59.999999Z", 7)
    (True, False)
    """
    return datetime.fromisoformat(candidate.since) <= datetime.fromisoformat(committed_at) - timedelta(days=days)


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
    if "\n" in inputs.task_id:
        raise DrawImpossible("task_id must not contain a newline")
    if not DATE_FORM.fullmatch(inputs.window_end):
        raise DrawImpossible(f"window_end {inputs.window_end!r} is not a date YYYY-MM-DD")
    if not HEX64.fullmatch(inputs.salt_key):
        raise DrawImpossible("the salt key must be 64 lowercase hex digits (32 bytes)")
    if inputs.cooling_off_days < 0:
        raise DrawImpossible("cooling_off_days must be >= 0")
    if inputs.inspectors_per_target < 2:
        raise DrawImpossible("at least two enforcement officers per target (inspectors_per_target >= 2)")
    if not inputs.classes or len(set(inputs.classes)) != len(inputs.classes):
        raise DrawImpossible("the risk-class set must name distinct classes")
    unknown = set(inputs.quotas) - set(inputs.classes)
    if unknown:
        raise DrawImpossible(f"unknown risk class(es) {', '.join(sorted(unknown))}: not in the class set in"
                             f" force ({', '.join(inputs.classes)})")
    stray = sorted(k for k, ids in inputs.pool.items() if ids and k not in inputs.classes)
    if stray:
        raise DrawImpossible(f"the pool has firms of class(es) {', '.join(stray)}, not in the class set in force"
                             f" ({', '.join(inputs.classes)}): reclassify them first")
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
    target: str, seed: str, officers: Sequence[bytes], departments_of: dict[str, str], needed: tuple[str, ...],
    size: int, task_departments: tuple[str, ...],
) -> list[str]:
    """`officers`: the free officers' badges (UTF-8, distinct), ranked by the sampler."""
    ranking = rank(seed_prefix(seed + ",inspectors," + target), officers)
    missing = list(dict.fromkeys(needed))
    team: list[str] = []
    for index in ranking:
        if len(team) == size:
            break
        badge = officers[index].decode()
        department = departments_of[badge]
        if department in missing:
            missing.remove(department)
            team.append(badge)
        elif size - len(team) > len(missing):
            team.append(badge)
    if len(team) < size or missing:
        free = [b.decode() for b in officers]
        raise DrawImpossible(_shortfall(target, free, departments_of, needed or task_departments, size))
    return team


def _shortfall(target: str, free: list[str], departments_of: dict[str, str], needed: tuple[str, ...],
               size: int) -> str:
    per_department = {d: sum(1 for b in free if departments_of[b] == d) for d in needed}
    lacking = [d for d, n in per_department.items() if n == 0]
    if lacking and len(needed) > 1:
        return f"target {target}: no qualified inspector without a conflict in department {', '.join(lacking)}"
    return (
        f"target {target}: only {len(free)} qualified inspector(s) without a conflict and under the load cap"
        f" in department(s) {', '.join(needed)}; {size} needed"
    )


def certified(candidate: Candidate, window_end: str) -> bool:
    """An enforcement certificate (执法证) valid through the task's whole window: a number, and a
    last valid day on or after `window_end` (dates YYYY-MM-DD compare as text).

    >>> c = Candidate("B1", "D", "enforcement", "active", (), "", "Z-1", "2026-06-30")
    >>> certified(c, "2026-06-30"), certified(c, "2026-07-01"), certified(Candidate("B2", "D", "enforcement", "active", (), ""), "2026-01-01")
    (True, False, False)
    """
    return bool(candidate.certificate_no) and candidate.certificate_valid_until is not None \
        and candidate.certificate_valid_until >= window_end


def _drawable(inputs: DrawInputs) -> tuple[list[str], list[str]]:
    """(officers, experts) a draw may take: active and cooled off; officers also enforcement,
    of a department taking part, qualified for one of the task's items and certified (执法证)
    through the task's window."""
    item_codes = {item.code for item in inputs.items}
    item_departments = {item.department for item in inputs.items}
    in_task = set(inputs.departments)
    drawable = [c for c in inputs.inspectors
                if c.status == "active" and cooled_off(c, inputs.committed_at, inputs.cooling_off_days)]
    officers = [c.badge for c in drawable
                if c.role == "enforcement" and c.department in in_task and _qualified(c, item_codes, item_departments)
                and certified(c, inputs.window_end)]
    return officers, [c.badge for c in drawable if c.role == "expert"]


def check_feasible(inputs: DrawInputs) -> None:
    """What makes every outcome impossible, whatever the beacon gives (checked at the commitment,
    before any round is published); conflicts with particular targets are met only at the draw."""
    check_inputs(inputs)
    officers, experts = _drawable(inputs)
    departments_of = {c.badge: c.department for c in inputs.inspectors}
    size = max(inputs.inspectors_per_target, len(inputs.departments))
    lacking = [d for d in inputs.departments if not any(departments_of[b] == d for b in officers)] \
        if len(inputs.departments) > 1 else []
    if lacking:
        raise DrawImpossible(f"no drawable officer of department {', '.join(lacking)} (qualified, certified,"
                             f" active, in force for {inputs.cooling_off_days} day(s))")
    if len(officers) < size:
        raise DrawImpossible(f"{len(officers)} drawable officer(s) (qualified, certified, active, in force for"
                             f" {inputs.cooling_off_days} day(s)); a team needs {size}")
    targets = sum(target_count(q, len(inputs.pool.get(k, []))) for k, q in inputs.quotas.items())
    if inputs.load_cap is not None and len(officers) * inputs.load_cap < targets * size:
        raise DrawImpossible(f"{targets} targets need {targets * size} places; {len(officers)} officers under the"
                             f" load cap {inputs.load_cap} give {len(officers) * inputs.load_cap}")
    if len(experts) < inputs.experts_per_target:
        raise DrawImpossible(f"{len(experts)} drawable expert(s); {inputs.experts_per_target} needed per target")


def _load_of(teams: list[Team]) -> dict[str, int]:
    load: dict[str, int] = {}
    for team in teams:
        for badge in team.inspectors:
            load[badge] = load.get(badge, 0) + 1
    return load


def draw_teams(inputs: DrawInputs, seed: str, targets: list[str], earlier: list[Team]) -> list[Team]:
    """Teams for `targets` in order (step 4), the load cap counting `earlier` teams of the task."""
    conflicted: dict[str, set[str]] = {}  # target -> badges with a declared conflict
    for badge, uscc in inputs.conflicts:
        conflicted.setdefault(uscc, set()).add(badge)
    departments_of = {c.badge: c.department for c in inputs.inspectors}
    officers, experts = _drawable(inputs)
    encoded = encode_distinct(officers) if targets else []  # once, not per target
    size = max(inputs.inspectors_per_target, len(inputs.departments))
    needed = inputs.departments if len(inputs.departments) > 1 else ()
    load = _load_of(earlier)
    cap = inputs.load_cap
    teams: list[Team] = []
    for target in targets:
        barred = conflicted.get(target, ())
        free = [e for b, e in zip(officers, encoded) if b not in barred and (cap is None or load.get(b, 0) < cap)] \
            if barred or cap is not None else encoded
        team = _team(target, seed, free, departments_of, needed, size, inputs.departments)
        chosen_experts: list[str] = []
        if inputs.experts_per_target:
            available = [b for b in experts if b not in barred]
            if len(available) < inputs.experts_per_target:
                raise DrawImpossible(
                    f"target {target}: only {len(available)} expert(s) without a conflict; {inputs.experts_per_target} needed"
                )
            chosen_experts = sample(seed + ",experts," + target, available, n=inputs.experts_per_target)
        for badge in team:
            load[badge] = load.get(badge, 0) + 1
        teams.append(Team(target=target, inspectors=team, experts=chosen_experts))
    return teams


def replacement(inputs: DrawInputs, seed: str, teams: list[Team], target: str, leaving: str,
                left_before: tuple[str, ...]) -> str:
    """Who takes `leaving`'s place in `target`'s team (替换, step 7): the same ranking as the draw
    (seed + ",inspectors," + target over the drawable officers without a declared conflict with the
    target and under the load cap counting the current teams), continued: the first officer not in
    the team, not `leaving` nor anyone who left this target's team before, and of `leaving`'s
    department when the task is joint (so the team still covers every department)."""
    conflicts = set(inputs.conflicts)
    departments_of = {c.badge: c.department for c in inputs.inspectors}
    officers, _ = _drawable(inputs)
    load = _load_of(teams)
    team = next((t for t in teams if t.target == target), None)
    if team is None or leaving not in team.inspectors:
        raise DrawImpossible(f"{leaving} is not an officer of the team of {target}")
    gone = {leaving, *left_before, *team.inspectors}
    free = [b for b in officers if (b, target) not in conflicts and b not in gone
            and (inputs.load_cap is None or load.get(b, 0) < inputs.load_cap)]
    joint = len(inputs.departments) > 1
    for badge in sample(seed + ",inspectors," + target, free) if free else []:
        if not joint or departments_of[badge] == departments_of[leaving]:
            return badge
    raise DrawImpossible(f"target {target}: no drawable officer{' of ' + departments_of[leaving] if joint else ''}"
                         " left to take the place")


def extension(inputs: DrawInputs, seed: str, targets: dict[str, list[str]], teams: list[Team], risk_class: str,
              count: int) -> tuple[list[str], list[Team]]:
    """补抽 (step 8): the next `count` firms of `risk_class` in the draw's own sampler order after
    those already drawn, and their teams drawn as in step 4 (the load cap counting every team)."""
    if risk_class not in inputs.classes:
        raise DrawImpossible(f"unknown risk class {risk_class!r}")
    if count < 1:
        raise DrawImpossible("draw at least one more target")
    committed = committed_pool(inputs)[risk_class]
    drawn = targets.get(risk_class, [])
    order = _drawn_firms(seed, committed, len(drawn) + count) if committed else []
    if order[: len(drawn)] != drawn:
        raise DrawImpossible(f"class {risk_class}: the drawn targets are not the start of the draw's order")
    more = order[len(drawn):]
    if len(more) < count:
        raise DrawImpossible(f"class {risk_class}: only {len(more)} more firm(s) in the frozen pool;"
                             f" {count} asked")
    return more, draw_teams(inputs, seed, more, teams)


def _drawn_firms(seed: str, committed: CommittedClass, n: int) -> list[str]:
    """The firms of the first `n` commitments in the sampler's order (the scan on numpy arrays:
    a class has up to a million commitments)."""
    from ledger.draw import fastscan

    scanned = fastscan.scan(seed_prefix(seed), committed, first_band_limit(n, len(committed)))
    return [committed.firms[i] for i in sample_utf8(seed, committed, n=n, scanned=scanned)]


class PoolSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What a commitment records of its frozen pool (step 1)."""

    pool_roots: dict[str, str]
    pool_root: str
    counts: dict[str, int]


def summarise_pool(inputs: DrawInputs) -> PoolSummary:
    derived = _derived(inputs)
    if derived.summary is None:
        pool = committed_pool(inputs)
        roots = {k: pool[k].root().hex() for k in inputs.classes}
        derived.summary = PoolSummary(pool_roots=roots, pool_root=combined_root(roots, inputs.classes),
                                      counts={k: len(pool[k]) for k in inputs.classes})
    return derived.summary


def compute(inputs: DrawInputs, beacons: list[BeaconOutput] | tuple[BeaconOutput, ...],
            summary: PoolSummary | None = None) -> DrawOutcome:
    """Targets and teams for `inputs` and the verified beacon outputs (module docstring);
    DrawImpossible if none exist. `summary`: the pool's roots and counts when the caller already
    holds them for exactly these inputs (the run: its commitment's, whose inputs digest it checked);
    they do not enter the seed, targets or teams, only the outcome's record of the pool."""
    check_inputs(inputs)
    if not beacons:
        raise DrawImpossible("a draw needs at least one beacon output")
    committed = committed_pool(inputs)  # per class: the commitments, sorted, and their firms
    if summary is None:
        summary = summarise_pool(inputs)
    roots, pool_root = summary.pool_roots, summary.pool_root
    seed = derive_seed(inputs.task_id, inputs_digest(inputs), beacons)
    targets: dict[str, list[str]] = {}
    for k in inputs.classes:
        quota = inputs.quotas.get(k)
        n = target_count(quota, len(committed[k])) if quota else 0
        targets[k] = _drawn_firms(seed, committed[k], n) if n else []

    teams = draw_teams(inputs, seed, [t for k in inputs.classes for t in targets[k]], [])
    return DrawOutcome(
        pool_roots=roots,
        pool_root=pool_root,
        counts={k: len(committed[k]) for k in inputs.classes},
        seed=seed,
        targets=targets,
        teams=teams,
    )
