"""Transparency-log benchmark (one command): `python benchmarks/log.py`.

    python benchmarks/log.py --rounds 2 --batches 5 --per-batch 10 --leaves 100000 --proofs 50   # smoke run

1. Leaves integrated per second through the real write path (SQLite ledger:
   signed `directory.import` commands of PER_BATCH entities, each one chained
   and signed transaction of PER_BATCH + 2 events), with the tree hook vs
   without it, alternating rounds in the same store and run; reports both
   rates and their ratio.
2. Inclusion and consistency proof time from a 10M-leaf tree: the chain and
   tree tables are generated directly in SQLite with the same batch function
   the hook uses (merkle.complete_nodes_after_batch), time-boxed; proofs are
   then served by LogReader (one query each), timed over random requests.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.ledger_helpers

from ledger.integrity.merkle import (
    append_nodes_needed,
    complete_nodes_after_batch,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from ledger.store.config import resolve_store
from ledger.store.log_reader import LogReader
from ledger.store.reader import LedgerReader
from ledger.store.recorders import CHAIN_COLUMNS  # noqa: E402
from ledger.store.schema import SQLITE
from ledger.store.tree import fetch_nodes, insert_nodes_sql


def integration(rounds: int, batches: int, per_batch: int) -> None:
    from ledger.services.directory import sign_import
    from ledger.services.ledger import LedgerService
    from tests.ledger_helpers import entity_rows, ledger_with_entities

    with tempfile.TemporaryDirectory() as tmp:
        ledger = ledger_with_entities(resolve_store(None, Path(tmp) / "home"), 0)
        service = LedgerService(ledger.store, sync=False)  # the write path alone
        app = service.processor.app
        timings: dict[str, list[float]] = {"with tree": [], "without tree": []}
        events = batches * (per_batch + 2)  # each command: its own event, the entities, the import record
        serial = 0
        for r in range(rounds):
            for label in (("with tree", "without tree") if r % 2 == 0 else ("without tree", "with tree")):
                app.integrity.tree = label == "with tree"
                commands = []
                for _ in range(batches):  # signed on the list manager's side, before the clock starts
                    rows = entity_rows(per_batch, start=serial)
                    serial += per_batch
                    commands.append((sign_import(ledger.admin, "admin", "entities", rows, file_name="bench.csv",
                                                 file_sha256="00" * 32), rows))
                start = time.perf_counter()
                for signed, rows in commands:
                    service.submit(signed, rows)
                timings[label].append(time.perf_counter() - start)
                if label == "without tree":
                    # Keep the tree complete for the next 'with tree' round (not timed).
                    _backfill(app)
        service.close()
    rate = {k: events / statistics.median(v) for k, v in timings.items()}
    print(f"write path, {rounds} rounds x {batches} signed commands x {per_batch + 2} events"
          " (SQLite, median round):")
    for k, v in rate.items():
        print(f"  {k:<13} {v:>10,.0f} leaves/s")
    print(f"  ratio with/without tree: {rate['with tree'] / rate['without tree']:.3f}")
    hook_seconds = statistics.median(timings["with tree"]) - statistics.median(timings["without tree"])
    if hook_seconds > 0:
        print(f"  the tree hook alone (difference of medians): {events / hook_seconds:,.0f} leaves/s")


def _backfill(app) -> None:  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(app.config.sqlite_path, isolation_level=None)
    hashes = [bytes(h) for (h,) in conn.execute("SELECT hash FROM ledger_chain ORDER BY seq")]
    from ledger.integrity.merkle import MemoryTree

    tree = MemoryTree()
    tree.extend([leaf_hash(h) for h in hashes])
    conn.execute("BEGIN")
    conn.execute("DELETE FROM ledger_tree")
    conn.executemany(insert_nodes_sql(SQLITE), [(l, i, h) for (l, i), h in tree.nodes.items() if l > 0])
    conn.execute("COMMIT")
    conn.close()


def build_big_tree(path: Path, leaves: int, time_box: float) -> int:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    for statement in SQLITE.create_statements():
        conn.execute(statement)
    chunk = 1 << 18
    start, size = time.perf_counter(), 0
    cursor = conn.cursor()
    while size < leaves and time.perf_counter() - start < time_box:
        n = min(chunk, leaves - size)
        blob = os.urandom(32 * n)
        hashes = [blob[i * 32:(i + 1) * 32] for i in range(n)]
        conn.execute("BEGIN")
        SQLITE.insert_rows(cursor, "ledger_chain", CHAIN_COLUMNS, [(size + i + 1, size + i + 1, h) for i, h in enumerate(hashes)])
        existing = fetch_nodes(cursor, SQLITE, append_nodes_needed(size))
        nodes = complete_nodes_after_batch(size, [leaf_hash(h) for h in hashes], existing)
        cursor.executemany(insert_nodes_sql(SQLITE), nodes)
        conn.execute("COMMIT")
        size += n
    elapsed = time.perf_counter() - start
    print(f"generated {size:,} leaves in {elapsed:.0f} s ({size / elapsed:,.0f} leaves/s, batch function, direct SQLite)")
    conn.close()
    return size


def proofs(path: Path, size: int, count: int) -> None:
    reader = LedgerReader(sqlite3.connect(f"file:{path}?mode=ro", uri=True), SQLITE, "rowid")
    log = LogReader(reader)
    rng = random.Random(1)
    root = log.root(size)
    incl, cons = [], []
    for _ in range(count):
        index = rng.randrange(size)
        t = time.perf_counter()
        bundle = log.inclusion(index, size)
        incl.append(time.perf_counter() - t)
        verify_inclusion(bundle.leaf_hash, index, size, bundle.proof, root)
        size1 = rng.randrange(1, size)
        t = time.perf_counter()
        c = log.consistency(size1, size)
        cons.append(time.perf_counter() - t)
        verify_consistency(size1, size, c.proof, c.root1, root)
    for label, values in (("inclusion", incl), ("consistency", cons)):
        values.sort()
        print(f"  {label:<12} proof + roots at {size:,} leaves: median {statistics.median(values) * 1e3:.2f} ms,"
              f" p99 {values[int(len(values) * 0.99)] * 1e3:.2f} ms (one query each, {count} random requests)")
    reader.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batches", type=int, default=100, help="signed commands (transactions) per round")
    parser.add_argument("--per-batch", type=int, default=100, help="entities per signed import (events: + 2)")
    parser.add_argument("--leaves", type=int, default=10_000_000)
    parser.add_argument("--time-box", type=float, default=600.0, help="seconds for generating the big tree")
    parser.add_argument("--proofs", type=int, default=1000)
    args = parser.parse_args()
    integration(args.rounds, args.batches, args.per_batch)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.sqlite"
        size = build_big_tree(path, args.leaves, args.time_box)
        proofs(path, size, args.proofs)


if __name__ == "__main__":
    main()
