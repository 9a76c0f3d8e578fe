"""一单两库 imports: parsed and validated on the signer's side, signed, submitted.

The list manager's machine parses the file into canonical rows, computes
their RFC 9162 root and signs `directory.import` over the file's SHA-256
and that root; the rows travel beside the signed command. The ledger's
decision (domain/directory.py) re-validates every row, checks references
and jurisdiction, and writes the changed rows as events, all or nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.domain.commands import Refusal
from ledger.domain.directory import DirectoryImport, file_digest, rows_root
from ledger.domain.rows import RowError, parse_rows
from ledger.integrity.commands import SignedCommand, sign_command
from ledger.integrity.keys import Signer
from ledger.services.ledger import LedgerService
from ledger.services.receipts import Receipt

KINDS = ("departments", "items", "entities", "inspectors", "conflicts", "reclassifications")


class ImportSummary(msgspec.Struct, kw_only=True):
    kind: str
    file_sha256: str
    rows: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    flagged: list[str] = []
    events: int = 0
    written: bool = False
    dry_run: bool = False
    errors: list[RowError] = []
    receipt: Receipt | None = None


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
                dry_run: bool = False) -> ImportSummary:
    """Sign and submit typed rows (CommandRefused if the ledger refuses them)."""
    digest = file_sha256 or file_digest(msgspec.json.encode(rows))
    summary = ImportSummary(kind=kind, file_sha256=digest, rows=len(rows), dry_run=dry_run)
    signed = sign_import(signer, actor, kind, rows, file_name=file_name, file_sha256=digest,
                         accept_bad_check=accept_bad_check)
    if dry_run:
        events = ledger.processor.preview(signed, rows)
        record = next(e for e in events if isinstance(e, DirectoryImport.Recorded))
    else:
        summary.receipt = ledger.submit(signed, rows)
        record = ledger.processor.app.repository.get(DirectoryImport.id_for(actor, _nonce(signed)))
        events = []
    _fill(summary, record, len(events) if dry_run else summary.receipt.last - summary.receipt.first + 1)
    summary.written = not dry_run
    return summary


def import_file(ledger: LedgerService, signer: Signer, actor: str, kind: str, data: bytes, *, file_name: str = "-",
                encoding: str = "utf-8", accept_bad_check: bool = False, dry_run: bool = False) -> ImportSummary:
    """Parse a CSV file (every bad row named, nothing signed if any), then import its rows."""
    if kind not in KINDS:
        raise Refusal("invalid", f"unknown import kind {kind!r}: one of {', '.join(KINDS)}")
    accept = accept_bad_check or kind in ("conflicts", "reclassifications")
    parsed = parse_rows(kind, data, encoding=encoding, accept_bad_check=accept)  # type: ignore[arg-type]
    if parsed.errors:
        return ImportSummary(kind=kind, file_sha256=file_digest(data), rows=len(parsed.rows), errors=parsed.errors,
                             dry_run=dry_run)
    return import_rows(ledger, signer, actor, kind, parsed.rows, file_name=file_name, file_sha256=file_digest(data),
                       accept_bad_check=accept_bad_check, dry_run=dry_run)


def _nonce(signed: SignedCommand) -> str:
    return str(msgspec.json.decode(signed.command)["nonce"])


def _fill(summary: ImportSummary, record: Any, events: int) -> None:
    summary.new, summary.changed = record.new, record.changed
    summary.unchanged = len(record.unchanged)
    summary.flagged = list(record.flagged)
    summary.events = events
