"""A small demo city with a registered planner and drawer, for draw tests.

The city's rows are imported as signed `directory.import` commands by the
admin; the planner and the drawer are registered actors holding their own
keys (TestLedger.keys, never the ledger's HOME). Plans, tasks and draws go
through ledger.services.draws, as `drledger plan/task/draw` do.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from ledger.demo.city import City, generate_city
from ledger.domain.draws import PlanBody, TaskBody
from ledger.draw.spec import Quota
from ledger.services import draws
from ledger.services.receipts import Receipt
from ledger.store.config import StoreConfig
from tests.ledger_helpers import TestLedger, new_ledger

PLAN = "P-2026-SCJG"
DEMO_SEED = 5  # the demo city city_with_drawer imports (ledger.demo.generate_city(DEMO_SEED, small=True))
SCJG_ITEMS = ("XY-SCJG-001", "XY-SCJG-002", "XY-SCJG-003")
IMPORT_ORDER = ("departments", "items", "entities", "inspectors", "conflicts")
ORIGIN = "test.drledger/draws"


def import_city(ledger: TestLedger, seed: int = DEMO_SEED) -> City:
    """The small demo city's rows, imported by the admin (signed commands)."""
    city = generate_city(seed, small=True)
    for kind in IMPORT_ORDER:
        summary = ledger.import_rows("admin", kind, list(city.rows(kind)), accept_bad_check=True)
        assert summary.written and not summary.errors, (kind, summary.errors[:3])
    return city


def city_with_drawer(store: StoreConfig, seed: int = DEMO_SEED) -> TestLedger:
    """The city, a planner and a drawer (both ledger-wide: no department), and plan PLAN."""
    ledger = new_ledger(store, ORIGIN)
    import_city(ledger, seed)
    ledger.register("planner", "planner")
    ledger.register("drawer", "drawer")
    with ledger.service() as service:
        draws.create_plan(service, ledger.keys["planner"], "planner", PlanBody(
            plan_id=PLAN, title="2026", department="XY-SCJG", year=2026, items=(*SCJG_ITEMS, "XY-WSJK-001"),
            joint_departments=("XY-WSJK",)))
    return ledger


def task_body(task_id: str, **changes: Any) -> TaskBody:
    fields: dict[str, Any] = dict(
        task_id=task_id, plan_id=PLAN, name=task_id, window_start=date(2026, 3, 1), window_end=date(2026, 5, 31),
        items=SCJG_ITEMS[:2], departments=("XY-SCJG",),
        quotas={"A": Quota(ratio="0.02"), "B": Quota(ratio="0.05"), "C": Quota(ratio="0.2"), "D": Quota(count=3)},
    )
    fields.update(changes)
    return TaskBody(**fields)


def new_task(ledger: TestLedger, task_id: str, *, actor: str = "planner", **changes: Any) -> Receipt:
    with ledger.service() as service:
        return draws.create_task(service, ledger.keys[actor], actor, task_body(task_id, **changes))


def commit(ledger: TestLedger, task_id: str, *, actor: str = "drawer", **kwargs: Any) -> draws.Commitment:
    with ledger.service() as service:
        return draws.commit_draw(service, ledger.keys[actor], actor, task_id, **kwargs)


def run(ledger: TestLedger, task_id: str, secret: str, beacon: str = "", *, actor: str = "drawer",
        signer: Any = None) -> draws.DrawRecord:
    with ledger.service() as service:
        return draws.run_draw(service, signer or ledger.keys[actor], actor, task_id, secret, beacon)


def void(ledger: TestLedger, task_id: str, reason: str, *, actor: str = "drawer") -> Receipt:
    with ledger.service() as service:
        return draws.void_draw(service, ledger.keys[actor], actor, task_id, reason)


def draw(ledger: TestLedger, task_id: str, beacon: str = "", *, actor: str = "drawer") -> draws.DrawRecord:
    """Commit, then run with the kept secret."""
    kept = commit(ledger, task_id, actor=actor, beacon_round="beacon round 1" if beacon else None)
    return run(ledger, task_id, draws.read_secret(kept.secret_file), beacon, actor=actor)


def secrets_folder() -> Path:
    """The drawer's secrets folder of the test ledger (under DRLEDGER_KEYS)."""
    return draws.secrets_dir(ORIGIN)
