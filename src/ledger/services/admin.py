"""Create a ledger and describe it: `drledger init` and `drledger status`.

init writes the ledger key into HOME/keys (the operator's key: it signs
transactions, receipts and checkpoints, never commands) and the first
admin's key into the admin's own key folder (services/keys.py), outside
HOME, then the genesis transaction signed by that admin.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from ledger.integrity.canonical import rfc3339
from ledger.integrity.keys import Signer
from ledger.services.setup import InitResult, SetupError, init_ledger, store_has_ledger
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader

__all__ = ["InitResult", "LedgerStatus", "SetupError", "init", "status", "store_has_ledger"]


def init(config: StoreConfig, *, origin: str | None, admin_id: str = "admin", admin_name: str = "Administrator",
         admin_key_file: Path | None = None, beacons: list[dict[str, Any]] | None = None,
         keys: tuple[Signer, Signer] | None = None) -> InitResult:
    """A new ledger (SetupError if one exists or a key file would be overwritten); it pins
    `beacons` (drand chain infos, default quicknet); `keys`: the (ledger, admin) keys to use."""
    return init_ledger(config, origin=origin, admin_id=admin_id, admin_name=admin_name, admin_key_file=admin_key_file,
                       beacons=beacons, keys=keys)


class LastSignature(msgspec.Struct):
    at: str
    key_id: str
    first: int
    last: int


class LedgerStatus(msgspec.Struct):
    store: str
    origin: str
    size: int
    head: str
    last_signature: LastSignature | None


def status(config: StoreConfig) -> LedgerStatus:
    from ledger.verify.keys import LEDGER_KEY_TOPICS, LedgerKeySchedule

    with open_reader(config) as reader:
        head = reader.head()
        size, head_hash = head if head else (0, b"")
        last = reader.last_transaction()
        origin = LedgerKeySchedule.from_events(reader.events_with_topics(LEDGER_KEY_TOPICS)).origin if size else ""
    signature = None
    if last is not None:
        at = rfc3339(datetime.fromtimestamp(last.signed_at_us / 1e6, UTC))
        signature = LastSignature(at=at, key_id=last.key_id, first=last.first_seq, last=last.last_seq)
    return LedgerStatus(store=config.display, origin=origin, size=size, head=head_hash.hex(), last_signature=signature)


def event_count(config: StoreConfig) -> int:
    with open_reader(config) as reader:
        return reader.size()
