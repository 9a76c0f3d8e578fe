"""`drledger verify` and receipt checks, for the CLI and the API.

A receipt (services/receipts.py) is the ledger's signed word that a command
was accepted (or refused) at positions first..last with exactly those event
hashes. It holds against the ledger only if

  1. it is signed by the ledger key in force at its first position, and
  2. the ledger still has those positions, holding exactly those hashes.

A receipt that fails (2) proves censorship (the events were removed) or a
rewritten history (other events at those positions); one signed by a ledger
key that is not the one in force there proves a rewritten key history.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from ledger.integrity.keys import key_id
from ledger.services.receipts import Receipt, receipt_signature_ok
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.keys import KeyProblem
from ledger.integrity.note import NoteError, note_text, parse_checkpoint
from ledger.verify.ledger_check import ExpectedHead, SavedCheckpoint, VerifyReport, verify_ledger
from ledger.verify.log_check import key_schedule

__all__ = ["CheckpointFileError", "ExpectedHead", "ReceiptCheck", "ReceiptError", "SavedCheckpoint", "VerifyReport",
           "check_receipt", "load_checkpoint", "load_receipt", "trusted_ledger_key", "verify"]


class ReceiptError(ValueError):
    """A receipt file cannot be read."""


class CheckpointFileError(ValueError):
    """A saved checkpoint file cannot be read."""


class ReceiptCheck(msgspec.Struct, kw_only=True):
    source: str
    ok: bool
    what: str
    first: int | None = None
    last: int | None = None
    outcome: str | None = None


def trusted_ledger_key(config: StoreConfig) -> bytes | None:
    """The ledger public key pinned at init on this machine (HOME/trust.json), if any."""
    from ledger.services.setup import trusted_ledger_key as pinned

    return pinned(config)


def verify(config: StoreConfig, *, trusted_key: bytes | None = None, expected: ExpectedHead | None = None,
           workers: int | None = None, on_progress: Callable[[int, int], None] | None = None,
           trusted_key_source: str = "trusted key", checkpoints: list[SavedCheckpoint] | None = None,
           require_witnesses: int | None = None) -> VerifyReport:
    """Everything `drledger verify` checks (verify/ledger_check.py)."""
    return verify_ledger(config, trusted_key=trusted_key, expected=expected, workers=workers,
                         on_progress=on_progress, trusted_key_source=trusted_key_source,
                         checkpoints=checkpoints or (), require_witnesses=require_witnesses)


def load_checkpoint(path: Path) -> SavedCheckpoint:
    """A checkpoint note as `drledger log checkpoint` prints it (cosignature lines may follow)."""
    try:
        note = path.read_bytes().decode("utf-8")
        size = parse_checkpoint(note_text(note)).size
    except UnicodeDecodeError:
        raise CheckpointFileError(f"{path}: not a C2SP checkpoint note: not UTF-8") from None
    except NoteError as error:
        raise CheckpointFileError(f"{path}: not a C2SP checkpoint note: {error}") from None
    return SavedCheckpoint(source=str(path), size=size, note=note)


def load_receipt(path: Path) -> Receipt:
    try:
        return msgspec.json.decode(path.read_bytes(), type=Receipt)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise ReceiptError(f"{path}: not a drledger receipt: {error}") from None


def check_receipt(config: StoreConfig, receipt: Receipt, *, trusted_key: bytes | None = None,
                  source: str = "receipt") -> ReceiptCheck:
    """Whether the ledger still holds exactly what `receipt` says it accepted (or refused)."""
    where = f"positions {receipt.first}-{receipt.last}"
    result = ReceiptCheck(source=source, ok=False, what="", first=receipt.first, last=receipt.last,
                          outcome=receipt.outcome)
    if receipt.first < 1 or receipt.last < receipt.first or len(receipt.event_hashes) != receipt.last - receipt.first + 1:
        result.what = f"malformed receipt: {where} with {len(receipt.event_hashes)} event hashes"
        return result
    with open_reader(config) as reader:
        size = reader.size()
        try:
            schedule = key_schedule(reader)
        except KeyProblem as problem:
            result.what = f"the ledger's keys cannot be read ({problem.what}): history was rewritten"
            return result
        in_force = schedule.key_for(receipt.first)
        if receipt.origin != schedule.origin:
            result.what = f"the receipt is for ledger {receipt.origin!r}, not this ledger {schedule.origin!r}"
            return result
        if not receipt_signature_ok(receipt, in_force):
            others = {key for _, key in schedule.changes} | ({trusted_key} if trusted_key else set())
            if any(receipt_signature_ok(receipt, key) for key in others - {in_force}):
                result.what = (f"signed by ledger key {receipt.key_id}, but this ledger says key {key_id(in_force)}"
                               f" was in force at position {receipt.first}: its key history was rewritten")
            else:
                result.what = (f"not signed by the ledger key in force at position {receipt.first}"
                               f" ({key_id(in_force)}): a forged receipt, or a rewritten key history")
            return result
        if receipt.last > size:
            result.what = (f"the ledger ends at position {size}, but the receipt names {where}: its events were"
                           " removed (censorship or a rewritten history)")
            return result
        for offset, expected in enumerate(receipt.event_hashes):
            seq = receipt.first + offset
            found = reader.hash_at(seq)
            if found is None or found.hex() != expected:
                result.what = (f"position {seq} no longer holds the event the receipt names: the history was"
                               " rewritten (or the command censored)")
                return result
    result.ok = True
    result.what = (f"{where} hold exactly its {len(receipt.event_hashes)} events ({receipt.outcome},"
                   f" signed by ledger key {receipt.key_id})")
    return result
