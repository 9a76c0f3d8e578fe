"""Appends through drledger's write path against bare eventsourcing, and verify throughput.

    .venv/bin/python benchmarks/append.py [--events 3000] [--rounds 5] [--verify-events 1000000] [--stores sqlite,postgres]
    .venv/bin/python benchmarks/append.py --events 200 --rounds 2 --verify-events 2000 --stores sqlite   # smoke run

Three writers, each on its own scratch store, save the same entity events
(`Entity.register` of BATCH fresh rows per save, the canonical msgspec
mapper on all three):

* bare: eventsourcing as it comes;
* store appends: drledger's recorder (store/recorders.py): the same events,
  chained, signed and in the Merkle tree, in the append transaction. This is
  issue 16's measure (goal >= 0.8x bare in batches of 100 on PostgreSQL);
* signed commands: each batch is one `directory.import` signed by the admin
  and submitted to the command processor (writer lock, authenticate, decide,
  one chained and signed transaction with the command's own event and the
  import record, a signed receipt).

Each round times all three back to back, in an order that rotates from
round to round, so all see the same machine load; a round's ratio is
drledger / bare of that round (1.0 = no overhead). Printed: the median and
the best ratio over the rounds, and the best rates. PostgreSQL:
127.0.0.1:5432 database `test` (env DRLEDGER_BENCH_PG), each store in a
scratch schema dropped after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datetime import UTC, datetime  # noqa: E402

from eventsourcing.application import Application  # noqa: E402

from ledger.domain.base import recorded_time  # noqa: E402
from ledger.domain.directory import Entity  # noqa: E402
from ledger.services.directory import sign_import  # noqa: E402
from ledger.services.ledger import LedgerService  # noqa: E402
from ledger.services.setup import open_for_writing  # noqa: E402
from ledger.store.config import StoreConfig, resolve_store  # noqa: E402
from ledger.store.mapper import CanonicalMapper  # noqa: E402
from ledger.verify.ledger_check import verify_ledger  # noqa: E402
from tests.ledger_helpers import TestLedger, entity_rows, ledger_with_entities  # noqa: E402

PG = os.environ.get("DRLEDGER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


class BareApplication(Application[uuid.UUID]):
    """eventsourcing as it comes, with our canonical mapper: the baseline."""

    name = "drledger"

    def construct_mapper(self) -> CanonicalMapper:
        return CanonicalMapper()


def bare_env(config: StoreConfig) -> dict[str, str]:
    env = config.eventsourcing_env()
    env.pop("APPLICATION_RECORDER_TOPIC")
    return env


class Rows:
    """Fresh, distinct entity rows for each batch (a re-import would change nothing)."""

    def __init__(self, base: int) -> None:
        self.next = base

    def take(self, n: int) -> list[Any]:
        rows = entity_rows(n, start=self.next)
        self.next += n
        return rows


def timed_commands(ledger: TestLedger, service: LedgerService, rows: Rows, events: int, batch: int) -> float:
    """Entities per second as signed imports of `batch` rows each."""
    batches = [rows.take(batch) for _ in range(events // batch)]
    start = time.perf_counter()
    for chunk in batches:
        service.submit(sign_import(ledger.admin, "admin", "entities", chunk, file_name="bench.csv",
                                   file_sha256="00" * 32), chunk)
    return events / (time.perf_counter() - start)


def timed_saves(app: Any, rows: Rows, events: int, batch: int) -> float:
    """Entities per second saving entity events straight through `app` (bare, or drledger's recorder)."""
    batches = [rows.take(batch) for _ in range(events // batch)]
    start = time.perf_counter()
    for chunk in batches:
        with recorded_time(datetime.now(UTC)):
            app.save(*[Entity.register(row, actor="admin") for row in chunk])
    return events / (time.perf_counter() - start)


def scratch_store(kind: str, root: Path, label: str) -> StoreConfig:
    home = root / label
    if kind == "sqlite":
        return resolve_store(None, home)
    import psycopg

    schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG.replace("postgresql://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return resolve_store(f"{PG}?schema={schema}", home)


def drop(config: StoreConfig) -> None:
    if config.kind == "postgres":
        import psycopg

        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{config.schema}" CASCADE')


def bench_appends(kind: str, events: int, rounds: int, root: Path) -> None:
    for batch in (1, 100):
        n = events if batch == 100 else max(events // 5, 200)
        configs = {label: scratch_store(kind, root, f"{kind}_{label}{batch}") for label in ("bare", "store", "cmds")}
        try:
            ledger = ledger_with_entities(configs["cmds"], 0)
            service = LedgerService(configs["cmds"], sync=False)  # the write path alone (read models caught up later)
            ledger_with_entities(configs["store"], 0)
            store_app = open_for_writing(configs["store"])
            configs["bare"].home.mkdir(parents=True, exist_ok=True)
            bare = BareApplication(env=bare_env(configs["bare"]))
            rows = {label: Rows(0) for label in configs}
            runs = {
                "bare": lambda: timed_saves(bare, rows["bare"], n, batch),
                "store": lambda: timed_saves(store_app, rows["store"], n, batch),
                "cmds": lambda: timed_commands(ledger, service, rows["cmds"], n, batch),
            }
            for run in runs.values():  # warm up: caches, prepared statements, pool
                run()
            rates: dict[str, list[float]] = {label: [] for label in runs}
            order = list(runs)
            for r in range(rounds):
                for label in order[r % 3:] + order[:r % 3]:  # rotate, so each path sees the same load
                    rates[label].append(runs[label]())
            for label, name in (("store", "store appends"), ("cmds", "signed commands")):
                ratios = [ours / bare for ours, bare in zip(rates[label], rates["bare"])]
                print(
                    f"{kind:8} batch {batch:>3} {name:<15}: drledger {max(rates[label]):>7,.0f} entities/s"
                    f"   bare {max(rates['bare']):>7,.0f} entities/s   ratio median {statistics.median(ratios):.2f}x"
                    f" best {max(ratios):.2f}x ({rounds} rounds)"
                )
            service.close()
            store_app.close()
            bare.close()
        finally:
            for config in configs.values():
                drop(config)


def bench_verify(kind: str, events: int, root: Path) -> None:
    config = scratch_store(kind, root, f"{kind}_verify")
    try:
        ledger = ledger_with_entities(config, 0)
        start = time.perf_counter()
        batch = min(1000, events)
        rows = Rows(0)
        with LedgerService(config, sync=False) as service:
            for _ in range(max(events // batch, 1)):
                chunk = rows.take(batch)
                service.submit(sign_import(ledger.admin, "admin", "entities", chunk, file_name="bench.csv",
                                           file_sha256="00" * 32), chunk)
        print(f"{kind:8} built {rows.next:,} entities in signed imports of {batch} in {time.perf_counter() - start:.1f}s")
        for workers in (1, 2):
            start = time.perf_counter()
            report = verify_ledger(config, workers=workers)
            elapsed = time.perf_counter() - start
            assert report.ok, report.problems[:3]
            print(f"{kind:8} verify {report.size:,} events ({report.checks['commands_reexecuted']:,} commands"
                  f" re-executed), {workers} worker(s): {report.size / elapsed:,.0f} ev/s ({elapsed:.1f}s)")
    finally:
        drop(config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000, help="entities per batch-100 measurement")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per measurement")
    parser.add_argument("--verify-events", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.stores.split(","):
            bench_appends(kind, args.events, args.rounds, Path(tmp))
        for kind in args.stores.split(","):
            if args.verify_events:
                bench_verify(kind, args.verify_events, Path(tmp))


if __name__ == "__main__":
    main()
