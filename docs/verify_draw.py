#!/usr/bin/env python3
"""Check a drledger draw ("v1") with nothing but Python's standard library.

    python3 verify_draw.py BUNDLE.json              # from `drledger draw export TASK`
    python3 verify_draw.py --proof PROOF.json [BUNDLE.json]
                                                    # from `drledger draw prove TASK USCC`

A bundle holds the draw's inputs (the pool's IDs per risk class, the
inspectors, the task's parameters, the revealed secret), what the ledger
recorded, and the drawer's signed `draw.run` command (the reveal of the
secret and the beacon, exactly as the ledger stored it). This program
recomputes the pool roots, the commitment, the seed, the targets and the
teams from the inputs alone and compares each with what was recorded. Exit
0 with a summary if everything agrees; exit 1 naming the first difference.
The full specification is docs/draw-spec.md; the sampler is docs/sampler.md.

The drawer's Ed25519 signature is checked only if the `cryptography`
package happens to be installed (Ed25519 is not in the standard library).
Whether the public key really is the drawer's is for you to establish from
the ledger's actor registry: a bundle cannot vouch for its own key. The
drawer signs the reveal, not the outcome: that the recorded outcome is the
ledger's is established by `recorded.event_hash` against a checkpoint, or
by `drledger verify`, which re-executes the draw.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from fractions import Fraction
from math import ceil

CLASSES = ("A", "B", "C", "D")
BUNDLE_FORMAT = "drledger-draw-bundle/v2"
SEED_TAG = "drledger/draw-seed/v1"
COMMAND_TAG = b"drledger/command/v2\n"
HEX64 = re.compile(r"[0-9a-f]{64}")


class Rejected(Exception):
    """The bundle or proof is not what it claims; the message says where."""


def same(what: str, computed: object, recorded: object) -> None:
    if computed != recorded:
        raise Rejected(f"{what}: recomputed {computed!r}, recorded {recorded!r}")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def canonical_json(value: object) -> bytes:
    """Keys sorted, no spaces, UTF-8: the bytes the ledger hashes and signs."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# -- RFC 9162 Merkle trees ---------------------------------------------------

def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def merkle_root(hashes: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.1: the left subtree holds the largest power of two < n."""
    if not hashes:
        return sha256(b"")
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return node_hash(merkle_root(hashes[:k]), merkle_root(hashes[k:]))


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2: the root that `proof` leads to from leaf `index`."""
    if not 0 <= index < size:
        raise Rejected(f"leaf index {index} is outside a tree of size {size}")
    if any(len(p) != 32 for p in proof):
        raise Rejected("a proof hash is not 32 bytes")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise Rejected("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise Rejected("inclusion proof is too short")
    return r


def by_utf8(ids: list[str]) -> list[str]:
    return sorted(ids, key=str.encode)


def class_root(ids: list[str]) -> str:
    """Step 1: one class's IDs sorted by UTF-8 bytes; leaf = the UTF-8 ID."""
    return merkle_root([leaf_hash(i.encode()) for i in by_utf8(ids)]).hex()


def class_leaves(roots: dict[str, str]) -> list[bytes]:
    return [leaf_hash(f"{k}:{roots[k]}".encode()) for k in CLASSES]


def pool_root(roots: dict[str, str]) -> str:
    """Step 1: the RFC 9162 root over the four leaves "A:<hex>" .. "D:<hex>"."""
    return merkle_root(class_leaves(roots)).hex()


# -- Rivest's consistent sampler (docs/sampler.md) ---------------------------

def ticket(seed_hex: str, id: str) -> str:
    v = int.from_bytes(sha256((seed_hex + id).encode()), "big")
    return "0." + str(v).zfill(64)[::-1]


def sample(seed: str, ids: list[str], n: int | None = None) -> list[str]:
    """The first n IDs in increasing (ticket, id) order: sampling without replacement."""
    if len(set(ids)) != len(ids):
        raise Rejected(f"sampler IDs are not distinct (seed {seed!r})")
    seed_hex = hashlib.sha256(seed.encode()).hexdigest()
    return [i for _, i in sorted((ticket(seed_hex, i), i) for i in ids)][:n]


# -- The draw ------------------------------------------------------------------

def check_inputs(inputs: dict) -> None:
    """What the ledger refuses before drawing; a bundle breaking these is not a v1 draw."""
    same("version", inputs["version"], "v1")
    for name in ("task_id", "beacon"):
        if "\n" in inputs[name]:
            raise Rejected(f"{name} contains a newline")
    if not HEX64.fullmatch(inputs["secret"]):
        raise Rejected("the secret is not 64 lowercase hex digits")
    if inputs["inspectors_per_target"] < 2:
        raise Rejected("inspectors_per_target is below 2")
    for k in set(inputs["quotas"]) | set(inputs["pool"]):
        if k not in CLASSES:
            raise Rejected(f"unknown risk class {k!r}")
    for k, quota in inputs["quotas"].items():
        if (quota.get("ratio") is None) == (quota.get("count") is None):
            raise Rejected(f"class {k}: the quota must give exactly one of ratio and count")
        if quota.get("count") is not None and quota["count"] < 0:
            raise Rejected(f"class {k}: negative count")
        if quota.get("ratio") is not None and not 0 <= Fraction(quota["ratio"]) <= 1:
            raise Rejected(f"class {k}: ratio outside [0, 1]")


def target_count(quota: dict | None, available: int) -> int:
    """Step 3: ceil(ratio x N) in exact arithmetic, or the count; never more than N."""
    if quota is None:
        return 0
    if quota.get("count") is not None:
        return min(quota["count"], available)
    return min(ceil(Fraction(quota["ratio"]) * available), available)


def draw_team(target: str, seed: str, officers: list[str], department_of: dict[str, str],
              needed: list[str], size: int) -> list[str]:
    """Step 4: walk the ranking; take an officer who brings a missing department,
    or any officer while the free places exceed the departments still missing."""
    missing = list(needed)
    team: list[str] = []
    for badge in sample(seed + ",inspectors," + target, officers):
        if len(team) == size:
            break
        if department_of[badge] in missing:
            missing.remove(department_of[badge])
            team.append(badge)
        elif size - len(team) > len(missing):
            team.append(badge)
    if len(team) < size or missing:
        raise Rejected(f"target {target}: no team can be formed (the ledger would have refused this draw)")
    return team


def draw(inputs: dict) -> dict:
    """Steps 1-5 of docs/draw-spec.md: inputs -> roots, counts, seed, targets, teams, digest."""
    check_inputs(inputs)
    pool = {k: by_utf8(inputs["pool"].get(k, [])) for k in CLASSES}
    roots = {k: class_root(pool[k]) for k in CLASSES}
    root = pool_root(roots)
    seed_text = "\n".join([SEED_TAG, inputs["task_id"], inputs["secret"], inputs["beacon"], root])
    seed = hashlib.sha256(seed_text.encode()).hexdigest()
    targets = {k: sample(seed, pool[k], target_count(inputs["quotas"].get(k), len(pool[k]))) for k in CLASSES}

    item_codes = {item["code"] for item in inputs["items"]}
    item_departments = {item["department"] for item in inputs["items"]}
    conflicts = {(badge, uscc) for badge, uscc in inputs["conflicts"]}
    department_of = {c["badge"]: c["department"] for c in inputs["inspectors"]}
    officers = [
        c["badge"] for c in inputs["inspectors"]
        if c["status"] == "active" and c["role"] == "enforcement" and c["department"] in inputs["departments"]
        and any(q in item_codes or q in item_departments for q in c["qualifications"])
    ]
    experts = [c["badge"] for c in inputs["inspectors"] if c["status"] == "active" and c["role"] == "expert"]
    departments = list(dict.fromkeys(inputs["departments"]))
    size = max(inputs["inspectors_per_target"], len(inputs["departments"]))
    needed = departments if len(inputs["departments"]) > 1 else []
    cap, per_target = inputs["load_cap"], inputs["experts_per_target"]
    load: dict[str, int] = {}
    teams = []
    for target in [t for k in CLASSES for t in targets[k]]:
        free = [b for b in officers if (b, target) not in conflicts and (cap is None or load.get(b, 0) < cap)]
        team = draw_team(target, seed, free, department_of, needed, size)
        chosen: list[str] = []
        if per_target:
            available = [b for b in experts if (b, target) not in conflicts]
            if len(available) < per_target:
                raise Rejected(f"target {target}: too few experts (the ledger would have refused this draw)")
            chosen = sample(seed + ",experts," + target, available, per_target)
        for badge in team:
            load[badge] = load.get(badge, 0) + 1
        teams.append({"experts": chosen, "inspectors": team, "target": target})
    digest = hashlib.sha256(canonical_json({"targets": targets, "teams": teams})).hexdigest()
    return {"pool_roots": roots, "pool_root": root, "counts": {k: len(pool[k]) for k in CLASSES},
            "seed": seed, "targets": targets, "teams": teams, "outcome_digest": digest}


def check_pool_shape(inputs: dict) -> None:
    seen: dict[str, str] = {}
    for k in CLASSES:
        for uscc in inputs["pool"].get(k, []):
            if uscc in seen:
                raise Rejected(f"pool: {uscc} is listed in class {seen[uscc]} and again in class {k}")
            seen[uscc] = k
    for uscc in inputs["excluded"]:
        if uscc in seen:
            raise Rejected(f"pool: {uscc} is both excluded and in class {seen[uscc]}")


def inputs_digest(inputs: dict) -> str:
    """SHA-256 of the canonical inputs without the secret: the drawer signs it, so
    the task's parameters, pool, inspectors and conflicts are covered too."""
    covered = {key: value for key, value in inputs.items() if key != "secret"}
    covered["pool"] = {k: sorted(v, key=str.encode) for k, v in inputs["pool"].items()}
    return hashlib.sha256(canonical_json(covered)).hexdigest()


def check_drawer(bundle: dict) -> str:
    """The drawer's signed draw.run command must reveal exactly this draw's secret and beacon."""
    drawer, inputs = bundle["drawer"], bundle["inputs"]
    command_bytes = base64.b64decode(drawer["signed"]["command"], validate=True)
    command = json.loads(command_bytes)
    same("signed command encoding", canonical_json(command), command_bytes)
    same("signed command fields", sorted(command), ["actor", "alg", "body", "issued_at", "name", "nonce"])
    same("signed command algorithm", command["alg"], "ed25519")
    same("signed command name", command["name"], "draw.run")
    same("signed command actor", command["actor"], drawer["actor"])
    same("signed command body", command["body"],
         {"beacon": inputs["beacon"], "secret": inputs["secret"], "task_id": inputs["task_id"]})
    if drawer["public_key"] is None:
        raise Rejected("the bundle carries no public key for the drawer")
    public_key = base64.b64decode(drawer["public_key"], validate=True)
    same("drawer key id", hashlib.sha256(public_key).hexdigest()[:16], drawer["signed"]["key_id"])
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return "drawer signature: not checked (no Ed25519 in the standard library)"
    try:
        signature = base64.b64decode(drawer["signed"]["signature"], validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, COMMAND_TAG + command_bytes)
    except (InvalidSignature, ValueError):
        raise Rejected("drawer signature does not verify") from None
    return f"drawer signature: valid ({drawer['actor']}, key {drawer['signed']['key_id']}, issued {command['issued_at']})"


def verify_bundle(bundle: dict) -> list[str]:
    same("bundle format", bundle["format"], BUNDLE_FORMAT)
    inputs, recorded = bundle["inputs"], bundle["recorded"]
    check_inputs(inputs)
    check_pool_shape(inputs)
    same("commitment", hashlib.sha256(bytes.fromhex(inputs["secret"])).hexdigest(), inputs["commitment"])
    computed = draw(inputs)
    for k in CLASSES:
        same(f"class {k}: pool size", computed["counts"][k], recorded["counts"].get(k))
        same(f"class {k}: pool root", computed["pool_roots"][k], recorded["pool_roots"].get(k))
    same("pool root", computed["pool_root"], recorded["pool_root"])
    same("seed", computed["seed"], recorded["seed"])
    same("risk classes with targets", sorted(recorded["targets"]), list(CLASSES))
    for k in CLASSES:
        mine, theirs = computed["targets"][k], recorded["targets"][k]
        for i in range(max(len(mine), len(theirs))):
            same(f"class {k}: target #{i + 1}", mine[i] if i < len(mine) else None,
                 theirs[i] if i < len(theirs) else None)
    same("number of teams", len(computed["teams"]), len(recorded["teams"]))
    for mine, theirs in zip(computed["teams"], recorded["teams"]):
        same(f"team for target {mine['target']}", mine, theirs)
    same("outcome digest", computed["outcome_digest"], recorded["outcome_digest"])
    same("inputs digest", inputs_digest(inputs), recorded["inputs_digest"])
    signature = check_drawer(bundle)
    total = sum(len(v) for v in computed["targets"].values())
    per_class = ", ".join(f"{k} {len(computed['targets'][k])}/{computed['counts'][k]}" for k in CLASSES)
    return [
        f"task {inputs['task_id']}: draw at ledger position {recorded['drawn_at']}, pool at {inputs['position']}",
        f"pool root {computed['pool_root']} ({per_class})",
        f"commitment, seed {computed['seed']}, {total} targets and {len(computed['teams'])} teams: identical",
        signature,
    ]


# -- Pool membership proofs (`drledger draw prove`) ----------------------------

def b64_hashes(items: list[str]) -> list[bytes]:
    return [base64.b64decode(x, validate=True) for x in items]


def check_class_leaf(proof: dict, entry: dict, k: str) -> None:
    """The class root sits at its place in the pool root."""
    same(f"class {k}: leaf index in the pool tree", entry["classLeafIndex"], CLASSES.index(k))
    leaf = class_leaves(proof["class_roots"])[CLASSES.index(k)]
    got = root_from_inclusion(leaf, entry["classLeafIndex"], len(CLASSES), b64_hashes(entry["classProof"]))
    same(f"class {k}: pool root from its class proof", got.hex(), proof["pool_root"])


def check_leaf(entry: dict, k: str, leaf: dict) -> None:
    got = root_from_inclusion(leaf_hash(leaf["id"].encode()), leaf["leafIndex"], entry["treeSize"],
                              b64_hashes(leaf["proof"]))
    same(f"class {k}: root from the proof of {leaf['id']}", got.hex(), entry["root"])


def verify_proof(proof: dict, bundle: dict | None) -> list[str]:
    same("pool root from the class roots", pool_root(proof["class_roots"]), proof["pool_root"])
    if bundle is not None:  # the roots and sizes the draw recorded (check the bundle itself first)
        same("task", proof["task_id"], bundle["inputs"]["task_id"])
        same("pool position", proof["position"], bundle["inputs"]["position"])
        same("pool root recorded with the draw", proof["pool_root"], bundle["recorded"]["pool_root"])
        same("class roots", proof["class_roots"], bundle["recorded"]["pool_roots"])
        for entry in proof.get("absence") or [proof.get("membership")]:
            same(f"class {entry['class']}: size", entry["treeSize"], bundle["recorded"]["counts"][entry["class"]])
    uscc = proof["uscc"]
    head = f"task {proof['task_id']}, pool at position {proof['position']}, pool root {proof['pool_root']}"
    if proof["in_pool"]:
        entry = proof["membership"]
        k = entry["class"]
        same("class of the member", proof["risk_class"], k)
        same("proved ID", entry["id"], uscc)
        check_class_leaf(proof, entry, k)
        check_leaf({**entry, "root": proof["class_roots"][k]}, k, entry)
        return [head, f"{uscc} IS in the pool: class {k}, leaf {entry['leafIndex']} of {entry['treeSize']}"]
    same("classes covered by the absence proof", [e["class"] for e in proof["absence"]], list(CLASSES))
    lines = [head]
    key = uscc.encode()
    for entry in proof["absence"]:
        k, size, left, right = entry["class"], entry["treeSize"], entry["left"], entry["right"]
        entry = {**entry, "root": proof["class_roots"][k]}
        check_class_leaf(proof, entry, k)
        if size == 0:
            same(f"class {k}: empty class root", entry["root"], sha256(b"").hex())
            if left is not None or right is not None:
                raise Rejected(f"class {k}: neighbours given in an empty class")
            lines.append(f"class {k}: empty")
            continue
        if left is None and right is None:
            raise Rejected(f"class {k}: no neighbour given")
        if left is not None:
            check_leaf(entry, k, left)
            if not left["id"].encode() < key:
                raise Rejected(f"class {k}: left neighbour {left['id']} does not sort before {uscc}")
        else:
            same(f"class {k}: index of the first leaf (no left neighbour)", right["leafIndex"], 0)
        if right is not None:
            check_leaf(entry, k, right)
            if not key < right["id"].encode():
                raise Rejected(f"class {k}: right neighbour {right['id']} does not sort after {uscc}")
            if left is not None:
                same(f"class {k}: right neighbour's index", right["leafIndex"], left["leafIndex"] + 1)
        else:
            same(f"class {k}: index of the last leaf (no right neighbour)", left["leafIndex"], size - 1)
        between = f"{left['id'] if left else '(start)'} and {right['id'] if right else '(end)'}"
        lines.append(f"class {k}: absent, between adjacent leaves {between} of {size}")
    lines.append(f"{uscc} is NOT in the pool")
    return lines


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["--proof"] and len(argv) in (2, 3):
            with open(argv[1], encoding="utf-8") as f:
                proof = json.load(f)
            bundle = None
            if len(argv) == 3:
                with open(argv[2], encoding="utf-8") as f:
                    bundle = json.load(f)
            lines = verify_proof(proof, bundle)
        elif len(argv) == 1 and not argv[0].startswith("-"):
            with open(argv[0], encoding="utf-8") as f:
                lines = verify_bundle(json.load(f))
        else:
            print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
            return 2
    except OSError as error:
        print(f"cannot read {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    except Rejected as error:
        print(f"REJECTED: {error}")
        return 1
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        print(f"REJECTED: malformed input ({type(error).__name__}: {error})")
        return 1
    print("\n".join(lines))
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
