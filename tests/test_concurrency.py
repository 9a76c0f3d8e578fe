"""Concurrent appenders and a crash in the middle of a large batch.

The workers (tests/append_worker.py) report from inside their append
transaction and wait there for the test, so the interleavings below happen
every run instead of when the timing happens to allow them.
"""

from __future__ import annotations

import signal

import pytest

from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger
from tests.ledger_helpers import new_ledger
from tests.workers import Worker, store_args


def appender(store: StoreConfig, tag: str, batches: int, size: int, mode: str = "free") -> Worker:
    return Worker("tests.append_worker", *store_args(store), tag, str(batches), str(size), mode)


def sizes(store: StoreConfig) -> tuple[int, int]:
    with open_reader(store) as reader:
        return reader.size(), reader.event_count()


def test_two_processes_appending_at_once(store: StoreConfig) -> None:
    """Two processes take turns, each starting its save while the other's
    transaction is open: every batch is chained on top of the other's."""
    new_ledger(store).close()
    batches, size = 20, 5
    with appender(store, "left", batches, size, "hold") as left, appender(store, "right", batches, size, "hold") as right:
        workers = (left, right)
        for worker in workers:
            worker.expect("ready")
        holder = left
        holder.send("turn")
        holder.expect("saving")
        assert holder.expect("inside") == ["0", "3", str(size)]
        for step in range(1, 2 * batches):
            waiting = workers[step % 2]
            waiting.send("turn")
            waiting.expect("saving")  # its save starts while `holder` still holds the write lock
            holder.send("commit")
            holder.expect("saved")
            # The waiting worker's batch lands right after the one just committed.
            assert waiting.expect("inside") == [str(step // 2), str(3 + step * size), str(size)]
            holder = waiting
        holder.send("commit")
        holder.expect("saved")
        for worker in workers:
            worker.finish()
    report = verify_ledger(store)
    assert report.ok, report.problems
    assert report.size == 2 + 2 * batches * size and report.transactions == 1 + 2 * batches
    with open_reader(store) as reader:
        texts = [row.state for row in reader.rows(3, report.size)]
    for step in range(2 * batches):  # left, right, left, ... in chain order
        tag = ("left", "right")[step % 2]
        for state in texts[step * size:(step + 1) * size]:
            assert b'"text":"%s %d.' % (tag.encode(), step // 2) in state


@pytest.mark.slow
def test_killed_in_the_middle_of_a_large_batch(store: StoreConfig) -> None:
    """SIGKILL while the batch's rows are written but not committed: the batch
    is wholly absent, the ledger verifies, and appends go on afterwards."""
    new_ledger(store).close()
    size = 20_000
    with appender(store, "crash", 1, size, "die") as crash:
        crash.expect("ready")
        crash.expect("saving")
        # Inside the transaction: all 20,000 chain rows are there, as the transaction sees them ...
        assert crash.expect("inside") == ["0", "3", str(size)]
        # ... and no other connection sees any of them.
        assert sizes(store) == (2, 2)
        assert crash.kill() == -signal.SIGKILL
    report = verify_ledger(store)
    assert report.ok, report.problems
    assert report.size == 2 and report.transactions == 1
    assert sizes(store) == (2, 2)
    # The ledger goes on after the crash.
    with appender(store, "after", 1, 3) as after:
        after.finish(timeout=120)
    final = verify_ledger(store)
    assert final.ok, final.problems
    assert final.size == 2 + 3 and sizes(store) == (5, 5)

