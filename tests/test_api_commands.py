"""`POST /api/v1/commands` over the real application: receipts, refusals and their codes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from ledger.api.commands import refusal_status
from ledger.domain.actors import ROLES
from ledger.domain.commands import COMMANDS
from ledger.integrity.canonical import utc_now
from ledger.integrity.commands import sign_command
from ledger.integrity.keys import Signer, public_key_b64
from ledger.services.receipts import Receipt
from tests.api_helpers import (OTHER, OWN, api_ledger, body_of, city_rows, plan_body, post, task_body,
                               test_app)
from tests.conftest import module_store
from tests.ledger_helpers import TestLedger, entity_rows


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    """One ledger per store for the module: tests use distinct ids."""
    with module_store(request.param, tmp_path_factory.mktemp("api") / "home") as store:
        yield store


@pytest.fixture(scope="module")
def module_ledger(shared):  # type: ignore[no-untyped-def]
    return api_ledger(shared)


@pytest.fixture(scope="module")
def served(module_ledger):  # type: ignore[no-untyped-def]
    with TestClient(test_app(module_ledger.store)) as client:
        yield module_ledger, client


@pytest.fixture(scope="module")
def sqlite_only(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Checks that never depend on the store (HTTP decoding, the role matrix) run on SQLite alone."""
    import tempfile  # noqa: F401

    from ledger.store.config import resolve_store

    store = resolve_store(None, tmp_path_factory.mktemp("api-sqlite") / "home")
    ledger = api_ledger(store)
    with TestClient(test_app(store)) as client:
        yield ledger, client


def _size(ledger: TestLedger) -> int:
    from ledger.services.admin import event_count

    return event_count(ledger.store)


def _register_body(actor_id: str, department: str | None = OWN) -> dict[str, Any]:
    return {"actor_id": actor_id, "department": department, "name": actor_id,
            "public_key": public_key_b64(Signer.generate().public_key), "roles": ["auditor"]}


def test_an_accepted_command_answers_201_with_the_signed_receipt(served) -> None:  # type: ignore[no-untyped-def]
    ledger, client = served
    before = _size(ledger)
    answer = post(client, ledger.sign("admin", "actor.register", _register_body("AUD-9")))
    assert answer.status_code == 201, answer.text
    receipt = msgspec.json.decode(answer.content, type=Receipt)
    assert receipt.outcome == "accepted" and receipt.first == before + 1 and receipt.last == _size(ledger)
    from ledger.services.verification import check_receipt

    assert check_receipt(ledger.store, receipt).ok  # type: ignore[attr-defined]


def test_a_retry_of_the_same_bytes_returns_the_first_receipt(served) -> None:  # type: ignore[no-untyped-def]
    ledger, client = served
    signed = ledger.sign("admin", "actor.register", _register_body("AUD-8"))
    first = post(client, signed)
    size = _size(ledger)
    again = post(client, signed)
    assert first.status_code == 201 and again.status_code == 200, again.text
    assert again.content == first.content  # byte-identical: the ledger's signature is deterministic
    assert _size(ledger) == size  # and nothing was appended


def test_authorisation_matrix_roles(sqlite_only) -> None:  # type: ignore[no-untyped-def]
    """Every role x every write command: an actor without a role the command needs is refused
    with missing_role (403) and the refusal is recorded; one with the role gets past that check.
    (The rule is the store's neither: SQLite alone.)"""
    ledger, client = sqlite_only
    for name, role in [(n, r) for n in sorted(COMMANDS) for r in ROLES]:
        spec = COMMANDS[name]
        actor = f"{role}-scjg"
        answer = post(client, ledger.sign(actor, name, {}))
        body = body_of(answer)
        if spec.roles and role not in spec.roles:
            assert (answer.status_code, body["code"]) == (403, "missing_role"), (name, role, answer.text)
            assert actor in body["detail"]["message"]
            receipt = body["detail"]["receipt"]
            if receipt is not None:  # refusal records are bounded per actor and hour
                assert receipt["outcome"] == "refused" and receipt["code"] == "missing_role"
        else:
            assert body.get("code") != "missing_role", (name, role, answer.text)
            if answer.status_code >= 400:
                assert answer.status_code == refusal_status(body["code"]), (name, role, answer.text)


def test_authorisation_matrix_departments(served) -> None:  # type: ignore[no-untyped-def]
    """Own department accepted, another department refused with out_of_jurisdiction (403), for the
    department-scoped writes: plans, tasks, imports and the registry."""
    ledger, client = served
    for department, expected in ((OWN, 201), (OTHER, 403)):
        cases = [
            ("planner-scjg", "plan.create", plan_body(department), None),
            ("admin-scjg", "actor.register", _register_body(f"AUD-{department}", department), None),
        ]
        rows = [msgspec.structs.replace(r, name=r.name + "（修订）") for r in city_rows("items", (department,))]
        from ledger.services.directory import import_body

        cases.append(("list_manager-scjg", "directory.import",
                      import_body("items", rows, file_name="items.csv", file_sha256="0" * 64), rows))
        for actor, name, body, attachment in cases:
            answer = post(client, ledger.sign(actor, name, body), attachment)
            assert answer.status_code == expected, (actor, name, department, answer.text)
            if expected == 403:
                assert body_of(answer)["code"] == "out_of_jurisdiction"
    # A task of the other department under a plan of the own one (the plan was made above).
    ledger.register("planner-all", "planner")
    ledger.submit("planner-all", "plan.create", plan_body(OTHER))
    answer = post(client, ledger.sign("planner-scjg", "task.create", task_body(f"P-{OTHER}", OTHER)))
    assert answer.status_code == 403 and body_of(answer)["code"] == "out_of_jurisdiction", answer.text
    answer = post(client, ledger.sign("planner-scjg", "task.create", task_body(f"P-{OWN}", OWN)))
    assert answer.status_code == 201, answer.text


def _forged(ledger: TestLedger) -> Any:
    signed = ledger.sign("admin", "actor.register", _register_body("AUD-F"))
    signature = bytearray(signed.signature)
    signature[0] ^= 1
    return msgspec.structs.replace(signed, signature=bytes(signature))


@pytest.mark.parametrize("case,status,code", [
    ("forged", 401, "bad_signature"),
    ("wrong_key", 401, "bad_signature"),
    ("stale", 401, "stale_command"),
    ("future", 401, "stale_command"),
    ("unknown_actor", 401, "unknown_actor"),
    ("unknown_command", 422, "unknown_command"),
    ("invalid_body", 422, "invalid"),
])
def test_bad_commands_are_refused_with_their_code(served, case: str, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    ledger, client = served
    body = _register_body(f"AUD-{case}")
    signed = {
        "forged": lambda: _forged(ledger),
        "wrong_key": lambda: sign_command(Signer.generate(), "admin", "actor.register", body),
        "stale": lambda: ledger.sign("admin", "actor.register", body, issued_at=utc_now() - timedelta(hours=1)),
        "future": lambda: ledger.sign("admin", "actor.register", body, issued_at=utc_now() + timedelta(hours=1)),
        "unknown_actor": lambda: sign_command(Signer.generate(), "nobody", "actor.register", body),
        "unknown_command": lambda: ledger.sign("admin", "actor.promote", body),
        "invalid_body": lambda: ledger.sign("admin", "actor.register", {**body, "roles": ["emperor"]}),
    }[case]()
    size = _size(ledger)
    answer = post(client, signed)
    assert answer.status_code == status, answer.text
    error = body_of(answer)
    assert error["code"] == code and error["message"] and error["detail"]["message"]
    receipt = error["detail"]["receipt"]
    # A refusal leaves the ledger as it was but for its refusal record (the receipt names it).
    assert _size(ledger) == (size if receipt is None else receipt["last"])
    from ledger.services.actors import find_actor

    assert find_actor(ledger.store, f"AUD-{case}") is None


def test_a_replayed_nonce_is_refused_with_409(served) -> None:  # type: ignore[no-untyped-def]
    ledger, client = served
    nonce = "ab" * 16
    assert post(client, ledger.sign("admin", "actor.register", _register_body("AUD-R1"), nonce=nonce)).status_code == 201
    answer = post(client, ledger.sign("admin", "actor.register", _register_body("AUD-R2"), nonce=nonce))
    assert answer.status_code == 409 and body_of(answer)["code"] == "reused_nonce", answer.text


def test_a_revoked_actor_is_refused(served) -> None:  # type: ignore[no-untyped-def]
    ledger, client = served
    ledger.submit("admin", "actor.revoke", {"actor_id": "auditor-scjg", "reason": "left"})
    answer = post(client, ledger.sign("auditor-scjg", "actor.rotate_key", {
        "new_public_key": public_key_b64(Signer.generate().public_key), "reason": "rotation"}))
    assert answer.status_code == 401 and body_of(answer)["code"] == "revoked_actor", answer.text


@pytest.mark.parametrize("content,field", [
    (b"not json", None),
    (b"{}", "command"),
    (b'{"command": "!!", "signature": "", "key_id": "k"}', "command"),
    (b'{"command": "e30=", "signature": "", "key_id": "k", "extra": 1}', "extra"),
    (b"[1, 2]", None),
])
def test_malformed_bodies_are_400_naming_the_field(sqlite_only, content: bytes, field: str | None) -> None:  # type: ignore[no-untyped-def]
    _, client = sqlite_only
    answer = client.post("/api/v1/commands", content=content, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    error = body_of(answer)
    assert set(error) == {"code", "message", "detail"} and "Traceback" not in answer.text
    if field is not None:
        assert field in answer.text


def test_an_import_carries_its_rows_and_bad_rows_are_named(served) -> None:  # type: ignore[no-untyped-def]
    ledger, client = served
    from ledger.services.directory import import_body

    rows = entity_rows(3)
    body = import_body("entities", rows, file_name="e.csv", file_sha256="0" * 64)
    answer = post(client, ledger.sign("admin", "directory.import", body), rows)
    assert answer.status_code == 201, answer.text
    from ledger.services import pools

    assert {e.uscc for e in pools.entities(ledger.store)} == {r.uscc for r in rows}
    # Rows that are not the kind's rows: 422 naming the row field, nothing recorded.
    size = _size(ledger)
    bad = [{**msgspec.to_builtins(rows[0]), "risk_class": 7}]
    answer = client.post("/api/v1/commands", content=msgspec.json.encode(
        {**msgspec.to_builtins(_submission(ledger.sign("admin", "directory.import", body))), "rows": bad}))
    assert answer.status_code == 422 and "risk_class" in body_of(answer)["detail"], answer.text
    assert _size(ledger) == size
    # Rows for a command that takes none.
    answer = post(client, ledger.sign("admin", "actor.register", _register_body("AUD-X")), rows)
    assert answer.status_code == 422 and "rows" in body_of(answer)["detail"]
    # Rows that differ from the root the command signs: refused by the ledger, recorded.
    other = entity_rows(3, start=10)
    answer = post(client, ledger.sign("admin", "directory.import", body), other)
    assert answer.status_code == 422 and body_of(answer)["code"] == "invalid_rows", answer.text


def _submission(signed: Any) -> Any:
    from ledger.services.remote import Submission

    return Submission.of(signed)


def test_a_body_over_the_limit_is_413(sqlite_only) -> None:  # type: ignore[no-untyped-def]
    ledger, _ = sqlite_only
    store = ledger.store
    from ledger.services.directory import import_body

    rows = entity_rows(200, start=500)
    signed = ledger.sign("admin", "directory.import", import_body("entities", rows, file_name="e.csv",
                                                                   file_sha256="0" * 64))
    with TestClient(test_app(store, max_body=20_000)) as client:
        size = _size(ledger)
        answer = post(client, signed, rows)
        assert answer.status_code == 413, answer.text
        assert body_of(answer)["code"] == "too_large" and "20000 bytes" in body_of(answer)["detail"]
        assert _size(ledger) == size


def test_preview_writes_nothing(served) -> None:  # type: ignore[no-untyped-def]
    ledger, client = served
    from ledger.services.remote import submission_bytes

    signed = ledger.sign("admin", "actor.register", _register_body("AUD-P"))
    size = _size(ledger)
    answer = client.post("/api/v1/commands/preview", content=submission_bytes(signed))
    assert answer.status_code == 200, answer.text
    events = body_of(answer)
    assert events[0]["topic"].endswith("command/Accepted") and len(events) >= 2
    assert _size(ledger) == size
    assert post(client, signed).status_code == 201  # the nonce is still unused
