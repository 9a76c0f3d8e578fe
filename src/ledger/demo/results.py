"""Demo stage after the draws: a results plan, two tasks and their draws, then
results through the inspectors' own signed commands (multi-select
categories, follow-ups, evidence hashes), reviewed by the department's
reviewer (one sent back and resubmitted) and published, with refusals,
corrections, late results and reclassifications, so every report has
something to show.

Two tasks of one department: "LATE" whose window closed 60 days ago (its
results, recorded today, are past due; two targets get none: overdue), and
"RECENT" whose window closed yesterday (on time). Windows are relative to
today because deadlines are; in `drledger demo` today is the demo clock's
(demo/clock.py TODAY), so the same seed gives the same dates. Every actor signs with its demo key (HOME/demo-keys,
demo/actors.py): the department's planner, drawer and reviewer, the
inspectors, the admin (the calendar seeded from chinesecalendar) and the
list manager (a late conflict).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import date, timedelta

import msgspec

from ledger.demo.actors import (ADMIN, DemoActors, demo_key_folder, drawer, list_manager, planner, reviewer,
                                stray_key)
from ledger.demo.calendar import seed_known_years
from ledger.demo.city import to_csv
from ledger.domain.commands import china_date
from ledger.domain.filters import EntityFilter, InspectorFilter
from ledger.domain.rows import ConflictRow
from ledger.demo.beacon import commit_and_draw
from ledger.draw.spec import Quota
from ledger.integrity.canonical import utc_now
from ledger.integrity.commands import SignedCommand
from ledger.integrity.keys import Signer
from ledger.services import draws, pools, results
from ledger.services.directory import import_file
from ledger.services.ledger import CommandRefused, LedgerService, open_ledger
from ledger.store.config import StoreConfig

FINDINGS = {
    "no_issue": "经检查，未发现违法违规问题。",
    "corrected": "部分商品未明码标价，已当场责令改正。",
    "pending": "发现疑似无证经营线索，移交后续处理。",
    "obstructed": "拒不提供检查所需资料，情节严重。",
    "unreachable": "通过登记的住所无法联系。",
    "not_disclosed": "未按规定公示年度报告，列入经营异常名录。",
}
# The multi-select of each demo result (first category: the findings' key).
SELECTIONS: tuple[tuple[str, ...], ...] = (
    ("no_issue",), ("no_issue",), ("no_issue",), ("corrected",), ("pending", "not_disclosed"), ("unreachable",),
    ("obstructed",))

# Ratios in the small city; in the full one (60,000 firms) a ratio would draw thousands, so counts.
SMALL_QUOTAS = {"A": Quota(ratio="0.02"), "B": Quota(ratio="0.03"), "C": Quota(ratio="0.1"), "D": Quota(ratio="0.3")}
FULL_QUOTAS = {"A": Quota(count=10), "B": Quota(count=8), "C": Quota(count=5), "D": Quota(count=3)}
FULL_FILTER = EntityFilter(department="GX-SCJG")  # 定向: the 高新区's firms

Teams = dict[str, list[tuple[str, list[str]]]]  # task -> [(target, inspectors)]
Windows = dict[str, tuple[date, date]]


class ResultsDemoSummary(msgspec.Struct, kw_only=True):
    tasks: list[str]
    recorded: int = 0
    corrected: int = 0
    returned: int = 0
    disclosed: int = 0
    follow_ups_done: int = 0
    refused: int = 0
    skipped: list[str] = []


def add_results(config: StoreConfig, seed: int, say: Callable[[str], None] = lambda _: None, *,
                small: bool = True) -> ResultsDemoSummary:
    rng = random.Random(seed)
    today = china_date(utc_now())
    items = [i for i in pools.items(config) if i.status == "active"]
    inspectors = {i.badge: i for i in pools.inspectors(config, InspectorFilter())}
    by_department: dict[str, list[str]] = {}
    for item in items:
        by_department.setdefault(item.department, []).append(item.code)
    active: dict[str, int] = {}
    for inspector in inspectors.values():
        if inspector.status == "active" and inspector.role == "enforcement":
            active[inspector.department] = active.get(inspector.department, 0) + 1
    department = max(sorted(by_department), key=lambda d: (active.get(d, 0), len(by_department[d])))
    codes = sorted(by_department[department])[:2]
    windows: Windows = {"T-DEMO-LATE": (today - timedelta(days=90), today - timedelta(days=60)),
                        "T-DEMO-RECENT": (today - timedelta(days=20), today - timedelta(days=1))}
    summary = ResultsDemoSummary(tasks=list(windows))
    with demo_key_folder(config), open_ledger(config) as ledger:
        actors = DemoActors(ledger)
        # The calendar is ledger data: the years chinesecalendar knows; later deadlines stay provisional.
        seed_known_years(ledger, actors.signer(ADMIN), ADMIN, (today.year - 1, today.year, today.year + 1), say)
        teams = _draw(ledger, actors, department, codes, windows, SMALL_QUOTAS if small else FULL_QUOTAS,
                      EntityFilter() if small else FULL_FILTER, say)
        keys = {}
        for badge in sorted({b for task in teams.values() for _, team in task for b in team}):
            person = inspectors[badge]
            keys[badge] = actors.ensure(badge, ("inspector",), person.department, person.name)
        review = reviewer(department)
        keys[review] = actors.ensure(review, ("reviewer",), department, "审核员（演示）")
        unpublished = _results(ledger, rng, teams, windows, codes, keys, review, summary)
        _refusals(config, ledger, teams, windows, codes, keys, unpublished, summary)
        _late_conflict(ledger, actors, department, teams)
    say(f"results: {summary.recorded} recorded, {summary.corrected} corrected, {summary.returned} sent back by the"
        f" reviewer, {summary.disclosed} published, {summary.follow_ups_done} follow-ups done,"
        f" {summary.refused} refused attempts")
    for note in summary.skipped:
        say(f"skipped: {note}")
    return summary


def _draw(ledger: LedgerService, actors: DemoActors, department: str, codes: list[str], windows: Windows,
          quotas: dict[str, Quota], target_filter: EntityFilter, say: Callable[[str], None]) -> Teams:
    """The department's planner plans and creates the tasks; its drawer draws them."""
    planner_id, drawer_id = planner(department), drawer(department)
    planning = actors.ensure(planner_id, ("planner",), department)
    drawing = actors.ensure(drawer_id, ("drawer",), department)
    # A task belongs to the plan of the year its window starts in (early in a year, the late task's is last year's).
    for plan_year in sorted({start.year for start, _ in windows.values()}):
        draws.create_plan(ledger, planning, planner_id, draws.PlanBody(
            plan_id=f"P-DEMO-{plan_year}-RES", title="演示：抽查结果", department=department, year=plan_year,
            items=tuple(codes)))
    teams: Teams = {}
    for task_id, (start, end) in windows.items():
        plan_id = f"P-DEMO-{start.year}-RES"
        draws.create_task(ledger, planning, planner_id, draws.TaskBody(
            task_id=task_id, plan_id=plan_id, name=f"演示任务 {task_id}", window_start=start, window_end=end,
            items=tuple(codes), departments=(department,), quotas=quotas, target_filter=target_filter))
        drawn = commit_and_draw(ledger, drawing, drawer_id, task_id)
        teams[task_id] = [(team.target, list(team.inspectors)) for team in drawn.teams]
        say(f"{task_id}: drew {len(teams[task_id])} targets")
    return teams


def _try(ledger: LedgerService, summary: ResultsDemoSummary, signed: SignedCommand) -> bool:
    try:
        results.record(ledger, signed)  # every result command is submitted alike
        return True
    except CommandRefused:
        summary.refused += 1
        return False


def _results(ledger: LedgerService, rng: random.Random, teams: Teams, windows: Windows, codes: list[str],
             keys: dict[str, Signer], review: str, summary: ResultsDemoSummary) -> list[results.RecordBody]:
    """Record, correct, review and publish; the results left unpublished (待审核), with their inspector."""
    unpublished: list[tuple[str, results.RecordBody]] = []
    for task_id, task_teams in teams.items():
        start, end = windows[task_id]
        # The late task leaves its last two targets without a result (overdue).
        todo = task_teams[:-2] if task_id == "T-DEMO-LATE" and len(task_teams) > 3 else task_teams
        for index, (uscc, team) in enumerate(todo):
            badge = team[index % len(team)]
            selected = SELECTIONS[index % len(SELECTIONS)]
            photo = hashlib.sha256(f"demo photo {task_id} {uscc}".encode()).hexdigest()
            body = results.RecordBody(
                task_id=task_id, uscc=uscc, categories=selected, findings=FINDINGS[selected[-1]],
                methods=("onsite",) if index % 3 else ("onsite", "written"), items=tuple(codes),
                inspected_on=start + timedelta(days=rng.randrange((end - start).days + 1)),
                evidence=(results.Evidence(sha256=photo, name=f"现场照片-{uscc[-6:]}.jpg", kind="photo"),),
                follow_ups=(results.FollowUp(kind="abnormal_list"),) if "not_disclosed" in selected else ())
            if not _try(ledger, summary, results.sign_record(keys[badge], badge, body)):
                continue
            summary.recorded += 1
            if body.follow_ups and index % 2 == 0:
                done = results.FollowUpDoneBody(task_id=task_id, uscc=uscc, kind="abnormal_list",
                                                note="已作出列入经营异常名录决定（演示）")
                if _try(ledger, summary, results.sign_follow_up_done(keys[badge], badge, done)):
                    summary.follow_ups_done += 1
            if index % 4 == 1:
                body = results.CorrectBody(**{**msgspec.structs.asdict(body), "categories": ("corrected",),
                                              "findings": FINDINGS["corrected"], "follow_ups": (),
                                              "reason": "录入时误选结果类别，更正"})
                if _try(ledger, summary, results.sign_correct(keys[badge], badge, body)):
                    summary.corrected += 1
            if index % 3 == 2:
                unpublished.append((badge, body))  # 待审核: the reviewer has not got to it
                continue
            if index % 5 == 3:  # 审核不通过: back with a reason; the inspector adds the record and resubmits
                back = results.ReturnBody(task_id=task_id, uscc=uscc, reason="请补充检查记录后重新提交")
                if _try(ledger, summary, results.sign_return(keys[review], review, back)):
                    summary.returned += 1
                    record = hashlib.sha256(f"demo record {task_id} {uscc}".encode()).hexdigest()
                    fixed = results.CorrectBody(**{**msgspec.structs.asdict(body), "reason": "补充检查记录",
                                                   "evidence": (*body.evidence, results.Evidence(
                                                       sha256=record, name="检查记录.pdf", kind="record"))})
                    if _try(ledger, summary, results.sign_correct(keys[badge], badge, fixed)):
                        summary.corrected += 1
            publish = results.DiscloseBody(task_id=task_id, uscc=uscc)
            if _try(ledger, summary, results.sign_disclose(keys[review], review, publish)):
                summary.disclosed += 1
    return [b for _, b in unpublished]


def _refusals(config: StoreConfig, ledger: LedgerService, teams: Teams, windows: Windows, codes: list[str],
              keys: dict[str, Signer], unpublished: list[results.RecordBody], summary: ResultsDemoSummary) -> None:
    """Attempts the platform must refuse; each leaves a refused-attempt record."""
    task_id = "T-DEMO-RECENT"
    _, end = windows[task_id]
    (uscc, team), *_ = teams[task_id]
    badge = team[0]
    outsider = next(b for b in sorted(keys) if b not in team)
    drawn = {u for task in teams.values() for u, _ in task}
    not_drawn = next(e.uscc for e in pools.entities(config, EntityFilter()) if e.uscc not in drawn)

    def body(**changes: object) -> results.RecordBody:
        fields = {"task_id": task_id, "uscc": uscc, "categories": ("no_issue",), "findings": FINDINGS["no_issue"],
                  "methods": ("onsite",), "items": tuple(codes), "inspected_on": end}
        return results.RecordBody(**{**fields, **changes})  # type: ignore[arg-type]

    attempts: list[SignedCommand] = [
        results.sign_record(keys[outsider], outsider, body()),  # inspector not assigned
        results.sign_record(keys[badge], badge, body(uscc=not_drawn)),  # target not drawn
        results.sign_record(keys[badge], badge, body(inspected_on=end + timedelta(days=3))),  # outside the window
        results.sign_record(keys[badge], badge, body(items=("NOT-ON-LIST",))),  # item not on the task
        results.sign_record(stray_key("wrong key"), badge, body()),  # signed with the wrong key
        results.sign_record(stray_key("ghost"), "ghost-0001", body()),  # unknown actor
        results.sign_record(keys[badge], badge, body(task_id="T-DEMO-NONE")),  # unknown task
    ]
    for signed in attempts:
        _try(ledger, summary, signed)
    # A correction of a result still under review, then a new command replaying its nonce (refused: reused nonce).
    open_result = next((b for b in unpublished if b.task_id == task_id), None)
    if open_result is None:
        return
    badge = next(b for u, team in teams[task_id] if u == open_result.uscc for b in team
                 if _recorded_by(ledger, open_result, b))
    fixed = results.CorrectBody(**{**msgspec.structs.asdict(open_result), "categories": ("pending",),
                                   "findings": FINDINGS["pending"], "reason": "补充线索"})
    first = results.sign_correct(keys[badge], badge, fixed)
    if _try(ledger, summary, first):
        summary.corrected += 1
    nonce = msgspec.json.decode(first.command)["nonce"]
    replay = msgspec.structs.replace(fixed, reason="补充线索（重放）")
    _try(ledger, summary, results.sign_correct(keys[badge], badge, replay, nonce=nonce))


def _recorded_by(ledger: LedgerService, body: results.RecordBody, badge: str) -> bool:
    view = results.current(ledger, body.task_id, body.uscc)
    return view is not None and view.recorded_by == badge


def _late_conflict(ledger: LedgerService, actors: DemoActors, department: str, teams: Teams) -> None:
    """A conflict of interest declared after the draw: `report conflicts` shows it."""
    uscc, team = teams["T-DEMO-LATE"][0]
    manager = list_manager(department)
    signer = actors.ensure(manager, ("list_manager",), department)
    row = ConflictRow(badge=team[0], uscc=uscc, reason="抽取后申报：近亲属在该企业任职")
    import_file(ledger, signer, manager, "conflicts", to_csv([row], "conflicts"), file_name="demo-late-conflict.csv")


__all__ = ["add_results", "ResultsDemoSummary"]
