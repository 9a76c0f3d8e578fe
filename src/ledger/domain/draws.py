"""Plans, tasks and their draws (统一抽查流程 steps 1-3): aggregates and decisions.

A planner creates plans and tasks of its department. A drawer commits
(`draw.commit`): the draw inputs (pool, inspector directory, conflicts, caps)
are frozen at the commitment's position, their digest and pool roots are
recorded, and one or more rounds of public beacons pinned by the ledger are
named, all published after the commitment. The run (`draw.run`) brings the
rounds' signatures; each must verify for exactly its round, and the draw is
computed from the frozen inputs and the beacons' randomness alone (draw/spec.py
v2). No secret enters the draw: once the rounds are published the outcome is
determined, so not running a draw hides nothing (an abandoned commitment's
outcome is computable). A second draw needs a visible void with a reason and
a fresh commitment.

The frozen inputs come in beside the command: the write path reads them from
its read models as of the commitment's position, `verify` rebuilds them from
events alone (verify/draws.py) and re-executes the same decisions, so inputs
that differ from the ledger's make `verify` fail.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime  # noqa: F401  (UTC: the doctests use it)
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, natural_id
from ledger.domain.classes import class_codes, draw_settings
from ledger.domain.commands import Command, Refusal, State, command, need_text, require_jurisdiction, short
from ledger.domain.filters import EntityFilter
from ledger.draw.spec import (
    HEX64,
    RISK_CLASSES,
    BeaconOutput,
    DrawImpossible,
    DrawInputs,
    DrawOutcome,
    Quota,
    Team,
    check_feasible,
    check_inputs,
    compute,
    PoolSummary,
    inputs_digest,
    summarise_pool,
)


class Plan(LedgerAggregate):
    """年度抽查工作计划: a department's yearly plan."""

    plan_id: str
    department: str
    year: int
    items: tuple[str, ...]
    joint_departments: tuple[str, ...]
    filed: bool

    @staticmethod
    def create_id(plan_id: str, **_: Any) -> UUID:
        return natural_id("plan", plan_id)

    @event("Created")
    def __init__(self, plan_id: str, title: str, department: str, year: int, items: tuple[str, ...],
                 joint_departments: tuple[str, ...], actor: str) -> None:
        self.plan_id = plan_id
        self.title = title
        self.department = department
        self.year = year
        self.items = items
        self.joint_departments = joint_departments
        self.filed = False

    @event("Filed")
    def file(self, filed_with: str, actor: str) -> None:
        """Filed with the level above (报上级备案)."""
        self.filed = True


class BeaconRound(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A round named by a commitment: published after it, unknown to everyone at it."""

    network: str  # beacon ID of a network the ledger pins
    chain_hash: str
    round: int
    published_at: int  # unix seconds


class Commitment(msgspec.Struct, frozen=True):
    position: int
    committed_at: str
    cooling_off_days: int
    inputs_digest: str
    beacons: tuple[BeaconRound, ...]
    salt_key: str  # 64 hex: the commitments' salt key, frozen with the inputs (for auditors; never public)
    pool: PoolSummary  # the roots and counts of the frozen pool, as the commitment recorded them
    # Frozen with the inputs (settings.draws, task.extend_window may change them later):
    classes: tuple[str, ...] = RISK_CLASSES
    window_end: str = ""  # YYYY-MM-DD
    annual_cap: int | None = None


class Task(LedgerAggregate):
    """抽查任务: one batch of inspections, drawn once."""

    task_id: str
    plan_id: str
    name: str
    window_start: date
    window_end: date
    items: tuple[str, ...]
    departments: tuple[str, ...]  # lead first
    target_filter: EntityFilter
    quotas: dict[str, Quota]
    inspectors_per_target: int
    experts_per_target: int
    load_cap: int | None
    exclude_recent_days: int | None
    commitment: Commitment | None  # the standing commitment, until its draw or its void
    drawn: bool
    draws: int
    targets: dict[str, list[str]]
    teams: list[Team]
    team_index: dict[str, int]
    drawn_from: Commitment | None  # the commitment the standing draw used (its frozen inputs)
    seed: str | None
    substitutions: int
    left: dict[str, tuple[str, ...]]  # target -> officers who left its team

    @staticmethod
    def create_id(task_id: str, **_: Any) -> UUID:
        return natural_id("task", task_id)

    @event("Created")
    def __init__(self, task_id: str, plan_id: str, name: str, window_start: date, window_end: date,
                 items: tuple[str, ...], departments: tuple[str, ...], target_filter: EntityFilter,
                 quotas: dict[str, Quota], inspectors_per_target: int, experts_per_target: int,
                 load_cap: int | None, exclude_recent_days: int | None, actor: str, temporary: bool = False) -> None:
        self.task_id = task_id
        self.temporary = temporary  # 临时任务: no annual plan; drawn only once approved (domain/tasks.py)
        self.approved = not temporary
        self.created_by = actor
        self.plan_id = plan_id
        self.name = name
        self.window_start = window_start
        self.window_end = window_end
        self.items = items
        self.departments = departments
        self.target_filter = target_filter
        self.quotas = quotas
        self.inspectors_per_target = inspectors_per_target
        self.experts_per_target = experts_per_target
        self.load_cap = load_cap
        self.exclude_recent_days = exclude_recent_days
        self.commitment = None
        self.drawn = False
        self.draws = 0
        self.targets = {}
        self.teams = []
        self.team_index = {}
        self.drawn_from = None
        self.seed = None
        self.substitutions = 0
        self.left = {}

    @event("Committed")
    def commit(self, task_id: str, position: int, committed_at: str, cooling_off_days: int, inputs_digest: str,
               pool_roots: dict[str, str], pool_root: str, counts: dict[str, int], excluded: int,
               beacons: tuple[BeaconRound, ...], salt_key: str, actor: str, classes: tuple[str, ...] = RISK_CLASSES,
               window_end: str = "", annual_cap: int | None = None) -> None:
        self.commitment = Commitment(position=position, committed_at=committed_at,
                                     cooling_off_days=cooling_off_days, inputs_digest=inputs_digest, beacons=beacons,
                                     salt_key=salt_key, pool=PoolSummary(pool_roots=pool_roots, pool_root=pool_root,
                                                                         counts=counts),
                                     classes=tuple(classes), window_end=window_end, annual_cap=annual_cap)

    @event("Drawn")
    def record_draw(
        self, task_id: str, position: int, inputs_digest: str, beacons: tuple[BeaconOutput, ...],
        signatures: tuple[str, ...], seed: str, targets: dict[str, list[str]], teams: list[Team],
        outcome_digest: str, actor: str,
    ) -> None:
        self.drawn = True
        self.draws += 1
        self.drawn_from = self.commitment
        self.commitment = None  # a redraw after a void needs a fresh commitment
        self.seed = seed
        self.targets = targets
        self.teams = teams
        self.team_index = {team.target: i for i, team in enumerate(teams)}
        self.substitutions = 0
        self.left = {}

    @event("Substituted")
    def substitute(self, task_id: str, target: str, leaving: str, joining: str, basis: str, reason: str,
                   actor: str) -> None:
        """`basis`: "recusal" (signed by the leaving officer), "approval" (a reviewer's) or
        "firm_request" (a firm's 回避 request a reviewer granted, domain/firms.py)."""
        index = self.team_index[target]
        team = self.teams[index]
        inspectors = [joining if b == leaving else b for b in team.inspectors]
        self.teams = [*self.teams[:index], Team(target=target, inspectors=inspectors, experts=team.experts),
                      *self.teams[index + 1:]]
        self.left = {**self.left, target: (*self.left.get(target, ()), leaving)}
        self.substitutions += 1

    @event("Extended")
    def extend(self, task_id: str, risk_class: str, targets: list[str], teams: list[Team], reason: str,
               actor: str) -> None:
        """补抽: more targets of one class, continuing the draw's order."""
        self.targets = {**self.targets, risk_class: [*self.targets.get(risk_class, []), *targets]}
        self.teams = [*self.teams, *teams]
        self.team_index = {team.target: i for i, team in enumerate(self.teams)}

    @event("Voided")
    def void(self, task_id: str, reason: str, commitment_only: bool, actor: str) -> None:
        self.commitment = None
        self.drawn = False
        if not commitment_only:
            self.drawn_from = None
            self.seed = None
        self.targets = {}
        self.teams = []
        self.team_index = {}

    @event("Approved")
    def approve(self, task_id: str, reason: str, actor: str) -> None:
        """A temporary task approved by a second actor (domain/tasks.py)."""
        self.approved = True

    @event("WindowExtended")
    def extend_window(self, task_id: str, window_end: date, previous: date, reason: str, actor: str) -> None:
        """The window's end moved later, with a reason (domain/tasks.py)."""
        self.window_end = window_end

    def team_of(self, uscc: str) -> Team | None:
        """The team a standing draw assigned to `uscc`, None if it was not drawn."""
        index = self.team_index.get(uscc) if self.drawn else None
        return self.teams[index] if index is not None else None



# ---------------------------------------------------------------------------
# Decisions.

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
REGION_PREFIX = re.compile(r"^(?:[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$")


class PlanBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    plan_id: str
    title: str
    department: str
    year: int
    items: tuple[str, ...]
    joint_departments: tuple[str, ...] = ()


class TaskBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    plan_id: str
    name: str
    window_start: date
    window_end: date
    items: tuple[str, ...]
    departments: tuple[str, ...]  # lead first, then participants (一联合)
    target_filter: EntityFilter = EntityFilter()
    quotas: dict[str, Quota]
    inspectors_per_target: int = 2
    experts_per_target: int = 0
    load_cap: int | None = None
    exclude_recent_days: int | None = None
    temporary: bool = False  # 临时任务: no annual plan (plan_id ""), drawn only after `task.approve`


class BeaconChoice(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    network: str  # beacon ID
    round: int


class CommitBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    beacons: tuple[BeaconChoice, ...]


class RunBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    signatures: tuple[str, ...]  # hex, one per committed beacon round, in the committed order


class VoidBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    reason: str


class RecuseBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    target: str
    reason: str


class SubstituteBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    target: str
    officer: str
    reason: str


class ExtendBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    risk_class: str
    count: int
    reason: str


def check_id(kind: str, value: str) -> None:
    if not ID_PATTERN.match(value):
        raise Refusal("invalid", f"{kind} id {short(value)!r}: use 1-64 letters, digits, '.', '_' or '-',"
                                 " starting with a letter or digit")


def outcome_digest(outcome: DrawOutcome) -> str:
    from ledger.integrity.canonical import canonical_bytes

    return hashlib.sha256(canonical_bytes({"targets": outcome.targets, "teams": outcome.teams})).hexdigest()


def _check_departments(state: State, where: str, codes: tuple[str, ...]) -> None:
    from ledger.domain.directory import Department

    for code in codes:
        if state.get(Department, Department.id_for(code)) is None:
            raise Refusal("unknown_reference", f"{where}: unknown department {short(code)!r}")


def _check_items(state: State, where: str, items: tuple[str, ...], departments: tuple[str, ...]) -> dict[str, str]:
    """Items on the list, active, of a taking-part department: code -> department."""
    from ledger.domain.directory import InspectionItem

    if not items or len(set(items)) != len(items):
        raise Refusal("invalid", f"{where}: name at least one inspection item, each once")
    found: dict[str, str] = {}
    for code in items:
        item = state.get(InspectionItem, InspectionItem.id_for(code))
        if item is None:
            raise Refusal("item_not_listed", f"{where}: item {short(code)!r} is not on the inspection item list"
                                             " (清单之外无检查)")
        if item.record.status != "active":
            raise Refusal("invalid", f"{where}: item {code!r} is {item.record.status}, not active")
        if item.record.department not in departments:
            raise Refusal("invalid", f"{where}: item {code!r} belongs to department {item.record.department},"
                                     " which is not taking part")
        found[code] = item.record.department
    return found


@command("plan.create", "planner")
def decide_plan(state: State, command: Command, _: object) -> list[LedgerAggregate]:
    body: PlanBody = command.body(PlanBody)
    where = f"plan {short(body.plan_id)}"
    check_id("plan", body.plan_id)
    need_text("title", body.title, 200)
    if len(set(body.joint_departments)) != len(body.joint_departments) or body.department in body.joint_departments:
        raise Refusal("invalid", f"{where}: joint departments must be distinct and not the plan's own")
    _check_departments(state, where, (body.department, *body.joint_departments))
    require_jurisdiction(state, command, body.department, where)
    if not 2000 <= body.year <= 2100:
        raise Refusal("invalid", f"{where}: year {body.year} is not plausible")
    _check_items(state, where, body.items, (body.department, *body.joint_departments))
    if state.get(Plan, Plan.create_id(body.plan_id)) is not None:
        raise Refusal("duplicate", f"plan {body.plan_id!r} already exists")
    return [Plan(plan_id=body.plan_id, title=body.title, department=body.department, year=body.year,
                 items=body.items, joint_departments=body.joint_departments, actor=command.actor_id)]


@command("task.create", "planner")
def decide_task(state: State, command: Command, _: object) -> list[LedgerAggregate]:
    spec: TaskBody = command.body(TaskBody)
    where = f"task {short(spec.task_id)}"
    check_id("task", spec.task_id)
    need_text("name", spec.name, 200)
    if spec.window_end < spec.window_start:
        raise Refusal("invalid", f"{where}: window ends ({spec.window_end}) before it starts ({spec.window_start})")
    if spec.inspectors_per_target < 2:
        raise Refusal("invalid", f"{where}: at least two enforcement officers per target (inspectors_per_target >= 2)")
    if spec.experts_per_target < 0 or (spec.load_cap is not None and spec.load_cap < 1):
        raise Refusal("invalid", f"{where}: experts_per_target must be >= 0 and load_cap >= 1")
    if spec.exclude_recent_days is not None and spec.exclude_recent_days < 0:
        raise Refusal("invalid", f"{where}: exclude_recent_days must be >= 0")
    if not spec.departments or len(set(spec.departments)) != len(spec.departments):
        raise Refusal("invalid", f"{where}: name the lead department first, then distinct participants")
    if not spec.quotas:
        raise Refusal("invalid", f"{where}: give a ratio or a count for at least one risk class")
    zero = sorted(k for k, q in spec.quotas.items() if q.count is not None and q.count < 1)
    if zero:
        raise Refusal("invalid", f"{where}: the count of class {', '.join(zero)} must be at least 1"
                                 " (leave a class out to draw none of it)")
    region = spec.target_filter.region_prefix
    if region is not None and not REGION_PREFIX.fullmatch(region):
        raise Refusal("invalid", f"{where}: region {short(region)!r} is not a GB/T 2260 code prefix"
                                 " (2, 4, 6, 9 or 12 digits, e.g. 3605)")
    try:
        check_inputs(DrawInputs(
            task_id=spec.task_id, position=0, committed_at="1970-01-01T00:00:00.000000Z", cooling_off_days=0,
            window_end=spec.window_end.isoformat(),
            departments=spec.departments, items=(), quotas=spec.quotas,
            inspectors_per_target=spec.inspectors_per_target, experts_per_target=spec.experts_per_target,
            load_cap=spec.load_cap, pool={}, excluded=[], inspectors=[], conflicts=[], salt_key="00" * 32,
            classes=class_codes(state),
        ))
    except DrawImpossible as error:
        raise Refusal("invalid", f"{where}: {error}") from None
    _check_departments(state, where, spec.departments)
    require_jurisdiction(state, command, spec.departments[0], where)
    item_departments = _check_items(state, where, spec.items, spec.departments)
    for code in spec.departments[1:]:
        if code not in item_departments.values():
            raise Refusal("invalid", f"{where}: participating department {code} brings no item to the joint task")
    if spec.temporary:
        if spec.plan_id:
            raise Refusal("invalid", f"{where}: a temporary task (临时任务) has no annual plan: leave plan_id empty")
        if state.get(Task, Task.create_id(spec.task_id)) is not None:
            raise Refusal("duplicate", f"task {spec.task_id!r} already exists")
        return [Task(**msgspec.structs.asdict(spec), actor=command.actor_id)]
    plan = state.get(Plan, Plan.create_id(spec.plan_id))
    if plan is None:
        raise Refusal("unknown_reference", f"{where}: unknown plan {short(spec.plan_id)!r}")
    if spec.window_start.year != plan.year or spec.window_end.year > plan.year + 1:
        raise Refusal("invalid", f"{where}: the window {spec.window_start}..{spec.window_end} must start in the"
                                 f" plan's year {plan.year} (and end by the next year)")
    if spec.departments[0] != plan.department:
        raise Refusal("invalid", f"{where}: the lead department must be the plan's ({plan.department})")
    off_plan = [i for i in spec.items if i not in plan.items]
    if off_plan:
        raise Refusal("invalid", f"{where}: item(s) {', '.join(off_plan)} are not in plan {spec.plan_id}")
    strangers = [d for d in spec.departments[1:] if d not in plan.joint_departments]
    if strangers:
        raise Refusal("invalid", f"{where}: department(s) {', '.join(strangers)} are not joint participants of"
                                 f" plan {spec.plan_id}")
    if state.get(Task, Task.create_id(spec.task_id)) is not None:
        raise Refusal("duplicate", f"task {spec.task_id!r} already exists")
    return [Task(**msgspec.structs.asdict(spec), actor=command.actor_id)]


def _task(state: State, task_id: str) -> Task:
    task = state.get_for_update(Task, Task.create_id(task_id))
    if task is None:
        raise Refusal("unknown_task", f"unknown task {short(task_id)!r}")
    return task


MAX_BEACONS = 4


def abandoned(beacons: Any, now: datetime, hours: int) -> bool:
    """Whether a commitment still standing at `now` is abandoned: `hours` have passed since its
    last named round was published. A derived view (nothing is recorded): its outcome is
    computable by anyone from the round's published signature.

    >>> b = BeaconRound(network="n", chain_hash="00", round=1, published_at=0)
    >>> abandoned([b], datetime.fromtimestamp(3600, UTC), 1), abandoned([b], datetime.fromtimestamp(3599, UTC), 1)
    (True, False)
    """
    return now.timestamp() >= max(int(b.published_at) for b in beacons) + hours * 3600


def beacon_network(state: State, beacon_id: str) -> Any:
    """The pinned network `beacon_id` (ledger.beacon BeaconNetwork), or None."""
    from ledger.beacon.network import BeaconNetwork
    from ledger.domain.actors import Ledger

    ledger = state.get(Ledger, Ledger.ID)
    info = ledger.beacons.get(beacon_id) if ledger is not None else None
    return BeaconNetwork.from_chain_info(info) if info is not None else None


def _frozen_inputs(state: State, command: Command, task: Task, inputs: object, where: str) -> DrawInputs:
    """The attachment of a commitment: the task's inputs read at exactly this position."""
    from ledger.domain.settings import governance
    from ledger.domain.tasks import check_general_ceilings
    from ledger.integrity.canonical import rfc3339

    if not isinstance(inputs, DrawInputs) or inputs.task_id != task.task_id or inputs.position != state.position:
        raise Refusal("invalid", f"{where}: draw inputs as of position {state.position} are needed")
    if inputs.committed_at != rfc3339(command.recorded_at):
        raise Refusal("invalid", f"{where}: the inputs must be read at the commitment's own time")
    if inputs.cooling_off_days != governance(state).draw_cooling_off_days:
        raise Refusal("invalid", f"{where}: the inputs must apply the cooling-off period in force")
    if not HEX64.fullmatch(inputs.salt_key):
        raise Refusal("invalid", f"{where}: the salt key must be 64 lowercase hex digits (32 random bytes)")
    if tuple(inputs.classes) != class_codes(state) or inputs.window_end != task.window_end.isoformat():
        raise Refusal("invalid", f"{where}: the inputs must apply the class set in force and the task's window")
    try:
        check_feasible(inputs)
    except DrawImpossible as error:
        raise Refusal("draw_impossible", f"{where} cannot be drawn: {error}") from None
    check_general_ceilings(state, task, inputs, where)
    return inputs


@command("draw.commit", "drawer", attachment=True)
def decide_commit(state: State, command: Command, inputs: object) -> list[LedgerAggregate]:
    """Freeze the inputs at this position and name future beacon rounds."""
    body: CommitBody = command.body(CommitBody)
    task = _task(state, body.task_id)
    where = f"task {body.task_id}"
    require_jurisdiction(state, command, task.departments[0], where)
    if task.drawn:
        raise Refusal("already_drawn", f"{where} is already drawn: void it (with a reason) before a new draw")
    if task.commitment is not None:
        raise Refusal("already_committed", f"{where} already has a commitment waiting for its draw")
    if not getattr(task, "approved", True):
        raise Refusal("needs_approval", f"{where} is a temporary task (临时任务) not yet approved:"
                                        f" `drledger task approve {body.task_id}` by a second actor")
    if not body.beacons or len(body.beacons) > MAX_BEACONS:
        raise Refusal("invalid", f"{where}: name 1 to {MAX_BEACONS} beacon rounds")
    if len({b.network for b in body.beacons}) != len(body.beacons):
        raise Refusal("invalid", f"{where}: name each beacon network once")
    now = int(command.recorded_at.timestamp())
    rounds: list[BeaconRound] = []
    for choice in body.beacons:
        network = beacon_network(state, choice.network)
        if network is None:
            raise Refusal("unknown_beacon", f"{where}: beacon network {short(choice.network)!r} is not pinned by"
                                            " this ledger")
        if not 1 <= choice.round < 2**63:
            raise Refusal("invalid", f"{where}: beacon round {choice.round} is not a round number")
        published = network.published_at(choice.round)
        if published <= now:
            raise Refusal("beacon_round_not_future", f"{where}: {choice.network} round {choice.round} is published"
                                                     f" at {published}, not after the commitment ({now}): name a"
                                                     f" round from {network.round_at(now + 1)} on")
        rounds.append(BeaconRound(network=choice.network, chain_hash=network.chain_hash.hex(), round=choice.round,
                                  published_at=published))
    frozen = _frozen_inputs(state, command, task, inputs, where)
    pool = summarise_pool(frozen)
    task.commit(task_id=body.task_id, position=frozen.position, committed_at=frozen.committed_at,
                cooling_off_days=frozen.cooling_off_days, inputs_digest=inputs_digest(frozen),
                pool_roots=pool.pool_roots, pool_root=pool.pool_root, counts=pool.counts,
                excluded=len(frozen.excluded), beacons=tuple(rounds), salt_key=frozen.salt_key,
                classes=frozen.classes, window_end=frozen.window_end,
                annual_cap=draw_settings(state).annual_cap_per_firm, actor=command.actor_id)
    return [task]


@command("draw.run", "drawer", attachment=True)
def decide_run(state: State, command: Command, inputs: object) -> list[LedgerAggregate]:
    """`inputs`: the frozen inputs of the standing commitment (rebuilt from events by `verify`)."""
    from ledger.beacon.errors import BeaconInvalid
    from ledger.beacon.verify import parse_signature_hex, verify_round

    body: RunBody = command.body(RunBody)
    task = _task(state, body.task_id)
    where = f"task {body.task_id}"
    require_jurisdiction(state, command, task.departments[0], where)
    if task.drawn:
        raise Refusal("already_drawn", f"{where} is already drawn: void it (with a reason) before a new draw")
    commitment = task.commitment
    if commitment is None:
        raise Refusal("not_committed", f"{where} has no commitment: run `drledger draw commit {body.task_id}` first")
    if len(body.signatures) != len(commitment.beacons):
        raise Refusal("invalid", f"{where}: the commitment names {len(commitment.beacons)} beacon round(s);"
                                 f" {len(body.signatures)} signature(s) were given")
    outputs: list[BeaconOutput] = []
    for named, signature in zip(commitment.beacons, body.signatures):
        network = beacon_network(state, named.network)
        try:
            randomness = verify_round(network, named.round, parse_signature_hex(signature))
        except BeaconInvalid as error:
            raise Refusal("beacon_invalid", f"{where}: {named.network} round {named.round}: {error}") from None
        outputs.append(BeaconOutput(network=named.network, chain_hash=named.chain_hash, round=named.round,
                                    randomness=randomness.hex()))
    if not isinstance(inputs, DrawInputs) or inputs.task_id != body.task_id or inputs.position != commitment.position \
            or inputs_digest(inputs) != commitment.inputs_digest:
        raise Refusal("invalid", f"{where}: the inputs frozen at the commitment (position {commitment.position})"
                                 " are needed")
    try:
        outcome = compute(inputs, outputs, commitment.pool)  # the digest matched: the committed pool's roots
    except DrawImpossible as error:
        raise Refusal("draw_impossible", f"{where} cannot be drawn: {error}") from None
    task.record_draw(
        task_id=body.task_id, position=commitment.position, inputs_digest=commitment.inputs_digest,
        beacons=tuple(outputs), signatures=body.signatures, seed=outcome.seed, targets=outcome.targets,
        teams=outcome.teams, outcome_digest=outcome_digest(outcome), actor=command.actor_id,
    )
    return [task]


def results_exist(state: State, task: Task, targets: tuple[str, ...] | None = None) -> bool:
    """Whether a result is recorded for any of `targets` (default: every drawn target) of the task."""
    from ledger.domain.results import department_results

    wanted = targets if targets is not None else tuple(team.target for team in task.teams)
    return any(department_results(state, task, target) for target in wanted)


@command("draw.void", "drawer")
def decide_void(state: State, command: Command, _: object) -> list[LedgerAggregate]:
    """Void the standing draw, or a commitment not yet drawn, with a reason.

    Once a committed round is published the outcome is fixed and public, and
    once results exist they rest on the draw: either void then needs a
    proposal approved by m of n including discipline (纪检)."""
    body: VoidBody = command.body(VoidBody)
    need_text("reason", body.reason)
    task = _task(state, body.task_id)
    where = f"task {body.task_id}"
    require_jurisdiction(state, command, task.departments[0], where)
    if task.drawn:
        if results_exist(state, task):
            raise Refusal("needs_approval", f"{where}: results rest on this draw; voiding it needs an approved"
                                            " proposal (`drledger proposal open --action void_draw`)")
        task.void(task_id=body.task_id, reason=body.reason, commitment_only=False, actor=command.actor_id)
        return [task]
    if task.commitment is None:
        raise Refusal("not_drawn", f"{where} has no standing draw or commitment to void")
    now = int(command.recorded_at.timestamp())
    if any(b.published_at <= now for b in task.commitment.beacons):
        raise Refusal("needs_approval", f"{where}: a committed beacon round is published, so the outcome is fixed;"
                                        " voiding the commitment needs an approved proposal"
                                        " (`drledger proposal open --action void_draw`)")
    task.void(task_id=body.task_id, reason=body.reason, commitment_only=True, actor=command.actor_id)
    return [task]


# ---------------------------------------------------------------------------
# After the draw, without a redraw: substitution (替换) and 补抽 (draw/spec.py steps 7-8).


def substitution_cap(task: Task) -> int:
    """At most one substitution in ten targets (at least one) per draw."""
    return max(1, len(task.teams) // 10)


def _drawn_task(state: State, task_id: str, inputs: object, where: str) -> tuple[Task, DrawInputs]:
    task = _task(state, task_id)
    if not task.drawn or task.drawn_from is None or task.seed is None:
        raise Refusal("not_drawn", f"{where} has no standing draw")
    frozen = task.drawn_from
    if not isinstance(inputs, DrawInputs) or inputs.task_id != task_id or inputs.position != frozen.position \
            or inputs_digest(inputs) != frozen.inputs_digest:
        raise Refusal("invalid", f"{where}: the inputs frozen by the draw's commitment (position {frozen.position})"
                                 " are needed")
    return task, inputs


def _replace(state: State, command: Command, task_id: str, target: str, leaving: str, basis: str, reason: str,
             inputs: object) -> list[LedgerAggregate]:
    from ledger.draw.spec import replacement

    where = f"task {task_id}"
    need_text("reason", reason)
    task, frozen = _drawn_task(state, task_id, inputs, where)
    team = task.team_of(target)
    if team is None:
        raise Refusal("not_drawn", f"{where}: {short(target)} is not a drawn target")
    if leaving not in team.inspectors:
        raise Refusal("not_on_team", f"{where}: {short(leaving)} is not an officer of the team of {target}")
    if results_exist(state, task, (target,)):
        raise Refusal("result_exists", f"{where}: a result for {target} is recorded: its team stands as it was")
    if task.substitutions >= substitution_cap(task):
        raise Refusal("substitution_cap", f"{where}: {task.substitutions} substitution(s) already, the most this"
                                          f" draw allows ({substitution_cap(task)}: one in ten targets)")
    assert task.seed is not None
    try:
        joining = replacement(frozen, task.seed, task.teams, target, leaving, task.left.get(target, ()))
    except DrawImpossible as error:
        raise Refusal("draw_impossible", f"{where}: {error}") from None
    task.substitute(task_id=task_id, target=target, leaving=leaving, joining=joining, basis=basis, reason=reason,
                    actor=command.actor_id)
    return [task]


@command("draw.recuse", "inspector", attachment=True)
def decide_recuse(state: State, command: Command, inputs: object) -> list[LedgerAggregate]:
    """An officer of a drawn team declares a conflict (回避) with its target, signed by itself; the
    draw's ranking names who takes the place."""
    from ledger.domain.directory import Inspector

    body: RecuseBody = command.body(RecuseBody)
    # The signer is the officer of its own badge (its id), but an actor is registered by an admin of
    # some department: one signing for a badge of a department it does not cover (registered before
    # the badge was imported, or the badge moved since) must not pull that officer off a team. The
    # same rule as result.record; draw.substitute checks the reviewer against the lead department.
    badge = state.get(Inspector, Inspector.id_for(command.actor_id))
    if badge is not None:  # no badge: on no team, refused not_on_team below
        require_jurisdiction(state, command, badge.record.department, f"回避 of {short(command.actor_id)}"
                                                                     f" in task {short(body.task_id)}")
    return _replace(state, command, body.task_id, body.target, command.actor_id, "recusal", body.reason, inputs)


@command("draw.substitute", "reviewer", attachment=True)
def decide_substitute(state: State, command: Command, inputs: object) -> list[LedgerAggregate]:
    """A reviewer of the lead department approves replacing an officer (illness, leave)."""
    body: SubstituteBody = command.body(SubstituteBody)
    task = _task(state, body.task_id)
    require_jurisdiction(state, command, task.departments[0], f"task {body.task_id}")
    return _replace(state, command, body.task_id, body.target, body.officer, "approval", body.reason, inputs)


@command("draw.extend", "drawer", attachment=True)
def decide_extend(state: State, command: Command, inputs: object) -> list[LedgerAggregate]:
    """补抽: more targets of one class, continuing the draw's order, with their teams."""
    from ledger.draw.spec import extension

    body: ExtendBody = command.body(ExtendBody)
    where = f"task {body.task_id}"
    need_text("reason", body.reason)
    task = _task(state, body.task_id)
    require_jurisdiction(state, command, task.departments[0], where)
    task, frozen = _drawn_task(state, body.task_id, inputs, where)
    if not 1 <= body.count <= 10_000:
        raise Refusal("invalid", f"{where}: count must be 1-10000")
    assert task.seed is not None
    try:
        targets, teams = extension(frozen, task.seed, task.targets, task.teams, body.risk_class, body.count)
    except DrawImpossible as error:
        raise Refusal("draw_impossible", f"{where}: {error}") from None
    task.extend(task_id=body.task_id, risk_class=body.risk_class, targets=targets, teams=teams, reason=body.reason,
                actor=command.actor_id)
    return [task]
