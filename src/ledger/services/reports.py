"""Accountability reports for discipline inspectors (纪检监察), and the public view.

All read the projections (caught up first) and return lists of msgspec
Structs, so the CLI and the HTTP layer format the same rows:

- trace(task, uscc): the whole timeline of one target in one task: its
  draws, results, corrections, disclosure, reclassifications and refused
  attempts, each with its ledger hash; every accepted step names the signed
  command of its transaction (position, name, key, signature, exact bytes).
- actor_report(actor): every command the actor signed (any name), the teams
  it was drawn into, and the refused attempts in its name.
- refused(): refused attempts and suppression counters, authenticated ones
  (bucket = the actor) apart from unauthenticated ones ("?unauthenticated").
- overdue(today): late or missing results and disclosures, in working days,
  under the settings and calendar recorded in the ledger.
- conflicts(): results recorded, or assignments standing, under a declared
  conflict of interest (回避).
- public_results(): disclosed results with inspectors masked as the
  ledger's settings say.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import msgspec

from ledger.domain.commands import china_date
from ledger.domain.refusals import UNAUTHENTICATED_BUCKET
from ledger.domain.results import disclosure_due, mask_badge, mask_name, result_due
from ledger.domain.workdays import Due
from ledger.integrity.canonical import utc_now
from ledger.projections import all_projections
from ledger.projections import results as q
from ledger.projections.commands import CommandRow, commands_for, commands_of
from ledger.projections.results import ConflictRow
from ledger.projections.runner import catch_up, writable_connection
from ledger.services.settings import settings_in_force
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader


class TraceRow(msgspec.Struct, kw_only=True):
    seq: int
    at: str
    kind: str
    actor: str
    detail: str
    command_seq: int | None = None  # the command whose transaction holds this event
    command_name: str | None = None
    key_id: str | None = None
    signature: str | None = None  # base64
    command: str | None = None  # the exact signed bytes
    event_hash: str = ""
    task_id: str = ""  # the task the row belongs to (a trace across tasks mixes them)


class RefusedRow(msgspec.Struct, kw_only=True):
    seq: int
    at: str
    bucket: str  # the authenticated actor, or "?unauthenticated"
    kind: str  # refused | suppressed
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
    # result_late | result_missing | disclosure_late | disclosure_missing | follow_up_late | follow_up_missing
    problem: str
    due: str
    done: str | None
    inspectors: str
    department: str = ""
    provisional: bool = False  # the deadline needs a year with no recorded schedule (weekends only until then)


class PublicResult(msgspec.Struct, kw_only=True):
    task_id: str
    task_name: str
    uscc: str
    entity_name: str
    department: str
    category: str
    category_label: str
    categories: list[str]
    category_labels: list[str]
    findings: str
    inspected_on: str
    disclosed_on: str
    corrections: int
    inspectors: list[str]


@contextmanager
def _read(config: StoreConfig) -> Iterator[tuple[Any, Any]]:
    """The read models, caught up with the ledger."""
    catch_up(config, all_projections())
    with writable_connection(config) as (conn, dialect, _):
        yield conn, dialect


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _signed_by(row: TraceRow, command: CommandRow | None) -> TraceRow:
    if command is not None:
        row.command_seq, row.command_name = command.seq, command.name
        row.key_id, row.signature, row.command = command.key_id, command.signature, command.command
    return row


def _with_hashes(config: StoreConfig, rows: list[TraceRow]) -> list[TraceRow]:
    with open_reader(config) as reader:
        for row in rows:
            found = reader.hash_at(row.seq)
            row.event_hash = found.hex() if found else ""
    return sorted(rows, key=lambda r: r.seq)


def _refusal_rows(refusals: list[q.RefusalRow]) -> list[TraceRow]:
    """Refused attempts: an authenticated one is the actor's; an unauthenticated one only claims its name."""
    out = []
    for r in refusals:
        if r.kind == "suppressed":
            kind = "suppressed"
        else:
            kind = f"refused:{r.code}" if r.authenticated else f"unauthenticated:{r.code}"
        out.append(TraceRow(seq=r.seq, at=r.at, kind=kind, actor=r.claimed_actor, key_id=r.key_id or None,
                            detail=_json({"command": r.command_name, "code": r.code, "reason": r.reason,
                                          "authenticated": r.authenticated, "command_sha256": r.command_sha256,
                                          "count": r.count})))
    return out


def _substitutions(config: StoreConfig, task_id: str, uscc: str) -> list[TraceRow]:
    """Who left the target's team and who joined (替换), from the events (the team row shows the team as it stands)."""
    from eventsourcing.utils import get_topic

    from ledger.domain.draws import Task
    from ledger.services.bundles import SubstitutedEvent
    from ledger.store.reader import open_reader

    with open_reader(config) as reader:
        found = reader.events_with_topics([get_topic(Task.Substituted)])
    rows = []
    for row in found:
        change = msgspec.json.decode(row.state or b"", type=SubstitutedEvent)
        if (change.task_id, change.target) == (task_id, uscc):
            rows.append(TraceRow(seq=row.seq, at="", kind="substituted", actor=change.actor, detail=_json(
                {"leaving": change.leaving, "joining": change.joining, "basis": change.basis, "reason": change.reason})))
    return rows


def trace(config: StoreConfig, task_id: str, uscc: str) -> list[TraceRow]:
    from ledger.services.firms import participation_rows

    with _read(config) as (conn, dialect):
        rows = [TraceRow(seq=t.drawn_seq, at="", kind="drawn", actor="",
                         detail=_json({"inspectors": t.inspectors, "experts": t.experts, "voided_at": t.voided_seq}))
                for t in q.teams_of_target(conn, dialect, task_id, uscc)]
        rows += [TraceRow(seq=t.seq, at=t.at, kind=t.kind, actor=t.actor, detail=t.detail)
                 for t in q.timeline(conn, dialect, task_id, uscc)]
        rows += _substitutions(config, task_id, uscc)
        rows += participation_rows(config, task_id, uscc)  # the firm's part, class signals (services/firms.py)
        commands = commands_for(conn, dialect, [r.seq for r in rows])
        for row in rows:
            command = commands.get(row.seq)
            _signed_by(row, command)
            if row.kind in ("drawn", "substituted") and command is not None:
                row.at, row.actor = command.recorded_at, command.actor
        rows += _refusal_rows(q.refusals(conn, dialect, task_id=task_id, uscc=uscc))
    for row in rows:
        row.task_id = task_id
    return _with_hashes(config, rows)


def actor_report(config: StoreConfig, actor: str) -> list[TraceRow]:
    """Every command `actor` signed, every team it was drawn into, every refused attempt in its name."""
    with _read(config) as (conn, dialect):
        rows = [_signed_by(TraceRow(seq=c.seq, at=c.recorded_at, kind=c.name, actor=c.actor,
                                    detail=_json(c.body())), c)
                for c in commands_of(conn, dialect, actor)]
        teams = q.teams_of_member(conn, dialect, actor)
        commands = commands_for(conn, dialect, [t.drawn_seq for t in teams])
        for team in teams:
            role = "inspector" if actor in team.inspectors else "expert"
            command = commands.get(team.drawn_seq)
            rows.append(TraceRow(seq=team.drawn_seq, at=command.recorded_at if command else "", kind="assigned",
                                 actor=command.actor if command else "",
                                 detail=_json({"task_id": team.task_id, "uscc": team.uscc, "as": role,
                                               "voided_at": team.voided_seq}),
                                 command_seq=command.seq if command else None,
                                 command_name=command.name if command else None))
        rows += _refusal_rows(q.refusals(conn, dialect, claimed_actor=actor))
    return _with_hashes(config, rows)


def refused(config: StoreConfig, actor: str | None = None) -> list[RefusedRow]:
    """Refused attempts and counters: authenticated buckets first, then "?unauthenticated", each in ledger order."""
    with _read(config) as (conn, dialect):
        found = q.refusals(conn, dialect, claimed_actor=actor)
    rows = [RefusedRow(seq=r.seq, at=r.at, bucket=r.bucket, kind=r.kind, claimed_actor=r.claimed_actor,
                       authenticated=r.authenticated, command=r.command_name, code=r.code, reason=r.reason,
                       task_id=r.task_id, uscc=r.uscc, count=r.count) for r in found]
    return sorted(rows, key=lambda r: (r.bucket == UNAUTHENTICATED_BUCKET, r.seq))


def overdue(config: StoreConfig, today: date | None = None) -> list[OverdueRow]:
    """Everything late as of `today` (China date; default now), under the ledger's settings and calendar.

    Deadlines that needed a year with no recorded schedule are recounted with
    the calendar recorded now, and stay `provisional` while it still lacks one.
    """
    today = today or china_date(utc_now())
    settings = settings_in_force(config)
    calendar = settings.calendar()
    days = settings.results
    out: list[OverdueRow] = []
    with _read(config) as (conn, dialect):
        results = {(r.task_id, r.uscc, r.department): r for r in q.results(conn, dialect)}
        standing = q.standing_teams(conn, dialect)
        follow_ups = q.follow_ups(conn, dialect)
    for r in results.values():
        if r.late:
            out.append(OverdueRow(task_id=r.task_id, uscc=r.uscc, department=r.department, problem="result_late",
                                  due=r.result_due, done=r.recorded_on, inspectors=r.recorded_by))
        due, provisional = r.disclosure_due, r.provisional
        if provisional:
            live = disclosure_due(date.fromisoformat(r.inspected_on), days.disclosure_due_working_days, calendar)
            due, provisional = live.day.isoformat(), live.provisional
        if r.disclosed_on is None and date.fromisoformat(due) < today:
            out.append(OverdueRow(task_id=r.task_id, uscc=r.uscc, department=r.department,
                                  problem="disclosure_missing", due=due, done=None, inspectors=r.recorded_by,
                                  provisional=provisional))
        elif r.disclosed_on is not None and r.disclosed_on > due:
            out.append(OverdueRow(task_id=r.task_id, uscc=r.uscc, department=r.department, problem="disclosure_late",
                                  due=due, done=r.disclosed_on, inspectors=r.recorded_by, provisional=provisional))
    for f in follow_ups:
        due, provisional = f.due, f.provisional
        if provisional:
            owner = results.get((f.task_id, f.uscc, f.department))
            if owner is not None:
                live = calendar.due(date.fromisoformat(owner.inspected_on),
                                    days.follow_up_due_working_days.get(f.kind, 10))
                due, provisional = live.day.isoformat(), live.provisional
        late = f.done_on > due if f.done_on else date.fromisoformat(due) < today
        if late:
            out.append(OverdueRow(task_id=f.task_id, uscc=f.uscc, department=f.department,
                                  problem="follow_up_late" if f.done_on else "follow_up_missing", due=due,
                                  done=f.done_on, inspectors=f.kind + (f":{f.to_department}" if f.to_department
                                                                       else ""), provisional=provisional))
    due_of: dict[str, Due] = {}
    for team in standing:
        if team.task_id not in due_of:
            due_of[team.task_id] = result_due(date.fromisoformat(team.window_end), days.results_due_working_days,
                                              calendar)
        due = due_of[team.task_id]
        for department in team.departments or ("",):
            if any(k[:2] == (team.task_id, team.uscc) and (not department or k[2] == department) for k in results):
                continue
            if due.day < today:
                out.append(OverdueRow(task_id=team.task_id, uscc=team.uscc, department=department,
                                      problem="result_missing", due=due.day.isoformat(), done=None,
                                      inspectors=";".join(team.inspectors), provisional=due.provisional))
    return sorted(out, key=lambda r: (r.task_id, r.uscc, r.department, r.problem))


def conflicts(config: StoreConfig) -> list[ConflictRow]:
    with _read(config) as (conn, dialect):
        hits = q.conflict_hits(conn, dialect)
    return sorted(hits, key=lambda r: (r.task_id, r.uscc, r.badge, r.problem))


def _public_inspector(badge: str, name: str, department: str, mode: str) -> str:
    if mode == "full":
        return f"{name} ({badge}, {department})"
    if mode == "department":
        return department
    return f"{mask_name(name)} ({mask_badge(badge)}, {department})"


def public_results(config: StoreConfig, task_id: str | None = None) -> list[PublicResult]:
    """Disclosed results only; inspectors' personal data masked as the ledger's settings say."""
    settings = settings_in_force(config).results
    labels = {c.code: c.label for c in settings.result_categories()}
    with _read(config) as (conn, dialect):
        rows = q.disclosed(conn, dialect, task_id)
        people = q.current_inspectors(conn, dialect)
    # Each department publishes its own result with its own inspectors (一联合: one row per department).
    return [PublicResult(task_id=r.task_id, task_name=r.task_name, uscc=r.uscc, entity_name=r.entity_name,
                         department=r.department, category=r.category,
                         category_label=labels.get(r.category, r.category), categories=list(r.categories),
                         category_labels=[labels.get(c, c) for c in r.categories], findings=r.findings,
                         inspected_on=r.inspected_on, disclosed_on=r.disclosed_on, corrections=r.corrections,
                         inspectors=[_public_inspector(b, *people.get(b, ("", "")), settings.public_inspectors)
                                     for b in r.inspectors if people.get(b, ("", r.department))[1] == r.department])
            for r in rows]
