"""Refused attempts: evidence for discipline inspectors (纪检), bounded per actor.

Every refused command is recorded (its own transaction, no command event):
who it claimed to be, whether its signature verified (authenticated), the
stable refusal code and the message, and the submitted bytes as evidence.

The bound keeps refusals from flooding the ledger, and a flood from hiding
real refusals: per bucket and UTC hour the first `refusals_per_hour`
refusals are recorded in full, after that only a `Suppressed` counter event
is written when the running total reaches 1, 2, 4, 8, ... The bucket of an
authenticated attempt is its actor; every unauthenticated attempt (unknown
actor, bad signature, unreadable) shares one bucket, so junk in an
inspector's name never uses up that inspector's allowance.

`verify` re-checks every record: an authenticated refusal must be what the
command's decision refuses with that code at that position; an
unauthenticated one must fail authentication there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, natural_id, recorded_time
from ledger.domain.commands import Refusal
from ledger.domain.settings import results_settings
from ledger.integrity.commands import SignedCommand

if TYPE_CHECKING:
    from ledger.domain.commands import Command

UNAUTHENTICATED_BUCKET: Final = "?unauthenticated"
EVIDENCE_BYTES: Final = 4096  # most bytes of an unauthenticated command kept in the ledger
AUTHENTICATED_EVIDENCE_BYTES: Final = 1 << 20  # an authenticated command is kept whole up to 1 MiB


def hour_bucket(moment: datetime) -> str:
    """The UTC hour a refusal counts against, e.g. '2026-11-29T15Z'."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%HZ")


class RefusalLog(LedgerAggregate):
    """Refused attempts of one bucket (an authenticated actor, or all others) in one UTC hour."""

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


class _Claim(msgspec.Struct):
    actor: str = ""
    name: str = ""
    body: dict[str, Any] = {}


def _loose_claim(signed: SignedCommand) -> _Claim:
    try:
        return msgspec.json.decode(signed.command, type=_Claim)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return _Claim()


def refusal_events(state: Any, signed: SignedCommand, command: Command | None, refusal: Refusal, now: datetime,
                   count_suppressed: Callable[[str, str], int] | None) -> list[LedgerAggregate]:
    """The refusal record of one refused command (empty when only counted)."""
    claim = _loose_claim(signed)
    claimed = claim.actor[:64] or "?"
    authenticated = command is not None
    bucket = command.actor_id if command is not None else UNAUTHENTICATED_BUCKET
    hour = hour_bucket(now)
    with recorded_time(now):
        log = state.get_for_update(RefusalLog, RefusalLog.create_id(bucket, hour))
        if log is None:
            log = RefusalLog(bucket=bucket, hour=hour, limit=results_settings(state).refusals_per_hour, actor=claimed)
        if log.has_room():
            keep = AUTHENTICATED_EVIDENCE_BYTES if authenticated else EVIDENCE_BYTES
            body = claim.body if isinstance(claim.body, dict) else {}
            log.refuse(command_name=(claim.name or "?")[:64], claimed_actor=claimed, authenticated=authenticated,
                       code=refusal.code, reason=refusal.message[:1000], task_id=str(body.get("task_id", ""))[:64],
                       uscc=str(body.get("uscc", ""))[:64], command_sha256=hashlib.sha256(signed.command).hexdigest(),
                       command=signed.command[:keep], truncated=len(signed.command) > keep,
                       signature=signed.signature[:128], key_id=signed.key_id[:128], actor=claimed)
            return [log]
        if count_suppressed is None:
            return []
        total = count_suppressed(bucket, hour)
        if not RefusalLog.counter_due(total):
            return []
        log.suppressed(bucket=bucket, hour=hour, count=total, last_code=refusal.code, actor=claimed)
        return [log]
