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

Group commit (`submit_batch`): commands that queued while the writer was busy
are taken together under one hold of the lock. Each is decided in turn on the
state including the ones before it (their aggregates kept aside, `decided`);
each accepted command and each refusal record stays its own signed ledger
transaction, exactly as if submitted alone (so `verify` sees no difference),
but all of them are written in ONE store transaction: one commit, one
catch-up of the read models. A refusal or an error in one command leaves
the others standing; a failed store write fails them all, and none is
written. A command whose attachment is read at the head (a draw's inputs)
starts a new group, so the head it reads is its own position.

The state a decision reads is the aggregates as of the head, loaded from
events (with eventsourcing's snapshots and cache), under the writer lock, so
it is exactly the state `verify` derives at that position. The cache is made
current at the head when the lock is taken: the aggregates other writers
appended to since are dropped (one query), so a cached read costs no query. Attachments that
are not in the signed body (an import's rows; a draw's inputs, read from the
read models at the head) are checked by the decision, and `verify` rebuilds
them from events alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.application import LRUCache

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
from ledger.store.bulk import Streamed
from ledger.store.config import StoreConfig
from ledger.store.connection import connect
from ledger.store.counters import count_suppressed
from ledger.store.locks import WriterLock
from ledger.store.reader import LedgerReader

# Positions appended by other writers beyond which the whole aggregate cache is dropped
# rather than the aggregates they touched looked up.
MAX_CACHE_GAP = 2000

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
    update are fresh copies. `decided`: the aggregates as the earlier commands
    of the same batch left them (not stored yet), which win over the store."""

    def __init__(self, app: LedgerApplication, position: int, decided: dict[UUID, Any] | None = None,
                 absent: frozenset[UUID] = frozenset(), *, bulk_writes: bool = False) -> None:
        self.app = app
        self.position = position
        self.decided: dict[UUID, Any] = {} if decided is None else decided
        self.absent = absent  # ids with no event at the head (looked up for the whole batch at once)
        self.preloaded: dict[UUID, Any] = {}
        self.read: dict[UUID, Any] = {}
        # Decisions may return runs of new directory rows (domain NewEntries), whose stored
        # bytes the application writes directly: only for a batch of one command (_Batch).
        self.bulk_writes = bulk_writes

    def preload(self, aggregate_ids: list[UUID]) -> None:
        """Load many aggregates at once; each is then handed out once (a fresh object)."""
        missing = [i for i in aggregate_ids if i not in self.preloaded and i not in self.decided]
        loaded = self.app.find_many(missing)
        self.preloaded.update({i: loaded.get(i) for i in missing})

    def get(self, cls: type, aggregate_id: UUID) -> Any:
        return self._get(cls, aggregate_id, copy=False)

    def get_for_update(self, cls: type, aggregate_id: UUID) -> Any:
        return self._get(cls, aggregate_id, copy=True)

    def _get(self, cls: type, aggregate_id: UUID, copy: bool) -> Any:
        if aggregate_id in self.decided:
            # Shared by the batch: a refused decision must not leave its changes in it.
            found = deepcopy(self.decided[aggregate_id]) if copy else self.decided[aggregate_id]
        elif aggregate_id in self.absent:
            found = None
        elif aggregate_id in self.preloaded:
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


@dataclass(frozen=True)
class Entry:
    """One signed command to submit, with its attachment or the source that reads it at the head."""

    signed: SignedCommand
    attachment: Any = None
    attachment_source: AttachmentSource | None = None


@dataclass(frozen=True)
class Outcome:
    """What one command of a batch came to: its receipt, or its error (CommandRefused: recorded,
    with its receipt; anything else: a failure, nothing written for it)."""

    receipt: Receipt | None = None
    retried: bool = False  # the first receipt again, for a retry of the same bytes
    error: Exception | None = None


@dataclass(frozen=True)
class _Transaction:
    """One signed ledger transaction of a batch: a command's events, or a refusal record."""

    signed: SignedCommand
    events: Streamed  # encoded, but for a run of new directory rows (written as it is inserted)
    first: int
    last: int
    outcome: str
    code: str | None


class _Batch:
    """The transactions decided under one hold of the writer lock, and the state they leave."""

    def __init__(self, head: int, absent: frozenset[UUID] = frozenset(), *, bulk: bool = False) -> None:
        self.position = head  # the head once the transactions so far are written
        self.absent = absent  # command record ids not in the store at the head
        # Decisions may return runs of new directory rows (NewEntries, written directly by the
        # store) only in a batch of one command: a later command of the batch would not find
        # those rows among the decided aggregates.
        self.bulk = bulk
        self.decided: dict[UUID, Any] = {}
        self.transactions: list[_Transaction] = []
        self.accepted: dict[UUID, int] = {}  # command record id -> its transaction's index

    def add(self, app: LedgerApplication, signed: SignedCommand, aggregates: list[Any], outcome: str,
            code: str | None) -> int:
        """Take the aggregates' new events as one transaction; its index."""
        events = Streamed(aggregates, app.mapper)
        for aggregate in aggregates:
            if isinstance(aggregate, NewEntries):  # its rows are read from the store once written
                continue
            self.decided[aggregate.id] = aggregate
            if isinstance(aggregate, CommandRecord):
                self.accepted[aggregate.id] = len(self.transactions)
        self.transactions.append(_Transaction(signed, events, self.position + 1, self.position + len(events),
                                              outcome, code))
        self.position += len(events)
        return len(self.transactions) - 1


@dataclass
class _Plan:
    """A command's answer: known at once (`outcome`), or the receipt of the batch's transaction
    `index` once written (a refusal's `refused` then carries it)."""

    outcome: Outcome = Outcome()
    index: int | None = None
    retried: bool = False
    refused: CommandRefused | None = None

    def answer(self, receipts: list[Receipt]) -> Outcome:
        if self.index is None:
            return self.outcome
        if self.refused is not None:
            self.refused.receipt = receipts[self.index]
            return Outcome(error=self.refused)
        return Outcome(receipt=receipts[self.index], retried=self.retried)


class CommandProcessor:
    """Submit signed commands to one ledger (close it, or use `with`)."""

    def __init__(self, app: LedgerApplication, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.app = app
        self.config = app.config
        self.clock = clock
        self.ledger = app.ledger()
        app.skip_empty_snapshots()  # a load of an aggregate is then one query, not two
        # One autocommit connection for the processor's own reads (head, receipts) and
        # one for the writer lock, both kept for the processor's life.
        self.reader = LedgerReader(*connect(self.config, "write"))
        self.lock = WriterLock(self.config)
        self.known_head = -1  # the head its cached aggregates are current at (-1: none yet)

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
        """One command: a batch of one (CommandRefused if refused)."""
        outcome = self.submit_batch([Entry(signed, attachment, attachment_source)])[0]
        if outcome.error is not None:
            raise outcome.error
        assert outcome.receipt is not None
        return outcome.receipt

    def submit_batch(self, entries: Sequence[Entry]) -> list[Outcome]:
        """Each entry's outcome, in order (module doc: group commit). An entry whose attachment
        is read at the head starts a new group, written before it is decided."""
        groups: list[list[Entry]] = []
        for entry in entries:
            if not groups or entry.attachment_source is not None:
                groups.append([])
            groups[-1].append(entry)
        return [outcome for group in groups for outcome in self._submit_group(group)]

    def _submit_group(self, entries: list[Entry]) -> list[Outcome]:
        with self.lock, self._cache_current_at_head() as head:
            now = max(self.clock(), head.recorded_at)
            batch = _Batch(head.position, self._absent_records(entries), bulk=len(entries) == 1)
            plans = [self._decide(batch, entry, now) for entry in entries]
            if not batch.transactions:
                return [plan.outcome for plan in plans]
            try:
                self._save(batch)
            except Exception as error:  # noqa: BLE001 - nothing was written: each command it held fails
                return [plan.outcome if plan.index is None else Outcome(error=error) for plan in plans]
            hashes = self.reader.hashes(head.position + 1, batch.position)
            receipts = [self._receipt_of(tx, hashes[tx.first - head.position - 1:tx.last - head.position], now)
                        for tx in batch.transactions]
            return [plan.answer(receipts) for plan in plans]

    @contextmanager
    def _cache_current_at_head(self) -> Iterator[Head]:
        """Under the writer lock: the head, with the cached aggregates made those at the head,
        so that reading one needs no fast-forward query each. The ones other writers appended
        to since this processor's cache was current are dropped (found in one query; after many
        appends, all of them). Outside the lock every cached read fast-forwards again (reads
        beside the write path, while other writers append)."""
        head = head_of(self.reader)
        repository = self.app.repository
        cache = repository.cache
        if head.position != self.known_head and cache is not None:
            if 0 <= self.known_head < head.position and head.position - self.known_head <= MAX_CACHE_GAP:
                for aggregate_id in self.reader.originators_between(self.known_head, head.position):
                    with suppress(KeyError):
                        cache.get(aggregate_id, evict=True)
            else:
                repository.cache = LRUCache(maxsize=cache.maxsize)  # type: ignore[attr-defined]
        self.known_head = head.position
        repository.fastforward = False
        try:
            yield head
        finally:
            repository.fastforward = True

    def _absent_records(self, entries: list[Entry]) -> frozenset[UUID]:
        """The command record ids the entries claim (actor, nonce) that the store does not hold:
        each command looks its own up twice (a retry? a reused nonce?), here one query for all."""
        claimed = set()
        for entry in entries:
            with suppress(Refusal):
                claim = claim_of(entry.signed)
                if claim.nonce:
                    claimed.add(CommandRecord.id_for(claim.actor, claim.nonce))
        return frozenset(claimed - set(self.app.find_many(sorted(claimed)))) if claimed else frozenset()

    def _decide(self, batch: _Batch, entry: Entry, now: datetime) -> _Plan:
        """Decide one command of the batch on the state the commands before it left."""
        state = RepositoryState(self.app, batch.position, batch.decided, batch.absent, bulk_writes=batch.bulk)
        signed = entry.signed
        try:
            retry = self._retry(batch, state, signed)
            if retry is not None:
                return retry
            try:
                command = authenticate(state, signed, now)
            except Refusal as refusal:
                return self._refuse(batch, state, signed, None, refusal, now)
            try:
                attachment = entry.attachment
                if entry.attachment_source is not None:
                    command_spec(command)  # no costly attachment for an actor the rules refuse anyway
                    attachment = entry.attachment_source(command, batch.position)
                with recorded_time(now):
                    aggregates = decide(state, command, attachment)
            except Refusal as refusal:
                return self._refuse(batch, state, signed, command, refusal, now)
            return _Plan(index=batch.add(self.app, signed, aggregates, "accepted", None))
        except Exception as error:  # noqa: BLE001 - this command's failure, not the batch's
            return _Plan(outcome=Outcome(error=error))

    def _save(self, batch: _Batch) -> None:
        """Write the batch's transactions in one store transaction, then keep the decided
        aggregates as the cache's current ones (the application's save does not; this
        processor fast-forwards them only after another writer appended)."""
        self.app.save_transactions([tx.events for tx in batch.transactions])
        cache = self.app.repository.cache
        if cache is not None:
            for aggregate_id, aggregate in batch.decided.items():
                cache.put(aggregate_id, aggregate)
        self.known_head = batch.position

    def preview(self, signed: SignedCommand, attachment: Any = None) -> list[Any]:
        """The events `signed` would yield now, without writing anything (Refusal if refused)."""
        with self.lock, self._cache_current_at_head() as head:
            now = max(self.clock(), head.recorded_at)
            state = RepositoryState(self.app, head.position)
            command = authenticate(state, signed, now)
            with recorded_time(now):
                return [e for a in decide(state, command, attachment) for e in a.collect_events()]

    def _retry(self, batch: _Batch, state: RepositoryState, signed: SignedCommand) -> _Plan | None:
        """The first receipt again, for a retry of the exact signed bytes of an accepted command
        (accepted before, or earlier in this batch)."""
        try:
            claim = claim_of(signed)
        except Refusal:
            return None
        record_id = CommandRecord.id_for(claim.actor, claim.nonce) if claim.nonce else None
        record = state.get(CommandRecord, record_id) if record_id is not None else None
        if record is None or record.command != signed.command or record.signature != signed.signature:
            return None
        if record_id in batch.accepted:
            return _Plan(index=batch.accepted[record_id], retried=True)
        first, last, _, recorded_at = self.reader.transaction_holding(record.id)
        receipt = self._receipt(signed, first, last, recorded_at, "accepted", None)
        return _Plan(outcome=Outcome(receipt=receipt, retried=True))

    def _receipt(self, signed: SignedCommand, first: int, last: int, recorded_at: str, outcome: str,
                 code: str | None, hashes: list[str] | None = None) -> Receipt:
        return sign_receipt(self.app.integrity.signer, origin=self.ledger.origin, outcome=outcome,
                            command_sha256=hashlib.sha256(signed.command).hexdigest(), first=first, last=last,
                            event_hashes=self.reader.hashes(first, last) if hashes is None else hashes,
                            recorded_at=recorded_at, code=code)

    def _receipt_of(self, tx: _Transaction, hashes: list[str], now: datetime) -> Receipt:
        return self._receipt(tx.signed, tx.first, tx.last, rfc3339(now), tx.outcome, tx.code, hashes)

    # -- refusals ------------------------------------------------------------------

    def _refuse(self, batch: _Batch, state: RepositoryState, signed: SignedCommand, command: Command | None,
                refusal: Refusal, now: datetime) -> _Plan:
        """Record the refusal (bounded per bucket and hour) as its own transaction of the batch."""
        events = refusal_events(state, signed, command, refusal, now, self._count_suppressed)
        error = CommandRefused(refusal.code, refusal.message, None)
        if not events:
            return _Plan(outcome=Outcome(error=error))
        return _Plan(index=batch.add(self.app, signed, events, "refused", refusal.code), refused=error)

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
