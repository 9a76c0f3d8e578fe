"""Publish and serve C2SP checkpoints of the ledger's transparency log.

A checkpoint is a signed-note (Ed25519, key name = origin) over
``origin\\nsize\\nbase64(root)\\n``, signed by the ledger key in force at that
size. Checkpoints are the ledger's own statements about its log, not
commands: they are signed with the ledger key (HOME/keys/ledger.pem), never
an actor's. `publish_checkpoint` never stores two inconsistent checkpoints:
under the write lock it re-opens the latest stored one, recomputes its root
from the tree and checks a consistency proof from it to the new size.
"""

from __future__ import annotations

import base64

from ledger.integrity.canonical import rfc3339, utc_now
from ledger.integrity.keys import Signer, key_id
from ledger.integrity.merkle import ProofError, verify_consistency
from ledger.integrity.note import Ed25519Signer, NoteError, format_checkpoint, sign_note
from ledger.store.checkpoints import StoredCheckpoint, cosignatures, insert_checkpoint, latest_checkpoint, locked_writer
from ledger.store.config import StoreConfig
from ledger.store.log_reader import LogReader
from ledger.store.reader import LedgerReader, open_reader
from ledger.verify import log_check
from ledger.verify.keys import KeyProblem, LedgerKeySchedule
from ledger.verify.log_check import log_verifier, open_stored

__all__ = ["CheckpointRefused", "key_schedule", "log_verifier", "open_stored", "publish_checkpoint",
           "served_checkpoint", "checkpoint_size", "verifier_key"]


class CheckpointRefused(Exception):
    """A checkpoint cannot be published (or served) safely; the message says why."""


def key_schedule(reader: LedgerReader) -> LedgerKeySchedule:
    """Origin and ledger keys over time, from the chained genesis and rotations."""
    try:
        return log_check.key_schedule(reader)
    except KeyProblem as problem:
        raise CheckpointRefused(f"cannot read the ledger's keys: {problem.what}") from None


def verifier_key(config: StoreConfig) -> str:
    """The checkpoint verifier key in force now: name+hex8(keyID)+base64(0x01 || key)."""
    with open_reader(config) as reader:
        return log_verifier(key_schedule(reader), reader.size()).vkey


def publish_checkpoint(config: StoreConfig, signer: Signer | None = None) -> str:
    """Sign and store a checkpoint for the current size; return its note.

    `signer`: the ledger key (default: HOME/keys/ledger.pem). Idempotent: if
    the latest checkpoint already has the current size (and the same root),
    that note is returned unchanged. Refuses (CheckpointRefused)
    if the signer is not the ledger key in force, if the latest checkpoint does
    not verify, lies beyond the chain, or is not a prefix of the current tree.
    """
    if signer is None:
        from ledger.services.setup import load_ledger_signer

        signer = load_ledger_signer(config)
    with locked_writer(config) as reader:
        log = LogReader(reader)
        size = log.size()
        schedule = key_schedule(reader)
        verifier = log_verifier(schedule, size)
        if signer.public_key != verifier.public_key:
            raise CheckpointRefused(
                f"the ledger key in force is {key_id(verifier.public_key)}, not the loaded key {signer.key_id}"
            )
        root = log.root(size)
        previous = latest_checkpoint(reader)
        if previous is not None:
            try:
                old = open_stored(previous, schedule)
            except NoteError as error:
                raise CheckpointRefused(f"the stored checkpoint at size {previous.size} does not verify: {error}") from None
            if old.size > size:
                raise CheckpointRefused(
                    f"the stored checkpoint is at size {old.size} but the ledger has {size} events: its tail was removed"
                )
            if old.size == size:
                if old.root != root:
                    raise CheckpointRefused(f"the stored checkpoint at size {size} has a different root: history was rewritten")
                return previous.note
            if old.size > 0:
                try:
                    verify_consistency(old.size, size, log.consistency_proof(old.size, size), old.root, root)
                except ProofError as error:
                    raise CheckpointRefused(
                        f"the tree of size {size} is not consistent with the checkpoint at size {old.size}: {error}"
                    ) from None
        note = sign_note(format_checkpoint(schedule.origin, size, root), [Ed25519Signer(schedule.origin, signer.private_key)])
        insert_checkpoint(reader, StoredCheckpoint(size, note, rfc3339(utc_now())))
        return note


def served_checkpoint(config: StoreConfig) -> str | None:
    """The latest checkpoint note with its witnesses' cosignature lines appended."""
    with open_reader(config) as reader:
        stored = latest_checkpoint(reader)
        if stored is None:
            return None
        return stored.note + "".join(c.line for c in cosignatures(reader, stored.size))


def root_b64(root: bytes) -> str:
    return base64.b64encode(root).decode()


def checkpoint_size(note: str) -> int:
    """Size of a checkpoint note (unverified): for messages only."""
    from ledger.integrity.note import parse_checkpoint

    return parse_checkpoint(note[: note.find("\n\n") + 1]).size
