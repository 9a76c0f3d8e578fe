"""Proposals: guarded actions that no single key may take (domain/approvals.py).

An admin opens one (key recovery, revoking an inspector or drawer, taking
that role away); admins and discipline (纪检) actors approve it; it takes
effect once the approvals are complete. Every proposal is public: `list`
reads them from the ledger's own events.
"""

from __future__ import annotations

from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.approvals import Proposal
from ledger.integrity.commands import SignedCommand, sign_command
from ledger.integrity.keys import Signer, public_key_b64
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader

OPENED, APPROVED, CARRIED = get_topic(Proposal.Opened), get_topic(Proposal.Approved), get_topic(Proposal.Carried)


class ProposalInfo(msgspec.Struct, kw_only=True):
    proposal_id: str
    action: str
    target: str
    reason: str
    opened_by: str
    opened_at: str
    opened_position: int
    approvers: list[str]
    needed: int
    done: bool
    effective_from: str | None = None


def sign_open(signer: Signer, admin: str, *, proposal_id: str, action: str, target: str, reason: str,
              public_key: bytes | None = None, roles: tuple[str, ...] = (),
              beacon: dict[str, Any] | None = None) -> SignedCommand:
    body: dict[str, Any] = {
        "action": action, "proposal_id": proposal_id, "public_key": public_key_b64(public_key) if public_key else None,
        "reason": reason, "roles": list(roles), "target": target}
    if beacon is not None:
        body["beacon"] = beacon
    return sign_command(signer, admin, "proposal.open", body)


def sign_approve(signer: Signer, actor: str, *, proposal_id: str) -> SignedCommand:
    return sign_command(signer, actor, "proposal.approve", {"proposal_id": proposal_id})


def list_proposals(config: StoreConfig) -> list[ProposalInfo]:
    """Every proposal with its approvals and whether it took effect, in the order opened."""
    found: dict[str, ProposalInfo] = {}
    with open_reader(config) as reader:
        rows = reader.events_with_topics([OPENED, APPROVED, CARRIED])
    for row in rows:
        payload: dict[str, Any] = msgspec.json.decode(row.state or b"{}")
        if row.topic == OPENED:
            found[payload["proposal_id"]] = ProposalInfo(
                proposal_id=payload["proposal_id"], action=payload["action"], target=payload["target"],
                reason=payload["reason"], opened_by=payload["actor"], opened_at=payload["timestamp"],
                opened_position=row.seq, approvers=[payload["actor"]], needed=payload["needed"], done=False)
        elif payload.get("proposal_id") in found:
            info = found[payload["proposal_id"]]
            if row.topic == APPROVED:
                info.approvers.append(payload["actor"])
            else:
                info.done, info.effective_from = True, payload["effective_from"]
    return list(found.values())
