"""Commands and their decisions: one pure rule per command (the Decider pattern).

Every state-changing operation is a `SignedCommand` (integrity/commands.py)
signed by its actor's own key. The ledger handles one the same way at write
time (services/processor.py) and when `verify` re-executes the ledger
(verify/reexecute.py):

    authenticate(state, signed, recorded_at) -> (actor, content) | Refusal
    decide(state, command, attachment)       -> aggregates with new events | Refusal

Both are pure: they read the state (aggregates derived from events, before
this command) and nothing else: no clock (the ledger's recorded time comes
in), no projections, no files. The events a decision yields are saved in
one transaction behind the command's own event (`CommandRecord.Accepted`),
which keeps the exact signed bytes. A refusal changes nothing but its
refusal record (domain/refusals.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final, Protocol, TypeVar
from uuid import UUID

import msgspec
from ledger.domain.base import LedgerAggregate, natural_id
from ledger.integrity.canonical import rfc3339
from ledger.integrity.commands import CommandContent, CommandError, SignedCommand, open_command

A = TypeVar("A", bound=LedgerAggregate)

# China has kept UTC+8 all year since 1991: a fixed offset needs no tzdata.
CHINA_TZ: Final = timezone(timedelta(hours=8), "Asia/Shanghai")
# A command is accepted from MAX_AGE before to MAX_SKEW after the ledger's recorded time.
MAX_AGE: Final = timedelta(minutes=10)
MAX_SKEW: Final = timedelta(minutes=1)
MAX_TEXT: Final = 2000  # a reason, a name: longer text is refused, not cut


class Refusal(Exception):
    """A command is refused: a stable `code` (reports and APIs key on it) and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"refused ({code}): {message}")
        self.code = code
        self.message = message


# Codes every command may be refused with before its own rule runs.
AUTH_CODES: Final = {
    "unreadable": "the command cannot be read",
    "unknown_actor": "the signing actor is not registered",
    "revoked_actor": "the signing actor is revoked",
    "bad_signature": "the signature does not verify with the actor's key in force",
    "stale_command": "the command was issued outside the accepted time window",
    "reused_nonce": "the command's nonce was used before",
    "key_not_yet_valid": "the actor's key is in its cooling-off period",
    "unknown_command": "no such command",
    "missing_role": "the actor lacks the role the command needs",
    "out_of_jurisdiction": "the actor's department does not cover the object",
    "invalid": "a field of the command is invalid",
}


def china_date(moment: datetime) -> date:
    """The calendar date in China of an aware moment (deadlines count in China)."""
    return moment.astimezone(CHINA_TZ).date()


class State(Protocol):
    """What a decision may read: aggregates as of the ledger position before it.

    `get` returns an aggregate the decision must not change; `get_for_update`
    a private copy it may change and return. Both return None for an
    aggregate that does not exist.
    """

    position: int

    def get(self, cls: type[A], aggregate_id: UUID) -> A | None: ...

    def get_for_update(self, cls: type[A], aggregate_id: UUID) -> A | None: ...

    def preload(self, aggregate_ids: list[UUID]) -> None:
        """A hint that these aggregates are read next (bulk decisions)."""


@dataclass(frozen=True)
class Command:
    """An authenticated command, ready for its decision."""

    signed: SignedCommand
    content: CommandContent
    actor: Any  # the Actor aggregate that signed it (domain/actors.py)
    recorded_at: datetime  # the ledger's time for this command

    @property
    def name(self) -> str:
        return self.content.name

    @property
    def actor_id(self) -> str:
        return self.content.actor

    @property
    def today(self) -> date:
        return china_date(self.recorded_at)

    def body(self, body_type: type[msgspec.Struct]) -> Any:
        try:
            return msgspec.convert(self.content.body, body_type)
        except msgspec.ValidationError as error:
            raise Refusal("invalid", f"{self.name}: {error}") from None


Decider = Callable[[State, Command, Any], Iterable[LedgerAggregate]]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    decide: Decider
    roles: tuple[str, ...]  # any of these (empty: any registered actor)
    attachment: bool = False  # takes data beside the signed body (import rows)


COMMANDS: dict[str, CommandSpec] = {}


def command(name: str, *roles: str, attachment: bool = False) -> Callable[[Decider], Decider]:
    """Register `decide` as the one rule of command `name`."""

    def register(decide: Decider) -> Decider:
        if name in COMMANDS:
            raise RuntimeError(f"command {name} is declared twice")
        COMMANDS[name] = CommandSpec(name, decide, roles, attachment)
        return decide

    return register


class CommandRecord(LedgerAggregate):
    """The signed command that opens its transaction, exactly as signed.

    Its id is (actor, nonce): a second command with a used nonce collides on
    it, in the store as in `verify`.
    """

    class Accepted(LedgerAggregate.Created):
        actor: str
        name: str
        command: bytes
        signature: bytes
        key_id: str

    def __init__(self, actor: str, name: str, command: bytes, signature: bytes, key_id: str) -> None:
        self.name = name
        self.command = command
        self.signature = signature
        self.key_id = key_id

    @staticmethod
    def id_for(actor_id: str, nonce: str) -> UUID:
        return natural_id("command", f"{actor_id}/{nonce}")

    @classmethod
    def of(cls, command: Command) -> CommandRecord:
        return cls._create(
            cls.Accepted,
            id=cls.id_for(command.actor_id, command.content.nonce),
            actor=command.actor_id,
            name=command.name,
            command=command.signed.command,
            signature=command.signed.signature,
            key_id=command.signed.key_id,
        )


class _Claim(msgspec.Struct):
    actor: str
    name: str
    nonce: str = ""


def claim_of(signed: SignedCommand) -> _Claim:
    """What a command says about itself before its signature is checked."""
    try:
        claim = msgspec.json.decode(signed.command, type=_Claim)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise Refusal("unreadable", "the signed command is not a readable command") from None
    if not claim.actor or not claim.name:
        raise Refusal("unreadable", "the signed command names no actor or no command")
    return claim


def authenticate(state: State, signed: SignedCommand, recorded_at: datetime) -> Command:
    """The command, once its actor, key in force, signature, nonce and time check out."""
    from ledger.domain.actors import Actor  # actors.py registers its deciders here

    claim = claim_of(signed)
    actor = state.get(Actor, Actor.create_id(claim.actor))
    if actor is None:
        raise Refusal("unknown_actor", f"unknown actor {short(claim.actor)!r}")
    if actor.revoked:
        raise Refusal("revoked_actor", f"actor {claim.actor!r} is revoked")
    if actor.key_from is not None and recorded_at < actor.key_from:
        raise Refusal("key_not_yet_valid", f"{claim.actor!r}'s key in force signs only from"
                                           f" {rfc3339(actor.key_from)} (cooling-off after a recovery)")
    try:
        content = open_command(signed, actor.public_key)
    except CommandError as error:
        raise Refusal(error.code, f"{short(claim.name)} by {claim.actor!r}: {error}") from None
    if not (recorded_at - MAX_AGE <= content.issued_at <= recorded_at + MAX_SKEW):
        raise Refusal("stale_command", f"command issued at {rfc3339(content.issued_at)} is outside the accepted"
                                       f" window around the ledger's time {rfc3339(recorded_at)}")
    if state.get(CommandRecord, CommandRecord.id_for(content.actor, content.nonce)) is not None:
        raise Refusal("reused_nonce", f"nonce {content.nonce} of {content.actor!r} was used before (replayed command)")
    return Command(signed=signed, content=content, actor=actor, recorded_at=recorded_at)


def command_spec(command: Command) -> CommandSpec:
    """The command's declaration, once the actor holds a role it needs."""
    spec = COMMANDS.get(command.name)
    if spec is None:
        raise Refusal("unknown_command", f"unknown command {short(command.name)!r}")
    if spec.roles and not set(spec.roles) & set(command.actor.roles):
        raise Refusal("missing_role", f"actor {command.actor_id!r} lacks the role {' or '.join(spec.roles)}"
                                      f" needed for {command.name}")
    return spec


def decide(state: State, command: Command, attachment: Any = None) -> list[LedgerAggregate]:
    """The aggregates (with their new events) that `command` yields, or Refusal."""
    spec = command_spec(command)
    if attachment is not None and not spec.attachment:
        raise Refusal("invalid", f"{command.name} takes no data beside its signed body")
    return [CommandRecord.of(command), *spec.decide(state, command, attachment)]


# ---------------------------------------------------------------------------
# Small shared checks.


def short(text: str, limit: int = 80) -> str:
    """Text for a message: long values are cut, never echoed in full."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def need_text(field_name: str, value: str, limit: int = MAX_TEXT) -> str:
    if not value.strip():
        raise Refusal("invalid", f"{field_name} must not be empty")
    if len(value) > limit:
        raise Refusal("invalid", f"{field_name} is {len(value)} characters long; at most {limit}")
    return value


def department_covers(state: State, scope: str | None, department: str) -> bool:
    """Whether an actor of department `scope` may act for `department`:
    its own, or one below it (a department's scope includes its sub-departments).
    An actor with no department (an admin of the whole ledger) covers all."""
    if scope is None:
        return True
    from ledger.domain.directory import Department

    seen: set[str] = set()
    current: str | None = department
    while current and current not in seen:
        if current == scope:
            return True
        seen.add(current)
        found = state.get(Department, Department.id_for(current))
        current = found.record.parent if found is not None else None
    return False


def require_jurisdiction(state: State, command: Command, department: str, what: str) -> None:
    if not department_covers(state, command.actor.department, department):
        raise Refusal("out_of_jurisdiction", f"{command.actor_id!r} ({command.actor.department}) may not act for"
                                             f" department {department} ({what})")


def require_ledger_wide(command: Command) -> None:
    """Ledger-wide powers (the ledger key, settings, witnesses) belong to actors of no department."""
    if command.actor.department is not None:
        raise Refusal("out_of_jurisdiction", f"{command.actor_id!r} belongs to department {command.actor.department};"
                                             f" {command.name} is for ledger-wide actors only")


def sorted_ids(values: Iterable[str]) -> list[str]:
    return sorted(values, key=str.encode)


@dataclass
class Batch:
    """Aggregates a decision returns, each once, in first-touched order."""

    items: dict[UUID, LedgerAggregate] = field(default_factory=dict)

    def add(self, aggregate: LedgerAggregate) -> LedgerAggregate:
        self.items.setdefault(aggregate.id, aggregate)
        return aggregate

    def __iter__(self) -> Iterator[LedgerAggregate]:
        return iter(self.items.values())

