"""The chain and signature byte layouts, rebuilt independently from docs/integrity.md."""

from __future__ import annotations

import hashlib
from uuid import UUID

from ledger.integrity.chain import GENESIS_PREV, event_hash, transaction_message


def documented_event_hash(prev: bytes, seq: int, oid: UUID, version: int, topic: str, payload: bytes) -> bytes:
    t = topic.encode("utf-8")
    data = (
        b"drledger/event/v1\n" + prev + seq.to_bytes(8, "big") + oid.bytes + version.to_bytes(8, "big")
        + len(t).to_bytes(4, "big") + t + len(payload).to_bytes(4, "big") + payload
    )
    return hashlib.sha256(data).digest()


def test_event_hash_matches_the_documented_layout() -> None:
    oid = UUID("03fbe0ab-f5e9-52df-bc67-f326b4d84f0a")
    payload = '{"actor":"admin","name":"小米"}'.encode()
    got = event_hash(GENESIS_PREV, 7, oid, 3, "ledger.domain.actors:Actor.Registered", payload)
    assert got == documented_event_hash(GENESIS_PREV, 7, oid, 3, "ledger.domain.actors:Actor.Registered", payload)


def test_event_hash_fixed_vector() -> None:
    # Pinned: changing this value is changing the on-disk format.
    assert event_hash(GENESIS_PREV, 1, UUID(int=1), 1, "t", b"{}").hex() == (
        "b1bd81a7c8189f5ba5428468c09c504bd3b043636385c0ce9ecce28643113df9"
    )


def test_every_input_changes_the_hash() -> None:
    base = (GENESIS_PREV, 5, UUID(int=9), 2, "topic", b"{}")
    variants = [
        (b"\x01" * 32, *base[1:]),
        (base[0], 6, *base[2:]),
        (*base[:2], UUID(int=10), *base[3:]),
        (*base[:3], 3, *base[4:]),
        (*base[:4], "topiC", base[5]),
        (*base[:5], b"{ }"),
    ]
    assert len({event_hash(*v) for v in variants} | {event_hash(*base)}) == len(variants) + 1


def test_topic_and_payload_boundaries_are_unambiguous() -> None:
    # Length prefixes: moving bytes from topic to payload must change the hash.
    assert event_hash(GENESIS_PREV, 1, UUID(int=1), 1, "ab", b"c") != event_hash(GENESIS_PREV, 1, UUID(int=1), 1, "a", b"bc")


def test_transaction_message_layout() -> None:
    head = bytes(range(32))
    message = transaction_message(3, 9, head, 1_700_000_000_123_456)
    assert message == (
        b"drledger/transaction/v1\n" + (3).to_bytes(8, "big") + (9).to_bytes(8, "big") + head
        + (1_700_000_000_123_456).to_bytes(8, "big")
    )
