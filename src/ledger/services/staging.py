"""Staged imports on both sides (domain/staging.py has the rules).

Signer's side (`import_staged`): the rows, already checked whole, sorted by
key and cut into chunks of `chunk_rows`; each chunk signed as
`directory.stage` and submitted on its own (locally, or over HTTP where each
chunk is one request under the server's body limit); then one
`directory.commit_staged`, signed over the root of all rows and the digest of
the chunks' roots, is submitted without rows: the ledger reads them from its
own staged chunks (`staged_rows_source`) under the writer lock.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from ledger.domain.commands import Command
from ledger.domain.directory import keyed_rows, ordered_root
from ledger.domain.rows import ROW_TYPES
from ledger.domain.staging import StagedChunk, StagedImport, chunks_digest
from ledger.integrity.commands import SignedCommand, sign_command
from ledger.integrity.keys import Signer
from ledger.services.processor import AttachmentSource
from ledger.services.receipts import Receipt

# Rows per chunk: about 10 MB of entity rows as JSON, well under the API's body limit.
CHUNK_ROWS = 50_000
CHUNK_TOPIC = "drledger/staged-chunk/Staged"


def import_staged(ledger: Any, signer: Signer, actor: str, kind: str, rows: list[Any], *, file_name: str,
                  file_sha256: str, accept_bad_check: bool = False, chunk_rows: int = CHUNK_ROWS,
                  staging: str | None = None) -> tuple[SignedCommand, Receipt]:
    """Stage `rows` chunk by chunk, then commit them: (the signed commit, its receipt).
    CommandRefused from any chunk or from the commit (a staging left uncommitted is harmless)."""
    name = staging or uuid.uuid4().hex
    _, ordered = keyed_rows(kind, rows)
    roots: list[str] = []
    for index, start in enumerate(range(0, len(ordered), chunk_rows)):
        chunk = ordered[start:start + chunk_rows]
        roots.append(ordered_root(chunk))
        signed = sign_command(signer, actor, "directory.stage", {
            "accept_bad_check": accept_bad_check, "index": index, "kind": kind, "rows": len(chunk),
            "rows_root": roots[-1], "staging": name})
        ledger.submit(signed, chunk)
    commit = sign_commit(signer, actor, kind, name, ordered, roots, file_name=file_name, file_sha256=file_sha256)
    return commit, ledger.submit(commit, None, staged_rows_source(ledger))


def sign_commit(signer: Signer, actor: str, kind: str, staging: str, ordered: list[Any], roots: list[str], *,
                file_name: str, file_sha256: str) -> SignedCommand:
    return sign_command(signer, actor, "directory.commit_staged", {
        "chunks": len(roots), "chunks_digest": chunks_digest(roots), "file_name": file_name,
        "file_sha256": file_sha256, "kind": kind, "rows": len(ordered), "rows_root": ordered_root(ordered),
        "staging": staging})


def staged_rows_source(ledger: Any) -> AttachmentSource:
    """The attachment of `directory.commit_staged`: the rows of the staging it names, read
    from the stored chunk events (under the writer lock; the decision checks them)."""

    def source(command: Command, position: int) -> list[Any] | None:
        staging = command.content.body.get("staging")
        kind = command.content.body.get("kind")
        if not isinstance(staging, str) or kind not in ROW_TYPES:
            return None  # the decision refuses the body
        found = ledger.processor.app.find(StagedImport.id_for(command.actor_id, staging), copy=False)
        if not isinstance(found, StagedImport) or found.kind != kind:
            return None
        ids = [StagedChunk.id_for(command.actor_id, staging, i) for i in range(len(found.counts))]
        return chunk_rows(ledger.config, kind, ids)

    return source


def chunk_rows(config: Any, kind: str, chunk_ids: list[Any]) -> list[Any]:
    """The rows of the given staged chunks, in chunk order, typed as `kind`."""
    from ledger.store.reader import open_reader

    decoder = msgspec.json.Decoder(msgspec.defstruct("Chunk", [("rows", list[ROW_TYPES[kind]])]))  # type: ignore[index]
    rows: list[Any] = []
    with open_reader(config) as reader:
        for chunk_id in chunk_ids:
            state = reader.first_state(chunk_id, CHUNK_TOPIC)
            if state is None:
                return []  # the decision refuses the missing rows
            rows += decoder.decode(state).rows
    return rows
