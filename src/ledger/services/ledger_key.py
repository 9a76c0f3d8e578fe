"""Rotating the ledger key: `ledger.rotate_key`, a command signed by a ledger-wide admin.

The ledger key is the operator's: it signs transactions, receipts and
checkpoints, never commands. Rotating it takes two parties: the operator
makes the new key (here, into HOME/keys) and an admin signs, with the
admin's own key, the command naming the new public key. The transaction
that records the rotation is signed by the old key, every later one by the
new key; `verify` reads that schedule from the chained events, so a key the
ledger never recorded (or one recorded without the admin's signed command)
fails verification.

Order of work, so that a crash leaves a state the next call finishes:
  1. the new key is written to HOME/keys/ledger.pem.next;
  2. the signed command is submitted (refused: the new file is removed);
  3. ledger.pem becomes ledger.pem.retired-<old key id>, and .next becomes ledger.pem.
A later call (or `finish_interrupted`) completes step 3 when the ledger already
records the .next key, and removes a .next the ledger does not know.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from ledger.integrity.commands import SignedCommand, sign_command
from ledger.integrity.keys import Signer, key_id, public_key_b64, read_key_file, write_key_file
from ledger.services.keys import passphrase
from ledger.services.receipts import Receipt
from ledger.services.setup import LEDGER_KEY_FILE
from ledger.store.config import StoreConfig

NEXT_SUFFIX = ".next"


class Rotation(msgspec.Struct, kw_only=True):
    old_key_id: str
    new_key_id: str
    new_key: str  # base64 public key: give it to auditors and witnesses
    position: int  # the rotation's event; later transactions are signed by the new key
    retired_file: str
    receipt: Receipt


def sign_rotation(signer: Signer, actor: str, new_public_key: bytes, reason: str) -> SignedCommand:
    return sign_command(signer, actor, "ledger.rotate_key",
                        {"new_key": public_key_b64(new_public_key), "reason": reason})


def _paths(config: StoreConfig) -> tuple[Path, Path]:
    current = config.keys_dir / LEDGER_KEY_FILE
    return current, current.with_name(current.name + NEXT_SUFFIX)


def _key_in_force(config: StoreConfig) -> bytes:
    from ledger.services.checkpoints import key_schedule
    from ledger.store.reader import open_reader

    with open_reader(config) as reader:
        return key_schedule(reader).changes[-1][1]


def _swap(current: Path, following: Path, old_id: str) -> Path:
    retired = current.with_name(f"{current.name}.retired-{old_id}")
    os.replace(current, retired)
    os.replace(following, current)
    return retired


def finish_interrupted(config: StoreConfig) -> str | None:
    """Complete (or clean up) a rotation a crash interrupted; what was done, or None."""
    current, following = _paths(config)
    if not following.exists():
        return None
    pending = read_key_file(following, passphrase())
    if pending.public_key == _key_in_force(config):
        old = read_key_file(current, passphrase())
        retired = _swap(current, following, old.key_id)
        return f"finished an interrupted rotation: {current} now holds {pending.key_id}; the old key is {retired}"
    following.unlink()
    return f"removed {following}: the ledger never recorded its key {pending.key_id}"


def rotate_ledger_key(config: StoreConfig, admin: Signer, actor: str, reason: str,
                      new_key: Signer | None = None) -> Rotation:
    """Make (or take) the new ledger key, record the rotation signed by `actor`, then switch the key file."""
    from ledger.services.ledger import open_ledger

    finish_interrupted(config)
    current, following = _paths(config)
    new = new_key or Signer.generate()
    write_key_file(following, new, passphrase())
    receipt: Receipt | None = None
    try:
        with open_ledger(config) as ledger:
            old = ledger.processor.app.integrity.signer
            assert old is not None
            receipt = ledger.submit(sign_rotation(admin, actor, new.public_key, reason))
            # Any later write through this open ledger is signed by the new key.
            ledger.processor.app.integrity.signer = new
    except BaseException:
        if receipt is None and new.public_key != _key_in_force(config):
            following.unlink(missing_ok=True)  # not recorded: the new key is nobody's
        raise
    retired = _swap(current, following, old.key_id)
    return Rotation(old_key_id=old.key_id, new_key_id=key_id(new.public_key), new_key=public_key_b64(new.public_key),
                    position=receipt.first, retired_file=str(retired), receipt=receipt)
