"""Draws end to end on both stores: refusals, jurisdiction, joint tasks, replay, tampering."""

from __future__ import annotations

import base64
import json
import queue
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.utils import get_topic

from ledger.demo import generate_city
from ledger.demo.beacon import DEMO_BEACON
from ledger.domain.draws import PlanBody, Task
from ledger.draw.spec import Quota
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.keys import Signer, read_key_file, write_key_file
from ledger.services.bundles import export_bundle, prove_membership
from ledger.services.ledger import CommandRefused
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.draws import replay_draws
from ledger.verify.ledger_check import verify_ledger
from tests import draw_helpers as h
from tests.draw_helpers import (
    DEMO_SEED,
    city_with_drawer,
    commit,
    committed_rounds,
    draw,
    new_task,
    next_round,
    run,
    signature,
    void,
)
from tests.ledger_helpers import Raw, TestLedger
from tests.workers import Worker, store_args

DRAWN = get_topic(Task.Drawn)
COMMITTED = get_topic(Task.Committed)
REFUSAL_TOPICS = {"drledger/refusals/Opened", "drledger/refusals/Refused", "drledger/refusals/Suppressed"}


@pytest.fixture(autouse=True)
def drawer_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The drawers' key folder (DRLEDGER_KEYS), never under HOME."""
    folder = tmp_path / "drawer-keys"
    monkeypatch.setenv("DRLEDGER_KEYS", str(folder))
    return folder


@pytest.fixture
def city(store: StoreConfig) -> TestLedger:
    return city_with_drawer(store)


def size(store: StoreConfig) -> int:
    with open_reader(store) as reader:
        return reader.size()


def test_draw_replays_and_verifies(city: TestLedger) -> None:
    store = city.store
    new_task(city, "T1", load_cap=20)
    committed = commit(city, "T1")
    new_task(city, "T2")  # anything written between the commitment and the run
    outcome = run(city, "T1")
    assert sum(len(v) for v in outcome.targets.values()) > 0
    # The inputs are frozen at the head right before the commitment's transaction, which opens with its command.
    assert outcome.position == committed.first - 1 and outcome.drawn_at > committed.last + 1
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
    assert report.ok and report.checks["draws_replayed"] == 1, report.problems


def test_joint_task_teams_cover_every_department(city: TestLedger) -> None:
    new_task(city, "J1", items=("XY-SCJG-003", "XY-WSJK-001"), departments=("XY-SCJG", "XY-WSJK"),
             quotas={"C": Quota(ratio="0.5")})
    outcome = draw(city, "J1")
    assert outcome.teams
    for team in outcome.teams:
        assert {badge.split("SCJG")[0] != badge for badge in team.inspectors} == {True, False}
    assert all(r.ok for r in replay_draws(city.store, "J1")[0])


def refusal_checker(store: StoreConfig) -> Callable[..., CommandRefused]:
    def refused(code: str, match: str, action: Callable[[], object]) -> CommandRefused:
        """Refused with `code` and `match`; nothing written but the refusal record."""
        before = size(store)
        with pytest.raises(CommandRefused, match=match) as caught:
            action()
        assert caught.value.code == code, caught.value
        after = size(store)
        with open_reader(store) as reader:
            topics = [row.topic for row in reader.rows(before + 1, after)]
        assert topics and set(topics) <= REFUSAL_TOPICS, f"the refusal {code!r} wrote {topics}"
        receipt = caught.value.receipt
        assert receipt is not None and (receipt.outcome, receipt.code) == ("refused", code)
        assert (receipt.first, receipt.last) == (before + 1, after)
        return caught.value

    return refused


def test_refusals_write_nothing_but_their_record(city: TestLedger) -> None:
    store = city.store
    refused = refusal_checker(store)
    new_task(city, "T1")

    refused("not_committed", "no commitment", lambda: run(city, "T1", [signature(next_round())]))
    refused("unknown_beacon", "not pinned", lambda: commit(city, "T1", network="quicknet"))
    refused("beacon_round_not_future", "not after the commitment", lambda: commit(city, "T1", rounds=(1000,)))
    refused("invalid", "each beacon network once", lambda: commit(city, "T1", rounds=(next_round(), next_round(9))))
    commit(city, "T1")
    [named] = committed_rounds(city, "T1")
    refused("already_committed", "already has a commitment", lambda: commit(city, "T1"))
    refused("beacon_invalid", f"round {named}", lambda: run(city, "T1", [signature(named + 1)]))
    refused("beacon_invalid", "bad_signature_encoding", lambda: run(city, "T1", ["00" * 48]))
    refused("invalid", "1 beacon round", lambda: run(city, "T1", [signature(named)] * 2))
    refused("bad_signature", "not the actor's key", lambda: run(city, "T1", signer=Signer.generate()))
    city.register("JX-9", "inspector", department="XY-SCJG")
    refused("missing_role", "lacks the role drawer", lambda: run(city, "T1", actor="JX-9"))
    run(city, "T1")
    refused("already_drawn", "already drawn", lambda: run(city, "T1", [signature(named)]))
    refused("already_drawn", "already drawn", lambda: commit(city, "T1"))
    refused("invalid", "reason", lambda: void(city, "T1", "  "))
    refused("missing_role", "lacks the role drawer", lambda: void(city, "T1", "清单调整", actor="JX-9"))
    void(city, "T1", "清单调整")
    refused("not_drawn", "no standing draw", lambda: void(city, "T1", "again"))
    commit(city, "T1")
    void(city, "T1", "a commitment voided before its round is published")  # nobody knows its outcome yet
    draw(city, "T1")  # a fresh commitment, a new draw
    results, _ = replay_draws(store, "T1")
    assert [(r.ok, r.voided) for r in results] == [(True, True), (True, False)]
    report = verify_ledger(store)  # every refusal is re-checked: the rules refuse each with its code
    assert report.ok and report.checks["refusals_rechecked"] == 15, report.problems


def test_once_the_round_is_published_the_outcome_stands(city: TestLedger) -> None:
    """A drawer who dislikes the computable outcome cannot void the commitment alone."""
    refused = refusal_checker(city.store)
    new_task(city, "T1")
    commit(city, "T1")
    [named] = committed_rounds(city, "T1")
    later = datetime.fromtimestamp(DEMO_BEACON.network.published_at(named), UTC) + timedelta(seconds=1)
    with city.service(clock=lambda: later) as service:
        signed = city.sign("drawer", "draw.void", {"task_id": "T1", "reason": "不喜欢这个结果"}, issued_at=later)
        with pytest.raises(CommandRefused) as caught:
            service.submit(signed)
    assert caught.value.code == "needs_approval" and "published" in caught.value.message
    outcome = run(city, "T1")  # the run is still possible, and its outcome is the one fixed at publication
    assert outcome.teams
    _record_a_result(city, outcome)
    refused("needs_approval", "results rest on this draw", lambda: void(city, "T1", "结果已录入后作废"))
    assert verify_ledger(city.store).ok


def _record_a_result(city: TestLedger, outcome: Any, target: str | None = None) -> None:
    """An assigned inspector of the team of `target` (default: the first) records a result."""
    from ledger.domain.results import RecordBody
    from ledger.services.results import sign_record

    team = next(t for t in outcome.teams if target in (None, t.target))
    badge = team.inspectors[0]
    signer = city.keys.get(badge) or city.register(badge, "inspector", department="XY-SCJG")
    body = RecordBody(task_id=outcome.task_id, uscc=team.target, category="no_issue", findings="未发现问题",
                      methods=("onsite",), items=h.SCJG_ITEMS[:1], inspected_on=h.task_body("x").window_start)
    with city.service() as service:
        service.submit(sign_record(signer, badge, body))


def test_a_planner_or_drawer_of_another_department_is_refused(city: TestLedger) -> None:
    """Jurisdiction: a planner or drawer acts for its own department (and those below it) only."""
    refused = refusal_checker(city.store)
    city.register("planner-wsjk", "planner", department="XY-WSJK")
    city.register("drawer-wsjk", "drawer", department="XY-WSJK")
    city.register("drawer-scjg", "drawer", department="XY-SCJG")

    def plan_for(department: str, actor: str) -> None:
        with city.service() as service:
            h.draws.create_plan(service, city.keys[actor], actor, PlanBody(
                plan_id=f"P-{actor}", title="plan", department=department, year=2026, items=("XY-SCJG-001",)))

    refused("out_of_jurisdiction", "may not act for department XY-SCJG", lambda: plan_for("XY-SCJG", "planner-wsjk"))
    refused("out_of_jurisdiction", "may not act for department XY-SCJG",
            lambda: new_task(city, "T-W", actor="planner-wsjk"))
    new_task(city, "T1")
    refused("out_of_jurisdiction", "may not act for department XY-SCJG", lambda: commit(city, "T1", actor="drawer-wsjk"))
    outcome = draw(city, "T1", actor="drawer-scjg")  # the lead department's own drawer may
    assert outcome.teams
    refused("out_of_jurisdiction", "may not act for department XY-SCJG",
            lambda: void(city, "T1", "not mine", actor="drawer-wsjk"))
    assert verify_ledger(city.store).ok


def test_only_a_drawer_commits_runs_or_voids_and_only_a_planner_plans(city: TestLedger) -> None:
    refused = refusal_checker(city.store)
    new_task(city, "T1")
    refused("missing_role", "lacks the role drawer", lambda: commit(city, "T1", actor="planner"))
    refused("missing_role", "lacks the role planner", lambda: new_task(city, "T2", actor="drawer"))
    commit(city, "T1")
    refused("missing_role", "lacks the role drawer", lambda: run(city, "T1", actor="planner"))
    draw_record = run(city, "T1")
    assert draw_record.task_id == "T1"
    refused("missing_role", "lacks the role drawer", lambda: void(city, "T1", "no", actor="admin"))
    assert verify_ledger(city.store).ok


@pytest.mark.parametrize("changes, code, message", [
    (dict(window_start=__import__("datetime").date(2026, 6, 1)), "invalid", "window ends"),
    (dict(inspectors_per_target=1), "invalid", "at least two enforcement officers"),
    (dict(items=("NO-SUCH-ITEM",)), "item_not_listed", "not on the inspection item list"),
    (dict(items=("XY-WSJK-001",)), "invalid", "not taking part"),
    (dict(items=("XY-SCJG-004",)), "invalid", "not in plan"),
    (dict(departments=("XY-WSJK",), items=("XY-WSJK-001",)), "invalid", "lead department"),
    (dict(departments=("XY-SCJG", "XY-JTYS"), items=("XY-SCJG-001", "XY-JTYS-001")), "invalid", "not in plan"),
    (dict(plan_id="P-NONE"), "unknown_reference", "unknown plan"),
    (dict(quotas={"A": Quota(ratio="1.5")}), "invalid", "between 0 and 1"),
    (dict(quotas={"A": Quota(ratio="0.1", count=3)}), "invalid", "either a ratio or a count"),
    (dict(quotas={"E": Quota(count=1)}), "invalid", "unknown risk class"),
    (dict(quotas={}), "invalid", "at least one risk class"),
    (dict(task_id="bad id\n"), "invalid", "task id"),
])
def test_invalid_task_parameters(city: TestLedger, changes: dict, code: str, message: str) -> None:
    changes = dict(changes)
    task_id = str(changes.pop("task_id", "TX"))
    refusal_checker(city.store)(code, message, lambda: new_task(city, task_id, **changes))


def test_unmeetable_constraints_are_refused_at_the_commitment(city: TestLedger) -> None:
    """What no beacon output can fix is refused before any round is named: then voiding a
    commitment whose round is published (which needs approval) is never the way out."""
    refused = refusal_checker(city.store)
    new_task(city, "BIG", inspectors_per_target=30, quotas={"D": Quota(count=1)})
    refused("draw_impossible", r"drawable officer\(s\) .*; a team needs 30", lambda: commit(city, "BIG"))
    new_task(city, "CAP", load_cap=1, quotas={"A": Quota(ratio="1")})
    refused("draw_impossible", r"under the load cap 1", lambda: commit(city, "CAP"))
    new_task(city, "EXP", experts_per_target=50, quotas={"D": Quota(count=1)})
    refused("draw_impossible", r"expert\(s\); 50 needed", lambda: commit(city, "EXP"))
    report = verify_ledger(city.store)  # the refusals re-checked on inputs rebuilt from events
    assert report.ok and report.checks["refusals_rechecked"] == 3, report.problems


def test_recent_targets_are_excluded(city: TestLedger) -> None:
    new_task(city, "FIRST", quotas={"D": Quota(ratio="0.5")})
    first = draw(city, "FIRST")
    new_task(city, "SECOND", quotas={"D": Quota(ratio="1")}, exclude_recent_days=90)
    second = draw(city, "SECOND")
    assert first.targets["D"] and not set(first.targets["D"]) & set(second.targets["D"])
    assert second.counts["D"] == first.counts["D"] - len(first.targets["D"])
    assert all(r.ok for r in replay_draws(city.store)[0])
    assert verify_ledger(city.store).ok


def _drawn_seq(store: StoreConfig, topic: str = DRAWN) -> int:
    with open_reader(store) as reader:
        return reader.events_with_topics([topic])[-1].seq


def _rewrite_draw(store: StoreConfig, change: Callable[[dict[str, Any]], Any], topic: str = DRAWN) -> int:
    """An insider with the ledger key edits the recorded draw (or its commitment) and re-signs the chain."""
    seq = _drawn_seq(store, topic)
    raw = Raw(store)
    try:
        payload = json.loads(raw.event_at(seq)[4])
        change(payload)
        raw.set_event(seq, state=canonical_bytes(payload))
        raw.rechain(read_key_file(store.keys_dir / "ledger.pem", None))
    finally:
        raw.close()
    return seq


def _flip_last(hex_text: str) -> str:
    return hex_text[:-1] + format(int(hex_text[-1], 16) ^ 1, "x")


def _bump_round(p: dict[str, Any]) -> None:
    p["beacons"][0]["round"] += 1


@pytest.mark.parametrize("what, topic, change", [
    ("a target", DRAWN, lambda p: p["targets"]["A"].__setitem__(0, p["targets"]["B"][0])),
    ("the seed", DRAWN, lambda p: p.__setitem__("seed", "0" * 64)),
    ("a team", DRAWN, lambda p: p["teams"][0]["inspectors"].reverse()),
    ("the inputs position", DRAWN, lambda p: p.__setitem__("position", p["position"] - 1)),
    ("the beacon randomness", DRAWN, lambda p: p["beacons"][0].__setitem__("randomness", "ab" * 32)),
    ("the beacon round", DRAWN, _bump_round),
    ("the beacon signature", DRAWN, lambda p: p["signatures"].__setitem__(0, _flip_last(p["signatures"][0]))),
    ("the inputs digest", DRAWN, lambda p: p.__setitem__("inputs_digest", "0" * 64)),
    ("a committed count", COMMITTED, lambda p: p["counts"].__setitem__("A", p["counts"]["A"] + 1)),
    ("a committed pool root", COMMITTED, lambda p: p["pool_roots"].__setitem__("B", "0" * 64)),
    ("the committed inputs digest", COMMITTED, lambda p: p.__setitem__("inputs_digest", "0" * 64)),
    ("the committed round", COMMITTED, _bump_round),
    ("the committed position", COMMITTED, lambda p: p.__setitem__("position", p["position"] - 1)),
    ("the committed cooling-off", COMMITTED, lambda p: p.__setitem__("cooling_off_days", 0 if p["cooling_off_days"] else 7)),
    ("the committed salt key", COMMITTED, lambda p: p.__setitem__("salt_key", _flip_last(p["salt_key"]))),
    ("the committed salt key, malformed", COMMITTED, lambda p: p.__setitem__("salt_key", p["salt_key"].upper())),
])
def test_replay_and_verify_catch_an_altered_draw(city: TestLedger, what: str, topic: str, change: Any) -> None:
    new_task(city, "T1")
    draw(city, "T1")
    seq = _rewrite_draw(city.store, change, topic)
    if topic == DRAWN:
        results, _ = replay_draws(city.store, "T1")
        assert not results[0].ok, what
    report = verify_ledger(city.store)
    assert not report.ok, what
    name = "draw.run" if topic == DRAWN else "draw.commit"
    assert report.problems[0].position == seq and name in report.problems[0].what, report.problems


def test_changes_after_the_commitment_leave_the_outcome_unchanged(city: TestLedger) -> None:
    """Grinding through the directory: after the commitment, a drawn firm is reclassified out of its
    class, a drawn officer declares a conflict with its target and a new officer is registered. The
    draw is the one computed from the inputs frozen at the commitment."""
    from ledger.domain.rows import ConflictRow, InspectorRow, ReclassRow
    from ledger.draw.spec import BeaconOutput, compute
    from ledger.services.draws import gather_inputs

    new_task(city, "T1", quotas={"C": Quota(ratio="0.2"), "D": Quota(count=3)})
    committed = commit(city, "T1")
    [named] = committed_rounds(city, "T1")
    with city.service() as service:
        task = service.processor.app.find(Task.create_id("T1"))
        frozen = gather_inputs(city.store, task, task.commitment.position, task.commitment.committed_at,
                               task.commitment.cooling_off_days, task.commitment.salt_key)
    output = BeaconOutput(network=DEMO_BEACON.network.beacon_id, chain_hash=DEMO_BEACON.network.chain_hash.hex(),
                          round=named, randomness=DEMO_BEACON.randomness_for(named).hex())
    expected = compute(frozen, [output])
    target, team = expected.teams[0].target, expected.teams[0].inspectors
    city.import_rows("admin", "reclassifications", [ReclassRow(uscc=target, risk_class="A")])
    city.import_rows("admin", "conflicts", [ConflictRow(badge=team[0], uscc=target, reason="亲属关系")])
    model = next(i for i in generate_city(DEMO_SEED, small=True).inspectors if i.badge == team[0])
    city.import_rows("admin", "inspectors", [InspectorRow(**{**msgspec_asdict(model), "badge": model.badge[:-4] + "9999"})])
    outcome = run(city, "T1")
    assert outcome.position == committed.first - 1
    assert (outcome.targets, outcome.teams, outcome.seed) == (expected.targets, expected.teams, expected.seed)
    assert verify_ledger(city.store).ok


def msgspec_asdict(row: Any) -> dict[str, Any]:
    import msgspec

    return msgspec.structs.asdict(row)


def test_a_new_inspector_is_drawn_only_after_the_cooling_off(city: TestLedger) -> None:
    """With a draw cooling-off of 7 days, an officer registered now is left out of a draw committed
    now, and drawn in one committed 8 days later (recorded times move on; nothing is back-dated)."""
    import msgspec

    from ledger.domain.settings import GovernanceSettings

    city.submit("admin", "settings.governance", msgspec.to_builtins(GovernanceSettings(draw_cooling_off_days=7)))
    new_task(city, "NOW", quotas={"D": Quota(count=3)})
    refusal_checker(city.store)("draw_impossible", r"0 drawable officer\(s\) .*in force for 7 day",
                                lambda: commit(city, "NOW"))
    later = datetime.now(UTC) + timedelta(days=8)
    network = DEMO_BEACON.network
    named = network.round_at(int(later.timestamp()) + 6)
    new_task(city, "LATER", quotas={"D": Quota(count=3)})
    with city.service(clock=lambda: later) as service:
        service.submit(city.sign("drawer", "draw.commit", {
            "task_id": "LATER", "beacons": [{"network": network.beacon_id, "round": named}]}, issued_at=later),
            attachment_source=h.draws.draw_inputs_source(service))
        service.submit(city.sign("drawer", "draw.run", {"task_id": "LATER", "signatures": [signature(named)]},
                                 issued_at=later), attachment_source=h.draws.draw_inputs_source(service))
    results, kept = replay_draws(city.store, "LATER", keep_inputs=True)
    assert results[-1].ok and results[-1].targets == 3
    assert verify_ledger(city.store).ok


def _append_event(store: StoreConfig, originator_id: Any, version: int, topic: str, state: bytes) -> int:
    """An insider appends one event as its own transaction, then re-chains and re-signs
    everything with the ledger key (HOME/keys/ledger.pem); the event's position."""
    raw = Raw(store)
    try:
        position = int(raw.sql(f"SELECT MAX(seq) FROM {raw.chain}")[0][0]) + 1
        insert = (f"INSERT INTO {raw.events} (originator_id, originator_version, topic, state)"
                  " VALUES (?, ?, ?, ?)")
        if store.kind == "sqlite":
            raw.sql(insert, originator_id, version, topic, state)
            notification_id = raw.sql("SELECT last_insert_rowid()")[0][0]
        else:
            notification_id = raw.sql(insert + " RETURNING notification_id", originator_id, version, topic, state)[0][0]
        raw.sql(f"INSERT INTO {raw.chain} (seq, notification_id, hash) VALUES (?, ?, ?)",
                position, notification_id, bytes(32))
        raw.sql(f"INSERT INTO {raw.txs} (last_seq, first_seq, key_id, signed_at_us, signature) VALUES (?, ?, ?, ?, ?)",
                position, position, "forged", time.time_ns() // 1000, bytes(64))
        raw.rechain(read_key_file(store.keys_dir / "ledger.pem", None))
    finally:
        raw.close()
    return position


def test_a_draw_event_appended_by_an_insider_with_the_ledger_key_fails_verify(city: TestLedger) -> None:
    """A forged second draw of a task: chained, in the tree, signed with the ledger key, but no drawer's command."""
    store = city.store
    new_task(city, "T1")
    draw(city, "T1")
    seq = _drawn_seq(store)
    raw = Raw(store)
    try:
        _, originator_id, version, topic, state = raw.event_at(seq)
    finally:
        raw.close()
    forged = json.loads(state)
    forged["targets"]["A"], forged["targets"]["B"] = forged["targets"]["B"], forged["targets"]["A"]
    position = _append_event(store, originator_id, version + 1, topic, canonical_bytes(forged))
    report = verify_ledger(store)
    assert not report.ok
    assert report.problems[0].position == position, report.problems
    assert "without a command" in report.problems[0].what, report.problems


def _assert_quiet(worker: Worker, seconds: float) -> None:
    try:
        line = worker._lines.get(timeout=seconds)
    except queue.Empty:
        return
    raise AssertionError(f"the worker went on while it should wait: {line!r}")


def test_a_draw_waits_for_a_reclassification_in_progress(city: TestLedger, tmp_path: Path) -> None:
    """Another process's reclassification is written but not committed (inside its append
    transaction, holding the writer lock) when a commitment is submitted. The commitment must
    not fix its position while the reclassification is open: it waits, then freezes the pool
    at the head after it (every firm in its new class); the draw then replays."""
    store = city.store
    old = {e.uscc: e.risk_class for e in generate_city(DEMO_SEED, small=True).entities}
    new = {uscc: "BCDA"["ABCD".index(k)] for uscc, k in old.items()}  # every firm moves to another class
    reclassification = tmp_path / "reclassify.csv"
    reclassification.write_text("uscc,risk_class\n" + "".join(f"{u},{k}\n" for u, k in new.items()))
    quotas = {"A": Quota(ratio="0.05"), "B": Quota(ratio="0.05"), "C": Quota(ratio="0.3"), "D": Quota(count=2)}
    new_task(city, "OV", quotas=quotas)
    named = next_round(30)
    keys = {}
    for actor in ("admin", "drawer"):
        keys[actor] = tmp_path / f"{actor}.pem"
        write_key_file(keys[actor], city.keys[actor], None)
    before = size(store)

    with Worker("tests.draw_worker", "reclassify", *store_args(store), str(reclassification), str(keys["admin"]),
                "admin") as reclassifier:
        first_seq, written = map(int, reclassifier.expect("inside"))
        assert first_seq == before + 1 and written >= len(new) + 1  # its command, every firm, the import record
        with Worker("tests.draw_worker", "commit", *store_args(store), "OV", str(named), str(keys["drawer"]),
                    "drawer") as drawing:
            drawing.expect("submitting")
            _assert_quiet(drawing, 3)  # no position while the reclassification is open
            reclassifier.send("commit")
            assert reclassifier.expect("imported") == [str(written)]
            reclassifier.finish()
            # Committed now: the draw gets the writer lock and fixes its position after it.
            assert drawing.expect("position") == [str(before + written)]
            drawing.send("gather")
            assert drawing.expect("committed") == [str(before + written + 1)]
            drawing.finish()

    assert size(store) == before + written + 2  # the commitment's command and its Committed event
    outcome = run(city, "OV")
    assert outcome.position == before + written
    bundle = json.loads(export_bundle(store, "OV"))
    assert bundle["inputs"]["position"] == before + written
    pool = bundle["inputs"]["pool"]
    assert all(pool[k] for k in "ABCD")
    stale = {u: (k, new[u]) for k, ids in pool.items() for u in ids if new[u] != k}
    assert not stale, f"the draw missed the reclassification before its position: {list(stale.items())[:3]}"
    results, _ = replay_draws(store, "OV")
    assert [r.ok for r in results] == [True], [r.differences for r in results]
    report = verify_ledger(store)
    assert report.ok and report.checks["draws_replayed"] == 1, report.problems


def test_export_and_prove(city: TestLedger) -> None:
    from ledger.draw.spec import firm_commitment
    from ledger.integrity.merkle import leaf_hash, verify_inclusion

    store = city.store
    new_task(city, "T1")
    outcome = draw(city, "T1")
    bundle = json.loads(export_bundle(store, "T1"))
    assert bundle["recorded"]["seed"] == outcome.seed and bundle["inputs"]["task_id"] == "T1"
    assert bundle["recorded"]["event_position"] == outcome.drawn_at
    # The drawer's command exactly as signed and stored: this task's draw with the committed round's signature.
    command = json.loads(base64.b64decode(bundle["drawer"]["signed"]["command"]))
    assert (command["actor"], command["name"]) == ("drawer", "draw.run")
    assert command["body"] == {"signatures": bundle["recorded"]["signatures"], "task_id": "T1"}
    assert bundle["drawer"]["signed"]["key_id"] == city.keys["drawer"].key_id
    member = outcome.targets["C"][0]
    proof = json.loads(prove_membership(store, "T1", member))
    assert proof["in_pool"] and proof["risk_class"] == "C"
    m = proof["membership"]
    commitment = firm_commitment(bytes.fromhex(proof["salt"]), member)
    assert m["id"] == commitment == proof["commitment"]  # the leaf is the firm's salted commitment
    verify_inclusion(leaf_hash(commitment.encode()), m["leafIndex"], m["treeSize"],
                     [base64.b64decode(p) for p in m["proof"]], bytes.fromhex(outcome.pool_roots["C"]))
    absent = json.loads(prove_membership(store, "T1", "91110108551385082Q"))
    assert not absent["in_pool"] and len(absent["absence"]) == 4


def test_cli_draw_signed_by_the_drawers_own_key(city: TestLedger, drawer_keys: Path) -> None:
    """`drledger task/draw` sign with the acting actor's key from its key folder."""
    from tests.cli_helpers import assert_clear_failure
    from tests.cli_helpers import run as drledger

    store = city.store
    for actor in ("planner", "drawer", "admin"):
        write_key_file(drawer_keys / f"{actor}.pem", city.keys[actor], None)
    env = {"DRLEDGER_KEYS": str(drawer_keys)}
    url = store.display if store.kind == "postgres" else None

    def cli(*args: str) -> Any:
        return drledger(*args, home=store.home, store=url, env=env)

    for group in (("plan", "create"), ("task", "create"), ("draw", "commit"), ("draw", "run"), ("draw", "void")):
        shown = cli(*group, "--help")
        assert shown.returncode == 0 and "Example:" in shown.stdout and "--as ACTOR" in shown.stdout, group
    done = cli("task", "create", "T9", "--plan", h.PLAN, "--name", "春季", "--window", "2026-03-01:2026-05-31",
               "--item", "XY-SCJG-001", "--department", "XY-SCJG", "--ratio", "C=0.2", "--as", "planner")
    assert done.returncode == 0, done.stderr
    assert_clear_failure(cli("draw", "commit", "T9", "--as", "planner"), "refused (missing_role)")
    assert_clear_failure(cli("draw", "commit", "T9", "--beacon", "quicknet", "--as", "drawer"), "not pinned")
    done = cli("draw", "commit", "T9", "--as", "drawer")  # every pinned network, its round 10 minutes ahead
    assert done.returncode == 0, done.stderr
    [named] = committed_rounds(city, "T9")
    assert DEMO_BEACON.network.published_at(named) >= time.time() + 590
    assert_clear_failure(cli("draw", "run", "T9", "--signature", signature(named + 1), "--as", "drawer"),
                         "refused (beacon_invalid)")
    done = cli("draw", "run", "T9", "--signature", signature(named), "--as", "drawer", "--json",
               "--receipt", str(drawer_keys / "receipt.json"))
    assert done.returncode == 0, done.stderr
    recorded = json.loads(done.stdout)
    assert recorded["task_id"] == "T9" and recorded["drawn_at"] > recorded["position"] + 2
    assert json.loads((drawer_keys / "receipt.json").read_text())["outcome"] == "accepted"
    assert_clear_failure(cli("draw", "run", "T9", "--signature", signature(named), "--as", "drawer"),
                         "refused (already_drawn)")
    assert cli("draw", "replay", "T9").returncode == 0
    bundle = json.loads(cli("draw", "export", "T9").stdout)
    assert bundle["recorded"]["seed"] == recorded["seed"]
    assert_clear_failure(cli("draw", "export", "T10"), "task T10 has no draw")
    done = cli("draw", "void", "T9", "--reason", "清单调整", "--as", "drawer")
    assert done.returncode == 0, done.stderr
    assert verify_ledger(store).ok


def test_every_attempt_is_public_and_an_abandoned_commitment_shows_its_outcome(city: TestLedger) -> None:
    from ledger.services.draws import draw_attempts, outcome_of_commitment
    from tests.cli_helpers import run as drledger

    new_task(city, "T1")
    commit(city, "T1")
    void(city, "T1", "任务参数有误，重新承诺")
    draw(city, "T1")
    new_task(city, "T2")
    commit(city, "T2")
    [named] = committed_rounds(city, "T2")
    kinds = [(a.task_id, a.kind) for a in draw_attempts(city.store)]
    assert kinds == [("T1", "commit"), ("T1", "void"), ("T1", "commit"), ("T1", "run"), ("T2", "commit")]
    published = datetime.fromtimestamp(DEMO_BEACON.network.published_at(named), UTC)
    assert not [a for a in draw_attempts(city.store, now=published + timedelta(hours=23)) if a.kind == "abandoned"]
    [gone] = [a for a in draw_attempts(city.store, "T2", now=published + timedelta(hours=24)) if a.kind == "abandoned"]
    assert gone.task_id == "T2" and f"#{named}" in gone.rounds and "computable" in (gone.reason or "")
    # Anyone computes what the abandoned commitment gives; the run, if it comes, gives exactly that.
    with city.service() as service:
        computed = outcome_of_commitment(service, "T2", [signature(named)])
    drawn = run(city, "T2")
    assert (drawn.targets, drawn.teams, drawn.seed) == (computed.targets, computed.teams, computed.seed)
    report = verify_ledger(city.store)
    assert report.ok, report.problems
    assert (report.checks["draw_commitments"], report.checks["draws_replayed"], report.checks["draw_voids"]) == (3, 2, 1)
    url = city.store.display if city.store.kind == "postgres" else None
    listed = drledger("draw", "list", "--task", "T1", "--format", "json", home=city.store.home, store=url)
    assert listed.returncode == 0, listed.stderr
    assert [(a["kind"], a["reason"]) for a in json.loads(listed.stdout)] == [
        ("commit", None), ("void", "任务参数有误，重新承诺"), ("commit", None), ("run", None)]


def _team_of(outcome: Any, target: str) -> list[str]:
    return next(t.inspectors for t in outcome.teams if t.target == target)


def _pairs(team: list[str]) -> list[tuple[str, str]]:
    """(leaving, staying) both ways round for a team of two."""
    first, second = team
    return [(first, second), (second, first)]


def test_substitution_and_extension_continue_the_draw_and_replay(city: TestLedger) -> None:
    """替换 and 补抽 without a redraw: the recusing officer signs its own 回避, a reviewer approves a
    replacement, the drawer draws three more firms of class C; each follows the draw's own order
    (draw/spec.py steps 7-8), is capped, and verify re-executes it."""
    from ledger.domain.draws import Task
    from ledger.draw.spec import commitment_for, sample
    from ledger.services import draws as services
    from ledger.services.draws import gather_inputs

    refused = refusal_checker(city.store)
    new_task(city, "T1", items=h.SCJG_ITEMS, quotas={"C": Quota(ratio="0.2"), "D": Quota(count=3)})
    outcome = draw(city, "T1")
    # An officer of a class-C team who is not on every team (the draw is random: pick, never assume).
    target, leaving, staying, other = next(
        (t, officer, partner, elsewhere)
        for t in outcome.targets["C"] for officer, partner in _pairs(_team_of(outcome, t))
        for elsewhere in outcome.teams if officer not in elsewhere.inspectors)
    signer = city.register(leaving, "inspector", department="XY-SCJG")
    city.register("reviewer", "reviewer", department="XY-SCJG")
    with city.service() as service:
        refused("not_on_team", "is not an officer of the team",
                lambda: services.recuse(service, signer, leaving, "T1", other.target, "亲属"))
        services.recuse(service, signer, leaving, "T1", target, "与该企业负责人系亲属")
        task = service.processor.app.find(Task.create_id("T1"))
    joining = next(b for b in task.team_of(target).inspectors if b != staying)
    assert task.team_of(target).inspectors.index(joining) == outcome.teams[
        [t.target for t in outcome.teams].index(target)].inspectors.index(leaving)  # the same place (leader too)
    assert joining not in (leaving, staying)
    # The successor is the draw's own ranking for this target, continued past the team and the leaver.
    frozen = task.drawn_from
    with city.service() as service:
        inputs = gather_inputs(city.store, task, frozen.position, frozen.committed_at, frozen.cooling_off_days,
                               frozen.salt_key)
    free = [c.badge for c in inputs.inspectors if c.role == "enforcement" and c.status == "active"
            and c.department == "XY-SCJG" and set(h.SCJG_ITEMS) & set(c.qualifications)
            and (c.badge, target) not in set(map(tuple, inputs.conflicts))]
    ranking = [b for b in sample(task.seed + ",inspectors," + target, free) if b not in (leaving, staying)]
    assert joining == ranking[0]
    # A reviewer's approval replaces the successor in turn; the cap (one in ten targets) then holds.
    cap = max(1, len(outcome.teams) // 10)
    with city.service() as service:
        for team in [t for t in outcome.teams if t.target != target][:cap - 1]:
            services.substitute(service, city.keys["reviewer"], "reviewer", "T1", team.target,
                                team.inspectors[0], "病假")
        refused("substitution_cap", "the most this draw allows", lambda: services.substitute(
            service, city.keys["reviewer"], "reviewer", "T1", target, joining, "病假"))
        refused("missing_role", "lacks the role reviewer", lambda: services.substitute(
            service, city.keys["drawer"], "drawer", "T1", target, joining, "病假"))
    # 补抽: the next firms of class C in the draw's own order.
    with city.service() as service:
        services.extend(service, city.keys["drawer"], "drawer", "T1", "C", 3, "3户已注销，按规定补抽")
        task = service.processor.app.find(Task.create_id("T1"))
        refused("draw_impossible", "more firm", lambda: services.extend(
            service, city.keys["drawer"], "drawer", "T1", "D", 10_000, "全部"))
    by_commitment = {commitment_for(inputs.salt_key, u): u for u in inputs.pool["C"]}
    order = [by_commitment[c] for c in sample(task.seed, sorted(by_commitment), n=len(outcome.targets["C"]) + 3)]
    assert task.targets["C"] == order
    assert all(task.team_of(u) is not None for u in task.targets["C"])
    # Once the team recorded a result for its target, it stands as it was.
    _record_a_result(city, task, target=target)
    with city.service() as service:
        refused("result_exists", "stands as it was", lambda: services.substitute(
            service, city.keys["reviewer"], "reviewer", "T1", target, joining, "病假"))
    trace = [r.kind for r in __import__("ledger.services.reports", fromlist=["trace"]).trace(city.store, "T1", target)]
    assert "substituted" in trace and "recorded" in trace
    assert replay_draws(city.store, "T1")[0][0].ok
    report = verify_ledger(city.store)
    assert report.ok, report.problems


@pytest.mark.parametrize("what, change", [
    ("the successor", lambda p: p.__setitem__("joining", p["leaving"])),
    ("the leaving officer", lambda p: p.__setitem__("leaving", p["joining"])),
])
def test_an_altered_substitution_fails_verify(city: TestLedger, what: str, change: Any) -> None:
    new_task(city, "T1", items=h.SCJG_ITEMS, quotas={"C": Quota(ratio="0.2")})
    outcome = draw(city, "T1")
    target = outcome.targets["C"][0]
    leaving = _team_of(outcome, target)[0]
    signer = city.register(leaving, "inspector", department="XY-SCJG")
    with city.service() as service:
        h.draws.recuse(service, signer, leaving, "T1", target, "亲属")
    seq = _rewrite_draw(city.store, change, get_topic(Task.Substituted))
    report = verify_ledger(city.store)
    assert not report.ok and report.problems[0].position == seq and "draw.recuse" in report.problems[0].what, what


def test_a_recusal_signed_for_a_badge_of_another_department_is_refused_and_verify_rechecks_it(
        city: TestLedger) -> None:
    """回避 is signed by the leaving officer itself (its actor id is its badge); the signer's department
    must cover the badge's, as for results. An actor registered in the badge's department (as
    actor.register requires) whose badge then moves to another department (a transfer) may not pull
    that officer off a team until its admin moves it too. An insider who records the refused recusal
    as accepted, with the ledger key, is caught by verify at that position, naming the rule."""
    import msgspec

    from ledger.domain.draws import RecuseBody
    from tests.insider import Insider, command_event, refused_at

    refused = refusal_checker(city.store)
    new_task(city, "T1", items=h.SCJG_ITEMS, quotas={"C": Quota(ratio="0.2")})
    outcome = draw(city, "T1")
    target = outcome.targets["C"][0]
    leaving, staying = _team_of(outcome, target)[:2]
    city.register(leaving, "inspector", department="XY-SCJG")
    row = next(r for r in generate_city(DEMO_SEED, small=True).rows("inspectors") if r.badge == leaving)
    city.import_rows("admin", "inspectors", [msgspec.structs.replace(row, department="XY-WSJK")])
    signed = city.sign(leaving, "draw.recuse", msgspec.to_builtins(RecuseBody(task_id="T1", target=target,
                                                                            reason="与该企业负责人系亲属")))
    with city.service() as service:
        refused("out_of_jurisdiction", "may not act for department XY-WSJK",
                lambda: service.submit(signed, attachment_source=h.draws.draw_inputs_source(service)))
    assert verify_ledger(city.store).ok  # the refusal record is what the rule refuses there

    def forged() -> list[Any]:
        task = insider.find(Task.create_id("T1"))
        task.substitute(task_id="T1", target=target, leaving=leaving, joining=staying, basis="recusal",
                        reason="与该企业负责人系亲属", actor=leaving)
        return [command_event(signed, leaving, "draw.recuse", msgspec.json.decode(signed.command)["nonce"]), task]

    with Insider(city.store) as insider:
        position = insider.append(forged)
    refused_at(city.store, position, "draw.recuse", "[out_of_jurisdiction]")


def test_verify_says_which_commitments_a_witness_saw_before_their_round(city: TestLedger) -> None:
    """T1 is in a checkpoint a witness cosigned before T1's round was published: its time is attested
    from outside. T2 is in the same checkpoint, but its round was published before the witness
    cosigned; T3 is in no cosigned checkpoint. Both rest on the operator's clock alone."""
    from ledger.services.checkpoints import publish_checkpoint
    from ledger.services.setup import load_ledger_signer
    from ledger.services.witnesses import push_all
    from tests.test_witness import log_key, register
    from tests.witness_server import SpecWitness

    new_task(city, "T1")
    commit(city, "T1", rounds=(next_round(600),))
    new_task(city, "T2")
    soon = next_round(8)
    commit(city, "T2", rounds=(soon,))
    time.sleep(max(0.0, DEMO_BEACON.network.published_at(soon) - time.time()) + 1.1)  # T2's round is out
    with SpecWitness() as witness:
        register(city, witness)
        witness.trust(log_key(city.store))
        publish_checkpoint(city.store, load_ledger_signer(city.store))
        assert push_all(city.store)[0].ok
    new_task(city, "T3")
    commit(city, "T3", rounds=(next_round(600),))
    report = verify_ledger(city.store)
    assert report.ok, report.problems
    assert (report.checks["commitments_witnessed_in_time"], report.checks["commitments_operator_timed"]) == (1, 2)


def test_a_guarded_void_and_a_new_beacon_need_m_of_n_with_discipline(city: TestLedger) -> None:
    """What the drawer may not do alone: void a draw on which results rest; what nobody may do
    alone: pin a new beacon network. Both are proposals carried by an admin and a discipline (纪检)
    actor registered before the cooling-off period."""
    from ledger.beacon.network import QUICKNET
    from ledger.domain.draws import Task
    from ledger.services.draws import draw_attempts

    city.register("jj", "discipline")
    city.register("adm2", "admin")
    new_task(city, "T1")
    outcome = draw(city, "T1")
    _record_a_result(city, outcome)
    refusal_checker(city.store)("needs_approval", "results rest on this draw", lambda: void(city, "T1", "重抽"))
    clock = [datetime.now(UTC) + timedelta(days=4)]  # the discipline actor is past its cooling-off now

    def submit(actor: str, name: str, body: dict[str, Any], source: bool = False) -> Any:
        with city.service(clock=lambda: clock[0]) as service:
            signed = city.sign(actor, name, body, issued_at=clock[0])
            return service.submit(signed, attachment_source=h.draws.draw_inputs_source(service) if source else None)

    submit("admin", "proposal.open", {"proposal_id": "P1", "action": "void_draw", "target": "T1",
                                      "reason": "抽查事项清单错误，结果作废重抽"})
    submit("adm2", "proposal.approve", {"proposal_id": "P1"})  # two admins: no discipline yet
    with city.service() as service:
        assert service.processor.app.find(Task.create_id("T1")).drawn
    submit("jj", "proposal.approve", {"proposal_id": "P1"})
    with city.service() as service:
        assert not service.processor.app.find(Task.create_id("T1")).drawn
    [voided] = [a for a in draw_attempts(city.store, "T1") if a.kind == "void"]
    assert voided.reason and voided.reason.startswith("proposal P1: ")
    # A new beacon network: refused before the proposal is carried, usable after.
    named = QUICKNET.round_at(int(clock[0].timestamp()) + 600)
    commit_body = {"task_id": "T1", "beacons": [{"network": "quicknet", "round": named}]}
    with pytest.raises(CommandRefused, match="not pinned"):
        submit("drawer", "draw.commit", commit_body, source=True)
    with pytest.raises(CommandRefused, match="not quicknet|is of beacon network"):
        submit("admin", "proposal.open", {"proposal_id": "P2", "action": "add_beacon", "target": "quicknet",
                                          "reason": "公开信标", "beacon": DEMO_BEACON.network.to_chain_info()})
    submit("admin", "proposal.open", {"proposal_id": "P2", "action": "add_beacon", "target": "quicknet",
                                      "reason": "采用 drand quicknet 公开信标", "beacon": QUICKNET.to_chain_info()})
    submit("jj", "proposal.approve", {"proposal_id": "P2"})
    submit("drawer", "draw.commit", commit_body, source=True)
    report = verify_ledger(city.store)
    assert report.ok, report.problems


def test_a_beacon_network_pinned_by_an_insider_fails_verify(city: TestLedger) -> None:
    """The operator appends, with the ledger key, a BeaconPinned event for a network whose rounds it
    knows in advance: no proposal, no command, verify names the position."""
    from ledger.beacon.local import LocalBeaconNetwork
    from ledger.domain.actors import Ledger

    rogue = LocalBeaconNetwork("the operator's own beacon").network
    state = canonical_bytes({"actor": "admin", "beacon_id": "rogue", "chain_info": rogue.to_chain_info(),
                             "reason": "x", "timestamp": datetime.now(UTC)})
    raw = Raw(city.store)
    try:
        _, ledger_id, version, topic, _ = raw.event_at(2)  # the genesis event: the Ledger aggregate, version 1
    finally:
        raw.close()
    assert topic == get_topic(Ledger.Genesis) and version == 1
    position = _append_event(city.store, ledger_id, 2, get_topic(Ledger.BeaconPinned), state)
    report = verify_ledger(city.store)
    assert not report.ok and report.problems[0].position == position, report.problems
    assert "without a command" in report.problems[0].what


def test_only_officers_certified_through_the_window_are_drawn(city: TestLedger) -> None:
    """执法证 (国办发〔2024〕54号): three new XY-SCJG officers qualified for the whole department, alike
    but for their certificates: none, one expiring inside the task's window (2026-05-30, the window
    ends 2026-05-31), one valid through its last day. Only the last is ever drawn (with a count of
    every class C firm it is, so the rule is what keeps the others out). An insider with the ledger
    key who seats the uncertified officer in a recorded team fails verify at the draw's position."""
    from ledger.domain.rows import InspectorRow

    def officer(badge: str, **certificate: str) -> InspectorRow:
        return InspectorRow(badge=badge, name="持证测试", department="XY-SCJG", region_code="360500",
                            role="enforcement", qualifications=("XY-SCJG",), **certificate)

    city.import_rows("admin", "inspectors", [
        officer("CERT-NONE"), officer("CERT-SHORT", certificate_no="赣ZF-1", certificate_valid_until="2026-05-30"),
        officer("CERT-OK", certificate_no="赣ZF-2", certificate_valid_until="2026-05-31")])
    new_task(city, "T1", quotas={"C": Quota(ratio="1")})
    outcome = draw(city, "T1")
    drawn = {b for team in outcome.teams for b in team.inspectors}
    assert "CERT-OK" in drawn and not drawn & {"CERT-NONE", "CERT-SHORT"}, sorted(drawn)
    assert verify_ledger(city.store).ok

    def seat(p: dict[str, Any]) -> None:
        p["teams"][0]["inspectors"][-1] = "CERT-NONE"

    seq = _rewrite_draw(city.store, seat)
    report = verify_ledger(city.store)
    assert not report.ok and report.problems[0].position == seq and "draw.run" in report.problems[0].what, \
        report.problems


@pytest.mark.parametrize("what, change", [
    ("a target", lambda p: p["targets"].__setitem__(0, p["teams"][-1]["target"])),
    ("a team", lambda p: p["teams"][0]["inspectors"].reverse()),
])
def test_an_altered_extension_fails_verify(city: TestLedger, what: str, change: Any) -> None:
    """补抽 re-executed: an insider with the ledger key edits the recorded extension; verify fails at it."""
    new_task(city, "T1", items=h.SCJG_ITEMS, quotas={"C": Quota(ratio="0.2")})
    draw(city, "T1")
    with city.service() as service:
        h.draws.extend(service, city.keys["drawer"], "drawer", "T1", "C", 2, "2户已注销，按规定补抽")
    seq = _rewrite_draw(city.store, change, get_topic(Task.Extended))
    report = verify_ledger(city.store)
    assert not report.ok and report.problems[0].position == seq and "draw.extend" in report.problems[0].what, \
        (what, report.problems)
