"""verify resumed from a verified mark (a mirror's pull) is exactly as strict about what follows it.

The state a resumed verify re-executes on is folded from the events up to
the mark; at every transaction boundary of a ledger with draws (a
commitment folded, its run checked) and refusals, it must accept the
ledger and re-execute exactly the commands after the mark.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.services.ledger import CommandRefused
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import VerifiedMark, verify_ledger
from ledger.verify.reexecute import COMMAND_TOPIC
from tests.draw_helpers import city_with_drawer, commit, new_task, run
from tests.ledger_helpers import Raw


@pytest.fixture(autouse=True)
def drawer_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRLEDGER_KEYS", str(tmp_path / "drawer-keys"))


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_resumed_verify_rechecks_exactly_what_follows_the_mark(store: StoreConfig) -> None:
    city = city_with_drawer(store)
    new_task(city, "T1")
    commit(city, "T1")
    with pytest.raises(CommandRefused):
        commit(city, "T1")  # a refusal record: already committed
    new_task(city, "T2")
    run(city, "T1")
    with open_reader(store) as reader:
        boundaries = [(tx.last_seq, reader.hash_at(tx.last_seq)) for tx in reader.transactions()]
        opens_command = {tx.last_seq: next(reader.rows(tx.first_seq, tx.first_seq)).topic == COMMAND_TOPIC
                         for tx in reader.transactions()}
    full = verify_ledger(store, workers=1)
    assert full.ok and full.checks["draws_replayed"] == 1 and full.checks["refusals_rechecked"] == 1, full.problems
    for size, head in boundaries:
        report = verify_ledger(store, workers=1, resume=VerifiedMark(size, head or b""))
        later = [last for last, _ in boundaries if last > size]
        assert report.ok, (size, report.problems)
        assert report.resumed_from == size and report.signatures_checked == len(later)
        assert report.checks["commands_reexecuted"] == sum(opens_command[last] for last in later)
        assert report.checks["refusals_rechecked"] == sum(not opens_command[last] for last in later)
    size, head = boundaries[len(boundaries) // 2]  # the bytes checked in a second process, beside the re-execution
    assert verify_ledger(store, workers=2, resume=VerifiedMark(size, head or b"")).ok


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_mark_the_chain_no_longer_holds_is_a_problem(store: StoreConfig) -> None:
    city = city_with_drawer(store)
    with open_reader(store) as reader:
        size = reader.size()
    report = verify_ledger(store, workers=1, resume=VerifiedMark(size, bytes(32)))
    assert not report.ok and "no longer holds the chain verified up to position" in report.problems[0].what
    # An event altered after the mark is found as by a full verify.
    city.register("AUD-1", "auditor")
    raw = Raw(store)
    try:
        state = bytearray(raw.event_at(size + 2)[4])
        state[len(state) // 2] ^= 1
        raw.set_event(size + 2, state=bytes(state))
    finally:
        raw.close()
    with open_reader(store) as reader:
        mark = VerifiedMark(size, reader.hash_at(size) or b"")
    report = verify_ledger(store, workers=1, resume=mark)
    assert [p.position for p in report.problems] == [size + 2]
