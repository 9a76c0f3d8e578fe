"""Feeds: the whole ledger for authorised auditors, disclosed results for the public.

Ledger feed (`ledger_page`): whole signed transactions after a position, as
stored. Each event carries its exact stored payload (bytes, base64 in JSON),
its chain hash and position; each transaction its ledger signature; and an
accepted command's transaction its signed command (the exact signed bytes,
the actor's signature and key id, as the opening `drledger/command/Accepted`
event holds them). A mirror (services/mirror.py) appends these rows to its
copy unchanged and verifies them.

Disclosed feed (`disclosed_since`): one line per result made public, in
position order: its `Disclosed` event (a reviewer of the department approved
and published it, 已公示). One result per (task_id, uscc, department): in a
joint task each department publishes its own. A published result is final
(a correction or a return of it is refused), so each result appears once,
with the content it was published with (corrections while under review
come before it and are not public). Each line carries the result as
`public_results` publishes it (same record and masking).
Resume with `since` = the last position read. docs/auditors.md and
docs/publicity-feed.md describe both for their consumers.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from ledger.store.config import StoreConfig
from ledger.store.raw_copy import RawRow, read_page, topic_rows_after
from ledger.store.reader import TransactionRow, open_reader

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "DisclosedLine", "FeedCommand", "FeedError", "FeedEvent", "FeedTransaction",
           "LedgerPage", "disclosed_since", "ledger_page", "raw_rows", "transaction_rows"]

DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000
COMMAND_TOPIC = "drledger/command/Accepted"
DISCLOSED_TOPIC = "drledger/result/Disclosed"


class FeedError(ValueError):
    """A feed request that cannot be answered as asked (the message names the parameter)."""


class FeedEvent(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    position: int
    notification_id: int
    hash: bytes  # the chain hash (base64 in JSON)
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes  # the stored payload, exactly (base64 in JSON)


class FeedCommand(msgspec.Struct, kw_only=True):
    actor: str
    name: str
    command: bytes  # the canonical JSON the actor signed, exactly
    signature: bytes  # Ed25519 over "drledger/command/v2\n" || command
    key_id: str


class FeedTransaction(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    first: int
    last: int
    key_id: str  # the ledger key that signed it
    signed_at_us: int
    signature: bytes  # Ed25519 over the transaction message (integrity/chain.py)
    events: list[FeedEvent]
    command: FeedCommand | None = None  # None: a ledger-internal transaction (e.g. a refusal record)


class LedgerPage(msgspec.Struct, kw_only=True):
    origin: str
    since: int
    next: int  # the position this page ends at: `since` of the next request
    size: int  # the ledger's size when the page was read
    more: bool
    transactions: list[FeedTransaction]


class _Accepted(msgspec.Struct):
    actor: str
    name: str
    command: bytes
    signature: bytes
    key_id: str


def _check(since: int, limit: int) -> None:
    if not 0 <= since < 1 << 63:
        raise FeedError(f"since: must be a position in [0, 2^63), got {since}")
    if not 1 <= limit <= MAX_LIMIT:
        raise FeedError(f"limit: must be 1..{MAX_LIMIT}, got {limit}")


def ledger_page(config: StoreConfig, since: int = 0, limit: int = DEFAULT_LIMIT) -> LedgerPage:
    """Whole transactions after `since`, up to `limit` events (one transaction even if larger)."""
    _check(since, limit)
    from ledger.services.ledger import ledger_origin

    origin = ledger_origin(config)
    with open_reader(config) as reader:
        size = reader.size()
        if since > size:
            raise FeedError(f"since: the ledger has {size} events, not {since}")
        transactions, rows = read_page(reader, since, limit)
    if transactions and transactions[0].first_seq != since + 1:
        raise FeedError(f"since: position {since} is inside the signed transaction"
                        f" {transactions[0].first_seq}-{transactions[0].last_seq}: start at a transaction's end")
    by_seq = {r.seq: r for r in rows}
    out = []
    for tx in transactions:
        events = [FeedEvent(position=s, notification_id=by_seq[s].notification_id, hash=by_seq[s].hash,
                            originator_id=by_seq[s].originator_id, originator_version=by_seq[s].originator_version,
                            topic=by_seq[s].topic, state=by_seq[s].state)
                  for s in range(tx.first_seq, tx.last_seq + 1) if s in by_seq]
        command = None
        if events and events[0].topic == COMMAND_TOPIC:
            accepted = msgspec.json.decode(events[0].state, type=_Accepted)
            command = FeedCommand(actor=accepted.actor, name=accepted.name, command=accepted.command,
                                  signature=accepted.signature, key_id=accepted.key_id)
        out.append(FeedTransaction(first=tx.first_seq, last=tx.last_seq, key_id=tx.key_id,
                                   signed_at_us=tx.signed_at_us, signature=tx.signature, events=events,
                                   command=command))
    end = transactions[-1].last_seq if transactions else since
    return LedgerPage(origin=origin, since=since, next=end, size=size, more=end < size, transactions=out)


def transaction_rows(tx: FeedTransaction) -> TransactionRow:
    return TransactionRow(tx.first, tx.last, tx.key_id, tx.signed_at_us, tx.signature)


def raw_rows(tx: FeedTransaction) -> list[RawRow]:
    return [RawRow(e.position, e.notification_id, e.hash, e.originator_id, e.originator_version, e.topic, e.state)
            for e in tx.events]


# ---------------------------------------------------------------- disclosed results


class DisclosedLine(msgspec.Struct, kw_only=True):
    position: int  # the ledger position of the event: resume with since=<last position read>
    kind: str  # disclosed
    event_hash: str  # hex chain hash of that event (check it against the log: docs/transparency-log.md)
    recorded_at: str  # the ledger's recorded time of the event (RFC 3339 UTC)
    task_id: str
    task_name: str
    uscc: str  # 统一社会信用代码
    entity_name: str
    department: str  # the department that published it
    category: str  # the first selected
    category_label: str
    categories: list[str]  # every selected category (multi-select)
    category_labels: list[str]
    findings: str
    inspected_on: str
    disclosed_on: str
    corrections: int  # corrections while under review, before publication
    inspectors: list[str]  # the department's own, masked as the ledger's settings say


class _ResultKey(msgspec.Struct):
    task_id: str
    uscc: str
    department: str = ""
    timestamp: str = ""


def disclosed_since(config: StoreConfig, since: int = 0, limit: int = DEFAULT_LIMIT) -> list[DisclosedLine]:
    """At most `limit` lines for results published after `since`, in position order (fewer only
    when the feed is read to its end)."""
    _check(since, limit)
    from ledger.services.reports import public_results

    public: dict[tuple[str, str, str], Any] = {}
    tasks_read: set[str] = set()
    lines: list[DisclosedLine] = []
    while len(lines) < limit:
        with open_reader(config) as reader:
            found = topic_rows_after(reader, (DISCLOSED_TOPIC,), since, limit)
        if not found:
            break
        keys = {row.seq: msgspec.json.decode(row.state, type=_ResultKey) for row in found}
        for task in sorted({k.task_id for k in keys.values()} - tasks_read):  # only the tasks this page names
            public.update({(r.task_id, r.uscc, r.department): r for r in public_results(config, task)})
            tasks_read.add(task)
        for row in found:
            if len(lines) == limit:
                break
            key = keys[row.seq]
            result = public.get((key.task_id, key.uscc, key.department))
            if result is None:  # the read models lag behind the chain: stop here, the next call resumes
                return lines
            since = row.seq
            lines.append(DisclosedLine(
                position=row.seq, kind="disclosed", event_hash=row.hash.hex(), recorded_at=key.timestamp,
                task_id=result.task_id, task_name=result.task_name, uscc=result.uscc,
                entity_name=result.entity_name, department=result.department, category=result.category,
                category_label=result.category_label, categories=list(result.categories),
                category_labels=list(result.category_labels), findings=result.findings,
                inspected_on=result.inspected_on, disclosed_on=result.disclosed_on, corrections=result.corrections,
                inspectors=result.inspectors))
    return lines
