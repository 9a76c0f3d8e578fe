"""Bulk imports into 一单两库 and monthly reclassification.

A file is validated whole before anything is written: every bad row is
reported (line as in the file, column, reason) and nothing is written.
Rows equal to the current record write nothing; changed rows become
`Updated` events naming the changed fields. Events go in transactions of
`BATCH` (one signature each); the last transaction also records the import
itself (file hash, counts, actor). Re-running an interrupted import writes
only what is still missing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import msgspec

from ledger.domain.directory import DIRECTORY_CLASSES
from ledger.domain.directory import Department, DirectoryEntry, DirectoryImport, Entity, Inspector
from ledger.domain.rows import RowError, parse_rows
from ledger.projections import all_projections
from ledger.projections.directory import ROWS, TABLES
from ledger.projections.pools import conflicts, current_classes, current_versions
from ledger.projections.runner import catch_up, writable_connection
from ledger.store.config import StoreConfig

BATCH = 5_000
KINDS = ("departments", "items", "entities", "inspectors", "conflicts", "reclassifications")


class ImportSummary(msgspec.Struct, kw_only=True):
    kind: str
    file_sha256: str
    rows: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    flagged_lines: list[int] = []
    events: int = 0
    written: bool = False
    dry_run: bool = False
    errors: list[RowError] = []


def _changed_fields(old: Any, new: Any) -> tuple[str, ...]:
    return tuple(f for f in old.__struct_fields__ if getattr(old, f) != getattr(new, f))


def _current(conn: Any, dialect: Any, cls: type[DirectoryEntry]) -> dict[str, tuple[int, Any]]:
    return current_versions(conn, dialect, TABLES[cls], cls.KEY_FIELD, ROWS[cls])


def _reference_errors(kind: str, rows: list[Any], lines: list[int], known: dict[str, set[str]]) -> list[RowError]:
    """Rows that name a department, inspector or entity the ledger does not know."""
    errors: list[RowError] = []

    def need(line: int, column: str, value: str, what: str, hint: str) -> None:
        if value not in known[what]:
            errors.append(RowError(line, column, f"unknown {what[:-1]} {value!r}: {hint}"))

    for line, row in zip(lines, rows):
        if kind in ("items", "inspectors"):
            need(line, "department", row.department, "departments", "import departments first")
        elif kind == "entities":
            for code in row.departments:
                need(line, "departments", code, "departments", "import departments first")
        elif kind == "departments" and row.parent and row.parent not in {r.code for r in rows}:
            need(line, "parent", row.parent, "departments", "list the parent department too")
        elif kind == "conflicts":
            need(line, "badge", row.badge, "inspectors", "import inspectors first")
            need(line, "uscc", row.uscc, "entities", "import entities first")
        elif kind == "reclassifications":
            need(line, "uscc", row.uscc, "entities", "only registered entities can be reclassified")
    return errors


def plan_events(kind: str, rows: list[Any], state: dict[str, Any], actor: str, summary: ImportSummary) -> list[Any]:
    """The events that bring the ledger to the file's rows (pure)."""
    events: list[Any] = []
    if kind in DIRECTORY_CLASSES:
        cls = DIRECTORY_CLASSES[kind]
        current: dict[str, tuple[int, Any]] = state["current"]
        for row in rows:
            found = current.get(cls.key_of(row))
            if found is None:
                events.append(cls.registered(row, actor))
                summary.new += 1
            elif found[1] != row:
                events.append(cls.updated(row, found[0], _changed_fields(found[1], row), actor, f"import {kind}"))
                summary.changed += 1
            else:
                summary.unchanged += 1
    elif kind == "conflicts":
        versions = {badge: version for badge, (version, _) in state["inspectors"].items()}
        for row in rows:
            if (row.badge, row.uscc) in state["conflicts"]:
                summary.unchanged += 1
                continue
            events.append(Inspector.conflict_event(True, row.badge, row.uscc, versions[row.badge], row.reason, actor))
            versions[row.badge] += 1
            summary.new += 1
    elif kind == "reclassifications":
        entities: dict[str, tuple[int, str]] = state["entities"]
        for row in rows:
            version, risk_class = entities[row.uscc]
            if risk_class == row.risk_class:
                summary.unchanged += 1
                continue
            events.append(Entity.reclassified(row.uscc, version, row.risk_class, risk_class, actor, "monthly reclassification"))
            summary.changed += 1
    return events


def import_file(
    config: StoreConfig,
    kind: str,
    data: bytes,
    *,
    file_name: str = "-",
    encoding: str = "utf-8",
    accept_bad_check: bool = False,
    dry_run: bool = False,
    actor: str = "admin",
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    from ledger.setup import open_for_writing

    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}: one of {', '.join(KINDS)}")
    summary = ImportSummary(kind=kind, file_sha256=hashlib.sha256(data).hexdigest(), dry_run=dry_run)
    # Conflicts and reclassifications must name registered entities: the
    # operator already decided on a flagged check character at registration.
    accept_bad_check = accept_bad_check or kind in ("conflicts", "reclassifications")
    parsed = parse_rows(kind, data, encoding=encoding, accept_bad_check=accept_bad_check)  # type: ignore[arg-type]
    summary.rows = len(parsed.rows)
    if parsed.errors:
        summary.errors = parsed.errors
        return summary
    summary.flagged_lines = parsed.flagged_lines
    catch_up(config, all_projections())
    with writable_connection(config) as (conn, dialect, _):
        state: dict[str, Any] = {}
        known: dict[str, set[str]] = {"departments": set(_current(conn, dialect, Department))}
        if kind in DIRECTORY_CLASSES:
            state["current"] = _current(conn, dialect, DIRECTORY_CLASSES[kind])
        if kind in ("conflicts", "reclassifications"):
            # Only versions and classes: building 1M typed records costs seconds.
            state["entities"] = current_classes(conn, dialect)
            known["entities"] = set(state["entities"])
        if kind == "conflicts":
            state["inspectors"] = _current(conn, dialect, Inspector)
            known["inspectors"] = set(state["inspectors"])
            state["conflicts"] = conflicts(conn, dialect)
    summary.errors = _reference_errors(kind, parsed.rows, parsed.lines, known)
    if summary.errors:
        return summary
    events = plan_events(kind, parsed.rows, state, actor, summary)
    summary.events = len(events)
    if dry_run or not events:
        return summary
    record = DirectoryImport(
        actor=actor, kind=kind, file_name=file_name, file_sha256=summary.file_sha256, rows=summary.rows,
        new=summary.new, changed=summary.changed, unchanged=summary.unchanged,
        flagged_lines=tuple(summary.flagged_lines),
    )
    app = open_for_writing(config)
    try:
        for start in range(0, len(events), BATCH):
            chunk = events[start : start + BATCH]
            last = start + BATCH >= len(events)
            app.append_events([*chunk, *record.collect_events()] if last else chunk)
            if on_progress:
                on_progress(min(start + BATCH, len(events)), len(events))
    finally:
        app.close()
    summary.written = True
    catch_up(config, all_projections())
    return summary
