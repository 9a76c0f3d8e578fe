"""一单两库: the inspection item list, the target pool and the inspector pool.

Each department, item, entity and inspector is an aggregate keyed by its
natural key (code, USCC, badge). Its state is one typed record (the import
row Structs); `Registered` carries the first record, `Updated` each later
one with the names of the fields that changed. Entities also change class
through `Reclassified` (monthly reclassification, credit feedback), and
inspectors carry their conflict-of-interest declarations (回避).

Bulk paths build events with `registered` / `updated` instead of loading
aggregates one by one; both paths produce the same events.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger.domain.base import LedgerAggregate, natural_id
from ledger.imports.rows import DepartmentRow, EntityRow, InspectorRow, ItemRow


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
    def registered(cls, record: Any, actor: str) -> Any:
        """The Registered event for a new record (bulk path)."""
        return cls.Registered(
            originator_id=cls.id_for(cls.key_of(record)),
            originator_version=1,
            timestamp=cls.Registered.create_timestamp(),
            originator_topic=get_topic(cls),
            actor=actor,
            record=record,
        )

    @classmethod
    def updated(cls, record: Any, version: int, changed: tuple[str, ...], actor: str, reason: str) -> Any:
        """The Updated event after `version` (bulk path)."""
        return cls.Updated(
            originator_id=cls.id_for(cls.key_of(record)),
            originator_version=version + 1,
            timestamp=cls.Updated.create_timestamp(),
            actor=actor,
            record=record,
            changed=changed,
            reason=reason,
        )


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
            import msgspec

            aggregate.record = msgspec.structs.replace(aggregate.record, risk_class=self.risk_class)

    @classmethod
    def reclassified(cls, uscc: str, version: int, risk_class: str, previous: str, actor: str, reason: str,
                     cause: str | None = None) -> Any:
        return cls.Reclassified(
            originator_id=cls.id_for(uscc),
            originator_version=version + 1,
            timestamp=cls.Reclassified.create_timestamp(),
            actor=actor,
            uscc=uscc,
            risk_class=risk_class,
            previous=previous,
            reason=reason,
            cause=cause,
        )


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
            aggregate.conflicts[self.uscc] = self.reason

    class ConflictWithdrawn(LedgerAggregate.Event):
        actor: str
        badge: str
        uscc: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.conflicts.pop(self.uscc, None)

    def __init__(self, actor: str, record: Any) -> None:
        super().__init__(actor=actor, record=record)
        self.conflicts = {}

    @classmethod
    def conflict_event(cls, declared: bool, badge: str, uscc: str, version: int, reason: str, actor: str) -> Any:
        """ConflictDeclared (or ConflictWithdrawn) after `version` (bulk path)."""
        event_cls = cls.ConflictDeclared if declared else cls.ConflictWithdrawn
        return event_cls(
            originator_id=cls.id_for(badge),
            originator_version=version + 1,
            timestamp=event_cls.create_timestamp(),
            actor=actor,
            badge=badge,
            uscc=uscc,
            reason=reason,
        )


DIRECTORY_CLASSES: dict[str, type[DirectoryEntry]] = {
    "departments": Department,
    "items": InspectionItem,
    "entities": Entity,
    "inspectors": Inspector,
}


class DirectoryImport(LedgerAggregate):
    """One accepted import file: who imported what, and what it changed."""

    class Recorded(LedgerAggregate.Created):
        actor: str
        kind: str
        file_name: str
        file_sha256: str
        rows: int
        new: int
        changed: int
        unchanged: int
        flagged_lines: tuple[int, ...]

    def __init__(self, actor: str, kind: str, file_name: str, file_sha256: str, rows: int, new: int,
                 changed: int, unchanged: int, flagged_lines: tuple[int, ...]) -> None:
        self.kind = kind
        self.file_sha256 = file_sha256
