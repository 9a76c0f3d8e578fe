"""Witnesses the ledger asks to cosign its checkpoints, registered as events.

Each witness is an aggregate named by its label; adding and removing one is
an admin-signed command (`witness.add`, `witness.remove`), so an auditor can
see who trusted which witness key, and from when, without trusting the operator.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, natural_id
import msgspec

from ledger.domain.commands import Command, Refusal, State, command, require_ledger_wide, need_text, short

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
    def __init__(self, name: str, vkey: str, url: str, actor: str) -> None:
        self.name = name
        self.vkey = vkey
        self.url = url
        self.removed = False

    @event("Removed")
    def remove(self, reason: str, actor: str) -> None:
        self.removed = True


class AddBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    vkey: str
    url: str


class RemoveBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    reason: str


@command("witness.add", "admin")
def decide_add(state: State, command: Command, _: object) -> list[LedgerAggregate]:
    require_ledger_wide(command)
    from ledger.integrity.note import CosignatureV1Verifier, NoteError, parse_verifier_key

    body: AddBody = command.body(AddBody)
    if not body.name or not body.name.isprintable() or len(body.name) > 64 or " " in body.name:
        raise Refusal("invalid", "witness name must be 1-64 printable characters without spaces")
    try:
        parsed = parse_verifier_key(body.vkey)
    except NoteError as error:
        raise Refusal("invalid", f"witness key: {error}") from None
    if not isinstance(parsed, CosignatureV1Verifier):
        raise Refusal("invalid", "witness key must be a cosignature/v1 vkey (name+hex8+base64(0x04 || key))")
    if not body.url.startswith(("http://", "https://")) or len(body.url) > 500:
        raise Refusal("invalid", "the witness URL must be an http(s) URL of at most 500 characters")
    found = state.get(Witness, Witness.create_id(body.name))
    if found is not None and not found.removed:
        raise Refusal("duplicate", f"witness {body.name!r} is already registered")
    if found is not None:
        raise Refusal("duplicate", f"witness {body.name!r} was removed; register it under a new name")
    return [Witness(name=body.name, vkey=body.vkey, url=body.url, actor=command.actor_id)]


@command("witness.remove", "admin")
def decide_remove(state: State, command: Command, _: object) -> list[LedgerAggregate]:
    require_ledger_wide(command)
    body: RemoveBody = command.body(RemoveBody)
    witness = state.get_for_update(Witness, Witness.create_id(body.name))
    if witness is None or witness.removed:
        raise Refusal("unknown_object", f"no registered witness {short(body.name)!r}")
    witness.remove(reason=need_text("reason", body.reason), actor=command.actor_id)
    return [witness]
