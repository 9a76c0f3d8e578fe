"""Demo stage after the city: plans, tasks, draws, then results through the
inspectors' own signed commands, with refusals, corrections, disclosures,
late results and reclassifications, so every report has something to show.

Two tasks of one department: "LATE" whose window closed 60 days ago (its
results, recorded today, are past due; two targets get none: overdue), and
"RECENT" whose window closed yesterday (on time). Windows are relative to
today because deadlines are: the city is deterministic for a seed, the dates
follow the clock. Keys go under DRLEDGER_HOME/keys/<actor>.pem.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

import msgspec

from ledger.demo.calendar import supply_standin_years
from ledger.demo.city import to_csv
from ledger.demo.draws import ensure_actor
from ledger.directory_service import import_file
from ledger.domain.results import CorrectBody, DiscloseBody, RecordBody, china_date
from ledger.draw.spec import Quota
from ledger.draw_service import TaskSpec, commit_draw, create_plan, create_task, read_secret, run_draw
from ledger.imports.rows import ConflictRow
from ledger.integrity.canonical import utc_now
from ledger.integrity.commands import SignedCommand
from ledger.integrity.keys import Signer
from ledger.projections import all_projections
from ledger.projections.pools import list_items, query_inspectors
from ledger.projections.runner import catch_up, writable_connection
from ledger.results_service import ResultRefused, ResultsService, sign_correct, sign_disclose, sign_record
from ledger.store.config import StoreConfig

DRAWER = "demo-drawer"
FINDINGS = {
    "no_issue": "经检查，未发现违法违规问题。",
    "corrected": "部分商品未明码标价，已当场责令改正。",
    "pending": "发现疑似无证经营线索，移交后续处理。",
    "obstructed": "拒不提供检查所需资料，情节严重。",
    "unreachable": "通过登记的住所无法联系。",
}


class ResultsDemoSummary(msgspec.Struct, kw_only=True):
    tasks: list[str]
    recorded: int = 0
    corrected: int = 0
    disclosed: int = 0
    refused: int = 0
    skipped: list[str] = []


def _draw(config: StoreConfig, task_id: str, drawer: Signer) -> list[tuple[str, list[str]]]:
    path, _ = commit_draw(config, task_id, drawer, DRAWER)
    outcome = run_draw(config, task_id, read_secret(path), "", drawer, DRAWER)
    return [(team.target, list(team.inspectors)) for team in outcome.teams]


def add_results(config: StoreConfig, seed: int, say: Callable[[str], None] = lambda _: None) -> ResultsDemoSummary:
    rng = random.Random(seed)
    today = china_date(utc_now())
    # Results are recorded today; their deadlines may reach next year.
    supply_standin_years(config.home, (today.year, today.year + 1), say)
    catch_up(config, all_projections())
    with writable_connection(config) as (conn, dialect, _):
        items = [i for i in list_items(conn, dialect) if i.status == "active"]
        inspectors = {i.badge: i for i in query_inspectors(conn, dialect, _all_inspectors())}
    by_department: dict[str, list[str]] = {}
    for item in items:
        by_department.setdefault(item.department, []).append(item.code)
    active = {}
    for badge, inspector in inspectors.items():
        if inspector.status == "active" and inspector.role == "enforcement":
            active[inspector.department] = active.get(inspector.department, 0) + 1
    department = max(sorted(by_department), key=lambda d: (active.get(d, 0), len(by_department[d])))
    codes = sorted(by_department[department])[:2]
    drawer = ensure_actor(config, DRAWER, "drawer", "演示抽取员", department)
    plan_id = f"P-DEMO-{today.year}-RES"
    create_plan(config, plan_id=plan_id, title="演示：抽查结果", department=department, year=today.year, items=tuple(codes),
                joint_departments=(), actor="admin")
    windows = {"T-DEMO-LATE": (today - timedelta(days=90), today - timedelta(days=60)),
               "T-DEMO-RECENT": (today - timedelta(days=20), today - timedelta(days=1))}
    quotas = {"A": Quota(ratio="0.02"), "B": Quota(ratio="0.03"), "C": Quota(ratio="0.1"), "D": Quota(ratio="0.3")}
    summary = ResultsDemoSummary(tasks=list(windows))
    teams: dict[str, list[tuple[str, list[str]]]] = {}
    for task_id, (start, end) in windows.items():
        create_task(config, TaskSpec(task_id=task_id, plan_id=plan_id, name=f"演示任务 {task_id}", window_start=start,
                                     window_end=end, items=tuple(codes), departments=(department,), quotas=quotas),
                    "admin")
        teams[task_id] = _draw(config, task_id, drawer)
        say(f"{task_id}: drew {len(teams[task_id])} targets")
    keys = {}
    for badge in sorted({b for task in teams.values() for _, team in task for b in team}):
        person = inspectors[badge]
        keys[badge] = ensure_actor(config, badge, "inspector", person.name, person.department)
    with ResultsService(config) as service:
        _results(service, rng, teams, windows, codes, keys, summary)
        _refusals(config, service, rng, teams, windows, codes, keys, inspectors, summary)
    _late_conflict(config, teams)
    say(f"results: {summary.recorded} recorded, {summary.corrected} corrected, {summary.disclosed} disclosed,"
        f" {summary.refused} refused attempts")
    for note in summary.skipped:
        say(f"skipped: {note}")
    return summary


def _all_inspectors():  # -> InspectorFilter
    from ledger.domain.filters import InspectorFilter

    return InspectorFilter()


def _try(summary: ResultsDemoSummary, action: Callable[[], object]) -> bool:
    try:
        action()
        return True
    except ResultRefused as error:
        if error.code == "calendar_not_covered":
            summary.skipped.append(str(error))
        summary.refused += 1
        return False


def _results(service: ResultsService, rng: random.Random, teams: dict[str, list[tuple[str, list[str]]]],
             windows: dict[str, tuple[object, object]], codes: list[str], keys: dict[str, Signer],
             summary: ResultsDemoSummary) -> None:
    categories = ["no_issue", "no_issue", "no_issue", "corrected", "pending", "unreachable", "obstructed"]
    for task_id, task_teams in teams.items():
        start, end = windows[task_id]
        # The late task leaves its last two targets without a result (overdue).
        todo = task_teams[:-2] if task_id == "T-DEMO-LATE" and len(task_teams) > 3 else task_teams
        for index, (uscc, team) in enumerate(todo):
            badge = team[index % len(team)]
            category = categories[index % len(categories)]
            body = RecordBody(task_id=task_id, uscc=uscc, category=category, findings=FINDINGS[category],
                              methods=("onsite",) if index % 3 else ("onsite", "written"), items=tuple(codes),
                              inspected_on=start + timedelta(days=rng.randrange((end - start).days + 1)))
            if not _try(summary, lambda: service.record(sign_record(keys[badge], badge, body))):
                continue
            summary.recorded += 1
            if index % 4 == 1:
                fixed = CorrectBody(**{**msgspec.structs.asdict(body), "category": "corrected",
                                       "findings": FINDINGS["corrected"], "reason": "录入时误选结果类别，更正"})
                if _try(summary, lambda: service.correct(sign_correct(keys[badge], badge, fixed))):
                    summary.corrected += 1
            if index % 3 != 2:
                disclose = DiscloseBody(task_id=task_id, uscc=uscc)
                if _try(summary, lambda: service.disclose(sign_disclose(keys[badge], badge, disclose))):
                    summary.disclosed += 1


def _refusals(config: StoreConfig, service: ResultsService, rng: random.Random,
              teams: dict[str, list[tuple[str, list[str]]]], windows: dict[str, tuple[object, object]],
              codes: list[str], keys: dict[str, Signer], inspectors: dict[str, object],
              summary: ResultsDemoSummary) -> None:
    """Attempts the platform must refuse; each leaves a refused-attempt event."""
    task_id = "T-DEMO-RECENT"
    start, end = windows[task_id]
    (uscc, team), *_ = teams[task_id]
    badge = team[0]
    outsider = next(b for b in sorted(keys) if b not in team)
    # Drawn in no task at all (the draw stage's tasks too): drawn elsewhere with
    # `badge` on its team, the attempt would be refused as wrong_task instead.
    drawn = {u for task in teams.values() for u, _ in task} | _drawn_anywhere(config)
    not_drawn = next(u for u in sorted(_entity_ids(config)) if u not in drawn)

    def body(**changes: object) -> RecordBody:
        fields = {"task_id": task_id, "uscc": uscc, "category": "no_issue", "findings": FINDINGS["no_issue"],
                  "methods": ("onsite",), "items": tuple(codes), "inspected_on": end}
        return RecordBody(**{**fields, **changes})  # type: ignore[arg-type]

    attempts: list[SignedCommand] = [
        sign_record(keys[outsider], outsider, body()),  # inspector not assigned (result exists: checked first)
        sign_record(keys[badge], badge, body(uscc=not_drawn)),  # target not drawn
        sign_record(keys[badge], badge, body(inspected_on=end + timedelta(days=3))),  # outside the window
        sign_record(keys[badge], badge, body(items=("NOT-ON-LIST",))),  # item not on the task
        sign_record(Signer.generate(), badge, body()),  # signed with the wrong key
        sign_record(Signer.generate(), "ghost-0001", body()),  # unknown actor
        sign_record(keys[badge], badge, body(task_id="T-DEMO-LATE")),  # wrong task
    ]
    for signed in attempts:
        _try(summary, lambda: service.record(signed))
    # A replayed correction: the same signed bytes twice (nonce reuse).
    replay = sign_correct(keys[badge], badge, CorrectBody(**{**msgspec.structs.asdict(body()), "category": "pending",
                                                             "findings": FINDINGS["pending"], "reason": "补充线索"}))
    if _try(summary, lambda: service.correct(replay)):
        summary.corrected += 1
    _try(summary, lambda: service.correct(replay))


def _drawn_anywhere(config: StoreConfig) -> set[str]:
    """Every target any draw in the ledger has named."""
    with writable_connection(config) as (conn, dialect, _):
        cursor = conn.cursor()
        cursor.execute(f"SELECT DISTINCT uscc FROM {dialect.table('draw_teams')}")
        return {uscc for (uscc,) in cursor.fetchall()}


def _entity_ids(config: StoreConfig) -> list[str]:
    from ledger.domain.filters import EntityFilter
    from ledger.projections.pools import query_entities

    with writable_connection(config) as (conn, dialect, _):
        return [e.uscc for e in query_entities(conn, dialect, EntityFilter())]


def _late_conflict(config: StoreConfig, teams: dict[str, list[tuple[str, list[str]]]]) -> None:
    """A conflict of interest declared after the draw: `report conflicts` shows it."""
    uscc, team = teams["T-DEMO-LATE"][0]
    row = ConflictRow(badge=team[0], uscc=uscc, reason="draw后申报：近亲属在该企业任职")
    import_file(config, "conflicts", to_csv([row], "conflicts"), file_name="demo-late-conflict.csv", actor="admin")


__all__ = ["add_results", "ResultsDemoSummary"]
