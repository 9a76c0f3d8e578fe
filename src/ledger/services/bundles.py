"""Draws for third parties: a self-contained bundle and pool proofs.

The bundle holds the draw's inputs as rebuilt from the ledger's events (pool
IDs per class, inspectors, conflicts, task parameters, revealed secret),
what the ledger recorded, and the drawer's signed `draw.run` command exactly
as the ledger stored it (the first event of the draw's transaction,
`CommandRecord.Accepted`: command bytes, signature, key id) with the
drawer's public key in force then. docs/verify_draw.py checks it with
Python's standard library; docs/draw-spec.md specifies it.
"""

from __future__ import annotations

import base64
from bisect import bisect_left
from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.commands import CommandRecord
from ledger.draw.spec import RISK_CLASSES, DrawInputs, sorted_ids
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.merkle import MemoryTree, leaf_hash
from ledger.store.config import StoreConfig

BUNDLE_FORMAT = "drledger-draw-bundle/v2"
COMMAND_TOPIC = get_topic(CommandRecord.Accepted)


class BundleError(LookupError):
    """The task has no draw to bundle, or its draw's transaction is not what a draw's is."""


class _Accepted(msgspec.Struct):
    actor: str
    name: str
    command: bytes
    signature: bytes
    key_id: str


def _standing(config: StoreConfig, task_id: str) -> tuple[DrawInputs, Any, int]:
    from ledger.verify.draws import replay_draws

    results, kept = replay_draws(config, task_id, keep_inputs=True)
    if not results or task_id not in kept:
        raise BundleError(f"task {task_id} has no draw")
    inputs, recorded = kept[task_id]
    return inputs, recorded, results[-1].drawn_at


def _draw_command(reader: Any, drawn_at: int) -> tuple[int, _Accepted]:
    """(first position, the signed command) of the transaction holding position `drawn_at`."""
    transactions = reader.transactions()
    index = bisect_left([tx.last_seq for tx in transactions], drawn_at)
    if index == len(transactions) or transactions[index].first_seq > drawn_at:
        raise BundleError(f"position {drawn_at} is in no signed transaction")
    first = transactions[index].first_seq
    row = next(reader.rows(first, first))
    if row.topic != COMMAND_TOPIC or row.state is None:
        raise BundleError(f"the draw at position {drawn_at} is not opened by its command")
    accepted = msgspec.json.decode(row.state, type=_Accepted)
    if accepted.name != "draw.run":
        raise BundleError(f"the draw at position {drawn_at} was recorded by {accepted.name}, not draw.run")
    return first, accepted


def export_bundle(config: StoreConfig, task_id: str) -> bytes:
    """The standing (or latest) draw of `task_id` as canonical JSON."""
    from ledger.store.reader import open_reader
    from ledger.verify.keys import (
        ACTOR_KEY_TOPICS,
        GENESIS_TOPIC,
        ActorKeys,
        LedgerKeySchedule,
    )

    inputs, recorded, drawn_at = _standing(config, task_id)
    with open_reader(config) as reader:
        row = next(reader.rows(drawn_at, drawn_at))
        first, accepted = _draw_command(reader, drawn_at)
        keys = ActorKeys.from_events(reader.events_with_topics(ACTOR_KEY_TOPICS))
        origin = LedgerKeySchedule.from_events(reader.events_with_topics([GENESIS_TOPIC])).origin
    drawer_key = keys.key_before(accepted.actor, first)
    pool = {k: sorted_ids(inputs.pool.get(k, [])) for k in RISK_CLASSES}
    bundle = {
        "format": BUNDLE_FORMAT,
        "origin": origin,
        "inputs": msgspec.to_builtins(msgspec.structs.replace(inputs, pool=pool)),
        "recorded": {
            "drawn_at": drawn_at,
            "event_hash": row.hash.hex(),
            "pool_roots": recorded.pool_roots,
            "pool_root": recorded.pool_root,
            "counts": recorded.counts,
            "seed": recorded.seed,
            "targets": recorded.targets,
            "teams": msgspec.to_builtins(recorded.teams),
            "outcome_digest": recorded.outcome_digest,
            "inputs_digest": recorded.inputs_digest,
        },
        "drawer": {
            "actor": accepted.actor,
            "public_key": base64.b64encode(drawer_key[1]).decode() if drawer_key and drawer_key[1] else None,
            "signed": {
                "command": base64.b64encode(accepted.command).decode(),
                "signature": base64.b64encode(accepted.signature).decode(),
                "key_id": accepted.key_id,
            },
        },
    }
    return canonical_bytes(bundle)


def _b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in items]


def _leaf_proof(tree: MemoryTree, ids: list[str], index: int) -> dict[str, Any]:
    return {"id": ids[index], "leafIndex": index, "proof": _b64(tree.inclusion_proof(index, tree.size))}


def prove_membership(config: StoreConfig, task_id: str, uscc: str) -> bytes:
    """Inclusion in one class's pool, or absence from every class (adjacent leaves)."""
    inputs, recorded, _ = _standing(config, task_id)
    class_tree = MemoryTree()
    for k in RISK_CLASSES:
        class_tree.append(leaf_hash(f"{k}:{recorded.pool_roots[k]}".encode()))
    answer: dict[str, Any] = {
        "task_id": task_id, "uscc": uscc, "position": inputs.position, "pool_root": recorded.pool_root,
        "class_roots": recorded.pool_roots, "in_pool": False,
    }
    evidence = []
    for i, k in enumerate(RISK_CLASSES):
        ids = sorted_ids(inputs.pool.get(k, []))
        tree = MemoryTree()
        tree.extend([leaf_hash(x.encode()) for x in ids])
        where = bisect_left([x.encode() for x in ids], uscc.encode())
        class_proof = {"classLeafIndex": i, "classProof": _b64(class_tree.inclusion_proof(i, 4))}
        if where < len(ids) and ids[where] == uscc:
            answer.update(in_pool=True, risk_class=k, membership={
                "class": k, "treeSize": len(ids), **_leaf_proof(tree, ids, where), **class_proof})
            return canonical_bytes(answer)
        evidence.append({
            "class": k, "treeSize": len(ids),
            "left": _leaf_proof(tree, ids, where - 1) if where > 0 else None,
            "right": _leaf_proof(tree, ids, where) if where < len(ids) else None,
            **class_proof,
        })
    answer["absence"] = evidence
    return canonical_bytes(answer)
