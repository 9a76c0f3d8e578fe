"""Bulk-written imports (domain NewEntries, store/bulk.py): the stored bytes are exactly
what the aggregates would store, `verify` re-executes them unchanged, and an insider's
edit of a bulk-written row is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ledger.demo.city import generate_city
from ledger.domain.base import recorded_time
from ledger.domain.directory import Department, Entity, InspectionItem, Inspector, NewEntries
from ledger.domain.rows import EntityRow
from ledger.integrity.chain import GENESIS_PREV, event_hash
from ledger.services.setup import load_ledger_signer, trusted_ledger_key
from ledger.store import recorders
from ledger.store.bulk import registered_events
from ledger.store.config import StoreConfig
from ledger.store.mapper import CanonicalMapper
from ledger.verify.ledger_check import verify_ledger
from tests.ledger_helpers import Raw, entity_rows, ledger_with_entities

CITY = generate_city(5, small=True)
MAPPER = CanonicalMapper()


def odd_entities() -> list[EntityRow]:
    """Rows whose encoding has edges: quotes, backslashes, non-BMP text, flags, no departments."""
    base = entity_rows(4)
    return [
        base[0],
        EntityRow(base[1].uscc, '名称"引号"\\反斜杠 𠀀', "individual", "360502", "F52", "D", (), "active", False),
        EntityRow(base[2].uscc, "多部门", "enterprise", "360502", "", "A", ("XY-SCJG", "XY-SWJ")),
        base[3],
    ]


@pytest.mark.parametrize("kind, cls", [("departments", Department), ("items", InspectionItem),
                                       ("entities", Entity), ("inspectors", Inspector), ("odd", Entity)])
@pytest.mark.parametrize("moment", [datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC),
                                    datetime(2026, 3, 4, 13, 6, 7, tzinfo=timezone(timedelta(hours=8)))])
def test_bulk_bytes_equal_the_aggregates_bytes(kind: str, cls: type, moment: datetime) -> None:
    rows = odd_entities() if kind == "odd" else list(CITY.rows(kind))[:50]
    ids = [cls.id_for(cls.key_of(r)) for r in rows]
    with recorded_time(moment):
        batch = NewEntries(cls, "lm-XY-SCJG", ids, rows)
        normal = [MAPPER.to_stored_event(e) for r, i in zip(rows, ids)
                  for e in cls.register(r, "lm-XY-SCJG", i).collect_events()]
    bulk = list(registered_events(batch, MAPPER))
    assert bulk == normal
    chain = lambda events: [event_hash(GENESIS_PREV, n, e.originator_id, 1, e.topic, e.state)  # noqa: E731
                            for n, e in enumerate(events, 1)]
    assert chain(bulk) == chain(normal)


def test_mixed_new_and_changed_rows_keep_key_order_and_verify(store: StoreConfig) -> None:
    ledger = ledger_with_entities(store, 0)
    ledger.import_rows("admin", "entities", entity_rows(10)[::2])  # the even ones
    rows = [r if i % 2 else EntityRow(**{**{f: getattr(r, f) for f in r.__struct_fields__}, "risk_class": "C"})
            for i, r in enumerate(entity_rows(10))]
    summary = ledger.import_rows("admin", "entities", rows)
    assert (summary.new, summary.changed) == (5, 5)
    raw = Raw(store)
    try:
        first = summary.receipt.first
        topics = [raw.event_at(first + 1 + i)[3] for i in range(10)]
    finally:
        raw.close()
    # Key order alternates new (odd rows) and changed (even rows): runs of one between updates.
    assert topics == ["drledger/entity/Updated", "drledger/entity/Registered"] * 5
    assert verify_ledger(store, trusted_key=trusted_ledger_key(store)).ok


def test_insider_edit_of_a_bulk_written_row_is_refused(store: StoreConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorders, "BULK_EVENTS", 20)  # SQLite: the bulk append's own page cache too
    ledger = ledger_with_entities(store, 0)
    summary = ledger.import_rows("admin", "entities", entity_rows(40))
    assert summary.new == 40
    assert verify_ledger(store, trusted_key=trusted_ledger_key(store)).ok
    raw = Raw(store)
    try:
        target = summary.receipt.first + 17
        _, _, _, topic, state = raw.event_at(target)
        assert topic == "drledger/entity/Registered"
        edited = state.replace(b'"risk_class":"B"', b'"risk_class":"A"', 1)
        assert edited != state
        raw.set_event(target, state=edited)
        # The insider holds the ledger key: chain, tree and every signature made consistent again.
        raw.rechain(load_ledger_signer(store))
    finally:
        raw.close()
    report = verify_ledger(store, trusted_key=trusted_ledger_key(store))
    assert not report.ok
    problem = report.problems[0]
    assert problem.position == summary.receipt.first and "rows_root" in problem.what, problem


def test_natural_ids_are_uuid5_of_kind_and_key() -> None:
    import uuid

    from ledger.domain.base import ID_NAMESPACE, natural_id

    for kind, key in [("entity", "91360502001C3QY0MC"), ("actor", "admin"), ("import", "lm/名录 𠀀"), ("x", "")]:
        assert natural_id(kind, key) == uuid.uuid5(ID_NAMESPACE, f"{kind}:{key}")
