"""Demo stage 2: yearly plans, tasks (one joint) and their draws, by the lead department's
planner (`planner-<D>`) and drawer (`drawer-<D>`).

The demo's actors are registered actors like any other, signed in by the
admin; their made-up keys live in HOME/demo-keys/ (services/keys.py
DEMO_KEYS: clearly not real custody) and are read and written there
explicitly, by file name. An actor whose
key file is already there (the city stage registers a planner and a drawer
per department) is used as it is; a missing one is made and registered. Items are chosen where the demo city has qualified
inspectors, so every draw can staff its teams; plans, tasks and draws go
through the same service as `drledger plan/task/draw`.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from ledger.demo.actors import new_demo_key
from ledger.domain.actors import RegisterBody
from ledger.demo.beacon import commit_and_draw
from ledger.draw.spec import Quota
from ledger.integrity.commands import sign_command
from ledger.integrity.keys import Signer, public_key_b64, read_key_file
from ledger.services import draws
from ledger.services.keys import DEMO_KEYS, passphrase
from ledger.services.ledger import LedgerService, open_ledger
from ledger.store.config import StoreConfig

ADMIN = "admin"
RATIOS = {"A": Quota(ratio="0.01"), "B": Quota(ratio="0.03"), "C": Quota(ratio="0.1"), "D": Quota(ratio="0.3")}


def planner_of(department: str) -> str:
    return f"planner-{department}"


def drawer_of(department: str) -> str:
    return f"drawer-{department}"


def demo_keys(config: StoreConfig) -> Path:
    """HOME/demo-keys: the demo actors' key files."""
    return config.home / DEMO_KEYS


def demo_key_path(config: StoreConfig, actor_id: str) -> Path:
    return demo_keys(config) / f"{actor_id}.pem"


def demo_signer(config: StoreConfig, actor_id: str) -> Signer:
    """A demo actor's key, from HOME/demo-keys/<actor>.pem."""
    return read_key_file(demo_key_path(config, actor_id), passphrase())


def register_actor(config: StoreConfig, actor_id: str, role: str | tuple[str, ...], name: str, signer: Signer,
                   department: str | None = None, *, admin: Signer | None = None) -> None:
    """Register `signer`'s public key as `actor_id` (actor.register signed by the demo's admin)."""
    roles = (role,) if isinstance(role, str) else role
    body = RegisterBody(actor_id=actor_id, name=name, roles=roles, department=department,
                        public_key=public_key_b64(signer.public_key))
    signed = sign_command(admin or demo_signer(config, ADMIN), ADMIN, "actor.register", msgspec.to_builtins(body))
    with open_ledger(config) as ledger:
        ledger.submit(signed)


def ensure_actor(config: StoreConfig, actor_id: str, role: str | tuple[str, ...], name: str,
                 department: str | None = None, *, admin: Signer | None = None) -> Signer:
    """The demo actor's key (HOME/demo-keys/<actor>.pem), registered by the admin if new."""
    path = demo_key_path(config, actor_id)
    if path.exists():
        return read_key_file(path, passphrase())
    signer = new_demo_key(path, actor_id)
    try:
        register_actor(config, actor_id, role, name, signer, department, admin=admin)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return signer


def staffed_items(ledger: LedgerService) -> tuple[dict[str, list[str]], Counter[str]]:
    """Items per department that at least two active enforcement officers qualify for."""
    from ledger.projections.pools import InspectorFilter, list_items, query_inspectors
    from ledger.projections.runner import writable_connection

    ledger.catch_up()
    with writable_connection(ledger.config) as (conn, dialect, _):
        items = list_items(conn, dialect)
        officers = query_inspectors(conn, dialect, InspectorFilter(role="enforcement", statuses=("active",)))
    qualified = Counter(q for officer in officers for q in officer.qualifications)
    per_department: dict[str, list[str]] = {}
    for item in items:
        if item.status == "active" and qualified[item.code] >= 2:
            per_department.setdefault(item.department, []).append(item.code)
    return per_department, Counter(o.department for o in officers)


def add_draws(config: StoreConfig, *, year: int = 2026, say: Any = lambda _: None,
              admin: Signer | None = None) -> list[str]:
    """A yearly plan of the best-staffed department, a task and a joint task, each drawn.

    `admin` signs the demo actors' registration (default: HOME/demo-keys/admin.pem).
    """
    with open_ledger(config) as ledger:
        staffed, officers = staffed_items(ledger)
    ranked = sorted(staffed, key=lambda d: (-officers[d], d))
    lead, partner = ranked[0], ranked[1]
    planner_id, drawer_id = planner_of(lead), drawer_of(lead)
    planner = ensure_actor(config, planner_id, "planner", f"{lead} 计划制定人", lead, admin=admin)
    drawer = ensure_actor(config, drawer_id, "drawer", f"{lead} 抽取员", lead, admin=admin)
    lead_items, partner_items = tuple(staffed[lead][:3]), tuple(staffed[partner][:1])
    plan_id = f"P-{year}-{lead}"
    tasks = [
        draws.TaskBody(task_id=f"T-{year}-{lead}-01", plan_id=plan_id, name="春季双随机抽查",
                       window_start=date(year, 3, 1), window_end=date(year, 5, 31), items=lead_items[:2],
                       departments=(lead,), quotas=RATIOS),
        draws.TaskBody(task_id=f"T-{year}-{lead}-J1", plan_id=plan_id, name="部门联合双随机抽查（进一次门、查多项事）",
                       window_start=date(year, 6, 1), window_end=date(year, 8, 31),
                       items=(lead_items[-1], *partner_items), departments=(lead, partner),
                       quotas={"C": Quota(ratio="0.1"), "D": Quota(ratio="0.3")}, exclude_recent_days=180),
    ]
    with open_ledger(config) as ledger:
        draws.create_plan(ledger, planner, planner_id, draws.PlanBody(
            plan_id=plan_id, title=f"{year}年度双随机抽查工作计划", department=lead, year=year,
            items=lead_items + partner_items, joint_departments=(partner,)))
        for body in tasks:
            draws.create_task(ledger, planner, planner_id, body)
            outcome = commit_and_draw(ledger, drawer, drawer_id, body.task_id)
            say(f"draw {body.task_id}: {sum(len(v) for v in outcome.targets.values())} targets,"
                f" seed {outcome.seed[:16]}…")
    return [body.task_id for body in tasks]
