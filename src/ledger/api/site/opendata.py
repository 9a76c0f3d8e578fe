"""Open data as streamed CSV and NDJSON: one column list per data set, one rule for every cell.

CSV follows the design's one CSV rule ("CSV and spreadsheets"): UTF-8 with a BOM
(Excel opens Chinese text correctly), and a cell beginning with `=`, `+`,
`-`, `@`, tab or carriage return gets a leading `'`, so a spreadsheet never
runs a cell as a formula. The header line is written even when no row
matches. NDJSON is one JSON object per line (UTF-8, `\\n`), the same keys as
the CSV header, lists as arrays.

Both are generators over a row iterator and yield chunks of about 64 KiB:
memory stays one chunk plus one batch of rows, whatever the number of rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

import msgspec

BOM: Final = "\ufeff"
CHUNK: Final = 64 * 1024
_DANGEROUS: Final = ("=", "+", "-", "@", "\t", "\r")

Column = tuple[str, Callable[[Any], Any]]


def neutralise(cell: str) -> str:
    """The CSV rule: a cell that a spreadsheet could run as a formula gets a leading `'`."""
    return "'" + cell if cell.startswith(_DANGEROUS) else cell


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return neutralise("; ".join(str(v) for v in value))
    return neutralise(str(value))


def _field(name: str) -> Column:
    return name, lambda row: getattr(row, name)


def columns(*names: str) -> list[Column]:
    return [_field(n) for n in names]


# One row per (task, firm, department); categories is a multi-select (codes and their Chinese labels).
RESULT_COLUMNS: Final = columns("task_id", "task_name", "uscc", "entity_name", "department", "department_name",
                                "categories", "category_labels", "findings", "items", "inspected_on", "disclosed_on",
                                "corrections", "inspectors")
TASK_COLUMNS: Final = columns("task_id", "name", "plan_id", "departments", "items", "window_start", "window_end",
                              "state", "targets", "draws", "drawn_at")
DRAW_COLUMNS: Final = columns("task_id", "task_name", "uscc", "entity_name", "drawn_at", "inspectors", "experts")
ATTEMPT_COLUMNS: Final = columns("task_id", "kind", "position", "actor", "rounds", "reason")


def csv_stream(cols: list[Column], rows: Iterable[Any]) -> Iterator[bytes]:
    """BOM, header line, then the rows, neutralised, in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([name for name, _ in cols])
    for row in rows:
        writer.writerow([_cell(get(row)) for _, get in cols])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def ndjson_stream(cols: list[Column], rows: Iterable[Any]) -> Iterator[bytes]:
    """One JSON object per row (the columns' keys, in order), in chunks; nothing at all for no rows."""
    encoder = msgspec.json.Encoder()
    chunk = bytearray()
    for row in rows:
        chunk += encoder.encode({name: get(row) for name, get in cols})
        chunk += b"\n"
        if len(chunk) >= CHUNK:
            yield bytes(chunk)
            chunk.clear()
    if chunk:
        yield bytes(chunk)
