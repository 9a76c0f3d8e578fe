"""Concurrent appenders and a crash in the middle of a large batch."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path


from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger
from tests.ledger_helpers import new_ledger

ROOT = Path(__file__).resolve().parents[1]


def worker(store: StoreConfig, tag: str, batches: int, size: int) -> subprocess.Popen[str]:
    url = "-" if store.kind == "sqlite" else store.display
    return subprocess.Popen(
        [sys.executable, "-m", "tests.append_worker", url, str(store.home), tag, str(batches), str(size)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_two_processes_appending_at_once(store: StoreConfig) -> None:
    new_ledger(store).close()
    workers = [worker(store, tag, batches=40, size=5) for tag in ("left", "right")]
    for process in workers:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    report = verify_ledger(store)
    assert report.ok, report.problems
    assert report.size == 2 + 2 * 40 * 5 and report.transactions == 1 + 80
    with open_reader(store) as reader:
        texts = [row.state for row in reader.rows(3, report.size)]
    for tag in (b"left", b"right"):
        assert sum(1 for state in texts if state and b'"text":"' + tag in state) == 200


def test_killed_in_the_middle_of_a_large_batch(store: StoreConfig) -> None:
    new_ledger(store).close()
    process = worker(store, "crash", batches=1, size=60_000)
    assert process.stdout is not None
    assert process.stdout.readline().startswith("saving")
    time.sleep(0.4)  # well inside the save of 60,000 events
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    report = verify_ledger(store)
    assert report.ok, report.problems
    assert report.size in (2, 2 + 60_000)  # wholly absent or wholly present
    with open_reader(store) as reader:
        assert reader.event_count() == report.size
    # The ledger goes on after the crash.
    after = worker(store, "after", batches=1, size=3)
    assert after.wait(timeout=120) == 0
    final = verify_ledger(store)
    assert final.ok and final.size == report.size + 3
