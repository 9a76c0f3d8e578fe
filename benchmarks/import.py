"""Bulk import of the target pool, a filtered pool query and a monthly reclassification.

    .venv/bin/python benchmarks/import.py [--rows 1000000] [--stores sqlite,postgres]
    .venv/bin/python benchmarks/import.py --rows 2000 --stores sqlite      # smoke run
    .venv/bin/python benchmarks/import.py --rows 5000000 --compare-direct  # issue 16: a province

For each store: imports `--rows` generated entities (valid USCCs) from one
CSV file through services/directory.py `import_file`, the path `drledger
import entities --as lm-…` takes: parsed and checked on the list manager's
side, signed by the list manager's own key (one `directory.import` command
over the rows' RFC 9162 root), decided and written by the ledger in one
transaction, read models caught up. Then times a filtered pool query over
them (`pool entities --risk-class C --region 360502 --type enterprise`), then
a reclassification file of every entity in which 5% change class. Goals
(issue 3): >= 40k rows/s on SQLite, >= 10k rows/s on PostgreSQL, query <
200 ms, reclassification < 10 s. Issue 16: a province's 5M firms in under
2 minutes on SQLite (41,667 rows/s) and 6 on PostgreSQL (13,889 rows/s);
each import prints its ratio to that goal, the projected time of 5M rows at
its speed, and the process's peak RSS so far.

`--chunk-rows N` (default 50000, the CLI's) makes the import a staged one
(chunks, then one signed commit: services/staging.py); `--compare-direct`
also imports the same rows as one `directory.import` command into a fresh
ledger (the path of files up to N rows), and prints staged / direct.

Then (issue 17) the same `--xlsx-rows` entities (default 100,000) as a CSV
file and as an .xlsx sheet (text cells, as a list manager's workbook holds
them): parsing alone, and the whole import into a fresh ledger of the first
store, each in rows/s, and the ratio xlsx / CSV (goal: comparable, >= 0.5).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.demo.city import generate_city, to_csv  # noqa: E402
from ledger.domain.filters import EntityFilter  # noqa: E402
from ledger.domain.uscc import uscc_for_serial  # noqa: E402
from ledger.projections.pools import query_entities  # noqa: E402
from ledger.projections.runner import writable_connection  # noqa: E402
from ledger.services.directory import import_file  # noqa: E402
from ledger.services.ledger import open_ledger  # noqa: E402
from ledger.services.staging import CHUNK_ROWS  # noqa: E402
from ledger.store.config import StoreConfig, resolve_store  # noqa: E402
from tests.ledger_helpers import new_ledger  # noqa: E402

PG = os.environ.get("DRLEDGER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REGIONS = ("360502", "360521", "360503", "360504")


def entities_csv(rows: int, seed: int = 1) -> tuple[bytes, list[tuple[str, str]]]:
    rng = random.Random(seed)
    lines = ["uscc,name,entity_type,region_code,industry,risk_class,departments"]
    classes = []
    for i in range(rows):
        region = REGIONS[i % len(REGIONS)]
        code = uscc_for_serial(i, region=region)
        risk = rng.choices("ABCD", weights=(60, 30, 8, 2))[0]
        classes.append((code, risk))
        lines.append(f"{code},新余市某某商贸有限公司{i},enterprise,{region},F5212,{risk},XY-SCJG")
    return ("\n".join(lines) + "\n").encode(), classes


def reclassification_csv(classes: list[tuple[str, str]], share: float = 0.05, seed: int = 2) -> bytes:
    rng = random.Random(seed)
    lines = ["uscc,risk_class"]
    for code, risk in classes:
        if rng.random() < share:
            risk = rng.choice([c for c in "ABCD" if c != risk])
        lines.append(f"{code},{risk}")
    return ("\n".join(lines) + "\n").encode()


def scratch(kind: str, root: Path) -> StoreConfig:
    home = root / kind
    if kind == "sqlite":
        return resolve_store(None, home)
    import psycopg

    schema = f"bench_import_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return resolve_store(f"{PG}?schema={schema}", home)


def drop(config: StoreConfig) -> None:
    if config.kind == "postgres":
        import psycopg

        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{config.schema}" CASCADE')


GOAL_5M = {"sqlite": 5_000_000 / 120, "postgres": 5_000_000 / 360}  # rows/s (issue 16)


def peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def timed_import(kind: str, rows: int, data: bytes, root: Path, chunk_rows: int, label: str) -> tuple[Any, float]:
    """A fresh ledger with its department and list manager, then the entities file: (ledger, rows/s)."""
    config = scratch(kind, root / label)
    ledger = new_ledger(config, origin="bench/import")
    city = generate_city(1, small=True)
    with open_ledger(config) as service:
        import_file(service, ledger.admin, "admin", "departments", to_csv(city.departments, "departments"))
    ledger.register(MANAGER, "list_manager", department="XY-SCJG")
    start, cpu = time.perf_counter(), time.process_time()
    with open_ledger(config) as service:
        held = lock_times(service)
        summary = import_file(service, ledger.keys[MANAGER], MANAGER, "entities", data, chunk_rows=chunk_rows)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert summary.new == rows and not summary.errors, summary.errors[:3]
    speed = rows / elapsed
    goal = GOAL_5M[kind]
    print(f"{kind:8} import {rows:,} entities ({label}): {elapsed:.1f}s = {speed:,.0f} rows/s"
          f"  ({speed / goal:.3f}x the 5M goal of {goal:,.0f} rows/s; 5M at this speed: {5_000_000 / speed / 60:.0f}"
          f" min); peak RSS so far {peak_rss_mib():,.0f} MiB")
    # On a shared machine the wall time follows the load; this process's CPU time much less
    # (SQLite runs in it; PostgreSQL's server time is not counted).
    print(f"{kind:8}   CPU time of this process: {cpu:.1f}s ({rows / cpu:,.0f} rows per CPU second);"
          f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{kind:8}   writer lock: {len(held)} command(s), longest {max(held):.1f}s, all {sum(held):.1f}s"
          f" ({sum(held) / elapsed:.0%} of the import: other writers wait at most the longest)")
    return ledger, speed


def lock_times(service: Any) -> list[float]:
    """Seconds each submission held the writer lock (processor.submit runs under it)."""
    held: list[float] = []
    submit = service.processor.submit

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return submit(*args, **kwargs)
        finally:
            held.append(time.perf_counter() - start)

    service.processor.submit = timed
    return held


MANAGER = "lm-XY-SCJG"


def bench(kind: str, rows: int, data: bytes, reclass: bytes, root: Path, chunk_rows: int,
          compare_direct: bool, import_only: bool = False) -> None:
    label = f"staged, chunks of {chunk_rows:,}" if 0 < chunk_rows < rows else "one directory.import"
    ledger, speed = timed_import(kind, rows, data, root, chunk_rows, label)
    config, signer, manager = ledger.store, ledger.keys[MANAGER], MANAGER
    try:
        if compare_direct and 0 < chunk_rows < rows:
            direct, direct_speed = timed_import(kind, rows, data, root, 0, "one directory.import")
            drop(direct.store)
            print(f"{kind:8}   staged / one command: {speed / direct_speed:.2f}x the rows/s")
        if import_only:
            return
        f = EntityFilter(risk_classes=("C",), region_prefix="360502", entity_types=("enterprise",))
        with writable_connection(config) as (conn, dialect, _):
            times = []
            for _ in range(5):
                start = time.perf_counter()
                found = query_entities(conn, dialect, f)
                times.append(time.perf_counter() - start)
        print(f"{kind:8} pool query (class C, region 360502): {len(found):,} rows,"
              f" median {sorted(times)[2] * 1000:.0f} ms (goal < 200 ms)")
        start = time.perf_counter()
        with open_ledger(config) as service:
            summary = import_file(service, signer, manager, "reclassifications", reclass)
        elapsed = time.perf_counter() - start
        print(f"{kind:8} reclassify {rows:,} rows, {summary.changed:,} changed: {elapsed:.1f}s (goal < 10 s)")
    finally:
        drop(config)


def entities_xlsx(data: bytes) -> bytes:
    """The CSV's table as a workbook of text cells (what `drledger template` asks users for)."""
    import csv
    import io

    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("名录")
    for r, row in enumerate(csv.reader(io.StringIO(data.decode()))):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()
    return buf.getvalue()


def compare_xlsx(kind: str, rows: int, root: Path) -> None:
    from ledger.domain.rows import parse_rows
    from ledger.domain.workbook_rows import parse_workbook

    data, _ = entities_csv(rows, seed=3)
    book = entities_xlsx(data)
    print(f"{kind:8} xlsx vs CSV, {rows:,} entities ({len(book) / 1e6:.1f} MB xlsx, {len(data) / 1e6:.1f} MB CSV)")
    speeds: dict[str, list[float]] = {}
    for name, parse in (("csv", lambda: parse_rows("entities", data)),
                        ("xlsx", lambda: parse_workbook("entities", book)[0])):
        best = float("inf")
        for _ in range(2):  # best of two: the first run also pays imports and warms caches
            start = time.perf_counter()
            result = parse()
            best = min(best, time.perf_counter() - start)
            assert result.ok and len(result.rows) == rows, result.errors[:3]
        speeds[name] = [rows / best]
    for name, payload in (("csv", data), ("xlsx", book)):
        config = scratch(kind, root / f"compare-{name}")
        try:
            ledger = new_ledger(config, origin="bench/import-xlsx")
            city = generate_city(1, small=True)
            with open_ledger(config) as service:
                import_file(service, ledger.admin, "admin", "departments", to_csv(city.departments, "departments"))
            start = time.perf_counter()
            with open_ledger(config) as service:
                summary = import_file(service, ledger.admin, "admin", "entities", payload, file_name=f"名录.{name}")
            elapsed = time.perf_counter() - start
            assert summary.new == rows and not summary.errors, summary.errors[:3]
            speeds[name].append(rows / elapsed)
        finally:
            drop(config)
    for i, what in enumerate(("parse only", "whole import")):
        csv_speed, xlsx_speed = speeds["csv"][i], speeds["xlsx"][i]
        print(f"{kind:8}   {what:12}: CSV {csv_speed:,.0f} rows/s, xlsx {xlsx_speed:,.0f} rows/s,"
              f" ratio xlsx/CSV {xlsx_speed / csv_speed:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--xlsx-rows", type=int, default=100_000, help="Rows of the xlsx vs CSV comparison (0: skip).")
    parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help="Staged above this many rows (0: never).")
    parser.add_argument("--compare-direct", action="store_true", help="Also time one directory.import command.")
    parser.add_argument("--import-only", action="store_true", help="Only the import (no pool query, no reclassification).")
    args = parser.parse_args()
    print(f"benchmarks/import.py at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    data, classes = entities_csv(args.rows)
    reclass = reclassification_csv(classes)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.stores.split(","):
            bench(kind, args.rows, data, reclass, Path(tmp), args.chunk_rows, args.compare_direct, args.import_only)
        if args.xlsx_rows:
            compare_xlsx(args.stores.split(",")[0], args.xlsx_rows, Path(tmp))


if __name__ == "__main__":
    main()
