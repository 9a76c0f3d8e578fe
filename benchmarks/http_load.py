"""The HTTP service under loopback load: signed result entries and public reads, 2 workers.

    .venv/bin/python benchmarks/http_load.py                        # short: 5 s per phase, SQLite then PostgreSQL
    .venv/bin/python benchmarks/http_load.py --long                 # 60 s per phase (issue 13's measure)
    .venv/bin/python benchmarks/http_load.py --stores sqlite --seconds 2 --rate 20   # smoke run

For each store it builds a demo city with enough drawn (task, target) pairs
(benchmarks/results.py `build`), starts a real `drledger serve --workers 2`
on a free loopback port (rate limits off, no access log), then runs two
open-loop phases at --rate requests per second for --seconds each:

* entries: `POST /api/v1/commands` of `result.record` commands, each signed
  beforehand by its inspector's own key (signing is the client's cost, not
  the server's), each a full command through the one write path;
* reads: public `GET`s (items, plans, draw attempts, disclosed results) in turn.

A few requests of each kind warm the workers up first (not measured).
Requests are sent on schedule by a pool of client threads whatever the
previous answers took; latency is from the scheduled send to the answer, so
a server that falls behind shows in p99. Printed per phase: the rate
achieved, p50/p99/max latency and the errors (any answer but 201/200), then
the ratios against the goal (issue 13): p99 < 50 ms for entries, < 100 ms
for reads, at the rate asked, zero errors.
PostgreSQL: DRLEDGER_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/test),
a scratch schema dropped after.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

# Not named http.py: run as a script, its folder comes first on sys.path and a benchmarks/http_load.py
# would shadow the standard library's `http` for every benchmark.
_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent))

import importlib.util  # noqa: E402

import httpx  # noqa: E402
import psycopg  # noqa: E402


def _results_module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_results", _HERE / "results.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build, make_store = _results_module().build, _results_module().make_store  # benchmarks/results.py

from ledger.services import results  # noqa: E402
from ledger.services.remote import submission_bytes  # noqa: E402
from ledger.store.config import StoreConfig  # noqa: E402

PG = os.environ.get("DRLEDGER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
DRLEDGER = str(Path(sys.executable).parent / "drledger")
ENTRY_GOAL_MS, READ_GOAL_MS = 50.0, 100.0  # issue 13: p99 goals
READS = ["/api/v1/items?limit=50", "/api/v1/plans", "/api/v1/draws?limit=50", "/api/v1/results/public?limit=50"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(config: StoreConfig, store_url: str | None, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRLEDGER_")}
    env.update({"DRLEDGER_HOME": str(config.home), "DRLEDGER_RATE": "0"})
    if store_url:
        env["DRLEDGER_STORE"] = store_url
    process = subprocess.Popen([DRLEDGER, "serve", "--port", str(port), "--workers", str(workers), "--no-access-log",
                                "--log-level", "warning"], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("drledger serve did not start")


def load(url: str, requests: list[tuple[str, str, bytes | None]], rate: float, goal_ms: float,
         clients: int = 32) -> None:
    """Send `requests` (method, path, body) at `rate` per second, open loop; print the outcome
    and its ratios against the goal (p99 below `goal_ms` at `rate`, zero errors)."""
    jobs: queue.Queue[tuple[float, str, str, bytes | None] | None] = queue.Queue()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    start = time.perf_counter() + 0.5

    def client() -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            while (job := jobs.get()) is not None:
                at, method, path, body = job
                time.sleep(max(0.0, at - time.perf_counter()))
                try:
                    answer = http.request(method, path, content=body,
                                          headers={"content-type": "application/json"} if body else None)
                    outcome = None if answer.status_code in (200, 201) else f"{answer.status_code}"
                    if outcome and answer.headers.get("content-type", "").startswith("application/json"):
                        outcome += f" {answer.json().get('code')}"
                except httpx.HTTPError as error:
                    outcome = type(error).__name__
                took = time.perf_counter() - at
                with lock:
                    latencies.append(took)
                    if outcome:
                        errors[outcome] = errors.get(outcome, 0) + 1

    for index, (method, path, body) in enumerate(requests):
        jobs.put((start + index / rate, method, path, body))
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        jobs.put(None)
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    latencies.sort()

    def p(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    achieved, failed = len(latencies) / elapsed, sum(errors.values())
    print(f"    {len(latencies)} requests in {elapsed:.1f}s = {achieved:.0f}/s (asked {rate:.0f}/s);"
          f" p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {latencies[-1] * 1000:.0f} ms;"
          f" errors {failed} {errors or ''}")
    verdict = "meets" if p(0.99) < goal_ms and failed == 0 and achieved >= 0.95 * rate else "MISSES"
    print(f"    against the goal: p99 {p(0.99) / goal_ms:.2f}x the {goal_ms:.0f} ms goal, rate {achieved / rate:.2f}x"
          f" the {rate:.0f}/s asked, {failed} errors of 0 allowed: {verdict} the goal")


def bench(kind: str, seconds: float, rate: float, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = make_store("sqlite" if kind == "sqlite" else PG, Path(tmp) / "home")
        print(f"{kind}: {config.display}")
        store_url = None if kind == "sqlite" else f"{PG}?schema={config.schema}"
        process = None
        try:
            count = int(seconds * rate)
            warm = 4 * workers  # each worker opens its write path and imports lazily on first use
            pairs, keys = build(config, count + warm, small=True)
            bodies = []
            for task_id, uscc, badge, items in pairs:
                body = results.RecordBody(task_id=task_id, uscc=uscc, category="no_issue", findings="未发现问题",
                                          methods=("onsite",), items=items, inspected_on=date(2026, 9, 20))
                bodies.append(("POST", "/api/v1/commands",
                               submission_bytes(results.sign_record(keys[badge], badge, body))))
            process, url = serve(config, store_url, workers)
            with httpx.Client(base_url=url, timeout=60) as http:  # warm-up, not measured
                for method, path, content in bodies[:warm]:
                    http.request(method, path, content=content, headers={"content-type": "application/json"})
                for path in READS * workers:
                    http.get(path)
            print(f"  entries ({workers} workers):")
            load(url, bodies[warm:], rate, ENTRY_GOAL_MS)
            print(f"  public reads ({workers} workers):")
            load(url, [("GET", READS[i % len(READS)], None) for i in range(count)], rate, READ_GOAL_MS)
        finally:
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
            if config.kind == "postgres":
                with psycopg.connect(host=config.host, port=config.port, dbname=config.database, user=config.user,
                                     autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{config.schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="sqlite,postgres", help="Comma-separated: sqlite, postgres.")
    parser.add_argument("--seconds", type=float, default=5.0, help="Seconds per phase (default 5).")
    parser.add_argument("--long", action="store_true", help="60 s per phase.")
    parser.add_argument("--rate", type=float, default=200.0, help="Requests per second (default 200).")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for kind in args.stores.split(","):
        bench(kind.strip(), 60.0 if args.long else args.seconds, args.rate, args.workers)


if __name__ == "__main__":
    main()
