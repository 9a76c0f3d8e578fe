"""Stored events of a run of new directory rows (domain NewEntries), built as bytes.

A `Registered` event's stored payload is the canonical JSON of its fields
(store/mapper.py): actor, originator_topic, record and timestamp. All but the
record are the same for every row of one decision, so the payload is one
prefix, the row's canonical bytes, one suffix: no aggregate, no event object,
no walk of the payload per row. The first row of each run is also built the
normal way (aggregate, event, mapper) and must give the same bytes, so a
change of the event's fields fails loudly here instead of writing events that
`verify` (which re-executes with aggregates) would refuse.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from ledger.domain.directory import NewEntries
from ledger.integrity.canonical import canonical_bytes
from ledger.store.mapper import CanonicalMapper

_MARK = "drledger-bulk-record-\u2603"  # stands for the record while the template is encoded


class BulkMismatch(RuntimeError):
    """The bulk bytes of a row differ from what its aggregate would store (a bug, never written)."""


def registered_events(batch: NewEntries, mapper: CanonicalMapper) -> Iterator[StoredEvent]:
    """The stored `Registered` events of `batch`, in its order."""
    if not batch.rows:
        return
    topic = get_topic(batch.cls.Registered)
    template = canonical_bytes({"actor": batch.actor, "originator_topic": get_topic(batch.cls), "record": _MARK,
                                "timestamp": batch.timestamp})
    prefix, mark, suffix = template.partition(canonical_bytes(_MARK))
    if not mark or canonical_bytes(_MARK) in suffix:
        raise BulkMismatch("the Registered payload template has no single record slot")
    expected = mapper.to_stored_event(batch.collect_events(limit=1)[0])
    first = StoredEvent(batch.ids[0], 1, topic, prefix + canonical_bytes(batch.rows[0]) + suffix)
    if first != expected:
        raise BulkMismatch(f"bulk bytes of {topic} differ from the aggregate's: {first.state[:200]!r}")
    yield first
    for aggregate_id, row in zip(batch.ids[1:], batch.rows[1:]):
        yield StoredEvent(aggregate_id, 1, topic, prefix + canonical_bytes(row) + suffix)


class Streamed:
    """The stored events of one save, made as they are read: a run of new rows (NewEntries)
    is encoded row by row while the store inserts it, so its stored events are never all
    held at once. Sized (the recorder needs the count first); read it once."""

    def __init__(self, parts: list[Any], mapper: CanonicalMapper) -> None:
        # Aggregates' events are collected now (few, and collecting empties the aggregate); a
        # list is stored events already.
        self.parts = [part if isinstance(part, (NewEntries, list)) else
                      [mapper.to_stored_event(e) for e in part.collect_events()] for part in parts]
        self.mapper = mapper

    @classmethod
    def joined(cls, saves: Sequence[Streamed]) -> Streamed:
        """Several saves' events as one, in order (a batch of commands in one store transaction)."""
        joined = cls([], saves[0].mapper)
        joined.parts = [part for save in saves for part in save.parts]
        return joined

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts)

    def __iter__(self) -> Iterator[StoredEvent]:
        for part in self.parts:
            if isinstance(part, NewEntries):
                yield from registered_events(part, self.mapper)
            else:
                yield from part
