"""Two `drledger serve` processes (one with two workers) on one PostgreSQL store."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from ledger.store.reader import open_reader
from tests.api_helpers import Server


@pytest.fixture
def drawn_city(store):  # type: ignore[no-untyped-def]
    from tests.draw_helpers import city_with_drawer, commit, new_task

    ledger = city_with_drawer(store)
    new_task(ledger, "T1")
    commit(ledger, "T1")
    return ledger


def _url(store: Any) -> str | None:
    from tests.conftest import PG_URL

    return f"{PG_URL}?schema={store.schema}" if store.kind == "postgres" else None


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_two_workers_share_the_store_and_a_concurrent_draw_is_drawn_once(drawn_city) -> None:  # type: ignore[no-untyped-def]
    from eventsourcing.utils import get_topic

    from ledger.domain.draws import Task
    from ledger.integrity.keys import Signer, public_key_b64
    from ledger.services.remote import submission_bytes
    from tests.draw_helpers import committed_rounds, signature

    ledger = drawn_city
    first = Server(ledger.store.home, _url(ledger.store), workers=2)
    second = Server(ledger.store.home, _url(ledger.store))
    try:
        # A write through one is read through the other at once.
        signed = ledger.sign("admin", "actor.register", {
            "actor_id": "AUD-S", "department": None, "name": "审计", "public_key":
            public_key_b64(Signer.generate().public_key), "roles": ["auditor"]})
        assert httpx.post(f"{first.url}/api/v1/commands", content=submission_bytes(signed)).status_code == 201
        from ledger.api.auth import make_token

        ledger.keys["AUD-S"] = Signer.generate()  # not its key: the registry decides
        token = make_token(ledger.keys["admin"], "admin", ledger_origin(ledger))
        seen = httpx.get(f"{second.url}/api/v1/actors/AUD-S", headers={"Authorization": f"Bearer {token}"})
        assert seen.status_code == 200, seen.text
        # Two draw runs of the same commitment, signed apart, submitted at once through both.
        body = {"task_id": "T1", "signatures": [signature(r) for r in committed_rounds(ledger, "T1")]}
        runs = [ledger.sign("drawer", "draw.run", body) for _ in range(2)]
        answers: list[Any] = [None, None]
        barrier = threading.Barrier(2)

        def submit(index: int, server: Server) -> None:
            barrier.wait()
            answers[index] = httpx.post(f"{server.url}/api/v1/commands", content=submission_bytes(runs[index]),
                                        timeout=120)

        threads = [threading.Thread(target=submit, args=(i, s)) for i, s in enumerate((first, second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        codes = sorted(a.status_code for a in answers)
        assert codes == [201, 409], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 409).json()
        assert refused["code"] == "already_drawn", refused
    finally:
        first.stop(), second.stop()
    with open_reader(ledger.store) as reader:
        assert len(reader.events_with_topics([get_topic(Task.Drawn)])) == 1


def ledger_origin(ledger: Any) -> str:
    from ledger.services.ledger import ledger_origin as origin

    return origin(ledger.store)
