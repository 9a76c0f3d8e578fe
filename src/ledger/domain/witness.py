"""Witnesses the ledger asks to cosign its checkpoints, registered as events.

Each witness is an aggregate named by its label; adding and removing one is
an admin-signed command stored verbatim in the event, so an auditor can see
who trusted which witness key, and from when, without trusting the operator.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, natural_id
from ledger.integrity.commands import SignedCommand

ADDED_TOPIC = "ledger.domain.witness:Witness.Added"
REMOVED_TOPIC = "ledger.domain.witness:Witness.Removed"
WITNESS_TOPICS = (ADDED_TOPIC, REMOVED_TOPIC)


class Witness(LedgerAggregate):
    """A tlog-witness: cosignature/v1 verifier key and add-checkpoint URL prefix."""

    name: str
    vkey: str
    url: str
    removed: bool

    @staticmethod
    def create_id(name: str, **_: Any) -> UUID:
        return natural_id("witness", name)

    @event("Added")
    def __init__(self, name: str, vkey: str, url: str, actor: str, signed: SignedCommand) -> None:
        self.name = name
        self.vkey = vkey
        self.url = url
        self.removed = False

    @event("Removed")
    def remove(self, reason: str, actor: str, signed: SignedCommand) -> None:
        self.removed = True
