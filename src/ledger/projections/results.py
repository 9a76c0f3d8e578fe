"""Read model of inspection results, their timeline and refused attempts.

res_results   the current state per (task, target): category, dates, deadlines, disclosure
res_timeline  every result event (and every reclassification a result caused), with the
              signer, the signed command and its signature, for `report trace/actor`
res_refusals  refused attempts and suppression counters, for `report refused`

res_refusal_counts is not a projection table: it is the exact running count
of refusals beyond the per-hour bound, kept by the service beside the ledger
(a rebuild does not drop it). It is created here so that one catch-up makes
every results table.
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.directory import Entity
from ledger.domain.refusals import RefusalLog
from ledger.domain.results import InspectionResult
from ledger.integrity.commands import SignedCommand
from ledger.projections.base import ProjectedEvent
from ledger.projections.directory import to_column
from ledger.store.schema import Dialect


class _Recorded(msgspec.Struct):
    task_id: str
    uscc: str
    category: str
    findings: str
    methods: tuple[str, ...]
    items: tuple[str, ...]
    inspected_on: date
    recorded_on: date
    result_due: date
    late: bool
    disclosure_due: date
    actor: str
    timestamp: datetime
    signed: SignedCommand | None = None


class _Corrected(msgspec.Struct):
    task_id: str
    uscc: str
    category: str
    findings: str
    methods: tuple[str, ...]
    items: tuple[str, ...]
    inspected_on: date
    reason: str
    previous_category: str
    actor: str
    timestamp: datetime
    signed: SignedCommand | None = None


class _Disclosed(msgspec.Struct):
    task_id: str
    uscc: str
    disclosed_on: date
    disclosure_due: date
    late: bool
    actor: str
    timestamp: datetime
    signed: SignedCommand | None = None


class _Refused(msgspec.Struct):
    command_name: str
    claimed_actor: str
    authenticated: bool
    code: str
    reason: str
    task_id: str
    uscc: str
    command_sha256: str
    key_id: str
    timestamp: datetime


class _Suppressed(msgspec.Struct):
    bucket: str
    hour: str
    count: int
    last_code: str
    actor: str
    timestamp: datetime


class _Reclassified(msgspec.Struct):
    uscc: str
    risk_class: str
    previous: str
    reason: str
    cause: str | None
    actor: str
    timestamp: datetime


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class ResultsProjection:
    name = "results"

    def __init__(self) -> None:
        self.handlers = {
            get_topic(InspectionResult.Recorded): (_Recorded, self._recorded),
            get_topic(InspectionResult.Corrected): (_Corrected, self._corrected),
            get_topic(InspectionResult.Disclosed): (_Disclosed, self._disclosed),
            get_topic(RefusalLog.Refused): (_Refused, self._refused),
            get_topic(RefusalLog.Suppressed): (_Suppressed, self._suppressed),
            get_topic(Entity.Reclassified): (_Reclassified, self._reclassified),
        }
        self.decoders = {topic: msgspec.json.Decoder(kind) for topic, (kind, _) in self.handlers.items()}
        self.topics = tuple(self.handlers)

    def tables(self) -> list[str]:
        return ["res_results", "res_timeline", "res_refusals"]

    def create_statements(self, dialect: Dialect) -> list[str]:
        t = dialect.table
        return [
            f"CREATE TABLE IF NOT EXISTS {t('res_results')} (task_id TEXT NOT NULL, uscc TEXT NOT NULL,"
            " category TEXT NOT NULL, findings TEXT NOT NULL, methods TEXT NOT NULL, items TEXT NOT NULL,"
            " inspected_on TEXT NOT NULL, recorded_by TEXT NOT NULL, recorded_on TEXT NOT NULL,"
            " recorded_seq BIGINT NOT NULL, result_due TEXT NOT NULL, late INTEGER NOT NULL,"
            " disclosure_due TEXT NOT NULL, corrections INTEGER NOT NULL, disclosed_on TEXT, disclosed_by TEXT,"
            " disclosure_late INTEGER, PRIMARY KEY (task_id, uscc))",
            f"CREATE TABLE IF NOT EXISTS {t('res_timeline')} (seq BIGINT PRIMARY KEY, task_id TEXT NOT NULL,"
            " uscc TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, at TEXT NOT NULL, detail TEXT NOT NULL,"
            " key_id TEXT, signature TEXT, command TEXT)",
            f"CREATE INDEX IF NOT EXISTS res_timeline_target ON {t('res_timeline')} (task_id, uscc)",
            f"CREATE INDEX IF NOT EXISTS res_timeline_actor ON {t('res_timeline')} (actor)",
            f"CREATE TABLE IF NOT EXISTS {t('res_refusals')} (seq BIGINT PRIMARY KEY, kind TEXT NOT NULL,"
            " claimed_actor TEXT NOT NULL, authenticated INTEGER NOT NULL, command_name TEXT NOT NULL,"
            " code TEXT NOT NULL, reason TEXT NOT NULL, task_id TEXT NOT NULL, uscc TEXT NOT NULL,"
            " command_sha256 TEXT NOT NULL, key_id TEXT NOT NULL, count INTEGER NOT NULL, at TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS res_refusals_actor ON {t('res_refusals')} (claimed_actor)",
            f"CREATE TABLE IF NOT EXISTS {t('res_refusal_counts')} (bucket TEXT NOT NULL, hour TEXT NOT NULL,"
            " count BIGINT NOT NULL, PRIMARY KEY (bucket, hour))",
        ]

    def apply(self, cursor: Any, dialect: Dialect, events: list[ProjectedEvent]) -> None:
        timeline: list[tuple[Any, ...]] = []
        for item in events:
            _, handler = self.handlers[item.topic]
            handler(cursor, dialect, item, self.decoders[item.topic].decode(item.state), timeline)
        if timeline:
            cursor.executemany(f"INSERT INTO {dialect.table('res_timeline')} VALUES ({dialect.params(10)})", timeline)

    @staticmethod
    def _signed_row(item: ProjectedEvent, e: Any, kind: str, detail: dict[str, Any]) -> tuple[Any, ...]:
        return (item.seq, e.task_id, e.uscc, kind, e.actor, e.timestamp.isoformat(),
                msgspec.json.encode(detail).decode(), e.signed.key_id, _b64(e.signed.signature),
                e.signed.command.decode("utf-8", "replace"))

    def _recorded(self, cursor: Any, dialect: Dialect, item: ProjectedEvent, e: _Recorded,
                  timeline: list[tuple[Any, ...]]) -> None:
        cursor.execute(
            f"INSERT INTO {dialect.table('res_results')} VALUES ({dialect.params(17)})",
            (e.task_id, e.uscc, e.category, e.findings, to_column(e.methods), to_column(e.items),
             e.inspected_on.isoformat(), e.actor, e.recorded_on.isoformat(), item.seq, e.result_due.isoformat(),
             int(e.late), e.disclosure_due.isoformat(), 0, None, None, None),
        )
        timeline.append(self._signed_row(item, e, "recorded", {
            "category": e.category, "findings": e.findings, "methods": e.methods, "items": e.items,
            "inspected_on": e.inspected_on, "recorded_on": e.recorded_on, "result_due": e.result_due,
            "late": e.late, "disclosure_due": e.disclosure_due}))

    def _corrected(self, cursor: Any, dialect: Dialect, item: ProjectedEvent, e: _Corrected,
                   timeline: list[tuple[Any, ...]]) -> None:
        p = dialect.placeholder
        cursor.execute(
            f"UPDATE {dialect.table('res_results')} SET category = {p}, findings = {p}, methods = {p}, items = {p},"
            f" inspected_on = {p}, corrections = corrections + 1 WHERE task_id = {p} AND uscc = {p}",
            (e.category, e.findings, to_column(e.methods), to_column(e.items), e.inspected_on.isoformat(),
             e.task_id, e.uscc),
        )
        timeline.append(self._signed_row(item, e, "corrected", {
            "category": e.category, "previous_category": e.previous_category, "findings": e.findings,
            "methods": e.methods, "items": e.items, "inspected_on": e.inspected_on, "reason": e.reason}))

    def _disclosed(self, cursor: Any, dialect: Dialect, item: ProjectedEvent, e: _Disclosed,
                   timeline: list[tuple[Any, ...]]) -> None:
        p = dialect.placeholder
        cursor.execute(
            f"UPDATE {dialect.table('res_results')} SET disclosed_on = {p}, disclosed_by = {p}, disclosure_late = {p}"
            f" WHERE task_id = {p} AND uscc = {p}",
            (e.disclosed_on.isoformat(), e.actor, int(e.late), e.task_id, e.uscc),
        )
        timeline.append(self._signed_row(item, e, "disclosed", {
            "disclosed_on": e.disclosed_on, "disclosure_due": e.disclosure_due, "late": e.late}))

    def _refused(self, cursor: Any, dialect: Dialect, item: ProjectedEvent, e: _Refused,
                 timeline: list[tuple[Any, ...]]) -> None:
        cursor.execute(
            f"INSERT INTO {dialect.table('res_refusals')} VALUES ({dialect.params(13)})",
            (item.seq, "refused", e.claimed_actor, int(e.authenticated), e.command_name, e.code, e.reason,
             e.task_id, e.uscc, e.command_sha256, e.key_id, 1, e.timestamp.isoformat()),
        )

    def _suppressed(self, cursor: Any, dialect: Dialect, item: ProjectedEvent, e: _Suppressed,
                    timeline: list[tuple[Any, ...]]) -> None:
        cursor.execute(
            f"INSERT INTO {dialect.table('res_refusals')} VALUES ({dialect.params(13)})",
            (item.seq, "suppressed", e.bucket, 0, "", e.last_code,
             f"at least {e.count} further refusals of {e.bucket} in hour {e.hour} were counted, not recorded one by one",
             "", "", "", "", e.count, e.timestamp.isoformat()),
        )

    def _reclassified(self, cursor: Any, dialect: Dialect, item: ProjectedEvent, e: _Reclassified,
                      timeline: list[tuple[Any, ...]]) -> None:
        if not (e.cause or "").startswith("result:"):
            return  # monthly reclassifications are the directory's business
        key = e.cause.removeprefix("result:").rsplit("@", 1)[0]  # type: ignore[union-attr]
        task_id, _, uscc = key.rpartition("/")
        timeline.append((item.seq, task_id, uscc, "reclassified", e.actor, e.timestamp.isoformat(),
                         msgspec.json.encode({"risk_class": e.risk_class, "previous": e.previous, "reason": e.reason,
                                              "cause": e.cause}).decode(), None, None, None))
