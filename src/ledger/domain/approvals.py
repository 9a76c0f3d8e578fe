"""Separation of powers: what no single key may do alone.

Recovering an actor's lost key, and revoking (or taking the role from) an
inspector or a drawer, can steer draws and results. Such an action is a
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

from ledger.domain.actors import GUARDED_ROLES, Actor, admin_covers, check_roles, public_key_of
from ledger.domain.base import LedgerAggregate, natural_id
from ledger.domain.commands import Command, Refusal, State, command, need_text, short
from ledger.domain.settings import governance

ACTIONS = ("recover_key", "revoke", "set_roles")


class Proposal(LedgerAggregate):
    """One guarded action waiting for its approvals."""

    proposal_id: str
    action: str
    target: str
    public_key: str | None
    roles: tuple[str, ...]
    reason: str
    approvers: tuple[str, ...]
    needed: int
    done: bool

    @staticmethod
    def create_id(proposal_id: str, **_: Any) -> UUID:
        return natural_id("proposal", proposal_id)

    @event("Opened")
    def __init__(self, proposal_id: str, action: str, target: str, public_key: str | None, roles: tuple[str, ...],
                 reason: str, needed: int, actor: str) -> None:
        self.proposal_id = proposal_id
        self.action = action
        self.target = target
        self.public_key = public_key
        self.roles = roles
        self.reason = reason
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
        target.change_roles(roles=proposal.roles, department=target.department, actor=command.actor_id)
    proposal.carry(proposal_id=proposal.proposal_id, effective_from=effective, actor=command.actor_id)
    return [proposal, target]


@command("proposal.open", "admin")
def decide_open(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body: OpenBody = command.body(OpenBody)
    if not body.proposal_id or len(body.proposal_id) > 64 or not body.proposal_id.isprintable():
        raise Refusal("invalid", "proposal id must be 1-64 printable characters")
    if body.action not in ACTIONS:
        raise Refusal("invalid", f"unknown action {short(body.action)!r}: one of {', '.join(ACTIONS)}")
    if state.get(Proposal, Proposal.create_id(body.proposal_id)) is not None:
        raise Refusal("duplicate", f"proposal {body.proposal_id!r} already exists")
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
    elif body.roles:
        raise Refusal("invalid", f"{body.action} takes no roles")
    if body.action in ("revoke", "set_roles") and not set(GUARDED_ROLES) & set(target.roles):
        raise Refusal("invalid", f"{body.target!r} holds no guarded role: an admin acts directly")
    proposal = Proposal(proposal_id=body.proposal_id, action=body.action, target=body.target,
                        public_key=body.public_key, roles=body.roles, reason=need_text("reason", body.reason),
                        needed=governance(state).approvals_needed, actor=command.actor_id)
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
