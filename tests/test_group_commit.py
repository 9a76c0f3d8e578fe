"""Group commit (services/processor.py `submit_batch`): commands that queue for the writer are
decided in turn on the evolving state and written in one store transaction, each still its own
signed transaction with its own receipt; `verify` sees no difference from one-by-one submission."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from ledger.integrity.keys import Signer, public_key_b64
from ledger.services.ledger import CommandRefused, Entry, LedgerService
from ledger.services.receipts import receipt_signature_ok
from ledger.services.remote import submission_bytes
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger
from tests.insider import Insider, refused_at
from tests.ledger_helpers import TestLedger, new_ledger


def _register(ledger: TestLedger, actor_id: str, name: str | None = None) -> Any:
    return ledger.sign("admin", "actor.register", {
        "actor_id": actor_id, "department": None, "name": name or actor_id,
        "public_key": public_key_b64(Signer.generate().public_key), "roles": ["auditor"]})


def _ledger_key(store: Any) -> bytes:
    from ledger.services.setup import load_ledger_signer

    return load_ledger_signer(store).public_key


def test_a_batch_decides_on_the_state_its_earlier_commands_leave_and_a_refusal_stands_alone(store) -> None:  # type: ignore[no-untyped-def]
    ledger = new_ledger(store)
    first, again, other = _register(ledger, "AUD-1"), _register(ledger, "AUD-1", "又一个"), _register(ledger, "AUD-2")
    with open_reader(store) as reader:
        head, transactions_before = reader.size(), len(reader.transactions())
    with LedgerService(store) as service:
        outcomes = service.submit_batch([Entry(first), Entry(again), Entry(other)])
    # The second sees the first (not stored yet when it is decided): a duplicate, refused and recorded.
    assert outcomes[0].error is None and outcomes[2].error is None
    refused = outcomes[1].error
    assert isinstance(refused, CommandRefused) and refused.code == "duplicate", refused
    receipts = [outcomes[0].receipt, refused.receipt, outcomes[2].receipt]
    assert [r.outcome for r in receipts] == ["accepted", "refused", "accepted"]  # type: ignore[union-attr]
    # One signed transaction each, back to back after the head, each receipt naming its own.
    assert receipts[0].first == head + 1  # type: ignore[union-attr]
    for before, after in zip(receipts, receipts[1:]):
        assert after.first == before.last + 1  # type: ignore[union-attr]
    key = _ledger_key(store)
    assert all(receipt_signature_ok(r, key) for r in receipts)  # type: ignore[arg-type]
    with open_reader(store) as reader:
        transactions = reader.transactions()
        assert len(transactions) == transactions_before + 3
        assert [(t.first_seq, t.last_seq) for t in transactions[-3:]] == [(r.first, r.last) for r in receipts]  # type: ignore[union-attr]
        for r in receipts:
            assert reader.hashes(r.first, r.last) == r.event_hashes  # type: ignore[union-attr]
    report = verify_ledger(store)
    assert report.ok, report.problems
    # The read models saw the whole batch (one catch-up after it).
    from ledger.services.actors import find_actor

    assert find_actor(store, "AUD-1") is not None and find_actor(store, "AUD-2") is not None


def test_the_same_bytes_twice_in_a_batch_get_one_receipt_and_a_failure_fails_only_its_command(store) -> None:  # type: ignore[no-untyped-def]
    ledger = new_ledger(store)
    signed = _register(ledger, "AUD-3")

    def broken(command: Any, position: int) -> Any:
        raise RuntimeError("the attachment could not be read")

    later = _register(ledger, "AUD-4")
    with open_reader(store) as reader:
        transactions_before = len(reader.transactions())
    with LedgerService(store) as service:
        outcomes = service.submit_batch([Entry(signed), Entry(signed), Entry(later, attachment_source=broken),
                                         Entry(_register(ledger, "AUD-5"))])
        assert outcomes[0].receipt == outcomes[1].receipt and not outcomes[0].retried and outcomes[1].retried
        assert isinstance(outcomes[2].error, RuntimeError)
        assert outcomes[3].receipt is not None and outcomes[3].receipt.first == outcomes[0].receipt.last + 1  # type: ignore[union-attr]
        # A later retry of the same bytes gets the same receipt again; the failed one can be sent again.
        assert service.submit(signed) == outcomes[0].receipt
        assert service.submit(later).outcome == "accepted"
    with open_reader(store) as reader:
        assert len(reader.transactions()) == transactions_before + 3  # AUD-3 once, AUD-5, AUD-4 sent again
    assert verify_ledger(store).ok


def test_two_commands_stored_as_one_signed_transaction_are_refused_by_verify(store) -> None:  # type: ignore[no-untyped-def]
    """The insider test: a batch keeps each command its own signed transaction, and verify holds it to that."""
    ledger = new_ledger(store)
    signed = [_register(ledger, "AUD-6"), _register(ledger, "AUD-7")]
    with LedgerService(store) as service:
        events = [e for s in signed for e in service.processor.preview(s)]
    with Insider(store) as insider:
        with open_reader(store) as reader:
            first = reader.size() + 1
        mapper = insider.app.mapper
        insider.app.save_transactions([[mapper.to_stored_event(e) for e in events]])  # one signature for both
    refused_at(store, first + len(events) // 2, "rules produce")


@pytest.fixture
def served_ledger(store):  # type: ignore[no-untyped-def]
    from tests.api_helpers import Server
    from tests.conftest import PG_URL

    ledger = new_ledger(store)
    server = Server(store.home, f"{PG_URL}?schema={store.schema}" if store.kind == "postgres" else None)
    try:
        yield ledger, server
    finally:
        server.stop()


def test_concurrent_submissions_over_http_land_once_each_and_verify(served_ledger) -> None:  # type: ignore[no-untyped-def]
    ledger, server = served_ledger
    twice = _register(ledger, "AUD-T")
    others = [_register(ledger, f"AUD-C{i}") for i in range(6)]
    bodies = [submission_bytes(s) for s in (twice, twice, *others)]
    answers: list[Any] = [None] * len(bodies)
    barrier = threading.Barrier(len(bodies))

    def send(index: int) -> None:
        barrier.wait()
        answers[index] = httpx.post(f"{server.url}/api/v1/commands", content=bodies[index],
                                    headers={"content-type": "application/json"}, timeout=120)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    # The same bytes sent twice at once: one acceptance, the first receipt again for the other.
    assert sorted(a.status_code for a in answers[:2]) == [200, 201]
    assert answers[0].json() == answers[1].json()
    assert all(a.status_code == 201 for a in answers[2:])
    spans = sorted((a.json()["first"], a.json()["last"]) for a in answers[1:])
    assert all(after[0] == before[1] + 1 for before, after in zip(spans, spans[1:]))
    report = verify_ledger(ledger.store)
    assert report.ok, report.problems


def test_a_writer_sees_what_another_writer_appended_to_an_aggregate_it_holds_in_its_cache(store) -> None:  # type: ignore[no-untyped-def]
    """Two processors on one store (two server workers): the first holds an actor in its cache,
    the second rotates that actor's key, the first writes something else, then a command signed
    with the new key reaches the first: it is decided on the actor as the store holds it."""
    ledger = new_ledger(store)
    ledger.register("AUD-K", "auditor")

    def rotate(new: Signer) -> Any:
        signed = ledger.sign("AUD-K", "actor.rotate_key", {"public_key": public_key_b64(new.public_key),
                                                            "reason": "轮换"})
        ledger.keys["AUD-K"] = new
        return signed

    with LedgerService(store) as first, LedgerService(store) as second:
        assert first.submit(rotate(Signer.generate())).outcome == "accepted"  # the first caches AUD-K
        assert second.submit(rotate(Signer.generate())).outcome == "accepted"
        assert first.submit(_register(ledger, "AUD-L")).outcome == "accepted"  # AUD-K not read here
        assert first.submit(rotate(Signer.generate())).outcome == "accepted"
    report = verify_ledger(store)
    assert report.ok, report.problems
