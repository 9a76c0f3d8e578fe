"""Event and aggregate topics, declared explicitly.

A stored event's topic is part of its chain hash, so it is part of the
ledger format: it must not change when a class is renamed or moved. Each
class gets its topic from this table (eventsourcing reads a class's `TOPIC`
attribute); the store refuses any event class that is not declared here,
and tests/test_topics.py pins the whole table.

Importing this module imports every module that declares commands, so
`domain.commands.COMMANDS` is complete after it.
"""

from __future__ import annotations

from typing import Final

from eventsourcing.utils import register_topic

from ledger.domain.actors import Actor, Ledger
from ledger.domain.approvals import Proposal
from ledger.domain.commands import CommandRecord
from ledger.domain.directory import Department, DirectoryImport, Entity, InspectionItem, Inspector
from ledger.domain.draws import Plan, Task
from ledger.domain.refusals import RefusalLog
from ledger.domain.results import InspectionResult
from ledger.domain.settings import Settings
from ledger.domain.witness import Witness
from ledger.domain.classes import ClassSignal, DrawConfig
from ledger.domain.firms import FirmRepresentative, RecusalRequest
from ledger.domain.objections import Objection
import ledger.domain.tasks  # noqa: F401  (declares task.approve, task.extend_window)
from ledger.domain.staging import StagedChunk, StagedImport

_AGGREGATES: Final[dict[str, tuple[type, tuple[str, ...]]]] = {
    "ledger": (Ledger, ("Genesis", "LedgerKeyRotated", "BeaconPinned")),
    "actor": (Actor, ("Registered", "KeyRotated", "RolesChanged", "Revoked")),
    "command": (CommandRecord, ("Accepted",)),
    "settings": (Settings, ("Opened", "ResultsSet", "GovernanceSet", "CalendarYearRecorded")),
    "proposal": (Proposal, ("Opened", "Approved", "Carried")),
    "department": (Department, ("Registered", "Updated")),
    "item": (InspectionItem, ("Registered", "Updated")),
    "entity": (Entity, ("Registered", "Updated", "Reclassified")),
    "inspector": (Inspector, ("Registered", "Updated", "ConflictDeclared", "ConflictWithdrawn")),
    "import": (DirectoryImport, ("Recorded",)),
    "plan": (Plan, ("Created", "Filed")),
    "task": (Task, ("Created", "Committed", "Drawn", "Voided", "Substituted", "Extended", "Approved",
                    "WindowExtended")),
    "result": (InspectionResult, ("Recorded", "Corrected", "Returned", "Disclosed", "FollowUpDone")),
    "refusals": (RefusalLog, ("Opened", "Refused", "Suppressed")),
    "witness": (Witness, ("Added", "Removed")),
    "draw-settings": (DrawConfig, ("Opened", "Set")),
    "class-signal": (ClassSignal, ("Recorded",)),
    "firm": (FirmRepresentative, ("Registered", "Acknowledged")),
    "recusal-request": (RecusalRequest, ("Raised", "Decided")),
    "objection": (Objection, ("Raised", "Resolved")),
    "staging": (StagedImport, ("Opened", "ChunkStaged", "Committed")),
    "staged-chunk": (StagedChunk, ("Staged",)),
}

PREFIX: Final = "drledger/"


def _table() -> dict[str, type]:
    table: dict[str, type] = {}
    for name, (aggregate, events) in _AGGREGATES.items():
        table[f"{PREFIX}{name}"] = aggregate
        for event_name in events:
            table[f"{PREFIX}{name}/{event_name}"] = getattr(aggregate, event_name)
    return table


TOPICS: Final = _table()


def _declare() -> None:
    for topic, cls in TOPICS.items():
        own = cls.__dict__.get("TOPIC")
        if own is not None and own != topic:
            raise RuntimeError(f"{cls.__qualname__} declares topic {own!r}, the table says {topic!r}")
        cls.TOPIC = topic  # type: ignore[attr-defined]
        register_topic(topic, cls)


def is_declared(cls: type) -> bool:
    """Whether `cls` has its own explicit topic (inherited ones do not count)."""
    return "TOPIC" in cls.__dict__


_declare()
