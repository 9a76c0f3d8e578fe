"""Event topics are part of every chain hash: the table is pinned here.

A change to this list is a change of the ledger format (bump LEDGER_FORMAT
and say so in docs/integrity.md), never a side effect of a rename.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from eventsourcing.utils import get_topic, resolve_topic

from ledger.domain.commands import COMMANDS
from ledger.domain.topics import TOPICS, is_declared

PINNED = """\
drledger/actor drledger/actor/KeyRotated drledger/actor/Registered drledger/actor/Revoked drledger/actor/RolesChanged
drledger/command drledger/command/Accepted drledger/department drledger/department/Registered
drledger/department/Updated drledger/entity drledger/entity/Reclassified drledger/entity/Registered
drledger/entity/Updated drledger/import drledger/import/Recorded drledger/inspector drledger/inspector/ConflictDeclared
drledger/inspector/ConflictWithdrawn drledger/inspector/Registered drledger/inspector/Updated drledger/item
drledger/item/Registered drledger/item/Updated drledger/ledger drledger/ledger/BeaconPinned drledger/ledger/Genesis
drledger/ledger/LedgerKeyRotated
drledger/plan drledger/plan/Created drledger/plan/Filed drledger/proposal drledger/proposal/Approved
drledger/proposal/Carried drledger/proposal/Opened drledger/refusals drledger/refusals/Opened
drledger/refusals/Refused drledger/refusals/Suppressed drledger/result drledger/result/Corrected
drledger/result/Disclosed drledger/result/FollowUpDone drledger/result/Recorded drledger/result/Returned
drledger/settings drledger/settings/CalendarYearRecorded
drledger/settings/GovernanceSet drledger/settings/Opened drledger/settings/ResultsSet drledger/task
drledger/task/Committed drledger/task/Created drledger/task/Drawn drledger/task/Extended
drledger/task/Substituted drledger/task/Voided drledger/witness
drledger/witness/Added drledger/witness/Removed
drledger/task/Approved drledger/task/WindowExtended drledger/draw-settings drledger/draw-settings/Opened
drledger/draw-settings/Set drledger/class-signal drledger/class-signal/Recorded drledger/firm drledger/firm/Registered
drledger/firm/Acknowledged drledger/recusal-request drledger/recusal-request/Raised drledger/recusal-request/Decided
drledger/objection drledger/objection/Raised drledger/objection/Resolved
drledger/staging drledger/staging/Opened drledger/staging/ChunkStaged drledger/staging/Committed
drledger/staged-chunk drledger/staged-chunk/Staged""".split()

COMMAND_NAMES = """\
actor.register actor.revoke actor.rotate_key actor.set_roles directory.import draw.commit draw.extend draw.recuse
draw.run draw.substitute draw.void
ledger.rotate_key plan.create proposal.approve proposal.open result.correct result.disclose result.follow_up_done
result.record result.return
settings.calendar settings.governance settings.results task.create witness.add witness.remove
settings.draws class.signal task.approve task.extend_window firm.register firm.acknowledge firm.recusal_request
firm.recusal_decide objection.raise objection.resolve directory.stage directory.commit_staged""".split()


def test_the_topic_table_is_pinned() -> None:
    assert sorted(TOPICS) == sorted(PINNED)


def test_the_command_names_are_pinned() -> None:
    assert sorted(COMMANDS) == sorted(COMMAND_NAMES)


@pytest.mark.parametrize("topic", PINNED)
def test_each_class_answers_to_its_declared_topic(topic: str) -> None:
    cls = TOPICS[topic]
    assert is_declared(cls)
    assert get_topic(cls) == topic
    assert resolve_topic(topic) is cls


def test_an_undeclared_event_class_cannot_be_stored() -> None:
    from ledger.domain.base import LedgerAggregate
    from ledger.store.mapper import CanonicalMapper

    class Stray(LedgerAggregate):
        class Made(LedgerAggregate.Created):
            actor: str

    event = Stray.Made(originator_id=Stray.create_id(), originator_version=1,
                       timestamp=datetime(2026, 1, 1, tzinfo=UTC),
                       originator_topic="x", actor="a")
    with pytest.raises(TypeError, match="no declared topic"):
        CanonicalMapper().to_stored_event(event)
