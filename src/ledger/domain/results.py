"""Inspection results under enforcement (平台之外无抽查, 谁检查、谁录入、谁负责).

Aggregates:
- `InspectionResult`, one per (task, target): `Recorded` once, then any
  number of `Corrected` (the original stays in the log; each correction
  names its reason), then `Disclosed` (公示). Each event carries the
  inspector's signed command verbatim under `signed`, and its other fields
  repeat the signed body's fields under the same names, so `drledger
  verify` proves who signed exactly what.
- `CommandNonce`, one per (actor, nonce): created in the same transaction
  as the write it authorises, so a second use of a nonce collides on the
  aggregate's natural id and the whole transaction fails (atomic, even
  between concurrent writers).
- `RefusalLog`, one per (bucket, UTC hour): refused attempts as evidence.

Refusal bound (so refusals cannot flood the ledger): per bucket and UTC
hour, the first `limit` refusals are recorded in full (`Refused`); after
that only a `Suppressed` counter event is written, when the running total
of suppressed attempts reaches 1, 2, 4, 8, ... So a bucket holds at most
limit + log2(suppressed) + 2 events per hour, and the ledger still shows
(to within a factor of two) how big a flood was; the exact running total
is kept beside the ledger (it is a counter, not evidence). The
bucket is the claimed actor when that actor is registered, else one shared
"unregistered" bucket: unknown names cost an attacker nothing to invent,
so they must not each get their own allowance.

Everything here is pure: no I/O, no clock (dates come in as arguments).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Final
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, natural_id
from ledger.domain.workdays import WorkCalendar
from ledger.integrity.commands import SignedCommand

# China has kept UTC+8 all year since 1991: a fixed offset needs no tzdata.
CHINA_TZ: Final = timezone(timedelta(hours=8), "Asia/Shanghai")
UNREGISTERED_BUCKET: Final = "?unregistered"
EVIDENCE_BYTES: Final = 4096  # most bytes of a refused command kept in the ledger

RECORD: Final = "result.record"
CORRECT: Final = "result.correct"
DISCLOSE: Final = "result.disclose"
COMMAND_NAMES: Final = (RECORD, CORRECT, DISCLOSE)

# Why a write was refused: stable codes (reports and APIs key on them).
REFUSAL_CODES: Final = {
    "unreadable": "the command cannot be read",
    "unknown_actor": "the signing actor is not registered",
    "revoked_actor": "the signing actor is revoked",
    "bad_signature": "the signature does not verify with the actor's key in force",
    "stale_command": "the command was issued outside the accepted time window",
    "reused_nonce": "the command's nonce was used before",
    "missing_role": "the actor lacks the inspector role",
    "invalid": "a field of the command is invalid",
    "unknown_task": "no such task",
    "task_not_drawn": "the task has no standing draw",
    "wrong_task": "the target and inspector belong to another task",
    "target_not_drawn": "the target was not drawn (平台之外无抽查)",
    "inspector_not_assigned": "the inspector was not assigned to the target",
    "outside_window": "the inspection date is outside the task window",
    "item_not_on_task": "an item is not on the task (清单之外无检查)",
    "unknown_category": "the result category is not in the reference data",
    "duplicate_result": "the target already has a result in this task",
    "no_result": "the target has no result in this task yet",
    "already_disclosed": "the result is already disclosed",
    "calendar_not_covered": "a deadline falls in a year without working-day data",
}


def china_date(moment: datetime) -> date:
    """The calendar date in China of an aware moment (deadlines count in China)."""
    return moment.astimezone(CHINA_TZ).date()


def hour_bucket(moment: datetime) -> str:
    """The UTC hour a refusal counts against, e.g. '2026-11-29T15Z'."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%HZ")


def result_key(task_id: str, uscc: str) -> str:
    return f"{task_id}/{uscc}"


def result_cause(task_id: str, uscc: str, version: int) -> str:
    """How a reclassification names the result event behind it."""
    return f"result:{result_key(task_id, uscc)}@{version}"


# ---------------------------------------------------------------------------
# The signed command bodies: what the inspector signs, field for field.


class RecordBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    uscc: str
    category: str
    findings: str
    methods: tuple[str, ...]
    items: tuple[str, ...]
    inspected_on: date


class CorrectBody(RecordBody, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: str


class DiscloseBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_id: str
    uscc: str


BODY_TYPES: Final[dict[str, type[msgspec.Struct]]] = {RECORD: RecordBody, CORRECT: CorrectBody, DISCLOSE: DiscloseBody}


def body_dict(body: msgspec.Struct) -> dict[str, Any]:
    """The JSON-native dict that is signed for `body` (dates as ISO strings)."""
    return msgspec.to_builtins(body)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------
# Enforcement: the pure rule behind "no inspection outside the platform".


class TaskFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the ledger says about a task and a target, as of the check."""

    task_id: str
    exists: bool
    standing: bool  # a draw stands (drawn, not voided)
    window_start: date | None = None
    window_end: date | None = None
    items: tuple[str, ...] = ()
    team: tuple[str, ...] | None = None  # enforcement officers assigned to the target, None if not drawn
    other_tasks: tuple[str, ...] = ()  # other standing tasks assigning this inspector to this target


class Refusal(msgspec.Struct, frozen=True):
    code: str
    message: str


def check_assignment(facts: TaskFacts, uscc: str, badge: str) -> Refusal | None:
    """Is `badge` an officer a standing draw of this task assigned to `uscc`?"""
    assigned_here = facts.standing and facts.team is not None and badge in facts.team
    if not assigned_here and facts.other_tasks:
        return Refusal("wrong_task", f"{badge} is assigned to {uscc} in task(s) {', '.join(facts.other_tasks)},"
                                     f" not in task {facts.task_id}")
    if not facts.exists:
        return Refusal("unknown_task", f"unknown task {facts.task_id!r}")
    if not facts.standing:
        return Refusal("task_not_drawn", f"task {facts.task_id} has no standing draw")
    if facts.team is None:
        return Refusal("target_not_drawn", f"{uscc} was not drawn in task {facts.task_id} (平台之外无抽查)")
    if badge not in facts.team:
        return Refusal("inspector_not_assigned",
                       f"{badge} was not assigned to {uscc} in task {facts.task_id} (assigned: {', '.join(facts.team)})")
    return None


def check_content(facts: TaskFacts, body: RecordBody, categories: set[str], methods: set[str],
                  today: date) -> Refusal | None:
    """The recorded content: category, methods, items on the task, date in the window."""
    if body.category not in categories:
        return Refusal("unknown_category", f"unknown result category {body.category!r}")
    if not body.findings.strip() or len(body.findings) > 10_000:
        return Refusal("invalid", "findings must be 1-10000 characters")
    if not body.methods or len(set(body.methods)) != len(body.methods):
        return Refusal("invalid", "name at least one inspection method, each once")
    unknown = [m for m in body.methods if m not in methods]
    if unknown:
        return Refusal("invalid", f"unknown inspection method(s) {', '.join(unknown)}")
    if not body.items or len(set(body.items)) != len(body.items):
        return Refusal("invalid", "name at least one inspected item, each once")
    off_task = [i for i in body.items if i not in facts.items]
    if off_task:
        return Refusal("item_not_on_task",
                       f"item(s) {', '.join(off_task)} are not on task {facts.task_id} (清单之外无检查)")
    assert facts.window_start is not None and facts.window_end is not None
    if not facts.window_start <= body.inspected_on <= facts.window_end:
        return Refusal("outside_window", f"inspected on {body.inspected_on}, outside the task window"
                                         f" {facts.window_start}..{facts.window_end}")
    if body.inspected_on > today:
        return Refusal("outside_window", f"inspected on {body.inspected_on}, which is after today ({today})")
    return None


# ---------------------------------------------------------------------------
# Deadlines in working days.


class Deadlines(msgspec.Struct, frozen=True, kw_only=True):
    result_due: date
    late: bool
    disclosure_due: date


def result_due(window_end: date, working_days: int, calendar: WorkCalendar) -> date:
    """Results are due `working_days` working days after the window ends."""
    return calendar.add_working_days(window_end, working_days)


def deadlines(window_end: date, recorded_on: date, result_days: int, disclosure_days: int,
              calendar: WorkCalendar) -> Deadlines:
    """Raises CalendarNotCovered if either deadline needs a year with no schedule."""
    due = result_due(window_end, result_days, calendar)
    return Deadlines(result_due=due, late=recorded_on > due,
                     disclosure_due=calendar.add_working_days(recorded_on, disclosure_days))


# ---------------------------------------------------------------------------
# Credit feedback: result category -> risk-class change.

RISK_ORDER: Final = "ABCD"


def check_rule(rule: str) -> None:
    """A rule is 'X' (set X), '>=X' (at least X), '+N' or '-N' (move N classes)."""
    if rule in RISK_ORDER or (rule[:2] == ">=" and rule[2:] in RISK_ORDER and len(rule) == 3):
        return
    if len(rule) == 2 and rule[0] in "+-" and rule[1] in "123":
        return
    raise ValueError(f"credit rule {rule!r}: use A-D, >=A..>=D, or +1..+3 / -1..-3")


def apply_rule(rule: str, current: str) -> str:
    """The class after `rule`, from `current`.

    >>> apply_rule(">=C", "A"), apply_rule(">=C", "D"), apply_rule("+1", "D"), apply_rule("-1", "B")
    ('C', 'D', 'D', 'A')
    """
    check_rule(rule)
    if rule in RISK_ORDER:
        return rule
    if rule.startswith(">="):
        return max(current, rule[2:], key=RISK_ORDER.index)
    index = RISK_ORDER.index(current) + int(rule)
    return RISK_ORDER[min(max(index, 0), len(RISK_ORDER) - 1)]


# ---------------------------------------------------------------------------
# Masking inspectors' personal data in public views.

PUBLIC_INSPECTOR_MODES: Final = ("masked", "department", "full")


def mask_name(name: str) -> str:
    """Keep the surname (first character): 张三丰 -> 张**."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_badge(badge: str) -> str:
    """Keep the last two characters: XY-SCJG-0007 -> **********07."""
    return "*" * max(len(badge) - 2, 1) + badge[-2:]


# ---------------------------------------------------------------------------
# Aggregates.


class InspectionResult(LedgerAggregate):
    """The result of one target in one task, with its corrections and disclosure."""

    task_id: str
    uscc: str
    category: str
    findings: str
    methods: tuple[str, ...]
    items: tuple[str, ...]
    inspected_on: date
    recorded_by: str
    recorded_on: date
    result_due: date
    disclosure_due: date
    original_category: str
    corrections: int
    disclosed: bool

    @staticmethod
    def create_id(task_id: str, uscc: str, **_: Any) -> UUID:
        return natural_id("result", result_key(task_id, uscc))

    @event("Recorded")
    def __init__(self, task_id: str, uscc: str, category: str, findings: str, methods: tuple[str, ...],
                 items: tuple[str, ...], inspected_on: date, recorded_on: date, result_due: date, late: bool,
                 disclosure_due: date, actor: str, signed: SignedCommand) -> None:
        self.task_id = task_id
        self.uscc = uscc
        self.category = category
        self.findings = findings
        self.methods = methods
        self.items = items
        self.inspected_on = inspected_on
        self.recorded_by = actor
        self.recorded_on = recorded_on
        self.result_due = result_due
        self.disclosure_due = disclosure_due
        self.original_category = category
        self.corrections = 0
        self.disclosed = False

    @event("Corrected")
    def correct(self, task_id: str, uscc: str, category: str, findings: str, methods: tuple[str, ...],
                items: tuple[str, ...], inspected_on: date, reason: str, previous_category: str, actor: str,
                signed: SignedCommand) -> None:
        """A new version of the result; the earlier events stay in the log."""
        self.category = category
        self.findings = findings
        self.methods = methods
        self.items = items
        self.inspected_on = inspected_on
        self.corrections += 1

    @event("Disclosed")
    def disclose(self, task_id: str, uscc: str, disclosed_on: date, disclosure_due: date, late: bool, actor: str,
                 signed: SignedCommand) -> None:
        self.disclosed = True


class CommandNonce(LedgerAggregate):
    """A nonce an actor has used: exists once, so a replay cannot be saved."""

    @staticmethod
    def create_id(actor_id: str, nonce: str, **_: Any) -> UUID:
        return natural_id("nonce", f"{actor_id}/{nonce}")

    @event("Used")
    def __init__(self, actor_id: str, nonce: str, command_name: str, actor: str) -> None:
        self.actor_id = actor_id
        self.nonce = nonce


class RefusalLog(LedgerAggregate):
    """Refused attempts of one bucket (actor, or all unregistered names) in one UTC hour."""

    bucket: str
    hour: str
    limit: int
    recorded: int
    suppressed_logged: int

    @staticmethod
    def create_id(bucket: str, hour: str, **_: Any) -> UUID:
        return natural_id("refusals", f"{bucket}/{hour}")

    @event("Opened")
    def __init__(self, bucket: str, hour: str, limit: int, actor: str) -> None:
        self.bucket = bucket
        self.hour = hour
        self.limit = limit
        self.recorded = 0
        self.suppressed_logged = 0

    def has_room(self) -> bool:
        return self.recorded < self.limit

    @event("Refused")
    def refuse(self, command_name: str, claimed_actor: str, authenticated: bool, code: str, reason: str,
               task_id: str, uscc: str, command_sha256: str, command: bytes, truncated: bool, signature: bytes,
               key_id: str, actor: str) -> None:
        """One refused attempt, with the submitted bytes as evidence (not a valid signed command)."""
        self.recorded += 1

    @staticmethod
    def counter_due(suppressed_total: int) -> bool:
        """Write a counter event when the suppressed total is a power of two.

        >>> [n for n in range(1, 70) if RefusalLog.counter_due(n)]
        [1, 2, 4, 8, 16, 32, 64]
        """
        return suppressed_total > 0 and suppressed_total & (suppressed_total - 1) == 0

    @event("Suppressed")
    def suppressed(self, bucket: str, hour: str, count: int, last_code: str, actor: str) -> None:
        """At least `count` further refusals in this hour were not recorded one by one."""
        self.suppressed_logged = count
