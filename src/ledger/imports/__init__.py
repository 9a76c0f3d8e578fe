"""Bulk import: parsing and validating users' CSV files (no I/O beyond reading them)."""

from ledger.imports.rows import (
    COLUMNS,
    KINDS,
    REQUIRED,
    ROW_TYPES,
    ConflictRow,
    DepartmentRow,
    EntityRow,
    InspectorRow,
    ItemRow,
    Kind,
    ParseResult,
    ReclassRow,
    RowError,
    iter_rows,
    parse_rows,
    rows_to_csv,
)

__all__ = [
    "COLUMNS", "KINDS", "REQUIRED", "ROW_TYPES", "ConflictRow", "DepartmentRow", "EntityRow",
    "InspectorRow", "ItemRow", "Kind", "ParseResult", "ReclassRow", "RowError", "iter_rows",
    "parse_rows", "rows_to_csv",
]
