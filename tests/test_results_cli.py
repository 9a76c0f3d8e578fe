"""`drledger result` and `drledger report` through the real console script."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from tests.cli_helpers import assert_clear_failure, run


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo city with the results stage (tasks, draws, results, refusals).
    Built once and never used directly: each test works on its own copy."""
    home = tmp_path_factory.mktemp("results-cli") / "data"
    demo = run("demo", "--small", "--seed", "5", home=home, timeout=300)  # includes results
    assert demo.returncode == 0, demo.stderr
    return home


@pytest.fixture
def home(demo_home: Path, tmp_path: Path) -> Path:
    """This test's own copy of the demo ledger home (SQLite file, keys, secrets, settings)."""
    return Path(shutil.copytree(demo_home, tmp_path / "data"))


def _json(home: Path, *args: str) -> list[dict[str, object]]:
    result = run(*args, "--format", "json", home=home)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_reports_in_every_format(home: Path) -> None:
    refused = _json(home, "report", "refused")
    codes = {r["code"] for r in refused}
    assert {"target_not_drawn", "outside_window", "item_not_on_task", "bad_signature", "unknown_actor",
            "reused_nonce"} <= codes
    text = run("report", "refused", "--format", "csv", home=home).stdout
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == len(refused)
    assert "rows" in run("report", "overdue", home=home).stdout
    overdue = _json(home, "report", "overdue")
    assert {"result_late", "result_missing"} <= {r["problem"] for r in overdue}
    assert any(r["problem"] == "assigned_under_conflict" for r in _json(home, "report", "conflicts"))


def test_trace_and_actor(home: Path) -> None:
    public = _json(home, "result", "public", "--task", "T-DEMO-LATE")
    assert public and all("*" in name for p in public for name in p["inspectors"])
    target = public[0]["uscc"]
    rows = _json(home, "report", "trace", "--task", "T-DEMO-LATE", "--target", str(target))
    assert rows[0]["kind"] == "drawn" and "recorded" in {r["kind"] for r in rows}
    recorded = next(r for r in rows if r["kind"] == "recorded")
    assert recorded["signature"] and recorded["key_id"] and len(str(recorded["event_hash"])) == 64
    mine = _json(home, "report", "actor", str(recorded["actor"]))
    assert any(r["seq"] == recorded["seq"] for r in mine)
    missing = run("report", "trace", "--task", "T-NONE", "--target", str(target), home=home)
    assert_clear_failure(missing, "nothing recorded")


@pytest.mark.slow
def test_record_correct_disclose_and_refusal(home: Path) -> None:
    overdue = _json(home, "report", "overdue")
    gap = next(r for r in overdue if r["problem"] == "result_missing" and r["task_id"] == "T-DEMO-LATE")
    badge = str(gap["inspectors"]).split(";")[0]
    args = ("result", "record", "T-DEMO-LATE", str(gap["uscc"]), "--category", "no_issue", "--findings", "未发现问题",
            "--method", "onsite,written", "--as", badge)
    outside = run(*args, "--inspected-on", "2020-01-01", home=home)
    assert_clear_failure(outside, "outside_window")
    window_day = next(r for r in _json(home, "result", "public", "--task", "T-DEMO-LATE"))["inspected_on"]
    ok = run(*args, "--inspected-on", str(window_day), home=home)
    assert ok.returncode == 0, ok.stderr
    assert "(late)" in ok.stdout
    again = run(*args, "--inspected-on", str(window_day), home=home)
    assert_clear_failure(again, "duplicate_result")
    fixed = run("result", "correct", "T-DEMO-LATE", str(gap["uscc"]), "--category", "pending", "--reason", "补录线索",
                "--as", badge, home=home)
    assert fixed.returncode == 0 and "corrections 1" in fixed.stdout, fixed.stderr
    shown = run("result", "disclose", "T-DEMO-LATE", str(gap["uscc"]), "--as", badge, home=home)
    assert shown.returncode == 0 and "disclosed" in shown.stdout
    verify = run("verify", home=home, timeout=300)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_calendar_file_supplies_a_year(home: Path) -> None:
    from datetime import date, timedelta

    from ledger.demo.calendar import working_days_until
    from ledger.results_settings import load_calendar

    import sqlite3

    calendar = load_calendar(home)  # the installed calendar plus the demo's stand-ins
    with sqlite3.connect(home / "ledger.sqlite") as conn:
        (first_end,) = conn.execute("SELECT MIN(window_end) FROM draw_tasks WHERE state = 'drawn'").fetchone()
    start = date.fromisoformat(first_end)
    uncovered = start.year + 1
    while calendar.covers(uncovered):
        uncovered += 1
    monday = date(uncovered, 1, 1) + timedelta(days=(7 - date(uncovered, 1, 1).weekday()) % 7)
    # Results of the earliest drawn task fall due early in `uncovered`.
    due = working_days_until(start, uncovered, calendar) + 10
    original = (home / "calendar.toml").read_text(encoding="utf-8") if (home / "calendar.toml").exists() else ""
    (home / "results.toml").write_text(f"results_due_working_days = {due}\n", encoding="utf-8")
    overdue = _json(home, "report", "overdue")
    assert any(r["problem"] == "calendar_not_covered" for r in overdue)
    supplied = original + f'\n["{uncovered}"]\nholidays = ["{uncovered}-01-01"]\nworkdays = []\n'
    (home / "calendar.toml").write_text(supplied, encoding="utf-8")
    assert not any(r["problem"] == "calendar_not_covered" for r in _json(home, "report", "overdue"))
    bad = original + f'\n["{uncovered}"]\nworkdays = ["{monday.isoformat()}"]\n'  # a Monday is no make-up day
    (home / "calendar.toml").write_text(bad, encoding="utf-8")
    assert_clear_failure(run("report", "overdue", home=home), "calendar.toml", "weekend")


@pytest.mark.parametrize("command", [("result", "record"), ("result", "correct"), ("result", "disclose"),
                                     ("result", "public"), ("report", "trace"), ("report", "actor"),
                                     ("report", "refused"), ("report", "overdue"), ("report", "conflicts")])
def test_every_command_has_help_with_an_example(command: tuple[str, str], tmp_path: Path) -> None:
    result = run(*command, "--help", home=tmp_path)
    assert result.returncode == 0 and "Example:" in result.stdout and "drledger " + command[0] in result.stdout
