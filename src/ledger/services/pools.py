"""Queries over 一单两库 (the read models), caught up with the ledger first.

    entities(config, EntityFilter(risk_classes=("C",)))      # the pool now
    entities(config, EntityFilter(), as_of=1200)              # as of a ledger position

Reads only: every write to the directory is a signed `directory.import`
(services/directory.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ledger.domain.filters import EntityFilter, InspectorFilter
from ledger.domain.rows import DepartmentRow, EntityRow, InspectorRow, ItemRow
from ledger.services.queries import check_position
from ledger.store.config import StoreConfig

__all__ = ["EntityFilter", "EntityRow", "InspectorFilter", "InspectorRow", "ItemRow", "catch_up", "departments", "entities", "inspectors", "items",
           "read", "rebuild"]

T = TypeVar("T")


def catch_up(config: StoreConfig) -> dict[str, int]:
    """Apply the events the read models have not seen yet; name -> position reached."""
    from ledger.projections import all_projections
    from ledger.projections.runner import catch_up as run

    return run(config, all_projections())


def rebuild(config: StoreConfig, on_progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Drop every read model and replay it from the ledger; name -> position reached."""
    from ledger.projections import all_projections
    from ledger.projections.runner import rebuild as run

    return run(config, all_projections(), on_progress=on_progress)


def read(config: StoreConfig, query: Callable[[Any, Any], T], *, fresh: bool = True) -> T:
    """Run `query(connection, dialect)` over the read models (caught up first unless `fresh=False`)."""
    from ledger.projections import all_projections
    from ledger.projections.runner import catch_up as run, writable_connection

    with writable_connection(config) as connection:  # one connection for the catch-up and the query
        if fresh:
            run(config, all_projections(), connection=connection)
        return query(connection[0], connection[1])


def entities(config: StoreConfig, f: EntityFilter | None = None, as_of: int | None = None) -> list[EntityRow]:
    from ledger.projections.pools import query_entities

    check_position(config, as_of)
    return read(config, lambda c, d: query_entities(c, d, f or EntityFilter(), as_of))


def inspectors(config: StoreConfig, f: InspectorFilter | None = None, as_of: int | None = None) -> list[InspectorRow]:
    from ledger.projections.pools import query_inspectors

    check_position(config, as_of)
    return read(config, lambda c, d: query_inspectors(c, d, f or InspectorFilter(), as_of))


def items(config: StoreConfig, as_of: int | None = None) -> list[ItemRow]:
    from ledger.projections.pools import list_items

    check_position(config, as_of)
    return read(config, lambda c, d: list_items(c, d, as_of))


def departments(config: StoreConfig, as_of: int | None = None) -> list[DepartmentRow]:
    from ledger.projections.pools import list_departments

    return read(config, lambda c, d: list_departments(c, d, as_of))
