"""The rough edges a new user hit (issue 15), each through the real console script.

The demo ledger is built once as a template no test touches; each test that
writes works on its own copy.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from ledger.cli.output import csv_text, plain_text, safe_cell
from tests.cli_helpers import as_json, assert_clear_failure, demo_home, demo_keys, home, run  # noqa: F401 - fixtures

LONG = "X" * 100_000


# -- dates, positions, long values ---------------------------------------------------


def test_a_bad_date_names_the_option(demo_home: Path) -> None:
    result = run("report", "overdue", "--as-of", "2026-02-30", home=demo_home)
    assert_clear_failure(result, "--as-of", "2026-02-30", "YYYY-MM-DD")


def test_a_position_past_the_head_is_refused_with_the_head(demo_home: Path) -> None:
    head = int(json.loads(run("status", "--json", home=demo_home).stdout)["size"])
    for command in (("pool", "entities"), ("pool", "inspectors"), ("items",)):
        result = run(*command, "--as-of", str(head + 1), home=demo_home)
        assert_clear_failure(result, f"--as-of {head + 1}", f"head is position {head}")
    assert run("pool", "entities", "--as-of", str(head), home=demo_home).returncode == 0


def test_long_values_are_cut_in_errors(home: Path) -> None:
    result = run("result", "record", LONG, "91360500K9QXBGF9CG", "--category", "no_issue", "--findings", "x",
                 "--method", "onsite", "--inspected-on", "2026-05-01", "--as", "360500STHJ0001", home=home,
                 env=demo_keys(home))
    assert_clear_failure(result, "unknown_task", "(100000 characters)")
    assert len(result.stderr) < 500
    shown = run("task", "show", LONG, home=home)
    assert_clear_failure(shown, "unknown task", "(100000 characters)")
    assert len(shown.stderr) < 500


# -- refusals a newcomer expected ------------------------------------------------------


def test_empty_reasons_and_codes_are_refused(home: Path) -> None:
    revoke = run("actor", "revoke", "lm-XY-NYNC", "--reason", "", "--as", "admin", home=home, env=demo_keys(home))
    assert_clear_failure(revoke, "reason must not be empty")
    listed = run("actor", "list", "--json", home=home).stdout
    assert not next(a for a in json.loads(listed) if a["actor_id"] == "lm-XY-NYNC")["revoked"]
    task = as_json(home, "task", "list", "--state", "drawn")[0]["task_id"]
    for bad in ("", "  ", LONG):
        proof = run("draw", "prove", str(task), bad, home=home)
        assert_clear_failure(proof, "USCC", "expected 18 characters")
        assert proof.stdout == ""


def _task_args(home: Path) -> list[str]:
    plan = next(p for p in as_json(home, "plan", "list") if p["joint_departments"])
    department, item = str(plan["department"]), str(plan["items"][0])  # type: ignore[index]
    return ["task", "create", "T-EDGE", "--plan", str(plan["plan_id"]), "--name", "边角抽查", "--item", item,
            "--department", department, "--as", f"planner-{department}"]


def test_task_create_refuses_what_cannot_be_drawn(home: Path) -> None:
    args = _task_args(home)
    window = ["--window", "2026-03-01:2026-04-30"]
    assert_clear_failure(run(*args, *window, "--count", "C=0", home=home, env=demo_keys(home)), "at least 1")
    assert_clear_failure(run(*args, "--window", "2025-12-01:2026-01-31", "--count", "C=1", home=home,
                             env=demo_keys(home)), "plan's year 2026")
    assert_clear_failure(run(*args, *window, "--count", "C=1", "--region", "36x5", home=home, env=demo_keys(home)),
                         "GB/T 2260")
    assert_clear_failure(run(*args, *window, "--count", "C=1", "--region", "999999", home=home, env=demo_keys(home)),
                         "pool_too_small", "region 999999")
    entities = as_json(home, "pool", "entities", "--risk-class", "C", "--status", "active")
    big = run(*args, *window, "--count", "C=100000", home=home, env=demo_keys(home))
    assert_clear_failure(big, "pool_too_small", "count 100000", "larger than the class")
    assert f"{len(entities)} active entities" in big.stderr  # the class's size, as the pool holds it
    name = run(*args, "--name", "名" * 40_000, *window, "--count", "C=1", home=home,
               env=demo_keys(home))  # the last --name
    assert_clear_failure(name, "name is 40000 characters long; at most 200")
    assert not [t for t in as_json(home, "task", "list") if t["task_id"] == "T-EDGE"]
    ok = run(*args, "--name", "=SUM(A1:A9)", *window, "--count", "C=1", home=home, env=demo_keys(home))
    assert ok.returncode == 0, ok.stderr
    listed = run("task", "list", "--format", "csv", home=home).stdout
    row = next(r for r in csv.DictReader(io.StringIO(listed.lstrip("\ufeff"))) if r["task_id"] == "T-EDGE")
    assert row["name"] == "'=SUM(A1:A9)"  # a spreadsheet shows it, never runs it


def test_result_categories_and_unknown_task(home: Path) -> None:
    shown = run("result", "record", "--help", home=home).stdout
    assert "no_issue" in shown and "未发现问题" in shown and "false_disclosure" in shown
    badge = "360500STHJ0001"
    unknown = run("result", "record", "T-NOPE", "91360500K9QXBGF9CG", "--category", "no_issue", "--findings", "x",
                  "--method", "onsite", "--inspected-on", "2026-05-01", "--as", badge, home=home, env=demo_keys(home))
    assert_clear_failure(unknown, "refused (unknown_task)")
    codes = {r["code"] for r in as_json(home, "report", "refused", "--actor", badge)}
    assert "unknown_task" in codes and "wrong_task" not in codes


# -- files a newcomer imported -----------------------------------------------------------


ITEMS_HEADER = "code,name,department,legal_basis,content,methods,target_kind,key_item\n"


def test_binary_gb18030_and_reference_errors_on_import(home: Path, tmp_path: Path) -> None:
    env = demo_keys(home)
    binary = tmp_path / "items.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    result = run("import", "items", str(binary), "--as", "lm-XY-SCJG", "--dry-run", home=home, env=env)
    assert "not a text CSV" in result.stderr and "universal-newline" not in result.stderr
    assert result.stderr.count("line ") == 1 and result.returncode == 1
    # A workbook saved under a .csv name: its magic bytes say zip, so it is read (and refused) as one.
    zipped = tmp_path / "items.xlsx.csv"
    zipped.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4)
    result = run("import", "items", str(zipped), "--as", "lm-XY-SCJG", "--dry-run", home=home, env=env)
    assert "not a readable workbook" in result.stderr and result.returncode == 1
    chinese = tmp_path / "gb.csv"
    chinese.write_bytes((ITEMS_HEADER + "".join(f"X{i},名称{i},XY-SCJG,依据,内容,onsite,entity,true\n"
                                                for i in range(20))).encode("gb18030"))
    result = run("import", "items", str(chinese), "--as", "lm-XY-SCJG", "--dry-run", home=home, env=env)
    errors = [line for line in result.stderr.splitlines() if line.startswith(str(chinese))]
    assert len(errors) == 1 and "--encoding gb18030" in errors[0], result.stderr
    assert run("import", "items", str(chinese), "--encoding", "gb18030", "--as", "lm-XY-SCJG", "--dry-run",
               home=home, env=env).returncode == 0
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(ITEMS_HEADER + "X1,名称,NO-SUCH-DEPT,依据,内容,onsite,entity,true\n"
                     "X2,,XY-SCJG,依据,内容,onsite,entity,true\n", encoding="utf-8")
    result = run("import", "items", str(mixed), "--as", "lm-XY-SCJG", "--dry-run", home=home, env=env)
    assert "line 2, department: unknown department 'NO-SUCH-DEPT'" in result.stderr, result.stderr
    assert "line 3, name" in result.stderr and "2 error(s)" in result.stderr


# -- output in a pipe --------------------------------------------------------------------


def test_piped_tables_are_whole_and_csv_has_its_header(demo_home: Path) -> None:
    rows = as_json(demo_home, "pool", "entities")
    table = run("pool", "entities", home=demo_home)  # stdout is a pipe here
    assert table.returncode == 0 and "…" not in table.stdout
    lines = table.stdout.splitlines()
    assert len(lines) == len(rows) + 1 and lines[0].split() == list(rows[0])
    longest = max(rows, key=lambda r: len(str(r["name"])))
    assert str(longest["name"]) in table.stdout and str(longest["departments"][-1]) in table.stdout  # type: ignore[index]
    empty = run("pool", "entities", "--region", "99", "--format", "csv", home=demo_home)
    assert empty.returncode == 0 and empty.stdout == "\ufeff" + ",".join(rows[0]) + "\n"
    assert run("pool", "entities", "--region", "99", "--format", "json", home=demo_home).stdout.strip() == "[]"


def test_csv_cells_are_neutralised_and_tables_padded() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "a=b", "")] == \
        ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "a=b", ""]
    text = csv_text(["a", "=b"], [["-2", "ok"]])
    assert text.startswith("\ufeff") and list(csv.reader(io.StringIO(text.lstrip("\ufeff")))) == \
        [["a", "'=b"], ["'-2", "ok"]]
    table = plain_text(["名称", "x"], [["新余", "1"], ["a", "2"]])
    assert table.splitlines() == ["名称  x", "新余  1", "a     2"]  # CJK characters are two columns wide


@pytest.mark.parametrize("command", [("task", "list"), ("task", "show"), ("plan", "list"), ("plan", "show"),
                                     ("result", "show"), ("report", "stats"), ("report", "trace"),
                                     ("key", "rotate-ledger"), ("witness", "remove")])
def test_new_commands_have_help_with_an_example(command: tuple[str, str], tmp_path: Path) -> None:
    result = run(*command, "--help", home=tmp_path)
    assert result.returncode == 0 and "Example:" in result.stdout and "drledger " in result.stdout


# -- the insider: a task the rules refuse, recorded anyway ---------------------------------


@pytest.mark.parametrize(("change", "words"), [
    ({"quotas": {"C": {"count": 0, "ratio": None}}}, ("at least 1",)),
    ({"window_start": "2025-12-01", "window_end": "2026-01-31"}, ("plan's year",)),
    ({"target_filter": {"region_prefix": "36x5"}}, ("GB/T 2260",)),
])
def test_a_task_the_rules_refuse_fails_verify_when_an_insider_records_it(
        tmp_path: Path, change: dict[str, object], words: tuple[str, ...]) -> None:
    from datetime import date

    import msgspec

    from ledger.domain.draws import Task, TaskBody
    from ledger.store.config import resolve_store
    from tests.draw_helpers import city_with_drawer, task_body
    from tests.insider import Insider, command_event, refused_at

    store = resolve_store(None, tmp_path / "home")
    ledger = city_with_drawer(store)
    body = {**msgspec.to_builtins(task_body("T-INSIDER")), **change}
    signed = ledger.sign("planner", "task.create", body)
    nonce = msgspec.json.decode(signed.command)["nonce"]
    spec = msgspec.convert(body, TaskBody)
    assert isinstance(spec.window_start, date)
    with Insider(store) as insider:
        at = insider.append(lambda: [command_event(signed, "planner", "task.create", nonce),
                                     Task(**msgspec.structs.asdict(spec), actor="planner")])
    refused_at(store, at, *words)
