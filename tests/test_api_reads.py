"""GET endpoints over the real application: public vs private, 404s, named invalid fields, pages."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from ledger.api.auth import make_token
from ledger.demo.beacon import commit_and_draw
from ledger.domain.draws import PlanBody, TaskBody
from ledger.domain.filters import EntityFilter
from ledger.domain.settings import GovernanceSettings
from ledger.draw.spec import Quota
from ledger.services import draws, pools
from ledger.services.checkpoints import publish_checkpoint
from ledger.services.directory import import_rows
from tests.api_helpers import OWN, api_ledger, body_of, city_rows, test_app
from tests.ledger_helpers import ORIGIN

TASK = "T-API-1"
PLAN = "P-API"

PUBLIC = ["/api/v1/origin", "/api/v1/items", "/api/v1/plans", f"/api/v1/plans/{PLAN}", "/api/v1/draws",
          f"/api/v1/draws?task={TASK}", "/api/v1/results/public", "/api/v1/checkpoint",
          "/api/v1/proofs/inclusion?index=0", "/api/v1/proofs/consistency?size1=1",
          f"/api/v1/draws/{TASK}/bundle", "/api/v1/vkey"]
PRIVATE = ["/api/v1/status", "/api/v1/log", "/api/v1/actors", "/api/v1/actors/admin", "/api/v1/departments",
           "/api/v1/pool/entities", "/api/v1/pool/inspectors", "/api/v1/tasks", f"/api/v1/tasks/{TASK}",
           f"/api/v1/draws/{TASK}/bundle?public=false", "/api/v1/reports/refused", "/api/v1/reports/overdue",
           "/api/v1/reports/conflicts", f"/api/v1/reports/trace?task={TASK}&target=x", "/api/v1/reports/actor/admin",
           "/api/v1/proposals", "/api/v1/settings", f"/api/v1/draws/{TASK}/replay"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A ledger with the small city's two departments, a plan, a drawn task and a checkpoint (SQLite:
    every read is a service call the service tests run on both stores)."""
    from ledger.store.config import resolve_store

    store = resolve_store(None, tmp_path_factory.mktemp("reads") / "home")
    ledger = api_ledger(store)
    ledger.submit("admin", "settings.governance", msgspec.to_builtins(GovernanceSettings(draw_cooling_off_days=0)))
    with ledger.service() as service:
        for kind in ("entities", "inspectors"):
            import_rows(service, ledger.admin, "admin", kind, city_rows(kind), accept_bad_check=True)
        item = next(r.code for r in city_rows("items") if r.department == OWN)
        draws.create_plan(service, ledger.keys["planner-scjg"], "planner-scjg", PlanBody(
            plan_id=PLAN, title="年度计划", department=OWN, year=2026, items=(item,)))
        from datetime import date

        draws.create_task(service, ledger.keys["planner-scjg"], "planner-scjg", TaskBody(
            task_id=TASK, plan_id=PLAN, name="抽查", window_start=date(2026, 3, 1), window_end=date(2026, 5, 31),
            items=(item,), departments=(OWN,), quotas={"B": Quota(count=2), "C": Quota(count=1)}))
        commit_and_draw(service, ledger.keys["drawer-scjg"], "drawer-scjg", TASK)
    publish_checkpoint(store)
    with TestClient(test_app(store)) as client:
        yield ledger, client


def _token(ledger: Any, actor: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(ledger.keys[actor], actor, ORIGIN)}"}


@pytest.mark.parametrize("path", PUBLIC)
def test_public_data_needs_no_token(world, path: str) -> None:  # type: ignore[no-untyped-def]
    _, client = world
    answer = client.get(path)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("path", PRIVATE)
def test_everything_else_needs_a_token(world, path: str) -> None:  # type: ignore[no-untyped-def]
    ledger, client = world
    answer = client.get(path)
    assert answer.status_code == 401, answer.text
    assert body_of(answer)["code"] == "unauthorized"
    answer = client.get(path, headers=_token(ledger, "auditor-scjg"))
    assert answer.status_code in (200, 404), answer.text  # 404: the trace of an unknown target
    if answer.status_code == 404:
        assert "trace" in path


def test_the_full_bundle_needs_an_auditing_role(world) -> None:  # type: ignore[no-untyped-def]
    ledger, client = world
    path = f"/api/v1/draws/{TASK}/bundle?public=false"
    assert client.get(path, headers=_token(ledger, "planner-scjg")).status_code == 403
    full = client.get(path, headers=_token(ledger, "auditor-scjg"))
    public = client.get(f"/api/v1/draws/{TASK}/bundle")
    from ledger.services.bundles import export_bundle

    assert full.content == export_bundle(ledger.store, TASK) and public.content == export_bundle(ledger.store, TASK,
                                                                                                  public=True)
    assert full.content != public.content


@pytest.mark.parametrize("path,needle", [
    ("/api/v1/plans/NOPE", "NOPE"),
    ("/api/v1/tasks/NOPE", "NOPE"),
    ("/api/v1/actors/NOPE", "NOPE"),
    ("/api/v1/draws/NOPE/bundle", "NOPE"),
    (f"/api/v1/results/{TASK}/91360500MA00000000", "91360500MA00000000"),
    (f"/api/v1/aggregates/{uuid.UUID(int=7)}", str(uuid.UUID(int=7))),
    ("/api/v1/nothing-here", None),
])
def test_unknown_ids_are_404_with_a_clear_detail(world, path: str, needle: str | None) -> None:  # type: ignore[no-untyped-def]
    ledger, client = world
    answer = client.get(path, headers=_token(ledger, "auditor-scjg"))
    assert answer.status_code == 404, answer.text
    body = body_of(answer)
    assert set(body) == {"code", "message", "detail"} and body["code"] == "not_found"
    if needle:
        assert needle in str(body["detail"])


@pytest.mark.parametrize("path,field", [
    ("/api/v1/pool/entities?risk_class=Z", "risk_class"),
    ("/api/v1/pool/entities?limit=0", "limit"),
    ("/api/v1/pool/entities?limit=100000", "limit"),
    ("/api/v1/pool/entities?offset=-1", "offset"),
    ("/api/v1/pool/entities?as_of=x", "as_of"),
    ("/api/v1/pool/inspectors?as_of=99999999999999999999", "as_of"),  # found by schemathesis: was a 500
    ("/api/v1/pool/inspectors?role=boss", "role"),
    ("/api/v1/log?start=0", "start"),
    ("/api/v1/proofs/inclusion", "index"),
    ("/api/v1/proofs/consistency?size1=a", "size1"),
    ("/api/v1/tasks?state=lost", "state"),
    ("/api/v1/reports/overdue?as_of=2026-13-40", "as_of"),
])
def test_invalid_query_fields_are_400_naming_the_field(world, path: str, field: str) -> None:  # type: ignore[no-untyped-def]
    ledger, client = world
    answer = client.get(path, headers=_token(ledger, "auditor-scjg"))
    assert answer.status_code == 400, answer.text
    body = body_of(answer)
    assert body["code"] == "invalid" and field in str(body["detail"]), answer.text


def test_a_proof_beyond_the_log_is_422(world) -> None:  # type: ignore[no-untyped-def]
    _, client = world
    answer = client.get("/api/v1/proofs/inclusion?index=999999")
    assert answer.status_code == 422 and body_of(answer)["code"] == "invalid", answer.text


def test_pool_filters_and_pages_are_the_services(world) -> None:  # type: ignore[no-untyped-def]
    ledger, client = world
    headers = _token(ledger, "auditor-scjg")
    wanted = pools.entities(ledger.store, EntityFilter(risk_classes=("B", "C"), region_prefix="3605"))
    assert wanted, "the city has class B and C firms in 3605"
    seen: list[str] = []
    offset = 0
    while True:
        page = body_of(client.get(f"/api/v1/pool/entities?risk_class=B&risk_class=C&region=3605&offset={offset}"
                                  f"&limit=7", headers=headers))
        assert page["total"] == len(wanted)
        seen += [row["uscc"] for row in page["items"]]
        offset += 7
        if offset >= page["total"]:
            break
    assert seen == [e.uscc for e in wanted]


def test_log_pages_by_position(world) -> None:  # type: ignore[no-untyped-def]
    ledger, client = world
    headers = _token(ledger, "auditor-scjg")
    page = body_of(client.get("/api/v1/log?start=3&limit=4", headers=headers))
    assert [e["position"] for e in page["items"]] == [3, 4, 5, 6]
    from ledger.store.reader import open_reader

    with open_reader(ledger.store) as reader:
        assert [e["hash"] for e in page["items"]] == reader.hashes(3, 6)
        assert page["total"] == reader.size()


def test_the_drawn_task_reads_back(world) -> None:  # type: ignore[no-untyped-def]
    ledger, client = world
    headers = _token(ledger, "auditor-scjg")
    task = body_of(client.get(f"/api/v1/tasks/{TASK}", headers=headers))
    assert task["state"] == "drawn" and task["plan_id"] == PLAN
    kinds = [a["kind"] for a in body_of(client.get(f"/api/v1/draws?task={TASK}"))["items"]]
    assert kinds == ["commit", "run"]
    [replayed] = body_of(client.get(f"/api/v1/draws/{TASK}/replay", headers=headers))
    assert replayed["ok"] and replayed["targets"] == 3 and not replayed["differences"]
    from ledger.services.checkpoints import verifier_key

    assert client.get("/api/v1/vkey").text == verifier_key(ledger.store) + "\n"


def test_every_operation_documents_its_error_body(world) -> None:  # type: ignore[no-untyped-def]
    _, client = world
    schema = client.get("/schema/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    for path, item in schema["paths"].items():
        for method, op in item.items():
            errors = {code: r for code, r in op["responses"].items() if code.startswith(("4", "5"))}
            assert "500" in errors and "429" in errors, (method, path)
            for response in errors.values():
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (method, path, ref)
    html = client.get("/schema")
    assert html.status_code == 200 and "<script" not in html.text and "cdn" not in html.text.lower()


def test_callers_over_their_rate_get_429(world) -> None:  # type: ignore[no-untyped-def]
    from ledger.api.app import create_app
    from ledger.api.limits import RateLimiter

    ledger, _ = world
    app = create_app(ledger.store, extra_state={"rate_limiter": RateLimiter(rate=0.01, burst=2)})
    with TestClient(app) as client:
        answers = [client.get("/api/v1/items") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert body_of(answers[2])["code"] == "rate_limited" and int(answers[2].headers["retry-after"]) >= 1
        # Another caller (an actor's token) has its own bucket.
        assert client.get("/api/v1/items", headers=_token(ledger, "auditor-scjg")).status_code == 200
