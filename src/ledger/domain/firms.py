"""Firms take part: their representatives, acknowledgements, 回避 requests and the notice code.

- `firm.register` (a list manager of one of the firm's departments): a firm's
  representative becomes an actor of kind `firm` with its own key, bound to
  the firm's USCC. The deployment defines the identity check (e.g. 电子营业执照
  scan, an in-person check at the 登记窗口); the ledger records the check's
  method and reference only, never personal documents (a reference that looks
  like an ID-card number is refused).
- `firm.acknowledge` (the firm): the firm acknowledges the inspection of a
  task that drew it; the team it saw is recorded with it.
- `firm.recusal_request` (the firm): asks that an officer of its team step
  aside (申请回避), with a reason. `firm.recusal_decide` (a reviewer of the
  task's lead department) grants it, and the officer is replaced through the
  draw's own ranking (draw/spec.py step 7, as `draw.substitute`, within the
  same cap), or denies it with a reason.
- The inspection notice (检查通知书) carries `notice_code(...)`: a short code
  a firm can look up without logging in (`drledger notice check`) to see
  which task and team were drawn for it (see `notice_code`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any, Final
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from ledger.domain.actors import Actor, check_actor_id, public_key_of
from ledger.domain.base import LedgerAggregate, natural_id
from ledger.domain.commands import Command, Refusal, State, command, department_covers, need_text, \
    require_jurisdiction, short

FIRM_ROLE: Final = "firm"
# An identity-check reference must not be a personal document number: 15/18-digit ID cards, phone numbers.
_PERSONAL: Final = re.compile(r"(?<!\d)(\d{17}[\dXx]|\d{15}|1[3-9]\d{9})(?!\d)")


class FirmRepresentative(LedgerAggregate):
    """An actor of kind firm, bound to one firm (USCC)."""

    actor_id: str
    uscc: str
    acknowledged: tuple[str, ...]

    @staticmethod
    def create_id(actor_id: str, **_: Any) -> UUID:
        return natural_id("firm-representative", actor_id)

    @event("Registered")
    def __init__(self, actor_id: str, uscc: str, check_method: str, check_reference: str, actor: str) -> None:
        self.actor_id = actor_id
        self.uscc = uscc
        self.acknowledged = ()

    @event("Acknowledged")
    def acknowledge(self, task_id: str, uscc: str, inspectors: tuple[str, ...], actor: str) -> None:
        self.acknowledged = (*self.acknowledged, task_id)


class RecusalRequest(LedgerAggregate):
    """A firm's request that an officer of its team step aside (申请回避)."""

    task_id: str
    uscc: str
    officer: str
    decided: bool
    granted: bool

    @staticmethod
    def create_id(task_id: str, uscc: str, officer: str, **_: Any) -> UUID:
        return natural_id("recusal-request", f"{task_id}/{uscc}/{officer}")

    @event("Raised")
    def __init__(self, task_id: str, uscc: str, officer: str, reason: str, actor: str) -> None:
        self.task_id = task_id
        self.uscc = uscc
        self.officer = officer
        self.decided = False
        self.granted = False

    @event("Decided")
    def decide(self, granted: bool, reason: str, actor: str) -> None:
        self.decided = True
        self.granted = granted


class RegisterFirmBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    actor_id: str
    name: str
    uscc: str
    public_key: str
    check_method: str  # as the deployment defines it: "电子营业执照", "登记窗口核验", ...
    check_reference: str  # the check's own reference (a case number), never a personal document


class AcknowledgeBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str


class RecusalRequestBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    officer: str
    reason: str


class RecusalDecideBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    uscc: str
    officer: str
    grant: bool
    reason: str


def representative(state: State, command: Command) -> FirmRepresentative:
    """The firm the signing actor represents (every firm command is signed by one)."""
    found = state.get_for_update(FirmRepresentative, FirmRepresentative.create_id(command.actor_id))
    if found is None:
        raise Refusal("not_a_firm", f"{command.actor_id!r} is not a registered firm representative")
    return found


def drawn_team(state: State, task_id: str, uscc: str) -> tuple[Any, Any]:
    """(task, team) of a standing draw that drew `uscc`."""
    from ledger.domain.draws import Task

    task = state.get(Task, Task.create_id(task_id))
    if task is None:
        raise Refusal("unknown_task", f"unknown task {short(task_id)!r}")
    team = task.team_of(uscc)
    if team is None:
        raise Refusal("not_drawn", f"task {task_id}: firm {uscc} is not a drawn target of its standing draw")
    return task, team


@command("firm.register", "list_manager")
def decide_register_firm(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    from ledger.domain.directory import Entity

    body: RegisterFirmBody = command.body(RegisterFirmBody)
    check_actor_id(body.actor_id)
    need_text("check_method", body.check_method, 100)
    need_text("check_reference", body.check_reference, 200)
    if _PERSONAL.search(body.check_reference) or _PERSONAL.search(body.check_method):
        raise Refusal("personal_data", "check_reference: record the identity check's own reference (a case"
                                       " number), not an ID-card or phone number")
    entity = state.get(Entity, Entity.id_for(body.uscc))
    if entity is None:
        raise Refusal("unknown_reference", f"unknown firm {short(body.uscc)!r}: only a listed firm has"
                                           " representatives")
    scope = command.actor.department
    if scope is not None and not any(department_covers(state, scope, d) for d in entity.record.departments):
        raise Refusal("out_of_jurisdiction", f"{command.actor_id!r} ({scope}) does not keep the list of firm"
                                             f" {body.uscc}")
    if state.get(Actor, Actor.create_id(body.actor_id)) is not None:
        raise Refusal("duplicate", f"actor {body.actor_id!r} is already registered")
    actor = Actor(actor_id=body.actor_id, name=need_text("name", body.name, 200), roles=(FIRM_ROLE,),
                  department=None, public_key=public_key_of("public_key", body.public_key), actor=command.actor_id)
    firm = FirmRepresentative(actor_id=body.actor_id, uscc=body.uscc, check_method=body.check_method,
                              check_reference=body.check_reference, actor=command.actor_id)
    return [actor, firm]


@command("firm.acknowledge", FIRM_ROLE)
def decide_acknowledge(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body: AcknowledgeBody = command.body(AcknowledgeBody)
    firm = representative(state, command)
    _, team = drawn_team(state, body.task_id, firm.uscc)
    if body.task_id in firm.acknowledged:
        raise Refusal("duplicate", f"task {body.task_id}: already acknowledged")
    firm.acknowledge(task_id=body.task_id, uscc=firm.uscc, inspectors=tuple(team.inspectors),
                     actor=command.actor_id)
    return [firm]


@command("firm.recusal_request", FIRM_ROLE)
def decide_recusal_request(state: State, command: Command, _: Any) -> list[LedgerAggregate]:
    body: RecusalRequestBody = command.body(RecusalRequestBody)
    need_text("reason", body.reason)
    firm = representative(state, command)
    _, team = drawn_team(state, body.task_id, firm.uscc)
    if body.officer not in team.inspectors:
        raise Refusal("not_on_team", f"task {body.task_id}: {short(body.officer)} is not an officer of the team of"
                                     f" {firm.uscc}")
    found = state.get(RecusalRequest, RecusalRequest.create_id(body.task_id, firm.uscc, body.officer))
    if found is not None:
        raise Refusal("duplicate", f"task {body.task_id}: a recusal of {body.officer} was already requested")
    return [RecusalRequest(task_id=body.task_id, uscc=firm.uscc, officer=body.officer, reason=body.reason,
                           actor=command.actor_id)]


@command("firm.recusal_decide", "reviewer", attachment=True)
def decide_recusal(state: State, command: Command, inputs: object) -> list[LedgerAggregate]:
    """Granted: the officer leaves the team and the draw's ranking names who joins (as a
    substitution, within its cap); denied: recorded with the reason."""
    from ledger.domain.draws import Task, _replace

    body: RecusalDecideBody = command.body(RecusalDecideBody)
    need_text("reason", body.reason)
    where = f"task {body.task_id}"
    task = state.get(Task, Task.create_id(body.task_id))
    if task is None:
        raise Refusal("unknown_task", f"unknown task {short(body.task_id)!r}")
    require_jurisdiction(state, command, task.departments[0], where)
    request = state.get_for_update(RecusalRequest, RecusalRequest.create_id(body.task_id, body.uscc, body.officer))
    if request is None:
        raise Refusal("unknown_object", f"{where}: no recusal of {short(body.officer)} was requested by"
                                        f" {short(body.uscc)}")
    if request.decided:
        raise Refusal("duplicate", f"{where}: the recusal request is already decided")
    changed: list[LedgerAggregate] = []
    if body.grant:
        changed = _replace(state, command, body.task_id, body.uscc, body.officer, "firm_request", body.reason, inputs)
    request.decide(granted=body.grant, reason=body.reason, actor=command.actor_id)
    return [*changed, request]  # the substitution right after the command, as draw.substitute's


# ---------------------------------------------------------------------------
# The notice code (检查通知书).

NOTICE_TAG: Final = "drledger/notice/v1"
NOTICE_LENGTH: Final = 12  # base32 characters: 60 bits
_CROCKFORD: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def notice_code(task_id: str, uscc: str, inspectors: list[str] | tuple[str, ...], seed: str) -> str:
    """The code printed on the inspection notice: the first 60 bits of
    SHA-256("drledger/notice/v1\\n" task "\\n" uscc "\\n" badges joined by "," "\\n" seed), in
    Crockford base32 (no I, L, O, U), grouped XXXX-XXXX-XXXX.

    It binds the pair (firm, team) to the draw (its seed): a substitution changes the team and so
    the code, and the old notice no longer checks. Every input is public once the draw is, so the
    code is a lookup key, not a password: what protects the firm is that the check shows the
    team's badges, which the officers at the door must show too. Its length makes guessing a valid
    code from the public check useless: with a million standing pairs, one guess in about 10^12
    hits one.

    >>> notice_code("T1", "91360502MA35XXXX0X", ["B1", "B2"], "00" * 32)
    '33P6-5Q0G-8C6N'
    """
    text = "\n".join([NOTICE_TAG, task_id, uscc, ",".join(inspectors), seed])
    digest = hashlib.sha256(text.encode()).digest()
    code = base64.b32encode(digest).decode()[:NOTICE_LENGTH].translate(_CROCKFORD)
    return "-".join(code[i:i + 4] for i in range(0, NOTICE_LENGTH, 4))


def normalise_code(text: str) -> str | None:
    """A code as typed (any case, spaces or dashes, O for 0, I/L for 1) in its printed form, or None."""
    raw = re.sub(r"[\s-]", "", text.upper()).translate(str.maketrans("OIL", "011"))
    if len(raw) != NOTICE_LENGTH or not re.fullmatch(r"[0-9A-HJKMNP-TV-Z]+", raw):
        return None
    return "-".join(raw[i:i + 4] for i in range(0, NOTICE_LENGTH, 4))
