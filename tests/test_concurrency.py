"""Concurrent writers and a crash in the middle of a large transaction.

The workers (tests/append_worker.py) submit signed imports, report from inside
their append transaction and wait there for the test, so the interleavings
below happen every run instead of when the timing happens to allow them.
"""

from __future__ import annotations

import signal

import pytest

from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger
from tests.ledger_helpers import ledger_with_entities
from tests.workers import Worker, store_args

BASE = 6  # genesis (3 events) and the department import (3 events)


def appender(store: StoreConfig, tag: str, batches: int, size: int, mode: str = "free") -> Worker:
    return Worker("tests.append_worker", *store_args(store), tag, str(batches), str(size), mode)


def sizes(store: StoreConfig) -> tuple[int, int]:
    with open_reader(store) as reader:
        return reader.size(), reader.event_count()


def test_two_processes_appending_at_once(store: StoreConfig) -> None:
    """Two processes take turns, each submitting its command while the other's
    transaction is open: every batch is chained on top of the other's."""
    ledger_with_entities(store, 0)
    batches, size = 20, 5
    tx = size + 2  # the command, the entities, the import record
    with appender(store, "left", batches, size, "hold") as left, appender(store, "right", batches, size, "hold") as right:
        workers = (left, right)
        for worker in workers:
            worker.expect("ready")
        holder = left
        holder.send("turn")
        holder.expect("saving")
        assert holder.expect("inside") == ["0", str(BASE + 1), str(tx)]
        for step in range(1, 2 * batches):
            waiting = workers[step % 2]
            waiting.send("turn")
            waiting.expect("saving")  # its command is submitted while `holder` still holds the write lock
            holder.send("commit")
            holder.expect("saved")
            # The waiting worker's batch lands right after the one just committed.
            assert waiting.expect("inside") == [str(step // 2), str(BASE + 1 + step * tx), str(tx)]
            holder = waiting
        holder.send("commit")
        holder.expect("saved")
        for worker in workers:
            worker.finish()
    report = verify_ledger(store)
    assert report.ok, report.problems
    assert report.size == BASE + 2 * batches * tx and report.transactions == 2 + 2 * batches
    with open_reader(store) as reader:
        rows = list(reader.rows(BASE + 1, report.size))
    for step in range(2 * batches):  # left, right, left, ... in chain order
        tag = ("left", "right")[step % 2]
        batch = rows[step * tx:(step + 1) * tx]
        entities = [row.state for row in batch if row.topic == "drledger/entity/Registered"]
        assert len(entities) == size
        for state in entities:
            assert b'"name":"%s %d.' % (tag.encode(), step // 2) in state


@pytest.mark.slow
def test_killed_in_the_middle_of_a_large_transaction(store: StoreConfig) -> None:
    """SIGKILL while the command's rows are written but not committed: the whole
    transaction is absent, the ledger verifies, and commands go on afterwards."""
    ledger_with_entities(store, 0)
    size = 20_000
    with appender(store, "crash", 1, size, "die") as crash:
        crash.expect("ready")
        crash.expect("saving")
        # Inside the transaction: all its chain rows are there, as the transaction sees them ...
        assert crash.expect("inside", timeout=300) == ["0", str(BASE + 1), str(size + 2)]
        # ... and no other connection sees any of them.
        assert sizes(store) == (BASE, BASE)
        assert crash.kill() == -signal.SIGKILL
    report = verify_ledger(store)
    assert report.ok, report.problems
    assert report.size == BASE and report.transactions == 2
    assert sizes(store) == (BASE, BASE)
    # The ledger goes on after the crash: the writer lock died with the process.
    with appender(store, "after", 1, 3) as after:
        after.expect("ready")
        after.expect("saving")
        after.expect("saved")
        after.finish(timeout=120)
    final = verify_ledger(store)
    assert final.ok, final.problems
    assert final.size == BASE + 3 + 2 and sizes(store) == (BASE + 5, BASE + 5)
