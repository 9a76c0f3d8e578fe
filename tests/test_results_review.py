"""Results shaped like the forms: per department in a joint task (一联合), a multi-select
of categories, follow-ups (后续处置), evidence hashes, review (审核) and publication
(公示) by a reviewer of the department, on a real SQLite file and a real PostgreSQL.

Every write is a command signed by its actor; every rule has an insider test:
the refused command's own signed bytes appended with its events by the ledger
key's holder, which `verify` must refuse at that position.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ledger.demo.beacon import commit_and_draw
from ledger.domain.commands import china_date
from ledger.domain.draws import PlanBody, TaskBody
from ledger.domain.results import FollowUpState, InspectionResult
from ledger.domain.rows import DepartmentRow, InspectorRow, ItemRow
from ledger.domain.workdays import WorkCalendar
from ledger.draw.spec import Quota
from ledger.integrity.canonical import utc_now
from ledger.integrity.commands import SignedCommand
from ledger.integrity.keys import Signer, public_key_b64
from ledger.services import draws, results, settings
from ledger.services.directory import import_rows
from ledger.services.ledger import CommandRefused, LedgerService
from ledger.services.reports import overdue, public_results, trace
from ledger.store.config import StoreConfig
from ledger.verify.ledger_check import verify_ledger
from tests.insider import Insider, command_event, refused_at
from tests.ledger_helpers import DEPARTMENT, TestLedger, entity_rows, new_ledger

LEAD, OTHER = "XY-SCJG", "XY-WSJK"  # 市场监管 leads, 卫健 takes part (一联合)
ITEM = {LEAD: "XY-SCJG-001", OTHER: "XY-WSJK-001"}
OFFICERS = {f"{dept}-000{i}": dept for dept in (LEAD, OTHER) for i in (1, 2)}
REVIEWER = {LEAD: "rev-scjg", OTHER: "rev-wsjk"}
WINDOW = (date(2026, 9, 21), date(2026, 9, 30))
INSPECTED = date(2026, 9, 25)
LATE_ENOUGH = date(2026, 12, 31)  # every 2026 deadline of these tests has passed


class World(msgspec.Struct, kw_only=True):
    ledger: TestLedger
    teams: dict[str, tuple[str, ...]]

    @property
    def config(self) -> StoreConfig:
        return self.ledger.store

    @property
    def target(self) -> str:
        return sorted(self.teams)[0]

    def officer(self, department: str, target: str | None = None) -> str:
        """The target's drawn officer of `department` (the draw gives each department one)."""
        return next(b for b in self.teams[target or self.target] if OFFICERS[b] == department)

    def key(self, actor: str) -> Signer:
        return self.ledger.keys[actor]


def _register(service: LedgerService, ledger: TestLedger, actor: str, role: str, department: str) -> None:
    signer = Signer.generate()
    service.submit(ledger.sign("admin", "actor.register", {
        "actor_id": actor, "department": department, "name": actor, "public_key": public_key_b64(signer.public_key),
        "roles": [role]}))
    ledger.keys[actor] = signer


def make_world(store: StoreConfig) -> World:
    ledger = new_ledger(store, "test.drledger/joint")
    ledger.submit("admin", "settings.governance", {"approvals_needed": 2, "cooling_off_days": 3,
                                                   "draw_cooling_off_days": 0})
    with ledger.service() as service:
        rows: list[tuple[str, list[Any]]] = [
            ("departments", [DEPARTMENT, DepartmentRow(code=OTHER, name="新余市卫生健康委员会", level="city",
                                                       region_code="360500")]),
            ("items", [ItemRow(code=code, name=f"检查事项 {code}", department=dept, legal_basis="《价格法》",
                               content="明码标价", methods=("onsite", "written"), target_kind="entity",
                               key_item=False) for dept, code in ITEM.items()]),
            ("entities", entity_rows(4)),
            ("inspectors", [InspectorRow(badge=badge, name=f"李{badge[-1]}", department=dept, region_code="360502",
                                         role="enforcement", qualifications=(ITEM[dept],),
                                         certificate_no=f"赣执{badge}", certificate_valid_until="2030-12-31")
                            for badge, dept in OFFICERS.items()]),
        ]
        for kind, kind_rows in rows:
            import_rows(service, ledger.admin, "admin", kind, kind_rows)
        _register(service, ledger, "planner", "planner", LEAD)
        _register(service, ledger, "drawer", "drawer", LEAD)
        for badge, dept in OFFICERS.items():
            _register(service, ledger, badge, "inspector", dept)
        for dept, reviewer in REVIEWER.items():
            _register(service, ledger, reviewer, "reviewer", dept)
        settings.seed_calendar(service, ledger.admin, "admin", [2026])
        draws.create_plan(service, ledger.keys["planner"], "planner", PlanBody(
            plan_id="P-JOINT", title="联合抽查", department=LEAD, year=2026, items=tuple(ITEM.values()),
            joint_departments=(OTHER,)))
        draws.create_task(service, ledger.keys["planner"], "planner", TaskBody(
            task_id="J1", plan_id="P-JOINT", name="价格与卫生联合抽查", window_start=WINDOW[0], window_end=WINDOW[1],
            items=tuple(ITEM.values()), departments=(LEAD, OTHER), quotas={"B": Quota(count=2)}))
        drawn = commit_and_draw(service, ledger.keys["drawer"], "drawer", "J1")
    return World(ledger=ledger, teams={t.target: tuple(t.inspectors) for t in drawn.teams})


@pytest.fixture
def world(store: StoreConfig) -> World:
    return make_world(store)


# -- helpers -----------------------------------------------------------------------


def body(world: World, department: str, target: str | None = None, **changes: Any) -> results.RecordBody:
    fields: dict[str, Any] = {"task_id": "J1", "uscc": target or world.target, "categories": ("no_issue",),
                              "findings": "未发现问题", "methods": ("onsite",), "items": (ITEM[department],),
                              "inspected_on": INSPECTED}
    return results.RecordBody(**{**fields, **changes})


def correction(base: results.RecordBody, **changes: Any) -> results.CorrectBody:
    return results.CorrectBody(**{**msgspec.structs.asdict(base), "reason": "复核后更正", **changes})


def submit(world: World, signed: SignedCommand) -> results.ResultView:
    with world.ledger.service() as ledger:
        return results.record(ledger, signed)  # every result command submits alike


def record(world: World, badge: str, record_body: results.RecordBody) -> results.ResultView:
    return submit(world, results.sign_record(world.key(badge), badge, record_body))


def publish(world: World, reviewer: str, department: str | None = None,
            target: str | None = None) -> SignedCommand:
    return results.sign_disclose(world.key(reviewer), reviewer, results.DiscloseBody(
        task_id="J1", uscc=target or world.target, department=department))


def send_back(world: World, reviewer: str, reason: str, department: str | None = None) -> SignedCommand:
    return results.sign_return(world.key(reviewer), reviewer, results.ReturnBody(
        task_id="J1", uscc=world.target, department=department, reason=reason))


def refused(world: World, signed: SignedCommand, code: str) -> None:
    with pytest.raises(CommandRefused) as caught:
        submit(world, signed)
    assert caught.value.code == code, str(caught.value)


def current(world: World, department: str) -> results.ResultView:
    with world.ledger.service() as ledger:
        view = results.current(ledger, "J1", world.target, department)
    assert view is not None
    return view


# -- a joint task: each department records and publishes its own ------------------------------


def test_a_joint_task_each_department_records_and_publishes_its_own(world: World) -> None:
    lead, other = world.officer(LEAD), world.officer(OTHER)
    refused(world, results.sign_record(world.key(other), other, body(world, OTHER, items=(ITEM[LEAD],))),
            "item_of_other_department")
    mine = record(world, lead, body(world, LEAD))
    theirs = record(world, other, body(world, OTHER, categories=("pending", "other_violation"),
                                       findings="发现违反卫生规定线索", follow_ups=(
                                           results.FollowUp(kind="notify_department", to_department=LEAD),)))
    assert (mine.department, mine.state_label, theirs.department, theirs.state_label) == (
        LEAD, "待审核", OTHER, "待审核")
    # Two results for one target: the lead's keeps the key TASK/USCC, the participant's adds its department.
    with Insider(world.config) as insider:
        assert insider.find(InspectionResult.create_id("J1", world.target)).department == LEAD
        assert insider.find(InspectionResult.create_id("J1", world.target, OTHER)).department == OTHER
    refused(world, results.sign_record(world.key(other), other, body(world, OTHER)), "duplicate_result")
    # Each department's reviewer publishes its own department's result, and only that.
    refused(world, publish(world, REVIEWER[OTHER]), "out_of_jurisdiction")  # the lead's result
    submit(world, publish(world, REVIEWER[LEAD]))
    shown = public_results(world.config, "J1")
    assert [(p.uscc, p.department) for p in shown] == [(world.target, LEAD)]
    assert len(shown[0].inspectors) == 1 and shown[0].inspectors[0].endswith(f", {LEAD})")
    assert current(world, OTHER).state == "submitted"  # the other department has not published yet
    submit(world, publish(world, REVIEWER[OTHER], OTHER))
    shown = public_results(world.config, "J1")
    assert [(p.department, p.categories) for p in shown] == [(LEAD, ["no_issue"]),
                                                             (OTHER, ["pending", "other_violation"])]
    assert shown[1].category_labels == ["发现问题待后续处理", "违反其他部门相关规定"]
    # The other target: neither department recorded, each one's result is missing.
    late = [(r.uscc, r.department) for r in overdue(world.config, today=LATE_ENOUGH) if r.problem == "result_missing"]
    others = [t for t in sorted(world.teams) if t != world.target]
    assert late == [(t, d) for t in others for d in (LEAD, OTHER)]
    report = verify_ledger(world.config)
    assert report.ok, report.problems


def test_a_participants_credit_feedback_names_its_own_result(world: World) -> None:
    other = world.officer(OTHER)
    first = body(world, OTHER, categories=("obstructed",), findings="拒绝提供资料")
    record(world, other, first)
    submit(world, results.sign_correct(world.key(other), other, correction(first, categories=("no_issue",),
                                                                           findings="复核：已配合")))
    changes = [msgspec.json.decode(r.detail) for r in trace(world.config, "J1", world.target)
               if r.kind == "reclassified"]
    assert [(c["cause"], c["risk_class"]) for c in changes] == [
        (f"result:J1/{world.target}/{OTHER}@1", "D"), (f"result:J1/{world.target}/{OTHER}@2", changes[0]["previous"])]
    assert verify_ledger(world.config).ok


# -- review: sent back with a reason, corrected, approved ------------------------------------------


def test_a_review_sent_back_then_approved(world: World) -> None:
    lead, reviewer = world.officer(LEAD), REVIEWER[LEAD]
    first = body(world, LEAD, categories=("corrected",), findings="未明码标价")
    record(world, lead, first)
    refused(world, send_back(world, reviewer, " "), "invalid")  # a return names its reason
    back = submit(world, send_back(world, reviewer, "检查记录未附现场照片"))
    assert (back.state, back.state_label, back.return_reason) == ("returned", "审核不通过", "检查记录未附现场照片")
    refused(world, publish(world, reviewer), "not_submitted")  # the inspector corrects and resubmits first
    refused(world, send_back(world, reviewer, "再次退回"), "not_submitted")
    photo = results.Evidence(sha256="ab" * 32, name="现场照片1.jpg", kind="photo")
    again = submit(world, results.sign_correct(world.key(lead), lead, correction(first, evidence=(photo,),
                                                                                 reason="补充现场照片")))
    assert (again.state, again.corrections, again.evidence) == ("submitted", 1, (photo,))
    done = submit(world, publish(world, reviewer))
    assert done.disclosed and done.state_label == "已公示" and done.disclosed_by == reviewer
    rows = [r for r in trace(world.config, "J1", world.target) if not r.kind.startswith("refused")]
    assert [r.kind for r in rows] == ["drawn", "recorded", "returned", "corrected", "disclosed"]
    assert [r.actor for r in rows[1:]] == [lead, reviewer, lead, reviewer]
    assert msgspec.json.decode(rows[3].detail)["resubmitted"] is True
    assert verify_ledger(world.config).ok


def test_only_a_reviewer_of_the_department_who_did_not_inspect_publishes(world: World) -> None:
    lead = world.officer(LEAD)
    record(world, lead, body(world, LEAD))
    refused(world, publish(world, lead), "missing_role")  # the inspector is no reviewer
    world.ledger.submit("admin", "actor.set_roles", {"actor_id": lead, "roles": ["inspector", "reviewer"],
                                                     "department": LEAD})
    refused(world, publish(world, lead), "self_review")  # a reviewer now, but it inspected the target
    refused(world, publish(world, REVIEWER[OTHER], LEAD), "out_of_jurisdiction")
    assert submit(world, publish(world, REVIEWER[LEAD])).disclosed
    refused(world, results.sign_correct(world.key(lead), lead, correction(body(world, LEAD), findings="改")),
            "already_disclosed")


# -- the category tree, follow-ups, evidence -------------------------------------------------------


def test_the_category_tree_rules(world: World) -> None:
    lead = world.officer(LEAD)

    def attempt(code: str, **changes: Any) -> None:
        refused(world, results.sign_record(world.key(lead), lead, body(world, LEAD, **changes)), code)

    attempt("invalid_categories", categories=("no_issue", "corrected"))  # 未发现问题 stands alone
    attempt("invalid_categories", categories=("deregistered", "moved"))  # one status outcome at most
    attempt("invalid_categories", categories=("corrected", "corrected"))
    attempt("unknown_category", categories=("fake_cert",))
    attempt("invalid", category="no_issue")  # categories and category together
    attempt("follow_up_without_problem", follow_ups=(results.FollowUp(kind="abnormal_list"),))
    attempt("invalid", categories=("pending",), follow_ups=(results.FollowUp(kind="notify_department"),))
    attempt("invalid", evidence=(results.Evidence(sha256="not-a-hash", name="x.jpg", kind="photo"),))
    # Several problems: the firm's class follows the strictest rule (not_disclosed +1, obstructed D).
    view = record(world, lead, body(world, LEAD, categories=("not_disclosed", "obstructed")))
    assert view.category_labels == ("未按规定公示应当公示的信息", "不配合检查情节严重")
    change = next(r for r in trace(world.config, "J1", world.target) if r.kind == "reclassified")
    assert msgspec.json.decode(change.detail)["risk_class"] == "D"
    # The settings may extend the tree; a new exclusive category is enforced as the file's are.
    with world.ledger.service() as ledger:
        settings.submit_settings(ledger, settings.sign_results(world.ledger.admin, "admin", settings.ResultsSettings(
            categories={"sealed": {"label": "已查封", "problem": True, "exclusive": True}})))
    other = world.officer(OTHER)
    refused(world, results.sign_record(world.key(other), other, body(world, OTHER, categories=("sealed", "pending"))),
            "invalid_categories")
    assert verify_ledger(world.config).ok


def test_follow_ups_are_due_on_their_own_dates_and_done_by_command(world: World, tmp_path: Path) -> None:
    lead = world.officer(LEAD)
    (tmp_path / "检查记录.pdf").write_bytes(b"%PDF-1.4 record of the inspection")
    evidence = results.evidence_of(tmp_path / "检查记录.pdf", "record")
    base = body(world, LEAD, categories=("pending", "not_disclosed"), findings="未公示年报", evidence=(evidence,),
                follow_ups=(results.FollowUp(kind="abnormal_list"),
                            results.FollowUp(kind="notify_department", to_department=OTHER, note="抄告卫健")))
    view = record(world, lead, base)
    assert view.evidence[0].sha256 == evidence.sha256 and len(evidence.sha256) == 64
    ten = WorkCalendar().add_working_days(INSPECTED, 10)  # 10 working days after the inspection (2026 recorded)
    assert [(f.kind, f.due, f.provisional, f.done_on) for f in view.follow_ups] == [
        ("abnormal_list", ten, False, None), ("notify_department", ten, False, None)]
    missing = {r.inspectors for r in overdue(world.config, today=LATE_ENOUGH) if r.problem == "follow_up_missing"}
    assert missing == {"abnormal_list", f"notify_department:{OTHER}"}

    def done(kind: str, to: str | None = None, actor: str = lead) -> SignedCommand:
        return results.sign_follow_up_done(world.key(actor), actor, results.FollowUpDoneBody(
            task_id="J1", uscc=world.target, kind=kind, to_department=to, note="已列入经营异常名录"))

    refused(world, done("case_transfer"), "unknown_follow_up")
    after = submit(world, done("abnormal_list"))
    listed = after.follow_ups[0]
    assert (listed.done_on, listed.done_by) == (china_date(utc_now()), lead)
    refused(world, done("abnormal_list"), "follow_up_already_done")
    rows = {r.inspectors: r.problem for r in overdue(world.config, today=LATE_ENOUGH) if r.problem.startswith("follow")}
    expected = {f"notify_department:{OTHER}": "follow_up_missing"}
    if listed.done_on is not None and listed.done_on > ten:  # done after its due date: late
        expected["abnormal_list"] = "follow_up_late"
    assert rows == expected
    # A done follow-up stays: a correction may not drop it.
    refused(world, results.sign_correct(world.key(lead), lead, correction(base, follow_ups=base.follow_ups[1:])),
            "invalid")
    assert submit(world, done("notify_department", OTHER, REVIEWER[LEAD])).follow_ups[1].done_by == REVIEWER[LEAD]
    assert verify_ledger(world.config).ok


# -- insiders: each rule's forbidden event, appended with the ledger key, fails verify ---------------


def _promote(world: World, signed: SignedCommand, code: str, build: Callable[[Insider], list[Any]]) -> None:
    """The refused command's own signed bytes, appended as accepted with the events `build` makes."""
    refused(world, signed, code)
    claim = msgspec.json.decode(signed.command)
    with Insider(world.config) as insider:
        moment = insider.head_time()

        def events() -> list[Any]:
            return [command_event(signed, claim["actor"], claim["name"], claim["nonce"]), *build(insider)]

        position = insider.append(events, at=moment)
    refused_at(world.config, position, claim["name"], code)


def _published(insider: Insider, actor: str, target: str) -> list[Any]:
    result = insider.find(InspectionResult.create_id("J1", target))
    result.disclose(task_id=result.task_id, uscc=result.uscc, department=result.department,
                    disclosed_on=china_date(utc_now()), disclosure_due=result.disclosure_due, late=False,
                    provisional=False, actor=actor)
    return [result]


def test_insider_publishes_a_result_its_own_inspector_approved(world: World) -> None:
    lead = world.officer(LEAD)
    record(world, lead, body(world, LEAD))
    world.ledger.submit("admin", "actor.set_roles", {"actor_id": lead, "roles": ["inspector", "reviewer"],
                                                     "department": LEAD})
    _promote(world, publish(world, lead), "self_review", lambda insider: _published(insider, lead, world.target))


def test_insider_publishes_a_result_sent_back(world: World) -> None:
    record(world, world.officer(LEAD), body(world, LEAD))
    submit(world, send_back(world, REVIEWER[LEAD], "缺少检查记录"))
    _promote(world, publish(world, REVIEWER[LEAD]), "not_submitted",
             lambda insider: _published(insider, REVIEWER[LEAD], world.target))


def _recorded(world: World, badge: str, record_body: results.RecordBody, department: str,
              key: str | None) -> Callable[[Insider], list[Any]]:
    def build(_: Insider) -> list[Any]:
        return [InspectionResult(
            task_id="J1", uscc=record_body.uscc, department=department, key_department=key,
            categories=record_body.categories, findings=record_body.findings, methods=record_body.methods,
            items=record_body.items, inspected_on=record_body.inspected_on, evidence=record_body.evidence,
            follow_ups=tuple(FollowUpState(kind=f.kind, to_department=f.to_department, note=f.note, due=WINDOW[1],
                                           provisional=False) for f in record_body.follow_ups),
            recorded_on=china_date(utc_now()), result_due=WINDOW[1], late=True, disclosure_due=WINDOW[1],
            provisional=False, actor=badge)]

    return build


def test_insider_records_another_departments_items(world: World) -> None:
    other = world.officer(OTHER)
    wrong = body(world, OTHER, items=(ITEM[LEAD],))
    _promote(world, results.sign_record(world.key(other), other, wrong), "item_of_other_department",
             _recorded(world, other, wrong, OTHER, OTHER))


def test_insider_records_no_problem_beside_a_problem(world: World) -> None:
    lead = world.officer(LEAD)
    wrong = body(world, LEAD, categories=("no_issue", "not_disclosed"))
    _promote(world, results.sign_record(world.key(lead), lead, wrong), "invalid_categories",
             _recorded(world, lead, wrong, LEAD, None))


def test_insider_asks_a_follow_up_of_a_result_without_a_problem(world: World) -> None:
    lead = world.officer(LEAD)
    wrong = body(world, LEAD, follow_ups=(results.FollowUp(kind="case_transfer"),))
    _promote(world, results.sign_record(world.key(lead), lead, wrong), "follow_up_without_problem",
             _recorded(world, lead, wrong, LEAD, None))


def test_insider_marks_a_follow_up_done_twice(world: World) -> None:
    lead = world.officer(LEAD)
    record(world, lead, body(world, LEAD, categories=("pending",),
                             follow_ups=(results.FollowUp(kind="abnormal_list"),)))

    def done() -> SignedCommand:
        return results.sign_follow_up_done(world.key(lead), lead, results.FollowUpDoneBody(
            task_id="J1", uscc=world.target, kind="abnormal_list", note="已列入"))

    submit(world, done())

    def again(insider: Insider) -> list[Any]:
        result = insider.find(InspectionResult.create_id("J1", world.target))
        result.follow_up_done(task_id="J1", uscc=world.target, department=LEAD, kind="abnormal_list",
                              to_department=None, done_on=china_date(utc_now()), due=WINDOW[1], late=True,
                              note="已列入", actor=lead)
        return [result]

    _promote(world, done(), "follow_up_already_done", again)
