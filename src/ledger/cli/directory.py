"""`drledger import`, `reclassify`, `pool`, `items` and `projections`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ledger.cli.common import EXIT_FAILED_CHECK, actor_options, clear_errors, config_from, signer_for, store_options
from ledger.cli.receipts import receipt_option, save_receipt
from ledger.cli.workbook import xlsx_output

COLUMNS_HELP = """\b
Files: CSV (UTF-8 with or without BOM, or GB18030) or a workbook (.xlsx,
.xls, .ods; --sheet chooses the sheet). Columns, in the header line or row
(Chinese headers such as 统一社会信用代码 too; see docs/imports.md):
  departments  code,name,level,region_code[,parent]
  items        code,name,department,legal_basis,content,methods,target_kind,key_item[,status]
  entities     uscc,name,entity_type,region_code,industry,risk_class[,departments,status]
  inspectors   badge,name,department,region_code,role[,qualifications,expertise,status,
               certificate_no,certificate_valid_until (执法证; YYYY-MM-DD)]
  conflicts    badge,uscc,reason
Lists inside a cell are separated by ';'.
"""


def _progress_run(label: str, work: Any) -> Any:
    """Run work(on_progress) with a rich progress bar when stderr is a terminal."""
    if not sys.stderr.isatty():
        return work(None)
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task(label, total=None)
        return work(lambda done, total: progress.update(task, completed=done, total=total))


def _run_import(store: str | None, home: str, kind: str, file: Path, encoding: str, dry_run: bool,
                accept_bad_check: bool, as_actor: str, key: Path | None, as_json: bool,
                receipt_out: Path | None, sheet: str | None = None, chunk_rows: int | None = None) -> None:
    import msgspec

    from ledger.services.staging import CHUNK_ROWS

    from ledger.services.directory import import_file
    from ledger.services.ledger import open_ledger

    config = config_from(store, home)
    data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    signer = signer_for(config, as_actor, key)
    with open_ledger(config) as ledger:
        # Staged by default only over --server, where one request must stay under the body limit:
        # locally, staging holds the writer as long as one command does and costs memory (docs/operations.md).
        default = CHUNK_ROWS if getattr(ledger, "remote", False) else 0
        summary = import_file(ledger, signer, as_actor, kind, data, file_name=file.name, encoding=encoding,
                              accept_bad_check=accept_bad_check, dry_run=dry_run, sheet=sheet,
                              chunk_rows=default if chunk_rows is None else chunk_rows)
    if as_json:
        click.echo(msgspec.json.encode(summary).decode())
    if summary.errors:
        if not as_json:
            for error in summary.errors:
                click.echo(f"{file}: {error}", err=True)
            click.echo(f"{len(summary.errors)} error(s): nothing was written", err=True)
        sys.exit(EXIT_FAILED_CHECK)
    if summary.receipt is not None and receipt_out is not None:
        save_receipt(receipt_out, summary.receipt)
    if not as_json:
        verb = "would write" if dry_run else "wrote"
        sheet = f"sheet {summary.sheet!r}: " if summary.sheet is not None else ""
        click.echo(
            f"{sheet}{kind}: {summary.rows} rows, {summary.new} new, {summary.changed} changed, "
            f"{summary.unchanged} unchanged; {verb} {summary.events} events"
            + (f" at positions {summary.receipt.first}-{summary.receipt.last}" if summary.receipt else "")
        )
        if summary.flagged_lines:
            where = "sheet rows" if summary.sheet is not None else "lines"
            click.echo(f"accepted with a bad USCC check character (flagged): {where} "
                       f"{', '.join(map(str, summary.flagged_lines))}")


ENCODING = click.option("--encoding", type=click.Choice(["utf-8", "gb18030"]), default="utf-8", show_default=True,
                        help="Of a CSV file (a workbook needs none).")
SHEET = click.option("--sheet", default=None, metavar="NAME|N",
                     help="The workbook sheet to read, by name or number (1 = first; default the first).")
DRY_RUN = click.option("--dry-run", is_flag=True, help="Check the file and run the ledger's rules on it; write nothing.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")


@click.command(name="import", epilog=COLUMNS_HELP)
@store_options
@click.argument("kind", type=click.Choice(["departments", "items", "entities", "inspectors", "conflicts"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@ENCODING
@SHEET
@DRY_RUN
@click.option("--accept-bad-check", is_flag=True, help="Accept USCCs whose check character fails (they stay flagged).")
@click.option("--chunk-rows", type=click.IntRange(min=0), default=None, metavar="N",
              help="A file of more than N rows is a staged import in chunks of N rows, each its own short"
                   " transaction (or HTTP request), then one signed commit (default: 50000 over --server,"
                   " never locally; 0: never staged).")
@actor_options
@JSON
@receipt_option
@clear_errors
def import_cmd(store: str | None, home: str, kind: str, file: Path, encoding: str, sheet: str | None, dry_run: bool,
               accept_bad_check: bool, chunk_rows: int | None, as_actor: str, key: Path | None, as_json: bool,
               receipt_out: Path | None) -> None:
    """Import a CSV file or workbook into the item list or a pool, all or nothing, signed by a list manager.

    The whole file is checked first, on this machine: if any row is invalid
    or names something the ledger does not know, every bad row is reported
    (line, column, reason; in a workbook its cell, e.g. Sheet1!C7), nothing
    is signed or written and the exit code is 1. In a workbook, code columns
    (USCC, badge, region, department, item code...) must be text cells: a
    number cell there is refused, since Excel may already have dropped
    leading zeros or digits. Then the rows are signed with the acting list
    manager's own key (departments: an admin's) and the ledger re-checks
    them. Unchanged rows write nothing; changed rows become change events.
    A large file is staged (over --server: above 50,000 rows; locally: with
    --chunk-rows N): its sorted rows go in signed chunks, each written as
    pending in its own short transaction (over --server: each its own
    request), then one signed commit makes them all effective at once; until
    then nothing in the directory changes.

    \b
    Example:
      drledger import departments departments.csv --as admin
      drledger import entities 名录库.csv --encoding gb18030 --as lm-XY-SCJG --dry-run
      drledger import inspectors 执法检查人员名录库.xlsx --sheet 2 --as lm-XY-SCJG
    """
    _run_import(store, home, kind, file, encoding, dry_run, accept_bad_check, as_actor, key, as_json, receipt_out,
                sheet, chunk_rows)


@click.command()
@store_options
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@ENCODING
@SHEET
@DRY_RUN
@actor_options
@JSON
@receipt_option
@clear_errors
def reclassify(store: str | None, home: str, file: Path, encoding: str, sheet: str | None, dry_run: bool,
               as_actor: str, key: Path | None, as_json: bool, receipt_out: Path | None) -> None:
    """Apply a monthly credit-risk reclassification file (uscc,risk_class; CSV or workbook), signed by a list manager.

    Only entities whose class changed become events.

    \b
    Example:
      drledger reclassify 2026-11-信用风险分类.csv --as lm-XY-SCJG
    """
    _run_import(store, home, "reclassifications", file, encoding, dry_run, False, as_actor, key, as_json, receipt_out,
                sheet)


def _emit(rows: list[Any], fmt: str, row_type: type | None = None) -> None:
    from ledger.cli.output import emit

    emit(rows, fmt, row_type)


from ledger.cli.output import FORMAT  # noqa: E402  (one format option for every list)
AS_OF = click.option("--as-of", type=click.IntRange(min=1), default=None, help="Ledger position to read the pool at.")


@click.group()
def pool() -> None:
    """Query the target pool (检查对象名录库) and the inspector pool (执法检查人员名录库).

    \b
    Example:
      drledger pool entities --risk-class C --region 3605 --format csv > c类.csv
    """


@pool.command()
@store_options
@click.option("--risk-class", "risk_classes", multiple=True, help="A class of the ledger's set (repeat; settings.draws, default A-D).")
@click.option("--region", default=None, help="Region code prefix (GB/T 2260), e.g. 3605.")
@click.option("--type", "entity_types", multiple=True, type=click.Choice(["enterprise", "individual", "cooperative", "other"]))
@click.option("--industry", default=None, help="Industry code prefix (GB/T 4754), e.g. F52.")
@click.option("--department", default=None, help="Supervising department code.")
@click.option("--status", "statuses", multiple=True, type=click.Choice(["active", "deregistered", "revoked", "moved"]))
@AS_OF
@xlsx_output("ledger.domain.rows:EntityRow")
@FORMAT
@clear_errors
def entities(store: str | None, home: str, risk_classes: tuple[str, ...], region: str | None,
             entity_types: tuple[str, ...], industry: str | None, department: str | None,
             statuses: tuple[str, ...], as_of: int | None, fmt: str) -> None:
    """List entities in the target pool, filtered.

    \b
    Example:
      drledger pool entities --risk-class C --risk-class D --region 360502 --format json
    """
    from ledger.services import pools

    f = pools.EntityFilter(risk_classes=risk_classes, region_prefix=region, entity_types=entity_types,
                           industry_prefix=industry, department=department, statuses=statuses)
    _emit(pools.entities(config_from(store, home), f, as_of), fmt, pools.EntityRow)


@pool.command()
@store_options
@click.option("--department", default=None)
@click.option("--region", default=None, help="Region code prefix.")
@click.option("--role", type=click.Choice(["enforcement", "expert"]), default=None)
@click.option("--qualification", default=None, help="Item code or category the inspector is qualified for.")
@click.option("--status", "statuses", multiple=True)
@AS_OF
@xlsx_output("ledger.domain.rows:InspectorRow")
@FORMAT
@clear_errors
def inspectors(store: str | None, home: str, department: str | None, region: str | None, role: str | None,
               qualification: str | None, statuses: tuple[str, ...], as_of: int | None, fmt: str) -> None:
    """List inspectors in the inspector pool, filtered.

    \b
    Example:
      drledger pool inspectors --department SCJG --role enforcement --format table
    """
    from ledger.services import pools

    f = pools.InspectorFilter(department=department, region_prefix=region, role=role, qualification=qualification,
                              statuses=statuses)
    _emit(pools.inspectors(config_from(store, home), f, as_of), fmt, pools.InspectorRow)


@click.command()
@store_options
@AS_OF
@xlsx_output("ledger.domain.rows:ItemRow")
@FORMAT
@clear_errors
def items(store: str | None, home: str, as_of: int | None, fmt: str) -> None:
    """List the inspection item list (随机抽查事项清单).

    \b
    Example:
      drledger items --format csv > 抽查事项清单.csv
    """
    from ledger.services import pools

    _emit(pools.items(config_from(store, home), as_of), fmt, pools.ItemRow)


@click.group()
def projections() -> None:
    """Read models: catch up or rebuild them from the ledger.

    \b
    Example:
      drledger projections rebuild
    """


@projections.command()
@store_options
@clear_errors
def rebuild(store: str | None, home: str) -> None:
    """Drop every read model and replay it from the ledger.

    \b
    Example:
      drledger projections rebuild
    """
    from ledger.services import pools

    config = config_from(store, home)
    reached = _progress_run("rebuilding", lambda on_progress: pools.rebuild(
        config, on_progress=(lambda name, done, total: on_progress(done, total)) if on_progress else None))
    for name, position in reached.items():
        click.echo(f"{name}: rebuilt up to position {position}")


@projections.command(name="catch-up")
@store_options
@clear_errors
def catch_up_cmd(store: str | None, home: str) -> None:
    """Apply the events the read models have not seen yet.

    \b
    Example:
      drledger projections catch-up
    """
    from ledger.services import pools

    for name, position in pools.catch_up(config_from(store, home)).items():
        click.echo(f"{name}: at position {position}")
