"""The one write path: a signed command in, its events (or its refusal) and a receipt out.

    submit(signed) under the writer lock:
      1. the ledger's time for it (never before the head's), the head position;
      2. a retry of an accepted command (same bytes) gets its first receipt again;
      3. authenticate (actor, key in force, signature, nonce, freshness);
      4. decide(state, command, attachment): the domain's pure rule;
      5. save the command's own event and the decided events in ONE transaction
         (chained, signed and in the Merkle tree: store/recorders.py);
      6. a refusal writes only its refusal record (domain/refusals.py);
      7. a receipt signed by the ledger key: position, event hashes, time.

The state a decision reads is the aggregates as of the head, loaded from
events (with eventsourcing's snapshots and cache), under the writer lock, so
it is exactly the state `verify` derives at that position. Attachments that
are not in the signed body (an import's rows; a draw's inputs, read from the
read models at the head) are checked by the decision, and `verify` rebuilds
them from events alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from ledger.domain.base import recorded_time
from ledger.domain.commands import (
    Command,
    CommandRecord,
    Refusal,
    authenticate,
    claim_of,
    command_spec,
    decide,
)
from ledger.domain.directory import NewEntries
from ledger.domain.refusals import refusal_events
from ledger.integrity.canonical import rfc3339, utc_now
from ledger.integrity.commands import SignedCommand
from ledger.services.receipts import Receipt, sign_receipt
from ledger.store.application import LedgerApplication
from ledger.store.config import StoreConfig
from ledger.store.connection import connect
from ledger.store.counters import count_suppressed
from ledger.store.locks import WriterLock
from ledger.store.reader import LedgerReader

# The attachment of a command whose data is read at the head (a draw's inputs):
# given the authenticated command and the head position, return it.
AttachmentSource = Callable[[Command, int], Any]


class CommandRefused(Exception):
    """A command was refused and its refusal recorded; `code`, `message` and the receipt say so."""

    def __init__(self, code: str, message: str, receipt: Receipt | None) -> None:
        super().__init__(f"refused ({code}): {message}")
        self.code = code
        self.message = message
        self.receipt = receipt


class RepositoryState:
    """The decision state at write time: aggregates loaded from events.

    Read-only gets are remembered for the one decision this state serves
    (a decision reads the settings or its actor several times); gets for
    update are fresh copies."""

    def __init__(self, app: LedgerApplication, position: int) -> None:
        self.app = app
        self.position = position
        self.preloaded: dict[UUID, Any] = {}
        self.read: dict[UUID, Any] = {}
        # Decisions may return runs of new directory rows (domain NewEntries): the
        # application writes their stored bytes directly.
        self.bulk_writes = True

    def preload(self, aggregate_ids: list[UUID]) -> None:
        """Load many aggregates at once; each is then handed out once (a fresh object)."""
        missing = [i for i in aggregate_ids if i not in self.preloaded]
        loaded = self.app.find_many(missing)
        self.preloaded.update({i: loaded.get(i) for i in missing})

    def get(self, cls: type, aggregate_id: UUID) -> Any:
        return self._get(cls, aggregate_id, copy=False)

    def get_for_update(self, cls: type, aggregate_id: UUID) -> Any:
        return self._get(cls, aggregate_id, copy=True)

    def _get(self, cls: type, aggregate_id: UUID, copy: bool) -> Any:
        if aggregate_id in self.preloaded:
            # Loaded for this decision alone: reads share it until it is handed out for update.
            found = self.preloaded.pop(aggregate_id) if copy else self.preloaded[aggregate_id]
        elif not copy:
            if aggregate_id not in self.read:
                self.read[aggregate_id] = self.app.find(aggregate_id, copy=False)
            found = self.read[aggregate_id]
        else:
            found = self.app.find(aggregate_id, copy=True)
        return found if found is None or isinstance(found, cls) else None


@dataclass(frozen=True)
class Head:
    position: int
    recorded_at: datetime  # time of the newest event, or the epoch


class _Ts(msgspec.Struct):
    timestamp: datetime | None = None


class CommandProcessor:
    """Submit signed commands to one ledger (close it, or use `with`)."""

    def __init__(self, app: LedgerApplication, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.app = app
        self.config = app.config
        self.clock = clock
        self.ledger = app.ledger()
        # One autocommit connection for the processor's own reads (head, receipts) and
        # one for the writer lock, both kept for the processor's life.
        self.reader = LedgerReader(*connect(self.config, "write"))
        self.lock = WriterLock(self.config)
        self.known_head = -1  # the head right after this processor's last write

    def __enter__(self) -> CommandProcessor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.lock.close()
            self.reader.close()
        finally:
            self.app.close()

    # -- the write path ----------------------------------------------------------

    def submit(self, signed: SignedCommand, attachment: Any = None,
               attachment_source: AttachmentSource | None = None) -> Receipt:
        with self.lock:
            head = head_of(self.reader)
            now = max(self.clock(), head.recorded_at)
            # Cached aggregates are current when nobody appended since this processor's own
            # last write: then they need no fast-forward query each.
            self.app.repository.fastforward = head.position != self.known_head
            state = RepositoryState(self.app, head.position)
            retry = self._retry_receipt(state, signed)
            if retry is not None:
                return retry
            try:
                command = authenticate(state, signed, now)
            except Refusal as refusal:
                raise self._refuse(state, signed, None, refusal, now) from None
            try:
                if attachment_source is not None:
                    command_spec(command)  # no costly attachment for an actor the rules refuse anyway
                    attachment = attachment_source(command, head.position)
                with recorded_time(now):
                    aggregates = decide(state, command, attachment)
            except Refusal as refusal:
                raise self._refuse(state, signed, command, refusal, now) from None
            recordings = self._save(aggregates, head.position)
            # Under the writer lock nothing else was appended: the transaction follows the head.
            first, last = head.position + 1, head.position + len(recordings)
            return self._receipt(signed, first, last, rfc3339(now), "accepted", None)

    def _save(self, aggregates: list[Any], head: int) -> Sequence[int]:
        """Save, then keep the saved aggregates as the cache's current ones (the application's
        save does not; this processor fast-forwards them only after another writer appended)."""
        saved = self.app.save(*aggregates)
        cache = self.app.repository.cache
        if cache is not None:
            for aggregate in aggregates:
                if not isinstance(aggregate, NewEntries):  # a bulk run's rows are read from the store
                    cache.put(aggregate.id, aggregate)
        self.known_head = head + len(saved)
        return saved

    def preview(self, signed: SignedCommand, attachment: Any = None) -> list[Any]:
        """The events `signed` would yield now, without writing anything (Refusal if refused)."""
        with self.lock:
            head = head_of(self.reader)
            now = max(self.clock(), head.recorded_at)
            state = RepositoryState(self.app, head.position)
            command = authenticate(state, signed, now)
            with recorded_time(now):
                return [e for a in decide(state, command, attachment) for e in a.collect_events()]

    def _retry_receipt(self, state: RepositoryState, signed: SignedCommand) -> Receipt | None:
        """The first receipt again, for a retry of the exact signed bytes of an accepted command."""
        try:
            claim = claim_of(signed)
        except Refusal:
            return None
        record = state.get(CommandRecord, CommandRecord.id_for(claim.actor, claim.nonce)) if claim.nonce else None
        if record is None or record.command != signed.command or record.signature != signed.signature:
            return None
        first, last, _, recorded_at = self.reader.transaction_holding(record.id)
        return self._receipt(signed, first, last, recorded_at, "accepted", None)

    def _receipt(self, signed: SignedCommand, first: int, last: int, recorded_at: str, outcome: str,
                 code: str | None) -> Receipt:
        return sign_receipt(self.app.integrity.signer, origin=self.ledger.origin, outcome=outcome,
                            command_sha256=hashlib.sha256(signed.command).hexdigest(), first=first, last=last,
                            event_hashes=self.reader.hashes(first, last), recorded_at=recorded_at, code=code)

    # -- refusals ------------------------------------------------------------------

    def _refuse(self, state: RepositoryState, signed: SignedCommand, command: Command | None, refusal: Refusal,
                now: datetime) -> CommandRefused:
        """Record the refusal (bounded per bucket and hour) in its own transaction."""
        events = refusal_events(state, signed, command, refusal, now, self._count_suppressed)
        receipt = None
        if events:
            recordings = self._save(events, state.position)
            first, last = state.position + 1, state.position + len(recordings)
            receipt = self._receipt(signed, first, last, rfc3339(now), "refused", refusal.code)
        return CommandRefused(refusal.code, refusal.message, receipt)

    def _count_suppressed(self, bucket: str, hour: str) -> int:
        """Count one more suppressed refusal beside the ledger (a counter, not evidence); the new total."""
        return count_suppressed(self.reader.connection, self.reader.dialect, bucket, hour)


# ---------------------------------------------------------------------------
# The writer lock and the head.


def head_of(reader: LedgerReader) -> Head:
    """The head position and the recorded time of its event (one query)."""
    found = reader.head_event()
    if found is None:
        return Head(0, datetime(1970, 1, 1, tzinfo=UTC))
    moment = msgspec.json.decode(found[1], type=_Ts).timestamp if found[1] else None
    return Head(found[0], moment or datetime(1970, 1, 1, tzinfo=UTC))


def read_head(config: StoreConfig) -> Head:
    from ledger.store.reader import open_reader

    with open_reader(config) as reader:
        return head_of(reader)
