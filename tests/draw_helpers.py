"""A small demo city with a registered drawer, for draw tests."""

from __future__ import annotations

from datetime import date

from ledger.demo.build import build_demo
from ledger.demo.draws import register_actor
from ledger.draw.spec import Quota
from ledger.draw_service import TaskSpec, create_plan, create_task
from ledger.integrity.keys import Signer
from ledger.setup import init_ledger
from ledger.store.config import StoreConfig

PLAN = "P-2026-SCJG"
DEMO_SEED = 5  # the demo city city_with_drawer imports (ledger.demo.generate_city(DEMO_SEED, small=True))
SCJG_ITEMS = ("XY-SCJG-001", "XY-SCJG-002", "XY-SCJG-003")


def register(store: StoreConfig, actor_id: str, role: str) -> Signer:
    signer = Signer.generate()
    register_actor(store, actor_id, role, actor_id, signer)
    return signer


def city_with_drawer(store: StoreConfig, seed: int = DEMO_SEED) -> Signer:
    init_ledger(store, origin="test.drledger/draws", admin_id="admin", admin_name="Admin")
    build_demo(store, seed=seed, small=True)
    drawer = register(store, "drawer", "drawer")
    create_plan(store, plan_id=PLAN, title="2026", department="XY-SCJG", year=2026,
                items=(*SCJG_ITEMS, "XY-WSJK-001"), joint_departments=("XY-WSJK",), actor="admin")
    return drawer


def task_spec(task_id: str, **changes: object) -> TaskSpec:
    fields: dict[str, object] = dict(
        task_id=task_id, plan_id=PLAN, name=task_id, window_start=date(2026, 3, 1), window_end=date(2026, 5, 31),
        items=SCJG_ITEMS[:2], departments=("XY-SCJG",),
        quotas={"A": Quota(ratio="0.02"), "B": Quota(ratio="0.05"), "C": Quota(ratio="0.2"), "D": Quota(count=3)},
    )
    fields.update(changes)
    return TaskSpec(**fields)  # type: ignore[arg-type]


def new_task(store: StoreConfig, task_id: str, **changes: object) -> None:
    create_task(store, task_spec(task_id, **changes), "admin")
