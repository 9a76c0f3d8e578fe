"""Plans, tasks and draws: signed on the actor's side, decided by the ledger.

Each function takes the open ledger (`LedgerService`) and the acting actor's
own `Signer`, builds the command body (domain/draws.py), signs it locally and
submits it; a refusal raises `CommandRefused` after the ledger recorded it.

A draw (v2) has two signed steps and no secret. `commit_draw` names future
rounds of pinned public beacons; the ledger reads the draw inputs at exactly
the head (`draw_inputs_source`, from the read models, caught up under the
writer lock) and records their digest: they are frozen there. `run_draw`
brings the rounds' signatures; the ledger reads the same inputs again as of
the commitment's position (the read models are temporal), checks the digest,
verifies every signature and records the draw. `verify` rebuilds the same
inputs from events (verify/draws.py `DrawState.inputs_at`) and re-executes
both decisions.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.commands import Command, Refusal, short
from ledger.domain.draws import (
    BeaconChoice,
    CommitBody,
    ExtendBody,
    PlanBody,
    RecuseBody,
    RunBody,
    SubstituteBody,
    Task,
    TaskBody,
    VoidBody,
)
from ledger.domain.filters import InspectorFilter
from ledger.draw.spec import RISK_CLASSES, Candidate, DrawInputs, DrawOutcome, ItemRef, Team, class_pool
from ledger.integrity.commands import SignedCommand, sign_command
from ledger.integrity.keys import Signer
from ledger.services.ledger import LedgerService
from ledger.services.processor import AttachmentSource
from ledger.services.receipts import Receipt
from ledger.store.config import StoreConfig

__all__ = [
    "BeaconChoice", "CommitBody", "DrawRecord", "PlanBody", "RunBody", "TaskBody", "VoidBody", "commit_draw",
    "create_plan", "create_task", "default_round", "draw_inputs_source", "gather_inputs", "pinned_networks",
    "run_draw", "void_draw", "DrawAttempt", "draw_attempts", "draw_attempts_from_events", "outcome_of_commitment",
    "recuse", "substitute", "extend",
]

# A round named by default is published at least this long after the commitment.
DEFAULT_BEACON_DELAY = 600


class DrawRecord(DrawOutcome, frozen=True, kw_only=True):
    """The draw as the ledger recorded it (its `Task.Drawn` event)."""

    task_id: str
    position: int  # the head position the inputs were read at
    drawn_at: int  # the position of the Drawn event
    receipt: Receipt


def _sign(signer: Signer, actor: str, name: str, body: msgspec.Struct) -> SignedCommand:
    return sign_command(signer, actor, name, msgspec.to_builtins(body))


# ---------------------------------------------------------------------------
# Plans and tasks.


def create_plan(ledger: LedgerService, signer: Signer, actor: str, body: PlanBody) -> Receipt:
    """`plan.create` by a planner of the plan's department (or above)."""
    return ledger.submit(_sign(signer, actor, "plan.create", body))


def create_task(ledger: LedgerService, signer: Signer, actor: str, body: TaskBody) -> Receipt:
    """`task.create`: every parameter is checked by the ledger before anything is written.

    Before signing, the planner's side also checks the task against the pool
    as it stands (the draw reads it again at its commitment): a fixed count
    larger than its class, or a 定向 filter no entity passes, is refused here
    with the sizes, instead of a draw that silently takes the whole class."""
    signed = _sign(signer, actor, "task.create", body)
    try:
        ledger.processor.preview(signed)
    except Refusal:
        return ledger.submit(signed)  # the ledger refuses it, and records the refusal
    pool_problem(ledger.config, body)
    return ledger.submit(signed)


def class_sizes(config: StoreConfig, body: TaskBody) -> dict[str, int]:
    """Active entities per risk class that pass the task's target filter, in the pool now
    (counted by the read model: no entity row is loaded)."""
    from ledger.projections.pools import class_counts
    from ledger.services.pools import read

    f = msgspec.structs.replace(body.target_filter, statuses=("active",), risk_classes=tuple(sorted(body.quotas)))
    return read(config, lambda conn, dialect: class_counts(conn, dialect, f))


def pool_problem(config: StoreConfig, body: TaskBody) -> None:
    """Refuse (code `pool_too_small`) a count larger than its class, or a filter that matches nothing."""
    sizes = class_sizes(config, body)
    where = f"task {short(body.task_id)}"
    if not any(sizes.values()):
        region = body.target_filter.region_prefix
        raise Refusal("pool_too_small", f"{where}: no active entity of class {', '.join(sorted(body.quotas))}"
                                        + (f" is in region {region}" if region else "")
                                        + " that passes the task's filter (region, type, industry, department)")
    for risk_class, quota in sorted(body.quotas.items()):
        if quota.count is not None and quota.count > sizes.get(risk_class, 0):
            raise Refusal("pool_too_small", f"{where}: count {quota.count} for class {risk_class} is larger than"
                                            f" the class: {sizes.get(risk_class, 0)} active entities pass the"
                                            " task's filter")


# ---------------------------------------------------------------------------
# Draws.


def pinned_networks(ledger: LedgerService) -> dict[str, Any]:
    """The beacon networks the ledger pins, by beacon ID (ledger.beacon BeaconNetwork)."""
    from ledger.beacon.network import BeaconNetwork
    from ledger.domain.actors import Ledger

    found = ledger.processor.app.find(Ledger.ID)
    return {k: BeaconNetwork.from_chain_info(v) for k, v in (found.beacons if found else {}).items()}


def default_round(network: Any, now: float, delay_seconds: int = DEFAULT_BEACON_DELAY) -> int:
    """The first round published at least `delay_seconds` after `now` (unix seconds)."""
    return int(network.round_at(int(now) + delay_seconds))


def commit_draw(ledger: LedgerService, signer: Signer, actor: str, task_id: str,
                beacons: list[BeaconChoice]) -> Receipt:
    """Freeze the task's inputs at the head and name the beacon rounds its draw will use."""
    signed = _sign(signer, actor, "draw.commit", CommitBody(task_id=task_id, beacons=tuple(beacons)))
    return ledger.submit(signed, attachment_source=draw_inputs_source(ledger))


def run_draw(ledger: LedgerService, signer: Signer, actor: str, task_id: str, signatures: list[str]) -> DrawRecord:
    """Bring the committed rounds' signatures: the ledger verifies them, draws and records; the recorded draw."""
    signed = _sign(signer, actor, "draw.run", RunBody(task_id=task_id, signatures=tuple(signatures)))
    receipt = ledger.submit(signed, attachment_source=draw_inputs_source(ledger))
    if getattr(ledger, "remote", False):  # services/remote.py: read back over HTTP
        return ledger.recorded_draw(receipt, task_id)  # type: ignore[attr-defined,no-any-return]
    return recorded_draw(ledger.config, receipt)


def recuse(ledger: LedgerService, signer: Signer, badge: str, task_id: str, target: str, reason: str) -> Receipt:
    """An officer of a drawn team recuses itself (回避) from a target; the draw names its successor."""
    signed = _sign(signer, badge, "draw.recuse", RecuseBody(task_id=task_id, target=target, reason=reason))
    return ledger.submit(signed, attachment_source=draw_inputs_source(ledger))


def substitute(ledger: LedgerService, signer: Signer, reviewer: str, task_id: str, target: str, officer: str,
               reason: str) -> Receipt:
    """A reviewer replaces an officer of a drawn team; the draw names the successor."""
    signed = _sign(signer, reviewer, "draw.substitute",
                   SubstituteBody(task_id=task_id, target=target, officer=officer, reason=reason))
    return ledger.submit(signed, attachment_source=draw_inputs_source(ledger))


def extend(ledger: LedgerService, signer: Signer, actor: str, task_id: str, risk_class: str, count: int,
           reason: str) -> Receipt:
    """补抽: `count` more targets of `risk_class`, continuing the draw's order."""
    signed = _sign(signer, actor, "draw.extend",
                   ExtendBody(task_id=task_id, risk_class=risk_class, count=count, reason=reason))
    return ledger.submit(signed, attachment_source=draw_inputs_source(ledger))


def void_draw(ledger: LedgerService, signer: Signer, actor: str, task_id: str, reason: str) -> Receipt:
    """Void the standing draw (or a commitment before its round is published), visibly and with a reason."""
    return ledger.submit(_sign(signer, actor, "draw.void", VoidBody(task_id=task_id, reason=reason)))


class _Drawn(msgspec.Struct):
    task_id: str
    position: int
    seed: str
    targets: dict[str, list[str]]
    teams: list[Team]


class _Committed(msgspec.Struct):
    pool_roots: dict[str, str]
    pool_root: str
    counts: dict[str, int]


def recorded_draw(config: StoreConfig, receipt: Receipt) -> DrawRecord:
    """The draw recorded by the transaction of `receipt`."""
    from ledger.store.reader import open_reader

    topic = get_topic(Task.Drawn)
    with open_reader(config) as reader:
        row = next(r for r in reader.rows(receipt.first, receipt.last) if r.topic == topic)
        assert row.state is not None
        drawn = msgspec.json.decode(row.state, type=_Drawn)
        committed_row = next(r for r in reader.rows(drawn.position + 2, drawn.position + 2))
    assert committed_row.state is not None and committed_row.topic == get_topic(Task.Committed)
    committed = msgspec.json.decode(committed_row.state, type=_Committed)
    return DrawRecord(
        task_id=drawn.task_id, position=drawn.position, drawn_at=row.seq, receipt=receipt,
        pool_roots=committed.pool_roots, pool_root=committed.pool_root, counts=committed.counts, seed=drawn.seed,
        targets=drawn.targets, teams=drawn.teams,
    )


# ---------------------------------------------------------------------------
# The draw's inputs at the head, from the read models (the write path's side
# of verify/draws.py DrawState.inputs_at: the two must agree exactly).


def draw_inputs_source(ledger: LedgerService) -> AttachmentSource:
    """The attachment of `draw.commit` (the inputs at exactly the head, at the command's
    recorded time) and of `draw.run` (the same inputs again, as of the commitment).

    The processor calls it under the writer lock, so no write can land
    between the head it reads and the command's own transaction.
    """

    def source(command: Command, position: int) -> DrawInputs | None:
        from ledger.domain.settings import Settings, GovernanceSettings
        from ledger.integrity.canonical import rfc3339

        task_id = command.content.body.get("task_id")
        if not isinstance(task_id, str):
            return None
        task = ledger.processor.app.find(Task.create_id(task_id))
        if not isinstance(task, Task):
            return None  # the decision refuses an unknown task
        if command.name == "draw.commit":
            from ledger.domain.classes import DEFAULT_DRAW_SETTINGS, DrawConfig

            settings = ledger.processor.app.find(Settings.create_id())
            cooling_off = (settings.governance if settings is not None else GovernanceSettings()).draw_cooling_off_days
            config = ledger.processor.app.find(DrawConfig.ID)
            in_force = config.settings if config is not None else DEFAULT_DRAW_SETTINGS
            # The salt key is made here, outside the pure decision (which checks its form); it is
            # recorded with the commitment and verify takes it from there.
            return gather_inputs(ledger.config, task, position, rfc3339(command.recorded_at), cooling_off,
                                 secrets.token_hex(32), classes=in_force.codes,
                                 window_end=task.window_end.isoformat(), annual_cap=in_force.annual_cap_per_firm)
        frozen = task.commitment if command.name == "draw.run" else task.drawn_from
        if frozen is None:
            return None  # the decision refuses a run without a commitment, a change without a draw
        return gather_inputs(ledger.config, task, frozen.position, frozen.committed_at, frozen.cooling_off_days,
                             frozen.salt_key, classes=frozen.classes,
                             window_end=frozen.window_end or task.window_end.isoformat(),
                             annual_cap=frozen.annual_cap)

    return source


def gather_inputs(config: StoreConfig, task: Task, position: int, committed_at: str,
                  cooling_off_days: int, salt_key: str, *, classes: tuple[str, ...] = RISK_CLASSES,
                  window_end: str | None = None, annual_cap: int | None = None) -> DrawInputs:
    """The inputs of `task` as of `position`, for a commitment recorded at `committed_at` with `salt_key`,
    the class set `classes`, the window end `window_end` (default: the task's) and, with `annual_cap`,
    the firms already inspected that often in the task's year left out."""
    from ledger.projections import all_projections
    from ledger.projections.draws import at_annual_cap, recently_inspected
    from ledger.projections.pools import (
        conflicts,
        inspector_record_positions,
        list_items,
        pool_ids,
        query_inspectors,
    )
    from ledger.projections.runner import catch_up, writable_connection
    from ledger.store.reader import open_reader

    catch_up(config, all_projections())  # under the writer lock: up to exactly the head
    with writable_connection(config) as (conn, dialect, _):
        items = {i.code: i for i in list_items(conn, dialect, position)}
        found = pool_ids(conn, dialect, task.target_filter, position)
        excluded = recently_inspected(conn, dialect, task.task_id, task.items, task.window_start,
                                      task.exclude_recent_days, position)
        excluded |= at_annual_cap(conn, dialect, task.task_id, task.window_start.year, annual_cap, position)
        inspectors = query_inspectors(conn, dialect, InspectorFilter(), position)
        record_positions = inspector_record_positions(conn, dialect, position)
        declared = conflicts(conn, dialect, position)
    with open_reader(config) as reader:
        since = reader.recorded_times(sorted(set(record_positions.values())))
    return DrawInputs(
        task_id=task.task_id, position=position, committed_at=committed_at, cooling_off_days=cooling_off_days,
        window_end=window_end or task.window_end.isoformat(), departments=task.departments,
        items=tuple(ItemRef(code, items[code].department) for code in task.items),
        quotas=task.quotas, inspectors_per_target=task.inspectors_per_target,
        experts_per_target=task.experts_per_target, load_cap=task.load_cap,
        pool=class_pool(classes, {k: [u for u in ids if u not in excluded] for k, ids in found.items()}
                        if excluded else found),
        excluded=sorted(excluded, key=str.encode),
        # Sorted here, not by the database's collation: the same order as verify's.
        inspectors=[Candidate(i.badge, i.department, i.role, i.status, i.qualifications,
                              since[record_positions[i.badge]], i.certificate_no, i.certificate_valid_until)
                    for i in sorted(inspectors, key=lambda i: i.badge)],
        conflicts=sorted(declared),
        salt_key=salt_key,
        classes=tuple(classes),
    )


def replay(config: StoreConfig, task_id: str) -> list[Any]:
    """Every draw of `task_id` recomputed from the ledger's events alone (verify/draws.py)."""
    from ledger.verify.draws import replay_draws

    results, _ = replay_draws(config, task_id)
    return results


# ---------------------------------------------------------------------------
# Every attempt in public (derived from events; abandonment from the time of the query).


class DrawAttempt(msgspec.Struct, kw_only=True):
    task_id: str
    kind: str  # commit | run | void | abandoned
    position: int
    actor: str
    reason: str | None = None
    rounds: str = ""  # the beacon rounds a commitment named (network#round, published at)


def draw_attempts(config: StoreConfig, task_id: str | None = None, now: Any = None) -> list[DrawAttempt]:
    """Every commitment, draw and void (of one task, or all) in ledger order, and each commitment
    still standing and abandoned at `now` (default: the current time); read from the draw_attempts
    read model (projections/attempts.py), not from the events."""
    from ledger.projections import all_projections
    from ledger.projections.attempts import attempt_rows
    from ledger.projections.runner import catch_up, writable_connection

    with writable_connection(config) as connection:  # one connection for both (PostgreSQL opens cost)
        catch_up(config, all_projections(), connection=connection)
        rows = attempt_rows(connection[0], connection[1], task_id)
    return _attempts(config, rows, now)


def draw_attempts_from_events(config: StoreConfig, task_id: str | None = None, now: Any = None) -> list[DrawAttempt]:
    """`draw_attempts` computed by decoding every commit, run and void event: the reference the
    read model is tested against (tests/test_draw_attempts.py), and the baseline it is measured by."""
    from ledger.projections.attempts import KINDS, AttemptRow
    from ledger.projections.task_events import AttemptEvent
    from ledger.store.reader import open_reader

    with open_reader(config) as reader:
        events = reader.events_with_topics(list(KINDS))
    rows = []
    for row in events:
        assert row.state is not None and row.topic is not None
        event = msgspec.json.decode(row.state, type=AttemptEvent)
        if task_id is None or event.task_id == task_id:
            rows.append(AttemptRow(row.seq, event.task_id, KINDS[row.topic], event.actor, event.reason,
                                   event.commitment_only, event.beacons))
    return _attempts(config, rows, now)


def _attempts(config: StoreConfig, rows: list[Any], now: Any) -> list[DrawAttempt]:
    """The listed attempts of `rows` (projections/attempts.py AttemptRow, in ledger order) and the
    abandoned commitments among them: derived at `now` from the settings in force, never stored."""
    from datetime import UTC, datetime

    from ledger.domain.draws import abandoned
    from ledger.services.settings import settings_in_force

    moment = now or datetime.now(UTC)
    attempts: list[DrawAttempt] = []
    standing: dict[str, tuple[DrawAttempt, list[Any]]] = {}
    for row in rows:
        kind = row.kind
        attempt = DrawAttempt(task_id=row.task_id, kind=kind, position=row.position, actor=row.actor,
                              reason=row.reason or None, rounds=", ".join(
                                  f"{b.network}#{b.round} ({rfc3339_of(b.published_at)})" for b in row.beacons
                              ) if kind == "commit" else "")
        attempts.append(attempt)
        if kind == "commit":
            standing[row.task_id] = (attempt, row.beacons)
        elif kind == "run" or row.commitment_only:
            standing.pop(row.task_id, None)
    # The settings only when a commitment stands (reading them costs more than the rows).
    hours = int((settings_in_force(config).governance or {}).get("draw_abandon_after_hours", 24)) if standing else 0
    for commit, beacons in standing.values():
        if abandoned(beacons, moment, hours):
            attempts.append(DrawAttempt(task_id=commit.task_id, kind="abandoned", position=commit.position,
                                        actor=commit.actor, rounds=commit.rounds,
                                        reason=f"not drawn within {hours} h of its round's publication; its outcome is"
                                               f" computable: drledger draw outcome {commit.task_id} --signature HEX"))
    return sorted(attempts, key=lambda a: (a.position, a.kind == "abandoned"))


def rfc3339_of(unix_seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def outcome_of_commitment(ledger: LedgerService, task_id: str, signatures: list[str]) -> DrawOutcome:
    """The outcome the task's standing commitment leads to with these round signatures, computed
    and not recorded: anyone may check what a drawer would get (or did not run). Refusal if the
    task has no standing commitment or a signature does not verify."""
    from ledger.beacon.errors import BeaconInvalid
    from ledger.beacon.verify import parse_signature_hex, verify_round
    from ledger.domain.commands import Refusal
    from ledger.draw.spec import BeaconOutput, DrawImpossible, compute

    task = ledger.processor.app.find(Task.create_id(task_id))
    if not isinstance(task, Task) or task.commitment is None:
        raise Refusal("not_committed", f"task {task_id} has no standing commitment")
    frozen = task.commitment
    if len(signatures) != len(frozen.beacons):
        raise Refusal("invalid", f"the commitment names {len(frozen.beacons)} round(s); give one signature each")
    networks = pinned_networks(ledger)
    outputs = []
    for named, signature in zip(frozen.beacons, signatures):
        try:
            randomness = verify_round(networks[named.network], named.round, parse_signature_hex(signature))
        except BeaconInvalid as error:
            raise Refusal("beacon_invalid", f"{named.network} round {named.round}: {error}") from None
        outputs.append(BeaconOutput(network=named.network, chain_hash=named.chain_hash, round=named.round,
                                    randomness=randomness.hex()))
    inputs = gather_inputs(ledger.config, task, frozen.position, frozen.committed_at, frozen.cooling_off_days,
                           frozen.salt_key)
    try:
        return compute(inputs, outputs)
    except DrawImpossible as error:
        raise Refusal("draw_impossible", f"task {task_id} cannot be drawn: {error}") from None
