"""The demo's witness: a made-up witness that cosigns the demo's checkpoints, in-process.

A real ledger pushes each checkpoint to independent witnesses over C2SP
tlog-witness (services/witnesses.py) and stores the cosignatures they return.
The demo city runs offline, so the admin registers one witness of the demo's
own (`witness.add`; its key is derived from the demo's seed, so it is not
independent: demo only; its URL is under .invalid, so a push to it fails
clearly) and the demo cosigns each of its checkpoints as that witness, at the
demo clock's time. `drledger verify` checks these cosignatures like any other.
"""

from __future__ import annotations

from typing import Final

from ledger.demo.actors import ADMIN, DemoActors
from ledger.demo.clock import DemoRun
from ledger.integrity.canonical import rfc3339, utc_now
from ledger.integrity.note import CosignatureV1Signer, NoteSignature, note_text
from ledger.services.witnesses import add_witness
from ledger.store.checkpoints import StoredCosignature, latest_checkpoint, locked_writer, store_cosignature
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader

NAME: Final = "demo-witness.invalid"
URL: Final = "https://demo-witness.invalid/add-checkpoint-not-a-real-witness"


def _signer(run: DemoRun, timestamp: int = 0) -> CosignatureV1Signer:
    return CosignatureV1Signer.from_seed(NAME, run.derive("witness key", NAME), timestamp)


def register_witness(actors: DemoActors, run: DemoRun) -> None:
    """The admin registers the demo's witness (a signed `witness.add`)."""
    add_witness(actors.ledger, actors.signer(ADMIN), ADMIN, name=NAME, vkey=_signer(run).verifier().vkey, url=URL)


def cosign_latest(config: StoreConfig, run: DemoRun) -> int:
    """Cosign the latest checkpoint as the demo's witness and store the cosignature; its size."""
    with open_reader(config) as reader:
        stored = latest_checkpoint(reader)
    assert stored is not None
    now = utc_now()
    signer = _signer(run, int(now.timestamp()))
    line = NoteSignature(NAME, signer.key_id, signer.sign(note_text(stored.note).encode())).line
    with locked_writer(config) as writer:
        store_cosignature(writer, StoredCosignature(stored.size, NAME, line, rfc3339(now)))
    return stored.size
