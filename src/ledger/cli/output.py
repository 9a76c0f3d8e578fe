"""One way to print rows for every list and report command: table, CSV or JSON.

- table: a rich table on a terminal; when stdout is a pipe or a file, plain
  left-aligned columns, never cut and fast (rich measures every cell, which
  costs seconds on 100k rows).
- csv: the CSV rule of the design (UTF-8 with a BOM; a cell that begins with
  `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`, so no
  spreadsheet reads it as a formula); the header line is there even when no
  row is.
- json: a JSON array of the rows.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Sequence
from typing import Any
from unicodedata import east_asian_width

import click
import msgspec

FORMATS = ("table", "csv", "json")
FORMAT = click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="table", show_default=True,
                      help="table (plain columns when piped), csv (UTF-8 with BOM, formula-safe) or json.")

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """A cell a spreadsheet will not run: a leading `'` before a formula-starting character."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def columns_of(row_type: type | None) -> list[str]:
    """The field names of a msgspec Struct type, for the header of an empty output."""
    if row_type is None:
        return []
    return [f.encode_name for f in msgspec.structs.fields(row_type)]


def _flat(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ";".join(_flat(v) for v in value)
    if isinstance(value, dict):
        return msgspec.json.encode(value).decode()
    return str(value)


def to_table(rows: Sequence[Any], columns: Sequence[str] | None = None) -> tuple[list[str], list[list[str]]]:
    """Headers and cells as text, in the rows' field order (or `columns`)."""
    builtins = msgspec.to_builtins(list(rows))
    headers = list(columns) if columns else (list(builtins[0]) if builtins else [])
    return headers, [[_flat(row.get(h)) for h in headers] for row in builtins]


def csv_text(headers: Sequence[str], cells: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(h) for h in headers])
    writer.writerows([safe_cell(c) for c in row] for row in cells)
    return BOM + out.getvalue()


def width(text: str) -> int:
    """Terminal columns of `text`: CJK (wide and full-width) characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if east_asian_width(c) in "WF" else 1 for c in text)


def plain_text(headers: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell (two spaces apart), the last one unpadded; newlines shown as spaces."""
    lines = [list(headers)] + [[c.replace("\n", " ").replace("\r", " ") for c in row] for row in cells]
    sizes = [[width(c) for c in line] for line in lines]
    widths = [max(size[i] for size in sizes) for i in range(len(headers))]
    out = io.StringIO()
    for line, size in zip(lines, sizes):
        padded = [cell + " " * (w - n) for cell, n, w in zip(line[:-1], size[:-1], widths[:-1])] + line[-1:]
        out.write("  ".join(padded).rstrip())
        out.write("\n")
    return out.getvalue()


def _write(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.flush()


def emit(rows: Sequence[Any], fmt: str, row_type: type | None = None) -> None:
    """Print `rows` (msgspec Structs or dicts) as `fmt`; `row_type` gives the header of an empty CSV or table."""
    if fmt == "xlsx":  # --format xlsx --out FILE (cli/workbook.py xlsx_output)
        from ledger.cli.workbook import emit_xlsx

        emit_xlsx(rows)
        return
    if fmt == "json":
        _write(msgspec.json.encode(msgspec.to_builtins(list(rows))).decode() + "\n")
        return
    headers, cells = to_table(rows, columns_of(row_type) if not rows else None)
    if fmt == "csv":
        _write(csv_text(headers, cells))
        return
    if not cells:
        click.echo("(none)")
        return
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*headers)
        for row in cells:
            table.add_row(*row)
        Console().print(table)
    else:
        _write(plain_text(headers, cells))
    click.echo(f"{len(cells)} rows", err=not sys.stdout.isatty())


def emit_detail(detail: Any, head: dict[str, Any], rows: Sequence[Any], fmt: str, row_type: type | None = None,
                rows_title: str = "") -> None:
    """One object and its rows: JSON is the whole object; CSV is the rows (header even when none);
    a table is the object's fields, one per line, then the rows."""
    if fmt == "json":
        _write(msgspec.json.encode(msgspec.to_builtins(detail)).decode() + "\n")
        return
    if fmt == "csv":
        emit(rows, "csv", row_type)
        return
    pad = max((width(k) for k in head), default=0)
    lines = [f"{k}{' ' * (pad - width(k))}  {_flat(v)}" for k, v in head.items()]
    _write("\n".join(lines) + "\n" + (f"\n{rows_title}\n" if rows_title else "\n"))
    emit(rows, "table", row_type)
