"""The ledger application: load aggregates, check the rule, save new events.

One command = one `save` = one store transaction = one ledger signature.
Accountability-critical commands arrive as actor-signed commands and are
checked here against the actor's current key and roles before anything is
written; a refused command writes nothing.
"""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from ledger.domain.actors import Actor, DomainError, Ledger, check_roles
from ledger.integrity.commands import CommandContent, CommandError, SignedCommand, check_command, sign_command
from ledger.integrity.keys import Signer
from ledger.store.config import StoreConfig
from ledger.store.mapper import CanonicalMapper
from ledger.store.recorders import IntegrityAppender


class Refused(DomainError):
    """A command was refused; nothing was written. `code` says why, for callers
    that record refusals (unknown_actor, revoked_actor, bad_signature, ...)."""

    def __init__(self, message: str, code: str = "refused") -> None:
        super().__init__(message)
        self.code = code


class LedgerApplication(Application[UUID]):
    name = "drledger"

    def __init__(self, config: StoreConfig, signer: Signer | None = None, *, create_tables: bool = False) -> None:
        # Tables are created by `init` only: re-running eventsourcing's DDL while
        # another process appends deadlocks on PostgreSQL.
        self.config = config
        env = config.eventsourcing_env()
        env["CREATE_TABLE"] = "y" if create_tables else "n"
        env["IS_SNAPSHOTTING_ENABLED"] = "y"
        super().__init__(env=env)
        self.integrity.signer = signer

    def construct_mapper(self) -> CanonicalMapper:
        return CanonicalMapper()

    @property
    def integrity(self) -> IntegrityAppender:
        return self.recorder.integrity  # type: ignore[attr-defined,no-any-return]

    def append_events(self, events: list[Any]) -> None:
        """Store ready-made events in one transaction (bulk paths).

        The same store path as `save`, without collecting events from
        aggregates one by one (eventsourcing's per-event protocol checks
        dominate large imports).
        """
        self.events.put(events)

    # -- genesis -------------------------------------------------------------

    def genesis(self, origin: str, ledger_key: bytes, admin_id: str, admin_name: str, admin: Signer) -> None:
        """Write the genesis transaction: the Ledger and its first admin."""
        body = genesis_body(origin, ledger_key, admin_id, admin_name, admin.public_key)
        signed = sign_command(admin, admin_id, "ledger.genesis", body)
        ledger = Ledger(
            origin=origin,
            ledger_key=ledger_key,
            admin_id=admin_id,
            admin_key=admin.public_key,
            actor=admin_id,
            signed=signed,
        )
        first_admin = Actor(
            actor_id=admin_id,
            name=admin_name,
            roles=("admin",),
            department=None,
            public_key=admin.public_key,
            actor=admin_id,
            signed=signed,
        )
        try:
            self.save(ledger, first_admin)
        except IntegrityError:
            raise Refused("this store already holds a ledger: refusing to initialise it again") from None

    def ledger(self) -> Ledger:
        try:
            return self.repository.get(Ledger.ID)  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            raise Refused("this store holds no ledger: run `drledger init` first") from None

    # -- actors --------------------------------------------------------------

    def find_actor(self, actor_id: str) -> Actor | None:
        try:
            return self.repository.get(Actor.create_id(actor_id))  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            return None

    def authorise(self, signed: SignedCommand, name: str, body: dict[str, Any] | None, role: str
                  ) -> tuple[Actor, CommandContent]:
        """The acting actor and what it signed, once its signature, command and role
        check out (`body=None`: the signed body is itself the request)."""
        claimed = claimed_actor(signed)
        actor = self.find_actor(claimed)
        if actor is None:
            raise Refused(f"unknown actor {claimed!r}", "unknown_actor")
        if actor.revoked:
            raise Refused(f"actor {claimed!r} is revoked", "revoked_actor")
        try:
            content = check_command(signed, actor.public_key, actor=claimed, name=name, body=body)
        except CommandError as error:
            raise Refused(f"{name} by {claimed!r} refused: {error}", error.code) from None
        if role not in actor.roles:
            raise Refused(f"actor {claimed!r} lacks the role {role!r} needed for {name}", "missing_role")
        return actor, content

    def register_actor(
        self,
        signed: SignedCommand,
        *,
        actor_id: str,
        name: str,
        roles: tuple[str, ...],
        department: str | None,
        public_key: bytes,
    ) -> Actor:
        body = actor_body(actor_id, name, roles, department, public_key)
        admin, _ = self.authorise(signed, "actor.register", body, "admin")
        check_roles(roles)
        if not actor_id or not actor_id.isprintable() or len(actor_id) > 64:
            raise Refused("actor id must be 1-64 printable characters")
        if self.find_actor(actor_id) is not None:
            raise Refused(f"actor {actor_id!r} is already registered")
        new = Actor(
            actor_id=actor_id,
            name=name,
            roles=roles,
            department=department,
            public_key=public_key,
            actor=admin.actor_id,
            signed=signed,
        )
        self.save(new)
        return new

    def rotate_actor_key(self, signed: SignedCommand, *, actor_id: str, public_key: bytes, reason: str) -> None:
        body = {"actor_id": actor_id, "public_key": b64(public_key), "reason": reason}
        admin, _ = self.authorise(signed, "actor.rotate_key", body, "admin")
        target = self._existing_actor(actor_id)
        target.rotate_key(public_key=public_key, reason=reason, actor=admin.actor_id, signed=signed)
        self.save(target)

    def revoke_actor(self, signed: SignedCommand, *, actor_id: str, reason: str) -> None:
        body = {"actor_id": actor_id, "reason": reason}
        admin, _ = self.authorise(signed, "actor.revoke", body, "admin")
        target = self._existing_actor(actor_id)
        if target.revoked:
            raise Refused(f"actor {actor_id!r} is already revoked")
        target.revoke(reason=reason, actor=admin.actor_id, signed=signed)
        self.save(target)

    def rotate_ledger_key(self, signed: SignedCommand, *, new_key: bytes, reason: str) -> None:
        """Record a new ledger key; the caller then signs with it from the next save."""
        body = {"new_key": b64(new_key), "reason": reason}
        admin, _ = self.authorise(signed, "ledger.rotate_key", body, "admin")
        ledger = self.ledger()
        ledger.rotate_ledger_key(new_key=new_key, reason=reason, actor=admin.actor_id, signed=signed)
        self.save(ledger)

    def _existing_actor(self, actor_id: str) -> Actor:
        actor = self.find_actor(actor_id)
        if actor is None:
            raise Refused(f"unknown actor {actor_id!r}")
        return actor


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def genesis_body(origin: str, ledger_key: bytes, admin_id: str, admin_name: str, admin_key: bytes) -> dict[str, Any]:
    return {
        "admin_id": admin_id,
        "admin_key": b64(admin_key),
        "admin_name": admin_name,
        "ledger_key": b64(ledger_key),
        "origin": origin,
    }


def actor_body(
    actor_id: str, name: str, roles: tuple[str, ...], department: str | None, public_key: bytes
) -> dict[str, Any]:
    return {
        "actor_id": actor_id,
        "department": department,
        "name": name,
        "public_key": b64(public_key),
        "roles": list(roles),
    }


class _ClaimedActor(msgspec.Struct):
    actor: str


def claimed_actor(signed: SignedCommand) -> str:
    """Who a command says it is from (unverified: used to find the key)."""
    try:
        return msgspec.json.decode(signed.command, type=_ClaimedActor).actor
    except msgspec.DecodeError:
        raise Refused("signed command is not a valid command", "unreadable") from None

