"""docs/verify_draw.py, the stdlib-only verifier, against draws made by the real system.

Ledgers are built through the users' own paths (demo city CSV imports, a
registered drawer, plans and tasks through ledger.draw_service, a real
commit-reveal `run_draw`), bundles come from `export_bundle`, proofs from the
`drledger draw prove` command, and the verifier runs as a separate process.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger.application import Refused
from ledger.demo.build import build_demo
from ledger.demo.city import City, generate_city, to_csv
from ledger.demo.draws import add_draws, ensure_actor
from ledger.directory_service import import_file
from ledger.domain.filters import EntityFilter
from ledger.draw.spec import DrawOutcome, Quota
from ledger.draw_bundle import export_bundle
from ledger.draw_service import TaskSpec, commit_draw, create_plan, create_task, read_secret, run_draw
from ledger.imports.rows import ConflictRow
from ledger.integrity.keys import Signer
from ledger.setup import init_ledger
from ledger.store.config import StoreConfig, resolve_store
from tests.cli_helpers import run as drledger

VERIFIER = Path(__file__).resolve().parents[1] / "docs" / "verify_draw.py"
# The interpreter running the tests, started with -I -S: no site-packages, no
# environment variables, no script directory on sys.path; the standard library only.
STDLIB_ONLY = ("-I", "-S")
WINDOW = (date(2026, 3, 1), date(2026, 5, 31))
RATIOS = ("0.01", "0.03", "0.05", "0.1", "0.125", "0.2", "0.333", "1")


def verify(*args: str | Path, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """docs/verify_draw.py run by the interpreter running the tests."""
    return subprocess.run([sys.executable, *flags, str(VERIFIER), *map(str, args)], capture_output=True, text=True, timeout=600)


@dataclass
class DemoLedger:
    config: StoreConfig
    city: City
    drawer: Signer
    tmp: Path
    plans: int = 0
    demo_tasks: list[str] = field(default_factory=list)

    def draw(self, *, items: tuple[str, ...], departments: tuple[str, ...], quotas: dict[str, Quota],
             target_filter: EntityFilter = EntityFilter(), beacon: str = "", **task: Any) -> tuple[str, DrawOutcome]:
        """Plan, task, commit and run one draw; Refused if the system refuses it."""
        self.plans += 1
        n = self.plans
        create_plan(self.config, plan_id=f"P{n}", title=f"计划{n}", department=departments[0], year=2026,
                    items=items, joint_departments=departments[1:], actor="admin")
        create_task(self.config, TaskSpec(
            task_id=f"T{n}", plan_id=f"P{n}", name=f"任务{n}", window_start=WINDOW[0], window_end=WINDOW[1],
            items=items, departments=departments, target_filter=target_filter, quotas=quotas, **task,
        ), "admin")
        secret_file, _ = commit_draw(self.config, f"T{n}", self.drawer, "drawer",
                                     beacon_round="drand 4242" if beacon else None)
        outcome = run_draw(self.config, f"T{n}", read_secret(secret_file), beacon, self.drawer, "drawer")
        return f"T{n}", outcome

    def bundle_file(self, task_id: str) -> Path:
        path = self.tmp / f"{task_id}.bundle.json"
        if not path.exists():
            path.write_bytes(export_bundle(self.config, task_id))
        return path

    def bundle(self, task_id: str) -> dict[str, Any]:
        return json.loads(self.bundle_file(task_id).read_bytes())

    def copy_to(self, tmp: Path) -> DemoLedger:
        """An independent copy: the ledger home copied under `tmp`, files written there
        (with the bundles exported so far: they depend only on the ledger)."""
        home = Path(shutil.copytree(self.config.home, tmp / "home"))
        for bundle in self.tmp.glob("*.bundle.json"):
            shutil.copy(bundle, tmp)
        return DemoLedger(config=resolve_store(None, home), city=self.city, drawer=self.drawer, tmp=tmp,
                          plans=self.plans, demo_tasks=list(self.demo_tasks))

    def prove(self, task_id: str, uscc: str) -> Path:
        done = drledger("draw", "prove", task_id, uscc, home=self.config.home)
        assert done.returncode == 0, done.stderr
        path = self.tmp / f"{task_id}.{len(list(self.tmp.glob('*.proof.json')))}.proof.json"
        path.write_text(done.stdout)
        return path


def demo_ledger(tmp: Path, seed: int) -> DemoLedger:
    """The small demo city (which registers a drawer and makes its own draws) in a fresh SQLite ledger."""
    config = resolve_store(None, tmp / "home")
    init_ledger(config, origin=f"test.drledger/verify-{seed}", admin_id="admin", admin_name="Admin")
    demo = build_demo(config, seed=seed, small=True)
    tasks = list(demo.tasks) or add_draws(config)  # the demo's own plans, tasks and draws
    ledger = DemoLedger(config=config, city=generate_city(seed, small=True),
                        drawer=ensure_actor(config, "drawer", "drawer", "抽取员"), tmp=tmp)
    ledger.demo_tasks = tasks
    return ledger


def random_task(rng: random.Random, city: City) -> dict[str, Any]:
    """Random but valid task parameters over the demo city's departments and items."""
    staffed = {(q, i.department) for i in city.inspectors if i.status == "active" and i.role == "enforcement"
               for q in i.qualifications}
    items_of: dict[str, list[str]] = {}
    for item in city.items:  # items someone in the department can inspect (many draws would fail otherwise)
        if item.status == "active" and (item.code, item.department) in staffed:
            items_of.setdefault(item.department, []).append(item.code)
    departments = sorted(items_of)
    lead = rng.choice(departments)
    joint = rng.sample([d for d in departments if d != lead], k=rng.choice((0, 0, 0, 1, 2)))
    items = tuple(code for d in (lead, *joint) for code in rng.sample(items_of[d], k=rng.randint(1, min(3, len(items_of[d])))))
    quotas = {}
    for k in "ABCD":
        if rng.random() < 0.75:
            quotas[k] = Quota(ratio=rng.choice(RATIOS)) if rng.random() < 0.6 else Quota(count=rng.randint(0, 6))
    return dict(
        items=items, departments=(lead, *joint), quotas=quotas or {"C": Quota(count=2)},
        target_filter=EntityFilter(
            region_prefix=rng.choice((None, None, "3605", "360502", "360521")),
            entity_types=rng.choice(((), (), ("enterprise",), ("individual", "cooperative"))),
            industry_prefix=rng.choice((None, None, None, "C", "F", "H")),
            department=rng.choice((None, None, lead)),
        ),
        inspectors_per_target=rng.choice((2, 2, 2, 3)),
        experts_per_target=rng.choice((0, 0, 0, 1, 2)),
        load_cap=rng.choice((None, None, 1, 2, 3, 5, 10)),
        exclude_recent_days=rng.choice((None, None, 30)),
        beacon=rng.choice(("", "", "drand 4242 " + "%064x" % rng.getrandbits(256), "北京 beacon ✓")),
    )


def max_load(outcome: DrawOutcome) -> int:
    loads: dict[str, int] = {}
    for team in outcome.teams:
        for badge in team.inspectors:
            loads[badge] = loads.get(badge, 0) + 1
    return max(loads.values(), default=0)


# -- Agreement on many random draws --------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("city_seed", [8, 32])
def test_agrees_with_the_system_on_random_draws(tmp_path: Path, city_seed: int) -> None:
    ledger = demo_ledger(tmp_path, city_seed)
    rng = random.Random(city_seed)
    drawn: list[tuple[str, dict[str, Any], DrawOutcome]] = []
    refused = 0
    for _ in range(60):
        params = random_task(rng, ledger.city)
        try:
            task_id, outcome = ledger.draw(**params)
        except Refused as error:
            assert "cannot be drawn" in str(error), error
            refused += 1
            continue
        drawn.append((task_id, params, outcome))
    assert len(drawn) >= 25, f"only {len(drawn)} of {len(drawn) + refused} random tasks could be drawn"
    # The sample must cover what matters: joint tasks, experts, binding load caps, exclusions, beacons.
    bundles = {task_id: ledger.bundle(task_id) for task_id, _, _ in drawn}
    assert any(len(p["departments"]) > 1 for _, p, o in drawn if o.teams)
    assert any(t.experts for _, _, o in drawn for t in o.teams)
    assert any(b["inputs"]["excluded"] for b in bundles.values())
    assert any(b["inputs"]["beacon"] for b in bundles.values())
    assert any(p["load_cap"] and max_load(o) == p["load_cap"] for _, p, o in drawn)
    for task_id in ledger.demo_tasks:  # the demo's own draws (one of them joint)
        done = verify(ledger.bundle_file(task_id))
        assert done.returncode == 0, (task_id, done.stdout, done.stderr)
    for task_id, params, outcome in drawn:
        done = verify(ledger.bundle_file(task_id))
        assert done.returncode == 0, (task_id, params, done.stdout, done.stderr)
        assert outcome.seed in done.stdout and outcome.pool_root in done.stdout
        assert "drawer signature: valid" in done.stdout
        assert done.stdout.rstrip().endswith("OK")


@pytest.fixture(scope="module")
def rich_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoLedger, str, str]:
    """A plain draw, then a joint draw with experts, a binding load cap, exclusions and a beacon.
    Built once and never used directly: each test works on its own copy (`rich`)."""
    ledger = demo_ledger(tmp_path_factory.mktemp("rich") / "template", 8)
    first, _ = ledger.draw(items=("XY-SCJG-010", "XY-SCJG-002"), departments=("XY-SCJG",),
                           quotas={"A": Quota(ratio="0.05"), "B": Quota(count=4), "C": Quota(ratio="0.25")})
    # 回避: every active expert but one declares a conflict with every class D firm, through the import path.
    experts = sorted(i.badge for i in ledger.city.inspectors if i.role == "expert" and i.status == "active")
    firms = [e.uscc for e in ledger.city.entities if e.risk_class == "D" and e.status == "active"]
    rows = [ConflictRow(badge, uscc, "亲属关系") for badge in experts[1:] for uscc in firms]
    assert not import_file(ledger.config, "conflicts", to_csv(rows, "conflicts")).errors
    joint, outcome = ledger.draw(
        items=("XY-SCJG-010", "XY-SCJG-002", "XY-STHJ-001", "XY-STHJ-002"), departments=("XY-SCJG", "XY-STHJ"),
        quotas={"A": Quota(ratio="0.02"), "B": Quota(count=3), "C": Quota(ratio="0.2"), "D": Quota(count=2)},
        experts_per_target=1, load_cap=4, exclude_recent_days=30, beacon="drand 4242 abcdef",
    )
    ledger.bundle_file(first)
    bundle = ledger.bundle(joint)
    assert bundle["inputs"]["excluded"] and all(t.experts for t in outcome.teams)
    assert all(len(v) >= 2 for v in outcome.targets.values())
    assert max_load(outcome) == 4, "the load cap should bind in this draw"
    assert all(t.experts == experts[:1] for t in outcome.teams if t.target in outcome.targets["D"])
    return ledger, first, joint


@pytest.fixture
def rich(rich_template: tuple[DemoLedger, str, str], tmp_path: Path) -> tuple[DemoLedger, str, str]:
    template, first, joint = rich_template
    return template.copy_to(tmp_path), first, joint


def test_rich_draws_verify(rich: tuple[DemoLedger, str, str]) -> None:
    ledger, first, joint = rich
    for task_id in (first, joint):
        done = verify(ledger.bundle_file(task_id))
        assert done.returncode == 0, done.stdout
    # The CLI's own export is the same bundle, and verifies too.
    out = ledger.tmp / "cli.bundle.json"
    done = drledger("draw", "export", joint, "--out", str(out), home=ledger.config.home)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_bytes()) == ledger.bundle(joint)
    assert verify(out).returncode == 0


def test_standard_library_only(rich: tuple[DemoLedger, str, str]) -> None:
    """`python -I -S`: only the standard library; the signature is then not checked, and says so."""
    ledger, _, joint = rich
    probe = subprocess.run([sys.executable, *STDLIB_ONLY, "-c", "import cryptography"], capture_output=True)
    if probe.returncode == 0:
        pytest.skip("cryptography is importable even without site-packages")
    done = verify(ledger.bundle_file(joint), flags=STDLIB_ONLY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "drawer signature: not checked (no Ed25519 in the standard library)" in done.stdout
    tampered = ledger.bundle(joint)
    tampered["recorded"]["teams"][0]["inspectors"].reverse()
    path = ledger.tmp / "stdlib-tampered.json"
    path.write_text(json.dumps(tampered, ensure_ascii=False))
    assert verify(path, flags=STDLIB_ONLY).returncode == 1


# -- Every single-field alteration is rejected ----------------------------------

Bundle = dict[str, Any]


def _other_badge(b: Bundle, team: dict[str, Any], role: str) -> str:
    used = set(team["inspectors"]) | set(team["experts"])
    return next(c["badge"] for c in b["inputs"]["inspectors"] if c["role"] == role and c["badge"] not in used)


def _flip_hex(text: str) -> str:
    return ("1" if text[0] != "1" else "2") + text[1:]


def _not_in_pool(b: Bundle) -> str:
    pool = {u for ids in b["inputs"]["pool"].values() for u in ids}
    return next(u for u in b["inputs"]["excluded"] if u not in pool)


def _with_count_changed(b: Bundle, k: str) -> None:
    quota, n = b["inputs"]["quotas"][k], b["recorded"]["counts"][k]
    drawn = len(b["recorded"]["targets"][k])
    b["inputs"]["quotas"][k] = {"ratio": None, "count": drawn + 1 if drawn < n else drawn - 1} \
        if quota["count"] is not None else {"ratio": "1" if drawn < n else "0", "count": None}


def _sign_as_someone_else(b: Bundle) -> None:
    other = Signer.generate()
    b["drawer"]["public_key"] = base64.b64encode(other.public_key).decode()


def _resign_body(b: Bundle, **change: Any) -> None:
    command = json.loads(base64.b64decode(b["drawer"]["signed"]["command"]))
    command["body"].update(change)
    raw = json.dumps(command, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    b["drawer"]["signed"]["command"] = base64.b64encode(raw).decode()


def _team_with_expert(b: Bundle) -> dict[str, Any]:
    return next(t for t in b["recorded"]["teams"] if t["experts"])


def _expert_conflict(b: Bundle) -> None:
    team = _team_with_expert(b)
    b["inputs"]["conflicts"].append([team["experts"][0], team["target"]])


def _suspend_a_member(b: Bundle) -> None:
    badge = b["recorded"]["teams"][0]["inspectors"][0]
    next(c for c in b["inputs"]["inspectors"] if c["badge"] == badge)["status"] = "suspended"


def _declare_conflict(b: Bundle) -> None:
    team = b["recorded"]["teams"][-1]
    b["inputs"]["conflicts"].append([team["inspectors"][-1], team["target"]])


def _move_class(b: Bundle, src: str, dst: str) -> None:
    moved = b["inputs"]["pool"][src].pop(len(b["inputs"]["pool"][src]) // 2)
    b["inputs"]["pool"][dst].append(moved)


ALTERATIONS: dict[str, Callable[[Bundle], Any]] = {
    "target swapped within its class": lambda b: b["recorded"]["targets"]["C"].reverse(),
    "target replaced by an undrawn pool ID": lambda b: b["recorded"]["targets"]["A"].__setitem__(
        0, next(u for u in b["inputs"]["pool"]["A"] if u not in b["recorded"]["targets"]["A"])),
    "target dropped": lambda b: b["recorded"]["targets"]["D"].pop(),
    "target added": lambda b: b["recorded"]["targets"]["B"].append(
        next(u for u in b["inputs"]["pool"]["B"] if u not in b["recorded"]["targets"]["B"])),
    "team member replaced": lambda b: b["recorded"]["teams"][1]["inspectors"].__setitem__(
        0, _other_badge(b, b["recorded"]["teams"][1], "enforcement")),
    "team members reordered": lambda b: b["recorded"]["teams"][2]["inspectors"].reverse(),
    "expert replaced": lambda b: _team_with_expert(b)["experts"].__setitem__(
        0, _other_badge(b, _team_with_expert(b), "expert")),
    "teams reordered": lambda b: b["recorded"]["teams"].reverse(),
    "team dropped": lambda b: b["recorded"]["teams"].pop(),
    "team target renamed": lambda b: b["recorded"]["teams"][0].__setitem__("target", _not_in_pool(b)),
    "secret changed": lambda b: b["inputs"].__setitem__("secret", _flip_hex(b["inputs"]["secret"])),
    "secret in upper case": lambda b: b["inputs"].__setitem__("secret", b["inputs"]["secret"].upper()),
    "commitment changed": lambda b: b["inputs"].__setitem__("commitment", _flip_hex(b["inputs"]["commitment"])),
    "beacon changed": lambda b: b["inputs"].__setitem__("beacon", b["inputs"]["beacon"] + "0"),
    "beacon removed": lambda b: b["inputs"].__setitem__("beacon", ""),
    "task id changed": lambda b: b["inputs"].__setitem__("task_id", b["inputs"]["task_id"] + "x"),
    "pool position changed": lambda b: b["inputs"].__setitem__("position", b["inputs"]["position"] - 1),
    "pool ID added": lambda b: b["inputs"]["pool"]["D"].append(_not_in_pool(b)),
    "pool ID removed (undrawn)": lambda b: b["inputs"]["pool"]["A"].remove(
        next(u for u in b["inputs"]["pool"]["A"] if u not in b["recorded"]["targets"]["A"])),
    "pool ID moved A -> B": lambda b: _move_class(b, "A", "B"),
    "pool ID moved D -> C": lambda b: _move_class(b, "D", "C"),
    "pool ID listed in two classes": lambda b: b["inputs"]["pool"]["C"].append(b["inputs"]["pool"]["B"][0]),
    "pool ID also excluded": lambda b: b["inputs"]["excluded"].append(b["inputs"]["pool"]["C"][0]),
    "pool ID renamed": lambda b: b["inputs"]["pool"]["B"].__setitem__(0, b["inputs"]["pool"]["B"][0].lower()),
    "recorded count changed": lambda b: b["recorded"]["counts"].__setitem__("B", b["recorded"]["counts"]["B"] + 1),
    "recorded seed changed": lambda b: b["recorded"].__setitem__("seed", _flip_hex(b["recorded"]["seed"])),
    "class root changed": lambda b: b["recorded"]["pool_roots"].__setitem__("C", _flip_hex(b["recorded"]["pool_roots"]["C"])),
    "pool root changed": lambda b: b["recorded"].__setitem__("pool_root", _flip_hex(b["recorded"]["pool_root"])),
    "outcome digest changed": lambda b: b["recorded"].__setitem__("outcome_digest", _flip_hex(b["recorded"]["outcome_digest"])),
    "count quota changed": lambda b: _with_count_changed(b, "B"),
    "ratio quota changed": lambda b: _with_count_changed(b, "C"),
    "quota with both ratio and count": lambda b: b["inputs"]["quotas"]["D"].__setitem__("ratio", "0.5"),
    "quota for an unknown class": lambda b: b["inputs"]["quotas"].__setitem__("E", {"ratio": None, "count": 1}),
    "inspectors per target raised": lambda b: b["inputs"].__setitem__("inspectors_per_target", 3),
    "inspectors per target below two": lambda b: b["inputs"].__setitem__("inspectors_per_target", 1),
    "experts per target lowered": lambda b: b["inputs"].__setitem__("experts_per_target", 0),
    "load cap lowered": lambda b: b["inputs"].__setitem__("load_cap", 3),
    "load cap removed": lambda b: b["inputs"].__setitem__("load_cap", None),
    "participating department dropped": lambda b: b["inputs"].__setitem__("departments", b["inputs"]["departments"][:1]),
    "team member suspended": _suspend_a_member,
    "conflict declared for a team member": _declare_conflict,
    "conflict declared for a team's expert": _expert_conflict,
    "expert retired": lambda b: next(c for c in b["inputs"]["inspectors"]
                                     if c["badge"] == _team_with_expert(b)["experts"][0]).__setitem__("status", "retired"),
    "item dropped": lambda b: b["inputs"].__setitem__("items", b["inputs"]["items"][:1]),
    "version changed": lambda b: b["inputs"].__setitem__("version", "v2"),
    "bundle format changed": lambda b: b.__setitem__("format", "drledger-draw-bundle/v0"),
    "signed body altered": lambda b: _resign_body(b, seed=_flip_hex(b["recorded"]["seed"])),
    "signed command re-encoded": lambda b: b["drawer"]["signed"].__setitem__("command", base64.b64encode(
        json.dumps(json.loads(base64.b64decode(b["drawer"]["signed"]["command"])), indent=1).encode()).decode()),
    "signature altered": lambda b: b["drawer"]["signed"].__setitem__("signature", base64.b64encode(
        bytes([base64.b64decode(b["drawer"]["signed"]["signature"])[0] ^ 1])
        + base64.b64decode(b["drawer"]["signed"]["signature"])[1:]).decode()),
    "drawer actor changed": lambda b: b["drawer"].__setitem__("actor", "someone"),
    "drawer public key replaced": _sign_as_someone_else,
    "drawer public key missing": lambda b: b["drawer"].__setitem__("public_key", None),
}


@pytest.mark.parametrize("name", sorted(ALTERATIONS))
def test_every_alteration_is_rejected(rich: tuple[DemoLedger, str, str], name: str) -> None:
    ledger, _, joint = rich
    original = ledger.bundle(joint)
    altered = copy.deepcopy(original)
    ALTERATIONS[name](altered)
    assert altered != original, "the alteration changed nothing"
    path = ledger.tmp / f"altered-{abs(hash(name))}.json"
    path.write_text(json.dumps(altered, ensure_ascii=False))
    done = verify(path)
    assert done.returncode == 1, (name, done.stdout, done.stderr)
    assert done.stdout.startswith("REJECTED: ") and "Traceback" not in done.stderr, done.stdout + done.stderr


def test_rejection_names_the_first_difference(rich: tuple[DemoLedger, str, str]) -> None:
    ledger, _, joint = rich
    b = ledger.bundle(joint)
    second = b["recorded"]["targets"]["C"][1]
    b["recorded"]["targets"]["C"][1] = b["recorded"]["targets"]["C"][0]
    path = ledger.tmp / "first-difference.json"
    path.write_text(json.dumps(b))
    done = verify(path)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"REJECTED: class C: target #2: recomputed {second!r}, recorded {b['recorded']['targets']['C'][0]!r}"]


# -- Pool proofs from `drledger draw prove` -------------------------------------

def _members(bundle: Bundle) -> list[str]:
    chosen = []
    for k in "ABCD":
        ids = sorted(bundle["inputs"]["pool"][k], key=str.encode)
        chosen += [ids[0], ids[-1], ids[len(ids) // 2]] if ids else []
    return chosen


def _non_members(bundle: Bundle) -> list[str]:
    every = sorted((u for ids in bundle["inputs"]["pool"].values() for u in ids), key=str.encode)
    return [
        "0" * 18,  # before every ID of every class
        "Z" * 18,  # after every ID of every class
        every[len(every) // 2][:-1] + "~",  # between two IDs
        *bundle["inputs"]["excluded"][:2],  # left out of the pool because recently inspected
        every[3] + "0",  # a longer ID right after a member
    ]


@pytest.mark.slow
def test_proofs_of_members_and_non_members_verify(rich: tuple[DemoLedger, str, str]) -> None:
    ledger, _, joint = rich
    bundle = ledger.bundle(joint)
    pool = {u: k for k, ids in bundle["inputs"]["pool"].items() for u in ids}
    for uscc in _members(bundle) + _non_members(bundle):
        proof_file = ledger.prove(joint, uscc)
        proof = json.loads(proof_file.read_text())
        assert proof["in_pool"] == (uscc in pool)
        for extra in ((), (ledger.bundle_file(joint),)):
            done = verify("--proof", proof_file, *extra)
            assert done.returncode == 0, (uscc, done.stdout)
            verdict = f"{uscc} IS in the pool: class {pool[uscc]}" if uscc in pool else f"{uscc} is NOT in the pool"
            assert verdict in done.stdout


def test_proof_with_an_empty_class(rich: tuple[DemoLedger, str, str]) -> None:
    ledger, _, _ = rich
    task_id, outcome = ledger.draw(items=("XY-SCJG-010",), departments=("XY-SCJG",),
                                   quotas={"A": Quota(count=1), "C": Quota(count=1)},
                                   target_filter=EntityFilter(entity_types=("other",)))
    empty = [k for k, n in outcome.counts.items() if not n]
    assert "C" in empty and len(outcome.targets["A"]) == 1, outcome.counts  # C is quoted but empty
    member = outcome.targets["A"][0]
    absent = verify("--proof", ledger.prove(task_id, "0" * 18), ledger.bundle_file(task_id))
    assert absent.returncode == 0, absent.stdout
    assert f"{'0' * 18} is NOT in the pool" in absent.stdout
    assert all(f"class {k}: empty" in absent.stdout for k in empty), absent.stdout
    present = verify("--proof", ledger.prove(task_id, member), ledger.bundle_file(task_id))
    assert present.returncode == 0, present.stdout
    assert f"{member} IS in the pool: class A" in present.stdout
    assert verify(ledger.bundle_file(task_id)).returncode == 0


def _b64_flip(text: str) -> str:
    raw = base64.b64decode(text)
    return base64.b64encode(bytes([raw[0] ^ 0x80]) + raw[1:]).decode()


def _absence(p: Bundle, k: str) -> dict[str, Any]:
    return next(e for e in p["absence"] if e["class"] == k and e["left"] and e["right"])


MEMBER_ALTERATIONS: dict[str, Callable[[Bundle], Any]] = {
    "leaf proof hash": lambda p: p["membership"]["proof"].__setitem__(0, _b64_flip(p["membership"]["proof"][0])),
    "leaf proof shortened": lambda p: p["membership"]["proof"].pop(),
    "leaf proof lengthened": lambda p: p["membership"]["proof"].append(p["membership"]["proof"][0]),
    "leaf index": lambda p: p["membership"].__setitem__("leafIndex", p["membership"]["leafIndex"] ^ 1),
    "tree size": lambda p: p["membership"].__setitem__("treeSize", p["membership"]["treeSize"] + 1),
    "proved ID": lambda p: p.__setitem__("uscc", p["uscc"][:-1] + "~"),
    "member's class": lambda p: p.__setitem__("risk_class", "A" if p["risk_class"] != "A" else "B"),
    "class proof hash": lambda p: p["membership"]["classProof"].__setitem__(1, _b64_flip(p["membership"]["classProof"][1])),
    "class root": lambda p: p["class_roots"].__setitem__(p["risk_class"], _flip_hex(p["class_roots"][p["risk_class"]])),
    "pool root": lambda p: p.__setitem__("pool_root", _flip_hex(p["pool_root"])),
    "claimed absent": lambda p: p.__setitem__("in_pool", False),
}

ABSENCE_ALTERATIONS: dict[str, Callable[[Bundle], Any]] = {
    "left neighbour proof hash": lambda p: _absence(p, "A")["left"]["proof"].__setitem__(0, _b64_flip(_absence(p, "A")["left"]["proof"][0])),
    "right neighbour ID": lambda p: _absence(p, "B")["right"].__setitem__("id", _absence(p, "B")["right"]["id"] + "0"),
    "neighbours not adjacent": lambda p: _absence(p, "A")["right"].__setitem__("leafIndex", _absence(p, "A")["right"]["leafIndex"] + 1),
    "right neighbour dropped": lambda p: _absence(p, "A").__setitem__("right", None),
    "left neighbour dropped": lambda p: _absence(p, "C").__setitem__("left", None),
    "class left out": lambda p: p["absence"].pop(),
    "class proof hash": lambda p: p["absence"][3]["classProof"].__setitem__(0, _b64_flip(p["absence"][3]["classProof"][0])),
    "class root": lambda p: p["class_roots"].__setitem__("B", _flip_hex(p["class_roots"]["B"])),
    "claimed present": lambda p: p.__setitem__("in_pool", True),
    "tree size": lambda p: _absence(p, "A").__setitem__("treeSize", _absence(p, "A")["treeSize"] + 3),
}


# RFC 9162 roots do not commit to the tree size for every leaf index (leaf 5 verifies in trees of
# 13 and 14 leaves with the same proof), so a proof's treeSize is checked against the bundle's counts.
SIZE_ONLY = {"tree size"}


def _assert_rejected(proof: Path, bundle: Path, name: str) -> None:
    for extra in (((bundle,),) if name in SIZE_ONLY else ((), (bundle,))):
        done = verify("--proof", proof, *extra)
        assert done.returncode == 1 and done.stdout.startswith("REJECTED: "), (name, extra, done.stdout)


@pytest.mark.parametrize("name", sorted(MEMBER_ALTERATIONS))
def test_altered_membership_proofs_fail(rich: tuple[DemoLedger, str, str], name: str) -> None:
    ledger, _, joint = rich
    bundle = ledger.bundle(joint)
    member = sorted(bundle["inputs"]["pool"]["C"], key=str.encode)[5]
    proof = json.loads(ledger.prove(joint, member).read_text())
    MEMBER_ALTERATIONS[name](proof)
    path = ledger.tmp / f"member-{abs(hash(name))}.json"
    path.write_text(json.dumps(proof))
    _assert_rejected(path, ledger.bundle_file(joint), name)


@pytest.mark.parametrize("name", sorted(ABSENCE_ALTERATIONS))
def test_altered_absence_proofs_fail(rich: tuple[DemoLedger, str, str], name: str) -> None:
    ledger, _, joint = rich
    bundle = ledger.bundle(joint)
    every = sorted((u for ids in bundle["inputs"]["pool"].values() for u in ids), key=str.encode)
    proof = json.loads(ledger.prove(joint, every[len(every) // 2] + "0").read_text())
    assert all(e["left"] and e["right"] for e in proof["absence"] if e["class"] in "AB"), "need interior gaps"
    ABSENCE_ALTERATIONS[name](proof)
    path = ledger.tmp / f"absent-{abs(hash(name))}.json"
    path.write_text(json.dumps(proof))
    _assert_rejected(path, ledger.bundle_file(joint), name)


def test_a_member_cannot_be_proved_absent_with_its_real_neighbours(rich: tuple[DemoLedger, str, str]) -> None:
    """Splice the genuine proofs of a member's two neighbours into an absence proof: not adjacent, rejected."""
    ledger, _, joint = rich
    ids = sorted(ledger.bundle(joint)["inputs"]["pool"]["A"], key=str.encode)
    member, before, after = ids[10], ids[9], ids[11]
    absent = json.loads(ledger.prove(joint, before + "0").read_text())  # absent: between ids[9] and ids[10]
    right = json.loads(ledger.prove(joint, after).read_text())["membership"]
    entry = next(e for e in absent["absence"] if e["class"] == "A")
    assert entry["left"]["id"] == before
    entry["right"] = {k: right[k] for k in ("id", "leafIndex", "proof")}
    absent["uscc"] = member
    path = ledger.tmp / "spliced.json"
    path.write_text(json.dumps(absent))
    done = verify("--proof", path)
    assert done.returncode == 1 and "right neighbour's index" in done.stdout, done.stdout


def test_proof_checked_against_another_draws_bundle_fails(rich: tuple[DemoLedger, str, str]) -> None:
    ledger, first, joint = rich
    member = ledger.bundle(joint)["inputs"]["pool"]["B"][0]
    done = verify("--proof", ledger.prove(joint, member), ledger.bundle_file(first))
    assert done.returncode == 1, done.stdout


def test_usage_and_malformed_input(tmp_path: Path) -> None:
    assert verify().returncode == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "drledger-draw-bundle/v1"}')
    done = verify(bad)
    assert done.returncode == 1 and done.stdout.startswith("REJECTED: malformed input"), done.stdout
    assert os.path.getsize(VERIFIER) < 25_000  # short enough to read
