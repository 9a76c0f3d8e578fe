"""Listings the HTTP API serves beside the CLI's queries: the log's entries and one aggregate's events.

The log page comes from the chain (positions, topics, hashes; never payloads:
those are for authorised auditors through the feeds); both read the store
through store/reader.py. Plans and tasks are services/finding.py's, shared
with `drledger plan|task list` (their rows: projections/finding.py).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.store.config import StoreConfig


class LogEntry(msgspec.Struct, kw_only=True):
    position: int
    hash: str  # the chained event hash (hex)
    topic: str | None
    aggregate: str | None
    version: int | None


def log_page(config: StoreConfig, start: int, limit: int) -> tuple[list[LogEntry], int]:
    """Entries start..start+limit-1 of the log, and the log's size."""
    from ledger.store.reader import open_reader

    with open_reader(config) as reader:
        size = reader.size()
        last = min(size, start + limit - 1)
        rows = list(reader.rows(start, last)) if start <= last else []
    return [LogEntry(position=r.seq, hash=r.hash.hex(), topic=r.topic,
                     aggregate=str(r.originator_id) if r.originator_id else None, version=r.originator_version)
            for r in rows], size


class StoredEventOut(msgspec.Struct, kw_only=True):
    """One stored event, exactly as stored (the payload's canonical bytes in base64)."""

    originator_id: str
    version: int
    topic: str
    state: bytes
    position: int | None = None  # its position in the log (None: not stored, a preview)


def aggregate_events(config: StoreConfig, aggregate_id: Any) -> list[StoredEventOut]:
    """Every stored event of one aggregate with its log position, in version order."""
    from ledger.store.reader import open_reader

    with open_reader(config) as reader:
        rows = reader.aggregate_events(aggregate_id)
    return [StoredEventOut(originator_id=str(aggregate_id), version=version, topic=topic, state=state, position=seq)
            for version, topic, state, seq in rows]
