"""Demo stage 2: a drawer, yearly plans, tasks (one joint) and their draws.

Items are chosen where the demo city has qualified inspectors, so every
draw can staff its teams; the draws go through the same service as
`drledger draw commit/run`.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from ledger.application import actor_body
from ledger.draw.spec import Quota
from ledger.draw_service import TaskSpec, commit_draw, create_plan, create_task, read_secret, run_draw
from ledger.integrity.commands import sign_command
from ledger.integrity.keys import Signer, read_key_file, write_key_file
from ledger.projections import all_projections
from ledger.projections.pools import InspectorFilter, list_items, query_inspectors
from ledger.projections.runner import catch_up, writable_connection
from ledger.setup import ADMIN_KEY_FILE, open_for_writing, passphrase
from ledger.store.config import StoreConfig

DRAWER = "drawer"
RATIOS = {"A": Quota(ratio="0.01"), "B": Quota(ratio="0.03"), "C": Quota(ratio="0.1"), "D": Quota(ratio="0.3")}


def register_actor(config: StoreConfig, actor_id: str, role: str, name: str, signer: Signer,
                   department: str | None = None) -> None:
    """Register `signer`'s public key as `actor_id`, signed by the first admin's key file."""
    admin = read_key_file(config.keys_dir / ADMIN_KEY_FILE, passphrase())
    body = actor_body(actor_id, name, (role,), department, signer.public_key)
    app = open_for_writing(config)
    try:
        app.register_actor(sign_command(admin, "admin", "actor.register", body), actor_id=actor_id, name=name,
                           roles=(role,), department=department, public_key=signer.public_key)
    finally:
        app.close()


def ensure_actor(config: StoreConfig, actor_id: str, role: str, name: str, department: str | None = None) -> Signer:
    """The actor's key file under HOME/keys, registered by the admin if new."""
    path = config.keys_dir / f"{actor_id}.pem"
    if path.exists():
        return read_key_file(path, passphrase())
    signer = Signer.generate()
    write_key_file(path, signer, passphrase())
    register_actor(config, actor_id, role, name, signer, department)
    return signer


def _staffed_items(config: StoreConfig) -> tuple[dict[str, list[str]], Counter[str]]:
    """Items per department that at least two active enforcement officers qualify for."""
    catch_up(config, all_projections())
    with writable_connection(config) as (conn, dialect, _):
        items = list_items(conn, dialect)
        officers = [i for i in query_inspectors(conn, dialect, InspectorFilter(role="enforcement", statuses=("active",)))]
    qualified = Counter(q for officer in officers for q in officer.qualifications)
    per_department: dict[str, list[str]] = {}
    for item in items:
        if item.status == "active" and qualified[item.code] >= 2:
            per_department.setdefault(item.department, []).append(item.code)
    return per_department, Counter(o.department for o in officers)


def add_draws(config: StoreConfig, *, year: int = 2026, say: Any = lambda _: None) -> list[str]:
    drawer = ensure_actor(config, DRAWER, "drawer", "抽取员")
    staffed, officers = _staffed_items(config)
    ranked = sorted(staffed, key=lambda d: (-officers[d], d))
    lead, partner = ranked[0], ranked[1]
    lead_items, partner_items = tuple(staffed[lead][:3]), tuple(staffed[partner][:1])
    plan_id = f"P-{year}-{lead}"
    create_plan(config, plan_id=plan_id, title=f"{year}年度双随机抽查工作计划", department=lead, year=year,
                items=lead_items + partner_items, joint_departments=(partner,), actor="admin")
    tasks = [
        TaskSpec(task_id=f"T-{year}-{lead}-01", plan_id=plan_id, name="春季双随机抽查",
                 window_start=date(year, 3, 1), window_end=date(year, 5, 31), items=lead_items[:2],
                 departments=(lead,), quotas=RATIOS),
        TaskSpec(task_id=f"T-{year}-{lead}-J1", plan_id=plan_id, name="部门联合双随机抽查（进一次门、查多项事）",
                 window_start=date(year, 6, 1), window_end=date(year, 8, 31), items=(lead_items[-1], *partner_items),
                 departments=(lead, partner), quotas={"C": Quota(ratio="0.1"), "D": Quota(ratio="0.3")},
                 exclude_recent_days=180),
    ]
    for spec in tasks:
        create_task(config, spec, "admin")
        path, _ = commit_draw(config, spec.task_id, drawer, DRAWER, beacon_round=f"demo-beacon-{spec.task_id}")
        outcome = run_draw(config, spec.task_id, read_secret(path), f"demo-beacon-value-{spec.task_id}", drawer, DRAWER)
        say(f"draw {spec.task_id}: {sum(len(v) for v in outcome.targets.values())} targets, seed {outcome.seed[:16]}…")
    return [spec.task_id for spec in tasks]
