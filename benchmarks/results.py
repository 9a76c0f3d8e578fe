"""Result entries through the library API (ResultsService.record), on SQLite and PostgreSQL.

Builds a demo city, then as many tasks (every target of every class drawn,
ratio 1) as it takes to have --entries drawn (task, target) pairs, registers
every assigned officer with a key, then records one signed result per pair
and reports entries/s and p50/p99 latency per entry. Each entry is a full
command: signature checks, nonce, draw facts, deadlines, one transaction
(result + nonce [+ reclassification]) with its ledger signature.

`--sync` catches the read models up after every entry (read-your-writes, as
the CLI does); without it they are caught up once at the end (bulk path).

    .venv/bin/python benchmarks/results.py --entries 100000 --store sqlite
    .venv/bin/python benchmarks/results.py --entries 100000 --store postgresql://postgres@127.0.0.1:5432/test

Measured 2026-11-29 (2 cores, small city, time-boxed below 100k):
    SQLite  20k bulk: 475 entries/s, p50 1.38 ms, p99 7.24 ms; 500 sync: 313/s, p50 2.89 ms, p99 4.35 ms
    Postgres 5k bulk: 113 entries/s, p50 7.55 ms, p99 20.1 ms; 300 sync: 43/s, p50 18.1 ms, p99 54.0 ms
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

from ledger.application import actor_body
from ledger.demo.build import build_demo
from ledger.domain.results import RecordBody
from ledger.draw.spec import Quota
from ledger.draw_service import TaskSpec, commit_draw, create_plan, create_task, read_secret, run_draw
from ledger.integrity.commands import sign_command
from ledger.integrity.keys import Signer, read_key_file
from ledger.projections import all_projections
from ledger.projections.pools import list_items
from ledger.projections.runner import catch_up, writable_connection
from ledger.results_service import ResultsService, sign_record
from ledger.setup import init_ledger, open_for_writing
from ledger.store.config import StoreConfig, resolve_store


def make_store(kind: str, home: Path) -> StoreConfig:
    if kind == "sqlite":
        return resolve_store(None, home)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    config = resolve_store(kind, home)
    with psycopg.connect(host=config.host, port=config.port, dbname=config.database, user=config.user,
                         autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return resolve_store(f"{kind}?schema={schema}", home)


def build(config: StoreConfig, entries: int, small: bool) -> list[tuple[str, str, str]]:
    init_ledger(config, origin="bench.drledger/results", admin_id="admin", admin_name="Admin")
    build_demo(config, seed=3, small=small)
    with writable_connection(config) as (conn, dialect, _):
        items = sorted(i.code for i in list_items(conn, dialect) if i.status == "active" and i.department == "XY-SCJG")
    admin = read_key_file(config.keys_dir / "admin.pem", None)
    drawer = Signer.generate()
    app = open_for_writing(config)
    app.register_actor(sign_command(admin, "admin", "actor.register",
                                    actor_body("bench-drawer", "b", ("drawer",), None, drawer.public_key)),
                       actor_id="bench-drawer", name="b", roles=("drawer",), department=None,
                       public_key=drawer.public_key)
    app.close()
    create_plan(config, plan_id="P-BENCH", title="bench", department="XY-SCJG", year=2026, items=tuple(items[:1]),
                joint_departments=(), actor="admin")
    pairs: list[tuple[str, str, str]] = []
    started = time.perf_counter()
    while len(pairs) < entries:
        task_id = f"T-BENCH-{len(pairs)}"
        create_task(config, TaskSpec(task_id=task_id, plan_id="P-BENCH", name=task_id,
                                     window_start=date(2026, 9, 1), window_end=date(2026, 9, 30), items=tuple(items[:1]),
                                     departments=("XY-SCJG",), quotas={k: Quota(ratio="1") for k in "ABCD"}), "admin")
        path, _ = commit_draw(config, task_id, drawer, "bench-drawer")
        outcome = run_draw(config, task_id, read_secret(path), "", drawer, "bench-drawer")
        pairs += [(task_id, team.target, team.inspectors[0]) for team in outcome.teams]
    print(f"  drew {len(pairs)} pairs in {time.perf_counter() - started:.1f}s")
    return pairs[:entries]


def register(config: StoreConfig, badges: set[str]) -> dict[str, Signer]:
    admin = read_key_file(config.keys_dir / "admin.pem", None)
    keys = {}
    app = open_for_writing(config)
    try:
        for badge in sorted(badges):
            keys[badge] = Signer.generate()
            if app.find_actor(badge) is not None:
                continue
            body = actor_body(badge, badge, ("inspector",), None, keys[badge].public_key)
            app.register_actor(sign_command(admin, "admin", "actor.register", body), actor_id=badge, name=badge,
                               roles=("inspector",), department=None, public_key=keys[badge].public_key)
    finally:
        app.close()
    return keys


def measure(config: StoreConfig, pairs: list[tuple[str, str, str]], keys: dict[str, Signer], sync: bool) -> None:
    latencies = []
    with ResultsService(config, sync=sync) as service:
        started = time.perf_counter()
        for task_id, uscc, badge in pairs:
            body = RecordBody(task_id=task_id, uscc=uscc, category="no_issue", findings="未发现问题",
                              methods=("onsite",), items=service._facts(task_id, uscc, badge).items,
                              inspected_on=date(2026, 9, 20))
            t0 = time.perf_counter()
            service.record(sign_record(keys[badge], badge, body))  # signing is the client's cost: included
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
    t0 = time.perf_counter()
    catch_up(config, all_projections())
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
        pairs = build(config, args.entries + args.sync_entries, args.small)
        keys = register(config, {badge for _, _, badge in pairs})
        measure(config, pairs[: args.sync_entries], keys, sync=True)
        measure(config, pairs[args.sync_entries:], keys, sync=False)
        if config.kind == "postgres":
            with psycopg.connect(host=config.host, port=config.port, dbname=config.database, user=config.user,
                                 autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{config.schema}" CASCADE')


if __name__ == "__main__":
    main()
