"""Firms take part (issue 12 item 6): representatives, acknowledgements, 回避 requests, objections
against published results, class signals and the notice code; each re-executed by `verify`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.domain.classes import SignalBody
from ledger.domain.firms import FirmRepresentative, RecusalDecideBody, RegisterFirmBody, notice_code
from ledger.domain.objections import ResolveBody
from ledger.integrity.keys import Signer, public_key_b64
from ledger.services import firms, reports
from ledger.services.bundles import export_bundle
from ledger.services.ledger import CommandRefused
from ledger.store.config import StoreConfig
from ledger.verify.ledger_check import verify_ledger
from tests.test_verify_draw_standalone import verify
from tests.insider import Insider, refused_at
from tests.test_results import World, _body, disclose, make_world, record


@pytest.fixture
def world(store: StoreConfig, tmp_path: Path) -> World:
    world = make_world(store, tmp_path / "drawer-secrets")
    world.ledger.register("lm", "list_manager", department="XY-SCJG")
    world.ledger.register("reviewer", "reviewer", department="XY-SCJG")
    return world


def refused(code: str, action: Any) -> CommandRefused:
    with pytest.raises(CommandRefused) as caught:
        action()
    assert caught.value.code == code, caught.value
    return caught.value


def register_firm(world: World, actor_id: str, uscc: str, reference: str = "登记窗口核验 XY-2026-0042") -> Signer:
    signer = Signer.generate()
    with world.ledger.service() as service:
        firms.register_firm(service, world.key("lm"), "lm", RegisterFirmBody(
            actor_id=actor_id, name="法定代表人", uscc=uscc, public_key=public_key_b64(signer.public_key),
            check_method="电子营业执照", check_reference=reference))
    world.ledger.keys[actor_id] = signer
    return signer


def act(world: World, function: Any, actor: str, *args: Any) -> Any:
    with world.ledger.service() as service:
        return function(service, world.key(actor), actor, *args)


def test_a_firm_representative_is_registered_by_a_list_manager_with_a_check_reference(world: World) -> None:
    with world.ledger.service() as service:
        def attempt(actor: str, **changes: Any) -> Any:
            fields = dict(actor_id="rep-x", name="张三", uscc=world.target, check_method="电子营业执照",
                          check_reference="核验单 2026-7", public_key=public_key_b64(Signer.generate().public_key))
            body = RegisterFirmBody(**{**fields, **changes})
            return lambda: firms.register_firm(service, world.key(actor), actor, body)

        # A personal document is not an identity check's reference.
        refused("personal_data", attempt("lm", check_reference="身份证 360502199001011234"))
        refused("personal_data", attempt("lm", check_reference="电话 13812345678"))
        refused("unknown_reference", attempt("lm", uscc="91360502MA00000000"))
        refused("missing_role", attempt("reviewer"))
    register_firm(world, "rep-1", world.target)
    with world.ledger.service() as service:
        assert firms.representative_of(service, "rep-1") == world.target
    refused("duplicate", lambda: register_firm(world, "rep-1", world.target))
    # The firm role is not an admin's to hand out: only firm.register binds a firm.
    refused("invalid", lambda: world.ledger.register("rep-2", "firm"))
    assert verify_ledger(world.config).ok


def test_a_firm_acknowledges_its_inspection_and_checks_the_notice_code(world: World) -> None:
    register_firm(world, "rep-1", world.target)
    register_firm(world, "rep-u", world.undrawn)
    act(world, firms.acknowledge, "rep-1", "T1")
    refused("duplicate", lambda: act(world, firms.acknowledge, "rep-1", "T1"))
    refused("not_drawn", lambda: act(world, firms.acknowledge, "rep-u", "T1"))
    refused("unknown_task", lambda: act(world, firms.acknowledge, "rep-1", "NOPE"))
    refused("missing_role", lambda: act(world, firms.acknowledge, world.officer(), "T1"))
    with world.ledger.service() as service:
        notice = firms.notice_for(service, "T1", world.target)
        assert notice is not None and notice.inspectors == list(world.teams[world.target])
        found = firms.check_notice(service, notice.code.lower().replace("-", " "))
        assert found is not None and (found.task_id, found.uscc, found.inspectors) == \
            ("T1", world.target, list(world.teams[world.target]))
        # Another firm's pair has its own code; a code off by one character names nothing.
        other = sorted(world.teams)[1]
        assert firms.notice_for(service, "T1", other).code != notice.code
        wrong = notice.code[:-1] + ("0" if notice.code[-1] != "0" else "1")
        assert firms.check_notice(service, wrong) is None
        assert firms.check_notice(service, "not a code") is None
        assert firms.notice_for(service, "T1", world.undrawn) is None
    assert verify_ledger(world.config).ok


def test_the_notice_index_only_finds_candidates_the_task_confirms(world: World) -> None:
    """The public check looks a code up in a read model (not every standing team per request); an
    operator who writes a row there pointing a made-up code at a real team gets nothing from it."""
    from ledger.projections.runner import writable_connection

    with world.ledger.service() as service:
        real = firms.notice_for(service, "T1", world.target)
        assert real is not None and firms.check_notice(service, real.code) == real
    forged = "7777-7777-7777"
    with writable_connection(world.config) as (conn, dialect, _):
        p, table = dialect.placeholder, dialect.table("notice_teams")
        conn.cursor().execute(f"UPDATE {table} SET code = {p} WHERE task_id = {p} AND uscc = {p}",
                              (forged, "T1", world.target))
        if dialect.name != "sqlite":
            conn.commit()
    with world.ledger.service() as service:
        assert firms.check_notice(service, forged) is None
        assert firms.check_notice(service, real.code) is None  # the index lost it: not found, never wrongly found


def test_a_recusal_request_denied_then_one_granted_changes_the_team_and_its_code(world: World,
                                                                                 tmp_path: Path) -> None:
    register_firm(world, "rep-1", world.target)
    team = world.teams[world.target]
    refused("not_on_team", lambda: act(world, firms.request_recusal, "rep-1", "T1", "XY-SCJG-0006", "亲属"))
    act(world, firms.request_recusal, "rep-1", "T1", team[0], "检查人员系本企业股东的近亲属")
    act(world, firms.request_recusal, "rep-1", "T1", team[1], "曾在本企业任职")
    refused("duplicate", lambda: act(world, firms.request_recusal, "rep-1", "T1", team[0], "再次申请"))
    with world.ledger.service() as service:
        old = firms.notice_for(service, "T1", world.target)

    def decide(actor: str, officer: str, grant: bool, reason: str = "经核实") -> Any:
        return act(world, firms.decide_recusal, actor, RecusalDecideBody(
            task_id="T1", uscc=world.target, officer=officer, grant=grant, reason=reason))

    refused("missing_role", lambda: decide("lm", team[0], True))
    decide("reviewer", team[1], False, "未提供任职证明，不予回避")
    refused("duplicate", lambda: decide("reviewer", team[1], True))
    decide("reviewer", team[0], True, "经核实存在近亲属关系，准予回避")
    with world.ledger.service() as service:
        new = firms.notice_for(service, "T1", world.target)
        assert new is not None and team[0] not in new.inspectors and team[1] in new.inspectors
        assert len(new.inspectors) == len(team) and new.code != old.code
        assert firms.check_notice(service, old.code) is None  # the old notice no longer checks
        assert firms.check_notice(service, new.code).inspectors == new.inspectors
        assert firms.recusal_request(service, "T1", world.target, team[0]).granted
        assert not firms.recusal_request(service, "T1", world.target, team[1]).granted
    assert verify_ledger(world.config).ok
    # The bundle lists the granted request as a change the standalone verifier recomputes.
    path = tmp_path / "T1.json"
    path.write_bytes(export_bundle(world.config, "T1"))
    assert [c["kind"] for c in json.loads(path.read_bytes())["changes"]] == ["firm_recusal"]
    done = verify(path)
    assert done.returncode == 0, done.stdout[-2000:]


def test_an_objection_to_a_published_result_is_resolved_and_shown_in_public(world: World) -> None:
    target, badge = world.target, world.officer()
    register_firm(world, "rep-1", target)
    record(world, badge, _body(world))
    refused("not_disclosed", lambda: act(world, firms.raise_objection, "rep-1", "T1", "结果有误"))
    disclose(world, target)
    act(world, firms.raise_objection, "rep-1", "T1", "检查当日已整改，联系电话 13812345678")
    refused("duplicate", lambda: act(world, firms.raise_objection, "rep-1", "T1", "再次异议"))
    open_ = firms.public_objections(world.config, task_id="T1")
    assert [(o.uscc, o.outcome) for o in open_] == [(target, None)]
    assert "13812345678" not in open_[0].reason and "138****5678" in open_[0].reason

    def resolve(actor: str, outcome: str, reason: str = "经复核") -> Any:
        return act(world, firms.resolve_objection, actor, ResolveBody(task_id="T1", uscc=target, outcome=outcome,
                                                                       reason=reason))

    refused("missing_role", lambda: resolve(badge, "upheld"))
    refused("invalid", lambda: resolve("reviewer", "accepted"))
    resolve("reviewer", "upheld", "现场记录显示已整改，结果予以更正")
    refused("duplicate", lambda: resolve("reviewer", "rejected"))
    shown = firms.public_objections(world.config, uscc=target)
    assert [(o.task_id, o.outcome, o.resolved_by) for o in shown] == [("T1", "upheld", "reviewer")]
    assert "rep-1" not in repr(shown)  # the representative is not shown
    kinds = [row.kind for row in reports.trace(world.config, "T1", target)]
    assert {"objection_raised", "objection_resolved"} <= set(kinds), kinds
    assert verify_ledger(world.config).ok


def test_a_class_signal_cites_a_disclosed_result_and_changes_no_class(world: World) -> None:
    from ledger.domain.directory import Entity

    target, badge = world.target, world.officer()
    body = SignalBody(task_id="T1", uscc=target, suggests="raise", reason="发现问题待后续处理")
    refused("not_disclosed", lambda: act(world, firms.signal, "reviewer", body))
    record(world, badge, _body(world))
    disclose(world, target)
    with world.ledger.service() as service:
        before = service.processor.app.find(Entity.id_for(target)).record.risk_class
    refused("invalid", lambda: act(world, firms.signal, "reviewer", SignalBody(
        task_id="T1", uscc=target, suggests="set D", reason="x")))
    act(world, firms.signal, "reviewer", body)
    refused("duplicate", lambda: act(world, firms.signal, "reviewer", body))
    signals = firms.class_signals(world.config, target)
    assert "class_signal" in [row.kind for row in reports.trace(world.config, "T1", target)]
    assert [(s["task_id"], s["suggests"]) for s in signals] == [("T1", "raise")]
    with world.ledger.service() as service:
        assert service.processor.app.find(Entity.id_for(target)).record.risk_class == before
    assert verify_ledger(world.config).ok


def test_an_acknowledgement_appended_by_an_insider_fails_verify(world: World) -> None:
    """The operator makes a firm 'acknowledge' an inspection it never saw: no firm's command."""
    register_firm(world, "rep-1", world.target)
    with Insider(world.config) as insider:
        def build() -> list[Any]:
            firm = insider.find(FirmRepresentative.create_id("rep-1"))
            firm.acknowledge(task_id="T1", uscc=world.target, inspectors=world.teams[world.target], actor="rep-1")
            return [firm]

        position = insider.append(build)
    refused_at(world.config, position, "FirmRepresentative.Acknowledged", "without a command")


def test_an_objection_resolved_by_an_insider_fails_verify(world: World) -> None:
    """The operator closes a firm's objection as rejected itself: no reviewer's command."""
    from ledger.domain.objections import Objection

    register_firm(world, "rep-1", world.target)
    record(world, world.officer(), _body(world))
    disclose(world, world.target)
    act(world, firms.raise_objection, "rep-1", "T1", "结果有误")
    with Insider(world.config) as insider:
        def build() -> list[Any]:
            objection = insider.find(Objection.create_id("T1", world.target))
            objection.resolve(outcome="rejected", reason="驳回", resolved_on=objection.raised_on, actor="reviewer")
            return [objection]

        position = insider.append(build)
    refused_at(world.config, position, "Objection.Resolved", "without a command")


def test_the_notice_code_is_a_pure_function_of_the_pair_and_the_draw() -> None:
    code = notice_code("T1", "91360502MA35XXXX0X", ["B1", "B2"], "ab" * 32)
    assert code == notice_code("T1", "91360502MA35XXXX0X", ["B1", "B2"], "ab" * 32)
    assert len(code.replace("-", "")) == 12
    others = {notice_code("T1", "91360502MA35XXXX0X", ["B2", "B1"], "ab" * 32),
              notice_code("T2", "91360502MA35XXXX0X", ["B1", "B2"], "ab" * 32),
              notice_code("T1", "91360502MA35XXXX0X", ["B1", "B3"], "ab" * 32),
              notice_code("T1", "91360502MA35XXXX0X", ["B1", "B2"], "cd" * 32)}
    assert code not in others and len(others) == 4


def test_a_refused_acknowledgement_promoted_by_an_insider_fails_verify(world: World) -> None:
    """The operator takes a firm's real, signed, refused attempt (its firm was not drawn) and appends
    it as accepted, with its event: verify re-executes the rule and names the refusal."""
    import msgspec

    from ledger.integrity.commands import sign_command
    from tests.insider import command_event

    register_firm(world, "rep-u", world.undrawn)
    signed = sign_command(world.key("rep-u"), "rep-u", "firm.acknowledge", {"task_id": "T1"})
    with world.ledger.service() as service:
        refused("not_drawn", lambda: service.submit(signed))
    nonce = msgspec.json.decode(signed.command)["nonce"]
    with Insider(world.config) as insider:
        moment = insider.head_time()

        def build() -> list[Any]:
            firm = insider.find(FirmRepresentative.create_id("rep-u"))
            firm.acknowledge(task_id="T1", uscc=world.undrawn, inspectors=("XY-SCJG-0001",), actor="rep-u")
            return [command_event(signed, "rep-u", "firm.acknowledge", nonce), firm]

        position = insider.append(build, at=moment)
    refused_at(world.config, position, "firm.acknowledge", "not_drawn")


@pytest.mark.parametrize("forge", ["signal", "recusal_request", "representative"])
def test_firm_and_signal_events_appended_by_an_insider_fail_verify(world: World, forge: str) -> None:
    """A class signal, a 回避 request, a firm representative: each written with the ledger key alone."""
    from ledger.domain.actors import Actor
    from ledger.domain.classes import ClassSignal
    from ledger.domain.firms import RecusalRequest

    def build() -> list[Any]:
        if forge == "signal":
            return [ClassSignal(signal_id=f"T1/{world.target}", uscc=world.target, task_id="T1", suggests="raise",
                                reason="x", actor="reviewer")]
        if forge == "recusal_request":
            return [RecusalRequest(task_id="T1", uscc=world.target, officer=world.officer(), reason="x",
                                   actor="rep-1")]
        key = Signer.generate().public_key
        return [Actor(actor_id="rep-9", name="x", roles=("firm",), department=None, public_key=key, actor="lm"),
                FirmRepresentative(actor_id="rep-9", uscc=world.target, check_method="x", check_reference="y",
                                   actor="lm")]

    with Insider(world.config) as insider:
        position = insider.append(build)
    refused_at(world.config, position, "without a command")
