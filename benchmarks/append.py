"""Signed, chained appends against bare eventsourcing, and verify throughput.

    .venv/bin/python benchmarks/append.py [--events 3000] [--verify-events 1000000] [--stores sqlite,postgres]

Both sides use the same canonical msgspec mapper, the same store kind and the
same event shapes, measured alternately in one run; the ratio is
drledger / bare (1.0 = no overhead). PostgreSQL: 127.0.0.1:5432 database `test`
(env DRLEDGER_BENCH_PG), each run in a scratch schema that is dropped after.
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

from eventsourcing.application import Application  # noqa: E402

from ledger.setup import init_ledger, open_for_writing  # noqa: E402
from ledger.store.config import StoreConfig, resolve_store  # noqa: E402
from ledger.store.mapper import CanonicalMapper  # noqa: E402
from ledger.verify.ledger_check import verify_ledger  # noqa: E402
from tests.ledger_helpers import Memo  # noqa: E402

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


def timed_appends(app: Any, events: int, batch: int) -> float:
    start = time.perf_counter()
    for b in range(events // batch):
        app.save(*[Memo(text=f"检查记录 {b}.{i} " + "x" * 120, actor="JX-0001") for i in range(batch)])
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
            init_ledger(ours_cfg, origin="bench/append", admin_id="admin", admin_name="Admin")
            ours = open_for_writing(ours_cfg)
            bare_cfg.home.mkdir(parents=True, exist_ok=True)
            bare = BareApplication(env=bare_env(bare_cfg))
            rates: dict[str, list[float]] = {"ours": [], "bare": []}
            for _ in range(3):  # alternate, so both see the same machine load
                rates["bare"].append(timed_appends(bare, n, batch))
                rates["ours"].append(timed_appends(ours, n, batch))
            best_ours, best_bare = max(rates["ours"]), max(rates["bare"])
            print(
                f"{kind:8} batch {batch:>3}: drledger {best_ours:>9,.0f} ev/s   bare {best_bare:>9,.0f} ev/s"
                f"   ratio {best_ours / best_bare:.2f}x"
            )
            ours.close()
            bare.close()
        finally:
            drop(ours_cfg)
            drop(bare_cfg)


def bench_verify(kind: str, events: int, root: Path) -> None:
    config = scratch_store(kind, root, f"{kind}_verify")
    try:
        init_ledger(config, origin="bench/verify", admin_id="admin", admin_name="Admin")
        app = open_for_writing(config)
        start = time.perf_counter()
        batch = 1000
        for b in range(events // batch):
            app.save(*[Memo(text=f"r{b}.{i}", actor="admin") for i in range(batch)])
        app.close()
        print(f"{kind:8} built {events:,} events in {time.perf_counter() - start:.1f}s")
        for workers in (1, 2):
            start = time.perf_counter()
            report = verify_ledger(config, workers=workers)
            elapsed = time.perf_counter() - start
            assert report.ok, report.problems[:3]
            print(f"{kind:8} verify {report.size:,} events, {workers} worker(s): {report.size / elapsed:,.0f} ev/s ({elapsed:.1f}s)")
    finally:
        drop(config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000, help="events per batch-100 measurement")
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
