"""Receipts: the ledger's signed word that it accepted (or refused) a command.

    message = RECEIPT_TAG || canonical JSON of the receipt without `signature`

signed with the ledger key (Ed25519, deterministic: a retry of the same
command gets a byte-identical receipt). A receipt names the transaction's
positions and event hashes; a receipt whose events the log does not contain
at those positions is proof of censorship or of a rewritten history
(`drledger verify --receipt FILE`).
"""

from __future__ import annotations

import base64

import msgspec

from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.keys import Signer, key_id, verify_signature

RECEIPT_TAG = b"drledger/receipt/v1\n"


class Receipt(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    origin: str
    outcome: str  # accepted | refused
    code: str | None  # the refusal code, for a refusal
    command_sha256: str
    first: int
    last: int
    event_hashes: list[str]
    recorded_at: str
    key_id: str
    signature: str = ""  # base64 Ed25519 by the ledger key

    def message(self) -> bytes:
        body = msgspec.to_builtins(self)
        body.pop("signature")
        return RECEIPT_TAG + canonical_bytes(body)


def sign_receipt(signer: Signer | None, *, origin: str, outcome: str, command_sha256: str, first: int, last: int,
                 event_hashes: list[str], recorded_at: str, code: str | None) -> Receipt:
    if signer is None:
        raise RuntimeError("the ledger key is needed to sign a receipt")
    receipt = Receipt(origin=origin, outcome=outcome, code=code, command_sha256=command_sha256, first=first,
                      last=last, event_hashes=event_hashes, recorded_at=recorded_at, key_id=signer.key_id)
    return msgspec.structs.replace(receipt, signature=base64.b64encode(signer.sign(receipt.message())).decode())


def receipt_signature_ok(receipt: Receipt, ledger_key: bytes) -> bool:
    if receipt.key_id != key_id(ledger_key):
        return False
    try:
        signature = base64.b64decode(receipt.signature, validate=True)
    except ValueError:
        return False
    return verify_signature(ledger_key, signature, receipt.message())
