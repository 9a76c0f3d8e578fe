"""Open data: CSV (UTF-8 with BOM, formula-neutralised, header even when empty) and NDJSON, streamed.

HTTP tests run on a real ledger (tests/site_helpers.py) on SQLite and
PostgreSQL. The memory test streams 100,000 disclosed results from a real
uvicorn server over HTTP and samples the process's resident memory at
every chunk received (server and client share the process): the rows are written straight into the results read model
(signing 100,000 results through the write path would take many minutes,
and the question is the read path); the encoders alone are measured with
tracemalloc at 10,000 and 100,000 rows.
"""

from __future__ import annotations

import csv
import io
import json
import resource
import sqlite3
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import TestClient

from ledger.api.app import create_app
from ledger.api.site import opendata
from ledger.projections import all_projections
from ledger.projections.runner import catch_up
from ledger.services import publication as pub
from ledger.store.config import StoreConfig
from tests.ledger_helpers import new_ledger
from tests.conftest import module_store
from tests.site_helpers import DEPARTMENT, FORMULA, FORMULA_CATEGORIES, SECRET, SiteWorld, build_site_world, serve

BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SiteWorld, Any]]:
    home = tmp_path_factory.mktemp(f"opendata-{request.param}")
    with module_store(request.param, home / "home") as store:
        sw = build_site_world(store, home / "secrets")
        with TestClient(create_app(store)) as client:
            yield sw, client


def _csv(content: bytes) -> list[list[str]]:
    assert content.startswith(BOM)
    return list(csv.reader(io.StringIO(content[len(BOM):].decode("utf-8"), newline="")))


def _ndjson(content: bytes) -> list[dict[str, Any]]:
    text = content.decode("utf-8")
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


# -- the encoders (pure) ------------------------------------------------------------


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_could_run_gets_a_quote(first: str) -> None:
    assert opendata.neutralise(f"{first}1+1") == f"'{first}1+1"


@pytest.mark.parametrize("cell", ["", "1+1", "企业=1", "'=already", " =x", "91360502001C3QY0MC"])
def test_other_cells_are_unchanged(cell: str) -> None:
    assert opendata.neutralise(cell) == cell


class Row(msgspec.Struct):
    a: str
    b: list[str]
    c: int


COLS = opendata.columns("a", "b", "c")


def test_csv_has_a_bom_a_header_and_neutralised_cells() -> None:
    rows = [Row("=SUM(A1)", ["@x", "y"], -1), Row("普通", [], 2), Row('引号"与,逗号\n换行', ["-"], 3)]
    data = b"".join(opendata.csv_stream(COLS, rows))
    assert data.startswith(BOM) and data.count(BOM) == 1
    assert _csv(data) == [["a", "b", "c"], ["'=SUM(A1)", "'@x; y", "'-1"], ["普通", "", "2"],
                          ['引号"与,逗号\n换行', "'-", "3"]]


def test_an_empty_csv_is_its_header_line_and_an_empty_ndjson_is_empty() -> None:
    assert b"".join(opendata.csv_stream(COLS, [])) == BOM + b"a,b,c\r\n"
    assert b"".join(opendata.ndjson_stream(COLS, [])) == b""


def test_ndjson_is_one_object_per_line_with_the_csv_keys() -> None:
    rows = [Row("第一\n行", ["x"], 1), Row("=2", [], 2)]
    assert _ndjson(b"".join(opendata.ndjson_stream(COLS, rows))) == [
        {"a": "第一\n行", "b": ["x"], "c": 1}, {"a": "=2", "b": [], "c": 2}]  # JSON needs no neutralising


@pytest.mark.parametrize("stream", [opendata.csv_stream, opendata.ndjson_stream])
def test_the_encoders_hold_one_chunk_whatever_the_number_of_rows(stream: Any) -> None:
    def rows(n: int) -> Iterator[Row]:
        for i in range(n):
            yield Row(f"企业{i:06d}", [f"检查人员{i}", "张三"], i)

    def peak(n: int) -> tuple[int, int]:
        tracemalloc.start()
        try:
            size = sum(len(chunk) for chunk in stream(COLS, rows(n)))
            return tracemalloc.get_traced_memory()[1], size
        finally:
            tracemalloc.stop()

    small, small_size = peak(10_000)
    large, large_size = peak(100_000)
    assert large_size > 9 * small_size  # the output did grow tenfold ...
    assert large < small * 1.5 + 256 * 1024  # ... the memory did not


# -- over HTTP on a real ledger -----------------------------------------------------


def test_results_csv_is_excel_ready_and_neutralised(site: tuple[SiteWorld, Any]) -> None:
    sw, client = site
    answer = client.get("/public/results.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="results.csv"' in answer.headers["content-disposition"]
    table = _csv(answer.content)
    header = [name for name, _ in opendata.RESULT_COLUMNS]
    assert table[0] == header
    by_uscc = {row[header.index("uscc")]: dict(zip(header, row)) for row in table[1:]}
    assert set(by_uscc) == {sw.redacted, sw.formula}  # disclosed only
    assert by_uscc[sw.formula]["findings"] == "'" + FORMULA
    assert by_uscc[sw.redacted]["entity_name"] == sw.name_of(sw.redacted)
    assert SECRET.encode() not in answer.content


def test_results_ndjson_lines_are_valid_and_match_the_csv(site: tuple[SiteWorld, Any]) -> None:
    sw, client = site
    answer = client.get("/public/results.ndjson")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/x-ndjson")
    lines = _ndjson(answer.content)
    assert [r["uscc"] for r in lines] == sorted([sw.redacted, sw.formula])
    assert all(list(r) == [name for name, _ in opendata.RESULT_COLUMNS] for r in lines)
    formula = next(r for r in lines if r["uscc"] == sw.formula)
    assert formula["findings"] == FORMULA and formula["items"] == ["XY-SCJG-001"]
    assert formula["inspectors"] and all(isinstance(i, str) for i in formula["inspectors"])
    # One row per (task, firm, department), with every selected category and its Chinese label.
    labels = dict(pub.category_choices(sw.config))
    assert (formula["department"], formula["categories"]) == (DEPARTMENT, list(FORMULA_CATEGORIES))
    assert formula["category_labels"] == [labels[c] for c in FORMULA_CATEGORIES]
    assert all("\u4e00" <= label[0] <= "\u9fff" for label in formula["category_labels"])  # Chinese
    assert formula["department_name"] == pub.department_choices(sw.config)[0][1]
    table = _csv(client.get("/public/results.csv").content)
    row = dict(zip(table[0], next(r for r in table[1:] if sw.formula in r)))
    assert (row["department"], row["categories"]) == (DEPARTMENT, "; ".join(FORMULA_CATEGORIES))
    assert row["category_labels"] == "; ".join(formula["category_labels"])


def test_the_files_take_the_search_filters(site: tuple[SiteWorld, Any]) -> None:
    sw, client = site
    for q in (sw.formula, sw.name_of(sw.formula)):
        assert [r["uscc"] for r in _ndjson(client.get("/public/results.ndjson", params={"q": q}).content)] == [
            sw.formula]
        assert [row[2] for row in _csv(client.get("/public/results.csv", params={"q": q}).content)[1:]] == [sw.formula]
    for q in (sw.hidden, "没有这家企业"):
        empty = client.get("/public/results.csv", params={"q": q})
        assert empty.status_code == 200 and empty.content == BOM + (
            ",".join(name for name, _ in opendata.RESULT_COLUMNS) + "\r\n").encode()
        assert client.get("/public/results.ndjson", params={"q": q}).content == b""
    assert _ndjson(client.get("/public/results.ndjson", params={"task": "T2"}).content) == []
    for params, expected in (({"category": FORMULA_CATEGORIES[1]}, [sw.formula]), ({"category": "no_issue"},
                                                                                   [sw.redacted]),
                             ({"department": DEPARTMENT}, sorted([sw.redacted, sw.formula])),
                             ({"department": "XY-OTHER"}, [])):
        assert [r["uscc"] for r in _ndjson(client.get("/public/results.ndjson", params=params).content)] == expected
    bad = client.get("/public/results.csv", params={"to": "yesterday"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid" and "to" in bad.json()["detail"]


def test_tasks_draws_and_attempts_files(site: tuple[SiteWorld, Any]) -> None:
    sw, client = site
    tasks = _ndjson(client.get("/public/tasks.ndjson").content)
    teams = {"T1": sw.world.teams, "T2": sw.world.teams2}
    assert [(t["task_id"], t["targets"], t["state"]) for t in tasks] == [(k, len(v), "drawn") for k, v in teams.items()]
    assert _csv(client.get("/public/tasks.csv", params={"q": "T2"}).content)[1][0] == "T2"
    draws = _ndjson(client.get("/public/draws.ndjson").content)
    assert sorted((d["task_id"], d["uscc"]) for d in draws) == sorted((k, u) for k, v in teams.items() for u in v)
    assert sw.never_drawn not in client.get("/public/draws.csv").text
    only = _csv(client.get("/public/draws.csv", params={"q": sw.redacted}).content)
    assert {row[0] for row in only[1:]} == {k for k, v in teams.items() if sw.redacted in v}
    attempts = _ndjson(client.get("/public/attempts.ndjson", params={"task": "T1"}).content)
    assert [a["kind"] for a in attempts] == ["commit", "run"]
    assert _csv(client.get("/public/attempts.csv").content)[0] == [n for n, _ in opendata.ATTEMPT_COLUMNS]


# -- 100,000 rows, streamed ---------------------------------------------------------


def _bulk_results(config: StoreConfig, start: int, count: int) -> None:
    """`count` disclosed results of task BULK, written straight into the read model (see the module doc)."""
    assert config.sqlite_path is not None
    conn = sqlite3.connect(config.sqlite_path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        if start == 0:
            conn.execute("INSERT INTO draw_tasks VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                         ("BULK", "00000000-0000-0000-0000-000000000000", "P", "批量任务", "2026-09-01", "2026-09-30",
                          ";I;", ";D;", "drawn", 1, 1, 1))
        # res_results: task, uscc, department, category, categories, findings, methods, items, evidence,
        # inspected_on, recorded_by, recorded_on, recorded_seq, result_due, late, disclosure_due, provisional,
        # corrections, state, returns, return_reason, disclosed_on, disclosed_by, disclosure_late
        conn.executemany(f"INSERT INTO res_results VALUES ({','.join('?' * 24)})", (
            ("BULK", f"U{i:017d}", "D", "no_issue", ";no_issue;", f"第{i}户：现场检查未发现问题，联系人电话13800138000",
             ";onsite;", ";I;", "[]", "2026-09-10", "B-1", "2026-09-12", i + 10, "2026-10-20", 0, "2026-11-10", 0, 0,
             "disclosed", 0, "", "2026-09-20", "R-1", 0)
            for i in range(start, start + count)))
        conn.execute("COMMIT")
    finally:
        conn.close()


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc/self/statm (Linux)")
def test_100k_results_stream_over_http_in_constant_memory(tmp_path: Any) -> None:
    with module_store("sqlite", tmp_path / "home") as store:
        new_ledger(store)
        catch_up(store, all_projections())

        def rss() -> int:
            """This process's resident memory now, in KiB (Linux)."""
            with open("/proc/self/statm") as statm:
                return int(statm.read().split()[1]) * resource.getpagesize() // 1024

        def stream(path: str) -> tuple[int, int]:
            """(lines received, the most the resident memory grew while streaming them, in KiB)."""
            lines, before = 0, rss()
            most = before
            with httpx.Client(timeout=600) as client, client.stream("GET", f"{base}{path}") as answer:
                assert answer.status_code == 200
                for chunk in answer.iter_bytes():
                    lines += chunk.count(b"\n")
                    most = max(most, rss())
            return lines, most - before

        with serve(create_app(store)) as base:
            _bulk_results(store, 0, 10_000)
            small_lines, _ = stream("/public/results.csv")  # warms up the server, the client and the allocator
            _bulk_results(store, 10_000, 90_000)
            large_lines, growth = stream("/public/results.ndjson")
    assert (small_lines, large_lines) == (10_001, 100_000)
    # The server and the client share this process. Buffering the answer would hold ~35 MB of
    # NDJSON and 100,000 rows (well over 100 MB); streaming holds one batch and one chunk.
    assert growth < 16 * 1024, f"resident memory grew by {growth} KiB"


def test_the_stream_reads_the_ledger_in_batches(tmp_path: Any) -> None:
    """iter_results pages by key: every row exactly once, in order, whatever the batch size."""
    with module_store("sqlite", tmp_path / "home") as store:
        new_ledger(store)
        catch_up(store, all_projections())
        _bulk_results(store, 0, 2_345)
        options, query = pub.PublicationOptions(), pub.ResultQuery()
        for batch in (1, 7, 1000, 5000):
            got = [r.uscc for r in pub.iter_results(store, query, options, batch=batch)]
            assert got == [f"U{i:017d}" for i in range(2_345)], batch
        sample = next(pub.iter_results(store, query, options))
        assert pub.MOBILE_MARK in sample.findings and "13800138000" not in sample.findings
