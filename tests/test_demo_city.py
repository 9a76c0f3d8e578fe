"""The demo city: deterministic, realistic, and imported through its actors' signed path."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ledger.demo import City, generate_city, to_csv
from ledger.domain.uscc import validate_uscc
from ledger.domain.rows import parse_rows
from ledger.store.config import StoreConfig


@pytest.fixture(scope="module")
def small() -> City:
    return generate_city(seed=42, small=True)


@pytest.fixture(scope="module")
def full() -> City:
    return generate_city(seed=42, small=False)


def test_deterministic(small: City) -> None:
    assert generate_city(seed=42, small=True) == small
    other = generate_city(seed=43, small=True)
    assert other.entities != small.entities
    assert other.departments == small.departments  # structure is fixed, pools vary


def test_sizes(small: City, full: City) -> None:
    # Eight city departments and the market-regulation bureaus of the districts (and, in the full
    # city, of the two functional zones 仙女湖区 and 高新区).
    assert len(small.departments) == 10 and len(full.departments) == 12
    assert 40 <= len(small.items) <= 45 and full.items == small.items
    assert len(small.entities) == 300 and len(small.inspectors) == 40
    assert len(full.entities) == 60_000 and len(full.inspectors) == 330
    assert 20 <= Counter(i.role for i in full.inspectors)["expert"] <= 40
    assert small.conflicts and full.conflicts


@pytest.mark.parametrize("kind", ["departments", "items", "entities", "inspectors", "conflicts"])
@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_csv_round_trip(small: City, kind: str, encoding: str) -> None:
    rows = small.rows(kind)  # type: ignore[arg-type]
    r = parse_rows(kind, to_csv(rows, kind, encoding=encoding), encoding=encoding,  # type: ignore[arg-type]
                   accept_bad_check=True)
    assert r.ok, r.errors[:5]
    assert tuple(r.rows) == rows


def test_full_entities_round_trip(full: City) -> None:
    r = parse_rows("entities", to_csv(full.entities, "entities"), accept_bad_check=True)
    assert r.ok and tuple(r.rows) == full.entities


def test_bad_check_entities_need_the_flag(full: City) -> None:
    flagged = [e for e in full.entities if not e.check_ok]
    assert 0.002 * len(full.entities) <= len(flagged) <= 0.01 * len(full.entities)  # "a few": ~0.5 %
    for e in flagged:
        assert validate_uscc(e.uscc).kind == "bad_check"  # type: ignore[union-attr]
    r = parse_rows("entities", to_csv(full.entities, "entities"))
    assert not r.ok
    assert len(r.errors) == len(flagged)
    assert all(e.column == "uscc" for e in r.errors)


def test_codes_valid_unique_and_varied(full: City) -> None:
    codes = [e.uscc for e in full.entities]
    assert len(set(codes)) == len(codes)
    assert all(validate_uscc(e.uscc) is None for e in full.entities if e.check_ok)
    prefixes = Counter(c[:2] for c in codes)
    assert {"91", "92", "93"} <= set(prefixes)
    assert prefixes["N2"] > 0  # letter registering department
    # Entity type agrees with the code's department/type.
    kinds = {"91": "enterprise", "92": "individual", "93": "cooperative", "N2": "other", "52": "other"}
    assert all(kinds[e.uscc[:2]] == e.entity_type for e in full.entities)


def test_distributions(full: City) -> None:
    n = len(full.entities)
    risk = Counter(e.risk_class for e in full.entities)
    for cls, share in (("A", 0.60), ("B", 0.30), ("C", 0.08), ("D", 0.02)):
        assert abs(risk[cls] / n - share) < 0.02, (cls, risk)
    assert all(e.region_code in ("360502", "360521") for e in full.entities)
    assert all(e.uscc[2:8] in ("360500", "360502", "360521") for e in full.entities)
    assert len({e.name for e in full.entities}) == n
    assert Counter(e.status for e in full.entities)["active"] > 0.9 * n
    # Mostly 个体工商户 and enterprises, some of them branches; every zone has its firms.
    types = Counter(e.entity_type for e in full.entities)
    assert types["individual"] > types["enterprise"] > types["cooperative"] > 0
    assert any(e.name.endswith("分公司") and e.entity_type == "enterprise" for e in full.entities)
    zones = Counter(e.departments[1] for e in full.entities)
    assert set(zones) == {"YS-SCJG", "FY-SCJG", "XNH-SCJG", "GX-SCJG"} and min(zones.values()) > 0.05 * n


def test_references_resolve(full: City) -> None:
    depts = {d.code for d in full.departments}
    items = {i.code for i in full.items}
    assert all(d.parent is None or d.parent in depts for d in full.departments)
    assert all(i.department in depts for i in full.items)
    assert all(set(e.departments) <= depts for e in full.entities)
    assert all(i.department in depts and set(i.qualifications) <= items for i in full.inspectors)
    badges = {i.badge for i in full.inspectors}
    assert len(badges) == len(full.inspectors)  # badges are unique (the zones share 渝水区's code)
    usccs = {e.uscc for e in full.entities}
    assert all(c.badge in badges and c.uscc in usccs for c in full.conflicts)


def test_items_realistic(small: City) -> None:
    assert any(i.key_item for i in small.items) and any(not i.key_item for i in small.items)
    assert all(i.legal_basis.startswith("《") for i in small.items)
    methods = {m for i in small.items for m in i.methods}
    assert {"onsite", "written", "online", "testing", "agency", "adopted"} == methods
    assert {"product", "project"} <= {i.target_kind for i in small.items}


@pytest.mark.parametrize("size", ["small", "full"])
def test_inspectors_mostly_enforcement(size: str, request: pytest.FixtureRequest) -> None:
    full = request.getfixturevalue(size)
    roles = Counter(i.role for i in full.inspectors)
    assert roles["enforcement"] > 0.8 * len(full.inspectors)
    assert roles["expert"] > 0 or size == "small"
    # Every department can field at least two enforcement officers (the
    # two-officer rule), so draws on demo data are possible.
    per_dept = Counter(i.department for i in full.inspectors if i.role == "enforcement")
    assert all(per_dept[d.code] >= 2 for d in full.departments)


@pytest.mark.slow
def test_the_demo_city_goes_in_through_its_actors_signed_imports(store: StoreConfig) -> None:
    """Stage 1 of the demo on a real store: every row arrives in a `directory.import`
    signed by the list manager of its department (departments: the admin), each
    actor with its own demo key in HOME/demo-keys, and `verify` re-executes it all."""
    import base64

    import msgspec

    from ledger.demo.actors import demo_keys_dir, list_manager
    from ledger.demo.build import build_demo, init_demo_ledger
    from ledger.services import pools
    from ledger.services.actors import list_actors
    from ledger.store.reader import open_reader
    from ledger.verify.ledger_check import verify_ledger

    init_demo_ledger(store, origin="test.drledger/demo")
    city = generate_city(seed=5, small=True)
    demo = build_demo(store, seed=5, small=True)
    folder = demo_keys_dir(store)
    assert "NOT REAL CUSTODY" in (folder / "README.txt").read_text(encoding="utf-8")
    assert sorted(p.name for p in store.home.rglob("*.pem") if folder not in p.parents) == ["ledger.pem"]
    actors = {a.actor_id: a for a in list_actors(store)}
    assert set(demo.actors) <= set(actors) and (folder / "admin.pem").exists()
    for department in city.departments:
        manager = actors[list_manager(department.code)]
        assert (manager.roles, manager.department) == (["list_manager"], department.code)
        assert (folder / f"{manager.actor_id}.pem").exists()
    inspectors = [i for i in city.inspectors if i.status == "active"]
    assert all(actors[i.badge].roles == ["inspector"] for i in inspectors)
    with open_reader(store) as reader:
        imports = [msgspec.json.decode(row.state) for row in reader.events_with_topics(["drledger/command/Accepted"])
                   if msgspec.json.decode(row.state)["name"] == "directory.import"]
    signers = {(msgspec.json.decode(base64.b64decode(i["command"]))["body"]["kind"], i["actor"]) for i in imports}
    assert ("departments", "admin") in signers and ("entities", list_manager("XY-SCJG")) in signers
    assert all(actor.startswith("lm-") for kind, actor in signers if kind != "departments")
    assert sorted(pools.entities(store), key=lambda r: r.uscc) == sorted(city.entities, key=lambda r: r.uscc)
    report = verify_ledger(store)
    assert report.ok, report.problems
    # + genesis, - admin (registered by it), + the demo's draw cooling-off setting
    assert report.checks["commands_reexecuted"] == len(imports) + len(demo.actors) - 1 + 1 + 1


@pytest.mark.slow
def test_the_same_seed_gives_the_same_head_and_another_seed_another(tmp_path: Path) -> None:
    """The demo runs on its own clock, nonces and keys (demo/clock.py): two builds with one seed, in
    two processes (other hash seeds), give the same ledger head; another seed another head."""
    import json

    from tests.cli_helpers import run

    def head(seed: int, name: str) -> tuple[int, str]:
        home = tmp_path / name
        built = run("demo", "--small", "--seed", str(seed), home=home, timeout=300)
        assert built.returncode == 0, built.stderr
        shown = json.loads(run("status", "--json", home=home).stdout)
        return shown["size"], shown["head"]

    first = head(5, "a")
    assert head(5, "b") == first
    assert head(6, "c")[1] != first[1]


def test_the_full_year_plans_24_tasks_a_third_of_them_joint() -> None:
    """The full demo's year (demo/year.py, built by `make run`, too slow for a test): 21 tasks in
    2026, 8 of them joint, each led by a department with its own items and one of the other
    departments' items per participant; with the results and practice stages' 3 tasks, 24."""
    from ledger.demo.city import SAMR
    from ledger.demo.clock import DEMO_YEAR, TODAY
    from ledger.demo.year import _tasks

    city = generate_city(seed=5, small=True)
    staffed: dict[str, list[str]] = {}
    for item in city.items:
        staffed.setdefault(item.department, []).append(item.code)
    tasks = _tasks(staffed)
    joint = [t for t in tasks if len(t.departments) > 1]
    assert len(tasks) + 3 == 24 and len(joint) == 8
    assert len({t.task_id for t in tasks}) == len(tasks) and any(t.departments[0] == SAMR for t in joint)
    for task in tasks:
        assert task.window_start.year == DEMO_YEAR and task.plan_id == f"P-{DEMO_YEAR}-{task.departments[0]}"
        assert {i.rsplit("-", 1)[0] for i in task.items} == set(task.departments)
    assert sum(t.window_end < TODAY for t in tasks) >= 18  # most windows closed by the demo's today
