"""Witnesses: their registry (signed commands) and the C2SP tlog-witness client.

Adding and removing a witness are commands signed by an admin's own key
(`witness.add`, `witness.remove`; the rules are in domain/witness.py).
Pushing a checkpoint to the witnesses is the ledger's business: the
checkpoint is signed by the ledger key (services/checkpoints.py), and a
returned cosignature is stored beside the log, not as an event.

Protocol (c2sp.org/tlog-witness, add-checkpoint)::

    POST <url>/add-checkpoint
    old <size>\\n  <base64 consistency proof line>\\n ...  \\n  <checkpoint note>

    200  cosignature lines (tlog-cosignature v1.0.1), kept if they verify
    409  the witness's latest size (text/x.tlog.size): retried once from it
    422  the consistency proof does not verify: the witness refuses
    403  no trusted log signature; 404 unknown origin; 400 malformed

`old 0` goes with an empty proof: the witness accepts it at the protocol
level (trust on first use); nothing calls merkle.verify_consistency with
size 0 (see docs/transparency-log.md).
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from typing import Any

import msgspec

from ledger.integrity.canonical import rfc3339, utc_now
from ledger.integrity.commands import SignedCommand, sign_command
from ledger.integrity.keys import Signer
from ledger.integrity.note import CosignatureV1Verifier, NoteError, open_note
from ledger.services.ledger import LedgerService
from ledger.services.receipts import Receipt
from ledger.store.checkpoints import StoredCheckpoint, StoredCosignature, cosignatures, latest_checkpoint, locked_writer, store_cosignature
from ledger.store.config import StoreConfig
from ledger.store.log_reader import LogReader
from ledger.store.reader import LedgerReader, open_reader
from ledger.verify.log_check import RegisteredWitness, line_verifies, registered_witnesses, witness_verifier

__all__ = [
    "PushResult", "RegisteredWitness", "WitnessError", "WitnessReply", "WitnessState", "WitnessStatus",
    "add_checkpoint_body", "add_witness", "default_threshold", "list_witnesses", "parse_witness_vkey",
    "post_add_checkpoint", "push_all", "push_checkpoint", "remove_witness", "sign_witness_add",
    "sign_witness_remove", "witness_body", "witness_status",
]

TIMEOUT_SECONDS = 10.0
MAX_PROOF_LINES = 63  # tlog-witness: a client MUST NOT send more


class WitnessError(ValueError):
    """A witness cannot be registered or used as asked; the message says why."""


# -- registry (signed commands) --------------------------------------------------


def witness_body(name: str, vkey: str, url: str) -> dict[str, Any]:
    return {"name": name, "url": url, "vkey": vkey}


def parse_witness_vkey(vkey: str) -> CosignatureV1Verifier:
    """A witness key must be a cosignature/v1 vkey (type 0x04)."""
    try:
        return witness_verifier(vkey)
    except NoteError as error:
        raise WitnessError(f"witness key: {error}") from None


def sign_witness_add(signer: Signer, actor: str, name: str, vkey: str, url: str) -> SignedCommand:
    parse_witness_vkey(vkey)  # a bad key is refused before anything is signed
    return sign_command(signer, actor, "witness.add", witness_body(name, vkey, url))


def sign_witness_remove(signer: Signer, actor: str, name: str, reason: str) -> SignedCommand:
    return sign_command(signer, actor, "witness.remove", {"name": name, "reason": reason})


def add_witness(ledger: LedgerService, signer: Signer, actor: str, *, name: str, vkey: str, url: str) -> Receipt:
    """Register a witness, signed by `actor` (an admin) with its own key (CommandRefused if refused)."""
    return ledger.submit(sign_witness_add(signer, actor, name, vkey, url))


def remove_witness(ledger: LedgerService, signer: Signer, actor: str, *, name: str, reason: str) -> Receipt:
    return ledger.submit(sign_witness_remove(signer, actor, name, reason))


def list_witnesses(config: StoreConfig) -> list[RegisteredWitness]:
    with open_reader(config) as reader:
        return registered_witnesses(reader)


# -- the add-checkpoint client ---------------------------------------------------


class WitnessReply(msgspec.Struct, frozen=True):
    status: int
    body: str
    content_type: str


def add_checkpoint_body(old_size: int, proof: list[bytes], note: str) -> bytes:
    if len(proof) > MAX_PROOF_LINES:
        raise WitnessError(f"consistency proof has {len(proof)} hashes, more than tlog-witness allows")
    lines = "".join(base64.b64encode(p).decode() + "\n" for p in proof)
    return f"old {old_size}\n{lines}\n{note}".encode()


def post_add_checkpoint(url: str, body: bytes, timeout: float = TIMEOUT_SECONDS) -> WitnessReply:
    """One add-checkpoint request; HTTP errors are replies, not exceptions."""
    request = urllib.request.Request(
        url.rstrip("/") + "/add-checkpoint", data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return WitnessReply(response.status, response.read().decode("utf-8", "replace"), response.headers.get_content_type())
    except urllib.error.HTTPError as error:
        return WitnessReply(error.code, error.read().decode("utf-8", "replace"), error.headers.get_content_type())
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise WitnessError(f"cannot reach the witness at {url}: {reason}") from None


class PushResult(msgspec.Struct, frozen=True):
    witness: str
    size: int
    old: int
    ok: bool
    message: str


def _cosigned_size(reader: LedgerReader, witness: str) -> int:
    sizes = [c.size for c in cosignatures(reader) if c.witness == witness]
    return max(sizes, default=0)


def push_checkpoint(config: StoreConfig, witness: RegisteredWitness, timeout: float = TIMEOUT_SECONDS) -> PushResult:
    """Push the latest checkpoint to one witness; store its cosignature."""
    with open_reader(config) as reader:
        stored = latest_checkpoint(reader)
        if stored is None:
            raise WitnessError("no checkpoint has been published: run `drledger log publish` first")
        old = _cosigned_size(reader, witness.name)
        log = LogReader(reader)
        for attempt in range(2):
            if old > stored.size:
                return PushResult(
                    witness.name, stored.size, old, False,
                    f"the witness has cosigned size {old}, beyond our checkpoint at {stored.size}: the ledger lost its tail or forked",
                )
            proof = log.consistency_proof(old, stored.size) if 0 < old < stored.size else []
            try:
                reply = post_add_checkpoint(witness.url, add_checkpoint_body(old, proof, stored.note), timeout)
            except WitnessError as error:
                return PushResult(witness.name, stored.size, old, False, str(error))
            if reply.status == 409 and attempt == 0 and reply.content_type == "text/x.tlog.size":
                # The witness's latest size differs from what we recorded: retry from it.
                text = reply.body.strip()
                if not text.isdigit():
                    return PushResult(witness.name, stored.size, old, False, "409 with a malformed size")
                old = int(text)
                continue
            break
    if reply.status != 200:
        return PushResult(witness.name, stored.size, old, False, _refusal(reply))
    try:
        line = _verified_cosignature(stored, reply.body, witness.verifier)
    except NoteError as error:
        return PushResult(witness.name, stored.size, old, False, f"the witness replied with no valid cosignature: {error}")
    with locked_writer(config) as writer:
        store_cosignature(writer, StoredCosignature(stored.size, witness.name, line, rfc3339(utc_now())))
    return PushResult(witness.name, stored.size, old, True, "cosigned")


def _refusal(reply: WitnessReply) -> str:
    meaning = {
        400: "the request was malformed",
        403: "the witness does not trust this ledger's key",
        404: "the witness does not know this origin",
        409: "the witness's latest size differs from ours",
        422: "the witness refused the consistency proof: the checkpoint is inconsistent with what it saw",
    }.get(reply.status, "unexpected reply")
    detail = reply.body.strip().splitlines()[0][:200] if reply.body.strip() else ""
    return f"HTTP {reply.status}: {meaning}" + (f" ({detail})" if detail else "")


def _verified_cosignature(stored: StoredCheckpoint, body: str, verifier: CosignatureV1Verifier) -> str:
    """The reply line that is a valid cosignature by this witness (others ignored)."""
    lines = [line + "\n" for line in body.splitlines() if line.strip()]
    for line in lines:
        try:
            opened = open_note(stored.note + line, [verifier])
        except NoteError:
            continue
        if opened.verified:
            return line
    raise NoteError("no line verifies with the registered witness key")


def push_all(config: StoreConfig, timeout: float = TIMEOUT_SECONDS) -> list[PushResult]:
    with open_reader(config) as reader:
        active = [w for w in registered_witnesses(reader) if w.active]
    if not active:
        raise WitnessError("no witness is registered: add one with `drledger log witness add`")
    return [push_checkpoint(config, w, timeout) for w in active]


# -- policy ----------------------------------------------------------------------


def default_threshold(active: int) -> int:
    """k of n: a majority of the active witnesses (at least one)."""
    return active // 2 + 1


class WitnessState(msgspec.Struct, frozen=True):
    name: str
    url: str
    active: bool
    cosigned: bool
    cosigned_size: int


class WitnessStatus(msgspec.Struct, frozen=True):
    size: int | None
    threshold: int
    active: int
    cosignatures: int
    witnessed: bool
    witnesses: list[WitnessState]


def witness_status(config: StoreConfig, threshold: int | None = None) -> WitnessStatus:
    """Whether the latest checkpoint carries k valid cosignatures of active witnesses."""
    with open_reader(config) as reader:
        stored = latest_checkpoint(reader)
        witnesses = registered_witnesses(reader)
        lines = {c.witness: c for c in cosignatures(reader, stored.size)} if stored else {}
        sizes = {w.name: _cosigned_size(reader, w.name) for w in witnesses}
    active = [w for w in witnesses if w.active]
    k = threshold if threshold is not None else default_threshold(len(active))
    states = []
    for w in witnesses:
        line = lines.get(w.name)
        valid = bool(stored and line and _line_verifies(stored, line.line, w.verifier))
        states.append(WitnessState(w.name, w.url, w.active, valid, sizes[w.name]))
    good = sum(1 for s in states if s.active and s.cosigned)
    return WitnessStatus(stored.size if stored else None, k, len(active), good, bool(stored) and good >= k, states)


def _line_verifies(stored: StoredCheckpoint, line: str, verifier: CosignatureV1Verifier) -> bool:
    return line_verifies(stored, line, verifier)

