"""Demo stage of the full city: a year of 双随机 work in 新余 (2026), on the demo's clock.

In January each city department's planner files its yearly plan (its items,
the departments it inspects jointly with). Then 21 tasks run through the
year, 8 of them joint (一联合: targets drawn once, one visit for every
department's items): each is created ten days before its window and drawn
by the lead department's drawer a week before it. During the window the
drawn officers record their results (each department of a joint task its
own items); a few days later the department's reviewer approves and
publishes them, or sends some back (审核不通过) to be corrected and
resubmitted; follow-ups (后续处置) are marked done. An officer recuses himself
(回避) and a reviewer replaces another (替换); a few results come late and a
few never (overdue); forbidden attempts (an item off the list, a drawer of
another department) are refused and recorded. Everything happens in date
order on one queue, so the ledger's recorded times follow the year.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import msgspec

from ledger.demo.actors import ADMIN, DemoActors, demo_key_folder, drawer, planner, reviewer
from ledger.demo.beacon import commit_and_draw
from ledger.demo.calendar import seed_known_years
from ledger.demo.city import SAMR
from ledger.demo.clock import CHINA, DEMO_YEAR, TODAY, DemoRun
from ledger.demo.draws import staffed_items
from ledger.demo.results import FINDINGS, SELECTIONS
from ledger.domain.draws import Task
from ledger.domain.filters import EntityFilter, InspectorFilter
from ledger.draw.spec import Quota
from ledger.integrity.commands import sign_command
from ledger.services import draws, pools, results
from ledger.services.ledger import CommandRefused, LedgerService, open_ledger
from ledger.store.config import StoreConfig

Say = Callable[[str], None]

# Joint tasks (一联合): the departments (lead first) and what the visit is about.
JOINT: tuple[tuple[tuple[str, ...], str], ...] = (
    ((SAMR, "XY-WSJK"), "餐饮服务单位食品安全与卫生联合抽查"),
    (("XY-STHJ", "XY-YJGL"), "化工企业环保与安全生产联合抽查"),
    (("XY-JTYS", "XY-YJGL"), "危险货物道路运输联合抽查"),
    (("XY-WGLT", "XY-WSJK"), "宾馆娱乐场所文化旅游与卫生联合抽查"),
    ((SAMR, "XY-NYNC"), "农资经营联合抽查"),
    (("XY-ZFJS", "XY-YJGL"), "建筑施工企业质量与安全联合抽查"),
    ((SAMR, "XY-JTYS"), "机动车维修经营者联合抽查"),
    ((SAMR, "XY-STHJ", "XY-YJGL"), "钢铁企业“进一次门、查多项事”联合抽查"),
)
# Single-department tasks (定向 where the pool is large): the city bureau's by zone and trade, the others'
# over the firms they supervise.
SINGLE: tuple[tuple[str, str, EntityFilter], ...] = (
    (SAMR, "渝水区批发零售经营者双随机抽查", EntityFilter(department="YS-SCJG", industry_prefix="F")),
    (SAMR, "分宜县住宿餐饮经营者双随机抽查", EntityFilter(department="FY-SCJG", industry_prefix="H")),
    (SAMR, "仙女湖区市场主体双随机抽查", EntityFilter(department="XNH-SCJG")),
    (SAMR, "高新区企业双随机抽查", EntityFilter(department="GX-SCJG", entity_types=("enterprise",))),
    (SAMR, "制造业企业双随机抽查", EntityFilter(industry_prefix="C")),
    (SAMR, "农民专业合作社双随机抽查", EntityFilter(entity_types=("cooperative",))),
    ("XY-STHJ", "排污单位双随机抽查", EntityFilter(department="XY-STHJ")),
    ("XY-YJGL", "工贸企业安全生产双随机抽查", EntityFilter(department="XY-YJGL")),
    ("XY-WSJK", "公共场所卫生双随机抽查", EntityFilter(department="XY-WSJK")),
    ("XY-JTYS", "道路运输经营者双随机抽查", EntityFilter(department="XY-JTYS")),
    ("XY-WGLT", "文化旅游市场双随机抽查", EntityFilter(department="XY-WGLT")),
    ("XY-NYNC", "农资经营与农产品质量双随机抽查", EntityFilter(department="XY-NYNC")),
    ("XY-ZFJS", "建筑市场与物业服务双随机抽查", EntityFilter(department="XY-ZFJS")),
)
COUNTS = {"A": 8, "B": 7, "C": 5, "D": 3}  # targets per class and task (every task's pool has that many)
WINDOW_DAYS = 45


@dataclass
class YearSummary:
    plans: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    joint: int = 0
    targets: int = 0
    recorded: int = 0
    late: int = 0
    returned: int = 0
    disclosed: int = 0
    follow_ups_done: int = 0
    refused: int = 0
    recusals: int = 0
    substitutions: int = 0


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    action: Callable[[], None] = field(compare=False)


class _Year:
    """The year's queue of dated actions, run in date order on the demo's clock."""

    def __init__(self, ledger: LedgerService, run: DemoRun, rng: random.Random, say: Say) -> None:
        self.ledger, self.run, self.rng, self.say = ledger, run, rng, say
        self.actors = DemoActors(ledger)
        self.queue: list[_Event] = []
        self.seq = 0
        self.summary = YearSummary()
        self.department_of: dict[str, str] = {}
        self.end = datetime.combine(TODAY, time(0), CHINA)  # nothing after the demo's today

    def at(self, day: date, hour: int, action: Callable[[], None]) -> None:
        moment = datetime.combine(day, time(hour), CHINA)
        if moment < self.end:
            self.seq += 1
            heapq.heappush(self.queue, _Event(moment, self.seq, action))

    def run_all(self) -> None:
        while self.queue:
            event = heapq.heappop(self.queue)
            self.run.now = max(self.run.now, event.at)
            event.action()

    def submit(self, signed: Any) -> bool:
        try:
            self.ledger.submit(signed)
            return True
        except CommandRefused:
            self.summary.refused += 1
            return False


def add_year(config: StoreConfig, run: DemoRun, seed: int, say: Say = lambda _: None) -> YearSummary:
    """Plans in January, then the year's tasks, draws, results, reviews and follow-ups up to the demo's today."""
    with demo_key_folder(config), open_ledger(config, sync=False) as ledger:
        staffed, _ = staffed_items(ledger)
        year = _Year(ledger, run, random.Random(seed), say)
        year.department_of = {i.badge: i.department for i in pools.inspectors(config, InspectorFilter())}
        # Deadlines count working days: the admin records the schedules before the year's first task.
        seed_known_years(ledger, year.actors.signer(ADMIN), ADMIN, (DEMO_YEAR - 1, DEMO_YEAR, DEMO_YEAR + 1), say)
        tasks = _tasks(staffed)
        _plans(year, tasks)
        first_joint = next((body.task_id for body in tasks if len(body.departments) > 1), None)
        for body in tasks:
            _schedule_task(year, body, body.task_id == first_joint)
        _refusals(year, tasks)
        year.run_all()
        ledger.catch_up()
    s = year.summary
    say(f"year {DEMO_YEAR}: {len(s.plans)} plans, {len(s.tasks)} tasks ({s.joint} joint), {s.targets} targets drawn;"
        f" {s.recorded} results ({s.late} late), {s.returned} sent back, {s.disclosed} published,"
        f" {s.follow_ups_done} follow-ups done, {s.recusals} recusal, {s.substitutions} substitution,"
        f" {s.refused} refused attempts")
    return s


def _tasks(staffed: dict[str, list[str]]) -> list[draws.TaskBody]:
    """The year's tasks, in window order: single and joint ones interleaved."""
    specs: list[tuple[tuple[str, ...], str, EntityFilter]] = []
    joint = [(departments, name, EntityFilter(department=departments[1])) for departments, name in JOINT]
    single = [((lead,), name, found) for lead, name, found in SINGLE]
    while joint or single:  # about one joint task in three
        for pick in (single, single, joint):
            if pick:
                specs.append(pick.pop(0))
    bodies = []
    used: dict[str, int] = {}
    for index, (departments, name, target_filter) in enumerate(specs):
        if not all(staffed.get(d) for d in departments):
            continue
        items: list[str] = []
        for position, department in enumerate(departments):
            own = staffed[department]
            take = 2 if position == 0 and len(departments) == 1 else 1
            start = used.get(department, 0)
            items += [own[(start + k) % len(own)] for k in range(take)]
            used[department] = start + take
        start = date(DEMO_YEAR, 3, 1) + timedelta(days=index * 12)
        lead = departments[0]
        bodies.append(draws.TaskBody(
            task_id=f"T-{DEMO_YEAR}-{index + 1:02d}-{lead}", plan_id=f"P-{DEMO_YEAR}-{lead}",
            name=f"{DEMO_YEAR}年{name}", window_start=start,
            window_end=start + timedelta(days=WINDOW_DAYS - 1), items=tuple(dict.fromkeys(items)),
            departments=departments, target_filter=target_filter,
            quotas={k: Quota(count=n) for k, n in COUNTS.items()}, exclude_recent_days=180))
    return bodies


def _plans(year: _Year, tasks: list[draws.TaskBody]) -> None:
    """Each lead department's yearly plan (年度抽查工作计划), filed in mid-January."""
    by_lead: dict[str, list[draws.TaskBody]] = {}
    for body in tasks:
        by_lead.setdefault(body.departments[0], []).append(body)

    def file(lead: str, own: list[draws.TaskBody]) -> None:
        items = tuple(dict.fromkeys(i for body in own for i in body.items))
        partners = tuple(dict.fromkeys(d for body in own for d in body.departments[1:]))
        plan = draws.PlanBody(plan_id=f"P-{DEMO_YEAR}-{lead}", title=f"{DEMO_YEAR}年度双随机抽查工作计划",
                              department=lead, year=DEMO_YEAR, items=items, joint_departments=partners)
        signer = year.actors.ensure(planner(lead), ("planner",), lead)
        draws.create_plan(year.ledger, signer, planner(lead), plan)
        year.summary.plans.append(plan.plan_id)

    for day, (lead, own) in enumerate(sorted(by_lead.items())):
        year.at(date(DEMO_YEAR, 1, 12) + timedelta(days=day), 10, lambda lead=lead, own=own: file(lead, own))


def _schedule_task(year: _Year, body: draws.TaskBody, swaps: bool) -> None:
    lead = body.departments[0]

    def create() -> None:
        year.ledger.catch_up()  # the planner's side checks the counts against the pool as it stands
        draws.create_task(year.ledger, year.actors.ensure(planner(lead), ("planner",), lead), planner(lead), body)
        year.summary.tasks.append(body.task_id)
        year.summary.joint += len(body.departments) > 1

    def draw() -> None:
        signer = year.actors.ensure(drawer(lead), ("drawer",), lead)
        try:
            drawn = commit_and_draw(year.ledger, signer, drawer(lead), body.task_id)
        except CommandRefused as refused:
            year.summary.refused += 1
            year.say(f"{body.task_id}: not drawn ({refused})")
            return
        year.summary.targets += len(drawn.teams)
        year.say(f"{body.window_start}: {body.task_id} drew {len(drawn.teams)} targets"
                 f" ({'joint: ' + ', '.join(body.departments) if len(body.departments) > 1 else lead})")
        if swaps:  # the first joint task: a recusal and a substitution
            year.at(body.window_start - timedelta(days=5), 9, lambda: _recuse_and_substitute(year, body))
        for number, team in enumerate(drawn.teams):
            _schedule_visit(year, body, team.target, number)

    year.at(body.window_start - timedelta(days=10), 9, create)
    year.at(body.window_start - timedelta(days=7), 10, draw)


def _recuse_and_substitute(year: _Year, body: draws.TaskBody) -> None:
    task = year.ledger.processor.app.find(Task.create_id(body.task_id))
    if not isinstance(task, Task) or len(task.teams) < 2:
        return
    first, second = task.teams[0], task.teams[1]
    badge = first.inspectors[0]
    try:
        draws.recuse(year.ledger, year.actors.signer(badge), badge, body.task_id, first.target,
                     "本人近亲属在该企业任职，申请回避")
        year.summary.recusals += 1
    except CommandRefused:
        year.summary.refused += 1
    lead = body.departments[0]
    review = year.actors.ensure(reviewer(lead), ("reviewer",), lead)
    try:
        draws.substitute(year.ledger, review, reviewer(lead), body.task_id, second.target, second.inspectors[-1],
                         "该执法人员因病无法参加检查，按规定替换")
        year.summary.substitutions += 1
    except CommandRefused:
        year.summary.refused += 1


def _schedule_visit(year: _Year, body: draws.TaskBody, uscc: str, number: int) -> None:
    """One visit: every department of the task records its own items' result, then reviews follow."""
    rng = year.rng
    if rng.random() < 0.04:
        return  # never recorded: overdue
    inspected = body.window_start + timedelta(days=rng.randrange(WINDOW_DAYS - 3))
    if inspected >= TODAY:
        return
    late = rng.random() < 0.08
    entered = body.window_end + timedelta(days=40) if late else inspected + timedelta(days=rng.randrange(3))
    selected = SELECTIONS[(number + rng.randrange(len(SELECTIONS))) % len(SELECTIONS)]
    for department in body.departments:
        year.at(entered, 15, lambda d=department: _record(year, body, uscc, d, inspected, selected, late))


def _officer(year: _Year, task_id: str, uscc: str, department: str) -> str | None:
    task = year.ledger.processor.app.find(Task.create_id(task_id))
    team = task.team_of(uscc) if isinstance(task, Task) else None
    return next((b for b in team.inspectors if year.department_of.get(b) == department), None) if team else None


def _record(year: _Year, body: draws.TaskBody, uscc: str, department: str, inspected: date,
            selected: tuple[str, ...], late: bool) -> None:
    badge = _officer(year, body.task_id, uscc, department)
    if badge is None:
        return
    items = tuple(i for i in body.items if i.startswith(f"{department}-"))
    photo = hashlib.sha256(f"demo photo {body.task_id} {uscc} {department}".encode()).hexdigest()
    record = results.RecordBody(
        task_id=body.task_id, uscc=uscc, categories=selected, findings=FINDINGS[selected[-1]],
        methods=("onsite",), items=items, inspected_on=inspected,
        evidence=(results.Evidence(sha256=photo, name=f"现场照片-{uscc[-6:]}.jpg", kind="photo"),),
        follow_ups=(results.FollowUp(kind="abnormal_list"),) if "not_disclosed" in selected else ())
    signer = year.actors.signer(badge)
    if not year.submit(results.sign_record(signer, badge, record)):
        return
    year.summary.recorded += 1
    year.summary.late += late
    part = None if department == body.departments[0] else department
    review = year.actors.ensure(reviewer(department), ("reviewer",), department)
    today = year.run.now.astimezone(CHINA).date()

    def disclose() -> None:
        if year.submit(results.sign_disclose(review, reviewer(department),
                                             results.DiscloseBody(task_id=body.task_id, uscc=uscc, department=part))):
            year.summary.disclosed += 1

    def send_back() -> None:
        back = results.ReturnBody(task_id=body.task_id, uscc=uscc, department=part, reason="检查记录不完整，请补充后重新提交")
        if year.submit(results.sign_return(review, reviewer(department), back)):
            year.summary.returned += 1
            year.at(today + timedelta(days=5), 16, resubmit)

    def resubmit() -> None:
        sheet = hashlib.sha256(f"demo record {body.task_id} {uscc} {department}".encode()).hexdigest()
        fixed = results.CorrectBody(**{**msgspec.structs.asdict(record), "reason": "补充检查记录",
                                       "evidence": (*record.evidence, results.Evidence(
                                           sha256=sheet, name="检查记录.pdf", kind="record"))})
        if year.submit(results.sign_correct(signer, badge, fixed)):
            year.at(year.run.now.astimezone(CHINA).date() + timedelta(days=2), 10, disclose)

    def follow_up_done() -> None:
        done = results.FollowUpDoneBody(task_id=body.task_id, uscc=uscc, department=part, kind="abnormal_list",
                                        note="已作出列入经营异常名录决定")
        if year.submit(results.sign_follow_up_done(signer, badge, done)):
            year.summary.follow_ups_done += 1

    year.at(today + timedelta(days=3), 10, send_back if year.rng.random() < 0.12 else disclose)
    if record.follow_ups:
        year.at(today + timedelta(days=8), 11, follow_up_done)


def _refusals(year: _Year, tasks: list[draws.TaskBody]) -> None:
    """Forbidden attempts in the year: each refused, and the refusal recorded (report refused)."""
    first = next(body for body in tasks if len(body.departments) == 1)
    lead = first.departments[0]
    other = next(d for body in tasks for d in body.departments if d != lead)

    def off_the_list() -> None:  # 清单之外无检查: an item that is not on the list
        body = msgspec.structs.replace(first, task_id=f"T-{DEMO_YEAR}-OFF-LIST", items=("NOT-ON-THE-LIST",))
        signer = year.actors.ensure(planner(lead), ("planner",), lead)
        year.submit(sign_command(signer, planner(lead), "task.create", msgspec.to_builtins(body)))

    def foreign_drawer() -> None:  # a drawer of another department draws the lead's task
        try:
            commit_and_draw(year.ledger, year.actors.ensure(drawer(other), ("drawer",), other), drawer(other),
                            first.task_id)
        except CommandRefused:
            year.summary.refused += 1

    year.at(first.window_start - timedelta(days=9), 11, off_the_list)
    year.at(first.window_start - timedelta(days=8), 11, foreign_drawer)
