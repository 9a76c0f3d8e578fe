"""`drledger class|firm|objection|notice` and `task approve|extend-window` through the real console
script, on the demo city (which uses a temporary task, a firm's acknowledgement and an objection)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import assert_clear_failure, demo_home, demo_keys, home, run  # noqa: F401 - fixtures


def test_the_demo_notice_code_checks_and_a_wrong_one_does_not(home: Path) -> None:
    listed = run("objection", "list", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    objections = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(o["task_id"], o["outcome"]) for o in objections] == [("T-DEMO-RECENT", "rejected")]
    # The temporary task's first target: its notice code, printed for the inspectors, checks publicly.
    reps = sorted(p.stem for p in (home / "demo-keys").glob("rep-*.pem"))
    assert reps, "the demo registers firm representatives"
    codes = {r[len("rep-"):]: run("notice", "code", "T-DEMO-TEMP", r[len("rep-"):], home=home) for r in reps}
    drawn = [uscc for uscc, result in codes.items() if result.returncode == 0]
    assert len(drawn) == 1, {u: r.stderr for u, r in codes.items()}  # the other objected in a results task
    uscc, code = drawn[0], codes[drawn[0]]
    assert_clear_failure(next(r for u, r in codes.items() if u != uscc), "no standing draw")
    printed = code.stdout.split("\t")[0]
    checked = run("notice", "check", printed.lower(), home=home)
    assert checked.returncode == 0 and uscc in checked.stdout and "T-DEMO-TEMP" in checked.stdout, checked
    wrong = printed[:-1] + ("0" if printed[-1] != "0" else "1")
    missed = run("notice", "check", wrong, home=home)
    assert missed.returncode == 1 and "no standing draw" in missed.stderr
    assert "Traceback" not in missed.stderr


def test_task_extend_window_and_class_set_are_signed_and_verified(home: Path) -> None:
    env = demo_keys(home)
    reviewer = next(p.stem for p in (home / "demo-keys").glob("reviewer-*.pem"))
    planner = "planner-" + reviewer[len("reviewer-"):]  # the department of the demo's temporary task
    back = run("task", "extend-window", "T-DEMO-TEMP", "--to", "2020-01-01", "--reason", "x", "--as", planner,
               home=home, env=env)
    assert_clear_failure(back, "not_forward")
    done = run("task", "extend-window", "T-DEMO-TEMP", "--to", "2027-01-31", "--reason", "春节假期顺延",
               "--as", planner, home=home, env=env)
    assert done.returncode == 0 and "2027-01-31" in done.stdout, done.stderr
    bad = run("class", "set", "--class", "A=低", "--source", "x", "--as", "admin", home=home, env=env)
    assert_clear_failure(bad, "invalid", "2-10")
    five = ["--class", "A=低风险", "--class", "B=一般风险", "--class", "C=较高风险", "--class", "D=高风险",
            "--class", "E=严重失信", "--cap", "2", "--source", "山东省 A-E"]
    assert run("class", "set", *five, "--as", "admin", home=home, env=env).returncode == 0
    shown = json.loads(run("class", "show", "--json", home=home).stdout)
    assert [c["code"] for c in shown["classes"]] == list("ABCDE") and shown["annual_cap_per_firm"] == 2
    verified = run("verify", home=home)
    assert verified.returncode == 0, verified.stdout + verified.stderr
