"""Finding things (issue 12 item 7): plans, tasks, a result's history, one firm across tasks,
everything an actor did, and the 考核 statistics, through the real console script; the
statistics' arithmetic as a pure function on hand-made rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from ledger.services.stats import EntityFact, ResultFact, StatsInputs, TaskFact, TeamFact, compute
from tests.cli_helpers import as_json, assert_clear_failure, build_demo, run


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo city with plans, a joint task, draws, results, corrections, disclosures and refusals (read only)."""
    return build_demo(tmp_path_factory)


def csv_rows(home: Path, *args: str) -> list[dict[str, str]]:
    result = run(*args, "--format", "csv", home=home)
    assert result.returncode == 0 and result.stdout.startswith("\ufeff"), result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))


def test_plans_and_tasks(home: Path) -> None:
    tasks = as_json(home, "task", "list")
    assert isinstance(tasks, list) and tasks
    joint = [t for t in tasks if t["joint"]]
    assert joint and all(len(t["departments"]) > 1 for t in joint)
    drawn = [t for t in tasks if t["state"] == "drawn"]
    assert drawn and all(t["targets"] > 0 for t in drawn)
    plans = as_json(home, "plan", "list")
    assert isinstance(plans, list)
    assert sum(p["tasks"] for p in plans) == len([t for t in tasks if t["plan_id"]])  # 临时任务 have no plan
    plan = plans[0]
    shown = as_json(home, "plan", "show", plan["plan_id"])
    assert isinstance(shown, dict) and shown["plan"] == plan and shown["created_by"].startswith("planner-")
    assert [t["task_id"] for t in shown["tasks"]] == [t["task_id"] for t in tasks if t["plan_id"] == plan["plan_id"]]
    one = joint[0]
    by_department = as_json(home, "task", "list", "--department", one["departments"][-1])
    assert one in by_department  # type: ignore[operator]
    detail = as_json(home, "task", "show", one["task_id"])
    assert isinstance(detail, dict) and detail["task"] == one
    assert detail["parameters"]["quotas"] and detail["created_by"].startswith("planner-")
    assert len(detail["teams"]) == one["targets"]
    teams = csv_rows(home, "task", "show", one["task_id"])
    assert {r["uscc"] for r in teams} == {t["uscc"] for t in detail["teams"]}
    text = run("task", "show", one["task_id"], home=home).stdout
    assert "task_id" in text and "teams:" in text and "quotas" in text
    assert_clear_failure(run("task", "show", "T-NOPE", home=home), "unknown task 'T-NOPE'")
    assert_clear_failure(run("plan", "show", "P-NOPE", home=home), "unknown plan 'P-NOPE'")


def test_a_result_with_its_history(home: Path) -> None:
    public = as_json(home, "result", "public")
    chosen = next(p for p in public if p["corrections"])  # type: ignore[union-attr]  # the demo corrects some
    corrected = as_json(home, "result", "show", chosen["task_id"], chosen["uscc"])
    assert isinstance(corrected, dict) and corrected["category"] == chosen["category"]
    kinds = [h["kind"] for h in corrected["history"]]
    assert kinds[0] == "recorded" and kinds.count("corrected") == corrected["corrections"] and "disclosed" in kinds
    assert [h["seq"] for h in corrected["history"]] == sorted(h["seq"] for h in corrected["history"])
    assert all(h["key_id"] and h["command_seq"] and h["actor"] for h in corrected["history"]
               if not h["kind"].startswith(("refused", "unauthenticated", "suppressed")))
    recorded = corrected["history"][0]
    assert recorded["actor"] == corrected["recorded_by"]
    history = csv_rows(home, "result", "show", corrected["task_id"], corrected["uscc"])
    assert [r["kind"] for r in history] == kinds
    missing = run("result", "show", corrected["task_id"], "91360500K9QXBGF9CX", home=home)
    assert_clear_failure(missing, "no result recorded")


def test_trace_across_tasks_and_everything_an_actor_did(home: Path) -> None:
    tasks = as_json(home, "task", "list")
    seen: dict[str, set[str]] = {}
    for t in tasks:  # type: ignore[union-attr]
        if t["state"] != "drawn":
            continue
        for team in as_json(home, "task", "show", t["task_id"])["teams"]:  # type: ignore[index]
            seen.setdefault(team["uscc"], set()).add(t["task_id"])
    uscc = max(seen, key=lambda u: (len(seen[u]), u))
    rows = as_json(home, "report", "trace", "--target", uscc)
    assert isinstance(rows, list)
    assert {r["task_id"] for r in rows} >= seen[uscc]
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
    for task_id in seen[uscc]:
        one = as_json(home, "report", "trace", "--task", task_id, "--target", uscc)
        assert [r for r in rows if r["task_id"] == task_id] == one
    # report actor: every command the actor signed, accepted and refused.
    refused = as_json(home, "report", "refused")
    actor = next(r["claimed_actor"] for r in refused if r["authenticated"])  # type: ignore[index]
    mine = as_json(home, "report", "actor", actor)
    kinds = {r["kind"] for r in mine}  # type: ignore[union-attr]
    assert any(k.startswith("refused:") for k in kinds) and any("." in k for k in kinds)
    assert {r["seq"] for r in refused if r["claimed_actor"] == actor} <= {r["seq"] for r in mine}  # type: ignore[index]


def test_stats_in_every_format(home: Path) -> None:
    rows = as_json(home, "report", "stats")
    assert isinstance(rows, list)
    metrics = {r["metric"] for r in rows}
    assert metrics == {"coverage", "joint_task_share", "visits_saved", "on_time_entry", "results_missing",
                       "on_time_disclosure"}
    tasks = as_json(home, "task", "list")
    share = next(r for r in rows if r["metric"] == "joint_task_share" and r["scope"] == "all")
    assert (share["numerator"], share["denominator"]) == (sum(t["joint"] for t in tasks), len(tasks))  # type: ignore
    recorded = sum(t["results"] for t in tasks)  # type: ignore[union-attr]
    entry = next(r for r in rows if r["metric"] == "on_time_entry" and r["scope"] == "all")
    assert entry["denominator"] == recorded
    classes = {r["scope"] for r in rows if r["metric"] == "coverage" and r["scope"].startswith("class:")}
    assert classes == {f"class:{k}" for k in "ABCD"}
    table = csv_rows(home, "report", "stats")
    assert [(r["metric"], r["scope"], int(r["numerator"])) for r in table] == \
        [(r["metric"], r["scope"], r["numerator"]) for r in rows]
    text = run("report", "stats", home=home).stdout
    assert text.splitlines()[0].split() == ["metric", "scope", "numerator", "denominator", "rate"]
    later = as_json(home, "report", "stats", "--year", "1999")
    assert next(r for r in later if r["metric"] == "joint_task_share" and r["scope"] == "all")["denominator"] == 0


def _by(rows: list, metric: str, scope: str) -> tuple[int, int, float | None]:  # type: ignore[type-arg]
    row = next(r for r in rows if r.metric == metric and r.scope == scope)
    return row.numerator, row.denominator, row.rate


def test_stats_arithmetic_on_hand_made_rows() -> None:
    tasks = (TaskFact(task_id="T1", departments=("SCJG",), window_start="2026-03-01", window_end="2026-04-30"),
             TaskFact(task_id="J1", departments=("SCJG", "WSJK", "JTYS"), window_start="2026-06-01",
                      window_end="2026-06-30"))
    entities = tuple(EntityFact(uscc=f"E{i}", risk_class="AB"[i % 2], departments=("SCJG",) if i < 6 else ("WSJK",))
                     for i in range(10))
    teams = (TeamFact(task_id="T1", uscc="E0", risk_class="A"), TeamFact(task_id="T1", uscc="E1", risk_class="B"),
             TeamFact(task_id="J1", uscc="E0", risk_class="A"), TeamFact(task_id="J1", uscc="E7", risk_class="B"))
    results = (ResultFact(task_id="T1", uscc="E0", late=False, disclosed=True, disclosure_late=True),
               ResultFact(task_id="T1", uscc="E1", late=True, disclosed=False, disclosure_late=False),
               ResultFact(task_id="J1", uscc="E0", late=False, disclosed=True, disclosure_late=False))
    rows = compute(StatsInputs(tasks=tasks, teams=teams, entities=entities, results=results,
                               missing=(("J1", "E7"),)))
    assert _by(rows, "coverage", "class:A") == (1, 5, 0.2)  # E0, drawn twice, counts once
    assert _by(rows, "coverage", "class:B") == (2, 5, 0.4)
    assert _by(rows, "coverage", "department:SCJG") == (2, 6, 0.3333)  # E0, E1 (E7 is not SCJG's)
    assert _by(rows, "coverage", "department:WSJK") == (1, 4, 0.25)  # E7, drawn in the joint task WSJK joined
    assert _by(rows, "coverage", "department:JTYS") == (0, 0, None)
    assert _by(rows, "joint_task_share", "all") == (1, 2, 0.5)
    assert _by(rows, "joint_task_share", "department:WSJK") == (1, 1, 1.0)
    # T1: 2 targets x 1 department; J1: 2 targets x 3 departments = 8 separate visits, 4 made.
    assert _by(rows, "visits_saved", "all") == (4, 8, 0.5)
    assert _by(rows, "on_time_entry", "all") == (2, 3, 0.6667)
    assert _by(rows, "results_missing", "all") == (1, 4, 0.25)
    assert _by(rows, "on_time_disclosure", "all") == (1, 2, 0.5)
    assert _by(rows, "on_time_entry", "department:SCJG") == (2, 3, 0.6667)  # by the task's lead department
    only_t1 = compute(StatsInputs(tasks=tasks[:1], teams=teams, entities=entities, results=results))
    assert _by(only_t1, "visits_saved", "all") == (0, 2, 0.0)
    assert _by(only_t1, "on_time_entry", "all") == (1, 2, 0.5)
    assert compute(StatsInputs(tasks=(), teams=(), entities=(), results=()))[0].metric == "joint_task_share"
