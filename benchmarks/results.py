"""Result entries through the library API (services/results.record), on SQLite and PostgreSQL.

Builds a demo city (its actors sign with demo keys in HOME/demo-keys), then
as many tasks (every target of every class drawn, ratio 1) as it takes to
have --entries drawn (task, target) pairs, then records one signed result
per pair and reports entries/s and p50/p99 latency per entry. Each entry is
a full command through the one write path: the inspector signs it, the
processor authenticates it (key in force, signature, nonce, freshness) under
the writer lock, the pure rule decides (drawn target, assigned inspector,
items, window, working-day deadlines, credit feedback), and one transaction
(command event, result [+ reclassification]) is chained and ledger-signed.

`--sync` entries catch the read models up after every entry (read-your-writes,
as the CLI does); the others catch them up once at the end (bulk path).

    .venv/bin/python benchmarks/results.py --entries 2000 --store sqlite
    .venv/bin/python benchmarks/results.py --entries 100000 --store postgresql://postgres@127.0.0.1:5432/test

Measured 2026-12-01 on the command model (2 cores, full city, SQLite, --entries 2000):
    1000 sync: 16 entries/s, p50 58.4 ms, p99 115 ms; 2000 bulk: 30/s, p50 30.9 ms, p99 79.5 ms.
    PostgreSQL, small city, --entries 2000 --sync-entries 200: 200 sync: 5/s, p50 217 ms, p99 357 ms;
    2000 bulk: 15/s, p50 63.6 ms, p99 124 ms.
    (The earlier ResultsService did 475/s bulk: a command now loads ~11 aggregates from the
    store (actor, nonce record twice, task, result, entity, settings three times).)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import psycopg

from ledger.demo.actors import DemoActors, demo_key_folder, drawer, planner
from ledger.demo.beacon import commit_and_draw
from ledger.demo.build import build_demo, init_demo_ledger
from ledger.draw.spec import Quota
from ledger.integrity.keys import Signer
from ledger.services import draws, pools, results
from ledger.services.ledger import LedgerService, open_ledger
from ledger.store.config import StoreConfig, resolve_store

DEPARTMENT = "XY-SCJG"
Pair = tuple[str, str, str, tuple[str, ...]]  # task, target, officer, the task's items


def make_store(kind: str, home: Path) -> StoreConfig:
    if kind == "sqlite":
        return resolve_store(None, home)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    config = resolve_store(kind, home)
    with psycopg.connect(host=config.host, port=config.port, dbname=config.database, user=config.user,
                         autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return resolve_store(f"{kind}?schema={schema}", home)


def build(config: StoreConfig, entries: int, small: bool) -> tuple[list[Pair], dict[str, Signer]]:
    init_demo_ledger(config, origin="bench.drledger/results")
    build_demo(config, seed=3, small=small)
    items = tuple(sorted(i.code for i in pools.items(config) if i.status == "active" and i.department == DEPARTMENT))
    pairs: list[Pair] = []
    started = time.perf_counter()
    with demo_key_folder(config), open_ledger(config) as ledger:
        actors = DemoActors(ledger)
        planning = actors.ensure(planner(DEPARTMENT), ("planner",), DEPARTMENT)
        drawing = actors.ensure(drawer(DEPARTMENT), ("drawer",), DEPARTMENT)
        draws.create_plan(ledger, planning, planner(DEPARTMENT), draws.PlanBody(
            plan_id="P-BENCH", title="bench", department=DEPARTMENT, year=2026, items=items[:1]))
        while len(pairs) < entries:
            task_id = f"T-BENCH-{len(pairs)}"
            draws.create_task(ledger, planning, planner(DEPARTMENT), draws.TaskBody(
                task_id=task_id, plan_id="P-BENCH", name=task_id, window_start=date(2026, 9, 1),
                window_end=date(2026, 9, 30), items=items[:1], departments=(DEPARTMENT,),
                quotas={k: Quota(ratio="1") for k in "ABCD"}))
            drawn = commit_and_draw(ledger, drawing, drawer(DEPARTMENT), task_id)
            pairs += [(task_id, team.target, team.inspectors[0], items[:1]) for team in drawn.teams]
        # The demo registered every active inspector with its own demo key.
        keys = {badge: actors.signer(badge) for badge in sorted({badge for _, _, badge, _ in pairs})}
    print(f"  drew {len(pairs)} pairs in {time.perf_counter() - started:.1f}s")
    return pairs[:entries], keys


def measure(config: StoreConfig, pairs: list[Pair], keys: dict[str, Signer], sync: bool) -> None:
    if not pairs:
        return
    latencies = []
    with LedgerService(config, sync=sync) as ledger:
        started = time.perf_counter()
        for task_id, uscc, badge, items in pairs:
            body = results.RecordBody(task_id=task_id, uscc=uscc, category="no_issue", findings="未发现问题",
                                      methods=("onsite",), items=items, inspected_on=date(2026, 9, 20))
            t0 = time.perf_counter()
            results.record(ledger, results.sign_record(keys[badge], badge, body))  # signing is the client's cost
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        t0 = time.perf_counter()
        ledger.catch_up()
        tail = time.perf_counter() - t0
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(f"  {'sync' if sync else 'bulk'}: {len(pairs)} entries in {elapsed:.1f}s = {len(pairs) / elapsed:.0f}/s;"
          f" p50 {p(0.5):.2f} ms, p99 {p(0.99):.2f} ms, mean {statistics.fmean(latencies) * 1000:.2f} ms;"
          f" final catch-up {tail:.1f}s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--sync-entries", type=int, default=1_000, help="Entries measured with per-entry catch-up.")
    parser.add_argument("--store", default="sqlite", help="sqlite or a postgresql:// URL")
    parser.add_argument("--small", action="store_true", help="Use the small demo city (more, smaller tasks).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = make_store(args.store, Path(tmp) / "home")
        print(f"store {config.display}")
        try:
            pairs, keys = build(config, args.entries + args.sync_entries, args.small)
            measure(config, pairs[: args.sync_entries], keys, sync=True)
            measure(config, pairs[args.sync_entries:], keys, sync=False)
        finally:
            if config.kind == "postgres":
                with psycopg.connect(host=config.host, port=config.port, dbname=config.database, user=config.user,
                                     autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{config.schema}" CASCADE')


if __name__ == "__main__":
    main()
