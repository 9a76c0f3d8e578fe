"""Workbooks (.xlsx, .xls, .ods) read into the same typed rows as a CSV file.

One sheet is read with python-calamine (Rust; reads all three formats) and
its cells become text fields for rows.py's shared rule (typed_rows): the
same columns, Chinese header aliases, converters, duplicate keys, all or
nothing.  What only a workbook can get wrong is checked here:

* a number (or date, or true/false) cell in a code column (columns.py
  CODE_COLUMNS) is refused with its cell: Excel has already turned ``0012``
  into 12 and an 18-digit code into 9.1E+17, so the digits cannot be
  trusted; the fix is to format the column as text and type the codes again;
* merged cells are refused (only the first cell of a merge holds a value);
* a value under a column without a header is refused.

Text cells are taken verbatim; a date cell becomes ``YYYY-MM-DD``; a whole
number ``12.0`` becomes ``12``; true/false cells become ``true``/``false``.
Errors carry ``where`` as the spreadsheet shows it (``名录!C7``) and ``line``
= the sheet's row number.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from ledger.domain.columns import CODE_COLUMNS, canonical
from ledger.domain.rows import Kind, ParseResult, RowError, typed_rows

__all__ = ["WORKBOOK_SUFFIXES", "WorkbookError", "workbook_format", "parse_workbook", "cell_name", "column_letters"]

WORKBOOK_SUFFIXES: Final = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
_ZIP: Final = b"PK\x03\x04"  # xlsx, xlsm, xlsb, ods
_OLE: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # xls (BIFF in a compound file)


class WorkbookError(Exception):
    """The file cannot be read as the workbook it claims to be."""


def workbook_format(data: bytes, name: str = "-") -> str | None:
    """'zip' or 'ole' for a workbook (magic bytes decide), None for a text file.

    A file named like a workbook that is not one is refused: some systems
    save an HTML or text table as ``.xls``, which must not be read as CSV
    by accident.
    """
    if data.startswith(_ZIP):
        return "zip"
    if data.startswith(_OLE):
        return "ole"
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if "." + suffix in WORKBOOK_SUFFIXES:
        looks = "an HTML page" if data.lstrip()[:1] == b"<" else "text"
        raise WorkbookError(f"{name} is named .{suffix} but is not a workbook (it is {looks}); open it in "
                            "Excel or WPS and save it as .xlsx, or save it as CSV and import that")
    return None


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_PLAIN_SHEET: Final = re.compile(r"\w+")
_TEXT: Final = {str}


def cell_name(sheet: str, row: int, column: int) -> str:
    """Excel's reference: sheet row 7 (1-based), column 2 (0-based) -> ``Sheet1!C7``."""
    quoted = sheet if _PLAIN_SHEET.fullmatch(sheet) else "'" + sheet.replace("'", "''") + "'"
    return f"{quoted}!{column_letters(column)}{row}"


def _range_name(sheet: str, first: tuple[int, int], last: tuple[int, int]) -> str:
    return cell_name(sheet, first[0] + 1, first[1]) + ":" + column_letters(last[1]) + str(last[0] + 1)


def _text(value: Any) -> str:
    """A non-text cell as the text a CSV file would hold."""
    kind = type(value)
    if kind is float:
        return str(int(value)) if value.is_integer() else repr(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is datetime:
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if kind is date:
        return value.isoformat()
    if kind in (time, timedelta):
        return str(value)
    raise ValueError(f"unreadable cell value {value!r}")


def _describe(value: Any) -> str:
    if type(value) is bool:
        return "a true/false cell"
    if isinstance(value, (date, datetime)):
        return f"a date cell ({_text(value)})"
    if isinstance(value, (time, timedelta)):
        return f"a time cell ({value})"
    return f"a number cell ({_text(value)})"


def _open(data: bytes) -> Any:
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises several types for damaged files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WorkbookError(f"not a readable workbook: {reason}") from None


def _choose(names: list[str], sheet: str | None) -> int:
    """The sheet `--sheet` names: a sheet's name first, else its number (1 = first)."""
    if sheet is None:
        return 0
    if sheet in names:
        return names.index(sheet)
    if sheet.strip().isdigit() and 1 <= int(sheet) <= len(names):
        return int(sheet) - 1
    listed = ", ".join(f"{i} {n!r}" for i, n in enumerate(names, 1))
    raise WorkbookError(f"no sheet {sheet!r}; the sheets are: {listed}")


Locate = Callable[[list[RowError]], list[RowError]]


def parse_workbook(kind: Kind, data: bytes, *, sheet: str | None = None,
                   accept_bad_check: bool = False) -> tuple[ParseResult, str, Locate]:
    """Validate one sheet whole: (all rows typed or every error, the sheet's name,
    a function that gives later errors about these rows (line, column) their cell).

    Raises WorkbookError when the file is not a readable workbook or has no such sheet.
    """
    book = _open(data)
    names = list(book.sheet_names)
    if not names:
        raise WorkbookError("the workbook has no sheets")
    chosen = names[_choose(names, sheet)]
    try:
        table = book.get_sheet_by_name(chosen)
        cells: list[list[Any]] = table.to_python(skip_empty_area=False)
        merged = table.merged_cell_ranges or []
    except Exception as exc:
        raise WorkbookError(f"sheet {chosen!r} cannot be read: {exc}") from None
    located: dict[str, int] = {}

    def locate(errors: list[RowError]) -> list[RowError]:
        out = []
        for e in errors:
            if e.where is not None:
                out.append(e)
                continue
            column = located.get(e.column or "")
            where = cell_name(chosen, e.line, column) if column is not None else f"{_quoted(chosen)} row {e.line}"
            out.append(RowError(e.line, e.column, e.reason, where))
        return out

    items = list(_sheet_rows(kind, chosen, cells, merged, located, accept_bad_check))
    rows = [i for i in items if type(i) is tuple]
    errors = [i for i in items if type(i) is RowError]
    if errors:
        errors.sort(key=lambda e: e.line)
        return ParseResult(kind, [], [], locate(errors)), chosen, locate
    return ParseResult(kind, [r[1] for r in rows], [r[0] for r in rows], []), chosen, locate


def _quoted(sheet: str) -> str:
    return sheet if _PLAIN_SHEET.fullmatch(sheet) else "'" + sheet.replace("'", "''") + "'"


def _blank(value: Any) -> bool:
    return value == "" or value is None or (type(value) is str and value.isspace())


def _sheet_rows(kind: Kind, name: str, cells: list[list[Any]], merged: list[Any], located: dict[str, int],
                accept_bad_check: bool) -> Iterator[tuple[int, Any] | RowError]:
    top = next((r for r, row in enumerate(cells) if not all(_blank(v) for v in row)), None)
    if top is None:
        yield RowError(1, None, f"sheet {name!r} is empty: expected a header row", f"{_quoted(name)} row 1")
        return
    header_line = top + 1
    for first, last in merged:
        if first[0] <= top <= last[0]:
            yield RowError(header_line, None, f"merged header cells {_range_name(name, first, last)}: unmerge them "
                           "so that every column has its own header cell, and put any title above "
                           "in another sheet", f"{_quoted(name)} row {header_line}")
            return
    header = ["" if _blank(v) else (v if type(v) is str else _text(v)) for v in cells[top]]
    for i, text in enumerate(header):
        column = canonical(kind, text) if text else None
        if column is not None and column not in located:
            located[column] = i
    for first, last in merged:
        if last[0] > top:
            yield RowError(first[0] + 1, None, f"merged cells {_range_name(name, first, last)}: unmerge them and fill "
                           "every cell (only the first cell of a merge holds a value)",
                           _range_name(name, first, last))
    code_columns = {i: c for c, i in located.items() if c in CODE_COLUMNS}
    codes = sorted(code_columns)
    unnamed = [i for i, text in enumerate(header) if not text]
    refused: set[tuple[int, str | None]] = set()  # cells refused here: no second error from the converters

    def records() -> Iterator[tuple[int, list[str]] | RowError]:
        for r in range(top + 1, len(cells)):
            row = cells[r]
            line = r + 1
            text_only = set(map(type, row)) == _TEXT  # the common case: nothing to convert or refuse
            if text_only:
                fields = row
            else:
                fields = []
                for value in row:
                    if type(value) is str:
                        fields.append(value)
                        continue
                    try:
                        fields.append("" if value is None else _text(value))
                    except ValueError as exc:
                        yield RowError(line, None, str(exc), cell_name(name, line, len(fields)))
                        fields.append("")
            # Skip blank rows (the cheap first test keeps the join off the common path).
            if (not fields or not fields[0] or fields[0].isspace()) and not "".join(fields).strip():
                continue
            for i in () if text_only else codes:
                value = row[i]
                if type(value) is not str and value is not None:
                    refused.add((line, code_columns[i]))
                    yield RowError(line, code_columns[i], f"{_describe(value)} in a code column: digits may "
                                   "already be lost (leading zeros, long codes); format the column as text and "
                                   "type the codes again", cell_name(name, line, i))
            for i in unnamed:
                if fields[i] and not fields[i].isspace():
                    yield RowError(line, None, "a value in a column without a header", cell_name(name, line, i))
            yield line, fields

    for item in typed_rows(kind, header, header_line, records(), accept_bad_check=accept_bad_check,
                           skip_blank=True):
        if type(item) is RowError and item.where is None and (item.line, item.column) in refused:
            continue
        yield item
