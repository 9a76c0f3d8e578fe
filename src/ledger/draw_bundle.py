"""Draws for third parties: a self-contained bundle and pool proofs.

The bundle holds the draw's inputs as rebuilt from the ledger's events (pool
IDs per class, inspectors, conflicts, task parameters, revealed secret),
what the ledger recorded, and the drawer's signed command with the drawer's
public key. docs/verify_draw.py checks it with Python's standard library.
"""

from __future__ import annotations

import base64
from bisect import bisect_left
from typing import Any

import msgspec

from ledger.application import Refused
from ledger.draw.spec import RISK_CLASSES, DrawInputs, sorted_ids
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.merkle import MemoryTree, leaf_hash
from ledger.store.config import StoreConfig

BUNDLE_FORMAT = "drledger-draw-bundle/v1"


class _Signed(msgspec.Struct):
    actor: str
    signed: dict[str, Any]


def _standing(config: StoreConfig, task_id: str) -> tuple[DrawInputs, Any, int]:
    from ledger.verify.draws import replay_draws

    results, kept = replay_draws(config, task_id, keep_inputs=True)
    if not results:
        raise Refused(f"task {task_id} has no draw")
    inputs, recorded = kept[task_id]
    return inputs, recorded, results[-1].drawn_at


def export_bundle(config: StoreConfig, task_id: str) -> bytes:
    from ledger.store.reader import open_reader
    from ledger.verify.keys import ACTOR_KEY_TOPICS, GENESIS_TOPIC, ActorKeys, LedgerKeySchedule

    inputs, recorded, drawn_at = _standing(config, task_id)
    with open_reader(config) as reader:
        row = next(reader.rows(drawn_at, drawn_at))
        assert row.state is not None
        signed = msgspec.json.decode(row.state, type=_Signed)
        keys = ActorKeys.from_events(reader.events_with_topics(ACTOR_KEY_TOPICS))
        origin = LedgerKeySchedule.from_events(reader.events_with_topics([GENESIS_TOPIC])).origin
    drawer_key = keys.key_before(signed.actor, drawn_at)
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
            "actor": signed.actor,
            "public_key": base64.b64encode(drawer_key[1]).decode() if drawer_key and drawer_key[1] else None,
            "signed": signed.signed,
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
