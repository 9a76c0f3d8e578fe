"""`drledger proposal` and `settings governance` through the real console script (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import assert_clear_failure, run


def _register(home: Path, tmp: Path, actor: str, role: str, department: str | None = None) -> str:
    key = run("actor", "keygen", "--out", str(tmp / f"{actor}.pem"), home=home).stdout.split()[2]
    where = ["--department", department] if department else []
    done = run("actor", "register", actor, "--name", actor, "--role", role, *where, "--public-key", key,
               "--as", "admin", home=home)
    assert done.returncode == 0, done.stderr
    return key


def test_guarded_actions_wait_for_approvals_including_discipline(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    departments = tmp_path / "d.csv"  # an inspector is registered in a department, never ledger-wide
    departments.write_text("code,name,level,region_code\nXY-SCJG,新余市市场监督管理局,city,360500\n", encoding="utf-8")
    assert run("import", "departments", str(departments), "--as", "admin", home=home).returncode == 0
    for actor, role, department in (("JX-0001", "inspector", "XY-SCJG"), ("adm2", "admin", None),
                                    ("jj-01", "discipline", None)):
        _register(home, tmp_path, actor, role, department)
    # An admin alone cannot revoke an inspector.
    assert_clear_failure(run("actor", "revoke", "JX-0001", "--reason", "调离", "--as", "admin", home=home),
                         "refused (needs_approval)")
    opened = run("proposal", "open", "P-1", "--action", "revoke", "--target", "JX-0001", "--reason", "调离",
                 "--as", "admin", home=home)
    assert opened.returncode == 0, opened.stderr
    second = run("proposal", "approve", "P-1", "--as", "adm2", "--key", str(tmp_path / "adm2.pem"), home=home)
    assert second.returncode == 0 and "2 approvals of 2" in second.stdout, second.stdout + second.stderr
    # Two admins are not enough: a discipline actor must approve, and one registered just now
    # is still in its cooling-off period, so the proposal stays open.
    third = run("proposal", "approve", "P-1", "--as", "jj-01", "--key", str(tmp_path / "jj-01.pem"), home=home)
    assert third.returncode == 0, third.stderr
    listed = json.loads(run("proposal", "list", "--json", home=home).stdout)
    assert [(p["proposal_id"], p["done"], p["approvers"]) for p in listed] == [
        ("P-1", False, ["admin", "adm2", "jj-01"])]
    assert_clear_failure(run("proposal", "approve", "P-1", "--as", "adm2", "--key", str(tmp_path / "adm2.pem"),
                             home=home), "refused (duplicate)")
    # The target cannot approve its own case, whatever its role.
    assert_clear_failure(run("proposal", "approve", "P-1", "--as", "JX-0001", "--key",
                             str(tmp_path / "JX-0001.pem"), home=home), "refused (missing_role)")
    assert run("verify", home=home).returncode == 0


def test_governance_settings_have_floors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    assert_clear_failure(run("settings", "governance", "--approvals-needed", "1", "--cooling-off-days", "3",
                             "--as", "admin", home=home), "refused (invalid)", "approvals_needed")
    done = run("settings", "governance", "--approvals-needed", "3", "--cooling-off-days", "5", "--as", "admin",
               home=home)
    assert done.returncode == 0, done.stderr
    shown = json.loads(run("settings", "show", "--format", "json", home=home).stdout)
    assert shown["governance"] == {"approvals_needed": 3, "cooling_off_days": 5, "draw_abandon_after_hours": 24,
                                   "draw_cooling_off_days": 7}
    assert run("verify", home=home).returncode == 0
