"""The actor registry: signed commands that change it, and who is registered.

Every change is a command signed by the acting actor's own key (the rules
are in domain/actors.py): an admin registers actors, changes their roles
and revokes them; an actor rotates ITS OWN key, signing with the key in
force. The caller signs; no service holds an actor's private key.

    signed = sign_register(admin_signer, "admin", actor_id="JX-0001", ...)
    receipt = ledger.submit(signed)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.actors import ROLES, Actor
from ledger.integrity.commands import SignedCommand, sign_command
from ledger.integrity.keys import Signer, decode_public_key, key_id, public_key_b64, read_key_file, write_key_file
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader

__all__ = ["ROLES", "ActorInfo", "actor_with_key", "decode_public_key", "find_actor", "list_actors", "new_key_file", "public_key_b64",
           "read_own_key", "register_body", "sign_register", "sign_revoke", "sign_rotate_key", "sign_set_roles"]

REGISTERED = get_topic(Actor.Registered)
KEY_ROTATED = get_topic(Actor.KeyRotated)
ROLES_CHANGED = get_topic(Actor.RolesChanged)
REVOKED = get_topic(Actor.Revoked)
ACTOR_TOPICS = (REGISTERED, KEY_ROTATED, ROLES_CHANGED, REVOKED)


def new_key_file(path: Path) -> Signer:
    """Create an Ed25519 key file (mode 0600, DRLEDGER_KEY_PASSPHRASE if set); never overwrites one."""
    from ledger.services.keys import passphrase

    signer = Signer.generate()
    write_key_file(path, signer, passphrase())
    return signer


def read_own_key(path: Path) -> Signer:
    """A key file the actor holds (DRLEDGER_KEY_PASSPHRASE if it is protected)."""
    from ledger.services.keys import passphrase

    return read_key_file(path, passphrase())


def register_body(actor_id: str, name: str, roles: tuple[str, ...] | list[str], department: str | None,
                  public_key: bytes) -> dict[str, Any]:
    return {"actor_id": actor_id, "department": department, "name": name,
            "public_key": public_key_b64(public_key), "roles": list(roles)}


def sign_register(signer: Signer, admin: str, *, actor_id: str, name: str, roles: tuple[str, ...] | list[str],
                  department: str | None, public_key: bytes) -> SignedCommand:
    return sign_command(signer, admin, "actor.register", register_body(actor_id, name, roles, department, public_key))


def sign_revoke(signer: Signer, admin: str, *, actor_id: str, reason: str) -> SignedCommand:
    return sign_command(signer, admin, "actor.revoke", {"actor_id": actor_id, "reason": reason})


def sign_set_roles(signer: Signer, admin: str, *, actor_id: str, roles: tuple[str, ...] | list[str],
                   department: str | None) -> SignedCommand:
    return sign_command(signer, admin, "actor.set_roles",
                        {"actor_id": actor_id, "department": department, "roles": list(roles)})


def sign_rotate_key(old: Signer, actor: str, *, new_public_key: bytes, reason: str) -> SignedCommand:
    """`actor` replaces its own key: signed with the key in force (`old`)."""
    return sign_command(old, actor, "actor.rotate_key",
                        {"public_key": public_key_b64(new_public_key), "reason": reason})


class ActorInfo(msgspec.Struct, kw_only=True):
    actor_id: str
    name: str
    roles: list[str]
    department: str | None
    key_id: str | None  # the key in force; None once revoked
    revoked: bool
    registered_at: int  # ledger position
    changed_at: int  # ledger position of the last change


class _Registered(msgspec.Struct):
    actor_id: str
    name: str
    roles: list[str]
    department: str | None
    public_key: bytes


class _Rotated(msgspec.Struct):
    public_key: bytes


class _Roles(msgspec.Struct):
    roles: list[str]
    department: str | None


def _registry(config: StoreConfig) -> list[tuple[ActorInfo, bytes | None]]:
    """Every registered actor with its public key in force (None once revoked), in registration order."""
    with open_reader(config) as reader:
        rows = reader.events_with_topics(ACTOR_TOPICS)
    by_aggregate: dict[Any, tuple[ActorInfo, bytes | None]] = {}
    for row in rows:
        assert row.state is not None
        if row.topic == REGISTERED:
            r = msgspec.json.decode(row.state, type=_Registered)
            by_aggregate[row.originator_id] = (ActorInfo(
                actor_id=r.actor_id, name=r.name, roles=r.roles, department=r.department,
                key_id=key_id(r.public_key), revoked=False, registered_at=row.seq, changed_at=row.seq), r.public_key)
            continue
        found = by_aggregate.get(row.originator_id)
        if found is None:
            continue  # verify reports an event for an unknown actor
        info, public_key = found
        info.changed_at = row.seq
        if row.topic == KEY_ROTATED:
            public_key = msgspec.json.decode(row.state, type=_Rotated).public_key
            info.key_id = key_id(public_key)
        elif row.topic == ROLES_CHANGED:
            roles = msgspec.json.decode(row.state, type=_Roles)
            info.roles, info.department = roles.roles, roles.department
        elif row.topic == REVOKED:
            info.revoked, info.key_id, public_key = True, None, None
        by_aggregate[row.originator_id] = (info, public_key)
    return list(by_aggregate.values())


def list_actors(config: StoreConfig) -> list[ActorInfo]:
    """Every registered actor as the actor events say now, in registration order."""
    return [info for info, _ in _registry(config)]


def actor_with_key(config: StoreConfig, actor_id: str) -> tuple[ActorInfo, bytes | None] | None:
    """The actor and its public key in force (None once revoked), or None if unknown."""
    return next((found for found in _registry(config) if found[0].actor_id == actor_id), None)


def find_actor(config: StoreConfig, actor_id: str) -> ActorInfo | None:
    return next((a for a in list_actors(config) if a.actor_id == actor_id), None)
