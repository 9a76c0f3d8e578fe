"""A Mapper that stores each event's payload as canonical msgspec JSON and
decodes it back into the event's own field types.

eventsourcing's default transcoder turns datetimes, UUIDs and bytes into
strings on the way back; here each event class gets a msgspec Struct built
from its type hints, so a decoded event equals the one that was saved.
Snapshots carry the aggregate's state: it is typed by the aggregate class's
annotations. Unknown payload fields are refused: the bytes were hashed, and
a field we cannot type is a field we would silently drop.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Any, ClassVar
from uuid import UUID

import msgspec
from eventsourcing.domain import CanSnapshotAggregate  # base of every Snapshot class
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, resolve_topic

from ledger.domain.topics import is_declared
from ledger.integrity.canonical import canonical_bytes

_NOT_IN_PAYLOAD = {"originator_id", "originator_version"}
# Attributes every eventsourcing aggregate has; snapshots carry them.
_AGGREGATE_BASE_HINTS: dict[str, Any] = {
    "_id": UUID,
    "_version": int,
    "_created_on": Any,
    "_modified_on": Any,
}


def _field_hints(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {
        name: hint
        for name, hint in hints.items()
        if name not in _NOT_IN_PAYLOAD and typing.get_origin(hint) is not ClassVar and hint is not ClassVar
    }


@cache
def _payload_type(cls: type) -> type[msgspec.Struct]:
    fields = [(name, hint) for name, hint in _field_hints(cls).items()]
    # class_version is written only for upcastable events (see Mapper).
    fields.append(("class_version", int, 1))
    return msgspec.defstruct(f"{cls.__qualname__}Payload", fields, forbid_unknown_fields=True)


@cache
def _aggregate_state_type(cls: type) -> type[msgspec.Struct]:
    from datetime import datetime

    hints: dict[str, Any] = {**_AGGREGATE_BASE_HINTS, "_created_on": datetime, "_modified_on": datetime}
    hints.update({k: v for k, v in _field_hints(cls).items() if not k.startswith("__")})
    # Every field optional: a snapshot holds whichever attributes were set.
    fields = [(name, hint | msgspec.UnsetType, msgspec.UNSET) for name, hint in hints.items()]
    return msgspec.defstruct(f"{cls.__qualname__}State", fields)


class CanonicalMapper(Mapper[UUID]):
    def __init__(self, transcoder: Transcoder | None = None, compressor: Any = None, cipher: Any = None) -> None:
        if compressor is not None or cipher is not None:
            # Auditors hash and read the stored bytes; they must be the canonical JSON.
            raise ValueError("drledger stores canonical JSON: compression and ciphers are not supported")
        self.transcoder = transcoder  # unused; kept for the Mapper interface
        self.compressor = None
        self.cipher = None

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        if not is_declared(type(domain_event)) and not isinstance(domain_event, CanSnapshotAggregate):
            # The topic is part of the chain hash: only explicitly declared ones are stored.
            raise TypeError(f"{type(domain_event).__qualname__} has no declared topic (domain/topics.py)")
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=canonical_bytes(state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        cls = resolve_topic(stored_event.topic)
        try:
            state = self._decode(cls, stored_event.state)
        except (msgspec.ValidationError, msgspec.DecodeError, TypeError) as error:
            raise MapperDeserialisationError(
                f"cannot decode {stored_event.topic} {stored_event.originator_id}"
                f" v{stored_event.originator_version}: {error}"
            ) from error
        state["originator_id"] = stored_event.originator_id
        state["originator_version"] = stored_event.originator_version
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event

    def _decode(self, cls: type, data: bytes) -> dict[str, Any]:
        class_version = getattr(cls, "class_version", 1)
        if class_version == 1:
            state = msgspec.structs.asdict(msgspec.json.decode(data, type=_payload_type(cls)))
        else:
            # Upcast the raw dict first, then type it as the current class.
            raw = msgspec.json.decode(data)
            from_version = raw.pop("class_version", 1)
            while from_version < class_version:
                getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(raw)
                from_version += 1
            state = msgspec.structs.asdict(msgspec.convert(raw, type=_payload_type(cls)))
        state.pop("class_version", None)
        if issubclass(cls, CanSnapshotAggregate):
            aggregate_cls = resolve_topic(state["topic"])
            typed = msgspec.convert(state["state"], type=_aggregate_state_type(aggregate_cls))
            state["state"] = {k: v for k, v in msgspec.structs.asdict(typed).items() if v is not msgspec.UNSET}
        return state
