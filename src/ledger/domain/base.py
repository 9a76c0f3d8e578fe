"""The base of drledger aggregates: every event names the actor who caused it."""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate

# Aggregate ids are derived from natural keys, so the same firm or badge
# always maps to the same aggregate on every ledger.
ID_NAMESPACE = uuid.UUID("6f1c3b1e-0d4e-5a53-9c55-64726c656467")


def natural_id(kind: str, key: str) -> uuid.UUID:
    """The aggregate id of `kind` with natural key `key`.

    >>> natural_id("actor", "admin")
    UUID('03fbe0ab-f5e9-52df-bc67-f326b4d84f0a')
    """
    return uuid.uuid5(ID_NAMESPACE, f"{kind}:{key}")


class MissingActor(ValueError):
    pass


class LedgerAggregate(Aggregate):
    """Refuses any event that does not say who caused it."""

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        if not kwargs.get("actor"):
            raise MissingActor(f"{event_class.__qualname__}: every event must name its actor")
        super().trigger_event(event_class, **kwargs)

    @classmethod
    def _create(cls, event_class: type[Any], *, id: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        if not kwargs.get("actor"):
            raise MissingActor(f"{event_class.__qualname__}: every event must name its actor")
        return super()._create(event_class, id=id, **kwargs)
