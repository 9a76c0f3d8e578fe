"""Risk classes as configuration, the annual per-firm cap, 一般-item ceilings, temporary tasks and
window extension (issue 12 items 4-5), on both stores, each re-executed by `verify`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ledger.domain.classes import DrawConfig, DrawSettings, RiskClassSpec
from ledger.domain.draws import PlanBody, Task
from ledger.domain.tasks import ExtendWindowBody
from ledger.draw.spec import Quota
from ledger.services import draws, firms
from ledger.services.bundles import export_bundle, prove_membership
from ledger.services.ledger import CommandRefused
from ledger.store.config import StoreConfig
from ledger.verify.draws import replay_draws
from ledger.verify.ledger_check import verify_ledger
from tests.draw_helpers import SCJG_ITEMS, city_with_drawer, commit, draw, new_task, run
from tests.insider import Insider, refused_at
from tests.ledger_helpers import TestLedger, entity_rows
from tests.test_verify_draw_standalone import verify

FIVE = DrawSettings(classes=(
    RiskClassSpec(code="A", label="A类(信用风险低)"), RiskClassSpec(code="B", label="B类"),
    RiskClassSpec(code="C", label="C类"), RiskClassSpec(code="D", label="D类"),
    RiskClassSpec(code="E", label="E类(信用风险高)")), source="山东省企业信用风险分类 A-E")


@pytest.fixture(autouse=True)
def drawer_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "drawer-keys"
    monkeypatch.setenv("DRLEDGER_KEYS", str(folder))
    return folder


@pytest.fixture
def city(store: StoreConfig) -> TestLedger:
    return city_with_drawer(store)


def set_draws(city: TestLedger, settings: DrawSettings) -> None:
    with city.service() as service:
        firms.set_draw_settings(service, city.admin, "admin", settings)


def refused(code: str, action: Any) -> CommandRefused:
    with pytest.raises(CommandRefused) as caught:
        action()
    assert caught.value.code == code, caught.value
    return caught.value


def test_a_five_class_set_is_drawn_replayed_and_verified(city: TestLedger, tmp_path: Path) -> None:
    """Shandong's A-E: class E firms are refused at import until the set names E; then a task
    draws from E (and the others), the replay recomputes it and verify re-executes it."""
    e_firms = entity_rows(6, start=90_000, risk_class="E")
    summary_error = refused("unknown_reference", lambda: city.import_rows("admin", "entities", e_firms))
    assert "not in the ledger's class set (A, B, C, D" in summary_error.message
    refused("invalid", lambda: new_task(city, "T5", quotas={"E": Quota(count=2)}))
    set_draws(city, FIVE)
    summary = city.import_rows("admin", "entities", e_firms)
    assert summary.written and summary.rows == len(e_firms) and not summary.errors
    new_task(city, "T5", quotas={"D": Quota(count=1), "E": Quota(count=4)})
    outcome = draw(city, "T5")
    assert set(outcome.targets) == {"A", "B", "C", "D", "E"} and outcome.counts["E"] == 6
    assert len(outcome.targets["E"]) == 4 and set(outcome.targets["E"]) <= {f.uscc for f in e_firms}
    assert [t.target for t in outcome.teams][-4:] == outcome.targets["E"]  # E, the highest risk, last
    with city.service() as service:
        task = service.processor.app.find(Task.create_id("T5"))
    assert task.drawn_from.classes == FIVE.codes
    replayed, _ = replay_draws(city.store, "T5")
    assert [r.ok for r in replayed] == [True], replayed
    report = verify_ledger(city.store)
    assert report.ok and report.checks["draws_replayed"] == 1, report.problems
    # A class outside the set is refused at task creation.
    refused("invalid", lambda: new_task(city, "T6", quotas={"F": Quota(count=1)}))
    # The standalone verifier (docs/verify_draw.py) checks both bundles and a firm's proofs.
    for public in (False, True):
        path = tmp_path / f"bundle-{public}.json"
        path.write_bytes(export_bundle(city.store, "T5", public=public))
        done = verify(path)
        assert done.returncode == 0, done.stdout[-2000:]
    for uscc in (outcome.targets["E"][0], next(f.uscc for f in e_firms if f.uscc not in outcome.targets["E"])):
        proof = tmp_path / f"proof-{uscc}.json"
        proof.write_bytes(prove_membership(city.store, "T5", uscc))
        assert json.loads(proof.read_bytes())["risk_class"] == "E"
        done = verify("--proof", proof, tmp_path / "bundle-True.json")
        assert done.returncode == 0, done.stdout[-2000:]


def test_a_changed_class_set_leaves_a_standing_commitment_as_it_froze_it(city: TestLedger) -> None:
    """The commitment froze A-D; the set changes to A-E before the run; the run still draws the
    A-D inputs (their digest matches) and verify agrees. The next commitment uses A-E."""
    new_task(city, "T1", quotas={"C": Quota(count=2)})
    commit(city, "T1")
    set_draws(city, FIVE)
    assert set(run(city, "T1").targets) == {"A", "B", "C", "D"}
    new_task(city, "T2", quotas={"C": Quota(count=2)})
    assert set(draw(city, "T2").targets) == set(FIVE.codes)
    assert verify_ledger(city.store).ok


def test_settings_draws_refusals(city: TestLedger) -> None:
    def attempt(**changes: Any) -> Any:
        body = {**msgspec.to_builtins(FIVE), **changes}
        return lambda: city.submit("admin", "settings.draws", body)

    refused("invalid", attempt(classes=[{"code": "A", "label": "A"}]))  # one class
    refused("invalid", attempt(classes=[{"code": "A", "label": "A"}, {"code": "A", "label": "A2"}]))
    refused("invalid", attempt(classes=[{"code": "a1", "label": "x"}, {"code": "B", "label": "B"}]))
    refused("invalid", attempt(annual_cap_per_firm=0))
    refused("invalid", attempt(classes=[{"code": "A", "label": "A", "general_max_ratio": "5%"},
                                        {"code": "B", "label": "B"}]))
    city.register("planner-x", "planner", "admin", department="XY-SCJG")
    refused("out_of_jurisdiction", lambda: city.submit("planner-x", "settings.draws", msgspec.to_builtins(FIVE)))


def test_the_annual_cap_leaves_out_firms_inspected_that_often_this_year(city: TestLedger) -> None:
    """国办发〔2024〕54号: a cap of one inspection per firm a year across tasks and departments. T1
    draws 5 class C firms; T2 (same year, other items) draws every class C firm left: none of T1's,
    and its frozen pool is smaller by exactly T1's targets. A task of another year is not limited."""
    set_draws(city, DrawSettings(annual_cap_per_firm=1))
    new_task(city, "T1", quotas={"C": Quota(count=5)})
    first = draw(city, "T1")
    drawn = set(first.targets["C"])
    assert len(drawn) == 5
    new_task(city, "T2", items=("XY-SCJG-003",), quotas={"C": Quota(ratio="1")})
    second = draw(city, "T2")
    assert second.counts["C"] == first.counts["C"] - 5
    assert not drawn & set(second.targets["C"]) and second.targets["C"]
    with city.service() as service:  # a task's window starts in its plan's year
        draws.create_plan(service, city.keys["planner"], "planner", PlanBody(
            plan_id="P-2027", title="2027", department="XY-SCJG", year=2027, items=SCJG_ITEMS))
    new_task(city, "T3", plan_id="P-2027", window_start=date(2027, 3, 1), window_end=date(2027, 5, 31),
             quotas={"C": Quota(ratio="1")})
    third = draw(city, "T3")
    assert third.counts["C"] == first.counts["C"]  # another year: every class C firm
    replayed, _ = replay_draws(city.store)
    assert [r.ok for r in replayed] == [True, True, True], replayed
    assert verify_ledger(city.store).ok


def test_a_task_of_only_general_items_respects_the_class_ceiling(city: TestLedger) -> None:
    """一般 items: at most ceil(0.1 x N_C) class C firms; a task with a 重点 item (XY-SCJG-002) has
    no ceiling. Checked at the commitment, where N_C is frozen."""
    ceiling = DrawSettings(classes=tuple(
        RiskClassSpec(code=k, label=k, general_max_ratio="0.1" if k == "C" else None) for k in "ABCD"))
    set_draws(city, ceiling)
    new_task(city, "G1", items=("XY-SCJG-001", "XY-SCJG-003"), quotas={"C": Quota(ratio="0.5")})
    error = refused("ratio_limit", lambda: commit(city, "G1"))
    assert "一般" in error.message and "class C" in error.message
    new_task(city, "G2", items=("XY-SCJG-001", "XY-SCJG-003"), quotas={"C": Quota(ratio="0.1")})
    draw(city, "G2")
    new_task(city, "K1", items=("XY-SCJG-001", "XY-SCJG-002"), quotas={"C": Quota(ratio="0.5")})
    draw(city, "K1")
    assert verify_ledger(city.store).ok


def test_a_temporary_task_is_drawn_only_once_a_second_actor_approved_it(city: TestLedger) -> None:
    city.register("chief", "planner", "reviewer", department="XY-SCJG")
    city.register("reviewer", "reviewer", department="XY-SCJG")
    refused("invalid", lambda: new_task(city, "TMP", temporary=True))  # a temporary task names no plan
    new_task(city, "TMP", actor="chief", plan_id="", temporary=True, quotas={"C": Quota(count=2)})
    error = refused("needs_approval", lambda: commit(city, "TMP"))
    assert "临时任务" in error.message
    with city.service() as service:
        refused("same_actor", lambda: firms.approve_task(service, city.keys["chief"], "chief", "TMP", "同意"))
        refused("missing_role", lambda: firms.approve_task(service, city.keys["planner"], "planner", "TMP", "同意"))
        firms.approve_task(service, city.keys["reviewer"], "reviewer", "TMP", "投诉举报线索集中，同意开展")
        refused("duplicate", lambda: firms.approve_task(service, city.keys["reviewer"], "reviewer", "TMP", "x"))
    new_task(city, "PLANNED")
    with city.service() as service:
        refused("invalid", lambda: firms.approve_task(service, city.keys["reviewer"], "reviewer", "PLANNED", "x"))
    assert draw(city, "TMP").targets["C"]
    assert verify_ledger(city.store).ok


def test_an_approval_appended_by_an_insider_fails_verify(city: TestLedger) -> None:
    """The operator approves a temporary task itself: a Task.Approved event with the ledger key, no command."""
    new_task(city, "TMP", plan_id="", temporary=True)
    with Insider(city.store) as insider:
        def build() -> list[Any]:
            task = insider.find(Task.create_id("TMP"))
            task.approve(task_id="TMP", reason="同意", actor="admin")
            return [task]

        position = insider.append(build)
    refused_at(city.store, position, "Task.Approved", "without a command")


def test_the_window_is_extended_forward_only_and_a_commitment_keeps_its_window(city: TestLedger) -> None:
    new_task(city, "T1", quotas={"C": Quota(count=2)})
    commit(city, "T1")

    def extend(actor: str, end: date, reason: str = "春节假期顺延") -> Any:
        with city.service() as service:
            return firms.extend_window(service, city.keys[actor], actor,
                                       ExtendWindowBody(task_id="T1", window_end=end, reason=reason))

    refused("not_forward", lambda: extend("planner", date(2026, 5, 31)))
    refused("not_forward", lambda: extend("planner", date(2026, 5, 1)))
    refused("missing_role", lambda: extend("drawer", date(2026, 6, 30)))
    refused("invalid", lambda: extend("planner", date(2026, 6, 30), reason=" "))
    extend("planner", date(2026, 6, 30))
    outcome = run(city, "T1")  # the commitment froze the window ending 2026-05-31
    with city.service() as service:
        task = service.processor.app.find(Task.create_id("T1"))
    assert task.window_end == date(2026, 6, 30) and task.drawn_from.window_end == "2026-05-31"
    assert outcome.targets["C"]
    assert verify_ledger(city.store).ok


def test_draw_settings_appended_by_an_insider_fail_verify(city: TestLedger) -> None:
    """The operator sets the annual cap itself (to keep a firm out of every draw): no admin's command."""
    with Insider(city.store) as insider:
        def build() -> list[Any]:
            config = DrawConfig(actor="admin")
            config.set(settings=DrawSettings(annual_cap_per_firm=1), actor="admin")
            return [config]

        position = insider.append(build)
    refused_at(city.store, position, "DrawConfig.Opened", "without a command")



def test_a_window_extension_appended_by_an_insider_fails_verify(city: TestLedger) -> None:
    """The operator stretches a task's window so late results fall inside it: no planner's command."""
    new_task(city, "T1")
    with Insider(city.store) as insider:
        def build() -> list[Any]:
            task = insider.find(Task.create_id("T1"))
            task.extend_window(task_id="T1", window_end=date(2026, 12, 31), previous=task.window_end, reason="x",
                               actor="planner")
            return [task]

        position = insider.append(build)
    refused_at(city.store, position, "Task.WindowExtended", "without a command")
