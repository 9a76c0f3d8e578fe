"""docs/verify_draw.py, the standalone verifier, against draws (v2) made by the real system.

Ledgers are built through the users' own paths: a genesis pinning the local
test beacon network (ledger.demo.beacon, never a public one), the demo
city's rows as signed imports, the demo's own plans and draws, then a
registered planner and drawer signing plans, tasks, commitments, runs and
voids through the ledger's command processor, eight days later (the
ledger's clock is moved on, and the commands are issued at that time) so
that the default seven-day draw cooling-off has passed for the city's
inspectors. Bundles come from `export_bundle` and `drledger draw export`,
proofs from `drledger draw prove`, and the verifier runs as a separate
process: normally (site-packages: the BLS check with py_arkworks_bls12381,
Ed25519 with cryptography), and with `-I -S` (the standard library only).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ledger.demo.beacon import DEMO_BEACON, demo_beacons
from ledger.demo.city import City, generate_city
from ledger.demo.draws import add_draws, demo_signer
from ledger.domain.directory import file_digest
from ledger.domain.draws import (
    BeaconChoice,
    CommitBody,
    ExtendBody,
    PlanBody,
    RecuseBody,
    RunBody,
    SubstituteBody,
    TaskBody,
    VoidBody,
    outcome_digest,
)
from ledger.domain.filters import EntityFilter
from ledger.domain.rows import ConflictRow, InspectorRow
from ledger.domain.settings import GovernanceSettings
from ledger.draw.spec import (
    BeaconOutput,
    DrawInputs,
    DrawOutcome,
    Quota,
    commitment_for,
    compute,
    derive_seed,
    inputs_digest,
)
from ledger.integrity.canonical import utc_now
from ledger.integrity.commands import sign_command
from ledger.integrity.keys import Signer, public_key_b64
from ledger.services import draws
from ledger.services.bundles import export_bundle
from ledger.services.directory import import_body
from ledger.services.ledger import CommandRefused, LedgerService
from ledger.services.receipts import Receipt
from ledger.services.setup import init_ledger
from ledger.store.config import StoreConfig, resolve_store
from tests.cli_helpers import run as drledger
from tests.ledger_helpers import TestLedger

VERIFIER = Path(__file__).resolve().parents[1] / "docs" / "verify_draw.py"
# The interpreter running the tests, started with -I -S: no site-packages, no
# environment variables, no script directory on sys.path; the standard library only.
STDLIB_ONLY = ("-I", "-S")
SKIP_BLS = "--skip-beacon-signature"
NOT_CHECKED = "beacon signatures NOT checked: pip install py-arkworks-bls12381"
WINDOW = (date(2026, 3, 1), date(2026, 5, 31))
RATIOS = ("0.01", "0.03", "0.05", "0.1", "0.125", "0.2", "0.333", "1")
LATER = timedelta(days=8)  # the test's own commands: the city's inspectors are past the 7-day cooling-off
LOCAL = DEMO_BEACON  # the LOCAL TEST network: it signs any round, so draws need not wait for publication
IMPORT_ORDER = ("departments", "items", "entities", "inspectors", "conflicts")
# 执法证: two XY-SCJG officers qualified for the whole department, active and cooled off, that no draw
# may take: one holds no certificate, one a certificate ending the day before WINDOW ends.
UNCERTIFIED = (
    InspectorRow("CERT-NONE", "无证", "XY-SCJG", "360500", "enforcement", ("XY-SCJG",)),
    InspectorRow("CERT-SHORT", "证将到期", "XY-SCJG", "360500", "enforcement", ("XY-SCJG",),
                 certificate_no="赣ZF-0001", certificate_valid_until="2026-05-30"),
)


def later() -> datetime:
    return utc_now() + LATER


def verify(*args: str | Path, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """docs/verify_draw.py run by the interpreter running the tests."""
    return subprocess.run([sys.executable, *flags, str(VERIFIER), *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def rejected_by(done: subprocess.CompletedProcess[str]) -> str | None:
    """The check the verifier names as the first failing one (None: it did not reject)."""
    last = done.stdout.rstrip().splitlines()[-1] if done.stdout.strip() else ""
    prefix = 'REJECTED: the first failing check is "'
    return last[len(prefix):-1] if done.returncode == 1 and last.startswith(prefix) else None


@dataclass
class DemoLedger:
    ledger: TestLedger  # keys of the ledger-wide planner and drawer that make the test's draws
    city: City
    tmp: Path
    plans: int = 0
    demo_tasks: list[str] = field(default_factory=list)

    @property
    def config(self) -> StoreConfig:
        return self.ledger.store

    @property
    def drawer(self) -> Signer:
        return self.ledger.keys["drawer"]

    def service(self) -> LedgerService:
        return self.ledger.service(clock=later)

    def submit(self, actor: str, name: str, body: Any, attachment: Any = None) -> Receipt:
        """Sign (issued now, on the moved clock) and submit through the ledger's processor."""
        signed = sign_command(self.ledger.keys[actor], actor, name, msgspec.to_builtins(body), issued_at=later())
        with self.service() as service:
            source = draws.draw_inputs_source(service) if name.startswith("draw.") and name != "draw.void" else None
            return service.submit(signed, attachment, attachment_source=source)

    def import_rows(self, kind: str, rows: list[Any]) -> Receipt:
        body = import_body(kind, rows, file_name="-", file_sha256=file_digest(msgspec.json.encode(rows)))
        return self.submit("admin", "directory.import", body, rows)

    def commit(self, task_id: str) -> int:
        """Name the local network's round published two periods from now; the round."""
        network = LOCAL.network
        number = network.round_at(int(later().timestamp()) + 2 * network.period)
        self.submit("drawer", "draw.commit", CommitBody(
            task_id=task_id, beacons=(BeaconChoice(network=network.beacon_id, round=number),)))
        return number

    def run(self, task_id: str, number: int) -> draws.DrawRecord:
        receipt = self.submit("drawer", "draw.run", RunBody(task_id=task_id,
                                                             signatures=(LOCAL.signature_for(number).hex(),)))
        return draws.recorded_draw(self.config, receipt)

    def void(self, task_id: str, reason: str) -> Receipt:
        return self.submit("drawer", "draw.void", VoidBody(task_id=task_id, reason=reason))

    def task(self, *, items: tuple[str, ...], departments: tuple[str, ...], quotas: dict[str, Quota],
             target_filter: EntityFilter = EntityFilter(), **task: Any) -> str:
        self.plans += 1
        n = self.plans
        self.submit("planner", "plan.create", PlanBody(
            plan_id=f"P{n}", title=f"计划{n}", department=departments[0], year=2026, items=items,
            joint_departments=departments[1:]))
        self.submit("planner", "task.create", TaskBody(
            task_id=f"T{n}", plan_id=f"P{n}", name=f"任务{n}", window_start=WINDOW[0], window_end=WINDOW[1],
            items=items, departments=departments, target_filter=target_filter, quotas=quotas, **task))
        return f"T{n}"

    def draw(self, **task: Any) -> tuple[str, DrawOutcome]:
        """Plan, task, commit and run one draw; CommandRefused if the ledger refuses it."""
        task_id = self.task(**task)
        return task_id, self.run(task_id, self.commit(task_id))

    def bundle_file(self, task_id: str) -> Path:
        path = self.tmp / f"{task_id}.bundle.json"
        if not path.exists():
            path.write_bytes(export_bundle(self.config, task_id))
        return path

    def bundle(self, task_id: str) -> dict[str, Any]:
        return json.loads(self.bundle_file(task_id).read_bytes())

    def public_file(self, task_id: str) -> Path:
        """The public bundle, as `drledger draw export TASK --public` writes it."""
        path = self.tmp / f"{task_id}.public.json"
        if not path.exists():
            done = drledger("draw", "export", task_id, "--public", "--out", str(path), home=self.config.home)
            assert done.returncode == 0, done.stderr
        return path

    def copy_to(self, tmp: Path) -> DemoLedger:
        """An independent copy: the ledger home copied under `tmp`, files written there."""
        home = Path(shutil.copytree(self.config.home, tmp / "home"))
        ledger = TestLedger(resolve_store(None, home), dict(self.ledger.keys))
        return DemoLedger(ledger=ledger, city=self.city, tmp=tmp, plans=self.plans, demo_tasks=list(self.demo_tasks))

    def prove(self, task_id: str, uscc: str) -> Path:
        done = drledger("draw", "prove", task_id, uscc, home=self.config.home)
        assert done.returncode == 0, done.stderr
        path = self.tmp / f"{task_id}.{len(list(self.tmp.glob('*.proof.json')))}.proof.json"
        path.write_text(done.stdout)
        return path


def demo_ledger(tmp: Path, seed: int) -> DemoLedger:
    """A fresh SQLite ledger pinning the local test beacon: the small demo city, the demo's own
    plans and draws (cooling-off 0, as the demo sets it), then a ledger-wide planner and drawer;
    eight days later the cooling-off is set back to seven days for the test's draws."""
    config = resolve_store(None, tmp / "home")
    init_ledger(config, origin=f"test.drledger/verify-{seed}", admin_id="admin", admin_name="Admin",
                admin_key_file=config.home / "demo-keys" / "admin.pem", beacons=demo_beacons())
    ledger = TestLedger(config, {"admin": demo_signer(config, "admin")})
    city = generate_city(seed, small=True)
    ledger.submit("admin", "settings.governance", msgspec.to_builtins(GovernanceSettings(draw_cooling_off_days=0)))
    for kind in IMPORT_ORDER:
        rows = list(city.rows(kind)) + (list(UNCERTIFIED) if kind == "inspectors" else [])
        summary = ledger.import_rows("admin", kind, rows, accept_bad_check=True)
        assert summary.written and not summary.errors, (kind, summary.errors[:3])
    tasks = add_draws(config)  # the demo's own plans, tasks and draws
    ledger.register("planner", "planner")
    ledger.register("drawer", "drawer")
    demo = DemoLedger(ledger=ledger, city=city, tmp=tmp, demo_tasks=tasks)
    demo.submit("admin", "settings.governance", GovernanceSettings(draw_cooling_off_days=7))
    return demo


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
            quotas[k] = Quota(ratio=rng.choice(RATIOS)) if rng.random() < 0.6 else Quota(count=rng.randint(1, 6))
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
    )


def max_load(outcome: DrawOutcome) -> int:
    loads: dict[str, int] = {}
    for team in outcome.teams:
        for badge in team.inspectors:
            loads[badge] = loads.get(badge, 0) + 1
    return max(loads.values(), default=0)


def capped_task(city: City) -> dict[str, Any]:
    """A task whose load cap binds whatever the draw: cap 1 and one team of two per pair of the
    drawable officers of the best-staffed department, so each of them is drawn exactly once and every
    team after the first is ranked without the officers already drawn."""
    items: dict[str, set[str]] = {}
    for item in city.items:
        if item.status == "active":
            items.setdefault(item.department, set()).add(item.code)
    officers: dict[str, list[str]] = {}
    for i in city.inspectors:  # drawable: active, certified through the window, qualified for an item
        if (i.status == "active" and i.role == "enforcement" and i.certificate_no
                and (i.certificate_valid_until or "") >= WINDOW[1].isoformat()
                and set(i.qualifications) & (items.get(i.department, set()) | {i.department})):
            officers.setdefault(i.department, []).append(i.badge)
    department = max(sorted(officers), key=lambda d: len(officers[d]))
    badges = officers[department]
    assert len(badges) >= 4 and not {c.badge for c in city.conflicts} & set(badges), (department, badges)
    return dict(items=tuple(sorted(items[department])), departments=(department,),
                quotas={"C": Quota(count=len(badges) // 2)}, load_cap=1)


# -- Agreement on many random draws --------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("city_seed", [8, 32])
def test_agrees_with_the_system_on_random_draws(tmp_path: Path, city_seed: int) -> None:
    ledger = demo_ledger(tmp_path, city_seed)
    rng = random.Random(city_seed)
    drawn: list[tuple[str, dict[str, Any], DrawOutcome]] = []
    refused = 0
    for _ in range(50):
        params = random_task(rng, ledger.city)
        try:
            task_id, outcome = ledger.draw(**params)
        except CommandRefused as error:
            assert error.code == "draw_impossible" and "cannot be drawn" in error.message, error
            refused += 1
            continue
        drawn.append((task_id, params, outcome))
    assert len(drawn) >= 20, f"only {len(drawn)} of {len(drawn) + refused} random tasks could be drawn"
    # A binding load cap by construction: whether a random task's cap binds depends on its draw
    # (the salt key and the beacon's randomness; with city seed 32 some runs bind none).
    params = capped_task(ledger.city)
    task_id, capped = ledger.draw(**params)
    assert len(capped.teams) == params["quotas"]["C"].count >= 2 and max_load(capped) == 1
    drawn.append((task_id, params, capped))
    # The sample must cover what matters: joint tasks, experts, binding load caps, exclusions.
    bundles = {task_id: ledger.bundle(task_id) for task_id, _, _ in drawn}
    assert any(len(p["departments"]) > 1 for _, p, o in drawn if o.teams)
    assert any(t.experts for _, _, o in drawn for t in o.teams)
    assert any(b["inputs"]["excluded"] for b in bundles.values())
    assert any(p["load_cap"] and max_load(o) == p["load_cap"] for _, p, o in drawn)
    for task_id in ledger.demo_tasks:  # the demo's own draws (one of them joint; cooling-off 0)
        done = verify(ledger.bundle_file(task_id))
        assert done.returncode == 0, (task_id, done.stdout, done.stderr)
    for task_id, params, outcome in drawn:
        done = verify(ledger.bundle_file(task_id))
        assert done.returncode == 0, (task_id, params, done.stdout, done.stderr)
        assert outcome.seed in done.stdout and outcome.pool_root in done.stdout
        assert "ok    beacon signatures: " in done.stdout and "run signature: draw.run" in done.stdout
        assert done.stdout.rstrip().endswith("\nOK")


@dataclass
class Rich:
    ledger: DemoLedger
    first: str  # a plain draw
    joint: str  # a joint draw with experts, a binding load cap, exclusions, conflicts, attempts before it
    young: str  # an officer whose record changed just before the joint draw's commitment
    conflicted: str  # a draw whose teams the officers' declared conflicts decide


@pytest.fixture(scope="module")
def rich_template(tmp_path_factory: pytest.TempPathFactory) -> Rich:
    """Built once and never written to by the tests: those that write work on a copy (`rich_copy`)."""
    ledger = demo_ledger(tmp_path_factory.mktemp("rich") / "template", 8)
    first, _ = ledger.draw(items=("XY-SCJG-010", "XY-SCJG-002"), departments=("XY-SCJG",),
                           quotas={"A": Quota(ratio="0.05"), "B": Quota(count=4), "C": Quota(ratio="0.25")})
    # 冷静期: a qualified XY-SCJG officer whose record changes just before the joint draw's commitment.
    young = next(i for i in sorted(ledger.city.inspectors, key=lambda i: i.badge)
                 if i.department == "XY-SCJG" and i.role == "enforcement" and i.status == "active"
                 and "XY-SCJG-010" in i.qualifications)
    # 回避: every active expert but one declares a conflict with every class D firm.
    experts = sorted(i.badge for i in ledger.city.inspectors if i.role == "expert" and i.status == "active")
    firms = [e.uscc for e in ledger.city.entities if e.risk_class == "D" and e.status == "active"]
    ledger.import_rows("conflicts", [ConflictRow(badge, uscc, "亲属关系") for badge in experts[1:] for uscc in firms])
    ledger.import_rows("inspectors", [msgspec.structs.replace(young, name=young.name + "（调岗）")])
    joint = ledger.task(
        items=("XY-SCJG-010", "XY-SCJG-002", "XY-STHJ-001", "XY-STHJ-002"), departments=("XY-SCJG", "XY-STHJ"),
        quotas={"A": Quota(ratio="0.02"), "B": Quota(count=3), "C": Quota(ratio="0.2"), "D": Quota(count=2)},
        experts_per_target=1, load_cap=4, exclude_recent_days=30)
    # Earlier attempts: a commitment voided before its round, a draw voided, then the standing draw.
    ledger.commit(joint)
    ledger.void(joint, "误选了信标轮次")
    ledger.run(joint, ledger.commit(joint))
    ledger.void(joint, "抽取员需回避，重新抽取")
    outcome = ledger.run(joint, ledger.commit(joint))
    # 回避 for officers, after the joint draw's commitment: every XY-SCJG officer but two (and the young
    # one) declares a conflict with every class C and D firm, so a draw of them all must take those two.
    officers = [i.badge for i in sorted(ledger.city.inspectors, key=lambda i: i.badge) if i.department == "XY-SCJG"
                and i.role == "enforcement" and i.status == "active" and "XY-SCJG-010" in i.qualifications
                and i.badge != young.badge]
    firms = [e.uscc for e in ledger.city.entities if e.risk_class in "CD" and e.status == "active"]
    ledger.import_rows("conflicts", [ConflictRow(badge, uscc, "曾任职") for badge in officers[2:] for uscc in firms])
    conflicted, forced = ledger.draw(items=("XY-SCJG-010",), departments=("XY-SCJG",),
                                     quotas={"C": Quota(ratio="1"), "D": Quota(ratio="1")})
    assert len(forced.teams) >= 10 and all(sorted(t.inspectors) == officers[:2] for t in forced.teams)
    rich = Rich(ledger, first, joint, young.badge, conflicted)
    bundle = ledger.bundle(joint)
    assert [a["kind"] for a in bundle["attempts"]] == ["commit", "void", "commit", "run", "void"]
    assert bundle["inputs"]["excluded"] and all(t.experts for t in outcome.teams)
    assert all(len(v) >= 2 for v in outcome.targets.values())
    assert max_load(outcome) == 4, "the load cap should bind in this draw"
    assert all(t.experts == experts[:1] for t in outcome.teams if t.target in outcome.targets["D"])
    cooled = datetime.fromisoformat(bundle["inputs"]["committed_at"].replace("Z", "+00:00")) - timedelta(days=7)
    recent = [c["badge"] for c in bundle["inputs"]["inspectors"]
             if datetime.fromisoformat(c["since"].replace("Z", "+00:00")) > cooled]
    assert recent == [rich.young] and bundle["inputs"]["cooling_off_days"] == 7
    assert all(rich.young not in t.inspectors for t in outcome.teams)
    uncertified = {row.badge for row in UNCERTIFIED}  # qualified, active and cooled off, but never drawn
    assert uncertified <= {c["badge"] for c in bundle["inputs"]["inspectors"]}
    assert all(not uncertified & set(t.inspectors) for o in (outcome, forced) for t in o.teams)
    return rich


@pytest.fixture
def rich_copy(rich_template: Rich, tmp_path: Path) -> Rich:
    return Rich(rich_template.ledger.copy_to(tmp_path), rich_template.first, rich_template.joint, rich_template.young,
                rich_template.conflicted)


def test_rich_draws_verify(rich_template: Rich, tmp_path: Path) -> None:
    ledger = rich_template.ledger
    for task_id in (rich_template.first, rich_template.joint, rich_template.conflicted):
        done = verify(ledger.bundle_file(task_id))
        assert done.returncode == 0, done.stdout
        checks = [line.split(":")[0][6:] for line in done.stdout.splitlines() if line.startswith("ok    ")]
        assert checks == ["format", "inputs", "inputs digest", "pool", "commitment", "beacon rounds",
                          "beacon timing", "beacon randomness", "beacon signatures", "seed", "targets", "teams",
                          "outcome digest", "attempts", "commit signature", "run signature", "changes",
                          "change signatures"], done.stdout
        assert "ok    changes: none: the teams stand as drawn" in done.stdout
        assert "WARNING: local-test-not-public is a LOCAL TEST beacon" in done.stdout
    assert "5 earlier attempt(s): commit@" in verify(ledger.bundle_file(rich_template.joint)).stdout
    # The CLI's own export is the same bundle, and verifies too.
    out = tmp_path / "cli.bundle.json"
    done = drledger("draw", "export", rich_template.joint, "--out", str(out), home=ledger.config.home)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_bytes()) == ledger.bundle(rich_template.joint)
    assert verify(out).returncode == 0


def test_a_voided_draw_says_so(rich_copy: Rich) -> None:
    ledger = rich_copy.ledger
    ledger.void(rich_copy.first, "计划调整")
    bundle = json.loads(export_bundle(ledger.config, rich_copy.first))
    assert bundle["voided"]["reason"] == "计划调整" and bundle["attempts"] == []
    path = ledger.tmp / "voided.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False))
    done = verify(path)
    assert done.returncode == 0 and "this draw is VOIDED at position" in done.stdout, done.stdout


def _write(tmp: Path, bundle: dict[str, Any], name: str) -> Path:
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False))
    return path


def test_standard_library_only(rich_template: Rich, tmp_path: Path) -> None:
    """`python -I -S`: the standard library only. Without py_arkworks_bls12381 the beacon signatures
    cannot be checked: exit 3 unless --skip-beacon-signature accepts that (exit 0); every other
    check still runs, and a failing one still exits 1."""
    ledger = rich_template.ledger
    for module in ("py_arkworks_bls12381", "cryptography"):
        probe = subprocess.run([sys.executable, *STDLIB_ONLY, "-c", f"import {module}"], capture_output=True)
        if probe.returncode == 0:
            pytest.skip(f"{module} is importable even without site-packages")
    bundle_file = ledger.bundle_file(rich_template.joint)
    done = verify(SKIP_BLS, bundle_file, flags=STDLIB_ONLY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{NOT_CHECKED} (--skip-beacon-signature given)" in done.stdout
    assert "Ed25519 signature not checked (no Ed25519 in the standard library)" in done.stdout
    assert done.stdout.rstrip().endswith("OK (beacon signatures not checked: --skip-beacon-signature)")
    unchecked = verify(bundle_file, flags=STDLIB_ONLY)
    assert unchecked.returncode == 3, unchecked.stdout
    assert NOT_CHECKED in unchecked.stdout and "NOT FULLY VERIFIED" in unchecked.stdout.splitlines()[-1]
    assert "ok    run signature: " in unchecked.stdout  # the other checks ran
    tampered = ledger.bundle(rich_template.joint)
    tampered["recorded"]["teams"][0]["inspectors"].reverse()
    for flags in ((SKIP_BLS,), ()):
        done = verify(*flags, _write(tmp_path, tampered, "stdlib-tampered"), flags=STDLIB_ONLY)
        assert rejected_by(done) == "teams", done.stdout
    # Without BLS, another round's signature (with its randomness) is still caught, later.
    swapped = ledger.bundle(rich_template.joint)
    _other_signature(swapped)
    done = verify(SKIP_BLS, _write(tmp_path, swapped, "stdlib-swapped"), flags=STDLIB_ONLY)
    assert rejected_by(done) == "seed", done.stdout  # its randomness is not the draw's
    assert rejected_by(verify(_write(tmp_path, swapped, "swapped"))) == "beacon signatures"


# -- Every single-field alteration is rejected, by the right check ---------------

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
    quota, n = b["inputs"]["quotas"][k], b["commitment"]["counts"][k]
    drawn = len(b["recorded"]["targets"][k])
    b["inputs"]["quotas"][k] = {"ratio": None, "count": drawn + 1 if drawn < n else drawn - 1} \
        if quota["count"] is not None else {"ratio": "1" if drawn < n else "0.001", "count": None}


def _replace_public_key(part: dict[str, Any]) -> None:
    part["public_key"] = base64.b64encode(Signer.generate().public_key).decode()


def _resign_command(part: dict[str, Any], **change: Any) -> None:
    """Alter a signed command (canonically re-encoded; the signature no longer fits)."""
    command = json.loads(base64.b64decode(part["signed"]["command"]))
    command.update(change)
    raw = json.dumps(command, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    part["signed"]["command"] = base64.b64encode(raw).decode()


def _resign_body(part: dict[str, Any], **change: Any) -> None:
    body = json.loads(base64.b64decode(part["signed"]["command"]))["body"]
    _resign_command(part, body={**body, **change})


def _flip_signature(part: dict[str, Any]) -> None:
    raw = base64.b64decode(part["signed"]["signature"])
    part["signed"]["signature"] = base64.b64encode(bytes([raw[0] ^ 1]) + raw[1:]).decode()


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


def _make_a_member_young(b: Bundle) -> None:
    badge = b["recorded"]["teams"][0]["inspectors"][0]
    next(c for c in b["inputs"]["inspectors"] if c["badge"] == badge)["since"] = b["inputs"]["committed_at"]


def _add_to_pool(b: Bundle) -> None:
    uscc = _not_in_pool(b)
    b["inputs"]["excluded"].remove(uscc)
    b["inputs"]["pool"]["D"].append(uscc)


def _move_class(b: Bundle, src: str, dst: str) -> None:
    moved = b["inputs"]["pool"][src].pop(len(b["inputs"]["pool"][src]) // 2)
    b["inputs"]["pool"][dst].append(moved)


def _other_signature(b: Bundle) -> None:
    """Another round's genuine signature, with its randomness: it does not verify for this round."""
    signature = LOCAL.signature_for(b["recorded"]["beacons"][0]["round"] + 1)
    b["recorded"]["signatures"][0] = signature.hex()
    b["recorded"]["beacons"][0]["randomness"] = hashlib.sha256(signature).hexdigest()


def _named_and_used_round(b: Bundle, delta: int) -> None:
    for beacon in (b["commitment"]["beacons"][0], b["recorded"]["beacons"][0]):
        beacon["round"] += delta
    b["commitment"]["beacons"][0]["published_at"] += delta * LOCAL.network.period


def _chain_info(b: Bundle) -> dict[str, Any]:
    return b["beacons"][LOCAL.network.beacon_id]


def _drop_last_void(b: Bundle) -> None:
    """As if the draw before this one had never been voided (the task's events renumbered to match)."""
    assert b["attempts"].pop()["kind"] == "void"
    b["commitment"]["task_version"] -= 1
    b["recorded"]["task_version"] -= 1


def _remove_attempt(b: Bundle, kind: str) -> None:
    b["attempts"].remove(next(a for a in b["attempts"] if a["kind"] == kind))


# name -> (alteration, the check that must fail first). Inputs are covered by the commitment's
# digest, so altering one fails at "inputs digest" (or "inputs", when the ledger would refuse them
# outright); REHASHED below shows the later checks catch the same alterations on their own.
ALTERATIONS: dict[str, tuple[Callable[[Bundle], Any], str]] = {
    "target swapped within its class": (lambda b: b["recorded"]["targets"]["C"].reverse(), "targets"),
    "target replaced by an undrawn pool ID": (lambda b: b["recorded"]["targets"]["A"].__setitem__(
        0, next(u for u in b["inputs"]["pool"]["A"] if u not in b["recorded"]["targets"]["A"])), "targets"),
    "target dropped": (lambda b: b["recorded"]["targets"]["D"].pop(), "targets"),
    "target added": (lambda b: b["recorded"]["targets"]["B"].append(
        next(u for u in b["inputs"]["pool"]["B"] if u not in b["recorded"]["targets"]["B"])), "targets"),
    "team member replaced": (lambda b: b["recorded"]["teams"][1]["inspectors"].__setitem__(
        0, _other_badge(b, b["recorded"]["teams"][1], "enforcement")), "teams"),
    "team leader swapped with a member": (lambda b: b["recorded"]["teams"][2]["inspectors"].reverse(), "teams"),
    "expert replaced": (lambda b: _team_with_expert(b)["experts"].__setitem__(
        0, _other_badge(b, _team_with_expert(b), "expert")), "teams"),
    "teams reordered": (lambda b: b["recorded"]["teams"].reverse(), "teams"),
    "team dropped": (lambda b: b["recorded"]["teams"].pop(), "teams"),
    "team target renamed": (lambda b: b["recorded"]["teams"][0].__setitem__("target", _not_in_pool(b)), "teams"),
    "task id changed": (lambda b: b["inputs"].__setitem__("task_id", b["inputs"]["task_id"] + "x"), "inputs digest"),
    "frozen position changed": (lambda b: b["inputs"].__setitem__("position", b["inputs"]["position"] - 1),
                                "inputs digest"),
    "commitment time changed (inputs)": (lambda b: b["inputs"].__setitem__("committed_at", "2026-01-01T00:00:00.000000Z"),
                                         "inputs digest"),
    "cooling-off days changed": (lambda b: b["inputs"].__setitem__("cooling_off_days", 0), "inputs digest"),
    "inspector made younger than the cooling-off": (_make_a_member_young, "inputs digest"),
    "pool ID added": (_add_to_pool, "inputs digest"),
    "pool ID removed (undrawn)": (lambda b: b["inputs"]["pool"]["A"].remove(
        next(u for u in b["inputs"]["pool"]["A"] if u not in b["recorded"]["targets"]["A"])), "inputs digest"),
    "pool ID moved A -> B": (lambda b: _move_class(b, "A", "B"), "inputs digest"),
    "pool ID moved D -> C": (lambda b: _move_class(b, "D", "C"), "inputs digest"),
    "pool ID renamed": (lambda b: b["inputs"]["pool"]["B"].__setitem__(0, b["inputs"]["pool"]["B"][0].lower()),
                        "inputs digest"),
    "pool ID listed in two classes": (lambda b: b["inputs"]["pool"]["C"].append(b["inputs"]["pool"]["B"][0]), "inputs"),
    "pool ID also excluded": (lambda b: b["inputs"]["excluded"].append(b["inputs"]["pool"]["C"][0]), "inputs"),
    "count quota changed": (lambda b: _with_count_changed(b, "B"), "inputs digest"),
    "ratio quota changed": (lambda b: _with_count_changed(b, "C"), "inputs digest"),
    "quota with both ratio and count": (lambda b: b["inputs"]["quotas"]["D"].__setitem__("ratio", "0.5"), "inputs"),
    "quota for an unknown class": (lambda b: b["inputs"]["quotas"].__setitem__("E", {"ratio": None, "count": 1}),
                                   "inputs"),
    "inspectors per target raised": (lambda b: b["inputs"].__setitem__("inspectors_per_target", 3), "inputs digest"),
    "inspectors per target below two": (lambda b: b["inputs"].__setitem__("inspectors_per_target", 1), "inputs"),
    "experts per target lowered": (lambda b: b["inputs"].__setitem__("experts_per_target", 0), "inputs digest"),
    "load cap lowered": (lambda b: b["inputs"].__setitem__("load_cap", 3), "inputs digest"),
    "load cap removed": (lambda b: b["inputs"].__setitem__("load_cap", None), "inputs digest"),
    "participating department dropped": (lambda b: b["inputs"].__setitem__("departments", b["inputs"]["departments"][:1]),
                                         "inputs digest"),
    "team member suspended": (_suspend_a_member, "inputs digest"),
    "conflict declared for a team member": (_declare_conflict, "inputs digest"),
    "conflict declared for a team's expert": (_expert_conflict, "inputs digest"),
    "expert retired": (lambda b: next(c for c in b["inputs"]["inspectors"] if c["badge"] == _team_with_expert(b)[
        "experts"][0]).__setitem__("status", "retired"), "inputs digest"),
    "item dropped": (lambda b: b["inputs"].__setitem__("items", b["inputs"]["items"][:1]), "inputs digest"),
    "extra input field": (lambda b: b["inputs"].__setitem__("secret", "00" * 32), "inputs"),
    "version changed": (lambda b: b["inputs"].__setitem__("version", "v1"), "inputs"),
    "bundle format changed": (lambda b: b.__setitem__("format", "drledger-draw-bundle/v2"), "format"),
    "committed inputs digest changed": (lambda b: b["commitment"].__setitem__(
        "inputs_digest", _flip_hex(b["commitment"]["inputs_digest"])), "inputs digest"),
    "recorded inputs digest changed": (lambda b: b["recorded"].__setitem__(
        "inputs_digest", _flip_hex(b["recorded"]["inputs_digest"])), "inputs digest"),
    "committed count changed": (lambda b: b["commitment"]["counts"].__setitem__("B", b["commitment"]["counts"]["B"] + 1),
                                "pool"),
    "committed class root changed": (lambda b: b["commitment"]["pool_roots"].__setitem__(
        "C", _flip_hex(b["commitment"]["pool_roots"]["C"])), "pool"),
    "committed pool root changed": (lambda b: b["commitment"].__setitem__(
        "pool_root", _flip_hex(b["commitment"]["pool_root"])), "pool"),
    "committed excluded count changed": (lambda b: b["commitment"].__setitem__("excluded", 0), "pool"),
    "commitment time changed": (lambda b: b["commitment"].__setitem__("committed_at", "2026-01-01T00:00:00.000000Z"),
                                "commitment"),
    "commitment's cooling-off changed": (lambda b: b["commitment"].__setitem__("cooling_off_days", 30), "commitment"),
    "commitment not right after its position": (lambda b: b["commitment"].__setitem__(
        "event_position", b["commitment"]["event_position"] + 2), "commitment"),
    "commit command elsewhere": (lambda b: b["commitment"]["signed"].__setitem__(
        "position", b["commitment"]["signed"]["position"] + 1), "commitment"),
    "draw recorded for another position": (lambda b: b["recorded"].__setitem__("position", b["recorded"]["position"] + 1),
                                           "commitment"),
    "beacon round changed (used only)": (lambda b: b["recorded"]["beacons"][0].__setitem__(
        "round", b["recorded"]["beacons"][0]["round"] + 1), "beacon rounds"),
    "beacon round changed (named and used)": (lambda b: _named_and_used_round(b, 1), "beacon signatures"),
    "beacon publication time changed": (lambda b: b["commitment"]["beacons"][0].__setitem__(
        "published_at", b["commitment"]["beacons"][0]["published_at"] - 1), "beacon rounds"),
    "beacon chain hash changed": (lambda b: b["recorded"]["beacons"][0].__setitem__(
        "chain_hash", _flip_hex(b["recorded"]["beacons"][0]["chain_hash"])), "beacon rounds"),
    "beacon chain hash changed (named and used)": (lambda b: [x.__setitem__("chain_hash", _flip_hex(x["chain_hash"]))
                                                           for x in (b["commitment"]["beacons"][0],
                                                                     b["recorded"]["beacons"][0])], "beacon rounds"),
    "beacon chain info altered": (lambda b: _chain_info(b).__setitem__("period", 4), "beacon rounds"),
    "beacon chain info's key replaced": (lambda b: _chain_info(b).__setitem__(
        "public_key", _flip_hex(_chain_info(b)["public_key"])), "beacon rounds"),
    "beacon chain info missing": (lambda b: b["beacons"].clear(), "beacon rounds"),
    "beacon signature missing": (lambda b: b["recorded"]["signatures"].clear(), "beacon rounds"),
    "beacon signature changed": (_other_signature, "beacon signatures"),
    "beacon signature truncated": (lambda b: b["recorded"]["signatures"].__setitem__(
        0, b["recorded"]["signatures"][0][:-2]), "beacon randomness"),
    "beacon randomness not its signature's": (lambda b: b["recorded"]["beacons"][0].__setitem__(
        "randomness", _flip_hex(b["recorded"]["beacons"][0]["randomness"])), "beacon randomness"),
    "recorded seed changed": (lambda b: b["recorded"].__setitem__("seed", _flip_hex(b["recorded"]["seed"])), "seed"),
    "outcome digest changed": (lambda b: b["recorded"].__setitem__(
        "outcome_digest", _flip_hex(b["recorded"]["outcome_digest"])), "outcome digest"),
    "attempts removed": (lambda b: b["attempts"].clear(), "attempts"),
    "a void removed": (lambda b: _remove_attempt(b, "void"), "attempts"),
    "a run removed": (lambda b: _remove_attempt(b, "run"), "attempts"),
    "last void removed, versions renumbered": (_drop_last_void, "attempts"),
    "attempts reordered": (lambda b: b["attempts"].reverse(), "attempts"),
    "a void's reason removed": (lambda b: next(a for a in b["attempts"] if a["kind"] == "void").__setitem__(
        "reason", None), "attempts"),
    "an attempt moved after the commitment": (lambda b: b["attempts"][-1].__setitem__(
        "position", b["commitment"]["event_position"] + 1), "attempts"),
    "draw not right after its commitment": (lambda b: b["recorded"].__setitem__(
        "task_version", b["recorded"]["task_version"] + 1), "attempts"),
    "signed commit naming another round": (lambda b: _resign_body(b["commitment"], beacons=[
        {"network": LOCAL.network.beacon_id, "round": b["commitment"]["beacons"][0]["round"] + 1}]), "commit signature"),
    "signed commit for another task": (lambda b: _resign_body(b["commitment"], task_id="T-other"), "commit signature"),
    "commit signature altered": (lambda b: _flip_signature(b["commitment"]), "commit signature"),
    "committer's public key replaced": (lambda b: _replace_public_key(b["commitment"]), "commit signature"),
    "committer changed": (lambda b: b["commitment"].__setitem__("actor", "someone"), "commit signature"),
    "signed run with other signatures": (lambda b: _resign_body(b["drawer"], signatures=[
        LOCAL.signature_for(7).hex()]), "run signature"),
    "signed run for another task": (lambda b: _resign_body(b["drawer"], task_id=b["inputs"]["task_id"] + "x"),
                                    "run signature"),
    "signed run body with an extra field": (lambda b: _resign_body(b["drawer"], seed=b["recorded"]["seed"]),
                                            "run signature"),
    "signed command of another kind": (lambda b: _resign_command(b["drawer"], name="draw.commit"), "run signature"),
    "signed command with another algorithm": (lambda b: _resign_command(b["drawer"], alg="sm2"), "run signature"),
    "signed command re-encoded": (lambda b: b["drawer"]["signed"].__setitem__("command", base64.b64encode(
        json.dumps(json.loads(base64.b64decode(b["drawer"]["signed"]["command"])), indent=1).encode()).decode()),
        "run signature"),
    "run signature altered": (lambda b: _flip_signature(b["drawer"]), "run signature"),
    "drawer actor changed": (lambda b: b["drawer"].__setitem__("actor", "someone"), "run signature"),
    "drawer public key replaced": (lambda b: _replace_public_key(b["drawer"]), "run signature"),
    "drawer public key missing": (lambda b: b["drawer"].__setitem__("public_key", None), "run signature"),
}


@pytest.fixture(scope="module")
def joint_bundle(rich_template: Rich) -> Bundle:
    return rich_template.ledger.bundle(rich_template.joint)


def _assert_rejected_by(tmp: Path, bundle: Bundle, check: str, name: str) -> subprocess.CompletedProcess[str]:
    done = verify(_write(tmp, bundle, "altered"))
    assert rejected_by(done) == check, (name, done.stdout, done.stderr)
    assert f"FAIL  {check}: " in done.stdout and "Traceback" not in done.stderr, done.stdout + done.stderr
    return done


@pytest.mark.parametrize("name", sorted(ALTERATIONS))
def test_every_alteration_is_rejected_by_its_check(joint_bundle: Bundle, tmp_path: Path, name: str) -> None:
    alter, check = ALTERATIONS[name]
    altered = copy.deepcopy(joint_bundle)
    alter(altered)
    assert altered != joint_bundle, "the alteration changed nothing"
    _assert_rejected_by(tmp_path, altered, check, name)


def _rehash(b: Bundle) -> None:
    """What a forger would do next: recompute the inputs digest (both copies) and the seed from
    the altered inputs with the ledger's own code, leaving the pool roots and the outcome as recorded."""
    digest = inputs_digest(msgspec.convert(b["inputs"], DrawInputs))
    b["commitment"]["inputs_digest"] = b["recorded"]["inputs_digest"] = digest
    beacons = [msgspec.convert(x, BeaconOutput) for x in b["recorded"]["beacons"]]
    b["recorded"]["seed"] = derive_seed(b["inputs"]["task_id"], digest, beacons)


# Input alterations whose digests and seed are recomputed: the check that still catches each (any
# other input changes the seed, so the targets: "targets" catches it whatever the rule it breaks).
REHASHED = {
    "pool ID added": "pool", "pool ID removed (undrawn)": "pool", "pool ID moved A -> B": "pool",
    "pool ID moved D -> C": "pool", "pool ID renamed": "pool", "cooling-off days changed": "commitment",
    "commitment time changed (inputs)": "commitment", "frozen position changed": "commitment",
    "count quota changed": "targets", "ratio quota changed": "targets", "load cap lowered": "targets",
}


@pytest.mark.parametrize("name", sorted(REHASHED))
def test_rehashed_input_alterations_are_caught_later(joint_bundle: Bundle, tmp_path: Path, name: str) -> None:
    altered = copy.deepcopy(joint_bundle)
    ALTERATIONS[name][0](altered)
    _rehash(altered)
    _assert_rejected_by(tmp_path, altered, REHASHED[name], name)


def _seat(b: Bundle, badge: str) -> None:
    """Put `badge` in a recorded team in place of its officer of the same department, so the team still
    covers every department and breaks only the rule under test. Every team of the joint draw has one
    officer of each department; which one leads it is random, so no place in the team is assumed."""
    department = _inspector(b, badge=badge)["department"]
    team, place = next((t, i) for t in b["recorded"]["teams"] for i, member in enumerate(t["inspectors"])
                       if _inspector(b, badge=member)["department"] == department)
    team["inspectors"][place] = badge


def _inspector(b: Bundle, **match: Any) -> dict[str, Any]:
    return next(c for c in b["inputs"]["inspectors"] if all(c[k] == v for k, v in match.items()))


@pytest.mark.parametrize("rule", ["cooling-off", "not active", "conflict", "department", "no certificate",
                                  "certificate expires in the window"])
def test_a_recorded_team_breaking_a_rule_is_named(rich_template: Rich, joint_bundle: Bundle, tmp_path: Path,
                                                  rule: str) -> None:
    """The inputs as committed, but a recorded team holds someone the rules leave out: rejected at
    "teams", which says which rule. Cooling-off: the officer whose record changed just before the
    commitment (the ledger left it out)."""
    b = copy.deepcopy(joint_bundle)
    if rule == "cooling-off":
        young = _inspector(b, badge=rich_template.young)
        _seat(b, young["badge"])
        reason = (f"{young['badge']}'s record is in force since {young['since']}, less than 7 day(s) before the"
                  f" commitment ({b['inputs']['committed_at']}): within the cooling-off period")
    elif rule == "not active":
        idle = next(c for c in b["inputs"]["inspectors"] if c["status"] != "active" and c["role"] == "enforcement"
                    and c["department"] in b["inputs"]["departments"])
        _seat(b, idle["badge"])
        reason = f"{idle['badge']} is {idle['status']}, not active"
    elif rule == "conflict":
        badge, target = next((x, u) for x, u in b["inputs"]["conflicts"] if u in {t["target"] for t in b["recorded"]["teams"]}
                             and _inspector(b, badge=x)["role"] == "expert")
        team = next(t for t in b["recorded"]["teams"] if t["target"] == target)
        team["experts"][0] = badge
        reason = f"{badge} declared a conflict of interest (回避) with {target}"
    elif rule == "no certificate":
        _seat(b, "CERT-NONE")
        reason = ("CERT-NONE holds no dated certificate: an enforcement officer needs an enforcement certificate"
                  " (执法证) valid through the task's window_end 2026-05-31")
    elif rule == "certificate expires in the window":
        _seat(b, "CERT-SHORT")
        reason = ("CERT-SHORT's certificate 赣ZF-0001 is valid until 2026-05-30: an enforcement officer needs an"
                  " enforcement certificate (执法证) valid through the task's window_end 2026-05-31")
    else:
        outsider = next(c for c in b["inputs"]["inspectors"] if c["status"] == "active" and c["role"] == "enforcement"
                        and c["department"] not in b["inputs"]["departments"])
        b["recorded"]["teams"][0]["inspectors"][0] = outsider["badge"]
        reason = f"{outsider['badge']} is not a qualified enforcement of the task's departments"
    done = _assert_rejected_by(tmp_path, b, "teams", rule)
    assert reason in done.stdout, done.stdout


def test_a_round_published_before_the_commitment_is_rejected(rich_template: Rich, joint_bundle: Bundle,
                                                             tmp_path: Path) -> None:
    """A coherent forgery: a round already published when the commitment was made (its randomness
    known), every digest, the outcome and both signed commands redone with the drawer's own key.
    Every check passes but the timing."""
    b = copy.deepcopy(joint_bundle)
    network, named = LOCAL.network, b["commitment"]["beacons"][0]
    committed = int(datetime.fromisoformat(b["commitment"]["committed_at"].replace("Z", "+00:00")).timestamp())
    number = network.round_at(committed) - 1
    signature = LOCAL.signature_for(number)
    named.update(round=number, published_at=network.published_at(number))
    output = BeaconOutput(network=named["network"], chain_hash=named["chain_hash"], round=number,
                          randomness=LOCAL.randomness_for(number).hex())
    outcome = compute(msgspec.convert(b["inputs"], DrawInputs), [output])
    b["recorded"].update(beacons=[msgspec.to_builtins(output)], signatures=[signature.hex()], seed=outcome.seed,
                         targets=outcome.targets, teams=msgspec.to_builtins(outcome.teams),
                         outcome_digest=outcome_digest(outcome))
    drawer = rich_template.ledger.drawer
    for part, name, body in ((b["commitment"], "draw.commit", {"task_id": b["inputs"]["task_id"], "beacons": [
            {"network": named["network"], "round": number}]}),
            (b["drawer"], "draw.run", {"task_id": b["inputs"]["task_id"], "signatures": [signature.hex()]})):
        signed = sign_command(drawer, "drawer", name, body)
        part["signed"].update(command=base64.b64encode(signed.command).decode(),
                              signature=base64.b64encode(signed.signature).decode())
    done = _assert_rejected_by(tmp_path, b, "beacon timing", "round published before the commitment")
    assert f"round {number} was published at {network.published_at(number)}, not after the commitment" in done.stdout
    assert "ok    beacon rounds: " in done.stdout
    # The same forgery with the round the commitment really named passes: the checks above are the forgery's.
    named.update(round=joint_bundle["commitment"]["beacons"][0]["round"],
                 published_at=joint_bundle["commitment"]["beacons"][0]["published_at"])
    b["recorded"] = joint_bundle["recorded"]
    b["commitment"]["signed"], b["drawer"]["signed"] = joint_bundle["commitment"]["signed"], joint_bundle["drawer"]["signed"]
    assert b == joint_bundle and verify(_write(tmp_path, b, "restored")).returncode == 0


def test_rejection_names_the_first_difference(joint_bundle: Bundle, tmp_path: Path) -> None:
    b = copy.deepcopy(joint_bundle)
    second = b["recorded"]["targets"]["C"][1]
    b["recorded"]["targets"]["C"][1] = b["recorded"]["targets"]["C"][0]
    done = verify(_write(tmp_path, b, "first-difference"))
    assert done.returncode == 1
    assert done.stdout.splitlines()[-2:] == [
        f"FAIL  targets: class C: target #2: recomputed {second!r}, recorded {b['recorded']['targets']['C'][0]!r}",
        'REJECTED: the first failing check is "targets"']
    assert "ok    seed: " in done.stdout and "ok    teams" not in done.stdout


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
def test_proofs_of_members_and_non_members_verify(rich_template: Rich) -> None:
    ledger, joint = rich_template.ledger, rich_template.joint
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


def test_proof_with_an_empty_class(rich_copy: Rich) -> None:
    ledger = rich_copy.ledger
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


def _assert_proof_rejected(proof: Path, bundle: Path, name: str) -> None:
    for extra in (((bundle,),) if name in SIZE_ONLY else ((), (bundle,))):
        done = verify("--proof", proof, *extra)
        assert done.returncode == 1 and done.stdout.startswith("REJECTED: "), (name, extra, done.stdout)


@pytest.mark.parametrize("name", sorted(MEMBER_ALTERATIONS))
def test_altered_membership_proofs_fail(rich_template: Rich, tmp_path: Path, name: str) -> None:
    ledger, joint = rich_template.ledger, rich_template.joint
    member = sorted(ledger.bundle(joint)["inputs"]["pool"]["C"], key=str.encode)[5]
    proof = json.loads(ledger.prove(joint, member).read_text())
    MEMBER_ALTERATIONS[name](proof)
    _assert_proof_rejected(_write(tmp_path, proof, "member"), ledger.bundle_file(joint), name)


def _interior_absence(ledger: Any, task_id: str) -> dict[str, Any]:
    """An absence proof whose commitment falls between two leaves in classes A, B and C, the
    classes the alterations touch (the commitments are salted with a key drawn per draw, so
    which non-member does is found by trying)."""
    every = sorted((u for ids in ledger.bundle(task_id)["inputs"]["pool"].values() for u in ids), key=str.encode)
    for candidate in every[:60]:
        proof = json.loads(ledger.prove(task_id, candidate + "0").read_text())
        if all(e["left"] and e["right"] for e in proof["absence"] if e["class"] in "ABC"):
            return proof
    raise AssertionError("no absence proof with interior gaps in A, B and C")


@pytest.mark.parametrize("name", sorted(ABSENCE_ALTERATIONS))
def test_altered_absence_proofs_fail(rich_template: Rich, tmp_path: Path, name: str) -> None:
    ledger, joint = rich_template.ledger, rich_template.joint
    proof = _interior_absence(ledger, joint)
    ABSENCE_ALTERATIONS[name](proof)
    _assert_proof_rejected(_write(tmp_path, proof, "absent"), ledger.bundle_file(joint), name)


def test_a_member_cannot_be_proved_absent_with_its_real_neighbours(rich_template: Rich, tmp_path: Path) -> None:
    """Splice the genuine proofs of a member's two neighbours (in commitment order) into an
    absence proof: not adjacent, rejected."""
    ledger, joint = rich_template.ledger, rich_template.joint
    bundle = ledger.bundle(joint)
    key = bundle["inputs"]["salt_key"]
    by_commitment = dict(sorted((commitment_for(key, u), u)
                                for u in bundle["inputs"]["pool"]["A"]))
    ids = list(by_commitment.values())
    member, before, after = ids[10], ids[9], ids[11]
    member_proof = json.loads(ledger.prove(joint, member).read_text())
    left = json.loads(ledger.prove(joint, before).read_text())["membership"]
    right = json.loads(ledger.prove(joint, after).read_text())["membership"]
    absent = _interior_absence(ledger, joint)
    entry = next(e for e in absent["absence"] if e["class"] == "A")
    entry["left"] = {k: left[k] for k in ("id", "leafIndex", "proof")}
    entry["right"] = {k: right[k] for k in ("id", "leafIndex", "proof")}
    absent.update(uscc=member, salt=member_proof["salt"], commitment=member_proof["commitment"])
    done = verify("--proof", _write(tmp_path, absent, "spliced"))
    assert done.returncode == 1 and "right neighbour's index" in done.stdout, done.stdout


def test_proof_checked_against_another_draws_bundle_fails(rich_template: Rich) -> None:
    ledger = rich_template.ledger
    member = ledger.bundle(rich_template.joint)["inputs"]["pool"]["B"][0]
    done = verify("--proof", ledger.prove(rich_template.joint, member), ledger.bundle_file(rich_template.first))
    assert done.returncode == 1, done.stdout


def test_usage_and_malformed_input(joint_bundle: Bundle, tmp_path: Path) -> None:
    assert verify().returncode == 2
    assert verify(tmp_path / "missing.json").returncode == 2
    assert verify("--proof").returncode == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "drledger-draw-bundle/v4"}')
    assert rejected_by(verify(bad)) == "format"
    b = copy.deepcopy(joint_bundle)
    del b["inputs"]["inspectors"][0]["since"]
    done = verify(_write(tmp_path, b, "no-since"))
    assert rejected_by(done) == "inputs" and "fields of inspector " in done.stdout, done.stdout
    del b["inputs"]["window_end"]
    done = verify(_write(tmp_path, b, "no-window-end"))
    assert rejected_by(done) == "inputs" and "input fields" in done.stdout, done.stdout
    bad.write_text("{not json")
    done = verify(bad)
    assert done.returncode == 1 and done.stdout.startswith("REJECTED: not a JSON file"), done.stdout
    assert "Traceback" not in done.stderr
    assert os.path.getsize(VERIFIER) < 56_000  # short enough to read (with §7c changes and public bundles)


# -- Substitutions (替换) and 补抽 after the draw (draw-spec §7c) -------------------

@dataclass
class Changed:
    ledger: DemoLedger
    task_id: str
    bundle: Bundle
    drawn: list[dict[str, Any]]  # the teams as drawn


@pytest.fixture(scope="module")
def changed(rich_template: Rich, tmp_path_factory: pytest.TempPathFactory) -> Changed:
    """On a copy of the rich ledger, the plain draw changes three times, each signed through the
    ledger's processor: an officer of the first team recuses itself (回避, signed with its own key),
    the drawer draws more class C firms (补抽) so that the draw allows a second substitution, and a
    reviewer of the lead department replaces the leader of the last team."""
    ledger = rich_template.ledger.copy_to(tmp_path_factory.mktemp("changed"))
    task_id = rich_template.first
    drawn = ledger.bundle(task_id)["recorded"]["teams"]
    first = drawn[0]
    officer = first["inspectors"][-1]
    for actor, role in ((officer, "inspector"), ("reviewer", "reviewer")):  # registered on the moved clock
        ledger.ledger.keys[actor] = signer = Signer.generate()
        ledger.submit("admin", "actor.register", {"actor_id": actor, "department": "XY-SCJG", "name": actor,
                                                  "public_key": public_key_b64(signer.public_key), "roles": [role]})
    ledger.submit(officer, "draw.recuse", RecuseBody(task_id=task_id, target=first["target"], reason="与负责人系亲属"))
    pool_c = ledger.bundle(task_id)["inputs"]["pool"]["C"]
    more = max(20 - len(drawn), 1)
    drawn_c = sum(1 for t in drawn if t["target"] in pool_c)
    assert len(pool_c) - drawn_c >= more, "the class C pool is too small for this test"
    ledger.submit("drawer", "draw.extend", ExtendBody(task_id=task_id, risk_class="C", count=more,
                                                      reason="部分企业已注销，按规定补抽"))
    last = drawn[-1]
    ledger.submit("reviewer", "draw.substitute", SubstituteBody(task_id=task_id, target=last["target"],
                                                                officer=last["inspectors"][0], reason="病假"))
    bundle = json.loads(export_bundle(ledger.config, task_id))
    assert [c["kind"] for c in bundle["changes"]] == ["recuse", "extend", "substitute"]
    return Changed(ledger, task_id, bundle, drawn)


def test_a_draw_with_substitutions_and_an_extension_verifies(changed: Changed, tmp_path: Path) -> None:
    done = verify(_write(tmp_path, changed.bundle, "changed"))
    assert done.returncode == 0, done.stdout
    assert "ok    changes: 3 change(s): recuse@" in done.stdout
    assert "2 officer(s) replaced" in done.stdout and "ok    change signatures: 3 signed change command(s)" in done.stdout
    recusal, extension, substitution = changed.bundle["changes"]
    assert recusal["actor"] == recusal["fields"]["leaving"] == changed.drawn[0]["inspectors"][-1]
    assert substitution["fields"]["leaving"] == changed.drawn[-1]["inspectors"][0]
    assert extension["fields"]["targets"] and len(extension["fields"]["teams"]) == len(extension["fields"]["targets"])
    # The verifier's final teams are the ledger's: the drawn teams with the changes applied.
    from ledger.domain.draws import Task
    with changed.ledger.service() as service:
        task = service.processor.app.find(Task.create_id(changed.task_id))
    assert task.teams[0].inspectors[-1] == recusal["fields"]["joining"]
    assert task.teams[len(changed.drawn) - 1].inspectors[0] == substitution["fields"]["joining"]
    assert [t.target for t in task.teams[len(changed.drawn):]] == extension["fields"]["targets"]
    # The CLI's export carries the same changes.
    out = tmp_path / "cli.json"
    assert drledger("draw", "export", changed.task_id, "--out", str(out), home=changed.ledger.config.home).returncode == 0
    assert json.loads(out.read_bytes()) == changed.bundle


def _other_officer(b: Bundle, *not_these: str) -> str:
    return next(c["badge"] for c in b["inputs"]["inspectors"] if c["role"] == "enforcement"
                and c["department"] in b["inputs"]["departments"] and c["badge"] not in not_these)


def _alter_successor(b: Bundle) -> None:
    f = b["changes"][0]["fields"]
    f["joining"] = _other_officer(b, f["joining"], f["leaving"])


def _alter_extension_target(b: Bundle) -> None:
    f = b["changes"][1]["fields"]
    f["targets"][0] = next(u for u in b["inputs"]["pool"]["C"] if u not in f["targets"]
                           and u not in b["recorded"]["targets"]["C"])
    f["teams"][0]["target"] = f["targets"][0]


def _swap_extension_team(b: Bundle) -> None:
    team = b["changes"][1]["fields"]["teams"][0]
    team["inspectors"][0] = _other_officer(b, *team["inspectors"])


CHANGE_ALTERATIONS: dict[str, tuple[Callable[[Bundle], Any], str]] = {
    "altered successor": (_alter_successor, "changes"),
    "altered extension target": (_alter_extension_target, "changes"),
    "altered extension team": (_swap_extension_team, "changes"),
    "dropped change": (lambda b: b["changes"].pop(0), "changes"),
    "changes reordered": (lambda b: b["changes"].reverse(), "changes"),
    "recusal by another actor": (lambda b: b["changes"][0].__setitem__("actor", "reviewer"), "changes"),
    "substitution as a recusal": (lambda b: b["changes"][2].__setitem__("kind", "recuse"), "changes"),
    "extension reason altered": (lambda b: b["changes"][1]["fields"].__setitem__("reason", "另一理由"),
                                 "change signatures"),
    "substitution signature altered": (lambda b: _flip_signature(b["changes"][2]), "change signatures"),
    "recusal public key replaced": (lambda b: _replace_public_key(b["changes"][0]), "change signatures"),
}


@pytest.mark.parametrize("name", sorted(CHANGE_ALTERATIONS))
def test_an_altered_change_is_rejected_by_its_check(changed: Changed, tmp_path: Path, name: str) -> None:
    alter, check = CHANGE_ALTERATIONS[name]
    altered = copy.deepcopy(changed.bundle)
    alter(altered)
    assert altered != changed.bundle, "the alteration changed nothing"
    done = _assert_rejected_by(tmp_path, altered, check, name)
    if name == "altered successor":
        assert "change 1 (recuse at position" in done.stdout and "successor of" in done.stdout, done.stdout
    if name == "dropped change":
        assert "its place in the task's events" in done.stdout, done.stdout


# -- Public bundles (`drledger draw export TASK --public`): no undrawn firm named ------------------

def _firms_named_by(full: Bundle) -> set[str]:
    """Every USCC the full bundle names: pool, excluded, conflicts, targets."""
    inputs = full["inputs"]
    return ({u for ids in inputs["pool"].values() for u in ids} | set(inputs["excluded"])
            | {u for _, u in inputs["conflicts"]})


def test_a_public_bundle_names_no_undrawn_firm_and_verifies(rich_template: Rich) -> None:
    ledger = rich_template.ledger
    for task_id in (rich_template.first, rich_template.joint, rich_template.conflicted):
        full = ledger.bundle(task_id)
        raw = ledger.public_file(task_id).read_bytes()
        drawn = {u for ids in full["recorded"]["targets"].values() for u in ids}
        undrawn = _firms_named_by(full) - drawn
        assert len(undrawn) > 50 and drawn, task_id
        leaked = sorted(u for u in undrawn if u.encode() in raw)
        assert not leaked, (task_id, leaked[:3])
        assert full["inputs"]["salt_key"].encode() not in raw and b'"salt_key"' not in raw
        assert all(u.encode() in raw for u in drawn)
        public = json.loads(raw)
        assert set(public["revealed"]) == drawn
        done = verify(ledger.public_file(task_id))
        assert done.returncode == 0, done.stdout
        checks = [line.split(":")[0][6:] for line in done.stdout.splitlines() if line.startswith("ok    ")]
        assert checks[:3] == ["format", "inputs", "inputs digest"] and "run signature" in checks, done.stdout
        assert "salted commitments" in done.stdout
        # The same digest as the full bundle's: it covers the commitments, not the USCCs.
        assert public["commitment"]["inputs_digest"] == full["commitment"]["inputs_digest"]


def _first_target(b: Bundle) -> str:
    return next(u for k in "ABCD" for u in b["recorded"]["targets"][k])


def _swap_revealed_salt(b: Bundle) -> None:
    first, second = b["recorded"]["targets"]["A"][:2]
    b["revealed"][first], b["revealed"][second] = b["revealed"][second], b["revealed"][first]


PUBLIC_ALTERATIONS: dict[str, tuple[str, Callable[[Bundle], Any]]] = {
    "a pool commitment": ("inputs digest", lambda b: b["inputs"]["pool"]["B"].__setitem__(
        -1, "f" * 64)),
    "a commitment dropped": ("inputs digest", lambda b: b["inputs"]["pool"]["C"].pop()),
    "commitments out of order": ("inputs", lambda b: b["inputs"]["pool"]["A"].reverse()),
    "the salt key digest": ("inputs digest", lambda b: b["inputs"].__setitem__("salt_key_digest", "ab" * 32)),
    "a conflict's firm": ("inputs digest", lambda b: b["inputs"]["conflicts"][0].__setitem__(1, "cd" * 32)),
    "a revealed salt": ("targets", lambda b: b["revealed"].__setitem__(_first_target(b), "00" * 32)),
    "two revealed salts swapped": ("targets", _swap_revealed_salt),
    "a target not revealed": ("inputs", lambda b: b["revealed"].pop(_first_target(b))),
    "an extra firm revealed": ("inputs", lambda b: b["revealed"].__setitem__("91110108551385082Q", "00" * 32)),
    "the salt key added": ("inputs", lambda b: b["commitment"].__setitem__("salt_key", "00" * 32)),
    "a recorded target": ("targets", lambda b: b["recorded"]["targets"]["A"].reverse()),
}


@pytest.mark.parametrize("name", sorted(PUBLIC_ALTERATIONS))
def test_an_altered_public_bundle_is_rejected(rich_template: Rich, tmp_path: Path, name: str) -> None:
    check, change = PUBLIC_ALTERATIONS[name]
    bundle = json.loads(rich_template.ledger.public_file(rich_template.joint).read_bytes())
    change(bundle)
    done = verify(_write(tmp_path, bundle, "public"))
    assert rejected_by(done) == check, (name, done.stdout)


def test_a_firm_checks_its_absence_against_the_public_bundle(rich_template: Rich, tmp_path: Path) -> None:
    """A firm outside the pool gets its salt and adjacent commitments in every class; a member
    cannot pass the same proof off as its own, nor can a forged salt."""
    ledger, joint = rich_template.ledger, rich_template.joint
    public = ledger.public_file(joint)
    full = ledger.bundle(joint)
    outsider = full["inputs"]["excluded"][0]  # recently inspected: not in this pool
    absent = ledger.prove(joint, outsider)
    done = verify("--proof", absent, public)
    assert done.returncode == 0 and f"{outsider} is NOT in the pool" in done.stdout, done.stdout
    member = sorted(full["inputs"]["pool"]["B"])[3]
    present = verify("--proof", ledger.prove(joint, member), public)
    assert present.returncode == 0 and f"{member} IS in the pool: class B" in present.stdout, present.stdout
    # A member claims the outsider's absence proof: its commitment is not between those neighbours.
    mine = json.loads(ledger.prove(joint, member).read_text())
    forged = json.loads(absent.read_text())
    forged.update(uscc=member, salt=mine["salt"], commitment=mine["commitment"])
    done = verify("--proof", _write(tmp_path, forged, "member-claims-absence"), public)
    assert done.returncode == 1 and "does not sort" in done.stdout, done.stdout
    # A forged salt: the commitment shown is not the firm's.
    forged = json.loads(absent.read_text())
    forged["salt"] = "00" * 32
    done = verify("--proof", _write(tmp_path, forged, "forged-salt"), public)
    assert done.returncode == 1 and "commitment of" in done.stdout, done.stdout


def test_a_public_bundle_of_a_changed_draw_reveals_the_extension_and_verifies(changed: Changed) -> None:
    """补抽 targets are drawn firms: the public bundle reveals them (and no other undrawn firm)."""
    raw = changed.ledger.public_file(changed.task_id)
    public = json.loads(raw.read_bytes())
    extended = [u for c in public["changes"] if c["kind"] == "extend" for u in c["fields"]["targets"]]
    drawn = {u for ids in public["recorded"]["targets"].values() for u in ids}
    assert extended and set(public["revealed"]) == drawn | set(extended)
    done = verify(raw)
    assert done.returncode == 0, done.stdout
    b = copy.deepcopy(public)
    del b["revealed"][extended[0]]
    assert rejected_by(verify(_write(raw.parent, b, "no-extension-reveal"))) == "inputs"
