"""Signed commands through the one write path against bare eventsourcing, and verify throughput.

    .venv/bin/python benchmarks/append.py [--events 3000] [--verify-events 1000000] [--stores sqlite,postgres]
    .venv/bin/python benchmarks/append.py --events 200 --verify-events 2000 --stores sqlite   # smoke run

drledger: each batch is one `directory.import` of BATCH new entities, signed
by the admin and submitted to the command processor (authenticate, decide,
one chained and signed transaction with the command's own event and the
import record, a signed receipt). Bare: eventsourcing as it comes, with the
same canonical msgspec mapper, saving the same entity events. Both are
measured alternately in one run, in entities per second; the ratio is
drledger / bare (1.0 = no overhead). PostgreSQL: 127.0.0.1:5432 database
`test` (env DRLEDGER_BENCH_PG), each run in a scratch schema dropped after.
"""

from __future__ import annotations

import argparse
import os
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


def timed_bare(app: Any, rows: Rows, events: int, batch: int) -> float:
    """Entities per second saving the same entity events with bare eventsourcing."""
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


def bench_appends(kind: str, events: int, root: Path) -> None:
    for batch in (1, 100):
        n = events if batch == 100 else max(events // 5, 200)
        ours_cfg = scratch_store(kind, root, f"{kind}_ours{batch}")
        bare_cfg = scratch_store(kind, root, f"{kind}_bare{batch}")
        try:
            ledger = ledger_with_entities(ours_cfg, 0)
            ours = LedgerService(ours_cfg, sync=False)  # the write path alone (read models caught up later)
            bare_cfg.home.mkdir(parents=True, exist_ok=True)
            bare = BareApplication(env=bare_env(bare_cfg))
            rates: dict[str, list[float]] = {"ours": [], "bare": []}
            ours_rows, bare_rows = Rows(0), Rows(0)
            for _ in range(3):  # alternate, so both see the same machine load
                rates["bare"].append(timed_bare(bare, bare_rows, n, batch))
                rates["ours"].append(timed_commands(ledger, ours, ours_rows, n, batch))
            best_ours, best_bare = max(rates["ours"]), max(rates["bare"])
            print(
                f"{kind:8} batch {batch:>3}: drledger {best_ours:>9,.0f} entities/s (signed commands)"
                f"   bare {best_bare:>9,.0f} entities/s   ratio {best_ours / best_bare:.2f}x"
            )
            ours.close()
            bare.close()
        finally:
            drop(ours_cfg)
            drop(bare_cfg)


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
    parser.add_argument("--verify-events", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.stores.split(","):
            bench_appends(kind, args.events, Path(tmp))
        for kind in args.stores.split(","):
            if args.verify_events:
                bench_verify(kind, args.verify_events, Path(tmp))


if __name__ == "__main__":
    main()
