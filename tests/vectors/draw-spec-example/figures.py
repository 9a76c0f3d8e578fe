"""Print the figures of docs/draw-spec.md §9 from the files here (a writer's aid, not a test).

Every figure is computed with the project's own functions (ledger.draw.spec, ledger.draw.sampler,
ledger.integrity.merkle) and checked against docs/verify_draw.py's independent ones.
tests/test_draw_spec_example.py pins the doc to the files; this script is not needed for it.

    PYTHONPATH=src python tests/vectors/draw-spec-example/figures.py
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
from datetime import datetime
from pathlib import Path

import msgspec

from ledger.draw import spec
from ledger.draw.sampler import reference_ticket, sample, seed_prefix
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.merkle import leaf_hash, node_hash

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
_loader = importlib.util.spec_from_file_location("verify_draw", ROOT / "docs" / "verify_draw.py")
assert _loader is not None and _loader.loader is not None
vd = importlib.util.module_from_spec(_loader)
_loader.loader.exec_module(vd)


def agree(mine: object, theirs: object) -> object:
    assert mine == theirs, f"{str(mine)[:300]} != {str(theirs)[:300]}"
    return mine


def main() -> None:
    bundle = json.loads((HERE / "bundle.json").read_text())
    public = json.loads((HERE / "bundle-public.json").read_text())
    raw, c, rec = bundle["inputs"], bundle["commitment"], bundle["recorded"]
    inputs = msgspec.convert(raw, spec.DrawInputs)
    key = inputs.salt_key

    print("== inputs")
    print({k: v for k, v in raw.items() if k not in ("pool", "inspectors", "conflicts")})
    print("inspectors", len(raw["inspectors"]), "conflicts", raw["conflicts"])
    for k, firms in raw["pool"].items():
        print(k, firms)
    print("salt_key_digest", agree(spec.salt_key_digest(key), vd.sha256(vd.SALT_KEY_TAG + bytes.fromhex(key)).hex()))

    print("== salted commitments, class by class (sorted by commitment)")
    for k, firms in raw["pool"].items():
        rows = sorted((spec.commitment_for(key, u), spec.firm_salt(key, u).hex(), u) for u in firms)
        for commitment, salt, u in rows:
            agree(salt, vd.firm_salt(key, u).hex())
            agree(commitment, vd.firm_commitment(bytes.fromhex(salt), u))
            print(f"  {k} {u} salt {salt} commitment {commitment} leaf {leaf_hash(commitment.encode()).hex()}")
        if len(rows) == 2:
            left, right = (leaf_hash(r[0].encode()) for r in rows)
            print(f"  root_{k} = node_hash = {node_hash(left, right).hex()}")

    print("== public form, digest, roots")
    covered = json.loads(canonical_bytes(spec.public_inputs(inputs)))  # tuples as lists
    agree(covered, vd.public_form(raw))
    agree(covered, public["inputs"])
    text = canonical_bytes(covered)
    print(len(text), "bytes:", text[:160].decode())
    print("inputs_digest", agree(spec.inputs_digest(inputs), hashlib.sha256(text).hexdigest()))
    summary = spec.summarise_pool(inputs)
    for k, r in summary.pool_roots.items():
        agree(r, vd.class_root(covered["pool"][k]))
        print(f"root_{k}", r)
    print("pool_root", agree(summary.pool_root, c["pool_root"]), "counts", summary.counts)

    print("== beacon")
    (b,) = c["beacons"]
    info = bundle["beacons"][b["network"]]
    committed_unix = int(datetime.fromisoformat(c["committed_at"]).timestamp())
    print(b, "genesis", info["genesis_time"], "period", info["period"], "committed unix", committed_unix)
    agree(b["published_at"], info["genesis_time"] + (b["round"] - 1) * info["period"])
    (signature,) = rec["signatures"]
    print("signature", signature)
    print("randomness", agree(hashlib.sha256(bytes.fromhex(signature)).hexdigest(), rec["beacons"][0]["randomness"]))

    print("== seed")
    beacons = [spec.BeaconOutput(**x) for x in rec["beacons"]]
    lines = [spec.SEED_TAG, inputs.task_id, spec.inputs_digest(inputs),
             *(f"{x.chain_hash}:{x.round}:{x.randomness}" for x in beacons)]
    print(repr("\n".join(lines)))
    seed = agree(spec.derive_seed(inputs.task_id, spec.inputs_digest(inputs), beacons), rec["seed"])
    print("seed", seed, "seed_hex", seed_prefix(seed).decode())

    print("== targets (tickets, first 20 characters)")
    outcome = spec.compute(inputs, beacons)
    agree(outcome.targets, rec["targets"])
    firm_of = {spec.commitment_for(key, u): u for f in raw["pool"].values() for u in f}
    for k, commitments in covered["pool"].items():
        n = spec.target_count(inputs.quotas[k], len(commitments))
        order = sample(seed, commitments)
        agree(order[:n], vd.sample(seed, commitments, n) + order[n:n])
        print(f"  {k} n={n}")
        for i, x in enumerate(order):
            t = agree(reference_ticket(seed, x), vd.ticket(seed_prefix(seed).decode(), x))
            print(f"    {x[:8]}…{x[-4:]} {firm_of[x]} {t[:22]}{'  <- %d' % (i + 1) if i < n else ''}")

    print("== teams")
    officers, experts = spec._drawable(inputs)
    targets = [t for k in inputs.classes for t in outcome.targets[k]]
    draw = vd.Draw(covered, seed, {x: firm_of[x] for x in covered["pool"]["A"] + covered["pool"]["B"]
                                   + covered["pool"]["C"] + covered["pool"]["D"]})
    agree(officers, draw.officers)
    agree(experts, draw.experts)
    print("officers", officers, "experts", experts)
    for who in raw["inspectors"]:
        if who["badge"] not in officers + experts and who["department"] in inputs.departments:
            print("  left out:", who["badge"], who["role"], who["status"], who["qualifications"],
                  who["certificate_no"], who["certificate_valid_until"])
    conflicted = {(b_, u) for b_, u in raw["conflicts"]}
    load: dict[str, int] = {}
    size = max(inputs.inspectors_per_target, len(inputs.departments))
    dept = {x.badge: x.department for x in inputs.inspectors}
    for team, t in zip(outcome.teams, targets):
        free = [o for o in officers if (o, t) not in conflicted and load.get(o, 0) < (inputs.load_cap or 10**9)]
        ranking = sample(seed + ",inspectors," + t, free)
        walk, missing, chosen = [], list(inputs.departments), []
        for o in ranking:
            if len(chosen) == size:
                break
            if dept[o] in missing:
                missing.remove(dept[o])
                chosen.append(o)
                walk.append(o + "+")
            elif size - len(chosen) > len(missing):
                chosen.append(o)
                walk.append(o + "+")
            else:
                walk.append(o + "-")
        agree(chosen, team.inspectors)
        xrank = sample(seed + ",experts," + t, [e for e in experts if (e, t) not in conflicted])
        agree(xrank[: inputs.experts_per_target], team.experts)
        print(f"  {t} load {dict(sorted(load.items()))} ranking {ranking} walk {walk} experts {xrank}")
        for o in chosen:
            load[o] = load.get(o, 0) + 1
    agree([msgspec.to_builtins(x) for x in outcome.teams], draw.teams())

    print("== outcome digest")
    body = {"targets": rec["targets"], "teams": rec["teams"]}
    print(canonical_bytes(body)[:120].decode())
    print("outcome_digest", agree(hashlib.sha256(canonical_bytes(body)).hexdigest(), rec["outcome_digest"]))
    agree(canonical_bytes(body), vd.canonical_json(body))

    print("== signed commands")
    for part in (c["signed"], bundle["drawer"]["signed"]):
        print(part["position"], part["key_id"], base64.b64decode(part["command"]).decode())
    print("key_id", hashlib.sha256(base64.b64decode(c["public_key"])).hexdigest()[:16], c["public_key"])
    print("versions", c["task_version"], rec["task_version"], "positions", c["signed"]["position"],
          c["event_position"], bundle["drawer"]["signed"]["position"], rec["event_position"])

    print("== proofs")
    for name in ("proof-member.json", "proof-absent.json"):
        proof = json.loads((HERE / name).read_text())
        print(name, json.dumps(proof, ensure_ascii=False))
        for entry in proof.get("absence") or [proof.get("membership")]:
            for side in ("left", "right"):
                if entry.get(side):
                    print("  ", entry["class"], side, entry[side]["id"], "->", firm_of[entry[side]["id"]])
            for h in entry.get("proof", []):
                print("   proof hash", base64.b64decode(h).hex())
            for h in entry["classProof"]:
                print("   class proof hash", base64.b64decode(h).hex())
    for k in inputs.classes:
        print("class leaf", k, leaf_hash(f"{k}:{summary.pool_roots[k]}".encode()).hex())


if __name__ == "__main__":
    main()
