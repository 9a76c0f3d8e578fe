"""Staged imports: a large file arrives in chunks, one signed command makes it effective.

The list manager's side sorts the file's rows by key and cuts them into
chunks. Each chunk is its own command, `directory.stage` (signed by the list
manager, the chunk's rows beside it, its root in the signed body), decided
and written in its own short transaction, so other writers go on between
chunks. A staged chunk changes nothing in the directory: it is pending.

`directory.commit_staged`, signed by the same actor over the root of all the
rows and the digest of the chunks' roots, makes the staging effective in one
transaction, all or nothing: every row its own `Registered`/`Updated`/...
event, exactly as `directory.import` writes them (domain/directory.py
`apply_rows`). A staging never committed is never effective; it stays
visible (its `Opened` and `ChunkStaged` events) and harmless.

Rules: chunks come in order (0, 1, ...), each chunk's keys after the
previous chunk's last key (so the chunks partition the sorted rows and no key
repeats), by the actor who opened the staging, of one kind. The commit's rows,
cut at the recorded chunk sizes, must give the recorded chunk roots and the
signed root. Each chunk's rows are re-validated by its own decision (the
file's rules); `verify` re-executes both commands: a chunk from the rows its
event stores, the commit from the rows its events carry, checked against the
chunks' roots.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import msgspec

from ledger.domain.base import LedgerAggregate, natural_id
from ledger.domain.commands import Command, Refusal, State, command, short
from ledger.domain.directory import (
    DIRECTORY_CLASSES,
    IMPORT_KINDS,
    DirectoryImport,
    _check_jurisdiction,
    _revalidate,
    apply_rows,
    keyed_rows,
    ordered_root,
)
from ledger.domain.rows import ROW_TYPES
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.merkle import leaf_hash, root_from_leaf_hashes

MAX_CHUNKS = 10_000


def chunks_digest(roots: list[str]) -> str:
    """SHA-256 over the chunks' roots in order, as lowercase hex joined by newlines."""
    return hashlib.sha256("\n".join(roots).encode()).hexdigest()


class StagedImport(LedgerAggregate):
    """One staging: its kind, owner, and each chunk's size, root and key range (not its rows)."""

    class Opened(LedgerAggregate.Created):
        actor: str
        staging: str
        kind: str
        accept_bad_check: bool

    class ChunkStaged(LedgerAggregate.Event):
        actor: str
        index: int
        rows: int
        rows_root: str
        first_key: str
        last_key: str

        def apply(self, aggregate: Any) -> None:
            aggregate.counts = (*aggregate.counts, self.rows)
            aggregate.roots = (*aggregate.roots, self.rows_root)
            aggregate.last_key = self.last_key

    class Committed(LedgerAggregate.Event):
        actor: str
        rows: int
        rows_root: str

        def apply(self, aggregate: Any) -> None:
            aggregate.committed = True

    def __init__(self, actor: str, staging: str, kind: str, accept_bad_check: bool) -> None:
        self.owner = actor
        self.staging = staging
        self.kind = kind
        self.accept_bad_check = accept_bad_check
        self.counts: tuple[int, ...] = ()
        self.roots: tuple[str, ...] = ()
        self.last_key = ""
        self.committed = False

    @staticmethod
    def id_for(actor_id: str, staging: str) -> UUID:
        return natural_id("staging", f"{actor_id}/{staging}")


class StagedChunk(LedgerAggregate):
    """A chunk's rows, stored once in its event; the aggregate keeps only their count."""

    class Staged(LedgerAggregate.Created):
        actor: str
        staging: str
        index: int
        rows: list[Any]  # the kind's canonical rows, in key order

    def __init__(self, actor: str, staging: str, index: int, rows: list[Any]) -> None:
        self.staging = staging
        self.index = index
        self.count = len(rows)  # the rows stay in the stored event only (memory)

    @staticmethod
    def id_for(actor_id: str, staging: str, index: int) -> UUID:
        return natural_id("staged-chunk", f"{actor_id}/{staging}/{index}")


class StageBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    staging: str
    index: int
    kind: str
    rows: int
    rows_root: str
    accept_bad_check: bool = False


class CommitBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    staging: str
    kind: str
    file_name: str
    file_sha256: str
    rows: int
    rows_root: str
    chunks: int
    chunks_digest: str


def _typed_rows(kind: str, rows: Any, what: str) -> list[Any]:
    if kind not in IMPORT_KINDS:
        raise Refusal("invalid", f"unknown import kind {short(kind)!r}: one of {', '.join(IMPORT_KINDS)}")
    row_type = ROW_TYPES[kind]  # type: ignore[index]
    if not isinstance(rows, list) or not all(type(r) is row_type for r in rows):
        raise Refusal("invalid", f"{what} needs the {kind} rows beside the command")
    return rows


@command("directory.stage", "list_manager", "admin", attachment=True)
def decide_stage(state: State, command: Command, rows: Any) -> list[LedgerAggregate]:
    body = command.body(StageBody)
    if not 0 < len(body.staging) <= 64:
        raise Refusal("invalid", "staging: 1 to 64 characters")
    actor = command.actor_id
    staging_id = StagedImport.id_for(actor, body.staging)
    staging = state.get_for_update(StagedImport, staging_id)
    if body.index == 0 and staging is not None:
        raise Refusal("staging_exists", f"staging {short(body.staging)!r} is already open: name a new one")
    if body.index != 0:
        if staging is None:
            raise Refusal("unknown_staging", f"no staging {short(body.staging)!r} of {actor!r}: stage chunk 0 first")
        if staging.committed:
            raise Refusal("staging_closed", f"staging {short(body.staging)!r} is committed already")
        if body.index != len(staging.counts) or body.index >= MAX_CHUNKS:
            raise Refusal("staging_order", f"chunk {body.index} of {short(body.staging)!r}: the next chunk is"
                                           f" {len(staging.counts)}")
        if (body.kind, body.accept_bad_check) != (staging.kind, staging.accept_bad_check):
            raise Refusal("invalid", f"chunk {body.index}: the staging holds {staging.kind} rows"
                                     f" (accept_bad_check={staging.accept_bad_check})")
    typed = _typed_rows(body.kind, rows, "directory.stage")
    if len(typed) != body.rows or not typed:
        raise Refusal("invalid_rows", f"the command signs {body.rows} rows; {len(typed)} were given")
    keys, ordered = keyed_rows(body.kind, typed)
    if ordered_root(ordered) != body.rows_root:
        raise Refusal("invalid_rows", "the rows differ from the rows_root the command signs")
    if len(set(keys)) != len(keys):
        raise Refusal("invalid_rows", "a key appears twice among the rows")
    if staging is not None and keys[0].encode() <= staging.last_key.encode():
        raise Refusal("staging_order", f"chunk {body.index} starts at {short(keys[0])!r}, not after the previous"
                                       f" chunk's last key {short(staging.last_key)!r} (chunks follow key order)")
    _revalidate(body.kind, ordered, body.accept_bad_check)
    if body.kind in DIRECTORY_CLASSES:
        # Rows that name their departments: refused early if another department's (the
        # commit checks every kind again, against the state it decides on).
        _check_jurisdiction(state, command, body.kind, ordered)
    if staging is None:
        staging = StagedImport._create(StagedImport.Opened, id=staging_id, actor=actor, staging=body.staging,
                                       kind=body.kind, accept_bad_check=body.accept_bad_check)
    staging.trigger_event(StagedImport.ChunkStaged, actor=actor, index=body.index, rows=len(ordered),
                          rows_root=body.rows_root, first_key=keys[0], last_key=keys[-1])
    chunk = StagedChunk._create(StagedChunk.Staged, id=StagedChunk.id_for(actor, body.staging, body.index),
                                actor=actor, staging=body.staging, index=body.index, rows=ordered)
    return [staging, chunk]


def _check_roots(ordered: list[Any], staging: StagedImport, rows_root: str) -> None:
    """The sorted rows, cut at the staged chunks' sizes, give each chunk's root (chunks
    are in key order), and all of them the signed root; each row encoded and hashed once."""
    leaves = [leaf_hash(canonical_bytes(r)) for r in ordered]
    start = 0
    for index, (count, root) in enumerate(zip(staging.counts, staging.roots)):
        if root_from_leaf_hashes(leaves[start:start + count]).hex() != root:
            raise Refusal("invalid_rows", f"the rows differ from staged chunk {index}")
        start += count
    if root_from_leaf_hashes(leaves).hex() != rows_root:
        raise Refusal("invalid_rows", "the rows differ from the rows_root the command signs")


@command("directory.commit_staged", "list_manager", "admin", attachment=True)
def decide_commit(state: State, command: Command, rows: Any) -> list[LedgerAggregate]:
    """Make a staging effective: its rows (read from its chunks) checked against the staged
    roots and the signed ones, then applied as one `directory.import` would."""
    body = command.body(CommitBody)
    actor = command.actor_id
    staging = state.get_for_update(StagedImport, StagedImport.id_for(actor, body.staging))
    if staging is None:
        raise Refusal("unknown_staging", f"no staging {short(body.staging)!r} of {actor!r}")
    if staging.committed:
        raise Refusal("staging_closed", f"staging {short(body.staging)!r} is committed already")
    if body.kind != staging.kind or body.chunks != len(staging.counts) \
            or body.chunks_digest != chunks_digest(list(staging.roots)):
        raise Refusal("staging_mismatch", f"the command names {body.chunks} {body.kind} chunk(s);"
                                          f" staging {short(body.staging)!r} holds {len(staging.counts)}"
                                          f" {staging.kind} chunk(s) with other roots")
    typed = _typed_rows(body.kind, rows, "directory.commit_staged")
    if len(typed) != body.rows or len(typed) != sum(staging.counts):
        raise Refusal("invalid_rows", f"the command signs {body.rows} rows; the staging holds"
                                      f" {sum(staging.counts)}; {len(typed)} were given")
    keys, ordered = keyed_rows(body.kind, typed)
    _check_roots(ordered, staging, body.rows_root)
    if len(set(keys)) != len(keys):  # each chunk's decision also refused repeats and overlaps
        raise Refusal("invalid_rows", "a key appears twice among the rows")
    # Each chunk's rows were re-validated by its own decision (verify re-executes it).
    record = DirectoryImport.id_for(actor, command.content.nonce)
    effect = apply_rows(state, command, body.kind, keys, ordered, record_id=record, file_name=body.file_name,
                        file_sha256=body.file_sha256, rows_root=body.rows_root)
    staging.trigger_event(StagedImport.Committed, actor=actor, rows=len(ordered), rows_root=body.rows_root)
    return [staging, *effect]


__all__ = ["CommitBody", "StageBody", "StagedChunk", "StagedImport", "chunks_digest", "decide_commit", "decide_stage"]
