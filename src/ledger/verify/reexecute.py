"""`verify` re-executes the ledger: every stored command through the same rules.

One pass over the signed transactions in position order, deriving the state
from the events alone (no projection, no cache, no snapshot):

- a transaction opens with its command's own event (`CommandRecord.Accepted`,
  the exact signed bytes), except the documented ledger-internal ones: a
  refusal record (domain/refusals.py). Checkpoints and cosignatures are not
  events. Anything else is an event without a command;
- the command verifies under its actor's key in force, is fresh against the
  recorded time, has a nonce never used before in the whole ledger;
- every event of a transaction carries the same recorded time, and recorded
  times never go backwards;
- `decide(state, command)` yields exactly the stored events (topic, aggregate,
  version, payload bytes);
- a recorded refusal is what the rules say: an authenticated one is refused by
  `decide` with that code at that position, an unauthenticated one fails
  authentication there.

Attachments are rebuilt from events: an import's rows from its events and the
records in force (domain/directory.py `rows_of_import`), a draw's inputs
from the directory as of its position (verify/draws.py).

Resuming after a verified position (a mirror's pull, `check_from`): the
transactions up to it are folded, i.e. their stored events are decoded and
applied to build the state (and a commitment's frozen inputs rebuilt), with
no signature, decision or time check; the rest are checked as above. The
caller binds the folded prefix to what was verified (its chain head).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import StoredEvent

from ledger.domain.actors import authenticate_genesis, decide_genesis
from ledger.domain.base import recorded_time
from ledger.domain.commands import Command, CommandRecord, Refusal, authenticate, decide
from ledger.domain.directory import conflict_row, reclass_row, rows_of_import
from ledger.domain.rows import ROW_TYPES, DepartmentRow, EntityRow, InspectorRow, ItemRow
from ledger.domain.refusals import RefusalLog, refusal_events
from ledger.domain.draws import Task, abandoned
from ledger.domain.settings import governance
from ledger.draw.spec import DrawInputs
from ledger.integrity.canonical import rfc3339, utc_now
from ledger.integrity.commands import CommandContent, SignedCommand
from ledger.store.mapper import CanonicalMapper
from ledger.store.reader import ChainRow, LedgerReader
from ledger.verify.draws import DrawState


# Refusals of an import that depend on its rows (not kept for a refused import).
IMPORT_ROW_CODES = frozenset({"invalid_rows", "unknown_reference", "out_of_jurisdiction", "no_change", "invalid", "staging_order",
                              "missing_role"})


# Commands whose refused rows are not kept (a staged commit's are its chunks', but a
# refusal that depends on them is checked like an import's: signature and code).
ROW_COMMANDS = frozenset({"directory.import", "directory.stage", "directory.commit_staged"})
COMMAND_TOPIC = "drledger/command/Accepted"
# Commands that decide on the inputs frozen by the task's commitment.
FROZEN_INPUTS = frozenset({"draw.run", "draw.recuse", "draw.substitute", "draw.extend", "firm.recusal_decide"})


IMPORT_TOPIC = "drledger/import/Recorded"
CONFLICT_TOPIC = "drledger/inspector/ConflictDeclared"
RECLASSIFIED_TOPIC = "drledger/entity/Reclassified"


def _record_decoder(row_type: type) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(msgspec.defstruct(f"{row_type.__name__}Carried", [("record", row_type)]))


_RECORD_TYPES = {
    f"drledger/{kind}/{event}": _record_decoder(row_type)
    for kind, row_type in (("department", DepartmentRow), ("item", ItemRow), ("entity", EntityRow),
                           ("inspector", InspectorRow))
    for event in ("Registered", "Updated")
}


CHUNK_TOPIC = "drledger/staged-chunk/Staged"
_CHUNK_DECODERS = {kind: msgspec.json.Decoder(msgspec.defstruct(f"{kind}Chunk", [("rows", list[row_type])]))
                   for kind, row_type in ROW_TYPES.items()}


class _ImportRecord(msgspec.Struct):
    kind: str
    unchanged: tuple[str, ...]


class _SaltKey(msgspec.Struct):
    salt_key: str = ""


def _salt_key(rows: list[ChainRow]) -> str:
    """The salt key a commitment recorded (made by the write path, not recomputable): the
    decision then recomputes the digest and roots from it, so an edited key fails the
    comparison with the stored event. A refused commitment records none (rows of a refusal)."""
    from ledger.draw.spec import HEX64
    from ledger.verify.draws import TASK_COMMITTED

    for row in rows[1:]:
        if row.topic == TASK_COMMITTED:
            try:
                key = msgspec.json.decode(row.state or b"", type=_SaltKey).salt_key
            except (msgspec.DecodeError, msgspec.ValidationError):
                key = ""
            if not HEX64.fullmatch(key):
                raise ReplayProblem(row.seq, "command draw.commit: the recorded salt key is not 64 lowercase hex digits")
            return key
    # A refused commitment records no key; whether it is feasible does not depend on the key.
    return "00" * 32


class _Conflict(msgspec.Struct):
    badge: str
    uscc: str
    reason: str


class _Reclassified(msgspec.Struct):
    uscc: str
    risk_class: str


class ReplayProblem(Exception):
    def __init__(self, position: int, what: str) -> None:
        super().__init__(what)
        self.position = position
        self.what = what


class MemoryState:
    """Aggregates derived from the events so far; `position` is the last applied."""

    def __init__(self) -> None:
        self.aggregates: dict[UUID, Any] = {}
        self.position = 0
        # Re-executing an accepted command, a decision may change the live aggregates:
        # the decided ones become the state, and a mismatch stops verify anyway. A
        # refusal is re-checked on copies, as a refused decision must change nothing.
        self.copies = True

    def get(self, cls: type, aggregate_id: UUID) -> Any:
        found = self.aggregates.get(aggregate_id)
        return found if isinstance(found, cls) else None

    def get_for_update(self, cls: type, aggregate_id: UUID) -> Any:
        found = self.get(cls, aggregate_id)
        return copy.deepcopy(found) if found is not None and self.copies else found

    def preload(self, aggregate_ids: list[UUID]) -> None:
        """Nothing to do: everything is in memory."""

    def apply(self, event: Any) -> None:
        self.aggregates[event.originator_id] = event.mutate(self.aggregates.get(event.originator_id))


@dataclass
class ReplayReport:
    commands: Counter[str] = field(default_factory=Counter)
    refusals: int = 0
    suppressed: int = 0
    abandoned: int = 0  # commitments standing at the end, abandoned as of the time of the check


def _events_of(aggregates: list[Any]) -> list[Any]:
    return [e for aggregate in aggregates for e in aggregate.collect_events()]


class Reexecution:
    def __init__(self, reader: LedgerReader, on_progress: Callable[[int], None] | None = None) -> None:
        self.reader = reader
        self.mapper = CanonicalMapper()
        self.state = MemoryState()
        self.draws = DrawState()
        # Inputs frozen by each standing commitment, by task (a run draws from them).
        self.frozen: dict[str, DrawInputs] = {}
        self._pending_inputs: DrawInputs | None = None
        self.last_time: datetime | None = None
        self.report = ReplayReport()
        self.on_progress = on_progress

    def run(self, check_from: int = 0) -> ReplayReport:
        """Check every transaction ending after `check_from`; fold the ones before (module doc)."""
        for tx in self.reader.transactions():
            rows = list(self.reader.rows(tx.first_seq, tx.last_seq))
            if len(rows) != tx.last_seq - tx.first_seq + 1 or any(r.state is None for r in rows):
                raise ReplayProblem(tx.first_seq, "a transaction's events are missing from the store")
            head = self._decode(rows[0])
            if tx.last_seq <= check_from:
                self._fold(rows, head)
                continue
            self._check_time(tx.first_seq, head.timestamp)
            if isinstance(head, CommandRecord.Accepted):
                # The decided aggregates, once their events equal the stored bytes, ARE the
                # state those events lead to: no need to decode and apply them again.
                for aggregate in self._check_command(tx.first_seq, rows, head):
                    self.state.aggregates[aggregate.id] = aggregate
            else:
                events = [head, *(self._decode(row) for row in rows[1:])]
                if any(e.timestamp != head.timestamp for e in events):
                    raise ReplayProblem(tx.first_seq, "the events of one transaction carry different recorded times")
                if not all(isinstance(e, RefusalLog.Event) for e in events):
                    raise ReplayProblem(tx.first_seq, f"{type(head).__qualname__} is written without a command"
                                                      " (only refusal records may be)")
                self._check_refusal(tx.first_seq, rows, events)
                for event in events:
                    self.state.apply(event)
            self._advance(rows)
            if self.on_progress:
                self.on_progress(tx.last_seq)
        hours = governance(self.state).draw_abandon_after_hours
        now = utc_now()
        self.report.abandoned = sum(
            1 for a in self.state.aggregates.values()
            if isinstance(a, Task) and a.commitment is not None and abandoned(a.commitment.beacons, now, hours))
        return self.report

    def _advance(self, rows: list[ChainRow]) -> None:
        for row in rows:
            self.draws.apply(row)
        self.state.position = rows[-1].seq

    def _fold(self, rows: list[ChainRow], head: Any) -> None:
        """Apply a verified transaction's events to the state, checking nothing."""
        self.last_time = head.timestamp
        if isinstance(head, CommandRecord.Accepted) and head.name == "draw.commit":
            # Later draw commands decide on the inputs this commitment froze.
            body = msgspec.json.decode(head.command, type=CommandContent).body
            task_id = body.get("task_id")
            if isinstance(task_id, str) and task_id in self.draws.tasks:
                self.frozen[task_id] = self._commit_inputs(task_id, head.timestamp, rows)
        for event in [head, *(self._decode(row) for row in rows[1:])]:
            self.state.apply(event)
        self._advance(rows)

    def _decode(self, row: ChainRow) -> Any:
        assert row.originator_id is not None and row.originator_version is not None and row.topic and row.state
        try:
            return self.mapper.to_domain_event(StoredEvent(row.originator_id, row.originator_version, row.topic, row.state))
        except Exception as error:  # noqa: BLE001 - any undecodable event is a finding, with its position
            raise ReplayProblem(row.seq, f"event {row.topic} cannot be read: {error}") from None

    def _check_time(self, first: int, moment: datetime) -> None:
        if self.last_time is not None and moment < self.last_time:
            raise ReplayProblem(first, f"recorded time {rfc3339(moment)} goes back before {rfc3339(self.last_time)}")
        self.last_time = moment

    # -- accepted commands -------------------------------------------------------

    def _check_command(self, first: int, rows: list[ChainRow], head: Any) -> list[Any]:
        signed = SignedCommand(command=head.command, signature=head.signature, key_id=head.key_id)
        try:
            if first == 1:
                command = authenticate_genesis(signed, head.timestamp)
            else:
                command = authenticate(self.state, signed, head.timestamp)
        except Refusal as refusal:
            raise ReplayProblem(first, f"command {head.name} by {head.actor!r}: {refusal.message} [{refusal.code}]") from None
        if first != 1 and command.name == "ledger.genesis":
            raise ReplayProblem(first, "a second genesis command")
        try:
            self.state.copies = False
            with recorded_time(head.timestamp):
                if first == 1:
                    expected = [CommandRecord.of(command), *decide_genesis(self.state, command)]
                else:
                    expected = decide(self.state, command, self._attachment(command, rows))
        except Refusal as refusal:
            raise ReplayProblem(first, f"command {command.name} by {command.actor_id!r}: the rules refuse it:"
                                       f" {refusal.message} [{refusal.code}]") from None
        finally:
            self.state.copies = True
        self._compare(first, command, rows, _events_of(expected))
        self.report.commands[command.name] += 1
        if command.name == "draw.commit":
            # Frozen for this commitment's draw, and for the substitutions and 补抽 after it.
            self.frozen[command.content.body.get("task_id")] = self._pending_inputs
        return expected

    def _attachment(self, command: Command, rows: list[ChainRow]) -> Any:
        """What the write path handed the decision, rebuilt from events alone."""
        if command.name in ("directory.import", "directory.commit_staged"):
            # A staged import's commit: its rows, checked by the decision against the staged chunks.
            return self._import_rows(rows)
        if command.name == "directory.stage":
            return self._staged_rows(command, rows)
        task_id = command.content.body.get("task_id")
        if command.name == "draw.commit" and isinstance(task_id, str) and task_id in self.draws.tasks:
            self._pending_inputs = self._commit_inputs(task_id, command.recorded_at, rows)
            return self._pending_inputs
        if command.name in FROZEN_INPUTS and isinstance(task_id, str):
            return self.frozen.get(task_id)
        return None

    def _commit_inputs(self, task_id: str, recorded_at: datetime, rows: list[ChainRow]) -> DrawInputs:
        """The draw inputs a commitment of `task_id` freezes at the current position."""
        from ledger.domain.classes import draw_settings

        live = self.state.get(Task, Task.create_id(task_id))
        in_force = draw_settings(self.state)
        return self.draws.inputs_at(task_id, self.state.position, rfc3339(recorded_at),
                                    governance(self.state).draw_cooling_off_days, _salt_key(rows),
                                    classes=in_force.codes, window_end=live.window_end.isoformat() if live else "",
                                    annual_cap=in_force.annual_cap_per_firm)

    def _import_rows(self, rows: list[ChainRow]) -> list[Any]:
        """An import's rows, from its stored events (decoding only what carries a row)."""
        kind, unchanged, carried = "", (), []
        try:
            for row in rows[1:]:
                topic = row.topic or ""
                if topic == IMPORT_TOPIC:
                    record = msgspec.json.decode(row.state or b"", type=_ImportRecord)
                    kind, unchanged = record.kind, record.unchanged
                elif topic in _RECORD_TYPES:
                    carried.append(_RECORD_TYPES[topic].decode(row.state or b"").record)
                elif topic == CONFLICT_TOPIC:
                    c = msgspec.json.decode(row.state or b"", type=_Conflict)
                    carried.append(conflict_row(c.badge, c.uscc, c.reason))
                elif topic == RECLASSIFIED_TOPIC:
                    r = msgspec.json.decode(row.state or b"", type=_Reclassified)
                    carried.append(reclass_row(r.uscc, r.risk_class))
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise ReplayProblem(rows[0].seq, f"an import's events cannot be read: {error}") from None
        return rows_of_import(self.state, kind, carried, unchanged) if kind else []

    def _staged_rows(self, command: Command, rows: list[ChainRow]) -> list[Any]:
        """A staged chunk's rows, from its stored event, typed as the signed body's kind says."""
        kind = command.content.body.get("kind")
        if kind not in _CHUNK_DECODERS:
            return []
        for row in rows[1:]:
            if row.topic == CHUNK_TOPIC:
                try:
                    return _CHUNK_DECODERS[kind].decode(row.state or b"").rows  # type: ignore[no-any-return]
                except (msgspec.DecodeError, msgspec.ValidationError) as error:
                    raise ReplayProblem(row.seq, f"a staged chunk cannot be read: {error}") from None
        return []

    def _compare(self, first: int, command: Command, rows: list[ChainRow], expected: list[Any]) -> None:
        stored = [self.mapper.to_stored_event(e) for e in expected]
        for index, (row, want) in enumerate(zip(rows, stored)):
            same = (row.originator_id == want.originator_id and row.originator_version == want.originator_version
                    and row.topic == want.topic and row.state == want.state)
            if not same:
                what = "payload" if row.topic == want.topic and row.originator_id == want.originator_id else "event"
                raise ReplayProblem(row.seq, f"command {command.name} by {command.actor_id!r}: stored {row.topic}"
                                             f" differs from what the rules produce ({what}: expected {want.topic}"
                                             f" v{want.originator_version})")
        if len(rows) != len(stored):
            at = rows[len(stored)].seq if len(rows) > len(stored) else rows[-1].seq
            raise ReplayProblem(at, f"command {command.name} by {command.actor_id!r}: {len(rows)} events stored,"
                                    f" the rules produce {len(stored)}")

    # -- refusal records -----------------------------------------------------------

    def _check_refusal(self, first: int, rows: list[ChainRow], events: list[Any]) -> None:
        refused = [e for e in events if isinstance(e, RefusalLog.Refused)]
        suppressed = [e for e in events if isinstance(e, RefusalLog.Suppressed)]
        if len(refused) + len(suppressed) != 1:
            raise ReplayProblem(first, "a refusal transaction records exactly one refusal or one counter")
        if suppressed:
            counter = suppressed[0]
            log = self.state.get(RefusalLog, counter.originator_id)
            if log is None or log.has_room() or not RefusalLog.counter_due(counter.count) \
                    or counter.count <= log.suppressed_logged:
                raise ReplayProblem(first, "a suppressed-refusals counter where the rules allow none")
            self.report.suppressed += 1
            return
        record = refused[0]
        if record.truncated:
            if record.authenticated:
                raise ReplayProblem(first, "an authenticated refusal's command is not kept whole")
            self.report.refusals += 1
            return  # junk beyond the evidence bound: nothing to re-execute
        signed = SignedCommand(command=record.command, signature=record.signature, key_id=record.key_id)
        command: Command | None = None
        try:
            command = authenticate(self.state, signed, record.timestamp)
            if command.name in ROW_COMMANDS and record.code in IMPORT_ROW_CODES:
                # A refused import's rows are not kept, so its row checks cannot
                # run again: the signature and the code's kind are what is checked.
                raise Refusal(record.code, record.reason)
            with recorded_time(record.timestamp):
                attachment = self._refused_attachment(command)
                decide(self.state, command, attachment)
        except Refusal as refusal:
            outcome = refusal
        else:
            raise ReplayProblem(first, f"a refusal of {record.command_name} by {record.claimed_actor!r}"
                                       f" ({record.code}) that the rules accept: the command was censored")
        if command is None and record.authenticated:
            raise ReplayProblem(first, f"a refusal recorded as authenticated fails authentication: {outcome.message}")
        if (command is not None) != record.authenticated or outcome.code != record.code:
            raise ReplayProblem(first, f"refusal recorded as {record.code} (authenticated={record.authenticated});"
                                       f" the rules refuse with {outcome.code} (authenticated={command is not None})")
        self._compare_refusal(first, rows, signed, command, outcome, record.timestamp, refusal_events)
        self.report.refusals += 1

    def _refused_attachment(self, command: Command) -> Any:
        if command.name == "draw.commit" or command.name in FROZEN_INPUTS:
            return self._attachment(command, [])
        return None

    def _compare_refusal(self, first: int, rows: list[ChainRow], signed: SignedCommand, command: Command | None,
                         refusal: Refusal, moment: datetime, make: Any) -> None:
        expected = _events_of(make(self.state, signed, command, refusal, moment, None))
        stored = [self.mapper.to_stored_event(e) for e in expected]
        if [(r.originator_id, r.originator_version, r.topic, r.state) for r in rows] != \
                [(s.originator_id, s.originator_version, s.topic, s.state) for s in stored]:
            raise ReplayProblem(first, "the refusal record differs from what the rules record for it")


def reexecute(reader: LedgerReader, on_progress: Callable[[int], None] | None = None,
              check_from: int = 0) -> ReplayReport:
    """Re-execute the ledger (after `check_from`, folding the verified prefix);
    ReplayProblem names the first violation."""
    return Reexecution(reader, on_progress).run(check_from)

