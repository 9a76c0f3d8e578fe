"""What the command model costs, measured side by side in one run on the demo city.

1. `verify` re-executing every command vs the chain-only `verify` (bytes,
   ledger signatures, Merkle tree, checkpoints) of the same ledger.
2. Signed result entries through the command processor (writer lock, head,
   authentication, decision, one transaction, receipt) vs the same events
   appended chain-only (the store's chain, signature and tree, nothing else).
   Entries alternate between the two paths in blocks, so that noise hits both alike.

The event mix of the ledger is printed first.

    .venv/bin/python benchmarks/commands.py                 # full demo city, SQLite
    .venv/bin/python benchmarks/commands.py --small --store postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from ledger.demo.actors import demo_key_folder, demo_keys_dir
from ledger.demo.build import init_demo_ledger, run_demo
from ledger.domain.base import recorded_time
from ledger.domain.commands import authenticate, decide
from ledger.domain.draws import Task
from ledger.domain.results import InspectionResult, RecordBody
from ledger.integrity.keys import read_key_file
from ledger.services.keys import key_path
from ledger.services.ledger import open_ledger
from ledger.services.results import sign_record
from ledger.store.config import StoreConfig, resolve_store
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger


BLOCK = 25


def make_store(kind: str, home: Path) -> StoreConfig:
    if kind == "sqlite":
        return resolve_store(None, home)
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    config = resolve_store(kind, home)
    with psycopg.connect(host=config.host, port=config.port, dbname=config.database, user=config.user,
                         autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return resolve_store(f"{kind}?schema={schema}", home)


def event_mix(config: StoreConfig) -> Counter[str]:
    with open_reader(config) as reader:
        return Counter(row.topic for row in reader.rows(1, reader.size()) if row.topic)


def best_of(runs: int, work: Any) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def open_pairs(config: StoreConfig, ledger: Any) -> list[tuple[Task, str, str]]:
    """(task, target, first assigned officer) of every drawn target without a result."""
    with open_reader(config) as reader:
        task_ids = {row.originator_id for row in reader.rows(1, reader.size()) if row.topic == "drledger/task/Created"}
    pairs = []
    app = ledger.processor.app
    for task_id in sorted(task_ids, key=str):
        task = app.repository.get(task_id)
        if not task.drawn:
            continue
        for team in task.teams:
            if app.find(InspectionResult.create_id(task.task_id, team.target)) is None:
                pairs.append((task, team.target, team.inspectors[0]))
    return pairs


def entries(config: StoreConfig, count: int) -> None:
    with demo_key_folder(config), open_ledger(config, sync=False) as ledger:
        pairs = open_pairs(config, ledger)[: 2 * count]
        if len(pairs) < 2:
            print("entries: the demo left no open drawn pairs", file=sys.stderr)
            return
        processor = ledger.processor
        signers: dict[str, Any] = {}

        def signed_for(task: Task, uscc: str, badge: str) -> Any:
            if badge not in signers:
                signers[badge] = read_key_file(demo_keys_dir(config) / key_path(ledger.origin, badge).name, None)
            body = RecordBody(task_id=task.task_id, uscc=uscc, category="no_issue", findings="未发现问题",
                              methods=("onsite",), items=task.items[:1], inspected_on=task.window_start)
            return sign_record(signers[badge], badge, body)

        signed_times: list[float] = []
        chain_times: list[float] = []
        for index, (task, uscc, badge) in enumerate(pairs):
            signed = signed_for(task, uscc, badge)
            # Blocks of BLOCK entries per path: noise hits both alike, and the processor
            # sees the other path's appends (another writer, for it) only once per block.
            if (index // BLOCK) % 2 == 0:
                start = time.perf_counter()
                processor.submit(signed)
                signed_times.append(time.perf_counter() - start)
                continue
            # The same command's events, decided beforehand (untimed), then appended alone.
            from ledger.services.processor import RepositoryState, head_of

            with processor.lock:
                head = head_of(processor.reader)
                state = RepositoryState(processor.app, head.position)
                command = authenticate(state, signed, head.recorded_at)
                with recorded_time(head.recorded_at):
                    aggregates = decide(state, command)
                start = time.perf_counter()
                processor.app.save(*aggregates)
                chain_times.append(time.perf_counter() - start)
    signed_rate, chain_rate = len(signed_times) / sum(signed_times), len(chain_times) / sum(chain_times)
    print(f"result entries: signed {signed_rate:,.0f}/s (p50 {statistics.median(signed_times) * 1000:.2f} ms),"
          f" chain-only {chain_rate:,.0f}/s (p50 {statistics.median(chain_times) * 1000:.2f} ms),"
          f" {len(signed_times)} + {len(chain_times)} entries")
    print(f"ratio signed / chain-only entries: {signed_rate / chain_rate:.2f}x (goal >= 0.8x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default="sqlite", help="sqlite, or a postgresql:// URL (a new schema is made)")
    parser.add_argument("--small", action="store_true", help="the small demo city (quick)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--entries", type=int, default=300, help="result entries per path")
    parser.add_argument("--runs", type=int, default=3, help="verify runs per mode (the best counts)")
    parser.add_argument("--workers", type=int, default=None, help="verify processes (default: as drledger verify)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = make_store(args.store, Path(tmp) / "home")
        start = time.perf_counter()
        init_demo_ledger(config)
        run_demo(config, seed=args.seed, small=args.small, say=lambda line: print(f"  {line}", file=sys.stderr))
        print(f"demo city built in {time.perf_counter() - start:.1f} s ({config.display})")
        mix = event_mix(config)
        print(f"event mix ({sum(mix.values()):,} events):")
        for topic, count in mix.most_common():
            print(f"  {count:>8,}  {topic}")
        # As `drledger verify` runs them (default workers): the full check re-executes the commands
        # in this process while a second one checks the bytes; the chain-only check of a ledger
        # this size runs in one process (ledger_check.PARALLEL_FROM).
        full = best_of(args.runs, lambda: verify_ledger(config, workers=args.workers))
        chain = best_of(args.runs, lambda: verify_ledger(config, workers=args.workers, reexecute_commands=False))
        events = sum(mix.values())
        print(f"verify: full {events / full:,.0f} events/s ({full:.2f} s), chain-only {events / chain:,.0f}"
              f" events/s ({chain:.2f} s)")
        print(f"ratio full / chain-only verify: {chain / full:.2f}x (goal >= 0.5x)")
        entries(config, args.entries)


if __name__ == "__main__":
    main()
