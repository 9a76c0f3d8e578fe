"""Read model of 一单两库: items, departments, entities, inspectors, conflicts.

Rows are temporal: each version of a record lives from the ledger position
that set it (`valid_from`) to the one that replaced it (`valid_to`, NULL
while current). So "the pool as of position P" is one indexed query, and a
draw can freeze its pool at a recorded position while imports go on.
Tuple fields are stored as ';a;b;' so that a filter is a LIKE '%;a;%'.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.directory import Department, DirectoryEntry, Entity, InspectionItem, Inspector
from ledger.domain.rows import DepartmentRow, EntityRow, InspectorRow, ItemRow
from ledger.projections.base import ProjectedEvent
from ledger.store.schema import Dialect

TABLES: dict[type[DirectoryEntry], str] = {
    Department: "dir_departments",
    InspectionItem: "dir_items",
    Entity: "dir_entities",
    Inspector: "dir_inspectors",
}
ROWS: dict[type[DirectoryEntry], type[msgspec.Struct]] = {
    Department: DepartmentRow,
    InspectionItem: ItemRow,
    Entity: EntityRow,
    Inspector: InspectorRow,
}
CONFLICTS = "dir_conflicts"


@cache
@cache  # reading a type's fields evaluates its annotations (about a millisecond): once per type
def fields_of(row_type: type[msgspec.Struct]) -> tuple[str, ...]:
    return tuple(f.name for f in msgspec.structs.fields(row_type))


@cache
def column_kinds(row_type: type[msgspec.Struct]) -> tuple[frozenset[str], frozenset[str]]:
    """The names of the fields stored as JSON arrays (tuples) and as 0/1 (bools)."""
    fields = msgspec.structs.fields(row_type)
    return (frozenset(f.name for f in fields if "tuple" in str(f.type)),
            frozenset(f.name for f in fields if f.type is bool))


def to_column(value: Any) -> Any:
    if isinstance(value, tuple):
        return ";" + ";".join(value) + ";" if value else ""
    if isinstance(value, bool):
        return int(value)
    return value


def from_column(value: Any, hint_is_tuple: bool) -> Any:
    if hint_is_tuple:
        return tuple(part for part in (value or "").split(";") if part)
    return value


@cache
def _row_plan(cls: type[DirectoryEntry]) -> tuple[int, tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Where a record's fields go in its row (key, valid_from, valid_to, version, the others in order):
    the key's field index, the others' field indexes, and the row positions of tuple and bool fields."""
    names = fields_of(ROWS[cls])
    key = names.index(cls.KEY_FIELD)
    others = tuple(i for i in range(len(names)) if i != key)
    tuple_names, bool_names = column_kinds(ROWS[cls])
    tuples = tuple(4 + n for n, i in enumerate(others) if names[i] in tuple_names)
    bools = tuple(4 + n for n, i in enumerate(others) if names[i] in bool_names)
    return key, others, tuples, bools


class _Reclassified(msgspec.Struct):
    uscc: str
    risk_class: str


class _Conflict(msgspec.Struct):
    badge: str
    uscc: str
    reason: str


class DirectoryProjection:
    name = "directory"

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[[Any, Dialect, ProjectedEvent], None]] = {}
        self.decoders: dict[str, msgspec.json.Decoder[Any]] = {}
        for cls, row_type in ROWS.items():
            for event_cls in (cls.Registered, cls.Updated):
                topic = get_topic(event_cls)
                self.decoders[topic] = msgspec.json.Decoder(
                    msgspec.defstruct(f"{cls.__name__}{event_cls.__name__}P", [("record", row_type), ("changed", tuple[str, ...], ())])
                )
                self.handlers[topic] = self._new_version(cls)
        self.handlers[get_topic(Entity.Reclassified)] = self._reclassified
        self.decoders[get_topic(Entity.Reclassified)] = msgspec.json.Decoder(_Reclassified)
        for event_cls, handler in ((Inspector.ConflictDeclared, self._conflict_declared),
                                   (Inspector.ConflictWithdrawn, self._conflict_withdrawn)):
            self.handlers[get_topic(event_cls)] = handler
            self.decoders[get_topic(event_cls)] = msgspec.json.Decoder(_Conflict)
        self.topics = tuple(self.handlers)

    def tables(self) -> list[str]:
        return [*TABLES.values(), CONFLICTS]

    def create_statements(self, dialect: Dialect) -> list[str]:
        statements = []
        for cls, table in TABLES.items():
            key = cls.KEY_FIELD
            columns = ", ".join(
                f"{name} {'INTEGER' if name in ('key_item', 'check_ok') else 'TEXT'}"
                for name in fields_of(ROWS[cls]) if name != key
            )
            t = dialect.table(table)
            statements += [
                f"CREATE TABLE IF NOT EXISTS {t} ({key} TEXT NOT NULL, valid_from BIGINT NOT NULL,"
                f" valid_to BIGINT, version BIGINT NOT NULL, {columns}, PRIMARY KEY ({key}, valid_from))",
                f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_current ON {t} ({key}) WHERE valid_to IS NULL",
            ]
        e = dialect.table("dir_entities")
        statements += [
            f"CREATE INDEX IF NOT EXISTS dir_entities_class ON {e} (risk_class, region_code) WHERE valid_to IS NULL",
            f"CREATE INDEX IF NOT EXISTS dir_entities_region ON {e} (region_code) WHERE valid_to IS NULL",
            f"CREATE TABLE IF NOT EXISTS {dialect.table(CONFLICTS)} (badge TEXT NOT NULL, uscc TEXT NOT NULL,"
            " valid_from BIGINT NOT NULL, valid_to BIGINT, reason TEXT NOT NULL, PRIMARY KEY (badge, uscc, valid_from))",
        ]
        return statements

    def apply(self, cursor: Any, dialect: Dialect, events: list[ProjectedEvent]) -> None:
        # Runs of Registered events (bulk imports) and of reclassifications of
        # distinct firms (monthly files) each go in a few executemany calls.
        pending: list[tuple[type[DirectoryEntry], tuple[Any, ...]]] = []
        reclassified: dict[str, tuple[int, int, str]] = {}  # uscc -> (seq, version, class)
        reclassified_topic = get_topic(Entity.Reclassified)
        for item in events:
            handler = self.handlers[item.topic]
            cls = getattr(handler, "registered_class", None)
            payload = self.decoders[item.topic].decode(item.state)
            if item.topic == reclassified_topic and payload.uscc not in reclassified:
                self._flush(cursor, dialect, pending)
                pending = []
                reclassified[payload.uscc] = (item.seq, item.originator_version, payload.risk_class)
                continue
            self._flush_reclassified(cursor, dialect, reclassified)
            reclassified = {}
            if item.topic == reclassified_topic:  # the same firm twice in a run: start a new run
                reclassified[payload.uscc] = (item.seq, item.originator_version, payload.risk_class)
                continue
            if cls is not None and item.originator_version == 1:
                pending.append((cls, self._row_values(cls, payload.record, item)))
                continue
            self._flush(cursor, dialect, pending)
            pending = []
            handler(cursor, dialect, item)
        self._flush(cursor, dialect, pending)
        self._flush_reclassified(cursor, dialect, reclassified)

    def _row_values(self, cls: type[DirectoryEntry], record: Any, item: ProjectedEvent) -> tuple[Any, ...]:
        key, others, tuples, bools = _row_plan(cls)
        fields = msgspec.structs.astuple(record)
        values = [fields[key], item.seq, None, item.originator_version, *[fields[i] for i in others]]
        # Only the tuple and bool fields need a column form (to_column), found by position once per class.
        for at in tuples:
            value = values[at]
            values[at] = ";" + ";".join(value) + ";" if value else ""
        for at in bools:
            values[at] = int(values[at])
        return tuple(values)


    def _insert_sql(self, cls: type[DirectoryEntry], dialect: Dialect) -> str:
        names = [cls.KEY_FIELD, "valid_from", "valid_to", "version", *(n for n in fields_of(ROWS[cls]) if n != cls.KEY_FIELD)]
        return f"INSERT INTO {dialect.table(TABLES[cls])} ({', '.join(names)}) VALUES ({dialect.params(len(names))})"

    def _flush(self, cursor: Any, dialect: Dialect, pending: list[tuple[type[DirectoryEntry], tuple[Any, ...]]]) -> None:
        by_class: dict[type[DirectoryEntry], list[tuple[Any, ...]]] = {}
        for cls, values in pending:
            by_class.setdefault(cls, []).append(values)
        for cls, rows in by_class.items():
            cursor.executemany(self._insert_sql(cls, dialect), rows)

    def _close_current(self, cursor: Any, dialect: Dialect, cls: type[DirectoryEntry], key: str, seq: int) -> None:
        p = dialect.placeholder
        cursor.execute(
            f"UPDATE {dialect.table(TABLES[cls])} SET valid_to = {p} WHERE {cls.KEY_FIELD} = {p} AND valid_to IS NULL",
            (seq, key),
        )

    def _new_version(self, cls: type[DirectoryEntry]) -> Callable[[Any, Dialect, ProjectedEvent], None]:
        def handle(cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
            record = self.decoders[item.topic].decode(item.state).record
            self._close_current(cursor, dialect, cls, cls.key_of(record), item.seq)
            cursor.execute(self._insert_sql(cls, dialect), self._row_values(cls, record, item))

        handle.registered_class = cls  # type: ignore[attr-defined]
        return handle

    def _reclassified(self, cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
        payload = self.decoders[item.topic].decode(item.state)
        self._flush_reclassified(cursor, dialect, {payload.uscc: (item.seq, item.originator_version, payload.risk_class)})

    def _flush_reclassified(self, cursor: Any, dialect: Dialect, changes: dict[str, tuple[int, int, str]]) -> None:
        """Close each firm's current row and copy it as a new version with its new
        class. Each firm appears once, so closing all first, then copying, is exact."""
        if not changes:
            return
        table, p = dialect.table("dir_entities"), dialect.placeholder
        others = ", ".join(n for n in fields_of(EntityRow) if n not in ("uscc", "risk_class"))
        cursor.executemany(
            f"UPDATE {table} SET valid_to = {p} WHERE uscc = {p} AND valid_to IS NULL",
            [(seq, uscc) for uscc, (seq, _, _) in changes.items()],
        )
        cursor.executemany(
            f"INSERT INTO {table} (uscc, valid_from, valid_to, version, risk_class, {others})"
            f" SELECT uscc, {p}, NULL, {p}, {p}, {others} FROM {table} WHERE uscc = {p} AND valid_to = {p}",
            [(seq, version, risk_class, uscc, seq) for uscc, (seq, version, risk_class) in changes.items()],
        )

    def _conflict_declared(self, cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
        payload = self.decoders[item.topic].decode(item.state)
        self._end_conflict(cursor, dialect, payload.badge, payload.uscc, item.seq)
        cursor.execute(
            f"INSERT INTO {dialect.table(CONFLICTS)} (badge, uscc, valid_from, valid_to, reason)"
            f" VALUES ({dialect.params(5)})",
            (payload.badge, payload.uscc, item.seq, None, payload.reason),
        )
        self._bump_inspector(cursor, dialect, payload.badge, item.originator_version)

    def _conflict_withdrawn(self, cursor: Any, dialect: Dialect, item: ProjectedEvent) -> None:
        payload = self.decoders[item.topic].decode(item.state)
        self._end_conflict(cursor, dialect, payload.badge, payload.uscc, item.seq)
        self._bump_inspector(cursor, dialect, payload.badge, item.originator_version)

    def _end_conflict(self, cursor: Any, dialect: Dialect, badge: str, uscc: str, seq: int) -> None:
        p = dialect.placeholder
        cursor.execute(
            f"UPDATE {dialect.table(CONFLICTS)} SET valid_to = {p} WHERE badge = {p} AND uscc = {p} AND valid_to IS NULL",
            (seq, badge, uscc),
        )

    def _bump_inspector(self, cursor: Any, dialect: Dialect, badge: str, version: int) -> None:
        # Conflict events advance the inspector's version without a new record.
        p = dialect.placeholder
        cursor.execute(
            f"UPDATE {dialect.table('dir_inspectors')} SET version = {p} WHERE badge = {p} AND valid_to IS NULL",
            (version, badge),
        )
