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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.directory import Entity, InspectionItem, Inspector
from ledger.domain.draws import Task
from ledger.domain.filters import EntityFilter, matches
from ledger.draw.spec import (
    Candidate,
    DrawImpossible,
    DrawInputs,
    DrawOutcome,
    ItemRef,
    Quota,
    Team,
    compute,
    inputs_digest,
)
from ledger.integrity.canonical import canonical_bytes
from ledger.store.config import StoreConfig
from ledger.store.reader import ChainRow, LedgerReader, open_reader

ENTITY_RECORD = (get_topic(Entity.Registered), get_topic(Entity.Updated))
INSPECTOR_RECORD = (get_topic(Inspector.Registered), get_topic(Inspector.Updated))
ITEM_RECORD = (get_topic(InspectionItem.Registered), get_topic(InspectionItem.Updated))
RECLASSIFIED = get_topic(Entity.Reclassified)
CONFLICT_DECLARED, CONFLICT_WITHDRAWN = get_topic(Inspector.ConflictDeclared), get_topic(Inspector.ConflictWithdrawn)
TASK_CREATED, TASK_COMMITTED, TASK_DRAWN, TASK_VOIDED = (
    get_topic(Task.Created), get_topic(Task.Committed), get_topic(Task.Drawn), get_topic(Task.Voided))
TOPICS = (*ENTITY_RECORD, *INSPECTOR_RECORD, *ITEM_RECORD, RECLASSIFIED, CONFLICT_DECLARED, CONFLICT_WITHDRAWN,
          TASK_CREATED, TASK_COMMITTED, TASK_DRAWN, TASK_VOIDED)


class _Entity(msgspec.Struct):
    uscc: str
    entity_type: str
    region_code: str
    industry: str
    risk_class: str
    departments: tuple[str, ...] = ()
    status: str = "active"


class _Inspector(msgspec.Struct):
    badge: str
    department: str
    role: str
    qualifications: tuple[str, ...] = ()
    status: str = "active"


class _Item(msgspec.Struct):
    code: str
    department: str


class _Record(msgspec.Struct):
    record: msgspec.Raw


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


class _Committed(msgspec.Struct):
    task_id: str
    commitment: str
    beacon_round: str | None


class RecordedDraw(msgspec.Struct):
    task_id: str
    position: int
    commitment: str
    secret: str
    beacon: str
    pool_roots: dict[str, str]
    pool_root: str
    counts: dict[str, int]
    excluded: list[str]
    seed: str
    targets: dict[str, list[str]]
    teams: list[Team]
    outcome_digest: str
    inputs_digest: str


class _TaskId(msgspec.Struct):
    task_id: str


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
    entities: dict[str, _Entity] = field(default_factory=dict)
    inspectors: dict[str, _Inspector] = field(default_factory=dict)
    items: dict[str, _Item] = field(default_factory=dict)
    conflicts: set[tuple[str, str]] = field(default_factory=set)
    tasks: dict[str, _TaskCreated] = field(default_factory=dict)
    commitments: dict[str, list[tuple[int, _Committed]]] = field(default_factory=dict)
    # task -> (drawn seq, targets, voided seq or None)
    draws: dict[str, list[list[Any]]] = field(default_factory=dict)

    def apply(self, row: ChainRow) -> None:
        topic, state = row.topic, row.state
        assert state is not None
        if topic in ENTITY_RECORD:
            entity = msgspec.json.decode(msgspec.json.decode(state, type=_Record).record, type=_Entity)
            self.entities[entity.uscc] = entity
        elif topic == RECLASSIFIED:
            change = msgspec.json.decode(state, type=_Reclassified)
            self.entities[change.uscc] = msgspec.structs.replace(self.entities[change.uscc], risk_class=change.risk_class)
        elif topic in INSPECTOR_RECORD:
            inspector = msgspec.json.decode(msgspec.json.decode(state, type=_Record).record, type=_Inspector)
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
            committed = msgspec.json.decode(state, type=_Committed)
            self.commitments.setdefault(committed.task_id, []).append((row.seq, committed))
        elif topic == TASK_DRAWN:
            drawn = msgspec.json.decode(state, type=RecordedDraw)
            self.draws.setdefault(drawn.task_id, []).append([row.seq, drawn.targets, None])
        elif topic == TASK_VOIDED:
            task_id = msgspec.json.decode(state, type=_TaskId).task_id
            self.draws[task_id][-1][2] = row.seq

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

    def inputs(self, recorded: RecordedDraw) -> DrawInputs:
        return msgspec.structs.replace(self.inputs_at(recorded.task_id, recorded.position),
                                       commitment=recorded.commitment, secret=recorded.secret, beacon=recorded.beacon)

    def inputs_at(self, task_id: str, position: int) -> DrawInputs:
        """The draw inputs of `task_id` from this state, which is the ledger at `position`
        (commitment, secret and beacon left empty: they come from the command)."""
        task = self.tasks[task_id]
        eligible = msgspec.structs.replace(task.target_filter, statuses=("active",))
        excluded = self.recently_inspected(task, position)
        pool: dict[str, list[str]] = {k: [] for k in "ABCD"}
        for e in self.entities.values():
            if e.uscc not in excluded and matches(
                eligible, risk_class=e.risk_class, region_code=e.region_code, entity_type=e.entity_type,
                industry=e.industry, departments=e.departments, status=e.status,
            ):
                pool[e.risk_class].append(e.uscc)
        return DrawInputs(
            task_id=task.task_id, commitment="", secret="", beacon="",
            position=position, departments=task.departments,
            items=tuple(ItemRef(code, self.items[code].department) for code in task.items),
            quotas=task.quotas, inspectors_per_target=task.inspectors_per_target,
            experts_per_target=task.experts_per_target, load_cap=task.load_cap, pool=pool,
            excluded=sorted(excluded, key=str.encode),
            inspectors=[Candidate(i.badge, i.department, i.role, i.status, i.qualifications)
                        for i in sorted(self.inspectors.values(), key=lambda i: i.badge)],
            conflicts=sorted(self.conflicts),
        )

    def commitment_problem(self, recorded: RecordedDraw, drawn_seq: int) -> str | None:
        standing = [(seq, c) for seq, c in self.commitments.get(recorded.task_id, []) if seq < drawn_seq]
        if not standing or standing[-1][1].commitment != recorded.commitment:
            return "the draw's commitment is not the one recorded for the task before it"
        if standing[-1][0] > recorded.position:
            return "the commitment was recorded after the pool position it claims (commit must come first)"
        if standing[-1][1].beacon_round and not recorded.beacon:
            return f"the commitment named beacon round {standing[-1][1].beacon_round} but the draw used none"
        return None


def compare(recorded: RecordedDraw, outcome: DrawOutcome) -> list[str]:
    """Exact differences between a recorded draw and its recomputation."""
    differences = []
    for k in "ABCD":
        if recorded.counts.get(k) != outcome.counts[k]:
            differences.append(f"class {k}: pool has {outcome.counts[k]} IDs at the position, the draw recorded {recorded.counts.get(k)}")
        if recorded.pool_roots.get(k) != outcome.pool_roots[k]:
            differences.append(f"class {k}: pool root {outcome.pool_roots[k]} differs from recorded {recorded.pool_roots.get(k)}")
    if recorded.pool_root != outcome.pool_root:
        differences.append("pool root differs")
    if recorded.seed != outcome.seed:
        differences.append(f"seed {outcome.seed} differs from recorded {recorded.seed}")
    for k in "ABCD":
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


def _draw_rows(reader: LedgerReader) -> list[ChainRow]:
    return reader.events_with_topics([TASK_DRAWN])


def replay_draws(config: StoreConfig, task_id: str | None = None, *, keep_inputs: bool = False
                 ) -> tuple[list[DrawReplay], dict[str, tuple[DrawInputs, RecordedDraw]]]:
    """Replay every draw (or one task's): one pass over the events."""
    with open_reader(config) as reader:
        draws = []
        for row in _draw_rows(reader):
            assert row.state is not None
            recorded = msgspec.json.decode(row.state, type=RecordedDraw)
            if task_id is None or recorded.task_id == task_id:
                draws.append((recorded.position, row.seq, recorded))
        draws.sort(key=lambda d: (d[0], d[1]))
        results: list[DrawReplay] = []
        kept: dict[str, tuple[DrawInputs, RecordedDraw]] = {}
        if not draws:
            return results, kept
        state = DrawState()
        last = max(seq for _, seq, _ in draws)
        pending = list(draws)
        for row in _rows_with_topics(reader, last):
            while pending and pending[0][0] < row.seq:
                _replay_one(state, *pending.pop(0), results, kept, keep_inputs)
            state.apply(row)
        while pending:
            _replay_one(state, *pending.pop(0), results, kept, keep_inputs)
    for result in results:
        result.voided = any(h[0] == result.drawn_at and h[2] is not None for h in state.draws.get(result.task_id, []))
    return results, kept


def _rows_with_topics(reader: LedgerReader, last: int) -> Iterator[ChainRow]:
    """The events a draw's inputs depend on, positions 1..last, in order (streamed)."""
    wanted = set(TOPICS)
    for row in reader.rows(1, last):
        if row.topic in wanted:
            yield row


def _replay_one(state: DrawState, position: int, drawn_seq: int, recorded: RecordedDraw, results: list[DrawReplay],
                kept: dict[str, tuple[DrawInputs, RecordedDraw]], keep_inputs: bool) -> None:
    differences: list[str] = []
    problem = state.commitment_problem(recorded, drawn_seq)
    if problem:
        differences.append(problem)
    if position >= drawn_seq:
        differences.append(f"pool position {position} is not before the draw itself ({drawn_seq})")
    if recorded.task_id not in state.tasks:
        differences.append("the draw names a task that does not exist before it")
    else:
        inputs = state.inputs(recorded)
        if keep_inputs:
            kept[recorded.task_id] = (inputs, recorded)
        if inputs_digest(inputs) != recorded.inputs_digest:
            differences.append("the draw's inputs (task parameters, pool, inspectors, conflicts) differ from those"
                               " recorded with the draw (inputs digest)")
        if inputs.excluded != recorded.excluded:
            differences.append(
                f"recently inspected targets left out: {len(inputs.excluded)} on replay, {len(recorded.excluded)} recorded"
            )
        try:
            differences += compare(recorded, compute(inputs))
        except DrawImpossible as error:
            differences.append(f"recomputing the draw fails: {error}")
    results.append(DrawReplay(
        task_id=recorded.task_id, drawn_at=drawn_seq, position=position, ok=not differences,
        differences=differences, targets=sum(len(v) for v in recorded.targets.values()),
    ))
