"""Inspection results under enforcement, on a real SQLite file and a real PostgreSQL.

Every write is a command signed by its actor and decided by the ledger's one
write path. Each refusal path: the command is refused with its code, exactly
one refused-attempt event is added, and nothing else changes. Every test
builds its own ledger (`world`), and every expected code follows from that
ledger's own setup.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from eventsourcing.utils import get_topic

from ledger.demo.beacon import commit_and_draw
from ledger.demo.calendar import working_days_until
from ledger.domain.commands import CommandRecord, china_date
from ledger.domain.directory import Entity
from ledger.domain.draws import PlanBody, TaskBody
from ledger.domain.refusals import UNAUTHENTICATED_BUCKET, RefusalLog
from ledger.domain.results import InspectionResult, apply_rule, deadlines, mask_badge, mask_name
from ledger.domain.rows import InspectorRow, ItemRow
from ledger.domain.workdays import WorkCalendar
from ledger.draw.spec import Quota
from ledger.integrity.canonical import utc_now
from ledger.integrity.commands import SignedCommand
from ledger.integrity.keys import Signer, public_key_b64
from ledger.services import draws, results, settings
from ledger.services.directory import import_rows
from ledger.services.ledger import CommandRefused, LedgerService
from ledger.services.reports import actor_report, overdue, public_results, refused, trace
from ledger.services.setup import load_ledger_signer
from ledger.store.config import StoreConfig
from ledger.store.mapper import CanonicalMapper
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger
from tests.ledger_helpers import DEPARTMENT, Raw, TestLedger, entity_rows, new_ledger

WINDOW = (date(2026, 9, 21), date(2026, 9, 30))  # T1: ends on the eve of the 2026 National Day holiday
WINDOW2 = (date(2026, 10, 12), date(2026, 10, 30))  # T2
TODAY = china_date(utc_now())
REFUSAL_TOPICS = {get_topic(RefusalLog.Opened), get_topic(RefusalLog.Refused), get_topic(RefusalLog.Suppressed)}
ITEM1, ITEM2 = "XY-SCJG-001", "XY-SCJG-002"
# T1 draws from officers 1-3 (qualified for item 1), T2 from 4-6 (item 2): the two tasks' teams never overlap.
OFFICERS = {f"XY-SCJG-000{i}": ITEM1 if i <= 3 else ITEM2 for i in range(1, 7)}
B_FIRMS = entity_rows(5, risk_class="B")  # both tasks draw 4 of these 5: at least 3 are drawn in both
C_FIRMS = entity_rows(3, start=5, risk_class="C")  # no quota for class C: never drawn


SEEDED = 2026  # make_world records chinesecalendar's schedule of 2026 (the windows' year) in the ledger
UNCOVERED = max(TODAY.year, SEEDED) + 1  # never recorded in make_world: its deadlines are provisional


class World(msgspec.Struct, kw_only=True):
    ledger: TestLedger
    teams: dict[str, tuple[str, ...]]  # T1: target -> assigned officers
    teams2: dict[str, tuple[str, ...]]  # T2: target -> assigned officers
    undrawn: str  # a class-B firm T1 did not draw

    @property
    def config(self) -> StoreConfig:
        return self.ledger.store

    @property
    def target(self) -> str:
        return sorted(self.teams)[0]

    def officer(self, target: str | None = None) -> str:
        return self.teams[target or self.target][0]

    def key(self, actor: str) -> Signer:
        return self.ledger.keys[actor]


REVIEWER = "rev-1"  # a reviewer of XY-SCJG (审核): approves and publishes, never inspects


def _register(service: LedgerService, ledger: TestLedger, actor: str, role: str) -> None:
    """As TestLedger.register, on an open ledger (one ledger for the whole setup keeps it fast)."""
    signer = Signer.generate()
    service.submit(ledger.sign("admin", "actor.register", {
        "actor_id": actor, "department": "XY-SCJG", "name": actor, "public_key": public_key_b64(signer.public_key),
        "roles": [role]}))
    ledger.keys[actor] = signer


def _draw(service: LedgerService, ledger: TestLedger, task_id: str, item: str, window: tuple[date, date],
          secrets: Path) -> dict[str, tuple[str, ...]]:
    draws.create_task(service, ledger.keys["planner"], "planner", TaskBody(
        task_id=task_id, plan_id="P-RES", name=task_id, window_start=window[0], window_end=window[1],
        items=(item,), departments=("XY-SCJG",), quotas={"B": Quota(count=4)}))
    drawn = commit_and_draw(service, ledger.keys["drawer"], "drawer", task_id)
    return {team.target: tuple(team.inspectors) for team in drawn.teams}


def make_world(store: StoreConfig, secrets: Path) -> World:
    ledger = new_ledger(store, "test.drledger/results")
    ledger.submit("admin", "settings.governance", {"approvals_needed": 2, "cooling_off_days": 3,
                                                   "draw_cooling_off_days": 0})  # inspectors registered just now
    with ledger.service() as service:
        rows: list[tuple[str, list[Any]]] = [
            ("departments", [DEPARTMENT]),
            ("items", [ItemRow(code=code, name=f"检查事项{code[-1]}", department="XY-SCJG", legal_basis="《价格法》",
                               content="明码标价", methods=("onsite", "written"), target_kind="entity",
                               key_item=False) for code in (ITEM1, ITEM2)]),
            ("entities", B_FIRMS + C_FIRMS),
            ("inspectors", [InspectorRow(badge=badge, name=f"张{badge[-1]}丰", department="XY-SCJG",
                                         region_code="360502", role="enforcement", qualifications=(item,),
                                         certificate_no=f"赣执{badge}", certificate_valid_until="2030-12-31")
                            for badge, item in OFFICERS.items()]),
        ]
        for kind, kind_rows in rows:
            import_rows(service, ledger.admin, "admin", kind, kind_rows)
        _register(service, ledger, "planner", "planner")
        _register(service, ledger, "drawer", "drawer")
        for badge in OFFICERS:
            _register(service, ledger, badge, "inspector")
        _register(service, ledger, REVIEWER, "reviewer")
        # The ledger's calendar is ledger data: seed 2026 from chinesecalendar; later years stay unrecorded.
        settings.seed_calendar(service, ledger.admin, "admin", [SEEDED])
        draws.create_plan(service, ledger.keys["planner"], "planner", PlanBody(
            plan_id="P-RES", title="结果测试", department="XY-SCJG", year=2026, items=(ITEM1, ITEM2)))
        teams = _draw(service, ledger, "T1", ITEM1, WINDOW, secrets)
        teams2 = _draw(service, ledger, "T2", ITEM2, WINDOW2, secrets)
    undrawn = next(f.uscc for f in B_FIRMS if f.uscc not in teams)
    return World(ledger=ledger, teams=teams, teams2=teams2, undrawn=undrawn)


@pytest.fixture
def world(store: StoreConfig, tmp_path: Path) -> World:
    return make_world(store, tmp_path / "drawer-secrets")


# -- helpers -----------------------------------------------------------------------


def _body(world: World, target: str | None = None, **changes: Any) -> results.RecordBody:
    fields: dict[str, Any] = {"task_id": "T1", "uscc": target or world.target, "category": "no_issue",
                              "findings": "未发现问题", "methods": ("onsite",), "items": (ITEM1,),
                              "inspected_on": date(2026, 9, 25)}
    return results.RecordBody(**{**fields, **changes})


def _correction(world: World, target: str | None = None, **changes: Any) -> results.CorrectBody:
    fields = {**msgspec.structs.asdict(_body(world, target)), "category": "pending", "findings": "待处理",
              "reason": "补充线索"}
    return results.CorrectBody(**{**fields, **changes})


def submit(world: World, signed: SignedCommand) -> results.ResultView:
    """Submit any result command (record, correct and disclose submit alike)."""
    with world.ledger.service() as ledger:
        return results.record(ledger, signed)


def record(world: World, badge: str, body: results.RecordBody, **kwargs: Any) -> results.ResultView:
    with world.ledger.service() as ledger:
        return results.record(ledger, results.sign_record(world.key(badge), badge, body, **kwargs))


def correct(world: World, badge: str, body: results.CorrectBody, **kwargs: Any) -> results.ResultView:
    with world.ledger.service() as ledger:
        return results.correct(ledger, results.sign_correct(world.key(badge), badge, body, **kwargs))


def disclose(world: World, target: str, reviewer: str = REVIEWER) -> results.ResultView:
    """A reviewer of the department approves and publishes."""
    with world.ledger.service() as ledger:
        return results.disclose(ledger, results.sign_disclose(world.key(reviewer), reviewer,
                                                              results.DiscloseBody(task_id="T1", uscc=target)))


def set_results(world: World, **values: Any) -> None:
    with world.ledger.service() as ledger:
        settings.submit_settings(ledger, settings.sign_results(world.ledger.admin, "admin",
                                                               settings.ResultsSettings(**values)))


def _events(config: StoreConfig) -> list[tuple[int, str, bytes]]:
    with open_reader(config) as reader:
        return [(r.seq, r.topic or "", r.state or b"") for r in reader.rows(1, reader.size())]


def _results_view(world: World) -> list[Any]:
    """Every result of either task as the ledger holds it."""
    with world.ledger.service() as ledger:
        found = [results.current(ledger, task, target) for task, teams in (("T1", world.teams), ("T2", world.teams2))
                 for target in sorted(teams)]
    return [msgspec.structs.asdict(r) for r in found if r is not None]


def _current(world: World, target: str) -> results.ResultView | None:
    with world.ledger.service() as ledger:
        return results.current(ledger, "T1", target)


def assert_refused(world: World, signed: SignedCommand, code: str) -> CommandRefused:
    """Refused with `code`; one refused-attempt record added; nothing else changed."""
    before, state = _events(world.config), _results_view(world)
    with pytest.raises(CommandRefused) as caught:
        submit(world, signed)
    assert caught.value.code == code, str(caught.value)
    assert caught.value.receipt is not None and (caught.value.receipt.outcome, caught.value.receipt.code) == (
        "refused", code)
    after = _events(world.config)
    assert after[: len(before)] == before
    added = after[len(before):]
    assert {topic for _, topic, _ in added} <= REFUSAL_TOPICS
    records = [msgspec.json.decode(s) for _, topic, s in added if topic == get_topic(RefusalLog.Refused)]
    assert [r["code"] for r in records] == [code]
    assert _results_view(world) == state
    assert max(refused(world.config), key=lambda r: r.seq).code == code
    return caught.value


# -- the happy path, corrections, disclosure ------------------------------------------


def test_record_correct_disclose_and_verify(world: World) -> None:
    target, badge = world.target, world.officer()
    set_results(world, results_due_working_days=3)
    view = record(world, badge, _body(world, category="obstructed"))
    # Window ends 2026-09-30; Oct 1-7 are holidays, Oct 8-9 work, Sat Oct 10 is a make-up working day.
    assert view.result_due == date(2026, 10, 10)
    assert view.recorded_on == TODAY
    assert view.receipt is not None and view.receipt.outcome == "accepted"
    corrected = correct(world, badge, _correction(world, category="corrected", findings="已责令改正",
                                                  reason="误选类别"))
    assert (corrected.category, corrected.corrections, corrected.version) == ("corrected", 1, 2)
    assert disclose(world, target).disclosed
    rows = trace(world.config, "T1", target)
    assert [r.kind for r in rows] == ["drawn", "recorded", "reclassified", "corrected", "reclassified", "disclosed"]
    recorded = msgspec.json.decode(rows[1].detail)
    assert recorded["category"] == "obstructed" and recorded["late"] is True  # the original stays
    assert msgspec.json.decode(rows[3].detail)["reason"] == "误选类别"
    # obstructed -> D, then the correction withdraws it (back to the class before this result).
    assert msgspec.json.decode(rows[2].detail)["risk_class"] == "D"
    assert msgspec.json.decode(rows[4].detail)["risk_class"] == msgspec.json.decode(rows[2].detail)["previous"]
    assert msgspec.json.decode(rows[4].detail)["cause"] == f"result:T1/{target}@2"
    # Every step names the signed command of its transaction, exactly as signed.
    assert [r.command_name for r in rows] == ["draw.run", "result.record", "result.record", "result.correct",
                                              "result.correct", "result.disclose"]
    for row in rows:
        assert row.event_hash and row.signature and row.key_id and row.command_seq is not None
        assert row.command_seq < row.seq
        signed = msgspec.json.decode(row.command or "")
        assert signed["actor"] == {"drawn": "drawer", "disclosed": REVIEWER}.get(row.kind, badge)
    assert rows[1].key_id == world.key(badge).key_id
    public = public_results(world.config, "T1")
    assert [p.uscc for p in public] == [target]
    assert badge not in " ".join(public[0].inspectors) and mask_badge(badge) in public[0].inspectors[0]
    report = verify_ledger(world.config)
    assert report.ok, report.problems


def test_a_retry_of_the_same_signed_command_gets_its_receipt_again(world: World) -> None:
    signed = results.sign_record(world.key(world.officer()), world.officer(), _body(world))
    first = submit(world, signed)
    before = _events(world.config)
    again = submit(world, signed)
    assert again.receipt == first.receipt
    assert _events(world.config) == before


def test_verify_catches_a_result_altered_after_signing(world: World) -> None:
    record(world, world.officer(), _body(world))
    seq, _, state = next(e for e in reversed(_events(world.config)) if e[1] == get_topic(InspectionResult.Recorded))
    raw = Raw(world.config)
    try:
        raw.set_event(seq, state=state.replace(b'"no_issue"', b'"obstructed"'))
        raw.rechain(load_ledger_signer(world.config))  # a careful forger with the ledger key fixes everything
    finally:
        raw.close()
    report = verify_ledger(world.config)
    assert not report.ok
    assert report.problems[0].position == seq, report.problems
    assert "differs from what the rules produce" in report.problems[0].what


def _append_event(raw: Raw, event: Any) -> int:
    """Append one stored event in its own transaction (hashes and signature fixed by rechain); its position."""
    stored = CanonicalMapper().to_stored_event(event)
    oid = stored.originator_id if raw.store.kind == "postgres" else stored.originator_id.hex
    (nid,) = raw.sql(f"INSERT INTO {raw.events} (originator_id, originator_version, topic, state)"
                     f" VALUES (?, ?, ?, ?) RETURNING {raw.event_id}", oid, stored.originator_version, stored.topic,
                     stored.state)[0]
    (size,) = raw.sql(f"SELECT MAX(seq) FROM {raw.chain}")[0]
    seq = int(size) + 1
    raw.sql(f"INSERT INTO {raw.chain} (seq, notification_id, hash) VALUES (?, ?, ?)", seq, nid, bytes(32))
    (signed_at,) = raw.sql(f"SELECT MAX(signed_at_us) FROM {raw.txs}")[0]
    raw.sql(f"INSERT INTO {raw.txs} (last_seq, first_seq, key_id, signed_at_us, signature) VALUES (?, ?, ?, ?, ?)",
            seq, seq, "", int(signed_at) + 1, bytes(64))
    return seq


def test_verify_names_a_result_an_insider_appended_for_a_firm_never_drawn(world: World) -> None:
    """The insider has the database and the ledger key: chain, tree and signature are right; the rules are not."""
    from ledger.domain.base import recorded_time

    never_drawn = C_FIRMS[0].uscc
    assert never_drawn not in world.teams and never_drawn not in world.teams2
    with recorded_time(utc_now()):
        forged = InspectionResult(
            task_id="T1", uscc=never_drawn, department="XY-SCJG", key_department=None, categories=("obstructed",),
            findings="伪造", methods=("onsite",), items=(ITEM1,), inspected_on=date(2026, 9, 25), evidence=(),
            follow_ups=(), recorded_on=TODAY, result_due=date(2026, 10, 10), late=False,
            disclosure_due=date(2026, 10, 30), provisional=False, actor=world.officer())
    raw = Raw(world.config)
    try:
        position = _append_event(raw, forged.collect_events()[0])
        raw.rechain(load_ledger_signer(world.config))
    finally:
        raw.close()
    report = verify_ledger(world.config)
    assert not report.ok
    assert [p.position for p in report.problems] == [position], report.problems
    assert "InspectionResult.Recorded is written without a command" in report.problems[0].what


def test_a_refused_command_promoted_into_a_result_fails_verify(world: World) -> None:
    """The insider takes a refused attempt's own signed bytes (a real signature of a real
    inspector) and appends them as an accepted command with its result."""
    from ledger.domain.base import recorded_time
    from tests.insider import Insider, command_event, refused_at

    badge = world.officer()
    body = _body(world, world.undrawn)
    signed = results.sign_record(world.key(badge), badge, body)
    assert_refused(world, signed, "target_not_drawn")
    nonce = msgspec.json.decode(signed.command)["nonce"]
    with Insider(world.config) as insider:
        moment = insider.head_time()

        def build() -> list[Any]:
            with recorded_time(moment):
                result = InspectionResult(
                    task_id=body.task_id, uscc=body.uscc, department="XY-SCJG", key_department=None,
                    categories=(body.category,), findings=body.findings, methods=body.methods, items=body.items,
                    inspected_on=body.inspected_on, evidence=(), follow_ups=(), recorded_on=china_date(moment),
                    result_due=date(2026, 10, 10), late=False, disclosure_due=date(2026, 10, 30),
                    provisional=False, actor=badge)
            return [command_event(signed, badge, "result.record", nonce), result]

        position = insider.append(build, at=moment)
    refused_at(world.config, position, "result.record", "target_not_drawn")


# -- every refusal path ------------------------------------------------------------------


def test_refused_target_not_drawn(world: World) -> None:
    badge = world.officer()
    assert_refused(world, results.sign_record(world.key(badge), badge, _body(world, world.undrawn)),
                   "target_not_drawn")


def test_refused_inspector_not_assigned(world: World) -> None:
    target = world.target
    # An officer qualified for T1's item, assigned to this target in neither task (known from the draws).
    outsider = next(b for b in OFFICERS if OFFICERS[b] == ITEM1 and b not in world.teams[target]
                    and b not in world.teams2.get(target, ()))
    assert_refused(world, results.sign_record(world.key(outsider), outsider, _body(world, target)),
                   "inspector_not_assigned")


def test_refused_inspector_of_another_tasks_team(world: World) -> None:
    """Drawn for the same firm in T2 is no licence to record it in T1."""
    target = next(t for t in sorted(world.teams) if t in world.teams2)
    other = world.teams2[target][0]
    assert other not in world.teams[target]
    assert_refused(world, results.sign_record(world.key(other), other, _body(world, target)), "inspector_not_assigned")
    # ...and the T1 officer may not record the firm in T2 either.
    badge = world.officer(target)
    assert_refused(world, results.sign_record(world.key(badge), badge, _body(
        world, target, task_id="T2", items=(ITEM2,), inspected_on=date(2026, 10, 15))), "inspector_not_assigned")


def test_refused_unknown_task(world: World) -> None:
    badge = world.officer()
    assert_refused(world, results.sign_record(world.key(badge), badge, _body(world, task_id="NO-SUCH")),
                   "unknown_task")


def test_refused_outside_the_window(world: World) -> None:
    badge = world.officer()
    for day in (WINDOW[0] - timedelta(days=1), WINDOW[1] + timedelta(days=1)):
        assert_refused(world, results.sign_record(world.key(badge), badge, _body(world, inspected_on=day)),
                       "outside_window")
    assert record(world, badge, _body(world, inspected_on=WINDOW[1])).inspected_on == WINDOW[1]  # the edge is in


def test_refused_item_not_on_the_task(world: World) -> None:
    badge = world.officer()
    assert_refused(world, results.sign_record(world.key(badge), badge, _body(world, items=(ITEM1, ITEM2))),
                   "item_not_on_task")


def test_refused_unknown_and_revoked_actor(world: World) -> None:
    assert_refused(world, results.sign_record(Signer.generate(), "nobody", _body(world)), "unknown_actor")
    world.ledger.register("aud-1", "auditor")
    world.ledger.submit("admin", "actor.revoke", {"actor_id": "aud-1", "reason": "调离"})
    assert_refused(world, results.sign_record(world.key("aud-1"), "aud-1", _body(world)), "revoked_actor")


def test_refused_missing_role_is_recorded_as_authenticated(world: World) -> None:
    """A registered auditor signs validly but may not record: refused, and the
    evidence says the signature verified (an unknown key's attempt does not)."""
    world.ledger.register("aud-1", "auditor")
    assert_refused(world, results.sign_record(world.key("aud-1"), "aud-1", _body(world)), "missing_role")
    mine = refused(world.config, "aud-1")
    assert [(r.code, r.authenticated, r.bucket) for r in mine] == [("missing_role", True, "aud-1")]
    assert_refused(world, results.sign_record(Signer.generate(), "aud-1", _body(world)), "bad_signature")
    mine = refused(world.config, "aud-1")
    assert [(r.code, r.authenticated, r.bucket) for r in mine] == [
        ("missing_role", True, "aud-1"), ("bad_signature", False, UNAUTHENTICATED_BUCKET)]


def test_refused_signature_by_the_wrong_key(world: World) -> None:
    badge = world.officer()
    assert_refused(world, results.sign_record(Signer.generate(), badge, _body(world)), "bad_signature")
    colleague = next(b for b in OFFICERS if b != badge)  # a registered colleague's key, claiming to be `badge`
    assert_refused(world, results.sign_record(world.key(colleague), badge, _body(world)), "bad_signature")
    signed = results.sign_record(world.key(badge), badge, _body(world))
    tampered = msgspec.structs.replace(signed, command=signed.command.replace(b"no_issue", b"obstructed"))
    assert_refused(world, tampered, "bad_signature")


def test_refused_reused_nonce(world: World) -> None:
    badge = world.officer()
    first = results.sign_record(world.key(badge), badge, _body(world))
    submit(world, first)
    nonce = msgspec.json.decode(first.command)["nonce"]
    # The same nonce in a different, freshly signed command is a replay.
    assert_refused(world, results.sign_correct(world.key(badge), badge, _correction(world), nonce=nonce),
                   "reused_nonce")


def test_one_nonce_is_accepted_once_even_by_concurrent_writers(world: World) -> None:
    """Two writers (two open ledgers, as two processes) race two commands with one nonce,
    both valid until the other lands: the writer lock lets exactly one through, the
    other is refused as a replay and nothing of it is written but its refusal."""
    badge = world.officer()
    record(world, badge, _body(world))
    nonce = "ab" * 16
    # Same category: a correction of findings only, so no reclassification joins the transaction.
    commands = [results.sign_correct(world.key(badge), badge,
                                     _correction(world, category="no_issue", findings=f"版本{i}"), nonce=nonce)
                for i in range(2)]
    barrier = threading.Barrier(2)
    before = _events(world.config)
    outcomes: list[Any] = [None, None]

    def attempt(index: int) -> None:
        with world.ledger.service() as ledger:
            barrier.wait()
            try:
                outcomes[index] = results.correct(ledger, commands[index])
            except CommandRefused as error:
                outcomes[index] = error

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refusals = [o for o in outcomes if isinstance(o, CommandRefused)]
    accepted = [o for o in outcomes if isinstance(o, results.ResultView)]
    assert len(accepted) == 1 and [r.code for r in refusals] == ["reused_nonce"]
    # Only the winner's transaction (its command and its correction) and the loser's refusal were written.
    added = _events(world.config)[len(before):]
    written = [topic for _, topic, _ in added if topic not in REFUSAL_TOPICS]
    assert written == [get_topic(CommandRecord.Accepted), get_topic(InspectionResult.Corrected)]
    assert [msgspec.json.decode(state)["code"] for _, topic, state in added
            if topic == get_topic(RefusalLog.Refused)] == ["reused_nonce"]
    assert _current(world, world.target).findings == accepted[0].findings
    assert verify_ledger(world.config).ok


def test_refused_duplicate_result_and_correction_without_result(world: World) -> None:
    badge = world.officer()
    assert_refused(world, results.sign_correct(world.key(badge), badge, _correction(world)), "no_result")
    assert_refused(world, results.sign_disclose(world.key(REVIEWER), REVIEWER,
                                                results.DiscloseBody(task_id="T1", uscc=world.target)), "no_result")
    record(world, badge, _body(world))
    assert_refused(world, results.sign_record(world.key(badge), badge, _body(world)), "duplicate_result")
    disclose(world, world.target)
    assert_refused(world, results.sign_disclose(world.key(REVIEWER), REVIEWER,
                                                results.DiscloseBody(task_id="T1", uscc=world.target)),
                   "already_disclosed")
    # Published: no longer the inspector's to change.
    assert_refused(world, results.sign_correct(world.key(badge), badge, _correction(world)), "already_disclosed")


def test_refused_stale_command(world: World) -> None:
    badge = world.officer()
    old = utc_now() - timedelta(hours=1)
    assert_refused(world, results.sign_record(world.key(badge), badge, _body(world), issued_at=old), "stale_command")


def test_refusals_are_bounded_per_actor_and_hour(world: World) -> None:
    badge = world.officer()
    set_results(world, refusals_per_hour=3)
    before = len(_events(world.config))
    attempts = [results.sign_record(world.key(badge), badge, _body(world, world.undrawn)) for _ in range(20)]
    # Unknown names share one bucket: inventing names buys no allowance.
    attempts += [results.sign_record(Signer.generate(), f"ghost-{index}", _body(world)) for index in range(5)]
    with world.ledger.service() as ledger:
        for signed in attempts:
            with pytest.raises(CommandRefused):
                results.record(ledger, signed)
    topics = [t for _, t, _ in _events(world.config)[before:]]
    # badge: 3 recorded, then counters at 1, 2, 4, 8, 16 suppressed; unauthenticated: 3, then counters at 1, 2.
    assert topics.count(get_topic(RefusalLog.Refused)) == 6
    counters = [(r.bucket, r.count) for r in refused(world.config) if r.kind == "suppressed"]
    assert counters == [(badge, n) for n in (1, 2, 4, 8, 16)] + [(UNAUTHENTICATED_BUCKET, n) for n in (1, 2)]
    assert verify_ledger(world.config).ok


def test_junk_in_an_inspectors_name_does_not_suppress_its_own_refusals(world: World) -> None:
    """25 attempts with bad signatures claiming the inspector fill the unauthenticated
    bucket; the inspector's own signed refusals are still recorded in full."""
    badge = world.officer()
    set_results(world, refusals_per_hour=3)
    with world.ledger.service() as ledger:
        for _ in range(25):
            with pytest.raises(CommandRefused) as caught:
                results.record(ledger, results.sign_record(Signer.generate(), badge, _body(world)))
            assert caught.value.code == "bad_signature"
    for _ in range(3):
        assert_refused(world, results.sign_record(world.key(badge), badge, _body(world, world.undrawn)),
                       "target_not_drawn")
    rows = refused(world.config, badge)  # every attempt claiming the inspector
    own = [r for r in rows if r.bucket == badge]
    junk = [r for r in rows if r.bucket == UNAUTHENTICATED_BUCKET]
    assert rows == own + junk  # the report lists the authenticated bucket apart, first
    assert [(r.kind, r.code, r.authenticated) for r in own] == [("refused", "target_not_drawn", True)] * 3
    assert [(r.kind, r.code, r.authenticated) for r in junk] == [("refused", "bad_signature", False)] * 3
    # The other 22 junk attempts were only counted, in the unauthenticated bucket.
    counters = [(r.bucket, r.count) for r in refused(world.config) if r.kind == "suppressed"]
    assert counters == [(UNAUTHENTICATED_BUCKET, n) for n in (1, 2, 4, 8, 16)]
    kinds = [r.kind for r in actor_report(world.config, badge)]
    assert kinds.count("refused:target_not_drawn") == 3 and kinds.count("unauthenticated:bad_signature") == 3
    assert verify_ledger(world.config).ok


# -- reports ---------------------------------------------------------------------------------


def test_actor_report_covers_every_command_and_refusal(world: World) -> None:
    badge = world.officer()
    record(world, badge, _body(world))
    correct(world, badge, _correction(world))
    disclose(world, world.target)
    with pytest.raises(CommandRefused):
        submit(world, results.sign_record(world.key(badge), badge, _body(world, world.undrawn)))
    rows = actor_report(world.config, badge)
    kinds = [r.kind for r in rows]
    assert [k for k in kinds if k.startswith("result.")] == ["result.record", "result.correct"]
    assert [r.kind for r in actor_report(world.config, REVIEWER) if r.kind.startswith("result.")] == [
        "result.disclose"]
    assert "refused:target_not_drawn" in kinds
    assert kinds.count("assigned") == sum(badge in team for team in world.teams.values())
    for row in rows:
        if row.kind.startswith("result."):
            assert row.command_seq == row.seq and row.signature
            assert msgspec.json.decode(row.command or "")["actor"] == badge
    # Any command name: the admin's genesis, imports, registrations and settings.
    admin = {r.kind for r in actor_report(world.config, "admin")}
    assert {"ledger.genesis", "directory.import", "actor.register"} <= admin
    assert "settings.calendar" in admin  # the seeded year
    assert {r.kind for r in actor_report(world.config, "drawer")} >= {"draw.commit", "draw.run"}


def test_overdue_report(world: World) -> None:
    set_results(world, results_due_working_days=3)
    record(world, world.officer(), _body(world))
    rows = overdue(world.config, today=date(2026, 12, 31))
    mine = {(r.uscc, r.problem) for r in rows if r.task_id == "T1"}
    assert (world.target, "result_late") in mine
    assert {(u, "result_missing") for u in world.teams if u != world.target} <= mine
    early = overdue(world.config, today=date(2026, 10, 9))
    assert not [r for r in early if r.task_id == "T1" and r.problem == "result_missing"]


def test_reclassification_names_its_result(world: World) -> None:
    badge, target = world.officer(), world.target
    view = record(world, badge, _body(world, category="false_disclosure"))
    with open_reader(world.config) as reader:
        recorded = [r.seq for r in reader.events_with_topics([get_topic(InspectionResult.Recorded)])
                    if msgspec.json.decode(r.state or b"{}")["uscc"] == target]
        changes = [(r.seq, msgspec.json.decode(r.state or b"{}")) for r in
                   reader.events_with_topics([get_topic(Entity.Reclassified)])
                   if msgspec.json.decode(r.state or b"{}")["uscc"] == target]
    # The result (version 1 of its aggregate) and the class change it caused, in its command's transaction.
    assert view.receipt is not None and len(recorded) == 1 and len(changes) == 1
    seq, change = changes[0]
    assert view.receipt.first + 1 == recorded[0] and seq == recorded[0] + 1 == view.receipt.last
    assert change["risk_class"] == "D"  # the default rule for false_disclosure
    assert change["cause"] == f"result:T1/{target}@1" and change["actor"] == badge
    assert [(r.command_seq, msgspec.json.decode(r.detail)["cause"]) for r in trace(world.config, "T1", target)
            if r.kind == "reclassified"] == [(view.receipt.first, change["cause"])]


# -- settings are ledger data -----------------------------------------------------------------


def test_settings_are_signed_ledger_data(world: World) -> None:
    parsed = settings.parse_results('results_due_working_days = 5\npublic_inspectors = "department"\n')
    with world.ledger.service() as ledger:
        badge = world.officer()
        with pytest.raises(CommandRefused) as caught:
            settings.submit_settings(ledger, settings.sign_results(world.key(badge), badge, parsed))
        assert caught.value.code == "missing_role"
        settings.submit_settings(ledger, settings.sign_results(world.ledger.admin, "admin", parsed))
    held = settings.settings_in_force(world.config)
    assert held.results == parsed and held.results.results_due_working_days == 5
    record(world, world.officer(), _body(world))
    disclose(world, world.target)
    shown = public_results(world.config, "T1")[0].inspectors
    assert shown == ["XY-SCJG"] * len(world.teams[world.target])  # public_inspectors = "department"
    with pytest.raises(settings.SettingsError, match="refusals_per_hour"):
        settings.parse_results("refusals_per_hour = 0\n")
    weekday = next(d for d in (date(UNCOVERED, 1, n) for n in range(1, 8)) if d.weekday() < 5)
    with pytest.raises(settings.SettingsError, match="weekend"):  # a make-up working day must be a weekend day
        settings.parse_calendar(f'[{UNCOVERED}]\nworkdays = ["{weekday.isoformat()}"]\n', "test")
    assert [y.year for y in held.calendar_years] == [SEEDED] and "chinesecalendar" in held.calendar_years[0].source


# -- deadlines in working days -----------------------------------------------------------------


def test_deadlines_across_national_day_2026() -> None:
    calendar = WorkCalendar()
    # Entry: 3 working days after the window; disclosure: 20 from the end of the inspection (产生之日).
    due = deadlines(date(2026, 9, 30), date(2026, 9, 30), date(2026, 9, 30), 3, 20, calendar)
    assert due.result_due == date(2026, 10, 10)  # Oct 8, Oct 9, then the make-up Saturday
    assert due.disclosure_due == date(2026, 11, 3) and not due.provisional
    assert calendar.add_working_days(date(2026, 9, 18), 1) == date(2026, 9, 20)  # make-up Sunday before the holiday
    assert deadlines(date(2026, 9, 30), date(2026, 9, 25), date(2026, 10, 10), 3, 20, calendar).late is False
    late = deadlines(date(2026, 9, 30), date(2026, 9, 25), date(2026, 10, 12), 3, 20, calendar)
    assert late.late is True
    # Counted from the inspection, never from when the result happened to be entered.
    assert late.disclosure_due == calendar.add_working_days(date(2026, 9, 25), 20)


def test_a_provisional_deadline_becomes_final_when_the_years_schedule_is_recorded(world: World) -> None:
    """A year with no recorded schedule never blocks recording: the deadline is counted on
    weekends alone and shown as provisional, and recounted once the year is recorded."""
    in_force = settings.calendar_in_force(world.config)
    assert in_force.covers(SEEDED) and not in_force.covers(UNCOVERED)
    badge, inspected = world.officer(), date(2026, 9, 25)
    # Just far enough from the inspection to land in the first days of UNCOVERED (weekends-only count).
    days = working_days_until(inspected, UNCOVERED, in_force) + 2
    set_results(world, disclosure_due_working_days=days)
    view = record(world, badge, _body(world, inspected_on=inspected))  # recorded, not refused
    weekdays = [date(UNCOVERED, 1, d) for d in range(1, 8) if date(UNCOVERED, 1, d).weekday() < 5]
    assert view.provisional and view.disclosure_due == weekdays[1]
    assert any(r.provisional for r in overdue(world.config, today=date(UNCOVERED, 12, 31))
               if r.problem == "disclosure_missing")
    # The State Council schedule of UNCOVERED: its first two weekdays are holidays.
    text = f'[{UNCOVERED}]\nholidays = ["{weekdays[0]}", "{weekdays[1]}"]\nworkdays = []\n'
    with world.ledger.service() as ledger:
        for year in settings.parse_calendar(text, "国务院办公厅通知（测试）"):
            settings.submit_settings(ledger, settings.sign_calendar_year(world.ledger.admin, "admin", year))
    final = _current(world, world.target)
    assert final is not None and not final.provisional
    assert final.disclosure_due == weekdays[3]  # the two holidays pushed it two working days on
    assert not any(r.provisional for r in overdue(world.config, today=date(UNCOVERED, 12, 31)))
    # Published after the year is recorded: the disclosure event carries the final deadline.
    published = disclose(world, world.target)
    assert published.disclosure_due == weekdays[3] and not published.provisional
    assert verify_ledger(world.config).ok


# -- pure rules ----------------------------------------------------------------------------------


def test_credit_rules_and_masks() -> None:
    assert [apply_rule(">=C", c) for c in "ABCD"] == ["C", "C", "C", "D"]
    assert [apply_rule("+1", c) for c in "ABCD"] == ["B", "C", "D", "D"]
    assert apply_rule("A", "D") == "A"
    with pytest.raises(ValueError):
        apply_rule("E", "A")
    assert mask_name("张三丰") == "张**" and mask_badge("XY-SCJG-0007") == "**********07"

