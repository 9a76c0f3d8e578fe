"""CSV files of the pools, parsed and validated into typed rows.

One parser for six kinds of file (departments, items, entities, inspectors,
conflicts, reclassifications).  The whole file is validated and either every
row comes back typed, or every error comes back, each with

* the line number as in the file (header = line 1; a record whose quoted
  field spans lines is reported at the line where the record starts),
* the column name (None for whole-line problems), and
* the reason.

Nothing is half-accepted: if there is any error, ``ParseResult.rows`` is
empty.  Callers that must not hold a million rows in memory can run
:func:`iter_rows` twice: once to collect errors, once to write.

Headers name columns by their canonical names or their Chinese names
(columns.py).  Workbooks (workbook_rows.py) feed their sheet's cells through
the same rule (:func:`typed_rows`), so a sheet gives exactly the rows the
same table gives as CSV.

Values are trimmed; an empty optional value takes the default.  Every
vocabulary column accepts the ASCII code or the Chinese label (reference.py).
Lists (departments, qualifications, expertise, methods) are separated by
``;`` or the full-width ``；`` (methods also by ``、``); duplicates are dropped.

>>> r = parse_rows("reclassifications", b"uscc,risk_class\\n91110108551385082Q,c\\n")
>>> r.rows
[ReclassRow(uscc='91110108551385082Q', risk_class='C', check_ok=True)]
>>> r = parse_rows("reclassifications", b"uscc,risk_class\\n91110108551385082X,e-1\\n")
>>> for e in r.errors: print(e)
line 2, uscc: position 18: check character is 'X', expected 'Q'; accept explicitly with --accept-bad-check
line 2, risk_class: 'e-1' is not a risk class: A-D, a label such as 低风险, or a class code of the ledger's set
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import IO, Any, Final, Literal

import msgspec

from ledger.domain import reference as ref
from ledger.domain.columns import DERIVED_COLUMNS, canonical
from ledger.domain.uscc import normalize_uscc, validate_uscc

__all__ = [
    "Kind",
    "KINDS",
    "RowError",
    "ParseResult",
    "DepartmentRow",
    "ItemRow",
    "EntityRow",
    "InspectorRow",
    "ConflictRow",
    "ReclassRow",
    "ROW_TYPES",
    "COLUMNS",
    "REQUIRED",
    "parse_rows",
    "iter_rows",
    "typed_rows",
    "header_index",
    "rows_to_csv",
    "normalize_encoding",
    "parse_industry",
]

Kind = Literal["departments", "items", "entities", "inspectors", "conflicts", "reclassifications"]
KINDS: Final[tuple[Kind, ...]] = (
    "departments", "items", "entities", "inspectors", "conflicts", "reclassifications",
)


# ---------------------------------------------------------------------------
# Typed rows.  Field order = canonical CSV column order (rows_to_csv relies
# on it); check_ok is derived, never a column.


class DepartmentRow(msgspec.Struct, frozen=True):
    code: str
    name: str
    level: ref.DepartmentLevel
    region_code: str
    parent: str | None = None


class ItemRow(msgspec.Struct, frozen=True):
    code: str
    name: str
    department: str
    legal_basis: str
    content: str
    methods: tuple[ref.MethodCode, ...]
    target_kind: ref.TargetKind
    key_item: bool
    status: ref.ItemStatus = "active"


class EntityRow(msgspec.Struct, frozen=True):
    uscc: str
    name: str
    entity_type: ref.EntityType
    region_code: str
    industry: str
    risk_class: str  # a code of the ledger's class set (settings.draws)
    departments: tuple[str, ...] = ()
    status: ref.EntityStatus = "active"
    # False only when the operator accepted a code with a bad check
    # character (accept_bad_check=True); it stays flagged downstream.
    check_ok: bool = True


class InspectorRow(msgspec.Struct, frozen=True):
    badge: str
    name: str
    department: str
    region_code: str
    role: ref.InspectorRole
    qualifications: tuple[str, ...] = ()
    expertise: tuple[str, ...] = ()
    status: ref.InspectorStatus = "active"
    # 执法证: an enforcement officer is drawn only with a certificate valid through the task's window.
    certificate_no: str | None = None
    certificate_valid_until: str | None = None  # YYYY-MM-DD, its last valid day


class ConflictRow(msgspec.Struct, frozen=True):
    badge: str
    uscc: str
    reason: str
    check_ok: bool = True


class ReclassRow(msgspec.Struct, frozen=True):
    uscc: str
    risk_class: str  # a code of the ledger's class set (settings.draws)
    check_ok: bool = True


Row = DepartmentRow | ItemRow | EntityRow | InspectorRow | ConflictRow | ReclassRow

ROW_TYPES: Final[dict[Kind, type]] = {
    "departments": DepartmentRow,
    "items": ItemRow,
    "entities": EntityRow,
    "inspectors": InspectorRow,
    "conflicts": ConflictRow,
    "reclassifications": ReclassRow,
}

# Columns whose values must be unique within one file (the row's key).
KEYS: Final[dict[Kind, tuple[str, ...]]] = {
    "departments": ("code",),
    "items": ("code",),
    "entities": ("uscc",),
    "inspectors": ("badge",),
    "conflicts": ("badge", "uscc"),
    "reclassifications": ("uscc",),
}


class RowError(msgspec.Struct, frozen=True):
    """One problem in a file: line as in the file (header = 1), column, reason."""

    line: int
    column: str | None
    reason: str
    # In a workbook, the cell or row as the spreadsheet shows it ("Sheet1!C7",
    # "Sheet1 row 7"); `line` is then the sheet's row number.
    where: str | None = None

    def __str__(self) -> str:
        if self.where == "":  # about the whole file
            return self.reason
        where = (self.where or f"line {self.line}") + (f", {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


class ParseResult(msgspec.Struct):
    """Either typed rows (``errors`` empty) or every error (``rows`` empty).

    ``lines[i]`` is the file line where ``rows[i]`` starts, for later
    messages (e.g. an unknown department found by the aggregate).
    """

    kind: Kind
    rows: list[Any]
    lines: list[int]
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def flagged_lines(self) -> list[int]:
        """Lines of rows accepted with a bad USCC check character."""
        return [ln for ln, r in zip(self.lines, self.rows) if getattr(r, "check_ok", True) is False]


# ---------------------------------------------------------------------------
# Value converters.  Each takes a stripped, non-empty string and returns the
# typed value or raises _Bad with a reason.  They are called once per field
# of up to millions of rows, so each is a couple of dict/regex operations,
# and those whose inputs repeat a lot (regions, industries, enumerations)
# are memoised.


class _Bad(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


class _BadCheck(_Bad):
    """A well-formed USCC with a wrong check character (acceptable on request)."""

    def __init__(self, reason: str, value: str) -> None:
        super().__init__(reason)
        self.value = value


Converter = Callable[[str], Any]
_MISS: Final = object()


def _memo(conv: Converter) -> Converter:
    """Mark ``conv`` as worth caching: iter_rows keeps a per-file cache for
    it and looks values up inline, saving a Python call per field."""
    conv._memo = True  # type: ignore[attr-defined]
    return conv


def _vocab(table: dict[str, str], terms: Iterable[ref.Term]) -> Converter:
    allowed = ", ".join(t.code for t in terms)

    def conv(raw: str) -> str:
        code = ref.parse_code(table, raw)
        if code is None:
            raise _Bad(f"{raw!r} is not one of {allowed}")
        return code

    return _memo(conv)


_TOKEN: Final = re.compile(r"[^\s;；]{1,64}")


def _token(raw: str) -> str:
    if _TOKEN.fullmatch(raw) is None:
        raise _Bad(f"{raw!r} is not a code: 1-64 characters, no spaces or ';'")
    return raw


def _text(limit: int, multiline: bool = False) -> Converter:
    def conv(raw: str) -> str:
        if len(raw) > limit:
            raise _Bad(f"longer than {limit} characters ({len(raw)})")
        if not multiline and ("\n" in raw or "\r" in raw):
            raise _Bad("contains a line break")
        return raw

    return conv


# GB/T 2260 province-level prefixes (incl. 71 Taiwan, 81 Hong Kong, 82
# Macao).  Checking them catches shifted or mistyped region codes cheaply;
# the full county list changes yearly and is not shipped.
PROVINCES: Final = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)


@_memo
def _region(raw: str) -> str:
    if len(raw) != 6 or not raw.isascii() or not raw.isdigit():
        raise _Bad(f"{raw!r} is not a 6-digit GB/T 2260 division code")
    if raw[:2] not in PROVINCES:
        raise _Bad(f"{raw!r}: {raw[:2]!r} is not a GB/T 2260 province code")
    return raw


# GB/T 4754-2017 sections and the two-digit divisions each one spans.
_SECTIONS: Final = {
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50),
    "F": (51, 52), "G": (53, 60), "H": (61, 62), "I": (63, 65), "J": (66, 69),
    "K": (70, 70), "L": (71, 72), "M": (73, 75), "N": (76, 79), "O": (80, 82),
    "P": (83, 83), "Q": (84, 85), "R": (86, 90), "S": (91, 96), "T": (97, 97),
}
SECTION_OF_DIVISION: Final = {d: s for s, (lo, hi) in _SECTIONS.items() for d in range(lo, hi + 1)}
_INDUSTRY: Final = re.compile(r"([A-Ta-t])?([0-9]{2,4})?")


def parse_industry(raw: str) -> str:
    """Normalise a GB/T 4754-2017 industry code to ``<section><digits>``.

    Accepted: a section letter A-T alone (``C``), a letter with a 2-4 digit
    division/group/class code (``C1311``), or the digits alone (``1311``),
    whose section is derived from the division (first two digits).  The
    letter must agree with the division.  Normalising means one stored form,
    so a filter on section ``C`` or prefix ``C13`` finds every entity.

    >>> parse_industry("1311"), parse_industry("c13"), parse_industry("F")
    ('C1311', 'C13', 'F')
    >>> parse_industry("A1311")
    Traceback (most recent call last):
    ...
    ValueError: 'A1311': division 13 belongs to section C, not A
    """
    try:
        return _industry(raw.strip())
    except _Bad as exc:
        raise ValueError(exc.reason) from None


@_memo
def _industry(raw: str) -> str:
    m = _INDUSTRY.fullmatch(raw)
    if m is None or not raw:
        raise _Bad(f"{raw!r} is not a GB/T 4754 code (a letter A-T and/or 2-4 digits, e.g. C1311)")
    letter, digits = m.group(1), m.group(2)
    if digits is None:
        return letter.upper()
    section = SECTION_OF_DIVISION.get(int(digits[:2]))
    if section is None:
        raise _Bad(f"{raw!r}: {digits[:2]} is not a GB/T 4754 division (01-97)")
    if letter is not None and letter.upper() != section:
        raise _Bad(f"{raw!r}: division {digits[:2]} belongs to section {section}, not {letter.upper()}")
    return section + digits


def _list(item: Converter, separators: str = ";；") -> Converter:
    first, rest = separators[0], separators[1:]

    def conv(raw: str) -> tuple[str, ...]:
        for sep in rest:
            raw = raw.replace(sep, first)
        out: dict[str, None] = {}
        for part in raw.split(first):
            part = part.strip()
            if part:
                out[item(part)] = None
        return tuple(out)

    return conv


_TRUE: Final = frozenset({"true", "t", "yes", "y", "1", "是", "重点", "重点检查事项"})
_FALSE: Final = frozenset({"false", "f", "no", "n", "0", "否", "一般", "一般检查事项"})


def _bool(raw: str) -> bool:
    low = raw.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise _Bad(f"{raw!r} is not true/false (是/否)")


def _uscc(raw: str) -> str:
    code = normalize_uscc(raw)
    problem = validate_uscc(code)
    if problem is None:
        return code
    if problem.kind == "bad_check":
        raise _BadCheck(problem.message, code)
    raise _Bad(problem.message)


def _tag(raw: str) -> str:
    if len(raw) > 64:
        raise _Bad(f"tag {raw[:20]!r}... longer than 64 characters")
    return raw


_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(raw: str) -> str:
    if _DATE.fullmatch(raw) is None:
        raise _Bad(f"{raw!r} is not a date YYYY-MM-DD")
    try:
        date.fromisoformat(raw)
    except ValueError:
        raise _Bad(f"{raw!r} is not a real date") from None
    return raw


def _methods_list(raw: str) -> tuple[str, ...]:
    methods = _list(_vocab(ref.METHOD_LOOKUP, ref.INSPECTION_METHODS), ";；、")(raw)
    if not methods:
        raise _Bad("no inspection method given")
    return methods


# ---------------------------------------------------------------------------
# Column plans: (column, required, converter, default) in Struct field order.

_NAME: Final = _text(200)
_LONG: Final = _text(4000, multiline=True)
_RISK_CODE: Final = re.compile(r"[A-Z][A-Z0-9]{0,7}")


@_memo
def _RISK(raw: str) -> str:  # noqa: N802 - a converter, named like the others
    """A class of the national set (code or label), or any class code (1-8 capitals or digits,
    such as E in Shandong's A-E): the ledger's class set (settings.draws) decides at import."""
    code = ref.parse_code(ref.RISK_CLASS_LOOKUP, raw)
    if code is not None:
        return code
    if _RISK_CODE.fullmatch(raw.strip().upper()):
        return raw.strip().upper()
    raise _Bad(f"{raw!r} is not a risk class: A-D, a label such as 低风险, or a class code of the ledger's set")

_Col = tuple[str, bool, Converter, Any]

_PLANS: Final[dict[Kind, tuple[_Col, ...]]] = {
    "departments": (
        ("code", True, _token, None),
        ("name", True, _NAME, None),
        ("level", True, _vocab(ref.DEPARTMENT_LEVEL_LOOKUP, ref.DEPARTMENT_LEVELS), None),
        ("region_code", True, _region, None),
        ("parent", False, _token, None),
    ),
    "items": (
        ("code", True, _token, None),
        ("name", True, _NAME, None),
        ("department", True, _token, None),
        ("legal_basis", True, _LONG, None),
        ("content", True, _LONG, None),
        ("methods", True, _methods_list, None),
        ("target_kind", False, _vocab(ref.TARGET_KIND_LOOKUP, ref.TARGET_KINDS), "entity"),
        ("key_item", True, _bool, None),
        ("status", False, _vocab(ref.ITEM_STATUS_LOOKUP, ref.ITEM_STATUSES), "active"),
    ),
    "entities": (
        ("uscc", True, _uscc, None),
        ("name", True, _NAME, None),
        ("entity_type", True, _vocab(ref.ENTITY_TYPE_LOOKUP, ref.ENTITY_TYPES), None),
        ("region_code", True, _region, None),
        ("industry", True, _industry, None),
        ("risk_class", True, _RISK, None),
        ("departments", False, _list(_token), ()),
        ("status", False, _vocab(ref.ENTITY_STATUS_LOOKUP, ref.ENTITY_STATUSES), "active"),
    ),
    "inspectors": (
        ("badge", True, _token, None),
        ("name", True, _NAME, None),
        ("department", True, _token, None),
        ("region_code", True, _region, None),
        ("role", True, _vocab(ref.INSPECTOR_ROLE_LOOKUP, ref.INSPECTOR_ROLES), None),
        ("qualifications", False, _list(_token), ()),
        ("expertise", False, _list(_tag), ()),
        ("status", False, _vocab(ref.INSPECTOR_STATUS_LOOKUP, ref.INSPECTOR_STATUSES), "active"),
        ("certificate_no", False, _token, None),
        ("certificate_valid_until", False, _date, None),
    ),
    "conflicts": (
        ("badge", True, _token, None),
        ("uscc", True, _uscc, None),
        ("reason", True, _LONG, None),
    ),
    "reclassifications": (
        ("uscc", True, _uscc, None),
        ("risk_class", True, _RISK, None),
    ),
}

COLUMNS: Final[dict[Kind, tuple[str, ...]]] = {k: tuple(c[0] for c in p) for k, p in _PLANS.items()}
REQUIRED: Final[dict[Kind, tuple[str, ...]]] = {
    k: tuple(c[0] for c in p if c[1]) for k, p in _PLANS.items()
}
_HAS_CHECK: Final = frozenset(k for k, p in _PLANS.items() if any(c[2] is _uscc for c in p))


# ---------------------------------------------------------------------------
# Decoding.


def normalize_encoding(encoding: str) -> Literal["utf-8", "gb18030"]:
    """``utf-8`` (BOM optional) or ``gb18030``; GBK and GB2312 are subsets of GB18030.

    >>> normalize_encoding("UTF8"), normalize_encoding("gbk")
    ('utf-8', 'gb18030')
    """
    e = encoding.strip().lower().replace("_", "-")
    if e in ("utf-8", "utf8", "utf-8-sig"):
        return "utf-8"
    if e in ("gb18030", "gbk", "gb2312", "cp936"):
        return "gb18030"
    raise ValueError(f"encoding {encoding!r}: use utf-8 or gb18030")


_UTF8_BOM: Final = b"\xef\xbb\xbf"


def _decoded_lines(stream: Iterable[bytes], encoding: str, errors: list[RowError]) -> Iterator[str]:
    """Decode physical lines one by one, so a bad byte is reported with its line.

    Splitting at b"\\n" before decoding is safe for both encodings: in UTF-8
    and GB18030 every byte of a multi-byte character is >= 0x30, never 0x0A.
    """
    lineno = 0
    for raw in stream:
        lineno += 1
        if lineno == 1 and raw.startswith(_UTF8_BOM):
            if encoding == "utf-8":
                raw = raw[3:]
            else:
                errors.append(RowError(1, None, "the file starts with a UTF-8 byte-order mark: "
                                                "it is UTF-8, not GB18030; choose utf-8"))
                raw = raw[3:]
        try:
            yield raw.decode(encoding)
        except UnicodeDecodeError as exc:
            bad = raw[exc.start:exc.end].hex(" ")
            hint = " (a file saved by Excel on Chinese Windows is usually gb18030)" if encoding == "utf-8" else ""
            errors.append(RowError(lineno, None, f"bytes {bad} at byte {exc.start} of the line "
                                                 f"are not valid {encoding}{hint}"))
            yield raw.decode(encoding, "replace")


def _csv_reason(error: csv.Error) -> str:
    """The csv module's message, without its advice about Python's file modes."""
    text = str(error)
    if "new-line character seen in unquoted field" in text:
        return "a carriage return (CR) inside an unquoted field: quote the field or save the file again as CSV"
    return text


def _byte_lines(source: bytes | bytearray | memoryview | IO[bytes]) -> Iterable[bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    if isinstance(source, io.TextIOBase):
        raise TypeError("pass a binary file object (open(path, 'rb')) or bytes; the encoding is chosen here")
    return source


# ---------------------------------------------------------------------------
# Parsing.


def iter_rows(
    kind: Kind,
    source: bytes | IO[bytes],
    *,
    encoding: str = "utf-8",
    accept_bad_check: bool = False,
) -> Iterator[tuple[int, Any] | RowError]:
    """Yield ``(line, row)`` for each valid record and a RowError for each problem.

    Streams: memory is bounded by the set of keys seen (for duplicates).
    Errors are yielded in file order, except decoding errors, which are
    yielded as soon as the decoder has met them (just before that line's
    record is yielded).
    """
    if kind not in _PLANS:
        raise ValueError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    enc = normalize_encoding(encoding)
    decode_errors: list[RowError] = []
    # strict: a stray quote must be an error at its line, not a field that
    # silently swallows the rest of the file.
    reader = csv.reader(_decoded_lines(_byte_lines(source), enc, decode_errors), strict=True)

    def pending() -> Iterator[RowError]:
        while decode_errors:
            yield decode_errors.pop(0)

    # Header.
    try:
        header = next(reader, None)
        while header is not None and not "".join(header).strip():
            header = next(reader, None)
    except csv.Error as exc:
        yield from pending()
        yield RowError(reader.line_num, None, f"cannot read the header: {_csv_reason(exc)}")
        return
    yield from pending()
    if header is None:
        yield RowError(1, None, "the file is empty: expected a header line")
        return
    width = len(header)

    def records() -> Iterator[tuple[int, list[str]] | RowError]:
        prev = reader.line_num
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                # The csv module cannot resynchronise after a structural error.
                yield from pending()
                yield RowError(prev + 1, None, f"unreadable CSV, parsing stopped here: {_csv_reason(exc)}")
                return
            line, prev = prev + 1, reader.line_num
            if decode_errors:
                yield from pending()
            # Skip blank lines and ",,,," lines as spreadsheets write them (the
            # cheap first test keeps the join off the common path).
            if (not fields or not fields[0] or fields[0].isspace()) and not "".join(fields).strip():
                continue
            if len(fields) != width:
                yield RowError(line, None, f"{len(fields)} fields, but the header has {width}")
                continue
            yield line, fields
        yield from pending()

    yield from typed_rows(kind, header, reader.line_num, records(), accept_bad_check=accept_bad_check)


def header_index(kind: Kind, header: list[str], header_line: int, *,
                 skip_blank: bool = False) -> tuple[dict[str, int], list[RowError]]:
    """Which field holds which column (Chinese aliases accepted, columns.py), and
    the header's errors: unknown, repeated and missing columns. `skip_blank`:
    blank header cells name no column (a workbook's unused columns)."""
    plan = _PLANS[kind]
    known = {c[0] for c in plan}
    derived = DERIVED_COLUMNS if kind in _HAS_CHECK else frozenset()
    index: dict[str, int] = {}
    unknown: list[str] = []
    errors: list[RowError] = []
    for i, text in enumerate(header):
        name = canonical(kind, text)
        if name is None or (name not in known and name not in derived):
            if not (skip_blank and not text.strip()):
                unknown.append(text.strip().lstrip("\ufeff"))
            continue
        if name in index:
            errors.append(RowError(header_line, name, f"column {name!r} appears twice "
                                                      f"(columns {index[name] + 1} and {i + 1})"))
        elif name in known:
            index[name] = i
    if unknown:
        errors.append(RowError(header_line, None, "unknown column(s) " + ", ".join(repr(n) for n in unknown)
                               + f"; {kind} columns are: " + ",".join(COLUMNS[kind])
                               + " (or their Chinese names, see docs/imports.md)"))
    missing = [c[0] for c in plan if c[1] and c[0] not in index]
    if missing:
        errors.append(RowError(header_line, None, "missing required column(s): " + ", ".join(missing)))
    return index, errors


def typed_rows(kind: Kind, header: list[str], header_line: int,
               records: Iterable[tuple[int, list[str]] | RowError], *, accept_bad_check: bool = False,
               skip_blank: bool = False) -> Iterator[tuple[int, Any] | RowError]:
    """The rule shared by every file format: a header and its records (line, text
    fields) in, ``(line, row)`` for each valid record and every RowError out.
    RowErrors among the records (a reader's own) are passed through in place."""
    plan = _PLANS[kind]
    row_type = ROW_TYPES[kind]
    has_check = kind in _HAS_CHECK
    index, header_errors = header_index(kind, header, header_line, skip_blank=skip_blank)
    yield from header_errors
    # Absent optional (or missing required, already reported) columns read
    # as empty: index -1 marks them.
    positions = [index.get(name, -1) for name, _, _, _ in plan]
    steps = _steps(plan, {name for name, required, _, _ in plan if required and name in index})
    key_names = KEYS[kind]
    key_pos = tuple(COLUMNS[kind].index(k) for k in key_names)
    single_key = key_pos == (0,)
    seen: dict[Any, int] = {}
    for record in records:
        if type(record) is RowError:
            yield record
            continue
        line, fields = record  # type: ignore[misc]
        values, check_ok, problems = _convert(steps, [fields[i] if i >= 0 else "" for i in positions], line,
                                              accept_bad_check)
        if problems:
            yield from problems
            continue
        # Keys compare as normalised (a USCC typed in lower case once and
        # upper case once is the same entity).
        key = values[0] if single_key else tuple(values[p] for p in key_pos)
        first = seen.get(key)
        if first is not None:
            shown = key if single_key else "/".join(key)
            yield RowError(line, ",".join(key_names),
                           f"duplicate {'/'.join(key_names)} {shown}: lines {first} and {line}")
            continue
        seen[key] = line
        if has_check:
            values.append(check_ok)
        yield line, row_type(*values)


_Step = tuple[str, bool, Converter, Any, "dict[str, Any] | None"]


def _steps(plan: tuple[_Col, ...], required: set[str]) -> list[_Step]:
    """Per column: name, required, converter, default, and a cache for memoised converters."""
    return [(name, name in required, conv, default, {} if getattr(conv, "_memo", False) else None)
            for name, _, conv, default in plan]


def _convert(steps: list[_Step], cells: list[str], line: int,
             accept_bad_check: bool) -> tuple[list[Any], bool, list[RowError]]:
    """One record's cells through its columns' rules: (values, check_ok, errors)."""
    values: list[Any] = []
    errors: list[RowError] = []
    check_ok = True
    for (name, required, conv, default, cache), cell in zip(steps, cells):
        raw = cell.strip()
        if not raw:
            if required:
                errors.append(RowError(line, name, "empty"))
            else:
                values.append(default)
            continue
        if cache is not None:
            v = cache.get(raw, _MISS)
            if v is not _MISS:
                values.append(v)
                continue
        try:
            v = conv(raw)
            values.append(v)
            # Failures are not cached (they are rare and must be reported
            # each time); the bound keeps memory flat on odd inputs.
            if cache is not None and len(cache) < 50_000:
                cache[raw] = v
        except _BadCheck as exc:
            if accept_bad_check:
                check_ok = False
                values.append(exc.value)
            else:
                errors.append(RowError(line, name, exc.reason + "; accept explicitly with --accept-bad-check"))
        except _Bad as exc:
            errors.append(RowError(line, name, exc.reason))
    return values, check_ok, errors


def revalidate(kind: Kind, rows: list[Any], *, accept_bad_check: bool = False) -> tuple[list[RowError], int | None]:
    """Typed rows through their kind's column rules, each as if read from its own CSV line
    (line = row number + 1): every error, and the number of the first valid row that is not
    in canonical form (what parsing its own cells gives), if any. No CSV is written."""
    plan = _PLANS[kind]
    row_type = ROW_TYPES[kind]
    has_check = kind in _HAS_CHECK
    steps = _steps(plan, set(REQUIRED[kind]))
    # Each column's field position in the row type, found once (a row's fields are then read
    # with one astuple); text fields are their own cell, the rest go through _cell.
    fields = [f.name for f in msgspec.structs.fields(row_type)]
    at = [fields.index(name) for name, _, _, _ in plan]
    astuple = msgspec.structs.astuple
    errors: list[RowError] = []
    first_odd: int | None = None
    for number, row in enumerate(rows, 1):
        values_of = astuple(row)
        cells = [v if type(v) is str else _cell(v) for v in [values_of[i] for i in at]]
        values, check_ok, problems = _convert(steps, cells, number + 1, accept_bad_check)
        if problems:
            errors += problems
            continue
        if has_check:
            values.append(check_ok)
        if first_odd is None and row_type(*values) != row:
            first_odd = number
    return errors, first_odd


# Bytes no text CSV holds (tab, LF and CR are text); they cannot occur inside a
# UTF-8 or GB18030 multi-byte character either.
_CONTROL_BYTES: Final = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def whole_file_problem(data: bytes, encoding: str) -> RowError | None:
    """One error for the whole file instead of one per line: a binary file
    (a workbook, an archive) or a GB18030 file read as UTF-8.

    >>> whole_file_problem("名称\\n".encode("gb18030"), "utf-8").reason.endswith("--encoding gb18030")
    True
    """
    control = _CONTROL_BYTES.search(data)
    if control is not None:
        line = data.count(b"\n", 0, control.start()) + 1
        return RowError(line, None, f"not a text CSV: byte {control.group().hex()} is a control character (a workbook"
                                    " or another binary file?); save it as CSV (UTF-8 or GB18030)")
    if normalize_encoding(encoding) == "utf-8":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            try:
                data.decode("gb18030")
            except UnicodeDecodeError:
                return None  # neither: the per-line errors say where
            line = data.count(b"\n", 0, error.start) + 1
            return RowError(line, None, "bytes not valid utf-8 (the first here), but the whole file reads as GB18030,"
                                        " as Excel on Chinese Windows saves CSV: pass --encoding gb18030")
    return None


def parse_rows(
    kind: Kind,
    source: bytes | IO[bytes],
    *,
    encoding: str = "utf-8",
    accept_bad_check: bool = False,
) -> ParseResult:
    """Validate a whole file: all rows typed, or every error and no rows."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        problem = whole_file_problem(bytes(source), encoding)
        if problem is not None:
            return ParseResult(kind, [], [], [problem])
    rows: list[Any] = []
    lines: list[int] = []
    errors: list[RowError] = []
    for item in iter_rows(kind, source, encoding=encoding, accept_bad_check=accept_bad_check):
        if type(item) is tuple:
            lines.append(item[0])
            rows.append(item[1])
        else:
            errors.append(item)
    if errors:
        # Decoding errors may surface a little after their line; present
        # everything in file order (stable, so per-line column order stays).
        errors.sort(key=lambda e: e.line)
        return ParseResult(kind, [], [], errors)
    return ParseResult(kind, rows, lines, errors)


# ---------------------------------------------------------------------------
# Writing (the demo and tests go through the same import path as users).


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ";".join(value)
    return str(value)


def rows_to_csv(rows: Iterable[Any], kind: Kind, *, encoding: str = "utf-8") -> bytes:
    """Serialise typed rows as a CSV file that :func:`parse_rows` reads back identically.

    ``encoding`` is ``utf-8`` (no BOM), ``utf-8-sig`` (with BOM, as Excel
    likes) or ``gb18030``.
    """
    if kind not in _PLANS:
        raise ValueError(f"unknown kind {kind!r}")
    columns = COLUMNS[kind]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_cell(getattr(r, c)) for c in columns])
    enc = encoding.lower()
    if enc not in ("utf-8", "utf-8-sig", "gb18030"):
        raise ValueError(f"encoding {encoding!r}: use utf-8, utf-8-sig or gb18030")
    return buf.getvalue().encode(enc)
