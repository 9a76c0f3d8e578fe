"""一单两库: the inspection item list, the target pool and the inspector pool.

Each department, item, entity and inspector is an aggregate keyed by its
natural key (code, USCC, badge). Its state is one typed record (the import
row Structs); `Registered` carries the first record, `Updated` each later
one with the names of the fields that changed. Entities also change class
through `Reclassified` (monthly reclassification, credit feedback), and
inspectors carry their conflict-of-interest declarations (回避).

Everything reaches the directory through one command, `directory.import`,
signed by a list manager (departments: by an admin). The command signs the
file's SHA-256 and an RFC 9162 root over the canonical rows (rows_root);
the rows travel beside it and, once decided, in the events: a changed or new
row in its `Registered`/`Updated`/`Reclassified`/`ConflictDeclared` event,
an unchanged one by its key in the import's own record (its row is the
record in force). `verify` rebuilds the rows from those events, recomputes
the root and re-validates every row.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar
from uuid import UUID

import msgspec

from ledger.domain.base import LedgerAggregate, event_timestamp, natural_id, recorded_time
from ledger.domain.commands import Command, Refusal, State, command, department_covers, short
from ledger.domain.uscc import is_valid_uscc
from ledger.domain.rows import (
    KEYS,
    ROW_TYPES,
    ConflictRow,
    DepartmentRow,
    EntityRow,
    InspectorRow,
    ItemRow,
    ReclassRow,
    revalidate,
)
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.merkle import leaf_hash, root_from_leaf_hashes

MAX_ERRORS_SHOWN = 5


class DirectoryEntry(LedgerAggregate):
    KIND: ClassVar[str]
    KEY_FIELD: ClassVar[str]

    record: Any

    class Registered(LedgerAggregate.Created):
        actor: str
        record: Any

    class Updated(LedgerAggregate.Event):
        actor: str
        record: Any
        changed: tuple[str, ...]
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.record = self.record

    def __init__(self, actor: str, record: Any) -> None:
        self.record = record

    @classmethod
    def id_for(cls, key: str) -> UUID:
        return natural_id(cls.KIND, key)

    @classmethod
    def key_of(cls, record: Any) -> str:
        return str(getattr(record, cls.KEY_FIELD))

    @classmethod
    def register(cls, record: Any, actor: str, aggregate_id: UUID | None = None) -> Any:
        """`aggregate_id`: id_for(key_of(record)), when the caller has it already."""
        return cls._create(cls.Registered, id=aggregate_id or cls.id_for(cls.key_of(record)), actor=actor,
                           record=record)

    def update(self, record: Any, changed: tuple[str, ...], reason: str, actor: str) -> None:
        self.trigger_event(self.Updated, actor=actor, record=record, changed=changed, reason=reason)


class Department(DirectoryEntry):
    KIND = "department"
    KEY_FIELD = "code"
    record: DepartmentRow

    class Registered(DirectoryEntry.Registered):
        record: DepartmentRow

    class Updated(DirectoryEntry.Updated):
        record: DepartmentRow


class InspectionItem(DirectoryEntry):
    KIND = "item"
    KEY_FIELD = "code"
    record: ItemRow

    class Registered(DirectoryEntry.Registered):
        record: ItemRow

    class Updated(DirectoryEntry.Updated):
        record: ItemRow


class Entity(DirectoryEntry):
    KIND = "entity"
    KEY_FIELD = "uscc"
    record: EntityRow
    last_cause: str | None
    class_before_last: str

    class Registered(DirectoryEntry.Registered):
        record: EntityRow

    class Updated(DirectoryEntry.Updated):
        record: EntityRow

    class Reclassified(LedgerAggregate.Event):
        """The credit-risk class changed; `cause` names the result behind it, if any."""

        actor: str
        uscc: str
        risk_class: str
        previous: str
        reason: str
        cause: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.record = msgspec.structs.replace(aggregate.record, risk_class=self.risk_class)
            aggregate.last_cause = self.cause
            aggregate.class_before_last = self.previous

    def __init__(self, actor: str, record: Any) -> None:
        super().__init__(actor=actor, record=record)
        self.last_cause = None  # the cause of the last class change (a result), if any
        self.class_before_last = record.risk_class

    def reclassify(self, uscc: str, risk_class: str, previous: str, reason: str, cause: str | None,
                   actor: str) -> None:
        self.trigger_event(self.Reclassified, uscc=uscc, risk_class=risk_class, previous=previous, reason=reason,
                           cause=cause, actor=actor)


class Inspector(DirectoryEntry):
    KIND = "inspector"
    KEY_FIELD = "badge"
    record: InspectorRow
    conflicts: dict[str, str]

    class Registered(DirectoryEntry.Registered):
        record: InspectorRow

    class Updated(DirectoryEntry.Updated):
        record: InspectorRow

    class ConflictDeclared(LedgerAggregate.Event):
        """回避: this inspector must not be assigned to `uscc`."""

        actor: str
        badge: str
        uscc: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.conflicts = {**aggregate.conflicts, self.uscc: self.reason}

    class ConflictWithdrawn(LedgerAggregate.Event):
        actor: str
        badge: str
        uscc: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.conflicts = {k: v for k, v in aggregate.conflicts.items() if k != self.uscc}

    def __init__(self, actor: str, record: Any) -> None:
        super().__init__(actor=actor, record=record)
        self.conflicts = {}

    def declare_conflict(self, uscc: str, reason: str, actor: str) -> None:
        self.trigger_event(self.ConflictDeclared, badge=self.record.badge, uscc=uscc, reason=reason, actor=actor)


class NewEntries:
    """A run of new directory rows registered by one decision, kept as plain rows.

    The same events as `cls.register(row, actor, id)` for each row in order (one
    `Registered` each, version 1, the decision's recorded time), without building
    an aggregate and an event object per row: the store writes their stored bytes
    directly (store/bulk.py; tests pin them equal to the aggregates' own bytes).
    Decisions return it only to a state that can write it (`bulk_writes`);
    `verify` re-executes with plain aggregates and compares the stored bytes."""

    def __init__(self, cls: type[DirectoryEntry], actor: str, ids: list[UUID], rows: list[Any]) -> None:
        self.cls = cls
        self.actor = actor
        self.ids = ids
        self.rows = rows
        self.timestamp = event_timestamp()

    def __len__(self) -> int:
        return len(self.rows)

    def aggregates(self, limit: int | None = None) -> list[Any]:
        """The same registrations as aggregates (previews; what `verify` rebuilds), the first `limit`."""
        with recorded_time(self.timestamp):
            return [self.cls.register(row, self.actor, i) for i, row in zip(self.ids[:limit], self.rows[:limit])]

    def collect_events(self, limit: int | None = None) -> list[Any]:
        return [e for aggregate in self.aggregates(limit) for e in aggregate.collect_events()]


DIRECTORY_CLASSES: dict[str, type[DirectoryEntry]] = {
    "departments": Department,
    "items": InspectionItem,
    "entities": Entity,
    "inspectors": Inspector,
}


class DirectoryImport(LedgerAggregate):
    """One accepted import file: who imported what, and what it changed.

    `unchanged`: the keys of rows equal to the record in force (for
    conflicts "badge/uscc"), in key order, so the rows can be rebuilt.
    """

    class Recorded(LedgerAggregate.Created):
        actor: str
        kind: str
        file_name: str
        file_sha256: str
        rows_root: str
        rows: int
        new: int
        changed: int
        unchanged: tuple[str, ...]
        flagged: tuple[str, ...]

    def __init__(self, actor: str, kind: str, file_name: str, file_sha256: str, rows_root: str, rows: int,
                 new: int, changed: int, unchanged: tuple[str, ...], flagged: tuple[str, ...]) -> None:
        self.kind = kind
        self.file_name = file_name
        self.file_sha256 = file_sha256
        self.rows_root = rows_root
        self.rows = rows
        self.new = new
        self.changed = changed
        self.unchanged = unchanged
        self.flagged = flagged

    @staticmethod
    def id_for(actor_id: str, nonce: str) -> UUID:
        return natural_id("import", f"{actor_id}/{nonce}")


# ---------------------------------------------------------------------------
# Rows: their key, their canonical bytes, their root.


def row_key(kind: str, row: Any) -> str:
    return "/".join(str(getattr(row, name)) for name in KEYS[kind])  # type: ignore[index]


def rows_root(kind: str, rows: list[Any]) -> str:
    """RFC 9162 root over the canonical JSON of each row, rows in key order (UTF-8 bytes)."""
    return ordered_root(sorted(rows, key=lambda r: row_key(kind, r).encode()))


def ordered_root(ordered: list[Any]) -> str:
    """rows_root of rows already in key order."""
    return root_from_leaf_hashes([leaf_hash(canonical_bytes(r)) for r in ordered]).hex()


def keyed_rows(kind: str, rows: list[Any]) -> tuple[list[str], list[Any]]:
    """The rows' keys and the rows, in key order (UTF-8 bytes): each key computed once."""
    pairs = sorted(((row_key(kind, r), r) for r in rows), key=lambda pair: pair[0].encode())
    return [key for key, _ in pairs], [row for _, row in pairs]


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ImportBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: str
    file_name: str
    file_sha256: str
    rows: int
    rows_root: str
    accept_bad_check: bool = False


IMPORT_KINDS = tuple(ROW_TYPES)


def _revalidate(kind: str, rows: list[Any], accept_bad_check: bool) -> None:
    """Every row is what parsing its own cells gives: the file's rules, re-run."""
    # Conflicts and reclassifications name registered entities: the operator
    # decided on a flagged check character at registration.
    accept = accept_bad_check or kind in ("conflicts", "reclassifications")
    errors, odd = revalidate(kind, rows, accept_bad_check=accept)  # type: ignore[arg-type]
    if errors:
        shown = "; ".join(f"row {e.line - 1}: {e.column or '-'}: {e.reason}" for e in errors[:MAX_ERRORS_SHOWN])
        more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise Refusal("invalid_rows", f"{len(errors)} invalid row(s): {shown}{more}")
    if odd is not None:
        raise Refusal("invalid_rows", f"row {odd} is not in canonical form")


def _department_of(kind: str, row: Any) -> tuple[str, ...]:
    if kind in ("items", "inspectors"):
        return (row.department,)
    if kind == "entities":
        return row.departments
    return ()


def _check_references(state: State, kind: str, rows: list[Any]) -> None:
    problems: list[str] = []
    known: dict[tuple[str, str], bool] = {}

    def exists(cls: type[DirectoryEntry], key: str) -> bool:
        if (cls.KIND, key) not in known:
            known[(cls.KIND, key)] = state.get(cls, cls.id_for(key)) is not None
        return known[(cls.KIND, key)]

    def need(cls: type[DirectoryEntry], key: str, where: str, hint: str) -> None:
        if len(problems) < MAX_ERRORS_SHOWN and not exists(cls, key):
            problems.append(f"{where}: unknown {cls.KIND} {short(key)!r} ({hint})")

    in_file = {r.code for r in rows} if kind == "departments" else set()
    known_good: set[tuple[str, ...]] = set()
    if kind in ("entities", "reclassifications"):
        from ledger.domain.classes import class_codes

        classes = class_codes(state)
        for number, row in enumerate(rows, 1):
            if row.risk_class not in classes and len(problems) < MAX_ERRORS_SHOWN:
                problems.append(f"row {number} risk_class: {short(row.risk_class)!r} is not in the ledger's class"
                                f" set ({', '.join(classes)}; settings.draws)")
    for number, row in enumerate(rows, 1):
        if kind in ("items", "inspectors"):
            need(Department, row.department, f"row {number} department", "import departments first")
        elif kind == "entities":
            if row.departments in known_good:  # most rows of a file name the same few departments
                continue
            for code in row.departments:
                need(Department, code, f"row {number} departments", "import departments first")
            if all(exists(Department, code) for code in row.departments):
                known_good.add(row.departments)
        elif kind == "departments" and row.parent and row.parent not in in_file:
            need(Department, row.parent, f"row {number} parent", "list the parent department too")
        elif kind == "conflicts":
            need(Inspector, row.badge, f"row {number} badge", "import inspectors first")
            need(Entity, row.uscc, f"row {number} uscc", "import entities first")
        elif kind == "reclassifications":
            need(Entity, row.uscc, f"row {number} uscc", "only registered entities can be reclassified")
    if problems:
        raise Refusal("unknown_reference", "; ".join(problems))


def _check_jurisdiction(state: State, command: Command, kind: str, rows: list[Any]) -> None:
    scope = command.actor.department
    if kind == "departments" and "admin" not in command.actor.roles:
        raise Refusal("missing_role", "departments are imported by an admin")
    if scope is None:
        return
    covered: dict[str, bool] = {}

    def covers(department: str) -> bool:
        if department not in covered:
            covered[department] = department_covers(state, scope, department)
        return covered[department]

    allowed: dict[tuple[str, ...], bool] = {}  # by the row's departments: a file names few combinations
    for number, row in enumerate(rows, 1):
        departments = _department_of(kind, row)
        if kind in ("conflicts", "reclassifications"):
            found = state.get(Inspector, Inspector.id_for(row.badge)) if kind == "conflicts" else \
                state.get(Entity, Entity.id_for(row.uscc))
            departments = _department_of("inspectors" if kind == "conflicts" else "entities", found.record) \
                if found is not None else ()
        ok = allowed.get(departments)
        if ok is None:
            ok = allowed[departments] = any(covers(d) for d in departments)
        if not ok:
            raise Refusal("out_of_jurisdiction", f"row {number} ({short(row_key(kind, row))}) belongs to"
                                                 f" {', '.join(departments) or 'no department'}, outside"
                                                 f" {command.actor_id!r}'s department {scope}")


@command("directory.import", "list_manager", "admin", attachment=True)
def decide_import(state: State, command: Command, rows: Any) -> list[LedgerAggregate]:
    body = command.body(ImportBody)
    if body.kind not in IMPORT_KINDS:
        raise Refusal("invalid", f"unknown import kind {short(body.kind)!r}: one of {', '.join(IMPORT_KINDS)}")
    row_type = ROW_TYPES[body.kind]  # type: ignore[index]
    if not isinstance(rows, list) or not all(type(r) is row_type for r in rows):
        raise Refusal("invalid", f"directory.import needs the file's {body.kind} rows beside the command")
    if len(rows) != body.rows or not rows:
        raise Refusal("invalid_rows", f"the command signs {body.rows} rows; {len(rows)} were given")
    kind = body.kind
    keys, ordered = keyed_rows(kind, rows)
    if ordered_root(ordered) != body.rows_root:
        raise Refusal("invalid_rows", "the rows differ from the rows_root the command signs")
    if len(set(keys)) != len(keys):
        raise Refusal("invalid_rows", "a key appears twice among the rows")
    _revalidate(kind, ordered, body.accept_bad_check)
    record = DirectoryImport.id_for(command.actor_id, command.content.nonce)
    return apply_rows(state, command, kind, keys, ordered, record_id=record, file_name=body.file_name,
                      file_sha256=body.file_sha256, rows_root=body.rows_root)


def apply_rows(state: State, command: Command, kind: str, keys: list[str], ordered: list[Any], *, record_id: UUID,
               file_name: str, file_sha256: str, rows_root: str) -> list[LedgerAggregate]:
    """An import's effect, once its rows are known to be valid, distinct and the ones signed
    (`keys` and `ordered` in key order): references, jurisdiction, then one event per changed
    row and the import's record. Shared by `directory.import` and the staged import's commit."""
    # Directory rows' aggregate ids, derived once from their keys (one uuid5 each).
    ids = [DIRECTORY_CLASSES[kind].id_for(key) for key in keys] if kind in DIRECTORY_CLASSES else []
    if kind in DIRECTORY_CLASSES:
        state.preload(ids)
    elif kind == "reclassifications":
        state.preload([Entity.id_for(r.uscc) for r in ordered])
    elif kind == "conflicts":
        state.preload(list({Inspector.id_for(r.badge) for r in ordered} | {Entity.id_for(r.uscc) for r in ordered}))
    _check_references(state, kind, ordered)
    _check_jurisdiction(state, command, kind, ordered)
    actor = command.actor_id
    # Directory rows, in key order: new ones gathered as runs of NewEntries (between changed
    # rows) when the state's writer can write them so, else each an aggregate, as verify rebuilds
    # them. Conflicts and reclassifications change aggregates, each kept once in `touched`.
    entries: list[Any] = []
    touched: dict[UUID, LedgerAggregate] = {}
    bulk = bool(getattr(state, "bulk_writes", False))
    run: NewEntries | None = None
    new = changed = 0
    unchanged: list[str] = []
    flagged = [key for key, r in zip(keys, ordered) if getattr(r, "check_ok", True) is False]
    for index, row in enumerate(ordered):
        if kind in DIRECTORY_CLASSES:
            cls = DIRECTORY_CLASSES[kind]
            current = state.get_for_update(cls, ids[index])
            if current is None:
                if bulk:
                    if run is None:
                        run = NewEntries(cls, actor, [], [])
                        entries.append(run)
                    run.ids.append(ids[index])
                    run.rows.append(row)
                else:
                    entries.append(cls.register(row, actor, ids[index]))
                new += 1
            elif current.record != row:
                fields = tuple(f for f in row.__struct_fields__ if getattr(current.record, f) != getattr(row, f))
                current.update(record=row, changed=fields, reason=f"import {kind}", actor=actor)
                entries.append(current)
                run = None
                changed += 1
            else:
                unchanged.append(keys[index])
        elif kind == "conflicts":
            inspector = touched.get(Inspector.id_for(row.badge)) or state.get_for_update(Inspector, Inspector.id_for(row.badge))
            assert isinstance(inspector, Inspector)
            if inspector.conflicts.get(row.uscc) == row.reason:
                unchanged.append(row_key(kind, row))
                continue
            inspector.declare_conflict(uscc=row.uscc, reason=row.reason, actor=actor)
            touched[inspector.id] = inspector
            new += 1
        else:  # reclassifications
            entity = state.get_for_update(Entity, Entity.id_for(row.uscc))
            assert entity is not None
            if entity.record.risk_class == row.risk_class:
                unchanged.append(row_key(kind, row))
                continue
            entity.reclassify(uscc=row.uscc, risk_class=row.risk_class, previous=entity.record.risk_class,
                              reason="monthly reclassification", cause=None, actor=actor)
            touched[entity.id] = entity
            changed += 1
    if not entries and not touched:
        raise Refusal("no_change", f"every row of {short(file_name)} equals the record in force: nothing to import")
    record = DirectoryImport._create(
        DirectoryImport.Recorded, id=record_id, actor=actor, kind=kind,
        file_name=file_name, file_sha256=file_sha256, rows_root=rows_root, rows=len(ordered), new=new,
        changed=changed, unchanged=tuple(unchanged), flagged=tuple(flagged),
    )
    return [*entries, *touched.values(), record]


def rows_of_import(state: State, kind: str, carried: list[Any], unchanged: tuple[str, ...]) -> list[Any]:
    """The rows of an accepted import, rebuilt for `verify`: the rows its events
    carried, and for each unchanged key the row in force before it (`state`)."""
    rows = list(carried)
    for key in unchanged:
        if kind in DIRECTORY_CLASSES:
            cls = DIRECTORY_CLASSES[kind]
            found = state.get(cls, cls.id_for(key))
            rows.append(found.record if found is not None else None)
        elif kind == "conflicts":
            badge, _, uscc = key.partition("/")
            inspector = state.get(Inspector, Inspector.id_for(badge))
            reason = inspector.conflicts.get(uscc) if inspector is not None else None
            rows.append(ConflictRow(badge, uscc, reason, is_valid_uscc(uscc)) if reason is not None else None)
        else:
            entity = state.get(Entity, Entity.id_for(key))
            rows.append(ReclassRow(key, entity.record.risk_class, is_valid_uscc(key)) if entity else None)  # type: ignore[arg-type]
    return [r for r in rows if r is not None]


def conflict_row(badge: str, uscc: str, reason: str) -> ConflictRow:
    return ConflictRow(badge, uscc, reason, is_valid_uscc(uscc))


def reclass_row(uscc: str, risk_class: str) -> ReclassRow:
    return ReclassRow(uscc, risk_class, is_valid_uscc(uscc))  # type: ignore[arg-type]


__all__ = [
    "DIRECTORY_CLASSES", "Department", "DirectoryEntry", "DirectoryImport", "Entity", "ImportBody",
    "InspectionItem", "Inspector", "NewEntries", "apply_rows", "conflict_row", "file_digest", "keyed_rows",
    "ordered_root", "reclass_row", "row_key", "rows_of_import", "rows_root",
    "DepartmentRow", "EntityRow", "InspectorRow", "ItemRow",
]
