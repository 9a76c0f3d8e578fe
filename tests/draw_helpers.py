"""A small demo city with a registered planner and drawer, for draw tests.

The city's rows are imported as signed `directory.import` commands by the
admin; the planner and the drawer are registered actors holding their own
keys (TestLedger.keys, never the ledger's HOME). Plans, tasks and draws go
through ledger.services.draws, as `drledger plan/task/draw` do. The ledger
pins the demo's local test beacon (ledger.demo.beacon), so a test can sign
the round a commitment names; the draw cooling-off is 0 days here (a signed
settings command), as every inspector is registered moments before a draw.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import msgspec

from ledger.beacon.network import LOCAL_BEACON_ID
from ledger.demo.beacon import DEMO_BEACON
from ledger.demo.city import City, generate_city
from ledger.domain.draws import BeaconChoice, PlanBody, Task, TaskBody
from ledger.domain.settings import GovernanceSettings
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
    ledger.submit("admin", "settings.governance", msgspec.to_builtins(GovernanceSettings(draw_cooling_off_days=0)))
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


def next_round(after_seconds: int = 15) -> int:
    """A round of the local test beacon published `after_seconds` from now (a future round; the
    margin covers a commitment decided slowly on a loaded machine, since a round published before
    the commitment is recorded is refused)."""
    return DEMO_BEACON.network.round_at(int(time.time()) + after_seconds)


def signature(round_number: int) -> str:
    """The local test beacon's signature of a round (a public beacon publishes it at its time)."""
    return DEMO_BEACON.signature_for(round_number).hex()


def commit(ledger: TestLedger, task_id: str, *, actor: str = "drawer", rounds: tuple[int, ...] | None = None,
           network: str = LOCAL_BEACON_ID) -> Receipt:
    choices = [BeaconChoice(network=network, round=r) for r in (rounds or (next_round(),))]
    with ledger.service() as service:
        return draws.commit_draw(service, ledger.keys[actor], actor, task_id, choices)


def committed_rounds(ledger: TestLedger, task_id: str) -> list[int]:
    with ledger.service() as service:
        task = service.processor.app.find(Task.create_id(task_id))
    assert task is not None and task.commitment is not None, f"task {task_id} has no standing commitment"
    return [b.round for b in task.commitment.beacons]


def run(ledger: TestLedger, task_id: str, signatures: list[str] | None = None, *, actor: str = "drawer",
        signer: Any = None) -> draws.DrawRecord:
    """Run with the committed rounds' signatures (by default: the right ones)."""
    if signatures is None:
        signatures = [signature(r) for r in committed_rounds(ledger, task_id)]
    with ledger.service() as service:
        return draws.run_draw(service, signer or ledger.keys[actor], actor, task_id, signatures)


def void(ledger: TestLedger, task_id: str, reason: str, *, actor: str = "drawer") -> Receipt:
    with ledger.service() as service:
        return draws.void_draw(service, ledger.keys[actor], actor, task_id, reason)


def draw(ledger: TestLedger, task_id: str, *, actor: str = "drawer") -> draws.DrawRecord:
    """Commit to the next local round, then run with its signature."""
    commit(ledger, task_id, actor=actor)
    return run(ledger, task_id, actor=actor)
