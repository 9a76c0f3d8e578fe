"""The base of drledger aggregates: every event names its actor and carries
the ledger-assigned time of the command that caused it.

A decision must produce the same events at write time and when `verify`
re-executes it, so an event's timestamp is not the wall clock: it is the
time the ledger recorded the command (`recorded_time`), the same for every
event of one transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from datetime import UTC, datetime
from typing import Any

from eventsourcing.domain import Aggregate

# Aggregate ids are derived from natural keys, so the same firm or badge
# always maps to the same aggregate on every ledger.
ID_NAMESPACE = uuid.UUID("6f1c3b1e-0d4e-5a53-9c55-64726c656467")

_NAMESPACE_BYTES = ID_NAMESPACE.bytes

_RECORDED_AT: ContextVar[datetime | None] = ContextVar("drledger_recorded_at", default=None)


@lru_cache(maxsize=1 << 18)
def natural_id(kind: str, key: str) -> uuid.UUID:
    """The aggregate id of `kind` with natural key `key`.

    >>> natural_id("actor", "admin")
    UUID('03fbe0ab-f5e9-52df-bc67-f326b4d84f0a')
    """
    # uuid.uuid5 itself, without re-deriving the namespace's bytes on every call (half its cost).
    return uuid.UUID(bytes=hashlib.sha1(_NAMESPACE_BYTES + f"{kind}:{key}".encode()).digest()[:16], version=5)


@contextmanager
def recorded_time(moment: datetime) -> Iterator[None]:
    """Within the block, new events carry `moment` as their timestamp."""
    if moment.tzinfo is None:
        raise ValueError("the recorded time must be timezone-aware")
    token = _RECORDED_AT.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _RECORDED_AT.reset(token)


def event_timestamp() -> datetime:
    """The timestamp new events carry now: the recorded time of the command being decided."""
    moment = _RECORDED_AT.get()
    if moment is None:
        raise MissingRecordedTime("events are created only inside a command's recorded time")
    return moment


class MissingRecordedTime(RuntimeError):
    """An event was created outside `recorded_time` (a bug: the time would differ at replay)."""


class MissingActor(ValueError):
    pass


class LedgerAggregate(Aggregate):
    """Refuses any event that does not say who caused it."""

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return event_timestamp()

    class Created(Event, Aggregate.Created):
        pass

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        if not kwargs.get("actor"):
            raise MissingActor(f"{event_class.__qualname__}: every event must name its actor")
        super().trigger_event(event_class, **kwargs)

    @classmethod
    def _create(cls, event_class: type[Any], *, id: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        if not kwargs.get("actor"):
            raise MissingActor(f"{event_class.__qualname__}: every event must name its actor")
        return super()._create(event_class, id=id, **kwargs)
