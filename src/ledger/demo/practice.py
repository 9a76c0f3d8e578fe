"""Demo stage after the results: practice as platforms know it (issue 12 items 4-6).

In the department the results stage used: a temporary task (临时任务, after a
complaint) created by its planner and approved by a reviewer, drawn; the
first firm it drew registers a representative (by the list manager, after
an identity check whose reference alone is recorded) who acknowledges the
inspection and checks the notice code; a firm whose result was published
raises an objection (异议) which the reviewer rejects with a reason, and the
reviewer records what that result suggests for the firm's class (a signal,
not a reclassification). Every actor signs with its demo key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import msgspec

from ledger.demo.actors import DemoActors, demo_key_folder, drawer, list_manager, new_demo_key, planner
from ledger.demo.beacon import commit_and_draw
from ledger.domain.classes import SignalBody, result_disclosed
from ledger.domain.commands import china_date
from ledger.domain.directory import Entity
from ledger.domain.draws import Task
from ledger.domain.firms import RegisterFirmBody
from ledger.domain.objections import ResolveBody
from ledger.draw.spec import Quota
from ledger.integrity.canonical import utc_now
from ledger.integrity.keys import public_key_b64
from ledger.services import draws, firms
from ledger.services.ledger import LedgerService, open_ledger
from ledger.store.config import StoreConfig

TEMPORARY = "T-DEMO-TEMP"
RESULT_TASKS = ("T-DEMO-RECENT", "T-DEMO-LATE")


class PracticeDemoSummary(msgspec.Struct, kw_only=True):
    temporary_task: str = ""
    representatives: list[str] = []
    notice_code: str = ""
    objections: int = 0
    signals: int = 0


def reviewer(department: str) -> str:
    return f"reviewer-{department}"


def add_practice(config: StoreConfig, say: Callable[[str], None] = lambda _: None) -> PracticeDemoSummary:
    summary = PracticeDemoSummary()
    with demo_key_folder(config), open_ledger(config) as ledger:
        app = ledger.processor.app
        recent = app.find(Task.create_id(RESULT_TASKS[0]))
        if not isinstance(recent, Task):
            say("practice: no results stage to build on; skipped")
            return summary
        department = recent.departments[0]
        actors = DemoActors(ledger)
        actors.ensure(reviewer(department), ("reviewer",), department, f"{department} 审核人")
        _temporary_task(ledger, actors, recent, department, summary, say)
        _objection(ledger, actors, department, summary, say)
    return summary


def _representative(ledger: LedgerService, actors: DemoActors, uscc: str, actor_id: str) -> None:
    """The firm's representative, registered by the list manager of the firm's department."""
    entity = ledger.processor.app.find(Entity.id_for(uscc))
    manager = list_manager(entity.record.departments[0]) if entity.record.departments else None
    if manager is None or not actors.is_registered(manager):
        raise RuntimeError(f"demo: firm {uscc} has no list manager to register its representative")
    signer = new_demo_key(actors.path(actor_id), actor_id)
    firms.register_firm(ledger, actors.signer(manager), manager, RegisterFirmBody(
        actor_id=actor_id, name="企业联络人 (demo)", uscc=uscc, public_key=public_key_b64(signer.public_key),
        check_method="电子营业执照扫码核验", check_reference=f"DEMO-CHECK-{uscc[-6:]}"))
    actors._signers[actor_id] = signer
    if actors._registered is not None:
        actors._registered.add(actor_id)


def _temporary_task(ledger: LedgerService, actors: DemoActors, recent: Task, department: str,
                    summary: PracticeDemoSummary, say: Callable[[str], None]) -> None:
    planner_id, drawer_id = planner(department), drawer(department)
    today = china_date(utc_now())
    draws.create_task(ledger, actors.signer(planner_id), planner_id, draws.TaskBody(
        task_id=TEMPORARY, plan_id="", temporary=True, name="演示：投诉举报专项（临时任务）",
        window_start=today, window_end=today + timedelta(days=30), items=recent.items[:1],
        departments=(department,), quotas={"C": Quota(count=2), "D": Quota(count=1)}))
    firms.approve_task(ledger, actors.signer(reviewer(department)), reviewer(department), TEMPORARY,
                       "投诉举报线索集中，同意开展临时抽查")
    drawn = commit_and_draw(ledger, actors.signer(drawer_id), drawer_id, TEMPORARY)
    summary.temporary_task = TEMPORARY
    first = drawn.teams[0]
    rep = f"rep-{first.target}"
    _representative(ledger, actors, first.target, rep)
    firms.acknowledge(ledger, actors.signer(rep), rep, TEMPORARY)
    notice = firms.notice_for(ledger, TEMPORARY, first.target)
    assert notice is not None
    summary.representatives.append(rep)
    summary.notice_code = notice.code
    say(f"{TEMPORARY}: temporary task approved by {reviewer(department)}, drew {len(drawn.teams)} targets;"
        f" {first.target} acknowledged (notice code {notice.code})")


def _objection(ledger: LedgerService, actors: DemoActors, department: str, summary: PracticeDemoSummary,
               say: Callable[[str], None]) -> None:
    app = ledger.processor.app
    state = _AppState(app)
    for task_id in RESULT_TASKS:
        task = app.find(Task.create_id(task_id))
        for team in task.teams if isinstance(task, Task) else []:
            if not result_disclosed(state, task_id, team.target):
                continue
            rep = f"rep-{team.target}"
            if not actors.is_registered(rep):
                _representative(ledger, actors, team.target, rep)
                summary.representatives.append(rep)
            firms.raise_objection(ledger, actors.signer(rep), rep, task_id, "检查当日已当场整改，公示结果与事实不符")
            firms.resolve_objection(ledger, actors.signer(reviewer(department)), reviewer(department), ResolveBody(
                task_id=task_id, uscc=team.target, outcome="rejected", reason="经复核现场检查记录，公示结果属实，维持"))
            firms.signal(ledger, actors.signer(reviewer(department)), reviewer(department), SignalBody(
                task_id=task_id, uscc=team.target, suggests="note", reason="异议已复核：结果维持"))
            summary.objections += 1
            summary.signals += 1
            say(f"{task_id}: {team.target} objected to its published result; rejected with a reason (public)")
            return
    say("practice: no published result to object to")


class _AppState:
    """The live aggregates as a decision's read-only State (for `result_disclosed`)."""

    position = 0

    def __init__(self, app: object) -> None:
        self.app = app

    def get(self, cls: type, aggregate_id: object) -> object:
        found = self.app.find(aggregate_id)  # type: ignore[attr-defined]
        return found if isinstance(found, cls) else None

    get_for_update = get

    def preload(self, aggregate_ids: object) -> None:
        return None
