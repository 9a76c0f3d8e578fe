"""Inspection results under enforcement, on a real SQLite file and a real PostgreSQL.

Each refusal path: the command is refused with its code, exactly one
refused-attempt event is added, and every other event and read model is
exactly as before.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import msgspec
import pytest
from eventsourcing.utils import get_topic

from ledger.demo.build import build_demo
from ledger.demo.city import generate_city
from ledger.demo.calendar import supply_standin_years, working_days_until
from ledger.demo.draws import register_actor
from ledger.domain.directory import Entity
from ledger.domain.results import (
    InspectionResult,
    CorrectBody,
    DiscloseBody,
    RecordBody,
    RefusalLog,
    apply_rule,
    china_date,
    deadlines,
    mask_badge,
    mask_name,
)
from ledger.domain.workdays import CalendarNotCovered, WorkCalendar, schedules_from_dict
from ledger.draw.spec import Quota
from ledger.draw_service import TaskSpec, commit_draw, create_plan, create_task, read_secret, run_draw
from ledger.integrity.canonical import utc_now
from ledger.integrity.commands import sign_command
from ledger.integrity.keys import Signer, read_key_file
from ledger.results_reports import overdue, public_results, refused, trace
from ledger.results_service import ResultRefused, ResultsService, sign_correct, sign_disclose, sign_record
from ledger.results_settings import ResultsSettings, load_calendar
from ledger.setup import init_ledger, open_for_writing, passphrase
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger

REFUSED_TOPICS = {get_topic(RefusalLog.Refused), get_topic(RefusalLog.Suppressed), get_topic(RefusalLog.Opened)}
WINDOW = (date(2026, 9, 21), date(2026, 9, 30))  # ends on the eve of the 2026 National Day holiday
TODAY = china_date(utc_now())


def _first_uncovered_year() -> int:
    year = TODAY.year + 2  # this year and the next get stand-ins where needed (make_world)
    while WorkCalendar().covers(year):
        year += 1
    return year


UNCOVERED = _first_uncovered_year()


class World(msgspec.Struct, kw_only=True):
    config: StoreConfig
    items: tuple[str, ...]
    teams: dict[str, list[str]]  # target -> assigned officers of task T1
    other_teams: dict[str, list[str]]  # the same for task T2
    keys: dict[str, Signer]
    undrawn: str


def _register(config: StoreConfig, actor: str, role: str, signer: Signer) -> None:
    register_actor(config, actor, role, actor, signer)


def _task(config: StoreConfig, task_id: str, department: str, items: tuple[str, ...], window: tuple[date, date],
          drawer: Signer) -> dict[str, list[str]]:
    create_task(config, TaskSpec(task_id=task_id, plan_id="P-RES", name=task_id, window_start=window[0],
                                 window_end=window[1], items=items, departments=(department,),
                                 quotas={"B": Quota(count=4), "C": Quota(count=2)}), "admin")
    path, _ = commit_draw(config, task_id, drawer, "res-drawer")
    outcome = run_draw(config, task_id, read_secret(path), "", drawer, "res-drawer")
    return {team.target: list(team.inspectors) for team in outcome.teams}


CITY_SEED = 11


def make_world(config: StoreConfig) -> World:
    """Everything the tests expect comes from here: the city it imports and the
    teams its two draws returned (never from the read models under test)."""
    init_ledger(config, origin="test.drledger/results", admin_id="admin", admin_name="Admin")
    # Results are recorded today: cover this year and the next (stand-ins where the
    # installed calendar lacks them); UNCOVERED stays uncovered for the refusal test.
    supply_standin_years(config.home, (TODAY.year, TODAY.year + 1))
    build_demo(config, seed=CITY_SEED, small=True)
    city = generate_city(CITY_SEED, small=True)
    codes = tuple(sorted(i.code for i in city.items if i.status == "active" and i.department == "XY-SCJG")[:2])
    drawer = Signer.generate()
    _register(config, "res-drawer", "drawer", drawer)
    create_plan(config, plan_id="P-RES", title="p", department="XY-SCJG", year=2026, items=codes, joint_departments=(),
                actor="admin")
    teams = _task(config, "T1", "XY-SCJG", codes, WINDOW, drawer)
    other_teams = _task(config, "T2", "XY-SCJG", codes, (date(2026, 10, 12), date(2026, 10, 30)), drawer)
    badges = sorted({b for t in (teams, other_teams) for officers in t.values() for b in officers})
    keys: dict[str, Signer] = {}
    for badge in badges:
        keys[badge] = Signer.generate()
        _register(config, badge, "inspector", keys[badge])
    undrawn = next(e.uscc for e in sorted(city.entities, key=lambda e: e.uscc)
                   if e.uscc not in teams and e.uscc not in other_teams)
    return World(config=config, items=codes, teams=teams, other_teams=other_teams, keys=keys, undrawn=undrawn)


@pytest.fixture
def world(store: StoreConfig) -> World:
    return make_world(store)


def _body(world: World, target: str | None = None, **changes: Any) -> RecordBody:
    target = target or sorted(world.teams)[0]
    fields = {"task_id": "T1", "uscc": target, "category": "no_issue", "findings": "未发现问题",
              "methods": ("onsite",), "items": world.items, "inspected_on": date(2026, 9, 25)}
    return RecordBody(**{**fields, **changes})


def _officer(world: World, target: str | None = None) -> str:
    return world.teams[target or sorted(world.teams)[0]][0]


def _events(config: StoreConfig) -> list[tuple[Any, ...]]:
    with open_reader(config) as reader:
        return [(r.seq, r.topic, r.state) for r in reader.rows(1, reader.size())]


def _tables(config: StoreConfig) -> list[Any]:
    from ledger.projections.runner import writable_connection

    with writable_connection(config) as (conn, dialect, _):
        cursor = conn.cursor()
        out = []
        for table in ("res_results", "res_timeline", "dir_entities"):
            cursor.execute(f"SELECT * FROM {dialect.table(table)} ORDER BY 1, 2")
            out.append(cursor.fetchall())
    return out


def assert_refused(world: World, action: Any, code: str) -> None:
    """Refused with `code`; one refused-attempt event added; nothing else changed."""
    before, tables = _events(world.config), _tables(world.config)
    with pytest.raises(ResultRefused) as caught:
        action()
    assert caught.value.code == code, str(caught.value)
    after = _events(world.config)
    assert after[: len(before)] == before
    added = after[len(before):]
    assert {topic for _, topic, _ in added} <= REFUSED_TOPICS
    refusals = [msgspec.json.decode(state) for _, topic, state in added if topic == get_topic(RefusalLog.Refused)]
    assert [r["code"] for r in refusals] == [code]
    assert _tables(world.config) == tables
    assert refused(world.config)[-1].code == code


# -- the happy path, corrections, disclosure ------------------------------------


def test_record_correct_disclose_and_verify(world: World) -> None:
    target = sorted(world.teams)[0]
    badge = _officer(world, target)
    settings = ResultsSettings(results_due_working_days=3)
    with ResultsService(world.config, settings) as service:
        view = service.record(sign_record(world.keys[badge], badge, _body(world, target, category="obstructed")))
        # Window ends 2026-09-30; Oct 1-7 are holidays, Oct 8-9 work, Sat Oct 10 is a make-up working day.
        assert view.result_due == date(2026, 10, 10)
        assert view.recorded_on == china_date(utc_now())
        fixed = CorrectBody(**{**msgspec.structs.asdict(_body(world, target)), "category": "corrected",
                               "findings": "已责令改正", "reason": "误选类别"})
        corrected = service.correct(sign_correct(world.keys[badge], badge, fixed))
        assert (corrected.category, corrected.corrections, corrected.version) == ("corrected", 1, 2)
        disclosed = service.disclose(sign_disclose(world.keys[badge], badge, DiscloseBody(task_id="T1", uscc=target)))
        assert disclosed.disclosed
    rows = trace(world.config, "T1", target)
    kinds = [r.kind for r in rows]
    assert kinds == ["drawn", "recorded", "reclassified", "corrected", "reclassified", "disclosed"]
    recorded = msgspec.json.decode(rows[1].detail)
    assert recorded["category"] == "obstructed" and recorded["late"] is True  # the original stays
    assert msgspec.json.decode(rows[3].detail)["reason"] == "误选类别"
    # obstructed -> D, then the correction withdraws it (back to the class before this result).
    assert msgspec.json.decode(rows[2].detail)["risk_class"] == "D"
    assert msgspec.json.decode(rows[4].detail)["risk_class"] == msgspec.json.decode(rows[2].detail)["previous"]
    assert msgspec.json.decode(rows[4].detail)["cause"] == f"result:T1/{target}@2"
    assert all(r.event_hash and (r.kind == "reclassified" or r.signature) for r in rows)
    public = public_results(world.config, "T1")
    assert [p.uscc for p in public] == [target]
    assert badge not in " ".join(public[0].inspectors) and mask_badge(badge) in public[0].inspectors[0]
    report = verify_ledger(world.config)
    assert report.ok, report.problems
    assert report.actor_signatures_checked >= 3 + 2 + len(world.keys)


def test_verify_catches_a_result_altered_after_signing(world: World) -> None:
    from tests.ledger_helpers import Raw

    target = sorted(world.teams)[0]
    badge = _officer(world, target)
    with ResultsService(world.config) as service:
        service.record(sign_record(world.keys[badge], badge, _body(world, target)))
    seq, topic, state = next(e for e in reversed(_events(world.config)) if e[1].endswith("InspectionResult.Recorded"))
    raw = Raw(world.config)
    try:
        raw.set_event(seq, state=state.replace(b'"no_issue"', b'"obstructed"'))
        raw.rechain()  # a careful forger fixes the chain; the inspector's signature still gives it away
    finally:
        raw.close()
    report = verify_ledger(world.config)
    assert not report.ok
    assert any("differs from what" in p.what for p in report.problems), report.problems


# -- every refusal path -------------------------------------------------------------


def test_refused_target_not_drawn(world: World) -> None:
    badge = _officer(world)
    with ResultsService(world.config) as service:
        assert_refused(world, lambda: service.record(sign_record(world.keys[badge], badge,
                                                                 _body(world, world.undrawn))), "target_not_drawn")


def test_refused_inspector_not_assigned(world: World) -> None:
    target = sorted(world.teams)[0]
    # An officer of these draws assigned to this target in neither task.
    outsider = next(b for b in sorted(world.keys)
                    if b not in world.teams[target] and b not in world.other_teams.get(target, []))
    with ResultsService(world.config) as service:
        assert_refused(world, lambda: service.record(sign_record(world.keys[outsider], outsider,
                                                                 _body(world, target))),
                       "inspector_not_assigned")


def test_refused_wrong_task(world: World) -> None:
    target = sorted(world.teams)[0]
    badge = _officer(world, target)
    with ResultsService(world.config) as service:
        code = "wrong_task"
        assert_refused(world, lambda: service.record(sign_record(world.keys[badge], badge,
                                                                 _body(world, target, task_id="T2",
                                                                       inspected_on=date(2026, 10, 15)))), code)
        assert_refused(world, lambda: service.record(sign_record(world.keys[badge], badge,
                                                                 _body(world, world.undrawn, task_id="NO-SUCH"))),
                       "unknown_task")


def test_refused_outside_the_window(world: World) -> None:
    badge = _officer(world)
    with ResultsService(world.config) as service:
        for day in (WINDOW[0] - timedelta(days=1), WINDOW[1] + timedelta(days=1)):
            assert_refused(world, lambda: service.record(sign_record(world.keys[badge], badge,
                                                                     _body(world, inspected_on=day))), "outside_window")
        service.record(sign_record(world.keys[badge], badge, _body(world, inspected_on=WINDOW[1])))  # the edge is in


def test_refused_item_not_on_the_task(world: World) -> None:
    badge = _officer(world)
    with ResultsService(world.config) as service:
        assert_refused(world, lambda: service.record(sign_record(world.keys[badge], badge,
                                                                 _body(world, items=(*world.items, "XY-OTHER-999")))),
                       "item_not_on_task")


def test_refused_unknown_and_revoked_actor(world: World) -> None:
    badge = _officer(world)
    with ResultsService(world.config) as service:
        assert_refused(world, lambda: service.record(sign_record(Signer.generate(), "nobody", _body(world))),
                       "unknown_actor")
    admin = read_key_file(world.config.keys_dir / "admin.pem", passphrase())
    app = open_for_writing(world.config)
    try:
        body = {"actor_id": badge, "reason": "调离"}
        app.revoke_actor(sign_command(admin, "admin", "actor.revoke", body), actor_id=badge, reason="调离")
    finally:
        app.close()
    with ResultsService(world.config) as service:
        assert_refused(world, lambda: service.record(sign_record(world.keys[badge], badge, _body(world))),
                       "revoked_actor")


def test_refused_missing_role_is_recorded_as_authenticated(world: World) -> None:
    """A registered auditor signs validly but may not record: refused, and the
    evidence says the signature verified (an unknown key's attempt does not)."""
    auditor = Signer.generate()
    _register(world.config, "aud-1", "auditor", auditor)
    with ResultsService(world.config) as service:
        assert_refused(world, lambda: service.record(sign_record(auditor, "aud-1", _body(world))), "missing_role")
    assert refused(world.config)[-1].authenticated is True
    with ResultsService(world.config) as service:
        assert_refused(world, lambda: service.record(sign_record(Signer.generate(), "aud-1", _body(world))),
                       "bad_signature")
    assert refused(world.config)[-1].authenticated is False


def test_refused_signature_by_the_wrong_key(world: World) -> None:
    badge = _officer(world)
    with ResultsService(world.config) as service:
        assert_refused(world, lambda: service.record(sign_record(Signer.generate(), badge, _body(world))),
                       "bad_signature")
        other = next(b for b in sorted(world.keys) if b != badge)
        # A registered colleague's key, claiming to be `badge`.
        assert_refused(world, lambda: service.record(sign_record(world.keys[other], badge, _body(world))),
                       "bad_signature")
        signed = sign_record(world.keys[badge], badge, _body(world))
        tampered = msgspec.structs.replace(signed, command=signed.command.replace(b"no_issue", b"obstructed"))
        assert_refused(world, lambda: service.record(tampered), "bad_signature")


def test_refused_reused_nonce(world: World) -> None:
    target = sorted(world.teams)[0]
    badge = _officer(world, target)
    with ResultsService(world.config) as service:
        service.record(sign_record(world.keys[badge], badge, _body(world, target)))
        fixed = CorrectBody(**{**msgspec.structs.asdict(_body(world, target)), "category": "pending",
                               "findings": "待处理", "reason": "补充"})
        signed = sign_correct(world.keys[badge], badge, fixed)
        service.correct(signed)
        assert_refused(world, lambda: service.correct(signed), "reused_nonce")
        # The same nonce in a different, freshly signed command is a replay too.
        nonce = msgspec.json.decode(signed.command)["nonce"]
        again = CorrectBody(**{**msgspec.structs.asdict(fixed), "category": "corrected", "findings": "改正"})
        assert_refused(world, lambda: service.correct(sign_correct(world.keys[badge], badge, again, nonce=nonce)),
                       "reused_nonce")


def test_nonce_is_unique_even_when_the_precheck_is_bypassed(world: World) -> None:
    """Two services race with one nonce: the second passes the nonce pre-check,
    then the first commits before the second saves. The store refuses the
    second nonce, and the second command is refused as a replay."""
    load: dict[str, list[str]] = {}
    for target, officers in world.teams.items():
        for badge in officers:
            load.setdefault(badge, []).append(target)
    # Six targets, two officers each, fewer than twelve qualified officers: someone has two.
    badge, (first_target, second_target, *_) = next((b, t) for b, t in sorted(load.items()) if len(t) > 1)
    nonce = "ab" * 16
    with ResultsService(world.config) as first, ResultsService(world.config) as second:
        save = second.app.save

        def save_after_the_rival(*aggregates: Any, **kwargs: Any) -> Any:
            # `second` has passed every check, the nonce's included; the rival commits first.
            second.app.save = save  # type: ignore[method-assign]
            first.record(sign_record(world.keys[badge], badge, _body(world, first_target), nonce=nonce))
            return save(*aggregates, **kwargs)

        second.app.save = save_after_the_rival  # type: ignore[method-assign]
        before = _events(world.config)
        with pytest.raises(ResultRefused) as caught:
            second.record(sign_record(world.keys[badge], badge, _body(world, second_target), nonce=nonce))
        assert caught.value.code == "reused_nonce", str(caught.value)
        assert second.app.save is save  # the race ran
    added = _events(world.config)[len(before):]
    refusals = [msgspec.json.decode(state)["code"] for _, topic, state in added
                if topic == get_topic(RefusalLog.Refused)]
    assert refusals == ["reused_nonce"]
    written = [(topic.rsplit(":", 1)[1], msgspec.json.decode(state).get("uscc")) for _, topic, state in added
               if topic not in REFUSED_TOPICS]
    # Only the rival's transaction: its result and its nonce; nothing of the second command.
    assert sorted(written, key=str) == sorted([("InspectionResult.Recorded", first_target),
                                               ("CommandNonce.Used", None)], key=str), written
    assert [r.kind for r in trace(world.config, "T1", second_target) if r.kind == "recorded"] == []


def test_refused_duplicate_result_and_correction_without_result(world: World) -> None:
    target = sorted(world.teams)[0]
    badge = _officer(world, target)
    with ResultsService(world.config) as service:
        fixed = CorrectBody(**{**msgspec.structs.asdict(_body(world, target)), "reason": "x", "findings": "y"})
        assert_refused(world, lambda: service.correct(sign_correct(world.keys[badge], badge, fixed)), "no_result")
        assert_refused(world, lambda: service.disclose(sign_disclose(world.keys[badge], badge,
                                                                     DiscloseBody(task_id="T1", uscc=target))),
                       "no_result")
        service.record(sign_record(world.keys[badge], badge, _body(world, target)))
        assert_refused(world, lambda: service.record(sign_record(world.keys[badge], badge, _body(world, target))),
                       "duplicate_result")


def test_refused_stale_command(world: World) -> None:
    badge = _officer(world)
    with ResultsService(world.config) as service:
        old = utc_now() - timedelta(hours=1)
        assert_refused(world, lambda: service.record(sign_record(world.keys[badge], badge, _body(world),
                                                                 issued_at=old)), "stale_command")


def test_refusals_are_bounded_per_actor_and_hour(world: World) -> None:
    badge = _officer(world)
    settings = ResultsSettings(refusals_per_hour=3)
    with ResultsService(world.config, settings) as service:
        before = len(_events(world.config))
        for _ in range(20):
            with pytest.raises(ResultRefused):
                service.record(sign_record(world.keys[badge], badge, _body(world, world.undrawn)))
        for _ in range(5):  # unknown names share one bucket: inventing names buys no allowance
            with pytest.raises(ResultRefused):
                service.record(sign_record(Signer.generate(), f"ghost-{_}", _body(world)))
    topics = [t for _, t, _ in _events(world.config)[before:]]
    # badge: Opened + 3 Refused + counters at 1, 2, 4, 8, 16 suppressed; unregistered: Opened + 3 + counters at 1, 2.
    assert topics.count(get_topic(RefusalLog.Refused)) == 6
    counters = [r for r in refused(world.config) if r.kind == "suppressed"]
    assert [(r.claimed_actor, r.count) for r in counters] == [(badge, n) for n in (1, 2, 4, 8, 16)] + [
        ("?unregistered", 1), ("?unregistered", 2)]


# -- deadlines in working days ----------------------------------------------------------


def test_deadlines_across_national_day_2026() -> None:
    calendar = WorkCalendar()
    due = deadlines(date(2026, 9, 30), date(2026, 9, 30), 3, 20, calendar)
    assert due.result_due == date(2026, 10, 10)  # Oct 8, Oct 9, then the make-up Saturday
    assert due.disclosure_due == date(2026, 11, 3)
    assert calendar.add_working_days(date(2026, 9, 18), 1) == date(2026, 9, 20)  # make-up Sunday before the holiday
    assert deadlines(date(2026, 9, 30), date(2026, 10, 10), 3, 20, calendar).late is False
    assert deadlines(date(2026, 9, 30), date(2026, 10, 12), 3, 20, calendar).late is True


def test_year_without_calendar_data_is_refused_unless_supplied(world: World, tmp_path: Any) -> None:
    assert not load_calendar(world.config.home).covers(UNCOVERED)
    with pytest.raises(CalendarNotCovered):
        deadlines(date(UNCOVERED - 1, 12, 30), date(UNCOVERED - 1, 12, 30), 5, 20, WorkCalendar())
    badge = _officer(world)
    years = {str(y): {"holidays": [f"{y}-01-01"], "workdays": []} for y in range(2027, UNCOVERED + 1)}
    supplied = WorkCalendar(schedules_from_dict(years))
    # Just far enough from the window's end (2026-09-30) to land early in UNCOVERED.
    far = ResultsSettings(results_due_working_days=working_days_until(WINDOW[1], UNCOVERED, supplied) + 10)
    with ResultsService(world.config, far) as service:
        assert_refused(world, lambda: service.record(sign_record(world.keys[badge], badge, _body(world))),
                       "calendar_not_covered")
    with ResultsService(world.config, far, supplied) as service:
        view = service.record(sign_record(world.keys[badge], badge, _body(world)))
    assert view.result_due.year == UNCOVERED


def test_overdue_report(world: World) -> None:
    target = sorted(world.teams)[0]
    badge = _officer(world, target)
    with ResultsService(world.config, ResultsSettings(results_due_working_days=3)) as service:
        service.record(sign_record(world.keys[badge], badge, _body(world, target)))
    rows = overdue(world.config, today=date(2026, 12, 31), settings=ResultsSettings(results_due_working_days=3))
    mine = {(r.uscc, r.problem) for r in rows if r.task_id == "T1"}
    assert (target, "result_late") in mine
    assert {(u, "result_missing") for u in world.teams if u != target} <= mine
    early = overdue(world.config, today=date(2026, 10, 9), settings=ResultsSettings(results_due_working_days=3))
    assert not [r for r in early if r.task_id == "T1" and r.problem == "result_missing"]


# -- pure rules -------------------------------------------------------------------------


def test_credit_rules_and_masks() -> None:
    assert [apply_rule(">=C", c) for c in "ABCD"] == ["C", "C", "C", "D"]
    assert [apply_rule("+1", c) for c in "ABCD"] == ["B", "C", "D", "D"]
    assert apply_rule("A", "D") == "A"
    with pytest.raises(ValueError):
        apply_rule("E", "A")
    assert mask_name("张三丰") == "张**" and mask_badge("XY-SCJG-0007") == "**********07"


def test_reclassification_names_its_result(world: World) -> None:
    target = sorted(world.teams)[0]
    badge = _officer(world, target)
    with ResultsService(world.config) as service:
        service.record(sign_record(world.keys[badge], badge, _body(world, target, category="false_disclosure")))
    with open_reader(world.config) as reader:
        recorded = [r for r in reader.events_with_topics([get_topic(InspectionResult.Recorded)])
                    if msgspec.json.decode(r.state)["uscc"] == target]
        changes = [(r.seq, msgspec.json.decode(r.state)) for r in reader.events_with_topics([get_topic(Entity.Reclassified)])
                   if msgspec.json.decode(r.state)["uscc"] == target]
    # The result (version 1 of its aggregate) and the class change it caused, in one transaction.
    assert len(recorded) == 1 and len(changes) == 1
    seq, change = changes[0]
    assert seq == recorded[0].seq + 2  # result, its nonce, then the entity
    assert change["risk_class"] == "D"  # the default rule for false_disclosure
    assert change["cause"] == f"result:T1/{target}@1" and change["actor"] == badge
    assert [msgspec.json.decode(r.detail)["cause"] for r in trace(world.config, "T1", target)
            if r.kind == "reclassified"] == [change["cause"]]
