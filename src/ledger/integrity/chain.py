"""The global hash chain and the ledger's transaction signature: byte layouts.

docs/integrity.md states these layouts for third-party verifiers; the tests
pin them with fixed vectors, so a change here is a change of format.

Event hash (one per stored event, position = gap-free sequence from 1):

    hash_n = SHA-256( CHAIN_TAG
                      || hash_{n-1}                 32 bytes (GENESIS_PREV for n = 1)
                      || u64be(position_n)
                      || originator_id              16 bytes (UUID, big-endian)
                      || u64be(originator_version)
                      || u32be(len(topic))   || topic    (UTF-8)
                      || u32be(len(payload)) || payload  (the stored bytes) )

Transaction signature (one per committed append, by the ledger key):

    message = TX_TAG || u64be(first_position) || u64be(last_position)
              || hash_last || u64be(signed_at_microseconds_since_epoch)
"""

from __future__ import annotations

import hashlib
import struct
from uuid import UUID

CHAIN_TAG = b"drledger/event/v1\n"
TX_TAG = b"drledger/transaction/v1\n"
GENESIS_PREV = bytes(32)
HASH_SIZE = 32

_u64 = struct.Struct(">Q")
_u32 = struct.Struct(">I")


def event_hash(
    prev: bytes,
    position: int,
    originator_id: UUID,
    originator_version: int,
    topic: str,
    payload: bytes,
) -> bytes:
    """The chain hash of one stored event (layout in the module docstring).

    >>> event_hash(GENESIS_PREV, 1, UUID(int=1), 1, "t", b"{}").hex()[:16]
    'b1bd81a7c8189f5b'
    """
    topic_bytes = topic.encode()
    return hashlib.sha256(
        b"".join(
            (
                CHAIN_TAG,
                prev,
                _u64.pack(position),
                originator_id.bytes,
                _u64.pack(originator_version),
                _u32.pack(len(topic_bytes)),
                topic_bytes,
                _u32.pack(len(payload)),
                payload,
            )
        )
    ).digest()


def transaction_message(
    first_position: int, last_position: int, last_hash: bytes, signed_at_us: int
) -> bytes:
    """The bytes the ledger key signs for one committed transaction."""
    if len(last_hash) != HASH_SIZE:
        raise ValueError("last_hash must be 32 bytes")
    return b"".join(
        (
            TX_TAG,
            _u64.pack(first_position),
            _u64.pack(last_position),
            last_hash,
            _u64.pack(signed_at_us),
        )
    )
