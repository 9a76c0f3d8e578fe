#!/usr/bin/env python3
"""Check a drledger draw ("v2", bundle v4) with Python's standard library (and one package for BLS).

    python3 verify_draw.py BUNDLE.json                  # from `drledger draw export TASK [--public]`
    python3 verify_draw.py --skip-beacon-signature BUNDLE.json
    python3 verify_draw.py --proof PROOF.json [BUNDLE.json]
                                                        # from `drledger draw prove TASK USCC`

A bundle holds the draw's inputs as frozen by its commitment (the pool's IDs
per risk class, the inspectors, the conflicts, the task's parameters), the
commitment (its digest of those inputs, the beacon rounds it named, the
drawer's signed `draw.commit`), the chain info of each named beacon network,
the recorded draw (the rounds' signatures and randomness, seed, targets,
teams, the drawer's signed `draw.run`), the task's earlier attempts and the
changes after the draw (substitutions and 补抽, with their signed commands). A
full bundle (for auditors) lists the pool by USCC with the salt key; a
public bundle (`--public`) lists each class as salted commitments and
reveals only the drawn firms with their salts; both are checked, the format
tells which. A proof (`drledger draw prove`) gives one firm its salt and the
inclusion of its commitment, or its absence between adjacent commitments,
checkable against either bundle. This
program recomputes everything that can be recomputed and prints each check
as it passes; the first that fails is named and the program stops:

    format, inputs, inputs digest, pool, commitment, beacon rounds,
    beacon timing, beacon randomness, beacon signatures, seed, targets,
    teams, outcome digest, attempts, commit signature, run signature,
    changes, change signatures

The changes are the draw's substitutions (替换: draw.recuse, draw.substitute)
and 补抽 (draw.extend), each recomputed in ledger order from the frozen inputs
and the seed; the final teams are the drawn teams with them applied.

Exit codes: 0 every check passed; 1 a check failed (named on the last line);
2 usage, or a file that cannot be read; 3 every other check passed but the
beacon signatures could not be checked because py_arkworks_bls12381 (BLS12-381,
`pip install py-arkworks-bls12381`) is missing; give --skip-beacon-signature
to accept that (exit 0: the randomness is then only shown to be the SHA-256
of the recorded signatures, not that the network signed them).

The drawer's Ed25519 signatures are checked only if the `cryptography` package
happens to be installed (Ed25519 is not in the standard library); otherwise
the signed commands are still compared with the bundle and the line says
"not checked". Whether a public key really is the drawer's, and whether the
pinned beacon networks are the ones you trust (quicknet's chain hash is
52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971), is for you
to establish from the ledger: a bundle cannot vouch for its own keys. The
event hashes tie the bundle to the ledger; check them against a checkpoint.
Specification: docs/draw-spec.md; the sampler: docs/sampler.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from math import ceil

DEFAULT_CLASSES = ("A", "B", "C", "D")
CLASSES = DEFAULT_CLASSES  # the bundle's class set (inputs "classes", present only when not A-D)
BUNDLE_FORMAT = "drledger-draw-bundle/v4"
PUBLIC_FORMAT = "drledger-draw-bundle/v4-public"
PROOF_FORMAT = "drledger-pool-proof/v2"
COMMITMENT_TAG = b"drledger/pool-commitment/v1\n"
SALT_KEY_TAG = b"drledger/salt-key/v1\n"
DRAW_VERSION = "v2"
SEED_TAG = "drledger/draw-seed/v2"
COMMAND_TAG = b"drledger/command/v2\n"
SCHEME = "bls-unchained-g1-rfc9380"
LOCAL_TEST_BEACON = "local-test-not-public"
DST_G1 = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
G2_GENERATOR = bytes.fromhex(
    "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049"
    "334cf11213945d57e5ac7d055d042b7e024aa2b2f08f0a91260805272dc51051"
    "c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8")
MAX_BEACONS = 4
HEX64 = re.compile(r"[0-9a-f]{64}")
RATIO_FORM = re.compile(r"(0|1)(\.[0-9]+)?")
INPUT_FIELDS = ["committed_at", "conflicts", "cooling_off_days", "departments", "excluded", "experts_per_target",
                "inspectors", "inspectors_per_target", "items", "load_cap", "pool", "position", "quotas", "salt_key",
                "task_id", "version", "window_end"]
PUBLIC_INPUT_FIELDS = sorted([*(f for f in INPUT_FIELDS if f != "salt_key"), "salt_key_digest"])
BUNDLE_FIELDS = ["attempts", "beacons", "changes", "commitment", "drawer", "format", "inputs", "origin", "recorded",
                 "voided"]
CANDIDATE_FIELDS = ["badge", "certificate_no", "certificate_valid_until", "department", "qualifications", "role",
                    "since", "status"]
DATE_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CHANGE_FIELDS = ["actor", "event_hash", "fields", "kind", "position", "public_key", "signed", "task_version"]
SUBSTITUTED_FIELDS = ["actor", "basis", "joining", "leaving", "reason", "target", "task_id", "timestamp"]
EXTENDED_FIELDS = ["actor", "reason", "risk_class", "targets", "task_id", "teams", "timestamp"]
BASIS = {"recuse": "recusal", "substitute": "approval", "firm_recusal": "firm_request"}
COMMAND_OF = {"recuse": "draw.recuse", "substitute": "draw.substitute", "extend": "draw.extend",
              "firm_recusal": "firm.recusal_decide"}  # a firm's 回避 request granted by a reviewer
NOT_CHECKED = "beacon signatures NOT checked: pip install py-arkworks-bls12381"


class Rejected(Exception):
    """The bundle or proof is not what it claims; the message says where."""


def same(what: str, computed: object, recorded: object) -> None:
    if computed != recorded:
        raise Rejected(f"{what}: recomputed {computed!r}, recorded {recorded!r}")


def need(condition: bool, message: str) -> None:
    if not condition:
        raise Rejected(message)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def canonical_json(value: object) -> bytes:
    """Keys sorted, no spaces, UTF-8: the bytes the ledger hashes and signs."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def moment(text: str) -> datetime:
    """An RFC 3339 time as the ledger writes it (UTC, `Z`)."""
    parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    need(parsed.tzinfo is not None, f"time {text!r} has no time zone")
    return parsed


def day(text: str, what: str) -> str:
    """A calendar date YYYY-MM-DD (such dates compare as text)."""
    need(isinstance(text, str) and bool(DATE_FORM.fullmatch(text)), f"{what} {text!r} is not a date YYYY-MM-DD")
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise Rejected(f"{what} {text!r} is not a real date") from None
    return text


def certified(candidate: dict, window_end: str) -> bool:
    """An enforcement certificate (执法证): a number, valid through the task's last inspection day."""
    return bool(candidate["certificate_no"]) and candidate["certificate_valid_until"] is not None \
        and candidate["certificate_valid_until"] >= window_end


def unix_seconds(text: str) -> int:
    """Whole unix seconds of an RFC 3339 time, rounded down (as the ledger compares them)."""
    return (moment(text) - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(seconds=1)


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
    """One class's commitments (hex) sorted; leaf = the 64 ASCII hex digits."""
    return merkle_root([leaf_hash(i.encode()) for i in by_utf8(ids)]).hex()


# -- Salted commitments (docs/draw-spec.md §2) --------------------------------

def firm_salt(salt_key: str, uscc: str) -> bytes:
    return hmac.new(bytes.fromhex(salt_key), uscc.encode(), hashlib.sha256).digest()


def firm_commitment(salt: bytes, uscc: str) -> str:
    return sha256(COMMITMENT_TAG + salt + uscc.encode()).hex()


def public_form(inputs: dict) -> dict:
    """The full inputs as their digest covers them: USCCs by their commitments, the key by its digest."""
    key = inputs["salt_key"]
    c = lambda u: firm_commitment(firm_salt(key, u), u)  # noqa: E731
    covered = {n: v for n, v in inputs.items() if n != "salt_key"}
    covered["salt_key_digest"] = sha256(SALT_KEY_TAG + bytes.fromhex(key)).hex()
    covered["pool"] = {k: sorted(c(u) for u in v) for k, v in inputs["pool"].items()}
    covered["excluded"] = sorted(c(u) for u in inputs["excluded"])
    covered["conflicts"] = sorted([b, c(u)] for b, u in inputs["conflicts"])
    return covered


def class_leaves(roots: dict[str, str]) -> list[bytes]:
    return [leaf_hash(f"{k}:{roots[k]}".encode()) for k in CLASSES]


def pool_root(roots: dict[str, str]) -> str:
    """The RFC 9162 root over the leaves "A:<hex>" .. "D:<hex>" (one per class of the set, in order)."""
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


# -- The draw (docs/draw-spec.md §3-§8) ------------------------------------------

def check_inputs(inputs: dict, public: bool) -> str:
    """What the ledger refuses before drawing; a bundle breaking these is not a v2 draw. `public`:
    the inputs as the digest covers them (firms by commitment), else the full inputs."""
    global CLASSES
    classes = inputs.get("classes", list(DEFAULT_CLASSES))
    need(isinstance(classes, list) and len(classes) >= 2 and all(isinstance(k, str) and k for k in classes)
         and len(set(classes)) == len(classes), "classes is not a list of distinct class codes")
    need("classes" not in inputs or tuple(classes) != DEFAULT_CLASSES, "the inputs name the default classes A-D")
    CLASSES = tuple(classes)
    same("input fields", sorted(set(inputs) - {"classes"}), PUBLIC_INPUT_FIELDS if public else INPUT_FIELDS)
    same("draw version", inputs["version"], DRAW_VERSION)
    key = inputs["salt_key_digest" if public else "salt_key"]
    need(isinstance(key, str) and bool(HEX64.fullmatch(key)), "the salt key (or its digest) is not 64 hex digits")
    if public:
        for k, v in inputs["pool"].items():
            need(all(isinstance(c, str) and HEX64.fullmatch(c) for c in v), f"class {k}: a commitment is not 64 hex")
            same(f"class {k}: commitments in sorted order", v, sorted(v))
        same("excluded commitments in sorted order", inputs["excluded"], sorted(inputs["excluded"]))
        same("conflicts in sorted order", inputs["conflicts"], sorted(inputs["conflicts"]))
    need(isinstance(inputs["task_id"], str) and "\n" not in inputs["task_id"], "task_id is not one line of text")
    need(isinstance(inputs["cooling_off_days"], int) and inputs["cooling_off_days"] >= 0, "cooling_off_days is not >= 0")
    moment(inputs["committed_at"])
    day(inputs["window_end"], "window_end")
    need(inputs["inspectors_per_target"] >= 2, "inspectors_per_target is below 2")
    for k in set(inputs["quotas"]) | set(inputs["pool"]):
        need(k in CLASSES, f"unknown risk class {k!r}")
    for k, quota in inputs["quotas"].items():
        need((quota.get("ratio") is None) != (quota.get("count") is None),
             f"class {k}: the quota must give exactly one of ratio and count")
        if quota.get("count") is not None:
            need(quota["count"] >= 0, f"class {k}: negative count")
        if quota.get("ratio") is not None:
            need(bool(RATIO_FORM.fullmatch(quota["ratio"])), f"class {k}: ratio {quota['ratio']!r} is not a plain decimal")
            need(0 < Fraction(quota["ratio"]) <= 1, f"class {k}: ratio outside (0, 1]")
    seen: dict[str, str] = {}
    for k in CLASSES:
        for uscc in inputs["pool"].get(k, []):
            need(uscc not in seen, f"pool: {uscc} is listed in class {seen.get(uscc)} and again in class {k}")
            seen[uscc] = k
    for uscc in inputs["excluded"]:
        need(uscc not in seen, f"pool: {uscc} is both excluded and in class {seen.get(uscc)}")
    for c in inputs["inspectors"]:
        same(f"fields of inspector {c.get('badge')}", sorted(c), CANDIDATE_FIELDS)
        moment(c["since"])
        if c["certificate_valid_until"] is not None:
            day(c["certificate_valid_until"], f"certificate_valid_until of {c['badge']}")
    return (f"draw {inputs['version']} of task {inputs['task_id']}, frozen at position {inputs['position']}:"
            f" {len(seen)} firms{' (salted commitments)' if public else ''}, {len(inputs['inspectors'])} inspectors,"
            f" {len(inputs['conflicts'])} conflicts")


def inputs_digest(covered: dict) -> str:
    """SHA-256 of the canonical public form of the inputs (public_form; sorted lists)."""
    return hashlib.sha256(canonical_json(covered)).hexdigest()


def derive_seed(task_id: str, digest: str, beacons: list[dict]) -> str:
    lines = [SEED_TAG, task_id, digest, *(f"{b['chain_hash']}:{b['round']}:{b['randomness']}" for b in beacons)]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def target_count(quota: dict | None, available: int) -> int:
    """ceil(ratio x N) in exact arithmetic, or the count; never more than N."""
    if quota is None:
        return 0
    if quota.get("count") is not None:
        return min(quota["count"], available)
    return min(ceil(Fraction(quota["ratio"]) * available), available)


def cooled_off(candidate: dict, inputs: dict) -> bool:
    """The record was in force at least cooling_off_days before the commitment."""
    return moment(candidate["since"]) <= moment(inputs["committed_at"]) - timedelta(days=inputs["cooling_off_days"])


def draw_team(target: str, seed: str, officers: list[str], department_of: dict[str, str],
              needed: list[str], size: int) -> list[str]:
    """Walk the ranking; take an officer who brings a missing department, or any officer
    while the free places exceed the departments still missing. The first is the team leader."""
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
    need(len(team) == size and not missing,
         f"target {target}: no team can be formed (the ledger would have refused this draw)")
    return team


def load_of(teams: list[dict]) -> dict[str, int]:
    load: dict[str, int] = {}
    for team in teams:
        for badge in team["inspectors"]:
            load[badge] = load.get(badge, 0) + 1
    return load


class Draw:
    """Targets and teams of the public-form `inputs` with `seed` (docs/draw-spec.md §4-§6);
    `firm_of` maps the commitments whose firm is known (every one for a full bundle, the
    revealed targets for a public one) to their USCC."""

    def __init__(self, inputs: dict, seed: str, firm_of: dict[str, str]) -> None:
        self.inputs, self.seed = inputs, seed
        pool = {k: sorted(inputs["pool"].get(k, [])) for k in CLASSES}
        self.drawn = {k: sample(seed, pool[k], target_count(inputs["quotas"].get(k), len(pool[k]))) for k in CLASSES}
        for k in CLASSES:
            for i, c in enumerate(self.drawn[k]):
                need(c in firm_of, f"class {k}: target #{i + 1} is commitment {c}, which the bundle does not reveal")
        self.targets = {k: [firm_of[c] for c in self.drawn[k]] for k in CLASSES}
        self.firm_of = firm_of
        self.commitment_of = {u: c for c, u in firm_of.items()}
        self.item_codes = {item["code"] for item in inputs["items"]}
        self.item_departments = {item["department"] for item in inputs["items"]}
        self.conflicts = {(badge, c) for badge, c in inputs["conflicts"]}
        self.department_of = {c["badge"]: c["department"] for c in inputs["inspectors"]}
        drawable = [c for c in inputs["inspectors"] if c["status"] == "active" and cooled_off(c, inputs)]
        self.officers = [c["badge"] for c in drawable if c["role"] == "enforcement" and self.serves(c)]
        self.experts = [c["badge"] for c in drawable if c["role"] == "expert"]

    def serves(self, c: dict) -> bool:
        return c["department"] in self.inputs["departments"] and any(
            q in self.item_codes or q in self.item_departments for q in c["qualifications"]) \
            and certified(c, self.inputs["window_end"])

    def teams(self) -> list[dict]:
        return self.teams_for([t for k in CLASSES for t in self.targets[k]], [])

    def teams_for(self, targets: list[str], earlier: list[dict]) -> list[dict]:
        """Teams for `targets` in order (§5), the load cap counting the `earlier` teams of the task."""
        inputs, seed = self.inputs, self.seed
        size = max(inputs["inspectors_per_target"], len(inputs["departments"]))
        needed = list(dict.fromkeys(inputs["departments"])) if len(inputs["departments"]) > 1 else []
        cap, per_target = inputs["load_cap"], inputs["experts_per_target"]
        load = load_of(earlier)
        teams = []
        for target in targets:
            mine = self.commitment_of[target]
            free = [b for b in self.officers if (b, mine) not in self.conflicts and (cap is None or load.get(b, 0) < cap)]
            team = draw_team(target, seed, free, self.department_of, needed, size)
            chosen: list[str] = []
            if per_target:
                available = [b for b in self.experts if (b, mine) not in self.conflicts]
                need(len(available) >= per_target, f"target {target}: too few experts (the ledger would have refused)")
                chosen = sample(seed + ",experts," + target, available, per_target)
            for badge in team:
                load[badge] = load.get(badge, 0) + 1
            teams.append({"experts": chosen, "inspectors": team, "target": target})
        return teams

    def successor(self, teams: list[dict], target: str, leaving: str, left_before: list[str]) -> str:
        """替换 (§7c): the draw's ranking for `target` continued, over the officers without a conflict
        with it, under the load cap counting the current teams, not in the team, not `leaving` nor
        anyone who left this target's team before; of `leaving`'s department in a joint task."""
        cap = self.inputs["load_cap"]
        load = load_of(teams)
        team = next((t for t in teams if t["target"] == target), None)
        need(team is not None and leaving in team["inspectors"], f"{leaving} is not an officer of the team of {target}")
        gone = {leaving, *left_before, *team["inspectors"]}
        mine = self.commitment_of[target]
        free = [b for b in self.officers if (b, mine) not in self.conflicts and b not in gone
                and (cap is None or load.get(b, 0) < cap)]
        joint = len(self.inputs["departments"]) > 1
        for badge in sample(self.seed + ",inspectors," + target, free):
            if not joint or self.department_of[badge] == self.department_of[leaving]:
                return badge
        raise Rejected(f"target {target}: no drawable officer left to take {leaving}'s place")

    def more(self, targets: dict, teams: list[dict], k: str, count: int) -> tuple[list[str], list[dict]]:
        """补抽 (§7c): the next `count` IDs of class `k` in the draw's order, and their teams."""
        need(k in CLASSES, f"unknown risk class {k!r}")
        need(count >= 1, "an extension draws at least one more target")
        drawn = [self.commitment_of[u] for u in targets[k]]
        order = sample(self.seed, sorted(self.inputs["pool"].get(k, [])), len(drawn) + count)
        same(f"class {k}: the targets drawn so far as the start of the draw's order", order[:len(drawn)], drawn)
        need(len(order) - len(drawn) == count, f"class {k}: only {len(order) - len(drawn)} more firm(s) in the pool")
        for c in order[len(drawn):]:
            need(c in self.firm_of, f"class {k}: the extension's commitment {c} is not revealed by the bundle")
        more = [self.firm_of[c] for c in order[len(drawn):]]
        return more, self.teams_for(more, teams)

    def why_not(self, badge: str, target: str, role: str) -> str | None:
        """Why `badge` may not sit in the team of `target` as `role`, if a rule says so."""
        c = next((c for c in self.inputs["inspectors"] if c["badge"] == badge), None)
        if c is None:
            return f"{badge} is not in the inputs' inspector list"
        if c["status"] != "active":
            return f"{badge} is {c['status']}, not active"
        if not cooled_off(c, self.inputs):
            return (f"{badge}'s record is in force since {c['since']}, less than {self.inputs['cooling_off_days']}"
                    f" day(s) before the commitment ({self.inputs['committed_at']}): within the cooling-off period")
        if (badge, self.commitment_of.get(target)) in self.conflicts:
            return f"{badge} declared a conflict of interest (回避) with {target}"
        if role == "enforcement" and c["role"] == role and not certified(c, self.inputs["window_end"]):
            held = (f"{badge}'s certificate {c['certificate_no']} is valid until {c['certificate_valid_until']}"
                    if c["certificate_no"] and c["certificate_valid_until"] else f"{badge} holds no dated certificate")
            return (f"{held}: an enforcement officer needs an enforcement certificate (执法证) valid through"
                    f" the task's window_end {self.inputs['window_end']}")
        if c["role"] != role or (role == "enforcement" and not self.serves(c)):
            return f"{badge} is not a qualified {role} of the task's departments"
        return None


# -- The bundle's checks -----------------------------------------------------------

def chain_info(network: str, info: dict) -> dict:
    """A drand chain info, its chain hash recomputed (drand chain.Info.Hash)."""
    beacon_id = info.get("metadata", {}).get("beaconID", info.get("beaconID", "default"))
    same(f"{network}: beacon ID of its chain info", beacon_id, network)
    same(f"{network}: scheme", info["schemeID"], SCHEME)
    public_key, group_hash = bytes.fromhex(info["public_key"]), bytes.fromhex(info["groupHash"])
    h = hashlib.sha256(info["period"].to_bytes(4, "big") + info["genesis_time"].to_bytes(8, "big", signed=True)
                       + public_key + group_hash)
    if beacon_id not in ("", "default"):
        h.update(beacon_id.encode())
    same(f"{network}: chain hash of its chain info", h.hexdigest(), info["hash"].lower())
    return {"public_key": public_key, "period": info["period"], "genesis_time": info["genesis_time"],
            "hash": h.hexdigest()}


def bls_library():
    try:
        import py_arkworks_bls12381 as bls
    except ImportError:
        return None
    return bls


def bls_problem(bls, public_key: bytes, round: int, signature: bytes) -> str | None:
    """docs/beacon.md: e(signature, g2) == e(H(SHA-256(round as u64be)), public key), strict encodings."""
    try:
        key = bls.G2Point.from_compressed_bytes(public_key)
    except ValueError:
        return "the network's public key is not a compressed G2 point of the prime-order subgroup"
    if key.to_compressed_bytes() != public_key or key == bls.G2Point.identity():
        return "the network's public key is not canonical, or is the point at infinity"
    try:
        point = bls.G1Point.from_compressed_bytes(signature)
    except ValueError:
        return "the signature is not a compressed G1 point of the prime-order subgroup"
    if point.to_compressed_bytes() != signature or point == bls.G1Point.identity():
        return "the signature is not canonical, or is the point at infinity"
    hashed = bls.G1Point.hash_to_curve(sha256(round.to_bytes(8, "big")), DST_G1)
    if not bls.GT.pairing_check([point, hashed], [-bls.G2Point.from_compressed_bytes(G2_GENERATOR), key]):
        return f"the signature does not verify for round {round} under the network's public key"
    return None


def check_signed(part: dict, actor: str, name: str, body: dict) -> str:
    """A drawer's signed command, as stored: canonical, about this body, Ed25519 over the tag and bytes."""
    command_bytes = base64.b64decode(part["signed"]["command"], validate=True)
    command = json.loads(command_bytes)
    same("signed command encoding", canonical_json(command), command_bytes)
    same("signed command fields", sorted(command), ["actor", "alg", "body", "issued_at", "name", "nonce"])
    same("signed command algorithm", command["alg"], "ed25519")
    same("signed command name", command["name"], name)
    same("signed command actor", command["actor"], actor)
    same("signed command body", command["body"], body)
    need(part["public_key"] is not None, f"the bundle carries no public key for {actor}")
    public_key = base64.b64decode(part["public_key"], validate=True)
    same("key id", hashlib.sha256(public_key).hexdigest()[:16], part["signed"]["key_id"])
    where = f"{name} by {actor}, key {part['signed']['key_id']}, issued {command['issued_at']}"
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return f"{where}: body matches; Ed25519 signature not checked (no Ed25519 in the standard library)"
    try:
        signature = base64.b64decode(part["signed"]["signature"], validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, COMMAND_TAG + command_bytes)
    except (InvalidSignature, ValueError):
        raise Rejected(f"the Ed25519 signature of {name} does not verify under {actor}'s key") from None
    return f"{where}: signature valid"


def check_attempts(bundle: dict) -> str:
    """Earlier commits, runs and voids in ledger order, a lifecycle that leaves the task free for
    this commitment, and all of them: the task's events are numbered (creation = 1)."""
    attempts, commitment, recorded = bundle["attempts"], bundle["commitment"], bundle["recorded"]
    state, last = "free", 0
    moves = {("free", "commit"): "committed", ("committed", "run"): "drawn", ("committed", "void"): "free",
             ("drawn", "void"): "free"}
    for number, a in enumerate(attempts, 1):
        same(f"attempt {number}: fields", sorted(a), ["actor", "kind", "position", "reason"])
        need(last < a["position"] < commitment["event_position"],
             f"attempt {number} at position {a['position']} is out of ledger order (before the commitment)")
        need(a["kind"] in ("commit", "run", "void"), f"attempt {number}: unknown kind {a['kind']!r}")
        need((a["kind"] == "void") == (isinstance(a["reason"], str) and a["reason"] != ""),
             f"attempt {number}: a void, and only a void, gives a reason")
        need((state, a["kind"]) in moves, f"attempt {number}: a {a['kind']} cannot follow a task {state}")
        state, last = moves[(state, a["kind"])], a["position"]
    need(state == "free", f"the earlier attempts leave the task {state}: the commitment could not have been made")
    same("the commitment's place in the task's events (creation + attempts + 1)", len(attempts) + 2,
         commitment["task_version"])
    same("the draw's place in the task's events (right after its commitment)", commitment["task_version"] + 1,
         recorded["task_version"])
    voided = bundle["voided"]
    if voided is not None:
        need(voided["position"] > recorded["event_position"] and bool(voided["reason"]),
             "the later void is not after the draw, or gives no reason")
    kinds = ", ".join(f"{a['kind']}@{a['position']}" for a in attempts) or "none"
    state = f"VOIDED at position {voided['position']} ({voided['reason']})" if voided else "standing"
    return f"{len(attempts)} earlier attempt(s): {kinds}; this draw is {state}"


def check_changes(bundle: dict, draw: "Draw", teams: list[dict]) -> tuple[str, list[dict]]:
    """Substitutions (替换) and 补抽 after the draw (§7c), in ledger order, each recomputed from the
    frozen inputs and the seed on the teams as the changes before it left them; the final teams."""
    recorded, inputs, voided = bundle["recorded"], bundle["inputs"], bundle["voided"]
    targets = {k: list(draw.targets[k]) for k in CLASSES}
    teams = [{"experts": list(t["experts"]), "inspectors": list(t["inspectors"]), "target": t["target"]}
             for t in teams]
    left: dict[str, list[str]] = {}
    substitutions, last, replaced, added = 0, recorded["event_position"], 0, 0
    for number, c in enumerate(bundle["changes"], 1):
        where = f"change {number} ({c.get('kind')} at position {c.get('position')})"
        same(f"{where}: fields", sorted(c), CHANGE_FIELDS)
        need(c["kind"] in COMMAND_OF, f"{where}: unknown kind")
        need(last < c["position"] and (voided is None or c["position"] < voided["position"]),
             f"{where} is out of ledger order (after the draw, and before its void if any)")
        same(f"{where}: its place in the task's events (the draw's + {number})", c["task_version"],
             recorded["task_version"] + number)
        same(f"{where}: position of its command (right before its event)", c["signed"]["position"], c["position"] - 1)
        f = c["fields"]
        same(f"{where}: event fields", sorted(f), EXTENDED_FIELDS if c["kind"] == "extend" else SUBSTITUTED_FIELDS)
        same(f"{where}: task", f["task_id"], inputs["task_id"])
        same(f"{where}: actor", f["actor"], c["actor"])
        need(isinstance(f["reason"], str) and f["reason"].strip() != "", f"{where}: no reason given")
        moment(f["timestamp"])
        if c["kind"] == "extend":
            k = f["risk_class"]
            more, new = draw.more(targets, teams, k, len(f["targets"]))
            for i, (mine, theirs) in enumerate(zip(more, f["targets"])):
                same(f"{where}: class {k}: extra target #{i + 1}", mine, theirs)
            same(f"{where}: number of teams", len(new), len(f["teams"]))
            for mine, theirs in zip(new, f["teams"]):
                if mine != theirs:
                    target = theirs.get("target")
                    reasons = [r for role, key in (("enforcement", "inspectors"), ("expert", "experts"))
                               for b in theirs.get(key, []) if (r := draw.why_not(b, target, role))]
                    raise Rejected(f"{where}: team for target {mine['target']}: recomputed {mine!r}, recorded"
                                   f" {theirs!r}" + "".join(f"; {r}" for r in reasons))
            targets[k] += more
            teams += new
            added += len(more)
        else:
            same(f"{where}: basis", f["basis"], BASIS[c["kind"]])
            if c["kind"] == "recuse":
                same(f"{where}: the recusing officer (回避 is signed by the officer itself)", c["actor"], f["leaving"])
            substitutions += 1
            cap = max(1, len(teams) // 10)
            need(substitutions <= cap, f"{where}: substitution {substitutions} of this draw; it allows {cap}"
                 " (one in ten targets, at least one)")
            target, leaving = f["target"], f["leaving"]
            joining = draw.successor(teams, target, leaving, left.get(target, []))
            same(f"{where}: successor of {leaving} in the team of {target}", joining, f["joining"])
            team = next(t for t in teams if t["target"] == target)
            team["inspectors"] = [joining if b == leaving else b for b in team["inspectors"]]
            left.setdefault(target, []).append(leaving)
            replaced += 1
        last = c["position"]
    if not bundle["changes"]:
        return "none: the teams stand as drawn", teams
    kinds = ", ".join(f"{c['kind']}@{c['position']}" for c in bundle["changes"])
    return (f"{len(bundle['changes'])} change(s): {kinds}; final: {len(teams)} teams ({replaced} officer(s)"
            f" replaced, {added} target(s) added)"), teams


def change_body(change: dict) -> dict:
    """The body the change's signed command must carry (§7c)."""
    f = change["fields"]
    if change["kind"] == "extend":
        return {"count": len(f["targets"]), "reason": f["reason"], "risk_class": f["risk_class"],
                "task_id": f["task_id"]}
    if change["kind"] == "recuse":
        return {"reason": f["reason"], "target": f["target"], "task_id": f["task_id"]}
    if change["kind"] == "firm_recusal":
        return {"grant": True, "officer": f["leaving"], "reason": f["reason"], "task_id": f["task_id"],
                "uscc": f["target"]}
    return {"officer": f["leaving"], "reason": f["reason"], "target": f["target"], "task_id": f["task_id"]}


def verify_bundle(bundle: dict, skip_beacon_signature: bool, say=print) -> int:
    """Run the checks in order; 0, 1 or 3 (module text)."""
    step = "format"
    outcome, bls = 0, None

    def ok(text: str) -> None:
        say(f"ok    {step}: {text}")

    try:
        public = bundle["format"] == PUBLIC_FORMAT
        need(public or bundle["format"] == BUNDLE_FORMAT,
             f"bundle format {bundle['format']!r} is neither {BUNDLE_FORMAT!r} nor {PUBLIC_FORMAT!r}")
        same("bundle fields", sorted(bundle), sorted([*BUNDLE_FIELDS, "revealed"]) if public else BUNDLE_FIELDS)
        given, commitment, recorded = bundle["inputs"], bundle["commitment"], bundle["recorded"]
        ok(f"{bundle['format']} from ledger {bundle['origin']!r} (check its event hashes against a checkpoint)")

        step = "inputs"
        ok(check_inputs(given, public))
        if public:
            need("salt_key" not in commitment, "a public bundle carries the salt key")
            inputs = given
            salts = {u: bytes.fromhex(s) for u, s in bundle["revealed"].items()}
            need(all(len(s) == 32 for s in salts.values()), "a revealed salt is not 32 bytes")
            extended = [u for c in bundle.get("changes", []) if isinstance(c, dict) and c.get("kind") == "extend"
                        for u in c.get("fields", {}).get("targets", [])]
            same("revealed firms (exactly the drawn targets and 补抽's)", sorted(salts),
                 sorted([*(u for ids in recorded["targets"].values() for u in ids), *extended]))
        else:
            same("salt key recorded with the commitment", commitment["salt_key"], given["salt_key"])
            inputs = public_form(given)
            salts = {u: firm_salt(given["salt_key"], u) for ids in given["pool"].values() for u in ids}
        firm_of = {firm_commitment(salt, u): u for u, salt in salts.items()}

        step = "inputs digest"
        digest = inputs_digest(inputs)
        same("inputs digest (the commitment's)", digest, commitment["inputs_digest"])
        same("inputs digest (the draw's)", digest, recorded["inputs_digest"])
        ok(digest)

        step = "pool"
        pool = {k: inputs["pool"].get(k, []) for k in CLASSES}
        roots = {k: class_root(pool[k]) for k in CLASSES}
        for k in CLASSES:
            same(f"class {k}: pool size", len(pool[k]), commitment["counts"].get(k))
            same(f"class {k}: pool root", roots[k], commitment["pool_roots"].get(k))
        same("pool root", pool_root(roots), commitment["pool_root"])
        same("firms left out as recently inspected", len(inputs["excluded"]), commitment["excluded"])
        ok(f"pool root {pool_root(roots)} (" + ", ".join(f"{k} {len(pool[k])}" for k in CLASSES) + ")")

        step = "commitment"
        for name in ("task_id", "position", "committed_at", "cooling_off_days"):
            same(f"commitment {name}", commitment[name], inputs[name])
        same("draw task_id", recorded["task_id"], inputs["task_id"])
        same("draw position (the commitment's)", recorded["position"], inputs["position"])
        same("position of the draw.commit command (right after the frozen position)",
             commitment["signed"]["position"], inputs["position"] + 1)
        same("position of the commitment's event", commitment["event_position"], inputs["position"] + 2)
        same("position of the draw's event (right after its draw.run)", recorded["event_position"],
             bundle["drawer"]["signed"]["position"] + 1)
        need(recorded["event_position"] > commitment["event_position"], "the draw is recorded before its commitment")
        ok(f"inputs frozen at position {inputs['position']}, committed at {commitment['event_position']}"
           f" ({commitment['committed_at']}), drawn at {recorded['event_position']}")

        step = "beacon rounds"
        named, used = commitment["beacons"], recorded["beacons"]
        need(1 <= len(named) <= MAX_BEACONS, f"the commitment names {len(named)} beacon rounds (1 to {MAX_BEACONS})")
        same("beacon networks given", sorted(bundle["beacons"]), sorted({b["network"] for b in named}))
        need(len(named) == len(bundle["beacons"]), "a beacon network is named twice")
        infos = {}
        for b in named:
            infos[b["network"]] = info = chain_info(b["network"], bundle["beacons"][b["network"]])
            same(f"{b['network']}: chain hash named", b["chain_hash"], info["hash"])
            need(isinstance(b["round"], int) and 1 <= b["round"] < 2**63, f"{b['network']}: round {b['round']!r}")
            same(f"{b['network']} round {b['round']}: publication time", b["published_at"],
                 info["genesis_time"] + (b["round"] - 1) * info["period"])
        same("beacon rounds used by the draw", [(b["network"], b["chain_hash"], b["round"]) for b in used],
             [(b["network"], b["chain_hash"], b["round"]) for b in named])
        same("number of beacon signatures", len(recorded["signatures"]), len(named))
        ok(", ".join(f"{b['network']} round {b['round']} (chain {b['chain_hash']})" for b in named))
        for b in named:
            if b["network"] == LOCAL_TEST_BEACON:
                say(f"WARNING: {LOCAL_TEST_BEACON} is a LOCAL TEST beacon, not public randomness: whoever holds"
                    " its seed chose this draw's randomness (demo and tests only)")

        step = "beacon timing"
        committed = unix_seconds(commitment["committed_at"])
        for b in named:
            need(b["published_at"] > committed, f"{b['network']} round {b['round']} was published at"
                 f" {b['published_at']}, not after the commitment ({commitment['committed_at']}, {committed})")
        ok(f"every round published after the commitment ({committed}): "
           + ", ".join(f"{b['round']} at {b['published_at']}" for b in named))

        step = "beacon randomness"
        signatures = []
        for b, text in zip(used, recorded["signatures"]):
            need(bool(re.fullmatch(r"(?:[0-9a-fA-F]{2}){48}", text)), f"round {b['round']}: the signature is not"
                 " 48 bytes of hex")
            signatures.append(bytes.fromhex(text))
            same(f"{b['network']} round {b['round']}: randomness = SHA-256(signature)",
                 sha256(signatures[-1]).hex(), b["randomness"])
        ok("each round's randomness is the SHA-256 of its signature")

        step = "beacon signatures"
        bls = bls_library()
        if bls is None:
            say(NOT_CHECKED + (" (--skip-beacon-signature given)" if skip_beacon_signature else ""))
            outcome = 0 if skip_beacon_signature else 3
        else:
            for b, signature in zip(used, signatures):
                problem = bls_problem(bls, infos[b["network"]]["public_key"], b["round"], signature)
                need(problem is None, f"{b['network']} round {b['round']}: {problem}")
            ok("each signature is its network's BLS signature of its round (BLS12-381)")

        step = "seed"
        seed = derive_seed(inputs["task_id"], digest, used)
        same("seed", seed, recorded["seed"])
        ok(seed)

        step = "targets"
        draw = Draw(inputs, seed, firm_of)
        same("risk classes with targets", sorted(recorded["targets"]), list(CLASSES))
        for k in CLASSES:
            mine, theirs = draw.targets[k], recorded["targets"][k]
            for i in range(max(len(mine), len(theirs))):
                same(f"class {k}: target #{i + 1}", mine[i] if i < len(mine) else None,
                     theirs[i] if i < len(theirs) else None)
        ok(", ".join(f"{k} {len(draw.targets[k])}/{len(pool[k])}" for k in CLASSES))

        step = "teams"
        teams = draw.teams()
        same("number of teams", len(teams), len(recorded["teams"]))
        for mine, theirs in zip(teams, recorded["teams"]):
            if mine != theirs:
                target = theirs.get("target")
                reasons = [r for role, key in (("enforcement", "inspectors"), ("expert", "experts"))
                           for b in theirs.get(key, []) if (r := draw.why_not(b, target, role))]
                raise Rejected(f"team for target {mine['target']}: recomputed {mine!r}, recorded {theirs!r}"
                               + "".join(f"; {r}" for r in reasons))
        ok(f"{len(teams)} teams, each led by its first inspector (组长)")

        step = "outcome digest"
        digest = hashlib.sha256(canonical_json({"targets": draw.targets, "teams": teams})).hexdigest()
        same("outcome digest", digest, recorded["outcome_digest"])
        ok(digest)

        step = "attempts"
        ok(check_attempts(bundle))

        step = "commit signature"
        ok(check_signed(commitment, commitment["actor"], "draw.commit", {
            "task_id": inputs["task_id"], "beacons": [{"network": b["network"], "round": b["round"]} for b in named]}))

        step = "run signature"
        same("drawer", bundle["drawer"]["actor"], recorded["actor"])
        ok(check_signed(bundle["drawer"], recorded["actor"], "draw.run",
                        {"task_id": inputs["task_id"], "signatures": recorded["signatures"]}))

        step = "changes"
        text, _ = check_changes(bundle, draw, teams)
        ok(text)

        step = "change signatures"
        for number, change in enumerate(bundle["changes"], 1):
            try:
                say(f"      change {number}: " + check_signed(change, change["actor"], COMMAND_OF[change["kind"]],
                                                                change_body(change)))
            except Rejected as error:
                raise Rejected(f"change {number} ({change['kind']} at position {change['position']}): {error}") from None
        ok(f"{len(bundle['changes'])} signed change command(s)" if bundle["changes"] else "none")
    except Rejected as error:
        return failed(step, str(error), say)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        return failed(step, f"malformed bundle ({type(error).__name__}: {error})", say)
    if outcome == 3:
        say("NOT FULLY VERIFIED: every other check passed, but not the beacon signatures (exit 3):"
            " install py-arkworks-bls12381, or accept that with --skip-beacon-signature")
    else:
        say("OK" if bls is not None else "OK (beacon signatures not checked: --skip-beacon-signature)")
    return outcome


def failed(step: str, message: str, say) -> int:
    say(f"FAIL  {step}: {message}")
    say(f'REJECTED: the first failing check is "{step}"')
    return 1


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
    global CLASSES
    same("proof format", proof["format"], PROOF_FORMAT)
    CLASSES = tuple(proof.get("classes", DEFAULT_CLASSES))
    uscc = proof["uscc"]
    mine = firm_commitment(bytes.fromhex(proof["salt"]), uscc)
    need(len(bytes.fromhex(proof["salt"])) == 32, "the salt is not 32 bytes")
    same(f"commitment of {uscc} with its salt", mine, proof["commitment"])
    same("pool root from the class roots", pool_root(proof["class_roots"]), proof["pool_root"])
    if bundle is not None:  # the roots and sizes the commitment recorded (check the bundle itself first)
        same("task", proof["task_id"], bundle["inputs"]["task_id"])
        same("pool position", proof["position"], bundle["inputs"]["position"])
        same("pool root recorded with the commitment", proof["pool_root"], bundle["commitment"]["pool_root"])
        same("class roots", proof["class_roots"], bundle["commitment"]["pool_roots"])
        for entry in proof.get("absence") or [proof.get("membership")]:
            same(f"class {entry['class']}: size", entry["treeSize"], bundle["commitment"]["counts"][entry["class"]])
    head = f"task {proof['task_id']}, pool at position {proof['position']}, pool root {proof['pool_root']}"
    if proof["in_pool"]:
        entry = proof["membership"]
        k = entry["class"]
        same("class of the member", proof["risk_class"], k)
        same("proved leaf (the firm's commitment)", entry["id"], mine)
        check_class_leaf(proof, entry, k)
        check_leaf({**entry, "root": proof["class_roots"][k]}, k, entry)
        return [head, f"{uscc} IS in the pool: class {k}, leaf {entry['leafIndex']} of {entry['treeSize']}"
                      f" (commitment {mine})"]
    same("classes covered by the absence proof", [e["class"] for e in proof["absence"]], list(CLASSES))
    lines = [head]
    key = mine.encode()
    for entry in proof["absence"]:
        k, size, left, right = entry["class"], entry["treeSize"], entry["left"], entry["right"]
        entry = {**entry, "root": proof["class_roots"][k]}
        check_class_leaf(proof, entry, k)
        if size == 0:
            same(f"class {k}: empty class root", entry["root"], sha256(b"").hex())
            need(left is None and right is None, f"class {k}: neighbours given in an empty class")
            lines.append(f"class {k}: empty")
            continue
        need(left is not None or right is not None, f"class {k}: no neighbour given")
        if left is not None:
            check_leaf(entry, k, left)
            need(left["id"].encode() < key, f"class {k}: left neighbour {left['id']} does not sort before {mine}")
        else:
            same(f"class {k}: index of the first leaf (no left neighbour)", right["leafIndex"], 0)
        if right is not None:
            check_leaf(entry, k, right)
            need(key < right["id"].encode(), f"class {k}: right neighbour {right['id']} does not sort after {mine}")
            if left is not None:
                same(f"class {k}: right neighbour's index", right["leafIndex"], left["leafIndex"] + 1)
        else:
            same(f"class {k}: index of the last leaf (no right neighbour)", left["leafIndex"], size - 1)
        between = f"{left['id'] if left else '(start)'} and {right['id'] if right else '(end)'}"
        lines.append(f"class {k}: absent, between adjacent leaves {between} of {size}")
    lines.append(f"{uscc} is NOT in the pool (commitment {mine})")
    return lines


def load(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main(argv: list[str]) -> int:
    skip = "--skip-beacon-signature" in argv
    args = [a for a in argv if a != "--skip-beacon-signature"]
    try:
        if args[:1] == ["--proof"] and len(args) in (2, 3):
            bundle = load(args[2]) if len(args) == 3 else None
            try:
                lines = verify_proof(load(args[1]), bundle)
            except Rejected as error:
                print(f"REJECTED: {error}")
                return 1
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
                print(f"REJECTED: malformed input ({type(error).__name__}: {error})")
                return 1
            print("\n".join(lines + ["OK"]))
            return 0
        if len(args) == 1 and not args[0].startswith("-"):
            return verify_bundle(load(args[0]), skip)
    except OSError as error:
        print(f"cannot read {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    except ValueError as error:  # not JSON
        print(f"REJECTED: not a JSON file ({error})")
        return 1
    print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
