"""The actor registry and the ledger's genesis, as events.

The genesis event pins the ledger key and the first admin's key; every later
actor, key rotation and revocation is an event signed by an authorised admin
(the signed command is stored verbatim in the event).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, natural_id
from ledger.integrity.commands import SignedCommand

ROLES = ("admin", "list_manager", "planner", "drawer", "inspector", "auditor", "discipline")


class DomainError(ValueError):
    """A command breaks a domain rule; the message says which and why."""


def check_roles(roles: tuple[str, ...]) -> None:
    unknown = [role for role in roles if role not in ROLES]
    if unknown or not roles:
        raise DomainError(f"roles must be some of {', '.join(ROLES)}; got {', '.join(roles) or 'none'}")


class Ledger(LedgerAggregate):
    """The singleton that pins the trust roots: ledger key and first admin."""

    ID = natural_id("ledger", "genesis")

    origin: str
    ledger_key: bytes
    admin_id: str
    admin_key: bytes

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return Ledger.ID

    @event("Genesis")
    def __init__(
        self, origin: str, ledger_key: bytes, admin_id: str, admin_key: bytes, actor: str, signed: SignedCommand
    ) -> None:
        self.origin = origin
        self.ledger_key = ledger_key
        self.admin_id = admin_id
        self.admin_key = admin_key

    @event("LedgerKeyRotated")
    def rotate_ledger_key(self, new_key: bytes, reason: str, actor: str, signed: SignedCommand) -> None:
        """From the next transaction on, the ledger signs with `new_key`."""
        self.ledger_key = new_key


class Actor(LedgerAggregate):
    """A person or system that acts on the ledger, with roles and a public key."""

    actor_id: str
    name: str
    roles: tuple[str, ...]
    department: str | None
    public_key: bytes
    revoked: bool

    @staticmethod
    def create_id(actor_id: str, **_: Any) -> UUID:
        return natural_id("actor", actor_id)

    @event("Registered")
    def __init__(
        self,
        actor_id: str,
        name: str,
        roles: tuple[str, ...],
        department: str | None,
        public_key: bytes,
        actor: str,
        signed: SignedCommand,
    ) -> None:
        self.actor_id = actor_id
        self.name = name
        self.roles = roles
        self.department = department
        self.public_key = public_key
        self.revoked = False

    @event("KeyRotated")
    def rotate_key(self, public_key: bytes, reason: str, actor: str, signed: SignedCommand) -> None:
        self.public_key = public_key

    @event("RolesChanged")
    def change_roles(self, roles: tuple[str, ...], actor: str, signed: SignedCommand) -> None:
        self.roles = roles

    @event("Revoked")
    def revoke(self, reason: str, actor: str, signed: SignedCommand) -> None:
        self.revoked = True
