"""The draw list (drledger draw list, GET /api/v1/draws) read from its read model
(projections/attempts.py) is exactly the list decoded from the events, in every format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from litestar.testing import TestClient

from ledger.cli.output import emit
from ledger.demo.beacon import DEMO_BEACON
from ledger.projections.attempts import AttemptProjection
from ledger.projections.runner import rebuild
from ledger.services.draws import DrawAttempt, draw_attempts, draw_attempts_from_events
from ledger.store.config import StoreConfig
from tests.api_helpers import body_of, test_app
from tests.cli_helpers import run as drledger
from tests.draw_helpers import city_with_drawer, commit, committed_rounds, draw, new_task, run, void


@pytest.fixture(autouse=True)
def drawer_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "drawer-keys"
    monkeypatch.setenv("DRLEDGER_KEYS", str(folder))
    return folder


def _encoded(attempts: list[DrawAttempt]) -> bytes:
    return msgspec.json.encode(attempts)


def test_the_listing_from_the_read_model_is_the_listing_from_the_events(
        store: StoreConfig, capsys: pytest.CaptureFixture[str]) -> None:
    city = city_with_drawer(store)
    new_task(city, "T1")
    commit(city, "T1")
    void(city, "T1", "任务参数有误，重新承诺")  # a commitment voided before its run
    draw(city, "T1")
    void(city, "T1", "抽查事项清单错误")  # a draw voided
    draw(city, "T1")
    new_task(city, "T2")
    commit(city, "T2")  # left standing: abandoned once its round is old enough
    new_task(city, "T3")
    commit(city, "T3")
    run(city, "T3")
    [named] = committed_rounds(city, "T2")
    published = datetime.fromtimestamp(DEMO_BEACON.network.published_at(named), UTC)
    for now in (None, published + timedelta(hours=23), published + timedelta(hours=24)):
        for task in (None, "T1", "T2", "T3", "T9"):
            assert _encoded(draw_attempts(store, task, now)) == _encoded(draw_attempts_from_events(store, task, now))
    later = draw_attempts(store, now=published + timedelta(hours=24))
    assert [(a.task_id, a.kind) for a in later] == [
        ("T1", "commit"), ("T1", "void"), ("T1", "commit"), ("T1", "run"), ("T1", "void"), ("T1", "commit"),
        ("T1", "run"), ("T2", "commit"), ("T2", "abandoned"), ("T3", "commit"), ("T3", "run")]
    # A ledger whose read model is new (or rebuilt) gets it from position 0.
    rebuild(store, [AttemptProjection()])
    assert _encoded(draw_attempts(store)) == _encoded(draw_attempts_from_events(store))
    # The CLI's bytes in every format are the reference list's.
    url = store.display if store.kind == "postgres" else None
    for fmt in ("json", "csv", "table"):
        listed = drledger("draw", "list", "--format", fmt, home=store.home, store=url)
        assert listed.returncode == 0, listed.stderr
        capsys.readouterr()
        emit(draw_attempts_from_events(store), fmt, DrawAttempt)
        assert listed.stdout == capsys.readouterr().out
    # And the API's pages (GET /api/v1/draws) hold the reference list.
    with TestClient(test_app(store)) as client:
        for query, task in (("", None), ("?task=T1", "T1")):
            page = body_of(client.get(f"/api/v1/draws{query}"))
            reference = msgspec.to_builtins(draw_attempts_from_events(store, task))
            assert page["items"] and page["total"] == len(reference)
            assert page["items"] == reference[:len(page["items"])]
