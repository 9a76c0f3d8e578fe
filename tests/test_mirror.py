"""`drledger mirror`: an auditor's copy of a served ledger (real uvicorn on loopback), kept verified.

The copy holds the server's rows byte for byte, follows the server while it
takes writes, and refuses (keeping the copy as it was) whatever does not
chain onto it or fails verification: altered bytes, a forger's re-chained
rows, an insider's forbidden event signed with the ledger key.
"""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import msgspec
import pytest
import uvicorn

from ledger.api.app import create_app
from ledger.domain.directory import Entity
from ledger.integrity.chain import event_hash
from ledger.integrity.keys import Signer, write_key_file
from ledger.services.checkpoints import publish_checkpoint
from ledger.services.mirror import MirrorRefused, mirror
from ledger.store.config import StoreConfig, resolve_store
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger
from tests.cli_helpers import run
from tests.conftest import PG_URL
from tests.insider import Insider
from tests.ledger_helpers import Raw, entity_rows, ledger_with_entities


@contextmanager
def serve(config: StoreConfig) -> Iterator[str]:
    """The app on a real uvicorn server on a free loopback port, in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server did not start")
        threading.Event().wait(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def snapshot(config: StoreConfig) -> tuple[Any, ...]:
    """Every stored row that the mirror writes, exactly."""
    with open_reader(config) as reader:
        rows = [tuple(r) for r in reader.rows(1, reader.size())]
        tree = reader._all("SELECT level, idx, hash FROM ledger_tree ORDER BY level, idx".replace(
            "ledger_tree", reader.dialect.table("ledger_tree")))
        checkpoints = reader._all(f"SELECT size, note FROM {reader.dialect.table('ledger_checkpoints')} ORDER BY size")
        return rows, reader.transactions(), [tuple(bytes(x) if isinstance(x, memoryview) else x for x in t) for t in tree], \
            [tuple(c) for c in checkpoints]


def same_rows(server: StoreConfig, copy: StoreConfig) -> None:
    s_rows, s_tx, s_tree, _ = snapshot(server)
    c_rows, c_tx, c_tree, _ = snapshot(copy)
    assert c_rows == s_rows[:len(c_rows)] and c_tx == s_tx[:len(c_tx)]
    assert c_rows == s_rows and c_tx == s_tx and c_tree == s_tree


@pytest.fixture
def served(store: StoreConfig, tmp_path: Path):  # type: ignore[no-untyped-def]
    ledger = ledger_with_entities(store, 10)
    auditor = ledger.register("AUD-1", "auditor")
    key_file = tmp_path / "auditor" / "AUD-1.pem"
    write_key_file(key_file, auditor, None)
    publish_checkpoint(store)
    with serve(store) as url:
        yield ledger, url, auditor, key_file


@pytest.mark.parametrize("store", ["postgres"], indirect=True)  # the others serve from SQLite
def test_a_mirror_stays_verified_while_the_server_takes_writes(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, url, auditor, key_file = served
    home = tmp_path / "copy"
    first = run("mirror", "--server", url, "--as", "AUD-1", "--key", str(key_file), home=home)
    assert first.returncode == 0, first.stderr
    assert "verified (the whole copy)" in first.stdout and "appended positions 1-" in first.stderr
    copy = resolve_store(None, home)
    same_rows(ledger.store, copy)

    done = threading.Event()
    failures: list[BaseException] = []

    def writes() -> None:
        try:
            for batch in range(3):
                ledger.import_rows("admin", "entities", entity_rows(3, start=100 + 3 * batch))
                ledger.register(f"AUD-{batch + 2}", "auditor")
                publish_checkpoint(ledger.store)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            failures.append(error)
        finally:
            done.set()

    writer = threading.Thread(target=writes)
    writer.start()
    pulls = []
    while not done.is_set() or not pulls:
        pulls.append(mirror(copy, url, "AUD-1", auditor, page_events=5))
        assert pulls[-1].verified
    writer.join()
    assert not failures, failures
    last = mirror(copy, url, "AUD-1", auditor)
    same_rows(ledger.store, copy)
    again = mirror(copy, url, "AUD-1", auditor)
    assert (again.before, again.size, again.transactions) == (last.size, last.size, 0)  # only what is new
    assert again.checkpoint == last.size
    assert all(p.verified_from == p.before for p in pulls[1:]), "every pull after the first resumes from the last"
    report = verify_ledger(copy)
    assert report.ok and report.checks["checkpoints"] >= 1, report.problems


class Tamper(httpx.BaseTransport):
    """A man in the middle (or a lying server): rewrites the ledger feed's JSON."""

    def __init__(self, change: Any, page: int = 1) -> None:
        self.inner, self.change, self.page, self.seen = httpx.HTTPTransport(), change, page, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.inner.handle_request(request)
        if request.url.path != "/api/v1/feeds/ledger":
            return answer
        page = msgspec.json.decode(answer.read())
        if page["transactions"]:
            self.seen += 1
            if self.seen == self.page:
                self.change(page)
        headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in ("content-length", "content-encoding")]
        return httpx.Response(answer.status_code, headers=headers, content=msgspec.json.encode(page))


def _flip_state(page: dict[str, Any]) -> None:
    event = page["transactions"][-1]["events"][-1]
    state = bytearray(base64.b64decode(event["state"]))
    state[len(state) // 2] ^= 1
    event["state"] = base64.b64encode(bytes(state)).decode()


def _rechain(page: dict[str, Any]) -> None:
    """A careful forger: alter a payload and recompute every hash after it (no ledger key)."""
    events = [e for tx in page["transactions"] for e in tx["events"]]
    target = events[-1]
    state = bytearray(base64.b64decode(target["state"]))
    state[len(state) // 2] ^= 1
    target["state"] = base64.b64encode(bytes(state)).decode()
    prev = base64.b64decode(events[-2]["hash"]) if len(events) > 1 else None
    if prev is None:
        raise AssertionError("the page needs two events")
    target["hash"] = base64.b64encode(event_hash(prev, target["position"], UUID(target["originator_id"]),
                                                 target["originator_version"], target["topic"],
                                                 base64.b64decode(target["state"]))).decode()


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_tampered_or_forbidden_pull_is_refused_and_the_copy_kept(served, tmp_path: Path, pg_schema: str) -> None:  # type: ignore[no-untyped-def]
    ledger, url, auditor, _ = served
    copy = resolve_store(f"{PG_URL}?schema={pg_schema}", tmp_path / "copy")  # the copy on PostgreSQL
    mirror(copy, url, "AUD-1", auditor)
    kept = snapshot(copy)
    ledger.import_rows("admin", "entities", entity_rows(4, start=50, risk_class="B"))
    ledger.import_rows("admin", "entities", entity_rows(2, start=60, risk_class="B"))  # a second page
    for change, page, why in ((_flip_state, 1, "hash does not match"), (_rechain, 1, "ledger signature does not verify"),
                              (_flip_state, 2, "hash does not match")):  # page 1 was appended, then dropped
        with pytest.raises(MirrorRefused, match=why):
            mirror(copy, url, "AUD-1", auditor, page_events=2, http=httpx.Client(transport=Tamper(change, page)))
        assert snapshot(copy) == kept

    # An insider with the ledger key appends an event no command caused: it chains and is
    # signed, so only the re-execution in verify catches it, and the copy goes back as it was.
    uscc = entity_rows(1)[0].uscc
    with Insider(ledger.store) as insider:
        def build() -> list[Any]:
            entity = insider.find(Entity.id_for(uscc))
            entity.reclassify(uscc=uscc, risk_class="A", previous="B", reason="friend", cause=None, actor="admin")
            return [entity]

        insider.append(build)
    said: list[str] = []
    with pytest.raises(MirrorRefused, match="fail verification"):
        mirror(copy, url, "AUD-1", auditor, on_progress=said.append)
    assert any(line.startswith("verifying positions") for line in said), said  # found by the incremental verify
    assert snapshot(copy) == kept
    assert verify_ledger(copy).ok


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_rows_of_another_ledger_do_not_chain_onto_the_copy(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, url, auditor, key_file = served
    copy = resolve_store(None, tmp_path / "copy")
    mirror(copy, url, "AUD-1", auditor)
    kept = snapshot(copy)
    # The same origin and the same shape of transactions, but another history (other keys, times).
    other = ledger_with_entities(resolve_store(None, tmp_path / "other"), 10)
    other_auditor = other.register("AUD-1", "auditor")
    other.import_rows("admin", "entities", entity_rows(2, start=10))
    with serve(other.store) as other_url:
        with pytest.raises(MirrorRefused, match="do not chain onto this copy"):
            mirror(copy, other_url, "AUD-1", other_auditor)
    assert snapshot(copy) == kept
    wrong = tmp_path / "wrong.pem"
    write_key_file(wrong, Signer.generate(), None)
    refused = run("mirror", "--server", url, "--as", "AUD-1", "--key", str(wrong), home=tmp_path / "copy3")
    assert refused.returncode == 1 and "401" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_second_pull_checks_only_the_new_transactions(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, url, auditor, _ = served
    copy = resolve_store(None, tmp_path / "copy")
    first = mirror(copy, url, "AUD-1", auditor)
    with open_reader(copy) as reader:
        commands = len(reader.transactions())  # here every transaction is an accepted command
    assert (first.verified_from, first.signatures, first.reexecuted) == (0, commands, commands)

    ledger.import_rows("admin", "entities", entity_rows(2, start=40))
    ledger.register("AUD-2", "auditor")
    second = mirror(copy, url, "AUD-1", auditor)
    assert (second.verified_from, second.transactions, second.signatures, second.reexecuted) == (first.size, 2, 2, 2)
    third = mirror(copy, url, "AUD-1", auditor)
    assert (third.verified_from, third.transactions, third.signatures, third.reexecuted) == (second.size, 0, 0, 0)
    assert verify_ledger(copy).checks["commands_reexecuted"] == commands + 2  # a full verify: everything again


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_below_the_verified_position_a_pull_recomputes_hashes_and_a_full_verify_checks_the_rest(  # type: ignore[no-untyped-def]
        served, tmp_path: Path) -> None:
    ledger, url, auditor, _ = served
    copy = resolve_store(None, tmp_path / "copy")
    mirror(copy, url, "AUD-1", auditor)
    raw = Raw(copy)
    try:
        # A ledger signature below the verified position: the pull does not check it again...
        first, last = raw.sql(f"SELECT first_seq, last_seq FROM {raw.txs} ORDER BY last_seq LIMIT 1")[0]
        raw.sql(f"UPDATE {raw.txs} SET signature = ? WHERE last_seq = ?", bytes(64), last)
        ledger.register("AUD-2", "auditor")
        assert mirror(copy, url, "AUD-1", auditor).verified
        # ... a full verify does.
        assert [p.what for p in verify_ledger(copy).problems] == [
            f"positions {first}-{last}: the ledger signature does not verify"]

        # An event's bytes below it: every hash is recomputed, so the pull refuses.
        state = bytearray(raw.event_at(2)[4])
        state[len(state) // 2] ^= 1
        raw.set_event(2, state=bytes(state))
        ledger.register("AUD-3", "auditor")
        with pytest.raises(MirrorRefused, match="position 2: hash does not match"):
            mirror(copy, url, "AUD-1", auditor)
    finally:
        raw.close()
