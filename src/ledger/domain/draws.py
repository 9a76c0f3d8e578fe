"""Plans, tasks and their draws (统一抽查流程 steps 1-3): aggregates and decisions.

A planner creates plans and tasks of its department; a drawer commits to a
secret (commit), then reveals it (run): the draw is computed from the
task's parameters and the draw inputs at the ledger position of the run,
and recorded with the pool position, the revealed secret, the beacon, the
pool roots and counts, the excluded targets, the seed, the targets per
class and the teams. A second draw needs a visible void with a reason and a
fresh commitment.

The draw inputs (pool, inspectors, conflicts as of the position) come in
beside the command: the write path reads them from its read models, `verify`
rebuilds them from events alone (verify/draws.py) and re-executes the same
decision, so inputs that differ from the ledger's make `verify` fail.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, natural_id
from ledger.domain.commands import Command, Refusal, State, command, need_text, require_jurisdiction, short
from ledger.domain.filters import EntityFilter
from ledger.draw.spec import SECRET_FORM, DrawImpossible, DrawInputs, DrawOutcome, Quota, Team, check_inputs, compute


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
    commitment: str | None
    beacon_round: str | None
    drawn: bool
    draws: int
    targets: dict[str, list[str]]
    teams: list[Team]
    team_index: dict[str, int]

    @staticmethod
    def create_id(task_id: str, **_: Any) -> UUID:
        return natural_id("task", task_id)

    @event("Created")
    def __init__(self, task_id: str, plan_id: str, name: str, window_start: date, window_end: date,
                 items: tuple[str, ...], departments: tuple[str, ...], target_filter: EntityFilter,
                 quotas: dict[str, Quota], inspectors_per_target: int, experts_per_target: int,
                 load_cap: int | None, exclude_recent_days: int | None, actor: str) -> None:
        self.task_id = task_id
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
        self.beacon_round = None
        self.drawn = False
        self.draws = 0
        self.targets = {}
        self.teams = []
        self.team_index = {}

    @event("Committed")
    def commit(self, task_id: str, commitment: str, beacon_round: str | None, actor: str) -> None:
        self.commitment = commitment
        self.beacon_round = beacon_round

    @event("Drawn")
    def record_draw(
        self, task_id: str, position: int, commitment: str, secret: str, beacon: str, pool_roots: dict[str, str],
        pool_root: str, counts: dict[str, int], excluded: list[str], seed: str, targets: dict[str, list[str]],
        teams: list[Team], outcome_digest: str, inputs_digest: str, actor: str,
    ) -> None:
        self.drawn = True
        self.draws += 1
        self.commitment = None  # a redraw after a void needs a fresh commitment
        self.targets = targets
        self.teams = teams
        self.team_index = {team.target: i for i, team in enumerate(teams)}

    @event("Voided")
    def void(self, task_id: str, reason: str, actor: str) -> None:
        self.drawn = False
        self.targets = {}
        self.teams = []
        self.team_index = {}

    def team_of(self, uscc: str) -> Team | None:
        """The team a standing draw assigned to `uscc`, None if it was not drawn."""
        index = self.team_index.get(uscc) if self.drawn else None
        return self.teams[index] if index is not None else None



# ---------------------------------------------------------------------------
# Decisions.

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


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


class CommitBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    commitment: str
    beacon_round: str | None = None


class RunBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    secret: str
    beacon: str = ""


class VoidBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
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
    try:
        check_inputs(DrawInputs(
            task_id=spec.task_id, commitment=hashlib.sha256(bytes(32)).hexdigest(), secret="00" * 32, beacon="",
            position=0, departments=spec.departments, items=(), quotas=spec.quotas,
            inspectors_per_target=spec.inspectors_per_target, experts_per_target=spec.experts_per_target,
            load_cap=spec.load_cap, pool={}, excluded=[], inspectors=[], conflicts=[],
        ))
    except DrawImpossible as error:
        raise Refusal("invalid", f"{where}: {error}") from None
    _check_departments(state, where, spec.departments)
    require_jurisdiction(state, command, spec.departments[0], where)
    item_departments = _check_items(state, where, spec.items, spec.departments)
    for code in spec.departments[1:]:
        if code not in item_departments.values():
            raise Refusal("invalid", f"{where}: participating department {code} brings no item to the joint task")
    plan = state.get(Plan, Plan.create_id(spec.plan_id))
    if plan is None:
        raise Refusal("unknown_reference", f"{where}: unknown plan {short(spec.plan_id)!r}")
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


@command("draw.commit", "drawer")
def decide_commit(state: State, command: Command, _: object) -> list[LedgerAggregate]:
    body: CommitBody = command.body(CommitBody)
    task = _task(state, body.task_id)
    require_jurisdiction(state, command, task.departments[0], f"task {body.task_id}")
    if task.drawn:
        raise Refusal("already_drawn", f"task {body.task_id} is already drawn: void it (with a reason) before a new draw")
    if task.commitment is not None:
        raise Refusal("already_committed", f"task {body.task_id} already has a commitment waiting for its draw")
    if not SECRET_FORM.fullmatch(body.commitment):
        raise Refusal("invalid", "the commitment must be the SHA-256 of the secret: 64 lowercase hex digits")
    if body.beacon_round is not None:
        need_text("beacon_round", body.beacon_round, 64)
    task.commit(task_id=body.task_id, commitment=body.commitment, beacon_round=body.beacon_round,
                actor=command.actor_id)
    return [task]


@command("draw.run", "drawer", attachment=True)
def decide_run(state: State, command: Command, inputs: object) -> list[LedgerAggregate]:
    """`inputs`: the draw inputs as of this position (rebuilt from events by `verify`)."""
    body: RunBody = command.body(RunBody)
    task = _task(state, body.task_id)
    where = f"task {body.task_id}"
    require_jurisdiction(state, command, task.departments[0], where)
    if task.drawn:
        raise Refusal("already_drawn", f"{where} is already drawn: void it (with a reason) before a new draw")
    if task.commitment is None:
        raise Refusal("not_committed", f"{where} has no commitment: run `drledger draw commit {body.task_id}` first")
    if not SECRET_FORM.fullmatch(body.secret):
        raise Refusal("invalid", f"{where}: the secret must be exactly 64 lowercase hex digits")
    if hashlib.sha256(bytes.fromhex(body.secret)).hexdigest() != task.commitment:
        raise Refusal("secret_mismatch", f"{where}: the secret does not match the commitment recorded before the draw")
    if task.beacon_round and not body.beacon:
        raise Refusal("invalid", f"{where}: the commitment names beacon round {task.beacon_round}; give its value")
    if "\n" in body.beacon or len(body.beacon) > 1000:
        raise Refusal("invalid", "the beacon value must be one line of at most 1000 characters")
    if not isinstance(inputs, DrawInputs) or inputs.task_id != body.task_id or inputs.position != state.position:
        raise Refusal("invalid", f"{where}: draw inputs as of position {state.position} are needed")
    inputs = msgspec.structs.replace(inputs, commitment=task.commitment, secret=body.secret, beacon=body.beacon)
    try:
        outcome = compute(inputs)
    except DrawImpossible as error:
        raise Refusal("draw_impossible", f"{where} cannot be drawn: {error}") from None
    from ledger.draw.spec import inputs_digest

    task.record_draw(
        task_id=body.task_id, position=inputs.position, commitment=task.commitment, secret=body.secret,
        beacon=body.beacon, pool_roots=outcome.pool_roots, pool_root=outcome.pool_root, counts=outcome.counts,
        excluded=inputs.excluded, seed=outcome.seed, targets=outcome.targets, teams=outcome.teams,
        outcome_digest=outcome_digest(outcome), inputs_digest=inputs_digest(inputs), actor=command.actor_id,
    )
    return [task]


@command("draw.void", "drawer")
def decide_void(state: State, command: Command, _: object) -> list[LedgerAggregate]:
    body: VoidBody = command.body(VoidBody)
    need_text("reason", body.reason)
    task = _task(state, body.task_id)
    require_jurisdiction(state, command, task.departments[0], f"task {body.task_id}")
    if not task.drawn:
        raise Refusal("not_drawn", f"task {body.task_id} has no standing draw to void")
    task.void(task_id=body.task_id, reason=body.reason, actor=command.actor_id)
    return [task]
