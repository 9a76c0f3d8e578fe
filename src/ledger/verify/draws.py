"""Draw inputs and draw replay from the ledger's own events, independently of the write path.

`DrawState` is the state a draw's inputs are made of (entities, inspectors,
items, conflicts, the draw history), rebuilt from events alone; `verify`
keeps one while it re-executes the ledger (verify/reexecute.py) and hands
`inputs_at(task, position)` to the `draw.run` decision, which must then
yield exactly the stored draw. `drledger draw replay` and the bundles use
`replay_draws`: one pass over the chained events that, at each draw's
recorded pool position, rebuilds its inputs, recomputes the draw with
ledger.draw.spec and names every difference from what the ledger recorded.
Nothing here reads a projection or loads an aggregate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.actors import Ledger
from ledger.domain.directory import Entity, InspectionItem, Inspector
from ledger.domain.draws import BeaconRound, Task
from ledger.domain.filters import EntityFilter, matches
from ledger.draw.spec import (
    HEX64,
    RISK_CLASSES,
    BeaconOutput,
    Candidate,
    DrawImpossible,
    DrawInputs,
    DrawOutcome,
    ItemRef,
    Quota,
    Team,
    class_pool,
    compute,
    inputs_digest,
)
from ledger.integrity.canonical import canonical_bytes
from ledger.store.config import StoreConfig
from ledger.store.reader import ChainRow, EventRow, LedgerReader, open_reader

ENTITY_RECORD = (get_topic(Entity.Registered), get_topic(Entity.Updated))
INSPECTOR_RECORD = (get_topic(Inspector.Registered), get_topic(Inspector.Updated))
ITEM_RECORD = (get_topic(InspectionItem.Registered), get_topic(InspectionItem.Updated))
RECLASSIFIED = get_topic(Entity.Reclassified)
CONFLICT_DECLARED, CONFLICT_WITHDRAWN = get_topic(Inspector.ConflictDeclared), get_topic(Inspector.ConflictWithdrawn)
TASK_CREATED, TASK_COMMITTED, TASK_DRAWN, TASK_VOIDED, TASK_EXTENDED = (
    get_topic(Task.Created), get_topic(Task.Committed), get_topic(Task.Drawn), get_topic(Task.Voided),
    get_topic(Task.Extended))
GENESIS = get_topic(Ledger.Genesis)
BEACON_PINNED = get_topic(Ledger.BeaconPinned)
TOPICS = (GENESIS, BEACON_PINNED, *ENTITY_RECORD, *INSPECTOR_RECORD, *ITEM_RECORD, RECLASSIFIED, CONFLICT_DECLARED, CONFLICT_WITHDRAWN,
          TASK_CREATED, TASK_COMMITTED, TASK_DRAWN, TASK_VOIDED, TASK_EXTENDED)


class _Entity(msgspec.Struct):
    uscc: str
    entity_type: str
    region_code: str
    industry: str
    risk_class: str
    departments: tuple[str, ...] = ()
    status: str = "active"


class _Attributes(NamedTuple):
    """What a task's filter reads of an entity (domain/filters.py `matches`)."""

    risk_class: str
    region_code: str
    entity_type: str
    industry: str
    departments: tuple[str, ...]
    status: str


class _Inspector(msgspec.Struct):
    badge: str
    department: str
    role: str
    qualifications: tuple[str, ...] = ()
    status: str = "active"
    since: str = ""  # the recorded time of the event that put this record in force
    certificate_no: str | None = None
    certificate_valid_until: str | None = None


class _Item(msgspec.Struct):
    code: str
    department: str


class _Record(msgspec.Struct):
    record: msgspec.Raw
    timestamp: str = ""


class _Reclassified(msgspec.Struct):
    uscc: str
    risk_class: str


class _Conflict(msgspec.Struct):
    badge: str
    uscc: str


class _TaskCreated(msgspec.Struct):
    task_id: str
    window_start: date
    window_end: date
    items: tuple[str, ...]
    departments: tuple[str, ...]
    target_filter: EntityFilter
    quotas: dict[str, Quota]
    inspectors_per_target: int
    experts_per_target: int
    load_cap: int | None
    exclude_recent_days: int | None


class RecordedCommitment(msgspec.Struct):
    task_id: str
    position: int
    committed_at: str
    cooling_off_days: int
    inputs_digest: str
    pool_roots: dict[str, str]
    pool_root: str
    counts: dict[str, int]
    excluded: int
    beacons: list[BeaconRound]
    actor: str
    salt_key: str = ""  # "" only in a malformed event: the digest check then fails
    classes: tuple[str, ...] = RISK_CLASSES
    window_end: str = ""
    annual_cap: int | None = None


class RecordedDraw(msgspec.Struct):
    task_id: str
    position: int
    inputs_digest: str
    beacons: list[BeaconOutput]
    signatures: list[str]
    seed: str
    targets: dict[str, list[str]]
    teams: list[Team]
    outcome_digest: str
    actor: str


class RecordedVoid(msgspec.Struct):
    task_id: str
    reason: str
    commitment_only: bool
    actor: str


class _Extended(msgspec.Struct):
    task_id: str
    risk_class: str
    targets: list[str]


class _Pinned(msgspec.Struct):
    beacon_id: str
    chain_info: dict[str, Any]


class _Genesis(msgspec.Struct):
    beacons: dict[str, dict[str, Any]]


class DrawReplay(msgspec.Struct, kw_only=True):
    task_id: str
    drawn_at: int  # position of the Drawn event
    position: int  # pool position it recorded
    ok: bool
    differences: list[str]
    targets: int
    voided: bool = False


@dataclass
class DrawState:
    # uscc -> its attributes, one shared object per distinct combination: this state holds every
    # entity of the ledger, and a million entities share a few hundred combinations.
    entities: dict[str, _Attributes] = field(default_factory=dict)
    inspectors: dict[str, _Inspector] = field(default_factory=dict)
    items: dict[str, _Item] = field(default_factory=dict)
    conflicts: set[tuple[str, str]] = field(default_factory=set)
    tasks: dict[str, _TaskCreated] = field(default_factory=dict)
    commitments: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    # task -> (drawn seq, targets, voided seq or None)
    draws: dict[str, list[list[Any]]] = field(default_factory=dict)
    beacons: dict[str, dict[str, Any]] = field(default_factory=dict)  # pinned at genesis
    shared: dict[_Attributes, _Attributes] = field(default_factory=dict)

    def apply(self, row: ChainRow | EventRow) -> None:
        topic, state = row.topic, row.state
        assert state is not None
        if topic == GENESIS:
            self.beacons = msgspec.json.decode(state, type=_Genesis).beacons
        elif topic == BEACON_PINNED:
            pinned = msgspec.json.decode(state, type=_Pinned)
            self.beacons = {**self.beacons, pinned.beacon_id: pinned.chain_info}
        elif topic in ENTITY_RECORD:
            e = msgspec.json.decode(msgspec.json.decode(state, type=_Record).record, type=_Entity)
            attributes = _Attributes(e.risk_class, e.region_code, e.entity_type, e.industry, e.departments, e.status)
            self.entities[e.uscc] = self.shared.setdefault(attributes, attributes)
        elif topic == RECLASSIFIED:
            change = msgspec.json.decode(state, type=_Reclassified)
            attributes = self.entities[change.uscc]._replace(risk_class=change.risk_class)
            self.entities[change.uscc] = self.shared.setdefault(attributes, attributes)
        elif topic in INSPECTOR_RECORD:
            carried = msgspec.json.decode(state, type=_Record)
            inspector = msgspec.json.decode(carried.record, type=_Inspector)
            inspector.since = carried.timestamp
            self.inspectors[inspector.badge] = inspector
        elif topic in ITEM_RECORD:
            item = msgspec.json.decode(msgspec.json.decode(state, type=_Record).record, type=_Item)
            self.items[item.code] = item
        elif topic == CONFLICT_DECLARED:
            c = msgspec.json.decode(state, type=_Conflict)
            self.conflicts.add((c.badge, c.uscc))
        elif topic == CONFLICT_WITHDRAWN:
            c = msgspec.json.decode(state, type=_Conflict)
            self.conflicts.discard((c.badge, c.uscc))
        elif topic == TASK_CREATED:
            task = msgspec.json.decode(state, type=_TaskCreated)
            self.tasks[task.task_id] = task
        elif topic == TASK_COMMITTED:
            committed = msgspec.json.decode(state, type=RecordedCommitment)
            self.commitments.setdefault(committed.task_id, []).append((row.seq, committed))
        elif topic == TASK_DRAWN:
            drawn = msgspec.json.decode(state, type=RecordedDraw)
            self.draws.setdefault(drawn.task_id, []).append([row.seq, drawn.targets, None])
        elif topic == TASK_EXTENDED:
            more = msgspec.json.decode(state, type=_Extended)
            targets = self.draws[more.task_id][-1][1]
            targets[more.risk_class] = [*targets.get(more.risk_class, []), *more.targets]
        elif topic == TASK_VOIDED:
            void = msgspec.json.decode(state, type=RecordedVoid)
            if not void.commitment_only:
                self.draws[void.task_id][-1][2] = row.seq

    def recently_inspected(self, task: _TaskCreated, position: int) -> set[str]:
        if not task.exclude_recent_days:
            return set()
        since = task.window_start - timedelta(days=task.exclude_recent_days)
        excluded: set[str] = set()
        for other_id, history in self.draws.items():
            other = self.tasks[other_id]
            if other_id == task.task_id or not set(task.items) & set(other.items) or other.window_end < since:
                continue
            for drawn_seq, targets, voided_seq in history:
                if drawn_seq <= position and (voided_seq is None or voided_seq > position):
                    excluded.update(u for ids in targets.values() for u in ids)
        return excluded

    def at_annual_cap(self, task: _TaskCreated, cap: int | None, position: int) -> set[str]:
        """Firms other tasks of the same year (window start) drew `cap` times or more, in draws
        standing at `position` (the annual cap per firm, settings.draws)."""
        if cap is None:
            return set()
        counts: dict[str, int] = {}
        for other_id, history in self.draws.items():
            other = self.tasks[other_id]
            if other_id == task.task_id or other.window_start.year != task.window_start.year:
                continue
            drawn: set[str] = set()
            for drawn_seq, targets, voided_seq in history:
                if drawn_seq <= position and (voided_seq is None or voided_seq > position):
                    drawn.update(u for ids in targets.values() for u in ids)
            for uscc in drawn:
                counts[uscc] = counts.get(uscc, 0) + 1
        return {uscc for uscc, n in counts.items() if n >= cap}

    def inputs_at(self, task_id: str, position: int, committed_at: str, cooling_off_days: int,
                  salt_key: str, *, classes: tuple[str, ...] = RISK_CLASSES, window_end: str = "",
                  annual_cap: int | None = None) -> DrawInputs:
        """The draw inputs of `task_id` from this state, which is the ledger at `position`
        (the commitment's: the inputs are frozen there), with the class set, window end and
        annual cap the commitment froze."""
        task = self.tasks[task_id]
        eligible = msgspec.structs.replace(task.target_filter, statuses=("active",))
        excluded = self.recently_inspected(task, position) | self.at_annual_cap(task, annual_cap, position)
        found: dict[str, list[str]] = {}
        passes: dict[int, bool] = {}  # by the shared attributes object
        for uscc, e in self.entities.items():
            passed = passes.get(id(e))
            if passed is None:
                passed = passes[id(e)] = matches(eligible, **e._asdict())
            if passed and uscc not in excluded:
                found.setdefault(e.risk_class, []).append(uscc)
        pool = class_pool(tuple(classes), found)
        return DrawInputs(
            task_id=task.task_id, position=position, committed_at=committed_at, cooling_off_days=cooling_off_days,
            window_end=window_end or task.window_end.isoformat(), departments=task.departments,
            items=tuple(ItemRef(code, self.items[code].department) for code in task.items),
            quotas=task.quotas, inspectors_per_target=task.inspectors_per_target,
            experts_per_target=task.experts_per_target, load_cap=task.load_cap, pool=pool,
            excluded=sorted(excluded, key=str.encode),
            inspectors=[Candidate(i.badge, i.department, i.role, i.status, i.qualifications, i.since,
                                  i.certificate_no, i.certificate_valid_until)
                        for i in sorted(self.inspectors.values(), key=lambda i: i.badge)],
            conflicts=sorted(self.conflicts),
            salt_key=salt_key,
            classes=tuple(classes),
        )

    def beacon_network(self, beacon_id: str) -> Any:
        """A network the genesis pins (ledger.beacon BeaconNetwork), or None."""
        from ledger.beacon.network import BeaconNetwork

        info = self.beacons.get(beacon_id)
        return BeaconNetwork.from_chain_info(info) if info is not None else None


def compare(recorded: RecordedDraw, committed: RecordedCommitment, outcome: DrawOutcome) -> list[str]:
    """Exact differences between a recorded draw (and its commitment) and its recomputation."""
    differences = []
    for k in outcome.counts:
        if committed.counts.get(k) != outcome.counts[k]:
            differences.append(f"class {k}: pool has {outcome.counts[k]} IDs at the position, the commitment"
                               f" recorded {committed.counts.get(k)}")
        if committed.pool_roots.get(k) != outcome.pool_roots[k]:
            differences.append(f"class {k}: pool root {outcome.pool_roots[k]} differs from the committed"
                               f" {committed.pool_roots.get(k)}")
    if committed.pool_root != outcome.pool_root:
        differences.append("pool root differs")
    if recorded.seed != outcome.seed:
        differences.append(f"seed {outcome.seed} differs from recorded {recorded.seed}")
    for k in outcome.targets:
        mine, theirs = outcome.targets[k], recorded.targets.get(k, [])
        if mine != theirs:
            at = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))
            differences.append(
                f"class {k}: target #{at + 1} is {mine[at] if at < len(mine) else 'none'},"
                f" the draw recorded {theirs[at] if at < len(theirs) else 'none'}"
            )
    if not differences and recorded.teams != outcome.teams:
        for mine, theirs in zip(outcome.teams, recorded.teams):
            if mine != theirs:
                differences.append(
                    f"target {mine.target}: team {'+'.join(mine.inspectors + mine.experts)},"
                    f" the draw recorded {'+'.join(theirs.inspectors + theirs.experts)}"
                )
                break
    digest = hashlib.sha256(canonical_bytes({"targets": recorded.targets, "teams": recorded.teams})).hexdigest()
    if digest != recorded.outcome_digest:
        differences.append("the recorded outcome digest does not match the recorded targets and teams")
    return differences


def _recorded(reader: LedgerReader, task_id: str | None) -> tuple[
        list[tuple[int, RecordedDraw]], dict[str, list[tuple[int, RecordedCommitment]]]]:
    draws: list[tuple[int, RecordedDraw]] = []
    commitments: dict[str, list[tuple[int, RecordedCommitment]]] = {}
    for row in reader.events_with_topics([TASK_COMMITTED, TASK_DRAWN]):
        assert row.state is not None
        if row.topic == TASK_DRAWN:
            drawn = msgspec.json.decode(row.state, type=RecordedDraw)
            if task_id is None or drawn.task_id == task_id:
                draws.append((row.seq, drawn))
        else:
            committed = msgspec.json.decode(row.state, type=RecordedCommitment)
            commitments.setdefault(committed.task_id, []).append((row.seq, committed))
    return draws, commitments


def replay_draws(config: StoreConfig, task_id: str | None = None, *, keep_inputs: bool = False
                 ) -> tuple[list[DrawReplay], dict[str, tuple[DrawInputs, RecordedDraw]]]:
    """Replay every draw (or one task's): one pass over the events.

    Each draw is paired with its task's last commitment before it; its inputs
    are rebuilt at the commitment's position, each beacon signature is
    verified for its round under the network the genesis pins, and the draw
    is recomputed."""
    with open_reader(config) as reader:
        recorded, commitments = _recorded(reader, task_id)
        draws = []
        for drawn_seq, drawn in recorded:
            before = [c for c in commitments.get(drawn.task_id, []) if c[0] < drawn_seq]
            draws.append((drawn.position, drawn_seq, drawn, before[-1] if before else None))
        draws.sort(key=lambda d: (d[0], d[1]))
        results: list[DrawReplay] = []
        kept: dict[str, tuple[DrawInputs, RecordedDraw]] = {}
        if not draws:
            return results, kept
        state = DrawState()
        last = max(seq for _, seq, _, _ in draws)
        pending = list(draws)
        for row in reader.events_between(1, last, TOPICS):
            while pending and pending[0][0] < row.seq:
                _replay_one(state, *pending.pop(0), results, kept, keep_inputs)
            state.apply(row)
        while pending:
            _replay_one(state, *pending.pop(0), results, kept, keep_inputs)
    for result in results:
        result.voided = any(h[0] == result.drawn_at and h[2] is not None for h in state.draws.get(result.task_id, []))
    return results, kept


def commitment_problems(recorded: RecordedDraw, commitment: tuple[int, RecordedCommitment] | None) -> list[str]:
    """How a draw departs from the commitment it rests on (none: it rests on it exactly)."""
    if commitment is None:
        return ["the draw has no commitment recorded for its task before it"]
    seq, committed = commitment
    problems = []
    if committed.position != recorded.position:
        problems.append(f"the draw reads its inputs at position {recorded.position}, its commitment froze them at"
                        f" {committed.position}")
    if seq != committed.position + 2:
        problems.append(f"the commitment at {seq} does not follow the position {committed.position} it froze")
    if committed.inputs_digest != recorded.inputs_digest:
        problems.append("the draw's inputs digest is not the one its commitment recorded")
    named = [(b.network, b.chain_hash, b.round) for b in committed.beacons]
    used = [(b.network, b.chain_hash, b.round) for b in recorded.beacons]
    if named != used:
        problems.append(f"the draw uses beacon rounds {used}, its commitment named {named}")
    return problems


def beacon_problems(state: DrawState, recorded: RecordedDraw) -> list[str]:
    """Each recorded beacon output must be its round's verified randomness."""
    from ledger.beacon.errors import BeaconInvalid
    from ledger.beacon.verify import parse_signature_hex, verify_round

    problems = []
    if len(recorded.signatures) != len(recorded.beacons):
        return ["the draw records a different number of beacon signatures and outputs"]
    for output, signature in zip(recorded.beacons, recorded.signatures):
        network = state.beacon_network(output.network)
        if network is None or network.chain_hash.hex() != output.chain_hash:
            problems.append(f"beacon {output.network} ({output.chain_hash[:16]}) is not a network the ledger pins")
            continue
        try:
            randomness = verify_round(network, output.round, parse_signature_hex(signature))
        except BeaconInvalid as error:
            problems.append(f"{output.network} round {output.round}: {error}")
            continue
        if randomness.hex() != output.randomness:
            problems.append(f"{output.network} round {output.round}: the recorded randomness is not the round's")
    return problems


def _replay_one(state: DrawState, position: int, drawn_seq: int, recorded: RecordedDraw,
                commitment: tuple[int, RecordedCommitment] | None, results: list[DrawReplay],
                kept: dict[str, tuple[DrawInputs, RecordedDraw]], keep_inputs: bool) -> None:
    differences = commitment_problems(recorded, commitment) + beacon_problems(state, recorded)
    if position >= drawn_seq:
        differences.append(f"pool position {position} is not before the draw itself ({drawn_seq})")
    if recorded.task_id not in state.tasks:
        differences.append("the draw names a task that does not exist before it")
    elif commitment is not None:
        committed = commitment[1]
        inputs = state.inputs_at(recorded.task_id, position, committed.committed_at, committed.cooling_off_days,
                                 committed.salt_key, classes=committed.classes, window_end=committed.window_end,
                                 annual_cap=committed.annual_cap)
        if keep_inputs:
            kept[recorded.task_id] = (inputs, recorded)
        if not HEX64.fullmatch(committed.salt_key):
            differences.append("the commitment's salt key is not 64 lowercase hex digits")
        elif inputs_digest(inputs) != recorded.inputs_digest:
            differences.append("the draw's inputs (task parameters, pool, inspectors, conflicts) differ from those"
                               " frozen by its commitment (inputs digest)")
        if len(inputs.excluded) != committed.excluded:
            differences.append(
                f"recently inspected targets left out: {len(inputs.excluded)} on replay, {committed.excluded} recorded"
            )
        try:
            differences += compare(recorded, committed, compute(inputs, recorded.beacons))
        except DrawImpossible as error:
            differences.append(f"recomputing the draw fails: {error}")
    results.append(DrawReplay(
        task_id=recorded.task_id, drawn_at=drawn_seq, position=position, ok=not differences,
        differences=differences, targets=sum(len(v) for v in recorded.targets.values()),
    ))
