"""Queries over the directory read model: current pools, or as of a position.

`pool_ids` is what a draw freezes: the eligible entity IDs per risk class
at a ledger position. `pool_snapshot` adds their order by UTF-8 bytes, an
RFC 9162 root per class (leaf = the UTF-8 ID) and counts.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.domain.filters import EntityFilter, InspectorFilter
from ledger.domain.rows import DepartmentRow, EntityRow, InspectorRow, ItemRow
from ledger.integrity.merkle import leaf_hash, root_from_leaf_hashes
from ledger.projections.directory import column_kinds, fields_of, from_column
from ledger.store.schema import Dialect

RISK_CLASSES = ("A", "B", "C", "D")


class PoolSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    ids: dict[str, list[str]]  # risk class -> sorted IDs
    roots: dict[str, str]  # risk class -> hex RFC 9162 root
    counts: dict[str, int]


def pool_root(sorted_ids: list[str]) -> bytes:
    """RFC 9162 root over IDs sorted by UTF-8 bytes (leaf = UTF-8 ID)."""
    return root_from_leaf_hashes([leaf_hash(i.encode()) for i in sorted_ids])


def _as_of(position: int | None, p: str) -> tuple[str, list[Any]]:
    if position is None:
        return "valid_to IS NULL", []
    return f"valid_from <= {p} AND (valid_to IS NULL OR valid_to > {p})", [position, position]


def _in(column: str, values: tuple[str, ...], p: str) -> tuple[str, list[Any]]:
    return f"{column} IN ({', '.join([p] * len(values))})", list(values)


def _entity_where(f: EntityFilter, dialect: Dialect, position: int | None) -> tuple[str, list[Any]]:
    p = dialect.placeholder
    clause, params = _as_of(position, p)
    clauses = [clause]
    if f.risk_classes:
        c, v = _in("risk_class", f.risk_classes, p)
        clauses.append(c)
        params += v
    if f.entity_types:
        c, v = _in("entity_type", f.entity_types, p)
        clauses.append(c)
        params += v
    if f.statuses:
        c, v = _in("status", f.statuses, p)
        clauses.append(c)
        params += v
    if f.region_prefix:
        clauses.append(_prefix("region_code", p))
        params += [f.region_prefix, f.region_prefix]
    if f.industry_prefix:
        clauses.append(_prefix("industry", p))
        params += [f.industry_prefix, f.industry_prefix]
    if f.department:
        clauses.append(_contains(dialect, "departments", p))
        params.append(f";{f.department};")
    return " AND ".join(clauses), params


# Exact, case-sensitive matching: LIKE is case-insensitive in SQLite and
# treats '_' in codes as a wildcard.
def _prefix(column: str, p: str) -> str:
    return f"substr({column}, 1, length({p})) = {p}"


def _contains(dialect: Dialect, column: str, p: str) -> str:
    function = "instr" if dialect.name == "sqlite" else "strpos"
    return f"{function}({column}, {p}) > 0"


def _records(cursor: Any, table: str, row_type: type[msgspec.Struct], where: str, params: list[Any], order: str) -> list[Any]:
    names = fields_of(row_type)
    cursor.execute(f"SELECT {', '.join(names)} FROM {table} WHERE {where} ORDER BY {order}", params)
    tuples, bools = column_kinds(row_type)
    out = []
    for row in cursor.fetchall():
        values = {}
        for name, value in zip(names, row):
            value = from_column(value, name in tuples)
            values[name] = bool(value) if name in bools else value
        out.append(row_type(**values))
    return out


def query_entities(conn: Any, dialect: Dialect, f: EntityFilter, position: int | None = None) -> list[EntityRow]:
    where, params = _entity_where(f, dialect, position)
    return _records(conn.cursor(), dialect.table("dir_entities"), EntityRow, where, params, "uscc")


def class_counts(conn: Any, dialect: Dialect, f: EntityFilter, position: int | None = None) -> dict[str, int]:
    """Entities per risk class that pass `f` (now, or at `position`); classes with none are absent.
    Counted by the database: a planner's check of a million-entity pool holds no row."""
    where, params = _entity_where(f, dialect, position)
    cursor = conn.cursor()
    cursor.execute(f"SELECT risk_class, COUNT(*) FROM {dialect.table('dir_entities')} WHERE {where}"
                   " GROUP BY risk_class", params)
    return {risk_class: int(count) for risk_class, count in cursor.fetchall()}


def query_inspectors(conn: Any, dialect: Dialect, f: InspectorFilter, position: int | None = None) -> list[InspectorRow]:
    p = dialect.placeholder
    where, params = _as_of(position, p)
    clauses = [where]
    if f.department:
        clauses.append(f"department = {p}")
        params.append(f.department)
    if f.role:
        clauses.append(f"role = {p}")
        params.append(f.role)
    if f.region_prefix:
        clauses.append(_prefix("region_code", p))
        params += [f.region_prefix, f.region_prefix]
    if f.qualification:
        clauses.append(_contains(dialect, "qualifications", p))
        params.append(f";{f.qualification};")
    if f.statuses:
        c, v = _in("status", f.statuses, p)
        clauses.append(c)
        params += v
    return _records(conn.cursor(), dialect.table("dir_inspectors"), InspectorRow, " AND ".join(clauses), params, "badge")


def inspector_record_positions(conn: Any, dialect: Dialect, position: int) -> dict[str, int]:
    """badge -> the position of the event that put its record in force at `position`."""
    where, params = _as_of(position, dialect.placeholder)
    cursor = conn.cursor()
    cursor.execute(f"SELECT badge, valid_from FROM {dialect.table('dir_inspectors')} WHERE {where}", params)
    return {badge: int(valid_from) for badge, valid_from in cursor.fetchall()}


def list_items(conn: Any, dialect: Dialect, position: int | None = None) -> list[ItemRow]:
    where, params = _as_of(position, dialect.placeholder)
    return _records(conn.cursor(), dialect.table("dir_items"), ItemRow, where, params, "code")


def list_departments(conn: Any, dialect: Dialect, position: int | None = None) -> list[DepartmentRow]:
    where, params = _as_of(position, dialect.placeholder)
    return _records(conn.cursor(), dialect.table("dir_departments"), DepartmentRow, where, params, "code")


def conflicts(conn: Any, dialect: Dialect, position: int | None = None) -> set[tuple[str, str]]:
    """(badge, uscc) pairs declared and not withdrawn at `position`."""
    where, params = _as_of(position, dialect.placeholder)
    cursor = conn.cursor()
    cursor.execute(f"SELECT badge, uscc FROM {dialect.table('dir_conflicts')} WHERE {where}", params)
    return {(badge, uscc) for badge, uscc in cursor.fetchall()}


def pool_ids(conn: Any, dialect: Dialect, f: EntityFilter, position: int) -> dict[str, list[str]]:
    """The eligible (active) entity IDs per risk class at `position`, in no particular order
    (a draw orders its pool by the firms' commitments, not by their IDs)."""
    eligible = msgspec.structs.replace(f, statuses=("active",))
    where, params = _entity_where(eligible, dialect, position)
    cursor = conn.cursor()
    cursor.execute(f"SELECT risk_class, uscc FROM {dialect.table('dir_entities')} WHERE {where}", params)
    ids: dict[str, list[str]] = {k: [] for k in RISK_CLASSES}
    while rows := cursor.fetchmany(50_000):  # not a million row tuples at once
        for risk_class, uscc in rows:
            ids.setdefault(risk_class, []).append(uscc)  # a class outside A-D (settings.draws) too
    return ids


def pool_snapshot(conn: Any, dialect: Dialect, f: EntityFilter, position: int) -> PoolSnapshot:
    """The eligible (active) entity IDs per risk class at `position`, sorted, with their roots."""
    ids = pool_ids(conn, dialect, f, position)
    for values in ids.values():
        values.sort(key=str.encode)
    return PoolSnapshot(
        position=position,
        ids=ids,
        roots={k: pool_root(v).hex() for k, v in ids.items()},
        counts={k: len(v) for k, v in ids.items()},
    )


def current_classes(conn: Any, dialect: Dialect) -> dict[str, tuple[int, str]]:
    """uscc -> (aggregate version, current risk class): all a reclassification needs."""
    cursor = conn.cursor()
    cursor.execute(f"SELECT uscc, version, risk_class FROM {dialect.table('dir_entities')} WHERE valid_to IS NULL")
    return {uscc: (int(version), risk_class) for uscc, version, risk_class in cursor.fetchall()}


def current_versions(conn: Any, dialect: Dialect, table: str, key: str, row_type: type[msgspec.Struct]) -> dict[str, tuple[int, Any]]:
    """key -> (aggregate version, current record): what an import compares against."""
    names = fields_of(row_type)
    cursor = conn.cursor()
    cursor.execute(f"SELECT version, {', '.join(names)} FROM {dialect.table(table)} WHERE valid_to IS NULL")
    tuples, bools = column_kinds(row_type)
    out: dict[str, tuple[int, Any]] = {}
    for version, *values in cursor.fetchall():
        record = row_type(**{
            n: (bool(v) if n in bools else from_column(v, n in tuples)) for n, v in zip(names, values)
        })
        out[getattr(record, key)] = (int(version), record)
    return out
