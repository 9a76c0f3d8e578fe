"""Separation of powers: what no single key may do alone.

Recovering an actor's lost key, revoking (or taking the role from) an
inspector or a drawer, voiding a draw on which results rest (or a commitment
whose beacon round is published: its outcome is fixed and public) and
pinning a new beacon network can steer draws and results. Such an action is a
proposal (`proposal.open`, by an admin) that takes effect only once
`approvals_needed` distinct actors approved it (`proposal.approve`; the
proposer's opening counts as its approval), at least one of them a discipline
(纪检) actor. A recovered key then signs only after the cooling-off period
(`cooling_off_days`), so the rightful holder and the public see it coming.
Every proposal, approval and effect is an event: `drledger proposal list`
shows them, and `verify` re-executes them like any other command.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from ledger.domain.actors import GUARDED_ROLES, Actor, admin_covers, check_badge_department, check_roles, public_key_of
from ledger.domain.base import LedgerAggregate, natural_id
from ledger.domain.commands import Command, Refusal, State, command, need_text, short
from ledger.domain.settings import governance

ACTIONS = ("recover_key", "revoke", "set_roles", "void_draw", "add_beacon")
# The target is an actor, except: void_draw names a task, add_beacon a beacon network (its ID).
ACTOR_ACTIONS = ("recover_key", "revoke", "set_roles")


class Proposal(LedgerAggregate):
    """One guarded action waiting for its approvals."""

    proposal_id: str
    action: str
    target: str
    public_key: str | None
    roles: tuple[str, ...]
    reason: str
    beacon: dict[str, Any] | None  # add_beacon: the network's drand chain info
    approvers: tuple[str, ...]
    needed: int
    done: bool

    @staticmethod
    def create_id(proposal_id: str, **_: Any) -> UUID:
        return natural_id("proposal", proposal_id)

    @event("Opened")
    def __init__(self, proposal_id: str, action: str, target: str, public_key: str | None, roles: tuple[str, ...],
                 reason: str, beacon: dict[str, Any] | None, needed: int, actor: str) -> None:
        self.proposal_id = proposal_id
        self.action = action
        self.target = target
        self.public_key = public_key
        self.roles = roles
        self.reason = reason
        self.beacon = beacon
        self.approvers = (actor,)
        self.needed = needed
        self.done = False

    @event("Approved")
    def approve(self, proposal_id: str, actor: str) -> None:
        self.approvers = (*self.approvers, actor)

    @event("Carried")
    def carry(self, proposal_id: str, effective_from: datetime, actor: str) -> None:
        """The approvals are complete: the action takes effect (a key from `effective_from`)."""
        self.done = True


class OpenBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    proposal_id: str
    action: str
    target: str
    reason: str
    public_key: str | None = None
    roles: tuple[str, ...] = ()
    beacon: dict[str, Any] | None = None


class ApproveBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    proposal_id: str


def _quorum(state: State, approvers: tuple[str, ...], needed: int, now: datetime) -> bool:
    """Enough distinct approvers, one of them a discipline actor registered before the
    cooling-off period (so an admin cannot register a discipline actor and approve at once)."""
    settled = now - timedelta(days=governance(state).cooling_off_days)

    def discipline(actor_id: str) -> bool:
        found = state.get(Actor, Actor.create_id(actor_id))
        return found is not None and "discipline" in found.roles and found.created_on <= settled

    return len(set(approvers)) >= needed and any(discipline(a) for a in approvers)


def _carry(state: State, proposal: Proposal, command: Command) -> list[LedgerAggregate]:
    """Apply the action of a proposal whose approvals are complete."""
    if proposal.action == "void_draw":
        return _carry_void(state, proposal, command)
    if proposal.action == "add_beacon":
        return _carry_beacon(state, proposal, command)
    target = state.get_for_update(Actor, Actor.create_id(proposal.target))
    if target is None or target.revoked:
        raise Refusal("invalid", f"actor {proposal.target!r} no longer exists or is revoked")
    effective = command.recorded_at
    if proposal.action == "recover_key":
        assert proposal.public_key is not None
        effective = command.recorded_at + timedelta(days=governance(state).cooling_off_days)
        target.rotate_key(public_key=public_key_of("public_key", proposal.public_key),
                          reason=f"recovered (proposal {proposal.proposal_id}): {proposal.reason}",
                          effective_from=effective, actor=command.actor_id)
    elif proposal.action == "revoke":
        target.revoke(reason=f"proposal {proposal.proposal_id}: {proposal.reason}", actor=command.actor_id)
    else:
        # The target's department or badge may have moved since the proposal opened.
        check_badge_department(state, proposal.target, proposal.roles, target.department)
        target.change_roles(roles=proposal.roles, department=target.department, actor=command.actor_id)
    proposal.carry(proposal_id=proposal.proposal_id, effective_from=effective, actor=command.actor_id)
    return [proposal, target]


def _carry_void(state: State, proposal: Proposal, command: Command) -> list[LedgerAggregate]:
    from ledger.domain.draws import Task

    task = state.get_for_update(Task, Task.create_id(proposal.target))
    if task is None or (not task.drawn and task.commitment is None):
        raise Refusal("not_drawn", f"task {proposal.target!r} has no standing draw or commitment to void")
    task.void(task_id=task.task_id, reason=f"proposal {proposal.proposal_id}: {proposal.reason}",
              commitment_only=not task.drawn, actor=command.actor_id)
    proposal.carry(proposal_id=proposal.proposal_id, effective_from=command.recorded_at, actor=command.actor_id)
    return [proposal, task]


def _carry_beacon(state: State, proposal: Proposal, command: Command) -> list[LedgerAggregate]:
    from ledger.domain.actors import Ledger, pinned_beacons

    ledger = state.get_for_update(Ledger, Ledger.ID)
    assert ledger is not None and proposal.beacon is not None
    if proposal.target in ledger.beacons:
        raise Refusal("duplicate", f"beacon network {proposal.target!r} is already pinned")
    ledger.pin_beacon(beacon_id=proposal.target, chain_info=pinned_beacons((proposal.beacon,))[proposal.target],
                      reason=f"proposal {proposal.proposal_id}: {proposal.reason}", actor=command.actor_id)
    proposal.carry(proposal_id=proposal.proposal_id, effective_from=command.recorded_at, actor=command.actor_id)
    return [proposal, ledger]


def _check_draw_target(state: State, command: Command, body: OpenBody) -> None:
    from ledger.domain.commands import require_jurisdiction
    from ledger.domain.draws import Task

    task = state.get(Task, Task.create_id(body.target))
    if task is None:
        raise Refusal("unknown_task", f"unknown task {short(body.target)!r}")
    require_jurisdiction(state, command, task.departments[0], f"task {body.target}")
    if not task.drawn and task.commitment is None:
        raise Refusal("not_drawn", f"task {body.target} has no standing draw or commitment to void")


def _check_beacon_target(state: State, body: OpenBody) -> None:
    from ledger.domain.actors import Ledger, pinned_beacons

    if body.beacon is None:
        raise Refusal("invalid", "add_beacon names the network's chain info (drand JSON)")
    pinned = pinned_beacons((body.beacon,))
    if list(pinned) != [body.target]:
        raise Refusal("invalid", f"the chain info is of beacon network {next(iter(pinned))!r}, not {body.target!r}")
    ledger = state.get(Ledger, Ledger.ID)
    if ledger is not None and body.target in ledger.beacons:
        raise Refusal("duplicate", f"beacon network {body.target!r} is already pinned")


@command("proposal.open", "admin")
def decide_open(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body: OpenBody = command.body(OpenBody)
    if not body.proposal_id or len(body.proposal_id) > 64 or not body.proposal_id.isprintable():
        raise Refusal("invalid", "proposal id must be 1-64 printable characters")
    if body.action not in ACTIONS:
        raise Refusal("invalid", f"unknown action {short(body.action)!r}: one of {', '.join(ACTIONS)}")
    if state.get(Proposal, Proposal.create_id(body.proposal_id)) is not None:
        raise Refusal("duplicate", f"proposal {body.proposal_id!r} already exists")
    if body.action not in ACTOR_ACTIONS:
        if body.public_key is not None or body.roles:
            raise Refusal("invalid", f"{body.action} takes no public key and no roles")
        if body.action == "void_draw":
            if body.beacon is not None:
                raise Refusal("invalid", "void_draw takes no beacon")
            _check_draw_target(state, command, body)
        else:
            if command.actor.department is not None:
                raise Refusal("out_of_jurisdiction", "a beacon network is pinned for the whole ledger: a ledger-wide"
                                                     " admin proposes it")
            _check_beacon_target(state, body)
        return _opened(state, command, body)
    if body.beacon is not None:
        raise Refusal("invalid", f"{body.action} takes no beacon")
    target = state.get(Actor, Actor.create_id(body.target))
    if target is None:
        raise Refusal("unknown_object", f"unknown actor {short(body.target)!r}")
    admin_covers(state, command, target.department, f"actor {body.target}")
    if target.revoked:
        raise Refusal("revoked_actor", f"actor {body.target!r} is revoked")
    if body.action == "recover_key":
        if body.public_key is None:
            raise Refusal("invalid", "a key recovery names the new public key")
        if public_key_of("public_key", body.public_key) == target.public_key:
            raise Refusal("invalid", "the new key is the key in force")
    elif body.public_key is not None:
        raise Refusal("invalid", f"{body.action} takes no public key")
    if body.action == "set_roles":
        check_roles(body.roles)
        check_badge_department(state, body.target, body.roles, target.department)
    elif body.roles:
        raise Refusal("invalid", f"{body.action} takes no roles")
    if body.action in ("revoke", "set_roles") and not set(GUARDED_ROLES) & set(target.roles):
        raise Refusal("invalid", f"{body.target!r} holds no guarded role: an admin acts directly")
    return _opened(state, command, body)


def _opened(state: State, command: Command, body: OpenBody) -> list[LedgerAggregate]:
    proposal = Proposal(proposal_id=body.proposal_id, action=body.action, target=body.target,
                        public_key=body.public_key, roles=body.roles, reason=need_text("reason", body.reason),
                        beacon=body.beacon, needed=governance(state).approvals_needed, actor=command.actor_id)
    if _quorum(state, proposal.approvers, proposal.needed, command.recorded_at):
        return _carry(state, proposal, command)
    return [proposal]


@command("proposal.approve", "admin", "discipline")
def decide_approve(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body: ApproveBody = command.body(ApproveBody)
    proposal = state.get_for_update(Proposal, Proposal.create_id(body.proposal_id))
    if proposal is None:
        raise Refusal("unknown_object", f"unknown proposal {short(body.proposal_id)!r}")
    if proposal.done:
        raise Refusal("invalid", f"proposal {body.proposal_id} has already taken effect")
    if command.actor_id in proposal.approvers:
        raise Refusal("duplicate", f"{command.actor_id!r} already approved proposal {body.proposal_id}")
    if command.actor_id == proposal.target:
        raise Refusal("invalid", "an actor cannot approve a proposal about itself")
    proposal.approve(proposal_id=body.proposal_id, actor=command.actor_id)
    if _quorum(state, proposal.approvers, proposal.needed, command.recorded_at):
        return _carry(state, proposal, command)
    return [proposal]
