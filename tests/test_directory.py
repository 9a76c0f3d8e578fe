"""一单两库 on both stores: imports, idempotence, changes, pools, snapshots, rebuilds."""

from __future__ import annotations

import json
import random
from pathlib import Path

import msgspec
import pytest

from ledger.demo.city import generate_city, to_csv
from ledger.domain.uscc import uscc_for_serial
from ledger.domain.rows import EntityRow
from ledger.projections import all_projections
from ledger.domain.filters import EntityFilter, InspectorFilter
from ledger.projections.pools import class_counts, pool_root, pool_snapshot, query_entities, query_inspectors
from ledger.projections.directory import fields_of
from ledger.projections.runner import catch_up, rebuild, writable_connection
from ledger.services.directory import ImportSummary
from ledger.services.directory import import_file as import_signed
from ledger.services.processor import CommandRefused
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger
from tests.cli_helpers import run
from tests.ledger_helpers import TestLedger, new_ledger

CITY = generate_city(11, small=True)


def import_file(ledger: TestLedger, kind: str, data: bytes, actor: str = "admin", **kwargs: object) -> ImportSummary:
    """A CSV file parsed and signed on `actor`'s side, then submitted."""
    with ledger.service() as service:
        return import_signed(service, ledger.keys[actor], actor, kind, data, **kwargs)  # type: ignore[arg-type]


def size(store: StoreConfig) -> int:
    with open_reader(store) as reader:
        return reader.size()


@pytest.fixture
def city(store: StoreConfig) -> TestLedger:
    ledger = new_ledger(store, origin="test.drledger/pools")
    for kind in ("departments", "items", "entities", "inspectors", "conflicts"):
        summary = import_file(ledger, kind, to_csv(CITY.rows(kind), kind), accept_bad_check=True)
        assert summary.written and not summary.errors, summary.errors
        assert summary.receipt is not None and summary.events == summary.new + summary.changed + 2
    return ledger


@pytest.fixture
def city_ledger(city: TestLedger) -> StoreConfig:
    return city.store


def read(store: StoreConfig, query):  # type: ignore[no-untyped-def]
    catch_up(store, all_projections())
    with writable_connection(store) as (conn, dialect, _):
        return query(conn, dialect)


def test_pools_hold_exactly_the_imported_rows(city_ledger: StoreConfig) -> None:
    entities = read(city_ledger, lambda c, d: query_entities(c, d, EntityFilter()))
    assert sorted(entities, key=lambda r: r.uscc) == sorted(CITY.entities, key=lambda r: r.uscc)
    inspectors = read(city_ledger, lambda c, d: query_inspectors(c, d, InspectorFilter()))
    assert sorted(inspectors, key=lambda r: r.badge) == sorted(CITY.inspectors, key=lambda r: r.badge)
    d_class = read(city_ledger, lambda c, d: query_entities(c, d, EntityFilter(risk_classes=("D",))))
    assert [r.uscc for r in d_class] == sorted(r.uscc for r in CITY.entities if r.risk_class == "D")
    county = CITY.entities[0].region_code[:6]
    by_region = read(city_ledger, lambda c, d: query_entities(c, d, EntityFilter(region_prefix=county)))
    assert {r.uscc for r in by_region} == {r.uscc for r in CITY.entities if r.region_code.startswith(county)}
    assert verify_ledger(city_ledger).ok


def test_reimport_writes_nothing_and_changes_become_events(city: TestLedger, city_ledger: StoreConfig) -> None:
    before = size(city_ledger)
    again = import_file(city, "entities", to_csv(CITY.entities, "entities"), accept_bad_check=True)
    assert (again.new, again.changed, again.unchanged, again.written) == (0, 0, len(CITY.entities), False)
    assert size(city_ledger) == before  # not even a refusal: an unchanged file is not submitted
    changed = list(CITY.entities)
    changed[3] = msgspec.structs.replace(changed[3], name=changed[3].name + "（更名）", status="deregistered")
    summary = import_file(city, "entities", to_csv(changed, "entities"), accept_bad_check=True)
    assert (summary.new, summary.changed, summary.events) == (0, 1, 3)
    assert size(city_ledger) == before + 3  # the command, the change and the import record
    with open_reader(city_ledger) as reader:
        rows = list(reader.rows(before + 1, before + 3))
    payloads = [json.loads(row.state) for row in rows]
    assert rows[0].topic == "drledger/command/Accepted" and payloads[0]["name"] == "directory.import"
    assert payloads[1]["changed"] == ["name", "status"] and payloads[1]["record"]["uscc"] == changed[3].uscc
    assert payloads[2]["kind"] == "entities" and payloads[2]["changed"] == 1
    now = read(city_ledger, lambda c, d: query_entities(c, d, EntityFilter(statuses=("deregistered",))))
    assert changed[3].uscc in {r.uscc for r in now}


def test_one_bad_row_among_thousands_writes_nothing(city: TestLedger, city_ledger: StoreConfig) -> None:
    rows = [EntityRow(uscc=uscc_for_serial(i, region="360502"), name=f"测试商贸{i}", entity_type="enterprise",
                      region_code="360502", industry="F5212", risk_class="B") for i in range(3000)]
    data = to_csv(rows, "entities").replace(rows[1776].uscc.encode(), rows[1776].uscc[:-1].encode() + b"I", 1)
    before = size(city_ledger)
    summary = import_file(city, "entities", data)
    assert not summary.written and [e.line for e in summary.errors] == [1778]  # header is line 1
    assert summary.errors[0].column == "uscc"
    assert size(city_ledger) == before


def test_unknown_references_are_refused_with_their_lines(city: TestLedger, city_ledger: StoreConfig) -> None:
    before = size(city_ledger)
    data = "badge,uscc,reason\nNO-SUCH-BADGE,{u},亲属\n".format(u=CITY.entities[0].uscc).encode()
    summary = import_file(city, "conflicts", data)
    assert [(e.line, e.column) for e in summary.errors] == [(2, "badge")] and not summary.written
    assert size(city_ledger) == before  # found on the signer's side: nothing signed, nothing written


def test_reclassification_writes_only_changes(city: TestLedger, city_ledger: StoreConfig) -> None:
    rng = random.Random(3)
    rows = []
    new_class: dict[str, str] = {}
    for entity in CITY.entities:
        new_class[entity.uscc] = entity.risk_class
        if rng.random() < 0.1:
            new_class[entity.uscc] = rng.choice([c for c in "ABCD" if c != entity.risk_class])
        rows.append(f"{entity.uscc},{new_class[entity.uscc]}")
    changed = {e.uscc for e in CITY.entities if new_class[e.uscc] != e.risk_class}
    assert changed
    active = [e.uscc for e in CITY.entities if e.status == "active"]
    old_class = {e.uscc: e.risk_class for e in CITY.entities}

    def pools(classes: dict[str, str]) -> dict[str, list[str]]:
        return {k: sorted((u for u in active if classes[u] == k), key=str.encode) for k in "ABCD"}

    position = size(city_ledger)
    summary = import_file(city, "reclassifications", ("uscc,risk_class\n" + "\n".join(rows) + "\n").encode())
    assert summary.changed == len(changed) and summary.events == len(changed) + 2
    assert size(city_ledger) == position + len(changed) + 2  # the command, the changes and the import record
    # The pool as of the earlier position is the imported one; the current one has the new classes.
    assert read(city_ledger, lambda c, d: pool_snapshot(c, d, EntityFilter(), position)).ids == pools(old_class)
    now = read(city_ledger, lambda c, d: pool_snapshot(c, d, EntityFilter(), size(city_ledger)))
    assert now.ids == pools(new_class) != pools(old_class)
    assert verify_ledger(city_ledger).ok


def test_pool_snapshot_roots_and_counts(city_ledger: StoreConfig) -> None:
    snapshot = read(city_ledger, lambda c, d: pool_snapshot(c, d, EntityFilter(), size(city_ledger)))
    active = [e for e in CITY.entities if e.status == "active"]
    for risk_class in "ABCD":
        expected = sorted((e.uscc for e in active if e.risk_class == risk_class), key=str.encode)
        assert snapshot.ids[risk_class] == expected
        assert snapshot.counts[risk_class] == len(expected)
        assert snapshot.roots[risk_class] == pool_root(expected).hex()


def test_class_counts_are_the_rows_the_filter_returns(city: TestLedger, city_ledger: StoreConfig) -> None:
    """A task's pool check counts per class in the database; the counts are those of the rows."""
    from collections import Counter

    county = CITY.entities[0].region_code[:6]
    filters = [EntityFilter(), EntityFilter(statuses=("active",), risk_classes=("B", "D")),
               EntityFilter(region_prefix=county, statuses=("active",)), EntityFilter(region_prefix="999999")]
    position = size(city_ledger)
    rows = [f"{e.uscc},{'A' if e.risk_class != 'A' else 'C'}" for e in CITY.entities[:40]]
    import_file(city, "reclassifications", ("uscc,risk_class\n" + "\n".join(rows) + "\n").encode())
    for f in filters:
        for at in (None, position):
            counted = read(city_ledger, lambda c, d: class_counts(c, d, f, at))
            listed = read(city_ledger, lambda c, d: query_entities(c, d, f, at))
            assert counted == dict(Counter(r.risk_class for r in listed))
    assert read(city_ledger, lambda c, d: class_counts(c, d, EntityFilter(), position)) \
        != read(city_ledger, lambda c, d: class_counts(c, d, EntityFilter()))


def test_rebuild_equals_incremental_state(city: TestLedger, city_ledger: StoreConfig) -> None:
    first, second = ("D" if CITY.entities[0].risk_class != "D" else "C"), ("A" if CITY.entities[1].risk_class != "A" else "B")
    import_file(city, "reclassifications",
                f"uscc,risk_class\n{CITY.entities[0].uscc},{first}\n{CITY.entities[1].uscc},{second}\n".encode())
    # The same firm again: a rebuild replays both files in one window.
    import_file(city, "reclassifications", f"uscc,risk_class\n{CITY.entities[0].uscc},B\n".encode())

    def dump(conn, dialect):  # type: ignore[no-untyped-def]
        tables = {}
        for table in next(p for p in all_projections() if p.name == "directory").tables():
            cursor = conn.cursor()
            cursor.execute(f"SELECT * FROM {dialect.table(table)}")
            tables[table] = sorted(map(tuple, cursor.fetchall()), key=repr)
        return tables

    incremental = read(city_ledger, dump)
    history = [row for row in incremental["dir_entities"] if row[0] == CITY.entities[0].uscc]
    assert [row[4 + fields_of(EntityRow).index("risk_class") - 1] for row in sorted(history, key=lambda r: r[1])][-2:] == [first, "B"]
    rebuild(city_ledger, all_projections())
    assert read(city_ledger, dump) == incremental
    assert sum(len(rows) for rows in incremental.values()) > len(CITY.entities)


@pytest.mark.slow
def test_cli_import_gb18030_and_errors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    admin = {"DRLEDGER_ACTOR": "admin"}  # who signs, from the environment
    departments = tmp_path / "departments.csv"
    departments.write_bytes(to_csv(CITY.departments, "departments", encoding="gb18030"))
    utf8_attempt = run("import", "departments", str(departments), home=home, env=admin)
    assert utf8_attempt.returncode == 1 and "nothing was written" in utf8_attempt.stderr
    ok = run("import", "departments", str(departments), "--encoding", "gb18030", home=home, env=admin)
    assert ok.returncode == 0 and f"{len(CITY.departments)} new" in ok.stdout, ok.stderr
    bad = tmp_path / "entities.csv"
    bad.write_text("uscc,name,entity_type,region_code,industry,risk_class\n"
                   "91110108551385082Q,小米科技有限责任公司,enterprise,110108,I6510,A\n"
                   "91110108551385082X,坏码公司,enterprise,110108,I6510,极高\n", encoding="utf-8")
    result = run("import", "entities", str(bad), home=home, env=admin)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert any("line 3, uscc" in line for line in lines) and any("line 3, risk_class" in line for line in lines)
    assert not any("line 2" in line for line in lines)
    dry = run("import", "entities", str(bad), "--dry-run", "--accept-bad-check", "--json", home=home, env=admin)
    assert dry.returncode == 1  # 极高 is no risk class (E is one only in a set that names it)
    good = tmp_path / "good.csv"
    good.write_text("\ufeffuscc,name,entity_type,region_code,industry,risk_class\n"
                    "91110108551385082Q,小米科技有限责任公司,enterprise,110108,I6510,A\n", encoding="utf-8")
    dry_ok = run("import", "entities", str(good), "--dry-run", home=home, env=admin)
    assert dry_ok.returncode == 0 and "1 new" in dry_ok.stdout and "would write 3 events" in dry_ok.stdout
    assert run("import", "entities", str(good), home=home, env=admin).returncode == 0
    listed = json.loads(run("pool", "entities", "--format", "json", home=home).stdout)
    assert listed == [{"uscc": "91110108551385082Q", "name": "小米科技有限责任公司", "entity_type": "enterprise",
                       "region_code": "110108", "industry": "I6510", "risk_class": "A", "departments": [],
                       "status": "active", "check_ok": True}]
    csv_out = run("pool", "entities", "--format", "csv", home=home).stdout
    assert csv_out.startswith("\ufeffuscc,") and "小米科技有限责任公司" in csv_out


def test_list_managers_import_only_their_own_departments(city: TestLedger, city_ledger: StoreConfig) -> None:
    """A list manager signs imports for its department (and those below it) only;
    departments themselves are an admin's."""
    city.register("lm-STHJ", "list_manager", department="XY-STHJ")
    city.register("lm-SCJG", "list_manager", department="XY-SCJG")
    items = [i for i in CITY.items if i.department == "XY-STHJ"]
    changed = [msgspec.structs.replace(items[0], content=items[0].content + "（修订）")]
    before = size(city_ledger)
    summary = import_file(city, "items", to_csv(changed, "items"), actor="lm-STHJ")
    assert summary.changed == 1 and summary.written
    samr = [i for i in CITY.items if i.department == "XY-SCJG"][:1]
    samr = [msgspec.structs.replace(samr[0], content=samr[0].content + "（修订）")]
    with pytest.raises(CommandRefused) as outside:
        import_file(city, "items", to_csv(samr, "items"), actor="lm-STHJ")
    assert outside.value.code == "out_of_jurisdiction"
    # The city bureau's list manager covers the county bureaus below it.
    county = [i for i in CITY.inspectors if i.department == "YS-SCJG"][:1]
    county = [msgspec.structs.replace(county[0], name=county[0].name + "乙")]
    assert import_file(city, "inspectors", to_csv(county, "inspectors"), actor="lm-SCJG").changed == 1
    with pytest.raises(CommandRefused) as departments:
        import_file(city, "departments", to_csv(CITY.departments[:1], "departments"), actor="lm-SCJG", dry_run=True)
    assert departments.value.code == "missing_role" and "dry run" in departments.value.message
    report = verify_ledger(city_ledger)
    assert report.ok, report.problems
    assert report.checks["refusals_rechecked"] == 1  # the out-of-jurisdiction import; a dry run records nothing
    assert size(city_ledger) > before


def test_dry_run_writes_nothing(city: TestLedger, city_ledger: StoreConfig) -> None:
    before = size(city_ledger)
    rows = [EntityRow(uscc=uscc_for_serial(i, region="360502"), name=f"试运行{i}", entity_type="enterprise",
                      region_code="360502", industry="F5212", risk_class="C", departments=("XY-SCJG",))
            for i in range(5)]
    summary = import_file(city, "entities", to_csv(rows, "entities"), dry_run=True)
    assert (summary.new, summary.events, summary.written, summary.receipt) == (5, 7, False, None)
    assert size(city_ledger) == before


@pytest.mark.parametrize("change, message", [
    ({"region_code": "ABCDEF"}, "invalid row(s): row 1: region_code"),
    ({"name": "  企业甲"}, "row 1 is not in canonical form"),  # parsing its own cells would strip the blanks
    ({"uscc": "91360502MA35XXXXXX"}, "invalid row(s): row 1: uscc"),
])
def test_the_ledger_revalidates_typed_rows_signed_beside_the_command(store: StoreConfig, change: dict[str, str],
                                                                     message: str) -> None:
    """Rows signed by a client that skipped the file's rules (no CSV involved) are re-checked by the
    decision, the same one verify re-executes: refused, nothing written but the refusal."""
    from tests.ledger_helpers import DEPARTMENT, entity_rows

    ledger = new_ledger(store)
    ledger.import_rows("admin", "departments", [DEPARTMENT])
    bad = msgspec.structs.replace(entity_rows(1)[0], **change)
    with open_reader(store) as reader:
        before = reader.size()
    with pytest.raises(CommandRefused) as caught:
        ledger.import_rows("admin", "entities", [bad])
    assert caught.value.code == "invalid_rows" and message in caught.value.message, caught.value
    with open_reader(store) as reader:
        assert [r.topic for r in reader.rows(before + 1, reader.size())] == ["drledger/refusals/Refused"] or \
            {r.topic for r in reader.rows(before + 1, reader.size())} <= {"drledger/refusals/Opened",
                                                                       "drledger/refusals/Refused"}
    assert verify_ledger(store).ok
