"""Draws for third parties: a self-contained bundle and pool proofs.

Bundle v4 (draw v2, docs/draw-spec.md §1), for authorised auditors, holds,
for a task's standing (or latest) draw:

- `inputs`: the draw inputs frozen by the commitment, as rebuilt from the
  ledger's events (verify/draws.py), each class's pool sorted by UTF-8 bytes,
  and the salt key of the pool's commitments;
- `commitment`: the `Task.Committed` event's fields, its position, chain
  hash and version in the task's history, the committing drawer's public key
  in force then, and its signed `draw.commit` command exactly as the ledger
  stored it (the first event of the commitment's transaction,
  `CommandRecord.Accepted`: command bytes, signature, key id);
- `beacons`: the chain info (pinned at genesis) of each network the
  commitment names, so the rounds' BLS signatures can be checked offline;
- `recorded`: the `Task.Drawn` event's fields, position, chain hash, version;
- `drawer`: the actor that ran the draw, its public key in force then and its
  signed `draw.run` command as stored;
- `attempts`: every earlier commit, run and void of the task, in ledger order;
- `voided`: the void of this draw, if it was voided later (else null);
- `changes`: every substitution (替换: `draw.recuse`, `draw.substitute`) and
  补抽 (`draw.extend`) of this draw, in ledger order, each with its event's
  fields, position, chain hash and version, and its signed command as stored.

The public bundle (v4-public, §1b) is the same but names no undrawn firm:
`inputs` in their public form (each class as sorted salted commitments, the
salt key's digest), no salt key, and `revealed`: each drawn target's salt.

docs/verify_draw.py checks either (standard library, plus py-arkworks-bls12381
for the beacon signatures).
"""

from __future__ import annotations

import base64
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.commands import CommandRecord
from ledger.domain.draws import BeaconRound, Task
from ledger.draw.spec import (
    RISK_CLASSES,
    BeaconOutput,
    DrawInputs,
    Team,
    committed_pool,
    firm_commitment,
    firm_salt,
    public_inputs,
    sorted_ids,
)
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.merkle import MemoryTree, leaf_hash
from ledger.store.config import StoreConfig
from ledger.store.reader import ChainRow, LedgerReader

BUNDLE_FORMAT = "drledger-draw-bundle/v4"
PUBLIC_FORMAT = "drledger-draw-bundle/v4-public"
PROOF_FORMAT = "drledger-pool-proof/v2"
COMMAND_TOPIC = get_topic(CommandRecord.Accepted)
# The task's events after its creation (version 1), by the attempt kind they record.
ATTEMPT_KINDS = {get_topic(Task.Committed): "commit", get_topic(Task.Drawn): "run", get_topic(Task.Voided): "void"}
COMMAND_OF = {"commit": "draw.commit", "run": "draw.run", "void": "draw.void"}
SUBSTITUTED, EXTENDED = get_topic(Task.Substituted), get_topic(Task.Extended)


class BundleError(LookupError):
    """The task has no draw to bundle, or its draw's transactions are not what a draw's are."""


class _Accepted(msgspec.Struct):
    actor: str
    name: str
    command: bytes
    signature: bytes
    key_id: str


class _Committed(msgspec.Struct):
    """A `Task.Committed` event's fields, exactly (the bundle's `commitment`)."""

    task_id: str
    position: int
    committed_at: str
    cooling_off_days: int
    inputs_digest: str
    pool_roots: dict[str, str]
    pool_root: str
    counts: dict[str, int]
    excluded: int
    beacons: list[BeaconRound]
    salt_key: str
    actor: str
    timestamp: str


class _Drawn(msgspec.Struct):
    """A `Task.Drawn` event's fields, exactly (the bundle's `recorded`)."""

    task_id: str
    position: int
    inputs_digest: str
    beacons: list[BeaconOutput]
    signatures: list[str]
    seed: str
    targets: dict[str, list[str]]
    teams: list[Team]
    outcome_digest: str
    actor: str
    timestamp: str


class SubstitutedEvent(msgspec.Struct):
    """A `Task.Substituted` event's fields, exactly (a substitution's `fields`)."""

    task_id: str
    target: str
    leaving: str
    joining: str
    basis: str
    reason: str
    actor: str
    timestamp: str


class _Extended(msgspec.Struct):
    """A `Task.Extended` event's fields, exactly (an extension's `fields`)."""

    task_id: str
    risk_class: str
    targets: list[str]
    teams: list[Team]
    reason: str
    actor: str
    timestamp: str


class _Attempt(msgspec.Struct):
    task_id: str
    actor: str
    reason: str | None = None


class _Genesis(msgspec.Struct):
    origin: str
    beacons: dict[str, dict[str, Any]]


@dataclass
class _TaskEvent:
    kind: str  # commit | run | void
    row: ChainRow
    attempt: _Attempt


@dataclass
class Standing:
    """A task's standing (or latest) draw and what it rests on."""

    inputs: DrawInputs
    committed: _Committed
    commit_row: ChainRow
    drawn: _Drawn
    drawn_row: ChainRow
    earlier: list[_TaskEvent]  # every commit, run and void of the task before the commitment
    voided: _TaskEvent | None  # the void of this draw, if any


def _task_events(reader: LedgerReader, task_id: str) -> list[_TaskEvent]:
    events = []
    for row in reader.events_with_topics(list(ATTEMPT_KINDS)):
        assert row.state is not None and row.topic is not None
        attempt = msgspec.json.decode(row.state, type=_Attempt)
        if attempt.task_id == task_id:
            events.append(_TaskEvent(ATTEMPT_KINDS[row.topic], row, attempt))
    return events


def standing_draw(config: StoreConfig, task_id: str) -> Standing:
    """The latest draw of `task_id`, its commitment, its frozen inputs (rebuilt from events) and its history."""
    from ledger.store.reader import open_reader
    from ledger.verify.draws import replay_draws

    with open_reader(config) as reader:
        events = _task_events(reader, task_id)
    runs = [i for i, e in enumerate(events) if e.kind == "run"]
    if not runs:
        raise BundleError(f"task {task_id} has no draw")
    run = runs[-1]
    commits = [i for i in range(run) if events[i].kind == "commit"]
    if not commits:
        raise BundleError(f"the draw of task {task_id} at position {events[run].row.seq} has no commitment before it")
    commit = commits[-1]
    results, kept = replay_draws(config, task_id, keep_inputs=True)
    if task_id not in kept or not results or results[-1].drawn_at != events[run].row.seq:
        raise BundleError(f"the draw of task {task_id} at position {events[run].row.seq} cannot be rebuilt from"
                          " the ledger's events (drledger draw replay names why)")
    inputs, _ = kept[task_id]
    later_voids = [e for e in events[run + 1:] if e.kind == "void"]
    commit_state, run_state = events[commit].row.state, events[run].row.state
    assert commit_state is not None and run_state is not None
    return Standing(
        inputs=inputs, committed=msgspec.json.decode(commit_state, type=_Committed), commit_row=events[commit].row,
        drawn=msgspec.json.decode(run_state, type=_Drawn), drawn_row=events[run].row, earlier=events[:commit],
        voided=later_voids[0] if later_voids else None,
    )


def _command_of(reader: LedgerReader, seq: int, name: str) -> tuple[int, _Accepted]:
    """(position, the signed command) opening the transaction that holds position `seq`."""
    transactions = reader.transactions()
    index = bisect_left([tx.last_seq for tx in transactions], seq)
    if index == len(transactions) or transactions[index].first_seq > seq:
        raise BundleError(f"position {seq} is in no signed transaction")
    first = transactions[index].first_seq
    row = next(reader.rows(first, first))
    if row.topic != COMMAND_TOPIC or row.state is None:
        raise BundleError(f"the event at position {seq} is not opened by its command")
    accepted = msgspec.json.decode(row.state, type=_Accepted)
    if accepted.name != name:
        raise BundleError(f"the event at position {seq} was recorded by {accepted.name}, not {name}")
    return first, accepted


def _signed(position: int, accepted: _Accepted) -> dict[str, Any]:
    return {
        "position": position,
        "command": base64.b64encode(accepted.command).decode(),
        "signature": base64.b64encode(accepted.signature).decode(),
        "key_id": accepted.key_id,
    }


def _b64_key(found: tuple[str, bytes | None] | None) -> str | None:
    return base64.b64encode(found[1]).decode() if found and found[1] else None


def _attempt(event: _TaskEvent) -> dict[str, Any]:
    return {"kind": event.kind, "position": event.row.seq, "actor": event.attempt.actor,
            "reason": event.attempt.reason if event.kind == "void" else None}


def _pinned_beacons(reader: Any) -> dict[str, Any]:
    """The beacon networks the ledger pins: at genesis and by carried proposals since."""
    from ledger.verify.draws import BEACON_PINNED, GENESIS, DrawState

    state = DrawState()
    for row in reader.events_with_topics([GENESIS, BEACON_PINNED]):
        state.apply(row)
    return state.beacons


def _changes(reader: LedgerReader, keys: Any, standing: Standing) -> list[dict[str, Any]]:
    """The substitutions and 补抽 of the standing draw, in ledger order (after the draw, before its void)."""
    task_id = standing.drawn.task_id
    end = standing.voided.row.seq if standing.voided else None
    changes = []
    for row in reader.events_with_topics([SUBSTITUTED, EXTENDED]):
        assert row.state is not None
        if row.seq <= standing.drawn_row.seq or (end is not None and row.seq > end):
            continue
        fields: Any = msgspec.json.decode(row.state, type=SubstitutedEvent if row.topic == SUBSTITUTED else _Extended)
        if fields.task_id != task_id:
            continue
        kind = ({"recusal": "recuse", "firm_request": "firm_recusal"}.get(fields.basis, "substitute")
                if row.topic == SUBSTITUTED else "extend")
        name = "firm.recusal_decide" if kind == "firm_recusal" else f"draw.{kind}"
        first, accepted = _command_of(reader, row.seq, name)
        changes.append({
            "kind": kind,
            "position": row.seq,
            "event_hash": row.hash.hex(),
            "task_version": row.originator_version,
            "actor": accepted.actor,
            "public_key": _b64_key(keys.key_before(accepted.actor, first)),
            "fields": msgspec.to_builtins(fields),
            "signed": _signed(first, accepted),
        })
    return changes


def export_bundle(config: StoreConfig, task_id: str, public: bool = False) -> bytes:
    """The standing (or latest) draw of `task_id` as canonical JSON: bundle v4 for authorised
    auditors (every firm of the pool by its USCC and class, the salt key), or with `public` the
    public bundle, which names no firm that was not drawn: the pool as commitments per class, the
    drawn targets revealed with their salts, no salt key (docs/draw-spec.md §1b)."""
    from ledger.store.reader import open_reader
    from ledger.verify.keys import ACTOR_KEY_TOPICS, GENESIS_TOPIC, ActorKeys

    standing = standing_draw(config, task_id)
    committed, drawn = standing.committed, standing.drawn
    with open_reader(config) as reader:
        commit_first, commit_command = _command_of(reader, standing.commit_row.seq, "draw.commit")
        run_first, run_command = _command_of(reader, standing.drawn_row.seq, "draw.run")
        keys = ActorKeys.from_events(reader.events_with_topics(ACTOR_KEY_TOPICS))
        changes = _changes(reader, keys, standing)
        genesis_row = reader.events_with_topics([GENESIS_TOPIC])[0]
        pinned = _pinned_beacons(reader)
    assert genesis_row.state is not None
    genesis = msgspec.json.decode(genesis_row.state, type=_Genesis)
    missing = [b.network for b in committed.beacons if b.network not in pinned]
    if missing:
        raise BundleError(f"the commitment names beacon network(s) {', '.join(missing)} the ledger does not pin")
    pool = {k: sorted_ids(standing.inputs.pool.get(k, [])) for k in standing.inputs.classes}
    commitment = msgspec.to_builtins(committed)
    if public:
        del commitment["salt_key"]
        key = standing.inputs.salt_key
        shown = public_inputs(msgspec.structs.replace(standing.inputs, pool=pool))
    else:
        shown = msgspec.to_builtins(msgspec.structs.replace(standing.inputs, pool=pool))
        if tuple(standing.inputs.classes) == RISK_CLASSES:
            del shown["classes"]  # as the digest covers the inputs (draw/spec.py public_inputs)
    bundle = {
        "format": PUBLIC_FORMAT if public else BUNDLE_FORMAT,
        "origin": genesis.origin,
        "inputs": shown,
        "commitment": {
            **commitment,
            "event_position": standing.commit_row.seq,
            "event_hash": standing.commit_row.hash.hex(),
            "task_version": standing.commit_row.originator_version,
            "public_key": _b64_key(keys.key_before(commit_command.actor, commit_first)),
            "signed": _signed(commit_first, commit_command),
        },
        "beacons": {b.network: pinned[b.network] for b in committed.beacons},
        "recorded": {
            **msgspec.to_builtins(drawn),
            "event_position": standing.drawn_row.seq,
            "event_hash": standing.drawn_row.hash.hex(),
            "task_version": standing.drawn_row.originator_version,
        },
        "drawer": {
            "actor": run_command.actor,
            "public_key": _b64_key(keys.key_before(run_command.actor, run_first)),
            "signed": _signed(run_first, run_command),
        },
        "attempts": [_attempt(e) for e in standing.earlier],
        "voided": {k: v for k, v in _attempt(standing.voided).items() if k != "kind"} if standing.voided else None,
        "changes": changes,
    }
    if public:
        extended = [u for change in changes if change["kind"] == "extend" for u in change["fields"]["targets"]]
        bundle["revealed"] = {u: firm_salt(key, u).hex()
                              for u in [*(u for ids in drawn.targets.values() for u in ids), *extended]}
    return canonical_bytes(bundle)


def _b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in items]


def _leaf_proof(tree: MemoryTree, ids: list[str], index: int) -> dict[str, Any]:
    return {"id": ids[index], "leafIndex": index, "proof": _b64(tree.inclusion_proof(index, tree.size))}


def prove_membership(config: StoreConfig, task_id: str, uscc: str) -> bytes:
    """For the firm `uscc` alone: its salt, its commitment, and the commitment's inclusion in one
    class's tree, or its absence from every class (the adjacent commitments), against the roots
    the standing (or latest) draw's commitment recorded (docs/draw-spec.md §8)."""
    from ledger.domain.commands import short
    from ledger.domain.uscc import normalize_uscc

    uscc = normalize_uscc(uscc)
    # Any code can be proved absent (a made-up one too), so only what is no code at all is refused.
    if not uscc or len(uscc) > 64 or not (uscc.isascii() and uscc.isprintable()) or " " in uscc:
        raise BundleError(f"USCC {short(uscc)!r}: expected 18 characters (a unified social credit code)")
    standing = standing_draw(config, task_id)
    inputs, committed = standing.inputs, standing.committed
    salt = firm_salt(inputs.salt_key, uscc)
    mine = firm_commitment(salt, uscc)
    classes = tuple(inputs.classes)
    class_tree = MemoryTree()
    for k in classes:
        class_tree.append(leaf_hash(f"{k}:{committed.pool_roots[k]}".encode()))
    answer: dict[str, Any] = {
        "format": PROOF_FORMAT, "task_id": task_id, "uscc": uscc, "salt": salt.hex(), "commitment": mine,
        "position": inputs.position, "pool_root": committed.pool_root, "class_roots": committed.pool_roots,
        "in_pool": False,
    }
    if classes != RISK_CLASSES:
        answer["classes"] = list(classes)
    evidence = []
    pool = committed_pool(inputs)
    for i, k in enumerate(classes):
        ids = pool[k].commitments()  # sorted
        tree = MemoryTree()
        tree.extend([leaf_hash(x.encode()) for x in ids])
        where = bisect_left(ids, mine)
        class_proof = {"classLeafIndex": i, "classProof": _b64(class_tree.inclusion_proof(i, len(classes)))}
        if where < len(ids) and ids[where] == mine:
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
