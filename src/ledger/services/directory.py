"""一单两库 imports: parsed and validated on the signer's side, signed, submitted.

The list manager's machine parses the file into canonical rows, computes
their RFC 9162 root and signs `directory.import` over the file's SHA-256
and that root; the rows travel beside the signed command. The ledger's
decision (domain/directory.py) re-validates every row, checks references
and jurisdiction, and writes the changed rows as events, all or nothing.

Before anything is signed, the whole file is checked here: every bad row
comes back with its line in the file (parsing, then references against the
read models), and nothing is submitted. A file that changes nothing is not
submitted either (its no-change is confirmed by a dry run of the decision),
so re-running an import leaves no trace. `dry_run` runs the decision
without writing (the processor's preview).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from ledger.domain.commands import Refusal
from ledger.domain.directory import DirectoryImport, file_digest, rows_root
from ledger.domain.rows import ParseResult, RowError, iter_rows, parse_rows
from ledger.integrity.commands import SignedCommand, sign_command
from ledger.integrity.keys import Signer
from ledger.services.ledger import LedgerService
from ledger.services.processor import CommandRefused
from ledger.services.receipts import Receipt
from ledger.store.config import StoreConfig

KINDS = ("departments", "items", "entities", "inspectors", "conflicts", "reclassifications")


class ImportSummary(msgspec.Struct, kw_only=True):
    kind: str
    file_sha256: str
    rows: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    flagged: list[str] = []  # keys of rows accepted with a bad USCC check character
    flagged_lines: list[int] = []  # their lines in the file
    events: int = 0
    written: bool = False
    dry_run: bool = False
    errors: list[RowError] = []
    receipt: Receipt | None = None
    sheet: str | None = None  # the workbook sheet read (None: a CSV file)


def import_body(kind: str, rows: list[Any], *, file_name: str, file_sha256: str,
                accept_bad_check: bool = False) -> dict[str, Any]:
    return {"accept_bad_check": accept_bad_check, "file_name": file_name, "file_sha256": file_sha256,
            "kind": kind, "rows": len(rows), "rows_root": rows_root(kind, rows)}


def sign_import(signer: Signer, actor: str, kind: str, rows: list[Any], *, file_name: str, file_sha256: str,
                accept_bad_check: bool = False) -> SignedCommand:
    return sign_command(signer, actor, "directory.import",
                        import_body(kind, rows, file_name=file_name, file_sha256=file_sha256,
                                    accept_bad_check=accept_bad_check))


def import_rows(ledger: LedgerService, signer: Signer, actor: str, kind: str, rows: list[Any], *,
                file_name: str = "-", file_sha256: str | None = None, accept_bad_check: bool = False,
                dry_run: bool = False, confirm_change: bool = False, chunk_rows: int = 0) -> ImportSummary:
    """Sign and submit typed rows (CommandRefused if the ledger refuses them).

    `confirm_change`: first run the decision without writing, and submit
    nothing if no row changes anything (the summary says all are unchanged).
    `chunk_rows`: more rows than this go through a staged import in chunks of
    this many (services/staging.py); 0: never staged.
    """
    digest = file_sha256 or file_digest(msgspec.json.encode(rows))
    summary = ImportSummary(kind=kind, file_sha256=digest, rows=len(rows), dry_run=dry_run)
    staged = 0 < chunk_rows < len(rows)

    def one_command() -> SignedCommand:
        return sign_import(signer, actor, kind, rows, file_name=file_name, file_sha256=digest,
                           accept_bad_check=accept_bad_check)

    if dry_run or confirm_change:
        try:
            events = ledger.processor.preview(one_command(), rows)
        except Refusal as refusal:
            if refusal.code == "no_change":
                summary.unchanged = len(rows)
                return summary
            raise CommandRefused(refusal.code, f"{refusal.message} (dry run: nothing was written)", None) from None
        if dry_run:
            record = next(e for e in events if isinstance(e, DirectoryImport.Recorded))
            _fill(summary, record, len(events))
            return summary
    if staged:
        from ledger.services.staging import import_staged

        signed, summary.receipt = import_staged(ledger, signer, actor, kind, rows, file_name=file_name,
                                                file_sha256=digest, accept_bad_check=accept_bad_check,
                                                chunk_rows=chunk_rows)
    else:
        signed = one_command()
        summary.receipt = ledger.submit(signed, rows)
    record = ledger.processor.app.repository.get(DirectoryImport.id_for(actor, _nonce(signed)))
    _fill(summary, record, summary.receipt.last - summary.receipt.first + 1)
    summary.written = True
    return summary


def import_file(ledger: LedgerService, signer: Signer, actor: str, kind: str, data: bytes, *, file_name: str = "-",
                encoding: str = "utf-8", accept_bad_check: bool = False, dry_run: bool = False,
                sheet: str | None = None, chunk_rows: int = 0) -> ImportSummary:
    """Check a CSV file or one sheet of a workbook (.xlsx, .xls, .ods: magic bytes
    decide) whole (every bad row named with its line or cell, nothing signed if
    any), then sign and import its rows. The signed file hash is of `data` as given.
    A file of more than `chunk_rows` rows is staged in chunks (0: never)."""
    if kind not in KINDS:
        raise Refusal("invalid", f"unknown import kind {kind!r}: one of {', '.join(KINDS)}")
    # Conflicts and reclassifications name registered entities: the operator
    # decided on a flagged check character at registration.
    accept = accept_bad_check or kind in ("conflicts", "reclassifications")
    digest = file_digest(data)
    parsed, sheet_name, locate = _parse(kind, data, file_name, encoding, accept, sheet)
    if parsed.errors:
        errors = parsed.errors
        if sheet_name is None and not getattr(ledger, "remote", False) and any(e.line > 1 for e in errors):
            # CSV: the rows that did parse are checked against the ledger too, so an unknown
            # department is reported with the row errors, not only once they are fixed.
            from ledger.domain.workbook_rows import workbook_format

            good = [] if workbook_format(data, file_name) is not None else [
                ok for ok in iter_rows(kind, data, encoding=encoding, accept_bad_check=accept)  # type: ignore[arg-type]
                if type(ok) is tuple]
            if good:
                references = precheck(ledger.config, kind, [r for _, r in good], [n for n, _ in good]).errors
                errors = sorted(errors + references, key=lambda e: e.line)
        return ImportSummary(kind=kind, file_sha256=digest, rows=len(parsed.rows), errors=errors,
                             dry_run=dry_run, sheet=sheet_name)
    if getattr(ledger, "remote", False):
        # On a server (services/remote.py) the ledger checks the references; a dry run first
        # keeps an import that changes nothing from being submitted.
        check = Precheck([], 0)
    else:
        check = precheck(ledger.config, kind, parsed.rows, parsed.lines)
    if check.errors:
        return ImportSummary(kind=kind, file_sha256=digest, rows=len(parsed.rows), errors=locate(check.errors),
                             dry_run=dry_run, sheet=sheet_name)
    summary = import_rows(ledger, signer, actor, kind, parsed.rows, file_name=file_name, file_sha256=digest,
                          accept_bad_check=accept_bad_check, dry_run=dry_run,
                          confirm_change=not check.changes, chunk_rows=chunk_rows)
    summary.flagged_lines = parsed.flagged_lines
    summary.sheet = sheet_name
    return summary


def _parse(kind: str, data: bytes, file_name: str, encoding: str, accept: bool,
           sheet: str | None) -> tuple[ParseResult, str | None, Callable[[list[RowError]], list[RowError]]]:
    """CSV or workbook into typed rows: (result, the sheet read, how to place later errors)."""
    from ledger.domain.workbook_rows import WorkbookError, parse_workbook, workbook_format

    try:
        if workbook_format(data, file_name) is not None:
            return parse_workbook(kind, data, sheet=sheet, accept_bad_check=accept)  # type: ignore[arg-type]
    except WorkbookError as exc:
        return ParseResult(kind, [], [], [RowError(1, None, str(exc), "")]), None, list  # type: ignore[arg-type]
    if sheet is not None:
        error = RowError(1, None, "--sheet applies to workbooks (.xlsx, .xls, .ods); this is a CSV file", "")
        return ParseResult(kind, [], [], [error]), None, list  # type: ignore[arg-type]
    return parse_rows(kind, data, encoding=encoding, accept_bad_check=accept), None, list  # type: ignore[arg-type]


class Precheck(msgspec.Struct):
    errors: list[RowError]
    changes: int  # rows that look new or changed against the read models


def precheck(config: StoreConfig, kind: str, rows: list[Any], lines: list[int]) -> Precheck:
    """The signer's own check against the read models: rows naming a department,
    inspector or entity the ledger does not know (with their lines), and how
    many rows would change something. The ledger re-checks all of it."""
    from ledger.domain.directory import DIRECTORY_CLASSES, Department, Inspector
    from ledger.projections.directory import ROWS, TABLES
    from ledger.projections.pools import conflicts, current_classes, current_versions
    from ledger.services.pools import read

    def versions(cls: Any) -> Any:
        return lambda c, d: current_versions(c, d, TABLES[cls], cls.KEY_FIELD, ROWS[cls])

    def query(conn: Any, dialect: Any) -> tuple[dict[str, Any], Any]:
        known: dict[str, Any] = {"departments": versions(Department)(conn, dialect)}
        current: Any = {}
        if kind in DIRECTORY_CLASSES:
            current = known["departments"] if kind == "departments" else \
                versions(DIRECTORY_CLASSES[kind])(conn, dialect)
        if kind in ("conflicts", "reclassifications"):
            known["entities"] = current_classes(conn, dialect)  # versions and classes only: fast
        if kind == "conflicts":
            known["inspectors"] = versions(Inspector)(conn, dialect)
            current = conflicts(conn, dialect)
        return known, current

    known, current = read(config, query)
    errors = reference_errors(kind, rows, lines, known)
    changes = 0
    for row in rows:
        if kind in DIRECTORY_CLASSES:
            found = current.get(DIRECTORY_CLASSES[kind].key_of(row))
            changes += found is None or found[1] != row
        elif kind == "conflicts":
            changes += (row.badge, row.uscc) not in current
        elif row.uscc in known["entities"]:
            changes += known["entities"][row.uscc][1] != row.risk_class
    return Precheck(errors, changes)


def reference_errors(kind: str, rows: list[Any], lines: list[int], known: dict[str, Any]) -> list[RowError]:
    """Rows that name a department, inspector or entity the ledger does not know."""
    errors: list[RowError] = []

    def need(line: int, column: str, value: str, what: str, hint: str) -> None:
        if value not in known[what]:
            errors.append(RowError(line, column, f"unknown {what[:-1]} {value!r}: {hint}"))

    in_file = {r.code for r in rows} if kind == "departments" else set()
    for line, row in zip(lines, rows):
        if kind in ("items", "inspectors"):
            need(line, "department", row.department, "departments", "import departments first")
        elif kind == "entities":
            for code in row.departments:
                need(line, "departments", code, "departments", "import departments first")
        elif kind == "departments" and row.parent and row.parent not in in_file:
            need(line, "parent", row.parent, "departments", "list the parent department too")
        elif kind == "conflicts":
            need(line, "badge", row.badge, "inspectors", "import inspectors first")
            need(line, "uscc", row.uscc, "entities", "import entities first")
        elif kind == "reclassifications":
            need(line, "uscc", row.uscc, "entities", "only registered entities can be reclassified")
    return errors


def _nonce(signed: SignedCommand) -> str:
    return str(msgspec.json.decode(signed.command)["nonce"])


def _fill(summary: ImportSummary, record: Any, events: int) -> None:
    summary.new, summary.changed = record.new, record.changed
    summary.unchanged = len(record.unchanged)
    summary.flagged = list(record.flagged)
    summary.events = events
