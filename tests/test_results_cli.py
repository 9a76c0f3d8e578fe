"""`drledger result`, `drledger report` and `drledger settings` through the real console script.

The demo ledger is built once as a template no test touches; every test works
on its own copy. The demo's actors sign with their demo keys (HOME/demo-keys).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.cli_helpers import as_json, assert_clear_failure, demo_home, demo_keys, home, run  # noqa: F401 - fixtures


def test_reports_in_every_format(home: Path) -> None:
    refused = as_json(home, "report", "refused")
    codes = {r["code"] for r in refused}
    assert {"inspector_not_assigned", "target_not_drawn", "outside_window", "item_not_on_task", "unknown_task",
            "bad_signature", "unknown_actor", "reused_nonce"} <= codes
    # Authenticated attempts (bucket: the actor) first, then the unauthenticated bucket.
    buckets = [r["bucket"] == "?unauthenticated" for r in refused]
    assert buckets == sorted(buckets) and any(buckets) and not all(buckets)
    assert all(r["authenticated"] == (r["bucket"] != "?unauthenticated") for r in refused)
    text = run("report", "refused", "--format", "csv", home=home).stdout
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == len(refused)
    assert "problem" in run("report", "overdue", home=home).stdout  # the table's header
    overdue = as_json(home, "report", "overdue")
    assert {"result_late", "result_missing"} <= {r["problem"] for r in overdue}
    assert any(r["problem"] == "assigned_under_conflict" for r in as_json(home, "report", "conflicts"))


def test_trace_and_actor(home: Path) -> None:
    public = as_json(home, "result", "public", "--task", "T-DEMO-LATE")
    assert public and all("*" in name for p in public for name in p["inspectors"])
    target = public[0]["uscc"]
    rows = as_json(home, "report", "trace", "--task", "T-DEMO-LATE", "--target", str(target))
    assert rows[0]["kind"] == "drawn" and rows[0]["command_name"] == "draw.run"
    recorded = next(r for r in rows if r["kind"] == "recorded")
    assert recorded["signature"] and recorded["key_id"] and len(str(recorded["event_hash"])) == 64
    assert recorded["command_name"] == "result.record" and json.loads(str(recorded["command"]))["actor"] == \
        recorded["actor"]
    mine = as_json(home, "report", "actor", str(recorded["actor"]))
    assert any(r["seq"] == recorded["command_seq"] and r["kind"] == "result.record" for r in mine)
    assert "assigned" in {r["kind"] for r in mine}
    # Every command of an actor, whatever its name: the admin's genesis, registrations and settings.
    admin = {r["kind"] for r in as_json(home, "report", "actor", "admin")}
    assert {"ledger.genesis", "directory.import", "actor.register"} <= admin
    missing = run("report", "trace", "--task", "T-NONE", "--target", str(target), home=home)
    assert_clear_failure(missing, "nothing recorded")


@pytest.mark.slow
def test_record_correct_disclose_and_refusal(home: Path) -> None:
    overdue = as_json(home, "report", "overdue")
    gap = next(r for r in overdue if r["problem"] == "result_missing" and r["task_id"] == "T-DEMO-LATE")
    badge = str(gap["inspectors"]).split(";")[0]
    keys = demo_keys(home)
    args = ("result", "record", "T-DEMO-LATE", str(gap["uscc"]), "--category", "no_issue", "--findings", "未发现问题",
            "--method", "onsite,written", "--as", badge)
    outside = run(*args, "--inspected-on", "2020-01-01", home=home, env=keys)
    assert_clear_failure(outside, "refused (outside_window)")
    assert outside.returncode == 1
    window_day = next(r for r in as_json(home, "result", "public", "--task", "T-DEMO-LATE"))["inspected_on"]
    ok = run(*args, "--inspected-on", str(window_day), home=home, env=keys)
    assert ok.returncode == 0, ok.stderr
    assert "(late)" in ok.stdout
    again = run(*args, "--inspected-on", str(window_day), home=home, env=keys)
    assert_clear_failure(again, "duplicate_result")
    fixed = run("result", "correct", "T-DEMO-LATE", str(gap["uscc"]), "--category", "pending", "--reason", "补录线索",
                "--as", badge, home=home, env=keys)
    assert fixed.returncode == 0 and "corrections 1" in fixed.stdout, fixed.stderr
    # The inspector may not publish; the department's reviewer sends it back, then approves and publishes.
    own = run("result", "disclose", "T-DEMO-LATE", str(gap["uscc"]), "--as", badge, home=home, env=keys)
    assert_clear_failure(own, "refused (missing_role)")
    reviewer = f"reviewer-{gap['department']}"
    back = run("result", "return", "T-DEMO-LATE", str(gap["uscc"]), "--reason", "请附检查记录", "--as", reviewer,
               home=home, env=keys)
    assert back.returncode == 0 and "审核不通过" in back.stdout, back.stderr
    (home / "检查记录.pdf").write_bytes(b"%PDF-1.4 demo record")
    again = run("result", "correct", "T-DEMO-LATE", str(gap["uscc"]), "--reason", "补充检查记录", "--evidence",
                str(home / "检查记录.pdf"), "--as", badge, home=home, env=keys)
    assert again.returncode == 0 and "待审核" in again.stdout and "evidence 1 file" in again.stdout, again.stderr
    shown = run("result", "disclose", "T-DEMO-LATE", str(gap["uscc"]), "--as", reviewer, home=home, env=keys)
    assert shown.returncode == 0 and "已公示" in shown.stdout, shown.stderr
    mine = {r["kind"] for r in as_json(home, "report", "actor", badge)}
    assert {"result.record", "result.correct", "refused:outside_window", "refused:duplicate_result",
            "refused:missing_role"} <= mine
    assert {"result.return", "result.disclose"} <= {r["kind"] for r in as_json(home, "report", "actor", reviewer)}
    no_key = run(*args, "--inspected-on", str(window_day), home=home)  # the key is not where it looks
    assert_clear_failure(no_key, "no key for")
    verify = run("verify", home=home, timeout=300)
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.slow
def test_settings_are_signed_by_an_admin_and_read_from_the_ledger(home: Path) -> None:
    from ledger.demo.calendar import working_days_until
    from ledger.services.settings import calendar_in_force
    from ledger.store.config import resolve_store

    import sqlite3

    keys = demo_keys(home)
    calendar = calendar_in_force(resolve_store(None, home))  # the years the demo seeded from chinesecalendar
    with sqlite3.connect(home / "ledger.sqlite") as conn:
        (first_end,) = conn.execute("SELECT MIN(window_end) FROM draw_tasks WHERE state = 'drawn'").fetchone()
    start = date.fromisoformat(first_end)
    uncovered = start.year + 1
    while calendar.covers(uncovered):
        uncovered += 1
    monday = date(uncovered, 1, 1) + timedelta(days=(7 - date(uncovered, 1, 1).weekday()) % 7)
    # Results of the earliest drawn task fall due early in `uncovered`: provisional, never refused.
    due = working_days_until(start, uncovered, calendar) + 10
    (home / "results.toml").write_text(f"results_due_working_days = {due}\n", encoding="utf-8")
    inspector = next(r["claimed_actor"] for r in as_json(home, "report", "refused") if r["authenticated"])
    refused = run("settings", "results", "--file", str(home / "results.toml"), "--as", str(inspector), home=home,
                  env=keys)
    assert_clear_failure(refused, "refused (missing_role)")
    done = run("settings", "results", "--file", str(home / "results.toml"), "--as", "admin", home=home, env=keys)
    assert done.returncode == 0 and "recorded" in done.stdout, done.stderr
    shown = json.loads(run("settings", "show", "--format", "json", home=home).stdout)
    assert shown["results"]["results_due_working_days"] == due
    far = date(uncovered, 12, 31).isoformat()
    assert any(r["provisional"] for r in as_json(home, "report", "overdue", "--as-of", far)
               if r["problem"] == "result_missing")
    (home / "calendar.toml").write_text(f'[{uncovered}]\nholidays = ["{uncovered}-01-01"]\nworkdays = []\n',
                                        encoding="utf-8")
    calendar_args = ("settings", "calendar", "--file", str(home / "calendar.toml"), "--as", "admin")
    recorded = run(*calendar_args, "--source", "国务院办公厅通知（测试）", home=home, env=keys)
    assert recorded.returncode == 0 and f"{uncovered}: 1 holidays" in recorded.stdout, recorded.stderr
    assert f"{uncovered}: unchanged" in run(*calendar_args, "--source", "国务院办公厅通知（测试）", home=home,
                                            env=keys).stdout
    assert not any(r["provisional"] for r in as_json(home, "report", "overdue", "--as-of", far))
    text = run("settings", "show", home=home).stdout
    assert f"calendar {uncovered}: 1 holidays" in text and "国务院办公厅通知（测试）" in text
    seeded = run("calendar", "seed", "--year", str(start.year), "--as", "admin", home=home, env=keys)
    assert seeded.returncode == 0 and f"{start.year}: unchanged" in seeded.stdout, seeded.stderr
    assert_clear_failure(run("calendar", "seed", "--year", str(uncovered + 50), "--as", "admin", home=home, env=keys),
                         "does not know")
    (home / "calendar.toml").write_text(f'[{uncovered}]\nworkdays = ["{monday.isoformat()}"]\n', encoding="utf-8")
    assert_clear_failure(run(*calendar_args, home=home, env=keys), "calendar.toml", "weekend")  # a Monday: no make-up
    verify = run("verify", home=home, timeout=300)
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.parametrize("command", [("result", "record"), ("result", "correct"), ("result", "disclose"),
                                     ("result", "return"), ("result", "follow-up-done"), ("calendar", "seed"),
                                     ("result", "public"), ("report", "trace"), ("report", "actor"),
                                     ("report", "refused"), ("report", "overdue"), ("report", "conflicts"),
                                     ("settings", "results"), ("settings", "calendar"), ("settings", "show")])
def test_every_command_has_help_with_an_example(command: tuple[str, str], tmp_path: Path) -> None:
    result = run(*command, "--help", home=tmp_path)
    assert result.returncode == 0 and "Example:" in result.stdout and "drledger " + command[0] in result.stdout


def test_init_can_seed_the_calendar_and_seeding_again_changes_nothing(tmp_path: Path) -> None:
    from ledger.domain.commands import china_date
    from ledger.domain.workdays import package_years
    from ledger.integrity.canonical import utc_now

    home = tmp_path / "data"
    years = [y for y in package_years() if y >= china_date(utc_now()).year - 1]
    made = run("init", "--seed-calendar", home=home)
    assert made.returncode == 0, made.stderr
    assert ", ".join(f"{y} recorded" for y in years) in made.stdout if years else "knows no year" in made.stdout
    shown = json.loads(run("settings", "show", "--format", "json", home=home).stdout)
    assert [y["year"] for y in shown["calendar_years"]] == years
    assert all("chinesecalendar" in y["source"] for y in shown["calendar_years"])
    if years:
        again = run("calendar", "seed", "--year", str(years[-1]), "--as", "admin", home=home)
        assert again.returncode == 0 and f"{years[-1]}: unchanged" in again.stdout, again.stderr
    verify = run("verify", home=home, timeout=300)
    assert verify.returncode == 0, verify.stdout + verify.stderr
