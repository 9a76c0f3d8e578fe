"""Accountability reports for discipline inspectors (纪检监察), and the public view.

All read the projections (caught up first) and return lists of msgspec
Structs, so the CLI and the HTTP layer format the same rows:

- trace(task, uscc): the whole timeline of one target in one task: its
  draws (with the drawer's signature), results, corrections, disclosure,
  reclassifications and refused attempts, each with its ledger hash.
- actor(badge): what one actor signed, was assigned, and was refused.
- refused(): refused attempts and suppression counters.
- overdue(today): late or missing results and disclosures, in working days.
- conflicts(): results recorded, or assignments standing, under a declared
  conflict of interest (回避).
- public_results(): disclosed results with inspectors masked as configured.
"""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

import msgspec

from ledger.domain.results import china_date, mask_badge, mask_name, result_due
from ledger.domain.workdays import CalendarNotCovered, WorkCalendar
from ledger.integrity.canonical import utc_now
from ledger.projections import all_projections
from ledger.projections.directory import from_column
from ledger.projections.runner import catch_up, writable_connection
from ledger.results_settings import ResultsSettings, load_calendar, load_settings
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader


class TraceRow(msgspec.Struct, kw_only=True):
    seq: int
    at: str
    kind: str
    actor: str
    detail: str
    key_id: str | None = None
    signature: str | None = None
    command: str | None = None
    event_hash: str = ""


class RefusedRow(msgspec.Struct, kw_only=True):
    seq: int
    at: str
    kind: str
    claimed_actor: str
    authenticated: bool
    command: str
    code: str
    reason: str
    task_id: str
    uscc: str
    count: int


class OverdueRow(msgspec.Struct, kw_only=True):
    task_id: str
    uscc: str
    problem: str  # result_late | result_missing | disclosure_late | disclosure_missing | calendar_not_covered
    due: str
    done: str | None
    inspectors: str


class ConflictRow(msgspec.Struct, kw_only=True):
    task_id: str
    uscc: str
    badge: str
    problem: str  # recorded_under_conflict | assigned_under_conflict
    reason: str
    declared_at: int


class PublicResult(msgspec.Struct, kw_only=True):
    task_id: str
    task_name: str
    uscc: str
    entity_name: str
    category: str
    category_label: str
    findings: str
    inspected_on: str
    disclosed_on: str
    corrections: int
    inspectors: list[str]


def _rows(config: StoreConfig, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    with writable_connection(config) as (conn, dialect, _):
        cursor = conn.cursor()
        cursor.execute(sql.replace("?", dialect.placeholder).replace("{t}", dialect.prefix), params)
        return list(cursor.fetchall())


def _fresh(config: StoreConfig) -> None:
    catch_up(config, all_projections())


def _hashes(config: StoreConfig, rows: list[TraceRow]) -> list[TraceRow]:
    with open_reader(config) as reader:
        for row in rows:
            found = reader.hash_at(row.seq)
            row.event_hash = found.hex() if found else ""
    return sorted(rows, key=lambda r: r.seq)


def _timeline(rows: list[Any]) -> list[TraceRow]:
    return [TraceRow(seq=r[0], at=r[1], kind=r[2], actor=r[3], detail=r[4], key_id=r[5], signature=r[6],
                     command=r[7]) for r in rows]


def _draw_rows(config: StoreConfig, task_id: str, uscc: str) -> list[TraceRow]:
    """The draws that put `uscc` in `task_id`, with the drawer's signed command."""
    teams = _rows(config, "SELECT drawn_seq, inspectors, experts, valid_to FROM {t}draw_teams"
                          " WHERE task_id = ? AND uscc = ? ORDER BY drawn_seq", (task_id, uscc))
    out: list[TraceRow] = []
    with open_reader(config) as reader:
        for seq, inspectors, experts, valid_to in teams:
            row = next(iter(reader.rows(seq, seq)), None)
            payload = msgspec.json.decode(row.state) if row and row.state else {}
            signed = payload.get("signed") or {}
            detail = {"inspectors": from_column(inspectors, True), "experts": from_column(experts, True),
                      "voided_at": valid_to}
            out.append(TraceRow(seq=seq, at=str(payload.get("timestamp", "")), kind="drawn",
                                actor=str(payload.get("actor", "")), detail=msgspec.json.encode(detail).decode(),
                                key_id=signed.get("key_id"), signature=signed.get("signature"),
                                command=base64.b64decode(signed["command"]).decode() if "command" in signed else None))
    return out


def _refusal_trace(rows: list[Any]) -> list[TraceRow]:
    return [TraceRow(seq=r[0], at=r[12], kind=f"refused:{r[5]}", actor=r[2],
                     detail=msgspec.json.encode({"command": r[4], "reason": r[6], "authenticated": bool(r[3]),
                                                 "command_sha256": r[9]}).decode(), key_id=r[10] or None)
            for r in rows]


def trace(config: StoreConfig, task_id: str, uscc: str) -> list[TraceRow]:
    _fresh(config)
    rows = _draw_rows(config, task_id, uscc)
    rows += _timeline(_rows(config, "SELECT seq, at, kind, actor, detail, key_id, signature, command"
                                    " FROM {t}res_timeline WHERE task_id = ? AND uscc = ?", (task_id, uscc)))
    rows += _refusal_trace(_rows(config, "SELECT * FROM {t}res_refusals WHERE task_id = ? AND uscc = ?",
                                 (task_id, uscc)))
    return _hashes(config, rows)


def actor_report(config: StoreConfig, badge: str) -> list[TraceRow]:
    _fresh(config)
    rows = _timeline(_rows(config, "SELECT seq, at, kind, actor, detail, key_id, signature, command"
                                   " FROM {t}res_timeline WHERE actor = ?", (badge,)))
    for seq, task_id, uscc, valid_to in _rows(
        config, "SELECT drawn_seq, task_id, uscc, valid_to FROM {t}draw_teams WHERE inspectors LIKE ?"
                " OR experts LIKE ?", (f"%;{badge};%", f"%;{badge};%")):
        rows.append(TraceRow(seq=seq, at="", kind="assigned", actor=badge,
                             detail=msgspec.json.encode({"task_id": task_id, "uscc": uscc,
                                                         "voided_at": valid_to}).decode()))
    rows += _refusal_trace(_rows(config, "SELECT * FROM {t}res_refusals WHERE claimed_actor = ?", (badge,)))
    return _hashes(config, rows)


def refused(config: StoreConfig, actor: str | None = None) -> list[RefusedRow]:
    _fresh(config)
    where, params = ("WHERE claimed_actor = ?", (actor,)) if actor else ("", ())
    return [RefusedRow(seq=r[0], kind=r[1], claimed_actor=r[2], authenticated=bool(r[3]), command=r[4], code=r[5],
                       reason=r[6], task_id=r[7], uscc=r[8], count=r[11], at=r[12])
            for r in _rows(config, f"SELECT * FROM {{t}}res_refusals {where} ORDER BY seq", params)]


def overdue(config: StoreConfig, today: date | None = None, settings: ResultsSettings | None = None,
            calendar: WorkCalendar | None = None) -> list[OverdueRow]:
    """Everything late as of `today` (China date; default now)."""
    _fresh(config)
    today = today or china_date(utc_now())
    settings = settings or load_settings(config.home)
    calendar = calendar or load_calendar(config.home)
    out: list[OverdueRow] = []
    results = {(r[0], r[1]): r for r in _rows(
        config, "SELECT task_id, uscc, recorded_on, result_due, late, disclosure_due, disclosed_on, disclosure_late,"
                " recorded_by FROM {t}res_results")}
    for task_id, uscc, recorded_on, due, late, disclosure_due, disclosed_on, disclosure_late, by in results.values():
        if late:
            out.append(OverdueRow(task_id=task_id, uscc=uscc, problem="result_late", due=due, done=recorded_on,
                                  inspectors=by))
        if disclosed_on is None and date.fromisoformat(disclosure_due) < today:
            out.append(OverdueRow(task_id=task_id, uscc=uscc, problem="disclosure_missing", due=disclosure_due,
                                  done=None, inspectors=by))
        elif disclosure_late:
            out.append(OverdueRow(task_id=task_id, uscc=uscc, problem="disclosure_late", due=disclosure_due,
                                  done=disclosed_on, inspectors=by))
    due_of: dict[str, str] = {}
    for task_id, uscc, inspectors, window_end in _rows(
        config, "SELECT d.task_id, d.uscc, d.inspectors, t.window_end FROM {t}draw_teams d"
                " JOIN {t}draw_tasks t ON t.task_id = d.task_id WHERE d.valid_to IS NULL AND t.state = 'drawn'"):
        if (task_id, uscc) in results:
            continue
        if task_id not in due_of:
            try:
                due_of[task_id] = result_due(date.fromisoformat(window_end), settings.results_due_working_days,
                                             calendar).isoformat()
            except CalendarNotCovered as error:
                due_of[task_id] = f"calendar_not_covered:{error.year}"
        due = due_of[task_id]
        team = ";".join(from_column(inspectors, True))
        if due.startswith("calendar_not_covered"):
            out.append(OverdueRow(task_id=task_id, uscc=uscc, problem="calendar_not_covered", due=due, done=None,
                                  inspectors=team))
        elif date.fromisoformat(due) < today:
            out.append(OverdueRow(task_id=task_id, uscc=uscc, problem="result_missing", due=due, done=None,
                                  inspectors=team))
    return sorted(out, key=lambda r: (r.task_id, r.uscc, r.problem))


def conflicts(config: StoreConfig) -> list[ConflictRow]:
    _fresh(config)
    out = [ConflictRow(task_id=r[0], uscc=r[1], badge=r[2], problem="recorded_under_conflict", reason=r[3],
                       declared_at=r[4])
           for r in _rows(config, "SELECT r.task_id, r.uscc, r.recorded_by, c.reason, c.valid_from"
                                  " FROM {t}res_results r JOIN {t}dir_conflicts c ON c.badge = r.recorded_by"
                                  " AND c.uscc = r.uscc WHERE c.valid_from <= r.recorded_seq"
                                  " AND (c.valid_to IS NULL OR c.valid_to > r.recorded_seq)")]
    for task_id, uscc, inspectors, experts, badge, reason, declared in _rows(
        config, "SELECT d.task_id, d.uscc, d.inspectors, d.experts, c.badge, c.reason, c.valid_from"
                " FROM {t}draw_teams d JOIN {t}dir_conflicts c ON c.uscc = d.uscc"
                " WHERE d.valid_to IS NULL AND c.valid_to IS NULL"):
        if badge in from_column(inspectors, True) + from_column(experts, True):
            out.append(ConflictRow(task_id=task_id, uscc=uscc, badge=badge, problem="assigned_under_conflict",
                                   reason=reason, declared_at=declared))
    return sorted(out, key=lambda r: (r.task_id, r.uscc, r.badge, r.problem))


def _public_inspector(badge: str, name: str, department: str, mode: str) -> str:
    if mode == "full":
        return f"{name} ({badge}, {department})"
    if mode == "department":
        return department
    return f"{mask_name(name)} ({mask_badge(badge)}, {department})"


def public_results(config: StoreConfig, task_id: str | None = None,
                   settings: ResultsSettings | None = None) -> list[PublicResult]:
    """Disclosed results only; inspectors' personal data masked as configured."""
    _fresh(config)
    settings = settings or load_settings(config.home)
    labels = {c.code: c.label for c in settings.result_categories()}
    where, params = ("AND r.task_id = ?", (task_id,)) if task_id else ("", ())
    rows = _rows(config, "SELECT r.task_id, t.name, r.uscc, e.name, r.category, r.findings, r.inspected_on,"
                         " r.disclosed_on, r.corrections, d.inspectors FROM {t}res_results r"
                         " JOIN {t}draw_tasks t ON t.task_id = r.task_id"
                         " LEFT JOIN {t}dir_entities e ON e.uscc = r.uscc AND e.valid_to IS NULL"
                         " LEFT JOIN {t}draw_teams d ON d.task_id = r.task_id AND d.uscc = r.uscc AND d.valid_to IS NULL"
                         f" WHERE r.disclosed_on IS NOT NULL {where} ORDER BY r.task_id, r.uscc", params)
    people = {b: (n, d) for b, n, d in _rows(config, "SELECT badge, name, department FROM {t}dir_inspectors"
                                                     " WHERE valid_to IS NULL")}
    out = []
    for task, task_name, uscc, entity_name, category, findings, inspected_on, disclosed_on, corrections, team in rows:
        inspectors = [_public_inspector(b, *people.get(b, ("", "")), settings.public_inspectors)
                      for b in from_column(team or "", True)]
        out.append(PublicResult(task_id=task, task_name=task_name, uscc=uscc, entity_name=entity_name or "",
                                category=category, category_label=labels.get(category, category), findings=findings,
                                inspected_on=inspected_on, disclosed_on=disclosed_on, corrections=corrections,
                                inspectors=inspectors))
    return out
