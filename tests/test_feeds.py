"""Feeds: the full ledger for auditors (exact stored bytes), disclosed results for the public."""

from __future__ import annotations

import base64
from pathlib import Path
from uuid import UUID

import msgspec
import pytest
from litestar.testing import TestClient

from ledger.api.app import create_app
from ledger.api.auth import make_token
from ledger.integrity.chain import GENESIS_PREV, event_hash, transaction_message
from ledger.integrity.commands import COMMAND_TAG
from ledger.integrity.keys import read_key_file, verify_signature
from ledger.store.reader import open_reader
from tests.ledger_helpers import ORIGIN, entity_rows, ledger_with_entities
from ledger.services import results
from ledger.services.ledger import CommandRefused
from tests.test_results import REVIEWER, _body, _correction, correct, disclose, make_world, record


@pytest.fixture
def served(store):  # type: ignore[no-untyped-def]
    ledger = ledger_with_entities(store, 20)
    auditor = ledger.register("AUD-1", "auditor")
    ledger.register("DIS-1", "discipline")
    ledger.import_rows("admin", "entities", entity_rows(5, start=20))
    with TestClient(create_app(store)) as client:
        yield ledger, client, {"Authorization": f"Bearer {make_token(auditor, 'AUD-1', ORIGIN)}"}


def test_the_ledger_feed_pages_whole_transactions_with_the_stored_bytes(served) -> None:  # type: ignore[no-untyped-def]
    ledger, client, auth = served
    since, pages, transactions = 0, 0, []
    while True:
        answer = client.get("/api/v1/feeds/ledger", params={"since": since, "limit": 7}, headers=auth)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert page["origin"] == ORIGIN and page["since"] == since
        if not page["transactions"]:
            assert page["next"] == since and not page["more"]
            break
        first = page["transactions"][0]["first"]
        assert first == since + 1  # pages start and end at transaction boundaries
        events = sum(len(tx["events"]) for tx in page["transactions"])
        assert events <= 7 or len(page["transactions"]) == 1  # a big transaction comes alone
        transactions += page["transactions"]
        since, pages = page["next"], pages + 1
    assert pages > 3
    with open_reader(ledger.store) as reader:
        stored = list(reader.rows(1, reader.size()))
        signatures = {tx.last_seq: tx.signature for tx in reader.transactions()}
    events = [e for tx in transactions for e in tx["events"]]
    assert [e["position"] for e in events] == [r.seq for r in stored]
    ledger_key = read_key_file(ledger.store.keys_dir / "ledger.pem", None).public_key
    prev = GENESIS_PREV
    for event, row in zip(events, stored):
        state = base64.b64decode(event["state"])
        assert state == row.state and event["topic"] == row.topic
        prev = event_hash(prev, event["position"], UUID(event["originator_id"]), event["originator_version"],
                          event["topic"], state)
        assert prev == base64.b64decode(event["hash"]) == row.hash  # the bytes recompute the chain
    hashes = {e["position"]: base64.b64decode(e["hash"]) for e in events}
    commands = 0
    for tx in transactions:
        signature = base64.b64decode(tx["signature"])
        assert signature == signatures[tx["last"]]
        assert verify_signature(ledger_key, signature, transaction_message(
            tx["first"], tx["last"], hashes[tx["last"]], tx["signed_at_us"]))
        if tx["command"] is not None:
            command = tx["command"]
            signer = ledger.keys[command["actor"]]
            assert verify_signature(signer.public_key, base64.b64decode(command["signature"]),
                                    COMMAND_TAG + base64.b64decode(command["command"]))
            commands += 1
    assert commands == len(transactions)  # every transaction here is an accepted command


def test_the_ledger_feed_is_for_auditors_and_discipline_only(served) -> None:  # type: ignore[no-untyped-def]
    ledger, client, auth = served
    discipline = {"Authorization": f"Bearer {make_token(ledger.keys['DIS-1'], 'DIS-1', ORIGIN)}"}
    assert client.get("/api/v1/feeds/ledger", headers=discipline).status_code == 200
    assert client.get("/api/v1/feeds/ledger").status_code == 401
    clerk = ledger.register("CLK-1", "planner")
    answer = client.get("/api/v1/feeds/ledger", headers={"Authorization": f"Bearer {make_token(clerk, 'CLK-1', ORIGIN)}"})
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
    first = client.get("/api/v1/feeds/ledger", params={"limit": 1}, headers=auth).json()["transactions"][0]
    inside = first["first"] if first["last"] > first["first"] else None
    cases = [{"since": -1}, {"limit": 0}, {"limit": 5001}, {"since": "x"}, {"since": 10**6}, {"since": 10**30}]
    if inside is not None:
        cases.append({"since": inside})
    for params in cases:
        answer = client.get("/api/v1/feeds/ledger", params=params, headers=auth)
        assert answer.status_code == 400, (params, answer.text)
        assert answer.json()["code"] == "invalid" and answer.json()["detail"], params


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_disclosed_feed_lists_each_published_result_once_in_order(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = make_world(store, tmp_path / "secrets")
    first, second, third = sorted(world.teams)[:3]
    for target in (first, second, third):
        record(world, world.officer(target), _body(world, target))
    # The reviewer returns the first; the inspector corrects it; the reviewer publishes it (审核后公示).
    with world.ledger.service() as ledger:
        results.send_back(ledger, results.sign_return(world.key(REVIEWER), REVIEWER, results.ReturnBody(
            task_id="T1", uscc=first, reason="请补充检查情况")))
    correct(world, world.officer(first), _correction(world, first, findings="复查后更正"))
    disclose(world, second)
    disclose(world, first)
    # A published result is final: a correction of it is refused and adds no line.
    with pytest.raises(CommandRefused) as caught:
        correct(world, world.officer(second), _correction(world, second, findings="公示后更正"))
    assert caught.value.code == "already_disclosed"
    with TestClient(create_app(store)) as client:
        answer = client.get("/api/v1/feeds/disclosed")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/x-ndjson")
        lines = [msgspec.json.decode(line) for line in answer.content.splitlines()]
        assert [(line["kind"], line["uscc"], line["department"]) for line in lines] == [
            ("disclosed", second, "XY-SCJG"), ("disclosed", first, "XY-SCJG")]  # the third is not published
        positions = [line["position"] for line in lines]
        assert positions == sorted(positions) and len(set(positions)) == 2
        # The first appears once, with the content it was published with (corrected in review).
        assert (lines[1]["findings"], lines[1]["corrections"], lines[1]["categories"]) == (
            "复查后更正", 1, ["pending"])
        assert lines[1]["category_labels"] == [lines[1]["category_label"]] and lines[1]["category_label"] != "pending"
        assert (lines[0]["findings"], lines[0]["corrections"]) == ("未发现问题", 0)
        for line in lines:
            assert world.officer(line["uscc"]) not in " ".join(line["inspectors"])  # masked
            assert line["recorded_at"].endswith("Z") or "+" in line["recorded_at"]
        with open_reader(store) as reader:
            assert all(reader.hash_at(line["position"]).hex() == line["event_hash"] for line in lines)
        resumed = client.get("/api/v1/feeds/disclosed", params={"since": positions[0]})
        assert [msgspec.json.decode(x)["position"] for x in resumed.content.splitlines()] == positions[1:]
        paged = client.get("/api/v1/feeds/disclosed", params={"since": 0, "limit": 1})
        assert [msgspec.json.decode(x)["position"] for x in paged.content.splitlines()] == positions[:1]
        assert client.get("/api/v1/feeds/disclosed", params={"since": positions[-1]}).content == b""
        for params in ({"since": -1}, {"since": 10**30}, {"limit": 0}, {"since": "x"}):
            assert client.get("/api/v1/feeds/disclosed", params=params).status_code == 400, params
