"""Draws end to end on both stores: refusals, joint tasks, replay, tampering."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.application import Refused
from ledger.demo import generate_city
from ledger.draw_bundle import export_bundle
from ledger.draw.spec import Quota
from ledger.draw_service import commit_draw, read_secret, run_draw, void_draw
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.keys import Signer, read_key_file, write_key_file
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.draws import replay_draws
from ledger.verify.ledger_check import verify_ledger
from tests.draw_helpers import DEMO_SEED, city_with_drawer, new_task, register
from tests.ledger_helpers import Raw
from tests.workers import Worker, store_args

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

    def refused(match: str, action: Callable[[], object]) -> None:
        """Refused with `match`, and not one event written."""
        before, secrets = size(), sorted((store.home / "secrets").glob("*"))
        with pytest.raises(Refused, match=match):
            action()
        assert size() == before, f"the refusal {match!r} wrote {size() - before} event(s)"
        assert sorted((store.home / "secrets").glob("*")) == secrets, f"the refusal {match!r} kept a secret"

    refused("no commitment", lambda: run_draw(store, "T1", "00" * 32, "", drawer, "drawer"))
    path, commitment = commit_draw(store, "T1", drawer, "drawer", beacon_round="drand-quicknet-100")
    secret = read_secret(path)
    refused("does not match the commitment", lambda: run_draw(store, "T1", "11" * 32, "beacon", drawer, "drawer"))
    refused("beacon round drand-quicknet-100", lambda: run_draw(store, "T1", secret, "", drawer, "drawer"))
    refused("not the actor's key", lambda: run_draw(store, "T1", secret, "b", Signer.generate(), "drawer"))
    inspector = register(store, "JX-9", "inspector")
    refused("lacks the role 'drawer'", lambda: run_draw(store, "T1", secret, "b", inspector, "JX-9"))
    refused("already has a commitment", lambda: commit_draw(store, "T1", drawer, "drawer"))
    run_draw(store, "T1", secret, "b", drawer, "drawer")
    refused("already drawn", lambda: run_draw(store, "T1", secret, "b", drawer, "drawer"))
    refused("already drawn", lambda: commit_draw(store, "T1", drawer, "drawer", secret_out=tmp_path / "s"))
    assert not (tmp_path / "s").exists()
    refused("reason", lambda: void_draw(store, "T1", "  ", drawer, "drawer"))
    refused("lacks the role 'drawer'", lambda: void_draw(store, "T1", "清单调整", inspector, "JX-9"))
    void_draw(store, "T1", "清单调整", drawer, "drawer")
    refused("no standing draw", lambda: void_draw(store, "T1", "again", drawer, "drawer"))
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


def test_draw_while_another_process_reclassifies_the_pool(city: tuple[StoreConfig, Signer], tmp_path: Path) -> None:
    """A draw fixes its pool position while another process's reclassification
    is written but not committed; the reclassification then commits before the
    draw reads the pool. The draw must use the pool as of its position (every
    firm in its old class), record that position, land after the
    reclassification, and replay."""
    store, drawer = city
    firms = generate_city(DEMO_SEED, small=True).entities  # what the city fixture imported
    old = {e.uscc: e.risk_class for e in firms}
    new = {uscc: "BCDA"["ABCD".index(k)] for uscc, k in old.items()}  # every firm moves to another class
    active = [e.uscc for e in firms if e.status == "active"]  # the task's pool: no filter but the status
    reclassification = tmp_path / "reclassify.csv"
    reclassification.write_text("uscc,risk_class\n" + "".join(f"{u},{k}\n" for u, k in new.items()))
    quotas = {"A": Quota(ratio="0.05"), "B": Quota(ratio="0.05"), "C": Quota(ratio="0.3"), "D": Quota(count=2)}
    new_task(store, "OV", quotas=quotas)
    secret_file, _ = commit_draw(store, "OV", drawer, "drawer")
    key_file = tmp_path / "drawer.pem"
    write_key_file(key_file, drawer, None)
    with open_reader(store) as reader:
        before = reader.size()

    with Worker("tests.draw_worker", "reclassify", *store_args(store), str(reclassification)) as reclassifier:
        first_seq, written = map(int, reclassifier.expect("inside"))
        assert first_seq == before + 1 and written == len(new) + 1  # every firm, and the import record
        with Worker("tests.draw_worker", "draw", *store_args(store), "OV", str(secret_file), str(key_file),
                    "drawer") as drawing:
            # The draw fixes its position while the reclassification is open: it cannot see it.
            assert drawing.expect("position") == [str(before)]
            reclassifier.send("commit")
            assert reclassifier.expect("imported") == [str(len(new))]
            reclassifier.finish()
            # Committed now, before the draw reads the pool and catches its read models up.
            drawing.send("gather")
            drawing.expect("drawn")
            drawing.finish()

    with open_reader(store) as reader:
        assert reader.size() == before + written + 1
        drawn = reader.events_with_topics(["ledger.domain.draws:Task.Drawn"])[-1]
    assert drawn.seq == before + written + 1  # saved after the reclassification
    bundle = json.loads(export_bundle(store, "OV"))
    assert bundle["inputs"]["position"] == before
    # What the draw used: every class as it stood before the reclassification.
    recorded = bundle["recorded"]
    assert recorded["counts"] == {k: sum(old[u] == k for u in active) for k in "ABCD"}
    assert all(recorded["targets"][k] for k in "ABCD")
    seen = {u: k for k, ids in recorded["targets"].items() for u in ids if old[u] != k}
    assert not seen, f"the draw took firms in classes set after its position: {seen}"
    results, _ = replay_draws(store, "OV")
    assert [r.ok for r in results] == [True], [r.differences for r in results]
    # A draw taken now sees every firm in its new class.
    new_task(store, "AFTER", quotas=quotas)
    after = draw(store, "AFTER", drawer)
    assert after.counts == {k: sum(new[u] == k for u in active) for k in "ABCD"}
    assert all(new[u] == k for k, ids in after.targets.items() for u in ids)
    report = verify_ledger(store)
    assert report.ok and report.checks["draws_replayed"] == 2, report.problems


def test_export_and_prove(city: tuple[StoreConfig, Signer]) -> None:
    from ledger.draw_bundle import prove_membership
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
