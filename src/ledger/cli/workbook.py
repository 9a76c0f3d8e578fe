"""Every workbook drledger writes: list and report output (`--format xlsx --out
FILE`) and the import templates.

A workbook is written with typed cells and never a formula: text through
`write_string` (a code such as ``0012``, or a text that begins with ``=``,
stays text), whole numbers as numbers, dates as dates, true/false as booleans.
The header row is bold and frozen, each column as wide as its content (up to
a limit) and filtered by an autofilter; code columns are formatted as text
(``@``) down the sheet, so that a user who types more codes under them keeps
their leading zeros.

    write_xlsx(path, ["uscc", "name", "due"], rows, ["text", "text", "date"])
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

import click

__all__ = ["ColumnKind", "write_xlsx", "rows_workbook", "column_kinds", "emit_xlsx", "xlsx_output", "template"]

ColumnKind = Literal["text", "code", "int", "number", "bool", "date"]
F = TypeVar("F", bound=Callable[..., Any])

_WIDEST: Final = 60
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# str fields that hold a calendar day (YYYY-MM-DD) in the rows the services return.
_DATE_NAMES: Final = frozenset({"due", "done", "date", "deadline", "valid_until"})
_DATE_SUFFIXES: Final = ("_on", "_date", "_until", "_day")


def _width(text: str) -> float:
    # A CJK character takes about two columns of Excel's default font.
    return sum(2 if ord(c) > 0x2E7F else 1 for c in text)


def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "_", title)[:31] or "Sheet1"


def write_xlsx(path: Path | str | Any, headers: Sequence[str], rows: Iterable[Sequence[Any]],
               kinds: Sequence[ColumnKind], *, sheet: str = "Sheet1",
               notes: dict[str, str] | None = None) -> int:
    """Write one sheet to `path` (a path or a binary file object); the number of rows written.

    `kinds`, one per column: text (anything, as a text cell), code (text, and
    the column formatted as text), int, number, bool, date (a `date` or
    ``YYYY-MM-DD``; other values fall back to text). None is an empty cell;
    a list or tuple is joined with ``;`` as in CSV. `notes`: header comments.
    """
    import xlsxwriter

    if len(kinds) != len(headers):
        raise ValueError(f"{len(headers)} headers but {len(kinds)} column kinds")
    target = str(path) if isinstance(path, Path) else path
    # constant_memory streams rows to disk: a million-row pool stays small in memory.
    book = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False,
                                        "in_memory": not isinstance(target, str)})
    try:
        ws = book.add_worksheet(_sheet_title(sheet))
        bold = book.add_format({"bold": True, "bg_color": "#EEEEEE", "border": 1})
        text = book.add_format({"num_format": "@"})
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        widths = [_width(h) + 2 for h in headers]
        for c, kind in enumerate(kinds):
            if kind == "code":
                ws.set_column(c, c, None, text)
        for c, h in enumerate(headers):
            ws.write_string(0, c, h, bold)
            if notes and h in notes:
                ws.write_comment(0, c, notes[h])
        count = 0
        for r, row in enumerate(rows, 1):
            count = r
            for c, (value, kind) in enumerate(zip(row, kinds)):
                if value is None or value == "":
                    continue
                if isinstance(value, (list, tuple)):
                    value = ";".join(map(str, value))
                if kind == "date":
                    shown = _write_date(ws, r, c, value, day)
                elif kind in ("int", "number") and isinstance(value, (int, float)) and not isinstance(value, bool):
                    ws.write_number(r, c, value)
                    shown = str(value)
                elif kind == "bool" and isinstance(value, bool):
                    ws.write_boolean(r, c, value)
                    shown = "FALSE"
                else:
                    shown = value if isinstance(value, str) else str(value)
                    ws.write_string(r, c, shown, text if kind == "code" else None)
                if c < len(widths) and widths[c] < _WIDEST:
                    widths[c] = max(widths[c], _width(shown) + 1)
        for c, w in enumerate(widths):
            ws.set_column(c, c, min(w, _WIDEST), text if kinds[c] == "code" else None)
        ws.freeze_panes(1, 0)
        if headers:
            ws.autofilter(0, 0, max(count, 1), len(headers) - 1)
    finally:
        book.close()
    return count


def _write_date(ws: Any, r: int, c: int, value: Any, day: Any) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            pass
    if isinstance(value, date):
        ws.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
        return "2026-12-31"
    shown = str(value)
    ws.write_string(r, c, shown)
    return shown


def column_kinds(headers: Sequence[str], row_type: type | None, sample: Sequence[Any] | None) -> list[ColumnKind]:
    """Each column's kind, from the row Struct's field types (or a sample row's values)."""
    from ledger.domain.columns import CODE_COLUMNS

    hints: dict[str, Any] = {}
    if row_type is not None:
        import typing

        try:
            hints = typing.get_type_hints(row_type)
        except Exception:  # a forward reference that cannot be resolved: fall back to values
            hints = {}
    kinds: list[ColumnKind] = []
    for i, name in enumerate(headers):
        hint = hints.get(name)
        value = sample[i] if sample is not None and i < len(sample) else None
        args = set(typing_args(hint)) if hint is not None else {type(value)}
        if name in CODE_COLUMNS or name in ("task_id", "task", "badge"):
            kinds.append("code")
        elif bool in args:
            kinds.append("bool")
        elif int in args and not args & {str, float}:
            kinds.append("int")
        elif float in args and str not in args:
            kinds.append("number")
        elif date in args or datetime in args or (
                (name in _DATE_NAMES or name.endswith(_DATE_SUFFIXES)) and not args - {str, type(None)}):
            kinds.append("date")
        else:
            kinds.append("text")
    return kinds


def typing_args(hint: Any) -> tuple[Any, ...]:
    """`int | None` -> (int, NoneType); `Literal['a']` -> (str,); `tuple[str, ...]` -> (tuple,)."""
    import typing

    origin = typing.get_origin(hint)
    if origin is None:
        return (hint,)
    if origin is typing.Literal:
        return tuple({type(a) for a in typing.get_args(hint)})
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        out: list[Any] = []
        for a in typing.get_args(hint):
            out.extend(typing_args(a))
        return tuple(out)
    return (origin,)


# ---------------------------------------------------------------------------
# `--format xlsx --out FILE` on the list and report commands.


def _load(reference: str | None) -> type | None:
    if reference is None:
        return None
    import importlib

    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def xlsx_output(row_type: str | None = None) -> Callable[[F], F]:
    """Give a list command `--format xlsx` and `--out FILE`.

    Put it above the command's `--format` option; the command's own output
    call (`_emit(rows, fmt)`) then writes the workbook. `row_type`
    ("module:Struct") names the rows' type, for the header of an empty list.
    """

    def decorate(function: F) -> F:
        params = getattr(function, "__click_params__", [])
        fmt = next((p for p in params if p.name == "fmt"), None)
        if fmt is None:
            raise TypeError(f"{function.__name__}: put @xlsx_output above the --format option")
        if "xlsx" not in fmt.type.choices:
            fmt.type = click.Choice([*fmt.type.choices, "xlsx"])
        fmt.help = ((fmt.help or "Output format.") + " xlsx: a workbook written to --out FILE.").strip()

        @functools.wraps(function)
        def wrapper(*args: Any, out: Path | None = None, **kwargs: Any) -> Any:
            if (kwargs.get("fmt") == "xlsx") != (out is not None):
                raise click.UsageError("--format xlsx needs --out FILE, and --out is for --format xlsx only "
                                       "(redirect other formats: > FILE)")
            ctx = click.get_current_context()
            ctx.meta["ledger.xlsx"] = (out, row_type, ctx.command_path.removeprefix("drledger ").strip())
            return function(*args, **kwargs)

        option = click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
                              metavar="FILE", help="Where --format xlsx writes the workbook.")
        return option(wrapper)  # type: ignore[return-value]

    return decorate


def rows_workbook(path: Path | str | Any, rows: list[Any], row_type: type | None = None, *,
                  sheet: str = "Sheet1") -> int:
    """Write query rows (msgspec Structs of one type, or dicts) as a workbook; the rows written.

    Columns are the Struct's fields in order (so an exported pool has the
    import's columns and imports back unchanged); `row_type` gives the
    header when `rows` is empty.
    """
    import msgspec

    if rows and isinstance(rows[0], msgspec.Struct):
        row_type = type(rows[0])
    if row_type is not None and issubclass(row_type, msgspec.Struct):
        headers = list(row_type.__struct_fields__)
        table = [[getattr(r, h) for h in headers] for r in rows]
    else:
        builtins = msgspec.to_builtins(rows)
        headers = list(builtins[0]) if builtins else []
        table = [list(r.values()) for r in builtins]
    kinds = column_kinds(headers, row_type, table[0] if table else None)
    return write_xlsx(path, headers, table, kinds, sheet=sheet)


def emit_xlsx(rows: list[Any]) -> None:
    """Write `rows` as the workbook the current command's --out names (see xlsx_output)."""
    out, reference, title = click.get_current_context().meta["ledger.xlsx"]
    with _writing(out):
        count = rows_workbook(out, rows, _load(reference), sheet=title.replace(" ", "-"))
    click.echo(f"{out}: {count} rows", err=True)


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """A file that cannot be written is one clear line, not a traceback."""
    from xlsxwriter.exceptions import FileCreateError

    from ledger.cli.common import fail

    try:
        yield
    except (OSError, FileCreateError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        fail(f"cannot write {path}: {reason}")


# ---------------------------------------------------------------------------
# `drledger template KIND`: an empty import file with bilingual headers.

# One example row per kind (labels where a vocabulary has them, to show they work).
EXAMPLES: Final[dict[str, dict[str, str]]] = {
    "departments": {"code": "XY-SCJG", "name": "新余市市场监督管理局", "level": "市级", "region_code": "360500",
                    "parent": ""},
    "items": {"code": "XY-SCJG-001", "name": "食品生产企业监督检查", "department": "XY-SCJG",
              "legal_basis": "《中华人民共和国食品安全法》第一百一十条",
              "content": "生产环境条件、进货查验结果、生产过程控制", "methods": "实地检查;书面检查",
              "target_kind": "市场主体", "key_item": "是", "status": "有效"},
    "entities": {"uscc": "91110108551385082Q", "name": "小米科技有限责任公司", "entity_type": "企业",
                 "region_code": "110108", "industry": "I6513", "risk_class": "A", "departments": "XY-SCJG",
                 "status": "存续"},
    "inspectors": {"badge": "0012", "name": "张伟", "department": "XY-SCJG", "region_code": "360502",
                   "role": "执法检查人员", "qualifications": "XY-SCJG-001", "expertise": "食品安全", "status": "在岗",
                   "certificate_no": "36050220260012", "certificate_valid_until": "2028-12-31"},
    "conflicts": {"badge": "0012", "uscc": "91110108551385082Q", "reason": "近亲属在该企业任职"},
    "reclassifications": {"uscc": "91110108551385082Q", "risk_class": "B"},
}


def template_rows(kind: str) -> tuple[list[str], list[str], list[ColumnKind], dict[str, str]]:
    """(bilingual headers, the example row, column kinds, header notes) of `kind`'s import file."""
    from ledger.domain.columns import CODE_COLUMNS, header_of
    from ledger.domain.rows import COLUMNS, REQUIRED, ROW_TYPES

    columns = list(COLUMNS[kind])  # type: ignore[index]
    headers = [header_of(kind, c) for c in columns]
    example = [EXAMPLES[kind][c] for c in columns]
    kinds = column_kinds(columns, ROW_TYPES[kind], example)  # type: ignore[index]
    notes = {}
    for h, c in zip(headers, columns):
        note = "required" if c in REQUIRED[kind] else "optional"  # type: ignore[index]
        if c in CODE_COLUMNS:
            note += "; a code: keep this column formatted as text (leading zeros)"
        notes[h] = note
    return headers, example, kinds, notes


@click.command()
@click.argument("kind", type=click.Choice(["departments", "items", "entities", "inspectors", "conflicts",
                                           "reclassifications"]))
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), default=None,
              metavar="FILE", help="Where to write it ('-': standard output) [default: KIND-template.xlsx|csv].")
def template(kind: str, fmt: str, out: Path | None) -> None:
    """Write an empty import file for KIND: bilingual headers (统一社会信用代码(uscc)) and one example row.

    Replace the example row with your own rows and import the file with
    `drledger import KIND FILE`. In the workbook, code columns are
    formatted as text so that codes keep their leading zeros.

    \b
    Example:
      drledger template entities                      # entities-template.xlsx
      drledger template inspectors --format csv --out - > 执法检查人员名录库.csv
    """
    import csv
    import io
    import sys

    headers, example, kinds, notes = template_rows(kind)
    target = out or Path(f"{kind}-template.{fmt}")
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([headers, example])
        data = b"\xef\xbb\xbf" + buf.getvalue().encode()  # BOM: Excel opens UTF-8 Chinese correctly
    else:
        binary = io.BytesIO()
        write_xlsx(binary, headers, [example], kinds, sheet=kind, notes=notes)
        data = binary.getvalue()
    if str(target) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    with _writing(target):
        target.write_bytes(data)
    click.echo(f"{target}: {kind} template, {len(headers)} columns", err=True)
