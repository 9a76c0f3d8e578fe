"""docs/draw-spec.md §9, the worked example, pinned to its test vectors (tests/vectors/draw-spec-example/).

The standalone verifier accepts the saved bundles and proofs; the figures §9 prints are recomputed
from the saved full bundle with the project's own spec functions, must equal what the bundle
records, and must appear in §9 verbatim. Editing the doc or a vector makes one of these fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from ledger.draw import spec
from ledger.draw.sampler import reference_ticket, seed_prefix
from ledger.draw.sampler import sample as sample_of
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.merkle import leaf_hash, node_hash
from tests.conftest import VECTORS

EXAMPLE = VECTORS / "draw-spec-example"
ROOT = Path(__file__).resolve().parents[1]
VERIFIER = ROOT / "docs" / "verify_draw.py"


def section_9() -> str:
    text = (ROOT / "docs" / "draw-spec.md").read_text(encoding="utf-8")
    return text[text.index("## 9. Worked example"):text.index("## 10. ")]


def load(name: str) -> dict:
    return json.loads((EXAMPLE / name).read_text(encoding="utf-8"))


def verifier(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(VERIFIER), *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("args", [
    ["bundle.json"],
    ["bundle-public.json"],
    ["--proof", "proof-member.json", "bundle-public.json"],
    ["--proof", "proof-member.json", "bundle.json"],
    ["--proof", "proof-absent.json", "bundle-public.json"],
    ["--proof", "proof-absent.json", "bundle.json"],
])
def test_the_verifier_accepts_the_example(args: list[str]) -> None:
    done = verifier(*(a if a.startswith("--") else str(EXAMPLE / a) for a in args))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("OK")


def figures() -> dict[str, str]:
    """What §9 prints, recomputed from the full bundle with ledger.draw.spec; each checked against
    the bundle's record (and the proofs) on the way."""
    bundle = load("bundle.json")
    committed, recorded = bundle["commitment"], bundle["recorded"]
    inputs = msgspec.convert(bundle["inputs"], spec.DrawInputs)
    key = inputs.salt_key
    out: dict[str, str] = {"salt key": key, "salt key digest": spec.salt_key_digest(key)}
    for k, firms in bundle["inputs"]["pool"].items():
        out[f"pool {k}"] = f"{k} {' '.join(firms)}"
    (officer,) = [c for c in bundle["inputs"]["inspectors"] if c["badge"] == "360500NYNC0001"]
    out["an inspector"] = canonical_bytes(officer).decode()
    out["frozen"] = f"frozen at position {inputs.position} by the commitment at `{inputs.committed_at}`"

    digest = spec.inputs_digest(inputs)
    assert digest == committed["inputs_digest"] == recorded["inputs_digest"]
    out["inputs digest"] = digest
    public_form = canonical_bytes(spec.public_inputs(inputs))
    assert json.loads(public_form) == load("bundle-public.json")["inputs"]
    out["public form size"] = f"{len(public_form)} bytes"
    out["public form start"] = public_form.split(b"],[")[0].decode()  # up to the first conflict's commitment

    summary = spec.summarise_pool(inputs)
    assert summary.pool_roots == committed["pool_roots"] and summary.pool_root == committed["pool_root"]
    for k, root in summary.pool_roots.items():
        out[f"root_{k}"] = f"root_{k} {root}"
    out["pool root"] = summary.pool_root

    for u in inputs.pool["D"]:  # the class whose salts and commitments §9 tabulates
        out[f"salt {u}"] = spec.firm_salt(key, u).hex()
        out[f"commitment {u}"] = spec.commitment_for(key, u)
    d0, d1 = sorted(spec.commitment_for(key, u) for u in inputs.pool["D"])
    assert node_hash(leaf_hash(d0.encode()), leaf_hash(d1.encode())).hex() == summary.pool_roots["D"]

    (signature,) = recorded["signatures"]
    (beacon,) = recorded["beacons"]
    assert hashlib.sha256(bytes.fromhex(signature)).hexdigest() == beacon["randomness"]
    out["round"] = f"round {beacon['round']}"
    out["signature"] = signature
    out["randomness"] = beacon["randomness"]
    out["published at"] = str(committed["beacons"][0]["published_at"])

    outputs = [spec.BeaconOutput(**b) for b in recorded["beacons"]]
    seed = spec.derive_seed(inputs.task_id, digest, outputs)
    out["seed text"] = repr("\n".join([spec.SEED_TAG, inputs.task_id, digest,
                                       *(f"{b.chain_hash}:{b.round}:{b.randomness}" for b in outputs)]))
    out["seed"] = seed
    out["seed_hex"] = seed_prefix(seed).decode()

    outcome = spec.compute(inputs, outputs)
    assert seed == recorded["seed"] and outcome.targets == recorded["targets"]
    assert [msgspec.to_builtins(t) for t in outcome.teams] == recorded["teams"]
    for k in inputs.classes:  # the first ticket of each class: its first target
        first = spec.commitment_for(key, outcome.targets[k][0])
        out[f"ticket {k}"] = f"{reference_ticket(seed, first)[:22]}  <- 1  {outcome.targets[k][0]}"
    target = outcome.teams[0].target
    for badge in outcome.teams[0].inspectors:
        out[f"ticket {badge}"] = reference_ticket(f"{seed},inspectors,{target}", badge)[:22]
    out["order"] = ", ".join(t.target for t in outcome.teams)

    body = {"targets": recorded["targets"], "teams": recorded["teams"]}
    outcome_digest = hashlib.sha256(canonical_bytes(body)).hexdigest()
    assert outcome_digest == recorded["outcome_digest"]
    out["outcome digest"] = outcome_digest
    for part in (committed["signed"], bundle["drawer"]["signed"]):
        command = json.loads(base64.b64decode(part["command"]))
        out[f"nonce {command['name']}"] = command["nonce"]
        out[f"issued {command['name']}"] = command["issued_at"]

    member, absent = load("proof-member.json"), load("proof-absent.json")
    assert member["commitment"] == spec.commitment_for(key, member["uscc"])
    out["member proof"] = member["membership"]["proof"][0]
    assert base64.b64decode(out["member proof"]) == leaf_hash(d0.encode())
    assert absent["commitment"] == spec.commitment_for(key, absent["uscc"])
    out["absent salt"] = spec.firm_salt(key, absent["uscc"]).hex()
    out["absent commitment"] = absent["commitment"]
    return out


def test_section_9_prints_the_example_figures() -> None:
    doc = " ".join(section_9().split())  # a figure may wrap across lines
    missing = {name: value for name, value in figures().items() if " ".join(value.split()) not in doc}
    assert not missing, f"docs/draw-spec.md §9 does not show these figures of the example: {missing}"


def test_every_shortened_hash_in_section_9_is_one_of_the_example() -> None:
    """`4a9fddf8…640819d8` and `b901…8cf9` stand for a hash of the example: no stale or mistyped one."""
    text = "\n".join((EXAMPLE / name).read_text(encoding="utf-8") for name in
                     ("bundle.json", "bundle-public.json", "proof-member.json", "proof-absent.json"))
    known = set(re.findall(r"[0-9a-f]{64}", text))
    bundle = load("bundle.json")
    inputs = msgspec.convert(bundle["inputs"], spec.DrawInputs)
    known |= {spec.firm_salt(inputs.salt_key, u).hex() for firms in inputs.pool.values() for u in firms}
    known |= {leaf_hash(c.encode()).hex() for c in list(known)}
    known |= {base64.b64decode(h).hex() for h in re.findall(r'"([A-Za-z0-9+/]{43}=)"', text)}
    shortened = re.findall(r"([0-9a-f]{4,8})…([0-9a-f]{4,8})", section_9())
    assert len(shortened) > 20
    for head, tail in shortened:
        assert any(h.startswith(head) and h.endswith(tail) for h in known), f"{head}…{tail} is no hash of the example"


def test_every_ticket_in_section_9_is_its_ids() -> None:
    """Each ticket §9 shows belongs to the ID it stands next to (a class's commitment under the seed,
    an officer or expert of the first team's ranking): none is stale or mistyped."""
    bundle = load("bundle.json")
    inputs = msgspec.convert(bundle["inputs"], spec.DrawInputs)
    seed, first = bundle["recorded"]["seed"], bundle["recorded"]["teams"][0]["target"]
    commitments = [spec.commitment_for(inputs.salt_key, u) for firms in inputs.pool.values() for u in firms]
    doc = section_9()
    rows = re.findall(r"([0-9a-f]{8})…([0-9a-f]{8})\s+(0\.[0-9]{20})", doc)
    assert len(rows) == len(commitments) - 4  # all but B's last four
    for head, tail, ticket in rows:
        (c,) = [c for c in commitments if c.startswith(head) and c.endswith(tail)]
        assert reference_ticket(seed, c).startswith(ticket), c
    ranked = re.findall(r"(SCJG\d{4}|NYNC\d{4}|ZJ-[A-Z]+-[A-Z]+-\d{4})\s+`(0\.[0-9]{20})`", doc)
    assert len(ranked) == 8
    for badge, ticket in ranked:
        full = badge if badge.startswith("ZJ-") else "360500" + badge
        kind = "experts" if badge.startswith("ZJ-") else "inspectors"
        assert reference_ticket(f"{seed},{kind},{first}", full).startswith(ticket), badge
    shown = re.findall(r"0\.[0-9]{20}", doc)
    assert len(shown) == len(rows) + len(ranked)


def test_the_team_walks_in_section_9_are_the_draw() -> None:
    """The rankings and teams §9 walks through are the recomputed ones (badges shortened as there)."""
    bundle = load("bundle.json")
    inputs = msgspec.convert(bundle["inputs"], spec.DrawInputs)
    seed, teams = bundle["recorded"]["seed"], bundle["recorded"]["teams"]
    covered = {i.code for i in inputs.items} | {i.department for i in inputs.items}
    officers = [c.badge for c in inputs.inspectors if c.status == "active" and c.role == "enforcement"
                and c.department in inputs.departments and covered & set(c.qualifications)
                and spec.certified(c, inputs.window_end)
                and spec.cooled_off(c, inputs.committed_at, inputs.cooling_off_days)]
    barred = set(map(tuple, bundle["inputs"]["conflicts"]))
    short = lambda badge: badge.removeprefix("360500")  # noqa: E731
    walk = section_9().split("`SCJG0006` is `360500SCJG0006`):")[1].split("**Digest")[0]
    blocks = re.split(r"\n    (?=[0-9A-Z]{18}  )", "\n" + walk.strip("\n"))[1:]
    assert [b[:18] for b in blocks] == [t["target"] for t in teams]
    load_of: dict[str, int] = {}
    for block, team in zip(blocks, teams):
        free = [b for b in officers if (b, team["target"]) not in barred
                and load_of.get(b, 0) < (inputs.load_cap or len(teams))]
        ranking = [short(b) for b in sample_of(f"{seed},inspectors,{team['target']}", free)]
        shown = re.search(r"ranking ((?:[A-Z]{4}\d{4} ?)+)", block)
        assert shown is not None
        assert ranking[:len(shown.group(1).split())] == shown.group(1).split(), team["target"]
        chosen = re.search(r"-> (?:leader )?([A-Z]{4}\d{4}), ([A-Z]{4}\d{4})(?:;| \+) (?:expert )?(ZJ-[\w-]+)", block)
        assert chosen is not None and list(chosen.groups()) == [*map(short, team["inspectors"]), *team["experts"]]
        for badge in team["inspectors"]:
            load_of[badge] = load_of.get(badge, 0) + 1
