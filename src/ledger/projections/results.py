"""Read model of inspection results, their timeline and refused attempts, and
the queries the results reports run over it (with the draw and directory
read models).

res_results   the current state per (task, target, department): categories, state (待审核/审核不通过/已公示),
              dates, deadlines (provisional where a year had no recorded schedule), disclosure
res_follow_ups each result's follow-ups (后续处置): due date, done date
res_timeline  every result event (and every reclassification a result caused); the signer's
              command, signature and key come from the commands read model (commands.py),
              joined by position
res_refusals  refused attempts and suppression counters, each with its bucket: the
              authenticated actor, or "?unauthenticated" (domain/refusals.py)
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.directory import Entity
from ledger.domain.refusals import UNAUTHENTICATED_BUCKET, RefusalLog
from ledger.domain.results import InspectionResult
from ledger.projections.base import ProjectedEvent, select
from ledger.projections.directory import from_column, to_column
from ledger.store.schema import Dialect


class _FollowUp(msgspec.Struct):
    kind: str
    to_department: str | None
    note: str
    due: date
    provisional: bool
    done_on: date | None = None
    done_by: str | None = None
    done_note: str = ""


class _Evidence(msgspec.Struct):
    sha256: str
    name: str
    kind: str


class _Recorded(msgspec.Struct):
    task_id: str
    uscc: str
    department: str
    key_department: str | None
    categories: tuple[str, ...]
    findings: str
    methods: tuple[str, ...]
    items: tuple[str, ...]
    inspected_on: date
    evidence: tuple[_Evidence, ...]
    follow_ups: tuple[_FollowUp, ...]
    recorded_on: date
    result_due: date
    late: bool
    disclosure_due: date
    provisional: bool
    actor: str
    timestamp: datetime


class _Corrected(msgspec.Struct):
    task_id: str
    uscc: str
    department: str
    categories: tuple[str, ...]
    findings: str
    methods: tuple[str, ...]
    items: tuple[str, ...]
    inspected_on: date
    evidence: tuple[_Evidence, ...]
    follow_ups: tuple[_FollowUp, ...]
    reason: str
    previous_categories: tuple[str, ...]
    resubmitted: bool
    disclosure_due: date
    provisional: bool
    actor: str
    timestamp: datetime


class _Returned(msgspec.Struct):
    task_id: str
    uscc: str
    department: str
    reason: str
    actor: str
    timestamp: datetime


class _Disclosed(msgspec.Struct):
    task_id: str
    uscc: str
    department: str
    disclosed_on: date
    disclosure_due: date
    late: bool
    provisional: bool
    actor: str
    timestamp: datetime


class _FollowUpDone(msgspec.Struct):
    task_id: str
    uscc: str
    department: str
    kind: str
    to_department: str | None
    done_on: date
    due: date
    late: bool
    note: str
    actor: str
    timestamp: datetime


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


TIMELINE_COLUMNS = ("seq", "task_id", "uscc", "kind", "actor", "at", "detail")
REFUSAL_COLUMNS = ("seq", "kind", "bucket", "claimed_actor", "authenticated", "command_name", "code", "reason",
                   "task_id", "uscc", "command_sha256", "key_id", "count", "at")


class ResultsProjection:
    name = "results"

    def __init__(self) -> None:
        self.handlers = {
            get_topic(InspectionResult.Recorded): (_Recorded, self._recorded),
            get_topic(InspectionResult.Corrected): (_Corrected, self._corrected),
            get_topic(InspectionResult.Returned): (_Returned, self._returned),
            get_topic(InspectionResult.Disclosed): (_Disclosed, self._disclosed),
            get_topic(InspectionResult.FollowUpDone): (_FollowUpDone, self._follow_up_done),
            get_topic(RefusalLog.Refused): (_Refused, self._refused),
            get_topic(RefusalLog.Suppressed): (_Suppressed, self._suppressed),
            get_topic(Entity.Reclassified): (_Reclassified, self._reclassified),
        }
        self.decoders = {topic: msgspec.json.Decoder(kind) for topic, (kind, _) in self.handlers.items()}
        self.topics = tuple(self.handlers)

    def tables(self) -> list[str]:
        return ["res_results", "res_follow_ups", "res_timeline", "res_refusals"]

    def create_statements(self, dialect: Dialect) -> list[str]:
        t = dialect.table
        return [
            f"CREATE TABLE IF NOT EXISTS {t('res_results')} (task_id TEXT NOT NULL, uscc TEXT NOT NULL,"
            " department TEXT NOT NULL, category TEXT NOT NULL, categories TEXT NOT NULL, findings TEXT NOT NULL,"
            " methods TEXT NOT NULL, items TEXT NOT NULL, evidence TEXT NOT NULL,"
            " inspected_on TEXT NOT NULL, recorded_by TEXT NOT NULL, recorded_on TEXT NOT NULL,"
            " recorded_seq BIGINT NOT NULL, result_due TEXT NOT NULL, late INTEGER NOT NULL,"
            " disclosure_due TEXT NOT NULL, provisional INTEGER NOT NULL, corrections INTEGER NOT NULL,"
            " state TEXT NOT NULL, returns INTEGER NOT NULL, return_reason TEXT NOT NULL,"
            " disclosed_on TEXT, disclosed_by TEXT, disclosure_late INTEGER, PRIMARY KEY (task_id, uscc, department))",
            f"CREATE TABLE IF NOT EXISTS {t('res_follow_ups')} (task_id TEXT NOT NULL, uscc TEXT NOT NULL,"
            " department TEXT NOT NULL, kind TEXT NOT NULL, to_department TEXT NOT NULL, note TEXT NOT NULL,"
            " due TEXT NOT NULL, provisional INTEGER NOT NULL, done_on TEXT, done_by TEXT, done_note TEXT NOT NULL,"
            " PRIMARY KEY (task_id, uscc, department, kind, to_department))",
            f"CREATE TABLE IF NOT EXISTS {t('res_timeline')} (seq BIGINT PRIMARY KEY, task_id TEXT NOT NULL,"
            " uscc TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, at TEXT NOT NULL, detail TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS res_timeline_target ON {t('res_timeline')} (task_id, uscc)",
            f"CREATE TABLE IF NOT EXISTS {t('res_refusals')} (seq BIGINT PRIMARY KEY, kind TEXT NOT NULL,"
            " bucket TEXT NOT NULL, claimed_actor TEXT NOT NULL, authenticated INTEGER NOT NULL,"
            " command_name TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL, task_id TEXT NOT NULL,"
            " uscc TEXT NOT NULL, command_sha256 TEXT NOT NULL, key_id TEXT NOT NULL, count INTEGER NOT NULL,"
            " at TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS res_refusals_actor ON {t('res_refusals')} (claimed_actor)",
            f"CREATE INDEX IF NOT EXISTS res_refusals_target ON {t('res_refusals')} (task_id, uscc)",
        ]

    def apply(self, cursor: Any, dialect: Dialect, events: list[ProjectedEvent]) -> None:
        timeline: list[tuple[Any, ...]] = []
        for item in events:
            _, handler = self.handlers[item.topic]
            handler(cursor, dialect, item, self.decoders[item.topic].decode(item.state), timeline)
        if timeline:
            cursor.executemany(f"INSERT INTO {dialect.table('res_timeline')} VALUES ({dialect.params(7)})", timeline)

    @staticmethod
    def _row(item: ProjectedEvent, e: Any, kind: str, detail: dict[str, Any]) -> tuple[Any, ...]:
        return (item.seq, e.task_id, e.uscc, kind, e.actor, e.timestamp.isoformat(),
                msgspec.json.encode(detail).decode())

    @staticmethod
    def _follow_ups(cursor: Any, dialect: Dialect, e: Any) -> None:
        p = dialect.placeholder
        cursor.execute(f"DELETE FROM {dialect.table('res_follow_ups')} WHERE task_id = {p} AND uscc = {p}"
                       f" AND department = {p}", (e.task_id, e.uscc, e.department))
        if e.follow_ups:
            cursor.executemany(
                f"INSERT INTO {dialect.table('res_follow_ups')} VALUES ({dialect.params(11)})",
                [(e.task_id, e.uscc, e.department, f.kind, f.to_department or "", f.note, f.due.isoformat(),
                  int(f.provisional), f.done_on.isoformat() if f.done_on else None, f.done_by, f.done_note)
                 for f in e.follow_ups])

    def _recorded(self, cursor: Any, dialect: Dialect, item: ProjectedEvent, e: _Recorded,
                  timeline: list[tuple[Any, ...]]) -> None:
        cursor.execute(
            f"INSERT INTO {dialect.table('res_results')} VALUES ({dialect.params(24)})",
            (e.task_id, e.uscc, e.department, e.categories[0], to_column(e.categories), e.findings,
             to_column(e.methods), to_column(e.items), msgspec.json.encode(e.evidence).decode(),
             e.inspected_on.isoformat(), e.actor, e.recorded_on.isoformat(), item.seq, e.result_due.isoformat(),
             int(e.late), e.disclosure_due.isoformat(), int(e.provisional), 0, "submitted", 0, "", None, None, None),
        )
        self._follow_ups(cursor, dialect, e)
        timeline.append(self._row(item, e, "recorded", {
            "department": e.department, "category": e.categories[0], "categories": e.categories,
            "findings": e.findings, "methods": e.methods, "items": e.items, "evidence": e.evidence,
            "follow_ups": e.follow_ups, "inspected_on": e.inspected_on, "recorded_on": e.recorded_on,
            "result_due": e.result_due, "late": e.late, "disclosure_due": e.disclosure_due,
            "provisional": e.provisional}))

    def _corrected(self, cursor: Any, dialect: Dialect, item: ProjectedEvent, e: _Corrected,
                   timeline: list[tuple[Any, ...]]) -> None:
        p = dialect.placeholder
        cursor.execute(
            f"UPDATE {dialect.table('res_results')} SET category = {p}, categories = {p}, findings = {p},"
            f" methods = {p}, items = {p}, evidence = {p}, inspected_on = {p}, disclosure_due = {p},"
            f" provisional = {p}, corrections = corrections + 1, state = 'submitted'"
            f" WHERE task_id = {p} AND uscc = {p} AND department = {p}",
            (e.categories[0], to_column(e.categories), e.findings, to_column(e.methods), to_column(e.items),
             msgspec.json.encode(e.evidence).decode(), e.inspected_on.isoformat(), e.disclosure_due.isoformat(),
             int(e.provisional), e.task_id, e.uscc, e.department),
        )
        self._follow_ups(cursor, dialect, e)
        timeline.append(self._row(item, e, "corrected", {
            "department": e.department, "category": e.categories[0], "categories": e.categories,
            "previous_categories": e.previous_categories, "findings": e.findings, "methods": e.methods,
            "items": e.items, "evidence": e.evidence, "follow_ups": e.follow_ups, "inspected_on": e.inspected_on,
            "reason": e.reason, "resubmitted": e.resubmitted, "disclosure_due": e.disclosure_due}))

    def _returned(self, cursor: Any, dialect: Dialect, item: ProjectedEvent, e: _Returned,
                  timeline: list[tuple[Any, ...]]) -> None:
        p = dialect.placeholder
        cursor.execute(
            f"UPDATE {dialect.table('res_results')} SET state = 'returned', returns = returns + 1,"
            f" return_reason = {p} WHERE task_id = {p} AND uscc = {p} AND department = {p}",
            (e.reason, e.task_id, e.uscc, e.department))
        timeline.append(self._row(item, e, "returned", {"department": e.department, "reason": e.reason}))

    def _disclosed(self, cursor: Any, dialect: Dialect, item: ProjectedEvent, e: _Disclosed,
                   timeline: list[tuple[Any, ...]]) -> None:
        p = dialect.placeholder
        cursor.execute(
            f"UPDATE {dialect.table('res_results')} SET state = 'disclosed', disclosed_on = {p}, disclosed_by = {p},"
            f" disclosure_late = {p}, disclosure_due = {p}, provisional = {p}"
            f" WHERE task_id = {p} AND uscc = {p} AND department = {p}",
            (e.disclosed_on.isoformat(), e.actor, int(e.late), e.disclosure_due.isoformat(), int(e.provisional),
             e.task_id, e.uscc, e.department),
        )
        timeline.append(self._row(item, e, "disclosed", {
            "department": e.department, "disclosed_on": e.disclosed_on, "disclosure_due": e.disclosure_due,
            "late": e.late, "provisional": e.provisional}))

    def _follow_up_done(self, cursor: Any, dialect: Dialect, item: ProjectedEvent, e: _FollowUpDone,
                        timeline: list[tuple[Any, ...]]) -> None:
        p = dialect.placeholder
        cursor.execute(
            f"UPDATE {dialect.table('res_follow_ups')} SET done_on = {p}, done_by = {p}, done_note = {p}"
            f" WHERE task_id = {p} AND uscc = {p} AND department = {p} AND kind = {p} AND to_department = {p}",
            (e.done_on.isoformat(), e.actor, e.note, e.task_id, e.uscc, e.department, e.kind, e.to_department or ""))
        timeline.append(self._row(item, e, "follow_up_done", {
            "department": e.department, "kind": e.kind, "to_department": e.to_department, "done_on": e.done_on,
            "due": e.due, "late": e.late, "note": e.note}))

    def _refused(self, cursor: Any, dialect: Dialect, item: ProjectedEvent, e: _Refused,
                 timeline: list[tuple[Any, ...]]) -> None:
        bucket = e.claimed_actor if e.authenticated else UNAUTHENTICATED_BUCKET
        cursor.execute(
            f"INSERT INTO {dialect.table('res_refusals')} VALUES ({dialect.params(14)})",
            (item.seq, "refused", bucket, e.claimed_actor, int(e.authenticated), e.command_name, e.code, e.reason,
             e.task_id, e.uscc, e.command_sha256, e.key_id, 1, e.timestamp.isoformat()),
        )

    def _suppressed(self, cursor: Any, dialect: Dialect, item: ProjectedEvent, e: _Suppressed,
                    timeline: list[tuple[Any, ...]]) -> None:
        cursor.execute(
            f"INSERT INTO {dialect.table('res_refusals')} VALUES ({dialect.params(14)})",
            (item.seq, "suppressed", e.bucket, e.bucket, int(e.bucket != UNAUTHENTICATED_BUCKET), "", e.last_code,
             f"at least {e.count} further refusals of {e.bucket} in hour {e.hour} were counted,"
             " not recorded one by one",
             "", "", "", "", e.count, e.timestamp.isoformat()),
        )

    def _reclassified(self, cursor: Any, dialect: Dialect, item: ProjectedEvent, e: _Reclassified,
                      timeline: list[tuple[Any, ...]]) -> None:
        if not (e.cause or "").startswith("result:"):
            return  # monthly reclassifications are the directory's business
        key = e.cause.removeprefix("result:").rsplit("@", 1)[0]  # type: ignore[union-attr]
        task_id, uscc = key.split("/")[:2]  # TASK/USCC or TASK/USCC/DEPARTMENT (domain/results.py result_key)
        timeline.append((item.seq, task_id, uscc, "reclassified", e.actor, e.timestamp.isoformat(),
                         msgspec.json.encode({"risk_class": e.risk_class, "previous": e.previous, "reason": e.reason,
                                              "cause": e.cause}).decode()))


# ---------------------------------------------------------------------------
# Queries (conn, dialect from projections.runner.writable_connection).


class TimelineRow(msgspec.Struct, kw_only=True):
    seq: int
    task_id: str
    uscc: str
    kind: str
    actor: str
    at: str
    detail: str


class RefusalRow(msgspec.Struct, kw_only=True):
    seq: int
    kind: str  # refused | suppressed
    bucket: str
    claimed_actor: str
    authenticated: bool
    command_name: str
    code: str
    reason: str
    task_id: str
    uscc: str
    command_sha256: str
    key_id: str
    count: int
    at: str


class TeamRow(msgspec.Struct, kw_only=True):
    task_id: str
    uscc: str
    inspectors: tuple[str, ...]
    experts: tuple[str, ...]
    drawn_seq: int
    voided_seq: int | None


class ResultRow(msgspec.Struct, kw_only=True):
    task_id: str
    uscc: str
    department: str
    category: str
    categories: tuple[str, ...]
    state: str
    provisional: bool
    findings: str
    inspected_on: str
    recorded_by: str
    recorded_on: str
    recorded_seq: int
    result_due: str
    late: bool
    disclosure_due: str
    corrections: int
    disclosed_on: str | None
    disclosure_late: bool


class StandingTeam(msgspec.Struct, kw_only=True):
    task_id: str
    uscc: str
    inspectors: tuple[str, ...]
    experts: tuple[str, ...]
    window_end: str
    departments: tuple[str, ...] = ()  # the task's, lead first: each records its own result


class ConflictRow(msgspec.Struct, kw_only=True):
    task_id: str
    uscc: str
    badge: str
    problem: str  # recorded_under_conflict | assigned_under_conflict
    reason: str
    declared_at: int


class PublicRow(msgspec.Struct, kw_only=True):
    task_id: str
    task_name: str
    uscc: str
    entity_name: str
    department: str
    category: str
    categories: tuple[str, ...]
    findings: str
    inspected_on: str
    disclosed_on: str
    corrections: int
    inspectors: tuple[str, ...]



def timeline(conn: Any, dialect: Dialect, task_id: str, uscc: str) -> list[TimelineRow]:
    rows = select(conn, dialect, f"SELECT {', '.join(TIMELINE_COLUMNS)} FROM {{t}}res_timeline"
                                " WHERE task_id = ? AND uscc = ? ORDER BY seq", (task_id, uscc))
    return [TimelineRow(**dict(zip(TIMELINE_COLUMNS, r))) for r in rows]


def refusals(conn: Any, dialect: Dialect, *, claimed_actor: str | None = None, task_id: str | None = None,
             uscc: str | None = None) -> list[RefusalRow]:
    """Refused attempts and counters, in ledger order, filtered as given."""
    where, params = [], []
    for column, value in (("claimed_actor", claimed_actor), ("task_id", task_id), ("uscc", uscc)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = select(conn, dialect, f"SELECT {', '.join(REFUSAL_COLUMNS)} FROM {{t}}res_refusals{clause} ORDER BY seq",
                tuple(params))
    out = []
    for r in rows:
        values = dict(zip(REFUSAL_COLUMNS, r))
        values["authenticated"] = bool(values["authenticated"])
        out.append(RefusalRow(**values))
    return out


def _team(task_id: str, uscc: str, inspectors: str, experts: str, drawn_seq: int, valid_to: int | None) -> TeamRow:
    return TeamRow(task_id=task_id, uscc=uscc, inspectors=from_column(inspectors, True),
                   experts=from_column(experts, True), drawn_seq=int(drawn_seq),
                   voided_seq=int(valid_to) if valid_to is not None else None)


def teams_of_target(conn: Any, dialect: Dialect, task_id: str, uscc: str) -> list[TeamRow]:
    """Every draw (standing or voided) that put `uscc` in `task_id`, with its team."""
    rows = select(conn, dialect, "SELECT task_id, uscc, inspectors, experts, drawn_seq, valid_to FROM {t}draw_teams"
                                " WHERE task_id = ? AND uscc = ? ORDER BY drawn_seq", (task_id, uscc))
    return [_team(*r) for r in rows]


def teams_of_member(conn: Any, dialect: Dialect, badge: str) -> list[TeamRow]:
    """Every team (standing or voided) `badge` was drawn into, as inspector or expert."""
    needle = f";{badge};"
    rows = select(conn, dialect, "SELECT task_id, uscc, inspectors, experts, drawn_seq, valid_to FROM {t}draw_teams"
                                " WHERE inspectors LIKE ? OR experts LIKE ? ORDER BY drawn_seq",
                (f"%{needle}%", f"%{needle}%"))
    # LIKE treats '_' as a wildcard: keep exact members only.
    return [t for t in (_team(*r) for r in rows) if badge in t.inspectors or badge in t.experts]


def results(conn: Any, dialect: Dialect) -> list[ResultRow]:
    """Every department's result, by task, target and department."""
    rows = select(conn, dialect, "SELECT task_id, uscc, category, findings, inspected_on, recorded_by, recorded_on,"
                                " recorded_seq, result_due, late, disclosure_due, corrections, disclosed_on,"
                                " disclosure_late, department, categories, state, provisional FROM {t}res_results"
                                " ORDER BY task_id, uscc, department")
    return [ResultRow(task_id=r[0], uscc=r[1], category=r[2], findings=r[3], inspected_on=r[4], recorded_by=r[5],
                      recorded_on=r[6], recorded_seq=int(r[7]), result_due=r[8], late=bool(r[9]),
                      disclosure_due=r[10], corrections=int(r[11]), disclosed_on=r[12], disclosure_late=bool(r[13]),
                      department=r[14], categories=from_column(r[15], True), state=r[16], provisional=bool(r[17]))
            for r in rows]


class FollowUpRow(msgspec.Struct, kw_only=True):
    task_id: str
    uscc: str
    department: str
    kind: str
    to_department: str
    due: str
    provisional: bool
    done_on: str | None


def follow_ups(conn: Any, dialect: Dialect) -> list[FollowUpRow]:
    rows = select(conn, dialect, "SELECT task_id, uscc, department, kind, to_department, due, provisional, done_on"
                                " FROM {t}res_follow_ups ORDER BY task_id, uscc, department, kind, to_department")
    return [FollowUpRow(task_id=r[0], uscc=r[1], department=r[2], kind=r[3], to_department=r[4], due=r[5],
                        provisional=bool(r[6]), done_on=r[7]) for r in rows]


def standing_teams(conn: Any, dialect: Dialect) -> list[StandingTeam]:
    """The teams of every task's standing draw, with the task's window end."""
    rows = select(conn, dialect, "SELECT d.task_id, d.uscc, d.inspectors, d.experts, t.window_end, t.departments"
                                " FROM {t}draw_teams d JOIN {t}draw_tasks t ON t.task_id = d.task_id"
                                " WHERE d.valid_to IS NULL AND t.state = 'drawn' ORDER BY d.task_id, d.uscc")
    return [StandingTeam(task_id=r[0], uscc=r[1], inspectors=from_column(r[2], True), experts=from_column(r[3], True),
                         window_end=str(r[4]), departments=from_column(r[5] or "", True)) for r in rows]


def conflict_hits(conn: Any, dialect: Dialect) -> list[ConflictRow]:
    """Results recorded, and standing assignments, under a declared conflict of interest (回避)."""
    out = [ConflictRow(task_id=r[0], uscc=r[1], badge=r[2], problem="recorded_under_conflict", reason=r[3],
                       declared_at=int(r[4]))
           for r in select(conn, dialect, "SELECT r.task_id, r.uscc, r.recorded_by, c.reason, c.valid_from"
                                         " FROM {t}res_results r JOIN {t}dir_conflicts c ON c.badge = r.recorded_by"
                                         " AND c.uscc = r.uscc WHERE c.valid_from <= r.recorded_seq"
                                         " AND (c.valid_to IS NULL OR c.valid_to > r.recorded_seq)")]
    for task_id, uscc, inspectors, experts, badge, reason, declared in select(
            conn, dialect, "SELECT d.task_id, d.uscc, d.inspectors, d.experts, c.badge, c.reason, c.valid_from"
                           " FROM {t}draw_teams d JOIN {t}dir_conflicts c ON c.uscc = d.uscc"
                           " WHERE d.valid_to IS NULL AND c.valid_to IS NULL"):
        if badge in from_column(inspectors, True) + from_column(experts, True):
            out.append(ConflictRow(task_id=task_id, uscc=uscc, badge=badge, problem="assigned_under_conflict",
                                   reason=reason, declared_at=int(declared)))
    return out


def disclosed(conn: Any, dialect: Dialect, task_id: str | None = None) -> list[PublicRow]:
    """Disclosed results (each department's) with the task's and the entity's names and the standing team."""
    where, params = ("AND r.task_id = ?", (task_id,)) if task_id else ("", ())
    rows = select(conn, dialect, "SELECT r.task_id, t.name, r.uscc, e.name, r.category, r.findings, r.inspected_on,"
                                " r.disclosed_on, r.corrections, d.inspectors, r.department, r.categories"
                                " FROM {t}res_results r"
                                " JOIN {t}draw_tasks t ON t.task_id = r.task_id"
                                " LEFT JOIN {t}dir_entities e ON e.uscc = r.uscc AND e.valid_to IS NULL"
                                " LEFT JOIN {t}draw_teams d ON d.task_id = r.task_id AND d.uscc = r.uscc"
                                " AND d.valid_to IS NULL"
                                f" WHERE r.state = 'disclosed' {where} ORDER BY r.task_id, r.uscc, r.department",
                params)
    return [PublicRow(task_id=r[0], task_name=r[1] or "", uscc=r[2], entity_name=r[3] or "", department=r[10],
                      category=r[4], categories=from_column(r[11], True), findings=r[5], inspected_on=r[6],
                      disclosed_on=r[7], corrections=int(r[8]), inspectors=from_column(r[9] or "", True))
            for r in rows]


def current_inspectors(conn: Any, dialect: Dialect) -> dict[str, tuple[str, str]]:
    """badge -> (name, department) of the inspectors in force."""
    return {b: (n, d) for b, n, d in select(conn, dialect, "SELECT badge, name, department FROM {t}dir_inspectors"
                                                           " WHERE valid_to IS NULL")}
