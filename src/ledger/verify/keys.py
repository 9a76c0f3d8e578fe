"""Who could sign what, and when: read from the chained key events.

The ledger key schedule comes from the genesis event and every ledger-key
rotation: the transaction that records a rotation is signed by the old key,
every transaction after it by the new one. Actor keys come from actor
registration, rotation and revocation events.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.actors import Actor, Ledger
from ledger.integrity.keys import key_id
from ledger.store.reader import ChainRow

GENESIS_TOPIC = get_topic(Ledger.Genesis)
LEDGER_ROTATION_TOPIC = get_topic(Ledger.LedgerKeyRotated)
ACTOR_REGISTERED_TOPIC = get_topic(Actor.Registered)
ACTOR_KEY_ROTATED_TOPIC = get_topic(Actor.KeyRotated)
ACTOR_REVOKED_TOPIC = get_topic(Actor.Revoked)
LEDGER_KEY_TOPICS = (GENESIS_TOPIC, LEDGER_ROTATION_TOPIC)
ACTOR_KEY_TOPICS = (ACTOR_REGISTERED_TOPIC, ACTOR_KEY_ROTATED_TOPIC, ACTOR_REVOKED_TOPIC)


class _Genesis(msgspec.Struct):
    ledger_key: bytes
    admin_id: str
    admin_key: bytes
    origin: str


class _LedgerRotation(msgspec.Struct):
    new_key: bytes


class _ActorKey(msgspec.Struct):
    actor_id: str | None = None  # absent on rotation/revocation: taken from the aggregate
    public_key: bytes | None = None


class KeyProblem(ValueError):
    def __init__(self, position: int, what: str) -> None:
        super().__init__(what)
        self.position = position
        self.what = what


@dataclass
class LedgerKeySchedule:
    """(after_position, key) pairs: key signs transactions starting after it."""

    origin: str = ""
    genesis_key: bytes = b""
    admin_key: bytes = b""  # the first admin, who signs the genesis command
    changes: list[tuple[int, bytes]] = field(default_factory=list)

    @classmethod
    def from_events(cls, events: list[ChainRow]) -> LedgerKeySchedule:
        # Position 1 is the genesis command's own event; 2 is the genesis.
        if not events or events[0].seq != 2 or events[0].topic != GENESIS_TOPIC:
            raise KeyProblem(2, "position 2 is not the genesis event")
        assert events[0].state is not None
        try:
            genesis = msgspec.json.decode(events[0].state, type=_Genesis)
        except msgspec.DecodeError as error:
            raise KeyProblem(1, f"genesis event is unreadable: {error}") from None
        schedule = cls(origin=genesis.origin, genesis_key=genesis.ledger_key, admin_key=genesis.admin_key,
                       changes=[(0, genesis.ledger_key)])
        for row in events[1:]:
            if row.topic == GENESIS_TOPIC:
                raise KeyProblem(row.seq, "a second genesis event")
            assert row.state is not None
            schedule.changes.append((row.seq, msgspec.json.decode(row.state, type=_LedgerRotation).new_key))
        return schedule

    def key_for(self, first_seq: int) -> bytes:
        """The ledger key that must sign a transaction starting at first_seq."""
        index = bisect_left([after for after, _ in self.changes], first_seq) - 1
        return self.changes[max(index, 0)][1]


@dataclass
class ActorKeys:
    """Each actor's keys over time: [(from_position, key_id, key or None if revoked)]."""

    history: dict[str, list[tuple[int, str, bytes | None]]] = field(default_factory=dict)
    by_aggregate: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_events(cls, events: list[ChainRow]) -> ActorKeys:
        keys = cls()
        for row in events:
            assert row.state is not None and row.originator_id is not None
            info = msgspec.json.decode(row.state, type=_ActorKey)
            if row.topic == ACTOR_REGISTERED_TOPIC and info.actor_id and info.public_key:
                keys.by_aggregate[row.originator_id.hex] = info.actor_id
                keys.history.setdefault(info.actor_id, []).append((row.seq, key_id(info.public_key), info.public_key))
                continue
            actor_id = keys.by_aggregate.get(row.originator_id.hex)
            if actor_id is None:
                raise KeyProblem(row.seq, "key event for an actor that was never registered")
            if row.topic == ACTOR_KEY_ROTATED_TOPIC and info.public_key:
                keys.history[actor_id].append((row.seq, key_id(info.public_key), info.public_key))
            elif row.topic == ACTOR_REVOKED_TOPIC:
                keys.history[actor_id].append((row.seq, "", None))
        return keys

    def key_before(self, actor_id: str, position: int) -> tuple[str, bytes | None] | None:
        """The actor's key in force just before `position` (None: unknown actor)."""
        found: tuple[str, bytes | None] | None = None
        for since, kid, key in self.history.get(actor_id, []):
            if since >= position:
                break
            found = (kid, key)
        return found
