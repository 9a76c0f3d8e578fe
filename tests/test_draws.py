"""Draws end to end on both stores: refusals, joint tasks, replay, tampering."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.application import Refused
from ledger.draw.spec import Quota
from ledger.draw_service import commit_draw, read_secret, run_draw, void_draw
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.keys import Signer, read_key_file
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.draws import replay_draws
from ledger.verify.ledger_check import verify_ledger
from tests.draw_helpers import city_with_drawer, new_task, register
from tests.ledger_helpers import Raw

ROOT = Path(__file__).resolve().parents[1]


def draw(store: StoreConfig, task_id: str, drawer: Signer, beacon: str = "") -> object:
    path, _ = commit_draw(store, task_id, drawer, "drawer")
    return run_draw(store, task_id, read_secret(path), beacon, drawer, "drawer")


@pytest.fixture
def city(store: StoreConfig) -> tuple[StoreConfig, Signer]:
    return store, city_with_drawer(store)


def test_draw_replays_and_verifies(city: tuple[StoreConfig, Signer]) -> None:
    store, drawer = city
    new_task(store, "T1", load_cap=20)
    outcome = draw(store, "T1", drawer)
    assert sum(len(v) for v in outcome.targets.values()) > 0
    load: dict[str, int] = {}
    for team in outcome.teams:
        for badge in team.inspectors:
            load[badge] = load.get(badge, 0) + 1
    assert max(load.values()) <= 20
    for team in outcome.teams:
        assert len(team.inspectors) == 2 and len(set(team.inspectors)) == 2
    results, _ = replay_draws(store, "T1")
    assert [(r.task_id, r.ok) for r in results] == [("T1", True)]
    report = verify_ledger(store)
    assert report.ok and report.checks["draws_replayed"] == 1


def test_joint_task_teams_cover_every_department(city: tuple[StoreConfig, Signer]) -> None:
    store, drawer = city
    new_task(store, "J1", items=("XY-SCJG-003", "XY-WSJK-001"), departments=("XY-SCJG", "XY-WSJK"),
             quotas={"C": Quota(ratio="0.5")})
    outcome = draw(store, "J1", drawer)
    assert outcome.teams
    for team in outcome.teams:
        assert {badge.split("SCJG")[0] != badge for badge in team.inspectors} == {True, False}
    assert all(r.ok for r in replay_draws(store, "J1")[0])


def test_refusals_write_nothing(city: tuple[StoreConfig, Signer], tmp_path: Path) -> None:
    store, drawer = city
    new_task(store, "T1")

    def size() -> int:
        with open_reader(store) as reader:
            return reader.size()

    with pytest.raises(Refused, match="no commitment"):
        run_draw(store, "T1", "00" * 32, "", drawer, "drawer")
    path, commitment = commit_draw(store, "T1", drawer, "drawer", beacon_round="drand-quicknet-100")
    before = size()
    with pytest.raises(Refused, match="does not match the commitment"):
        run_draw(store, "T1", "11" * 32, "beacon", drawer, "drawer")
    with pytest.raises(Refused, match="beacon round drand-quicknet-100"):
        run_draw(store, "T1", read_secret(path), "", drawer, "drawer")
    stranger = Signer.generate()
    with pytest.raises(Refused, match="not the actor's key"):
        run_draw(store, "T1", read_secret(path), "b", stranger, "drawer")
    inspector = register(store, "JX-9", "inspector")
    before = size()
    with pytest.raises(Refused, match="lacks the role 'drawer'"):
        run_draw(store, "T1", read_secret(path), "b", inspector, "JX-9")
    assert size() == before
    run_draw(store, "T1", read_secret(path), "b", drawer, "drawer")
    with pytest.raises(Refused, match="already drawn"):
        run_draw(store, "T1", read_secret(path), "b", drawer, "drawer")
    with pytest.raises(Refused, match="already drawn"):
        commit_draw(store, "T1", drawer, "drawer", secret_out=tmp_path / "s")
    with pytest.raises(Refused, match="reason"):
        void_draw(store, "T1", "  ", drawer, "drawer")
    void_draw(store, "T1", "清单调整", drawer, "drawer")
    draw(store, "T1", drawer)  # a fresh commitment, a new draw
    results, _ = replay_draws(store, "T1")
    assert [(r.ok, r.voided) for r in results] == [(True, True), (True, False)]
    assert verify_ledger(store).ok


@pytest.mark.parametrize("changes, message", [
    (dict(window_start=__import__("datetime").date(2026, 6, 1)), "window ends"),
    (dict(inspectors_per_target=1), "at least two enforcement officers"),
    (dict(items=("NO-SUCH-ITEM",)), "not on the inspection item list"),
    (dict(items=("XY-WSJK-001",)), "not taking part"),
    (dict(items=("XY-SCJG-004",)), "not in plan"),
    (dict(departments=("XY-WSJK",), items=("XY-WSJK-001",)), "lead department"),
    (dict(departments=("XY-SCJG", "XY-JTYS"), items=("XY-SCJG-001", "XY-JTYS-001")), "not in plan"),
    (dict(quotas={"A": Quota(ratio="1.5")}), "between 0 and 1"),
    (dict(quotas={"A": Quota(ratio="0.1", count=3)}), "either a ratio or a count"),
    (dict(quotas={"E": Quota(count=1)}), "unknown risk class"),
    (dict(quotas={}), "at least one risk class"),
    (dict(task_id="bad id\n"), "task id"),
])
def test_invalid_task_parameters(city: tuple[StoreConfig, Signer], changes: dict, message: str) -> None:
    store, _ = city
    changes = dict(changes)
    with pytest.raises(Refused, match=message):
        new_task(store, str(changes.pop("task_id", "TX")), **changes)


def test_unmeetable_constraints_name_the_target(city: tuple[StoreConfig, Signer]) -> None:
    store, drawer = city
    new_task(store, "BIG", inspectors_per_target=30, quotas={"D": Quota(count=1)})
    with pytest.raises(Refused, match=r"target \w+: only \d+ qualified inspector"):
        draw(store, "BIG", drawer)
    new_task(store, "CAP", load_cap=1, quotas={"A": Quota(ratio="1")})
    with pytest.raises(Refused, match="qualified inspector"):
        draw(store, "CAP", drawer)


def test_recent_targets_are_excluded(city: tuple[StoreConfig, Signer]) -> None:
    store, drawer = city
    new_task(store, "FIRST", quotas={"D": Quota(ratio="0.5")})
    first = draw(store, "FIRST", drawer)
    new_task(store, "SECOND", quotas={"D": Quota(ratio="1")}, exclude_recent_days=90)
    second = draw(store, "SECOND", drawer)
    assert first.targets["D"] and not set(first.targets["D"]) & set(second.targets["D"])
    assert second.counts["D"] == first.counts["D"] - len(first.targets["D"])
    assert all(r.ok for r in replay_draws(store)[0])


def _rewrite_draw(store: StoreConfig, change) -> None:  # type: ignore[no-untyped-def]
    """A forger with the ledger key edits the recorded draw and re-signs the chain."""
    raw = Raw(store)
    try:
        with open_reader(store) as reader:
            seq = reader.events_with_topics(["ledger.domain.draws:Task.Drawn"])[-1].seq
        payload = json.loads(raw.event_at(seq)[4])
        change(payload)
        raw.set_event(seq, state=canonical_bytes(payload))
        raw.rechain(read_key_file(store.keys_dir / "ledger.pem", None))
    finally:
        raw.close()


@pytest.mark.parametrize("what, change", [
    ("a target", lambda p: p["targets"]["A"].__setitem__(0, p["targets"]["B"][0])),
    ("the seed", lambda p: p.__setitem__("seed", "0" * 64)),
    ("a count", lambda p: p["counts"].__setitem__("A", p["counts"]["A"] + 1)),
    ("the secret", lambda p: p.__setitem__("secret", "ab" * 32)),
    ("the pool position", lambda p: p.__setitem__("position", p["position"] - 1)),
    ("a team", lambda p: p["teams"][0]["inspectors"].reverse()),
    ("the excluded list", lambda p: p["excluded"].append(p["targets"]["B"][0])),
])
def test_replay_catches_an_altered_draw(city: tuple[StoreConfig, Signer], what: str, change) -> None:  # type: ignore[no-untyped-def]
    store, drawer = city
    new_task(store, "T1")
    draw(store, "T1", drawer)
    _rewrite_draw(store, change)
    results, _ = replay_draws(store, "T1")
    assert not results[0].ok, what
    report = verify_ledger(store)
    assert not report.ok and any("T1" in p.what or "signed" in p.what for p in report.problems)


def test_draw_while_the_pool_changes(city: tuple[StoreConfig, Signer]) -> None:
    """Imports running in another process while draws are taken: every draw replays."""
    store, drawer = city
    for i in range(3):
        new_task(store, f"C{i}", quotas={"A": Quota(ratio="0.05"), "C": Quota(ratio="0.3")})
    script = (
        "import sys, random\n"
        "from ledger.directory_service import import_file\n"
        "from ledger.store.config import resolve_store\n"
        "from ledger.projections.pools import query_entities\n"
        "from ledger.domain.filters import EntityFilter\n"
        "from ledger.projections.runner import writable_connection, catch_up\n"
        "from ledger.projections import all_projections\n"
        "cfg = resolve_store(sys.argv[1] if sys.argv[1] != '-' else None, sys.argv[2])\n"
        "catch_up(cfg, all_projections())\n"
        "with writable_connection(cfg) as (c, d, _):\n"
        "    usccs = [e.uscc for e in query_entities(c, d, EntityFilter())]\n"
        "rng = random.Random(1)\n"
        "for round in range(6):\n"
        "    rows = ''.join(f'{u},{rng.choice(\"ABCD\")}\\n' for u in usccs)\n"
        "    s = import_file(cfg, 'reclassifications', ('uscc,risk_class\\n' + rows).encode())\n"
        "    assert not s.errors, s.errors\n"
    )
    url = "-" if store.kind == "sqlite" else store.display
    process = subprocess.Popen([sys.executable, "-c", script, url, str(store.home)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for i in range(3):
        draw(store, f"C{i}", drawer)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    results, _ = replay_draws(store)
    assert len(results) == 3 and all(r.ok for r in results), [r.differences for r in results]
    assert verify_ledger(store).ok


def test_export_and_prove(city: tuple[StoreConfig, Signer]) -> None:
    from ledger.draw_bundle import export_bundle, prove_membership
    from ledger.integrity.merkle import leaf_hash, verify_inclusion

    store, drawer = city
    new_task(store, "T1")
    outcome = draw(store, "T1", drawer)
    bundle = json.loads(export_bundle(store, "T1"))
    assert bundle["recorded"]["seed"] == outcome.seed and bundle["inputs"]["task_id"] == "T1"
    member = outcome.targets["C"][0]
    proof = json.loads(prove_membership(store, "T1", member))
    assert proof["in_pool"] and proof["risk_class"] == "C"
    m = proof["membership"]
    verify_inclusion(leaf_hash(member.encode()), m["leafIndex"], m["treeSize"],
                     [base64.b64decode(p) for p in m["proof"]], bytes.fromhex(outcome.pool_roots["C"]))
    absent = json.loads(prove_membership(store, "T1", "91110108551385082Q"))
    assert not absent["in_pool"] and len(absent["absence"]) == 4
