"""Bearer tokens signed by the actor's own key, checked against the registry."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from litestar import Request, get
from litestar.testing import TestClient

from ledger.api.app import create_app
from ledger.api.auth import MAX_LIFETIME, bearer_actor, make_token
from ledger.integrity.keys import Signer
from tests.ledger_helpers import ORIGIN, new_ledger


@get("/probe", sync_to_thread=False)
def probe(request: Request) -> dict[str, str]:
    return {"actor": bearer_actor(request, roles=("auditor",)).actor_id}


@pytest.fixture
def served(store):  # type: ignore[no-untyped-def]
    ledger = new_ledger(store)
    auditor = ledger.register("AUD-1", "auditor")
    clerk = ledger.register("CLK-1", "planner")
    app = create_app(store)
    app.register(probe)
    with TestClient(app) as client:
        yield ledger, client, auditor, clerk


def _get(client: TestClient, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get("/probe", headers=headers)


def test_a_token_signed_by_the_actors_key_is_accepted(served) -> None:  # type: ignore[no-untyped-def]
    _, client, auditor, _ = served
    answer = _get(client, make_token(auditor, "AUD-1", ORIGIN))
    assert answer.status_code == 200 and answer.json() == {"actor": "AUD-1"}


@pytest.mark.parametrize("case", ["missing", "garbage", "other_key", "wrong_audience", "expired", "too_long",
                                  "unknown_actor", "hs256"])
def test_bad_tokens_are_refused_with_401(served, case: str) -> None:  # type: ignore[no-untyped-def]
    _, client, auditor, _ = served
    token: str | None = {
        "missing": None,
        "garbage": "not-a-jwt",
        "other_key": make_token(Signer.generate(), "AUD-1", ORIGIN),
        "wrong_audience": make_token(auditor, "AUD-1", "another.ledger.example"),
        "expired": make_token(auditor, "AUD-1", ORIGIN, ttl=60, now=1_000_000),
        "too_long": jwt.encode({"sub": "AUD-1", "aud": ORIGIN, "iat": 2_000_000_000 - 10,
                                "exp": 2_000_000_000 + MAX_LIFETIME}, auditor.private_key, algorithm="EdDSA"),
        "unknown_actor": make_token(auditor, "NOBODY", ORIGIN),
        "hs256": jwt.encode({"sub": "AUD-1", "aud": ORIGIN, "iat": 1, "exp": 2}, "k" * 32, algorithm="HS256"),
    }[case]
    answer = _get(client, token)
    assert answer.status_code == 401, answer.text
    body = answer.json()
    assert body["code"] == "unauthorized" and body["message"] and body["detail"]


def test_a_token_without_the_role_is_forbidden(served) -> None:  # type: ignore[no-untyped-def]
    _, client, _, clerk = served
    answer = _get(client, make_token(clerk, "CLK-1", ORIGIN))
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"


def test_a_revoked_actors_token_stops_working_at_once(served) -> None:  # type: ignore[no-untyped-def]
    ledger, client, auditor, _ = served
    token = make_token(auditor, "AUD-1", ORIGIN)
    assert _get(client, token).status_code == 200
    ledger.submit("admin", "actor.revoke", {"actor_id": "AUD-1", "reason": "left the audit office"})
    answer = _get(client, token)
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


def test_token_lifetime_is_capped() -> None:
    with pytest.raises(ValueError, match="1..900"):
        make_token(Signer.generate(), "AUD-1", ORIGIN, ttl=MAX_LIFETIME + 1)


# -- the authorisation matrix, department axis: a task, its results and its firms --------------
#
# Over HTTP, every write on a task of XY-SCJG (OWN), on its results and on its firms: an actor of
# XY-WSJK (OTHER) holding the right role is refused with out_of_jurisdiction (403); the actor of
# OWN gets past that rule (accepted, 201, where the world allows it). Plans, tasks, imports and
# the registry are in test_api_commands.py. The rules are the store's neither: SQLite alone.


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A drawn task of OWN; actors of OWN and OTHER per role; the team's first officer registered as
    an actor of OWN, its second as an actor of OTHER: its badge moved to OTHER (a transfer, by the list),
    OTHER's admin registered it there (actor.register ties an inspector to its badge's department),
    then the list moved the badge back to OWN, which OTHER's admin has not followed."""
    import msgspec

    from ledger.demo.beacon import commit_and_draw
    from ledger.domain.settings import GovernanceSettings
    from ledger.store.config import resolve_store
    from tests.api_helpers import OTHER, OWN, api_ledger, city_rows, plan_body, task_body, test_app

    store = resolve_store(None, tmp_path_factory.mktemp("auth-departments") / "home")
    ledger = api_ledger(store)
    ledger.submit("admin", "settings.governance", msgspec.to_builtins(GovernanceSettings(draw_cooling_off_days=0)))
    for kind in ("entities", "inspectors"):
        ledger.import_rows("admin", kind, city_rows(kind), accept_bad_check=True)
    for role in ("admin", "planner", "drawer", "reviewer", "list_manager"):
        ledger.register(f"{role}-wsjk", role, department=OTHER)
    ledger.submit("planner-scjg", "plan.create", plan_body(OWN))
    ledger.submit("planner-scjg", "task.create", task_body(f"P-{OWN}", OWN))
    with ledger.service() as service:
        team = commit_and_draw(service, ledger.keys["drawer-scjg"], "drawer-scjg", f"T-{OWN}").teams[0]
    own_officer, other_officer = team.inspectors[:2]
    ledger.register(own_officer, "inspector", department=OWN)
    signer = Signer.generate()
    from ledger.integrity.keys import public_key_b64

    row = next(r for r in city_rows("inspectors") if r.badge == other_officer)
    ledger.import_rows("admin", "inspectors", [msgspec.structs.replace(row, department=OTHER)])
    ledger.submit("admin-wsjk", "actor.register", {"actor_id": other_officer, "department": OTHER,
                                                   "name": other_officer, "roles": ["inspector"],
                                                   "public_key": public_key_b64(signer.public_key)})
    ledger.keys[other_officer] = signer
    ledger.import_rows("admin", "inspectors", [row])
    with TestClient(test_app(store)) as client:
        yield ledger, client, team.target, own_officer, other_officer


def _result(task_id: str, uscc: str, item: str) -> dict[str, Any]:
    return {"task_id": task_id, "uscc": uscc, "category": "no_issue", "findings": "未发现问题",
            "methods": ["onsite"], "items": [item], "inspected_on": "2026-03-02"}


def test_authorisation_matrix_departments_of_tasks_results_and_firms(drawn) -> None:  # type: ignore[no-untyped-def]
    from ledger.integrity.keys import public_key_b64
    from tests.api_helpers import OWN, body_of, city_rows, post

    ledger, client, target, own_officer, other_officer = drawn
    task = f"T-{OWN}"
    item = next(r.code for r in city_rows("items") if r.department == OWN)
    own_firm = next(r.uscc for r in city_rows("entities") if r.departments == (OWN,))
    firm_key = public_key_b64(Signer.generate().public_key)

    def firm(actor_id: str) -> dict[str, Any]:
        return {"actor_id": actor_id, "name": "法定代表人", "uscc": own_firm, "public_key": firm_key,
                "check_method": "登记窗口核验", "check_reference": "窗口-2026-001"}

    # The drawn firm's representative (its list manager registers it) asks that the team's first
    # officer step aside (回避), and objects to the result once it is published (异议).
    rep = Signer.generate()
    ledger.keys["REP-TARGET"] = rep
    ledger.submit("list_manager-scjg", "firm.register", {**firm("REP-TARGET"), "uscc": target,
                                                         "public_key": public_key_b64(rep.public_key)})
    ledger.submit("REP-TARGET", "firm.recusal_request", {"task_id": task, "officer": own_officer, "reason": "亲属"})
    before = {"objection.resolve": lambda: ledger.submit("REP-TARGET", "objection.raise",
                                                         {"task_id": task, "reason": "检查结论有误"})}

    # (command, body, actor of OTHER refused, actor of OWN accepted or None); in this order,
    # as a result must be recorded before it is reviewed.
    cases: list[tuple[str, dict[str, Any], str, str | None]] = [
        ("draw.recuse", {"task_id": task, "target": target, "reason": "亲属"}, other_officer, None),
        ("result.record", _result(task, target, item), other_officer, own_officer),
        ("result.return", {"task_id": task, "uscc": target, "reason": "请补充"}, "reviewer-wsjk", None),
        ("class.signal", {"task_id": task, "uscc": target, "suggests": "note", "reason": "观察"}, "reviewer-wsjk",
         None),
        ("result.disclose", {"task_id": task, "uscc": target}, "reviewer-wsjk", "reviewer-scjg"),
        ("objection.resolve", {"task_id": task, "uscc": target, "outcome": "rejected", "reason": "结论有据"},
         "reviewer-wsjk", "reviewer-scjg"),
        ("result.follow_up_done", {"task_id": task, "uscc": target, "kind": "abnormal_list", "note": "已列入"},
         "reviewer-wsjk", None),
        ("task.extend_window", {"task_id": task, "window_end": "2026-06-30", "reason": "延期"}, "planner-wsjk",
         "planner-scjg"),
        ("draw.extend", {"task_id": task, "risk_class": "B", "count": 1, "reason": "补抽"}, "drawer-wsjk", None),
        ("draw.substitute", {"task_id": task, "target": target, "officer": own_officer, "reason": "病假"},
         "reviewer-wsjk", None),
        ("firm.recusal_decide", {"task_id": task, "uscc": target, "officer": own_officer, "grant": False,
                                 "reason": "理由不成立"}, "reviewer-wsjk", "reviewer-scjg"),
        ("draw.void", {"task_id": task, "reason": "测试"}, "drawer-wsjk", None),
        ("firm.register", firm("REP-OTHER"), "list_manager-wsjk", None),
        ("firm.register", firm("REP-OWN"), "list_manager-wsjk", "list_manager-scjg"),
    ]
    refused = {}
    for name, body, other, own in cases:
        if name in before:
            before[name]()
        refused[name] = ledger.sign(other, name, body)
        answer = post(client, refused[name])
        assert (answer.status_code, body_of(answer)["code"]) == (403, "out_of_jurisdiction"), (name, answer.text)
        assert body_of(answer)["detail"]["receipt"]["code"] == "out_of_jurisdiction"  # and recorded as refused
        if own is not None:
            answer = post(client, ledger.sign(own, name, body))
            assert answer.status_code == 201, (name, own, answer.text)
    from ledger.verify.ledger_check import verify_ledger

    report = verify_ledger(ledger.store)
    assert report.ok, report.problems[:3]

    # An insider with the ledger key appends the other office's refused record as accepted: verify
    # re-executes it and names the rule (a duplicate would be refused too, but after this rule).
    import msgspec

    from tests.insider import Insider, command_event, refused_at

    signed = refused["result.record"]
    with Insider(ledger.store) as insider:
        position = insider.append(lambda: [command_event(signed, other_officer, "result.record",
                                                         msgspec.json.decode(signed.command)["nonce"])])
    refused_at(ledger.store, position, "result.record", "[out_of_jurisdiction]")
