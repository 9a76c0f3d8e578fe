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
