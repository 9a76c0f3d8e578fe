"""Plans, tasks and draws: the write side of `drledger plan/task/draw`.

Commit-reveal: `commit` makes a 256-bit secret, keeps it (0600) and records
only its SHA-256; `run` freezes the pool at the current ledger position,
reveals the secret, derives the seed and records targets and teams in one
transaction, signed by the drawer over the outcome's digest. A second draw
needs a visible void with a reason and a fresh commitment.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import msgspec

from ledger.application import LedgerApplication, Refused
from ledger.domain.draws import Plan, Task
from ledger.domain.filters import EntityFilter, InspectorFilter
from ledger.draw.spec import (
    SECRET_FORM, Candidate, DrawImpossible, DrawInputs, DrawOutcome, ItemRef, Quota, check_inputs, compute,
    inputs_digest,
)
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.commands import sign_command
from ledger.integrity.keys import Signer
from ledger.projections import all_projections
from ledger.projections.directory import from_column
from ledger.projections.pools import conflicts, list_departments, list_items, pool_snapshot, query_inspectors
from ledger.projections.runner import catch_up, writable_connection
from ledger.setup import open_for_writing
from ledger.store.config import StoreConfig

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DRAWER_ROLE = "drawer"


class TaskSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
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


def check_id(kind: str, value: str) -> None:
    if not ID_PATTERN.match(value):
        raise Refused(f"{kind} id {value!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")


def outcome_digest(outcome: DrawOutcome) -> str:
    return hashlib.sha256(canonical_bytes({"targets": outcome.targets, "teams": outcome.teams})).hexdigest()


def _directory(config: StoreConfig) -> tuple[set[str], dict[str, Any]]:
    catch_up(config, all_projections())
    with writable_connection(config) as (conn, dialect, _):
        return {d.code for d in list_departments(conn, dialect)}, {i.code: i for i in list_items(conn, dialect)}


def _app(config: StoreConfig) -> LedgerApplication:
    return open_for_writing(config)  # type: ignore[no-any-return]


def _load(app: LedgerApplication, cls: type, key: str, what: str) -> Any:
    from eventsourcing.application import AggregateNotFoundError

    try:
        return app.repository.get(cls.create_id(**{f"{what}_id": key}))
    except AggregateNotFoundError:
        raise Refused(f"unknown {what} {key!r}") from None


def create_plan(config: StoreConfig, *, plan_id: str, title: str, department: str, year: int,
                items: tuple[str, ...], joint_departments: tuple[str, ...], actor: str) -> None:
    check_id("plan", plan_id)
    departments, known_items = _directory(config)
    for code in (department, *joint_departments):
        if code not in departments:
            raise Refused(f"plan {plan_id}: unknown department {code!r}")
    if not 2000 <= year <= 2100:
        raise Refused(f"plan {plan_id}: year {year} is not plausible")
    _check_items(f"plan {plan_id}", items, known_items, (department, *joint_departments))
    app = _app(config)
    try:
        if Plan.create_id(plan_id) in app.repository:
            raise Refused(f"plan {plan_id!r} already exists")
        app.save(Plan(plan_id=plan_id, title=title, department=department, year=year, items=items,
                      joint_departments=joint_departments, actor=actor))
    finally:
        app.close()
    catch_up(config, all_projections())


def _check_items(where: str, items: tuple[str, ...], known: dict[str, Any], departments: tuple[str, ...]) -> None:
    if not items:
        raise Refused(f"{where}: name at least one inspection item")
    for code in items:
        item = known.get(code)
        if item is None:
            raise Refused(f"{where}: item {code!r} is not on the inspection item list (清单之外无检查)")
        if item.status != "active":
            raise Refused(f"{where}: item {code!r} is {item.status}, not active")
        if item.department not in departments:
            raise Refused(f"{where}: item {code!r} belongs to department {item.department}, which is not taking part")


def create_task(config: StoreConfig, spec: TaskSpec, actor: str) -> None:
    where = f"task {spec.task_id}"
    check_id("task", spec.task_id)
    if spec.window_end < spec.window_start:
        raise Refused(f"{where}: window ends ({spec.window_end}) before it starts ({spec.window_start})")
    if spec.inspectors_per_target < 2:
        raise Refused(f"{where}: at least two enforcement officers per target (inspectors_per_target >= 2)")
    if spec.experts_per_target < 0 or (spec.load_cap is not None and spec.load_cap < 1):
        raise Refused(f"{where}: experts_per_target must be >= 0 and load_cap >= 1")
    if spec.exclude_recent_days is not None and spec.exclude_recent_days < 0:
        raise Refused(f"{where}: exclude_recent_days must be >= 0")
    if not spec.departments or len(set(spec.departments)) != len(spec.departments):
        raise Refused(f"{where}: name the lead department first, then distinct participants")
    try:
        check_inputs(DrawInputs(
            task_id=spec.task_id, commitment=hashlib.sha256(bytes(32)).hexdigest(), secret="00" * 32, beacon="",
            position=0, departments=spec.departments, items=(), quotas=spec.quotas,
            inspectors_per_target=spec.inspectors_per_target, experts_per_target=spec.experts_per_target,
            load_cap=spec.load_cap, pool={}, excluded=[], inspectors=[], conflicts=[],
        ))
    except DrawImpossible as error:
        raise Refused(f"{where}: {error}") from None
    if not spec.quotas:
        raise Refused(f"{where}: give a ratio or a count for at least one risk class")
    departments, known_items = _directory(config)
    for code in spec.departments:
        if code not in departments:
            raise Refused(f"{where}: unknown department {code!r}")
    _check_items(where, spec.items, known_items, spec.departments)
    for code in spec.departments[1:]:
        if not any(known_items[i].department == code for i in spec.items):
            raise Refused(f"{where}: participating department {code} brings no item to the joint task")
    app = _app(config)
    try:
        plan = _load(app, Plan, spec.plan_id, "plan")
        if spec.departments[0] != plan.department:
            raise Refused(f"{where}: the lead department must be the plan's ({plan.department})")
        off_plan = [i for i in spec.items if i not in plan.items]
        if off_plan:
            raise Refused(f"{where}: item(s) {', '.join(off_plan)} are not in plan {spec.plan_id}")
        strangers = [d for d in spec.departments[1:] if d not in plan.joint_departments]
        if strangers:
            raise Refused(f"{where}: department(s) {', '.join(strangers)} are not joint participants of plan {spec.plan_id}")
        if Task.create_id(spec.task_id) in app.repository:
            raise Refused(f"task {spec.task_id!r} already exists")
        fields = msgspec.structs.asdict(spec)
        app.save(Task(**fields, actor=actor))
    finally:
        app.close()
    catch_up(config, all_projections())


def secret_path(config: StoreConfig, task_id: str, commitment: str) -> Path:
    """One file per commitment: a redraw after a void gets a fresh secret."""
    return config.home / "secrets" / f"{task_id}-{commitment[:16]}.secret"


def latest_secret_path(config: StoreConfig, task_id: str) -> Path:
    """The newest kept secret of a task (run checks it against the commitment)."""
    kept = sorted((config.home / "secrets").glob(f"{task_id}-*.secret"), key=lambda p: p.stat().st_mtime)
    if not kept:
        raise Refused(f"no kept secret for task {task_id} under {config.home / 'secrets'}: give --secret FILE")
    return kept[-1]


def commit_draw(config: StoreConfig, task_id: str, drawer: Signer, actor: str, *,
                beacon_round: str | None = None, secret_out: Path | None = None) -> tuple[Path, str]:
    """Make and keep a secret; record only its SHA-256. Returns (secret file, commitment)."""
    app = _app(config)
    try:
        task = _load(app, Task, task_id, "task")
        if task.drawn:
            raise Refused(f"task {task_id} is already drawn: void it (with a reason) before a new draw")
        if task.commitment is not None:
            raise Refused(f"task {task_id} already has a commitment waiting for its draw")
        secret = secrets.token_bytes(32)
        commitment = hashlib.sha256(secret).hexdigest()
        body = {"task_id": task_id, "commitment": commitment, "beacon_round": beacon_round}
        signed = sign_command(drawer, actor, "draw.commit", body)
        app.authorise(signed, "draw.commit", body, DRAWER_ROLE)
        path = secret_out or secret_path(config, task_id, commitment)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secret.hex() + "\n")
        try:
            task.commit(task_id=task_id, commitment=commitment, beacon_round=beacon_round, actor=actor, signed=signed)
            app.save(task)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    finally:
        app.close()
    catch_up(config, all_projections())
    return path, commitment


def read_secret(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise Refused(f"secret file not found: {path}") from None
    if not SECRET_FORM.fullmatch(text):
        raise Refused(f"secret file {path} must hold 64 lowercase hex digits")
    return text


def gather_inputs(config: StoreConfig, task: Task, position: int, secret: str, beacon: str) -> DrawInputs:
    """The draw's inputs from the read models as of `position` (write path)."""
    catch_up(config, all_projections())
    with writable_connection(config) as (conn, dialect, _):
        items = {i.code: i for i in list_items(conn, dialect, position)}
        snapshot = pool_snapshot(conn, dialect, task.target_filter, position)
        excluded = recently_inspected(conn, dialect, task, position)
        pool = {k: [u for u in ids if u not in excluded] for k, ids in snapshot.ids.items()}
        inspectors = query_inspectors(conn, dialect, InspectorFilter(), position)
        declared = sorted(conflicts(conn, dialect, position))
    return DrawInputs(
        task_id=task.task_id, commitment=task.commitment or "", secret=secret, beacon=beacon, position=position,
        departments=task.departments, items=tuple(ItemRef(code, items[code].department) for code in task.items),
        quotas=task.quotas, inspectors_per_target=task.inspectors_per_target,
        experts_per_target=task.experts_per_target, load_cap=task.load_cap, pool=pool,
        excluded=sorted(excluded, key=str.encode),
        inspectors=[Candidate(i.badge, i.department, i.role, i.status, i.qualifications) for i in inspectors],
        conflicts=declared,
    )


def recently_inspected(conn: Any, dialect: Any, task: Task, position: int) -> set[str]:
    """Targets of other draws standing at `position` that share an item and ended within N days."""
    if not task.exclude_recent_days:
        return set()
    since = task.window_start - timedelta(days=task.exclude_recent_days)
    p = dialect.placeholder
    cursor = conn.cursor()
    cursor.execute(
        f"SELECT t.task_id, t.items, t.window_end, d.uscc FROM {dialect.table('draw_teams')} d"
        f" JOIN {dialect.table('draw_tasks')} t ON t.task_id = d.task_id"
        f" WHERE d.drawn_seq <= {p} AND (d.valid_to IS NULL OR d.valid_to > {p}) AND t.task_id <> {p}",
        (position, position, task.task_id),
    )
    mine = set(task.items)
    return {
        uscc for _, items, window_end, uscc in cursor.fetchall()
        if mine & set(from_column(items, True)) and date.fromisoformat(window_end) >= since
    }


def run_draw(config: StoreConfig, task_id: str, secret: str, beacon: str, drawer: Signer, actor: str) -> DrawOutcome:
    app = _app(config)
    try:
        task = _load(app, Task, task_id, "task")
        if task.drawn:
            raise Refused(f"task {task_id} is already drawn: void it (with a reason) before a new draw")
        if task.commitment is None:
            raise Refused(f"task {task_id} has no commitment: run `drledger draw commit {task_id}` first")
        if not SECRET_FORM.fullmatch(secret):
            raise Refused(f"task {task_id}: the secret must be exactly 64 lowercase hex digits")
        if hashlib.sha256(bytes.fromhex(secret)).hexdigest() != task.commitment:
            raise Refused(f"task {task_id}: the secret does not match the commitment recorded before the draw")
        if task.beacon_round and not beacon:
            raise Refused(f"task {task_id}: the commitment names beacon round {task.beacon_round}; give its value with --beacon")
        if "\n" in beacon:
            raise Refused("the beacon value must be one line")
        position = _head(config)
        inputs = gather_inputs(config, task, position, secret, beacon)
        try:
            outcome = compute(inputs)
        except DrawImpossible as error:
            raise Refused(f"task {task_id} cannot be drawn: {error}") from None
        digest = outcome_digest(outcome)
        covered = inputs_digest(inputs)
        body = {"task_id": task_id, "position": position, "commitment": task.commitment, "beacon": beacon,
                "pool_root": outcome.pool_root, "seed": outcome.seed, "outcome_digest": digest,
                "inputs_digest": covered}
        signed = sign_command(drawer, actor, "draw.run", body)
        app.authorise(signed, "draw.run", body, DRAWER_ROLE)
        task.record_draw(
            task_id=task_id, position=position, commitment=task.commitment, secret=secret, beacon=beacon,
            pool_roots=outcome.pool_roots, pool_root=outcome.pool_root, counts=outcome.counts,
            excluded=inputs.excluded, seed=outcome.seed, targets=outcome.targets, teams=outcome.teams,
            outcome_digest=digest, inputs_digest=covered, actor=actor, signed=signed,
        )
        app.save(task)
    finally:
        app.close()
    catch_up(config, all_projections())
    return outcome


def _head(config: StoreConfig) -> int:
    from ledger.store.reader import open_reader

    with open_reader(config) as reader:
        return reader.size()


def void_draw(config: StoreConfig, task_id: str, reason: str, drawer: Signer, actor: str) -> None:
    if not reason.strip():
        raise Refused("a void needs a reason")
    app = _app(config)
    try:
        task = _load(app, Task, task_id, "task")
        if not task.drawn:
            raise Refused(f"task {task_id} has no standing draw to void")
        body = {"task_id": task_id, "reason": reason}
        signed = sign_command(drawer, actor, "draw.void", body)
        app.authorise(signed, "draw.void", body, DRAWER_ROLE)
        task.void(task_id=task_id, reason=reason, actor=actor, signed=signed)
        app.save(task)
    finally:
        app.close()
    catch_up(config, all_projections())

