"""The actor registry and the ledger's genesis, and the rules that change them.

The genesis command pins the ledger key, the ledger format and the first
admin. Every later actor, role change, key rotation and revocation is a
signed command whose decision is here:

- an admin registers actors and changes their roles;
- an actor rotates its OWN key, signing with the old one (an admin cannot);
- a lost key is recovered, and an inspector's or drawer's key revoked, only
  through a proposal approved by m of n actors including a discipline (纪检)
  actor (domain/approvals.py); a recovered key signs only after the
  cooling-off period, and the proposal is public;
- the ledger key rotates by an admin's command, recorded under the old key.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, natural_id
from ledger.domain.commands import Command, Refusal, State, command, require_ledger_wide, need_text, require_jurisdiction, short
from ledger.integrity.commands import CommandError, SignedCommand, open_command
from ledger.integrity.keys import decode_public_key

LEDGER_FORMAT = 3  # recorded in genesis; verify refuses any other (3: draw v2, beacons pinned at genesis)
ROLES = ("admin", "list_manager", "planner", "drawer", "inspector", "reviewer", "auditor", "discipline")
# Roles whose key steers a draw or a result: revoking or recovering one needs approval.
GUARDED_ROLES = ("drawer", "inspector")


class DomainError(ValueError):
    """A command breaks a domain rule; the message says which and why."""


def check_roles(roles: tuple[str, ...]) -> None:
    unknown = [role for role in roles if role not in ROLES]
    if unknown or not roles or len(set(roles)) != len(roles):
        raise Refusal("invalid", f"roles must be distinct, some of {', '.join(ROLES)}; got {', '.join(roles) or 'none'}")


class Ledger(LedgerAggregate):
    """The singleton that pins the trust roots: ledger key, format and first admin."""

    ID = natural_id("ledger", "genesis")

    origin: str
    format: int
    ledger_key: bytes
    admin_id: str
    admin_key: bytes
    beacons: dict[str, dict[str, Any]]  # beacon ID -> drand chain info: the public randomness draws may use

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return Ledger.ID

    @event("Genesis")
    def __init__(self, origin: str, format: int, ledger_key: bytes, admin_id: str, admin_key: bytes,  # noqa: A002
                 beacons: dict[str, dict[str, Any]], actor: str) -> None:
        self.origin = origin
        self.format = format
        self.ledger_key = ledger_key
        self.admin_id = admin_id
        self.admin_key = admin_key
        self.beacons = beacons

    @event("BeaconPinned")
    def pin_beacon(self, beacon_id: str, chain_info: dict[str, Any], reason: str, actor: str) -> None:
        """A beacon network added after genesis, by a proposal approved by m of n with discipline."""
        self.beacons = {**self.beacons, beacon_id: chain_info}

    @event("LedgerKeyRotated")
    def rotate_ledger_key(self, new_key: bytes, reason: str, actor: str) -> None:
        """From the next transaction on, the ledger signs with `new_key`."""
        self.ledger_key = new_key


class Actor(LedgerAggregate):
    """A person or system that acts on the ledger, with roles and a public key.

    `key_from`: the recorded time from which the key in force may sign (later
    than its recording after a recovery: the cooling-off period).
    """

    actor_id: str
    name: str
    roles: tuple[str, ...]
    department: str | None
    public_key: bytes
    key_from: datetime | None
    revoked: bool

    @staticmethod
    def create_id(actor_id: str, **_: Any) -> UUID:
        return natural_id("actor", actor_id)

    @event("Registered")
    def __init__(self, actor_id: str, name: str, roles: tuple[str, ...], department: str | None,
                 public_key: bytes, actor: str) -> None:
        self.actor_id = actor_id
        self.name = name
        self.roles = roles
        self.department = department
        self.public_key = public_key
        self.key_from = None
        self.revoked = False

    @event("KeyRotated")
    def rotate_key(self, public_key: bytes, reason: str, effective_from: datetime, actor: str) -> None:
        self.public_key = public_key
        self.key_from = effective_from

    @event("RolesChanged")
    def change_roles(self, roles: tuple[str, ...], department: str | None, actor: str) -> None:
        self.roles = roles
        self.department = department

    @event("Revoked")
    def revoke(self, reason: str, actor: str) -> None:
        self.revoked = True


# ---------------------------------------------------------------------------
# Command bodies (what the actor signs) and their decisions.


class GenesisBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    origin: str
    format: int
    ledger_key: str
    admin_id: str
    admin_name: str
    admin_key: str
    beacons: tuple[dict[str, Any], ...]  # drand chain info of each beacon network draws may use


class RegisterBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    actor_id: str
    name: str
    roles: tuple[str, ...]
    department: str | None
    public_key: str


class RotateKeyBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    public_key: str
    reason: str


class RolesBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    actor_id: str
    roles: tuple[str, ...]
    department: str | None


class RevokeBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    actor_id: str
    reason: str


class LedgerKeyBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    new_key: str
    reason: str


def public_key_of(field_name: str, text: str) -> bytes:
    try:
        return decode_public_key(text)
    except ValueError as error:
        raise Refusal("invalid", f"{field_name}: {error}") from None


def check_actor_id(actor_id: str) -> None:
    if not actor_id or not actor_id.isprintable() or len(actor_id) > 64 or actor_id != actor_id.strip():
        raise Refusal("invalid", f"actor id {short(actor_id)!r}: use 1-64 printable characters without outer spaces")


def existing_actor(state: State, actor_id: str) -> Actor:
    found = state.get_for_update(Actor, Actor.create_id(actor_id))
    if found is None:
        raise Refusal("unknown_object", f"unknown actor {short(actor_id)!r}")
    return found


class _GenesisClaim(msgspec.Struct):
    class Body(msgspec.Struct):
        admin_key: str
        format: int = 1

    name: str
    body: Body


def authenticate_genesis(signed: SignedCommand, recorded_at: datetime) -> Command:
    """The genesis command, authenticated by the admin key it registers."""
    try:
        claimed = msgspec.json.decode(signed.command, type=_GenesisClaim)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise Refusal("unreadable", "the genesis command is unreadable") from None
    if claimed.name != "ledger.genesis":
        raise Refusal("invalid", f"the first command is {short(claimed.name)!r}, not ledger.genesis")
    if claimed.body.format != LEDGER_FORMAT:
        raise Refusal("old_format", f"this ledger has format {claimed.body.format}; this drledger reads format"
                                    f" {LEDGER_FORMAT} only (no older ledgers were deployed: create it anew)")
    try:
        content = open_command(signed, public_key_of("admin_key", claimed.body.admin_key))
    except CommandError as error:
        raise Refusal(error.code, f"genesis: {error}") from None
    return Command(signed=signed, content=content, actor=None, recorded_at=recorded_at)


def decide_genesis(state: State, command: Command) -> list[LedgerAggregate]:
    """The first transaction: signed by the first admin with the key it registers."""
    body = command.body(GenesisBody)
    if state.position != 0:
        raise Refusal("invalid", "a ledger has one genesis, at its start")
    if body.format != LEDGER_FORMAT:
        raise Refusal("invalid", f"ledger format {body.format} is not {LEDGER_FORMAT}")
    if body.admin_id != command.actor_id:
        raise Refusal("invalid", "the genesis command is signed by the admin it registers")
    check_actor_id(body.admin_id)
    admin_key = public_key_of("admin_key", body.admin_key)
    ledger = Ledger(origin=need_text("origin", body.origin, 200), format=body.format,
                    ledger_key=public_key_of("ledger_key", body.ledger_key), admin_id=body.admin_id,
                    admin_key=admin_key, beacons=pinned_beacons(body.beacons), actor=body.admin_id)
    admin = Actor(actor_id=body.admin_id, name=need_text("admin_name", body.admin_name, 200), roles=("admin",),
                  department=None, public_key=admin_key, actor=body.admin_id)
    return [ledger, admin]


def pinned_beacons(infos: tuple[dict[str, Any], ...]) -> dict[str, dict[str, Any]]:
    """The beacon networks a genesis pins, by beacon ID: each a valid drand chain info."""
    from ledger.beacon.errors import BeaconInvalid
    from ledger.beacon.network import BeaconNetwork

    if not infos:
        raise Refusal("invalid", "genesis pins at least one beacon network (draws take their randomness from it)")
    pinned: dict[str, dict[str, Any]] = {}
    for number, info in enumerate(infos, 1):
        try:
            network = BeaconNetwork.from_chain_info(info)
        except (BeaconInvalid, TypeError, ValueError) as error:
            raise Refusal("invalid", f"beacon network {number}: {error}") from None
        if network.beacon_id in pinned:
            raise Refusal("invalid", f"beacon network {network.beacon_id!r} is pinned twice")
        pinned[network.beacon_id] = network.to_chain_info()
    return pinned


def admin_covers(state: State, command: Command, department: str | None, what: str) -> None:
    """An admin of a department acts for actors of its departments; one without, for all."""
    if department is not None:
        require_jurisdiction(state, command, department, what)
    elif command.actor.department is not None:
        raise Refusal("out_of_jurisdiction", f"{command.actor_id!r} ({command.actor.department}) acts only for"
                                             f" actors of its own departments ({what})")


def check_badge_department(state: State, actor_id: str, roles: tuple[str, ...], department: str | None) -> None:
    """An inspector actor signs as the officer of the same badge: it is registered in that badge's
    department, so that an admin of another office cannot take over (register, or move to its own
    department) an officer it does not manage. A badge not yet in the directory is tied when it is
    used: results and 回避 check the signer's department against the badge's (a later import may
    move the badge, a transfer; the actor then acts for it once its admin moves it too). Either way
    an inspector has a department (`inspector_without_department`)."""
    if "inspector" not in roles:
        return
    from ledger.domain.directory import Inspector

    badge = state.get(Inspector, Inspector.id_for(actor_id))
    if badge is not None and badge.record.department != department:
        raise Refusal("badge_of_other_department", f"actor {short(actor_id)!r} is the inspector of badge {actor_id}"
                                                   f" of department {badge.record.department}: register it in that"
                                                   f" department, not {department or 'none'}")
    if department is None:
        # Jurisdiction reads "no department" as ledger-wide: an inspector without one would pass
        # every later department check of the badge it signs for.
        raise Refusal("inspector_without_department", f"actor {short(actor_id)!r} holds the inspector role: register"
                                                      " it in its badge's department (an inspector is never"
                                                      " ledger-wide)")


@command("actor.register", "admin")
def decide_register(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body = command.body(RegisterBody)
    check_actor_id(body.actor_id)
    check_roles(body.roles)
    if body.department is not None:
        from ledger.domain.directory import Department

        if state.get(Department, Department.id_for(body.department)) is None:
            raise Refusal("unknown_reference", f"unknown department {short(body.department)!r}")
    admin_covers(state, command, body.department, f"actor {short(body.actor_id)}")
    if state.get(Actor, Actor.create_id(body.actor_id)) is not None:
        raise Refusal("duplicate", f"actor {body.actor_id!r} is already registered")
    check_badge_department(state, body.actor_id, body.roles, body.department)
    return [Actor(actor_id=body.actor_id, name=need_text("name", body.name, 200), roles=body.roles,
                  department=body.department, public_key=public_key_of("public_key", body.public_key),
                  actor=command.actor_id)]


@command("actor.rotate_key")
def decide_rotate_key(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    """An actor replaces its own key, signing with the key in force."""
    body = command.body(RotateKeyBody)
    new_key = public_key_of("public_key", body.public_key)
    me = existing_actor(state, command.actor_id)
    if new_key == me.public_key:
        raise Refusal("invalid", "the new key is the key in force")
    me.rotate_key(public_key=new_key, reason=need_text("reason", body.reason), effective_from=command.recorded_at,
                  actor=command.actor_id)
    return [me]


@command("actor.set_roles", "admin")
def decide_set_roles(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body = command.body(RolesBody)
    check_roles(body.roles)
    target = existing_actor(state, body.actor_id)
    admin_covers(state, command, target.department, f"actor {body.actor_id}")
    if body.department != target.department:
        admin_covers(state, command, body.department, f"actor {body.actor_id}")
    if target.revoked:
        raise Refusal("revoked_actor", f"actor {body.actor_id!r} is revoked")
    if body.actor_id == command.actor_id and "admin" not in body.roles:
        raise Refusal("invalid", "an admin cannot remove its own admin role")
    if set(GUARDED_ROLES) & (set(target.roles) - set(body.roles)):
        raise Refusal("needs_approval", f"taking the {'/'.join(GUARDED_ROLES)} role from {body.actor_id!r} needs"
                                        " an approved proposal (proposal.open)")
    check_badge_department(state, body.actor_id, body.roles, body.department)
    target.change_roles(roles=body.roles, department=body.department, actor=command.actor_id)
    return [target]


@command("actor.revoke", "admin")
def decide_revoke(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body = command.body(RevokeBody)
    target = existing_actor(state, body.actor_id)
    admin_covers(state, command, target.department, f"actor {body.actor_id}")
    if target.revoked:
        raise Refusal("revoked_actor", f"actor {body.actor_id!r} is already revoked")
    if set(GUARDED_ROLES) & set(target.roles):
        raise Refusal("needs_approval", f"revoking {body.actor_id!r} ({', '.join(target.roles)}) needs an approved"
                                        " proposal including a discipline (纪检) actor (proposal.open)")
    target.revoke(reason=need_text("reason", body.reason), actor=command.actor_id)
    return [target]


@command("ledger.rotate_key", "admin")
def decide_ledger_key(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    require_ledger_wide(command)
    body = command.body(LedgerKeyBody)
    ledger = state.get_for_update(Ledger, Ledger.ID)
    assert ledger is not None
    new_key = public_key_of("new_key", body.new_key)
    if new_key == ledger.ledger_key:
        raise Refusal("invalid", "the new ledger key is the key in force")
    ledger.rotate_ledger_key(new_key=new_key, reason=need_text("reason", body.reason), actor=command.actor_id)
    return [ledger]


def cooling_off_end(recorded_at: datetime, days: int) -> datetime:
    return recorded_at + timedelta(days=days)
