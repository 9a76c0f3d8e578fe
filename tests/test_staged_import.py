"""Staged imports on both stores: chunks pending, one signed commit, all or nothing, re-checked by verify."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from ledger.domain.directory import DirectoryImport, Entity, keyed_rows, ordered_root
from ledger.domain.staging import StagedChunk, StagedImport
from ledger.services.directory import import_rows
from ledger.services.processor import CommandRefused
from ledger.services.staging import import_staged, sign_commit, staged_rows_source
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger
from tests.insider import Insider, command_event, refused_at
from tests.ledger_helpers import DEPARTMENT, TestLedger, entity_rows, new_ledger

LM = "lm-XY-SCJG"


def _ledger(store: StoreConfig) -> TestLedger:
    ledger = new_ledger(store)
    ledger.import_rows("admin", "departments", [DEPARTMENT])
    ledger.register(LM, "list_manager", department="XY-SCJG")
    return ledger


def _stage(ledger: TestLedger, staging: str, rows: list[Any], index: int, **body: Any) -> None:
    """Stage one chunk as the list manager."""
    with ledger.service() as service:
        service.submit(ledger.sign(LM, "directory.stage", {
            "accept_bad_check": False, "index": index, "kind": "entities", "rows": len(rows),
            "rows_root": ordered_root(keyed_rows("entities", rows)[1]), "staging": staging, **body}), rows)


def _size(store: StoreConfig) -> int:
    with open_reader(store) as reader:
        return reader.size()


def _nonce(signed: Any) -> str:
    return str(msgspec.json.decode(signed.command)["nonce"])


def test_staged_import_writes_each_row_as_its_own_event_and_verifies(store: StoreConfig) -> None:
    ledger = _ledger(store)
    rows = entity_rows(25)
    summary = ledger.import_rows(LM, "entities", rows, chunk_rows=10)  # three chunks, then the commit
    assert summary.written and summary.new == 25 and summary.events == 25 + 3  # command, staging, rows, record
    with ledger.service() as service:
        assert all(service.processor.app.find(Entity.id_for(r.uscc)) is not None for r in rows)
        staging = service.processor.app.find(StagedImport.id_for(LM, _staging_of(store)))
        assert staging.committed and staging.counts == (10, 10, 5)
    report = verify_ledger(store)
    assert report.ok, report.problems


def _staging_of(store: StoreConfig) -> str:
    with open_reader(store) as reader:
        for row in reader.rows(1, reader.size()):
            if row.topic == "drledger/staging/Opened":
                return str(msgspec.json.decode(row.state)["staging"])
    raise AssertionError("no staging")


def test_a_staging_never_committed_changes_nothing(store: StoreConfig) -> None:
    ledger = _ledger(store)
    rows = entity_rows(6)
    _stage(ledger, "s1", rows[:3], 0)
    _stage(ledger, "s1", rows[3:], 1)
    with ledger.service() as service:
        assert all(service.processor.app.find(Entity.id_for(r.uscc)) is None for r in rows)
        assert not service.processor.app.find(StagedImport.id_for(LM, "s1")).committed  # visible, pending
    assert verify_ledger(store).ok
    # The same rows imported later, directly: the abandoned staging is harmless.
    assert ledger.import_rows(LM, "entities", rows).new == 6
    assert verify_ledger(store).ok


def test_chunks_out_of_order_or_overlapping_are_refused(store: StoreConfig) -> None:
    ledger = _ledger(store)
    rows = sorted(entity_rows(6), key=lambda r: r.uscc)
    _stage(ledger, "s1", rows[3:], 0)
    with pytest.raises(CommandRefused) as refused:
        _stage(ledger, "s1", rows[:3], 1)  # keys before chunk 0's: would let a key repeat
    assert refused.value.code == "staging_order"
    with pytest.raises(CommandRefused) as refused:
        _stage(ledger, "s1", rows[:3], 2)
    assert refused.value.code == "staging_order"
    with pytest.raises(CommandRefused) as refused:
        _stage(ledger, "s1", rows[:3], 0)
    assert refused.value.code == "staging_exists"
    assert verify_ledger(store).ok


def test_commit_is_by_the_staging_actor_and_only_once(store: StoreConfig) -> None:
    ledger = _ledger(store)
    rows = entity_rows(4)
    ordered = keyed_rows("entities", rows)[1]
    _stage(ledger, "s1", ordered, 0)
    other = "lm-2"
    ledger.register(other, "list_manager", department="XY-SCJG")
    commit = sign_commit(ledger.keys[other], other, "entities", "s1", ordered, [ordered_root(ordered)],
                         file_name="f.csv", file_sha256="0" * 64)
    with ledger.service() as service, pytest.raises(CommandRefused) as refused:
        service.submit(commit, None, staged_rows_source(service))
    assert refused.value.code == "unknown_staging"  # a staging is its owner's
    commit = sign_commit(ledger.keys[LM], LM, "entities", "s1", ordered, [ordered_root(ordered)],
                         file_name="f.csv", file_sha256="0" * 64)
    with ledger.service() as service:
        service.submit(commit, None, staged_rows_source(service))
    again = sign_commit(ledger.keys[LM], LM, "entities", "s1", ordered, [ordered_root(ordered)],
                        file_name="f.csv", file_sha256="0" * 64)
    with ledger.service() as service, pytest.raises(CommandRefused) as refused:
        service.submit(again, None, staged_rows_source(service))
    assert refused.value.code == "staging_closed"
    assert verify_ledger(store).ok


def test_commit_naming_other_chunk_roots_is_refused(store: StoreConfig) -> None:
    ledger = _ledger(store)
    rows = entity_rows(4)
    ordered = keyed_rows("entities", rows)[1]
    _stage(ledger, "s1", ordered, 0)
    commit = sign_commit(ledger.keys[LM], LM, "entities", "s1", ordered[:3], [ordered_root(ordered[:3])],
                         file_name="f.csv", file_sha256="0" * 64)
    with ledger.service() as service, pytest.raises(CommandRefused) as refused:
        service.submit(commit, None, staged_rows_source(service))
    assert refused.value.code == "staging_mismatch"
    assert verify_ledger(store).ok


# ---------------------------------------------------------------------------
# Insider forgeries (ledger key and database, no list manager key): verify refuses them.


def test_insider_commit_whose_rows_differ_from_the_staged_chunks(store: StoreConfig) -> None:
    """A genuine signed commit written with a row the chunks did not hold."""
    ledger = _ledger(store)
    ordered = keyed_rows("entities", entity_rows(3))[1]
    _stage(ledger, "s1", ordered, 0)
    commit = sign_commit(ledger.keys[LM], LM, "entities", "s1", ordered, [ordered_root(ordered)],
                         file_name="f.csv", file_sha256="0" * 64)
    forged = [*ordered[:2], msgspec.structs.replace(ordered[2], risk_class="A")]
    with Insider(store) as insider:
        def build() -> list[Any]:
            staging = insider.find(StagedImport.id_for(LM, "s1"))
            staging.trigger_event(StagedImport.Committed, actor=LM, rows=3, rows_root=ordered_root(ordered))
            record = DirectoryImport._create(
                DirectoryImport.Recorded, id=DirectoryImport.id_for(LM, _nonce(commit)), actor=LM, kind="entities",
                file_name="f.csv", file_sha256="0" * 64, rows_root=ordered_root(ordered), rows=3, new=3, changed=0,
                unchanged=(), flagged=())
            return [command_event(commit, LM, "directory.commit_staged", _nonce(commit)), staging,
                    *(Entity.register(r, LM) for r in forged), record]

        at = insider.append(build, at=insider.head_time())
    refused_at(store, at, "directory.commit_staged", "differ from staged chunk 0")


def test_insider_altered_chunk(store: StoreConfig) -> None:
    """A genuine signed chunk written with other rows than it signs."""
    ledger = _ledger(store)
    ordered = keyed_rows("entities", entity_rows(3))[1]
    signed = ledger.sign(LM, "directory.stage", {"accept_bad_check": False, "index": 0, "kind": "entities",
                                                 "rows": 3, "rows_root": ordered_root(ordered), "staging": "s1"})
    altered = [*ordered[:2], msgspec.structs.replace(ordered[2], name="别的企业")]
    with Insider(store) as insider:
        def build() -> list[Any]:
            staging = StagedImport._create(StagedImport.Opened, id=StagedImport.id_for(LM, "s1"), actor=LM,
                                           staging="s1", kind="entities", accept_bad_check=False)
            staging.trigger_event(StagedImport.ChunkStaged, actor=LM, index=0, rows=3,
                                  rows_root=ordered_root(ordered), first_key=ordered[0].uscc,
                                  last_key=ordered[-1].uscc)
            chunk = StagedChunk._create(StagedChunk.Staged, id=StagedChunk.id_for(LM, "s1", 0), actor=LM,
                                        staging="s1", index=0, rows=altered)
            return [command_event(signed, LM, "directory.stage", _nonce(signed)), staging, chunk]

        at = insider.append(build, at=insider.head_time())
    refused_at(store, at, "directory.stage", "rows differ from the rows_root")


def test_insider_chunk_without_a_command(store: StoreConfig) -> None:
    _ledger(store)
    ordered = keyed_rows("entities", entity_rows(2))[1]
    with Insider(store) as insider:
        at = insider.append(lambda: [StagedChunk._create(StagedChunk.Staged, id=StagedChunk.id_for(LM, "s", 0),
                                                         actor=LM, staging="s", index=0, rows=ordered)])
    refused_at(store, at, "without a command")


def test_import_staged_over_the_service_returns_the_commit_receipt(store: StoreConfig) -> None:
    ledger = _ledger(store)
    rows = entity_rows(7)
    before = _size(store)
    with ledger.service() as service:
        commit, receipt = import_staged(service, ledger.keys[LM], LM, "entities", rows, file_name="f.csv",
                                        file_sha256="0" * 64, chunk_rows=3)
    assert receipt.last == _size(store) and receipt.first > before + 3 * 3  # three chunk transactions first
    with ledger.service() as service:
        assert import_rows(service, ledger.keys[LM], LM, "entities", rows, confirm_change=True).unchanged == 7
    assert verify_ledger(store).ok


def test_over_http_chunks_pass_a_body_limit_the_whole_file_does_not(tmp_path: Any) -> None:
    """A real `drledger serve`: each chunk is one request under DRLEDGER_MAX_BODY, then the commit."""
    from ledger.services.remote import RemoteError, RemoteLedger, use_identity, use_server
    from ledger.store.config import resolve_store
    from tests.api_helpers import Server

    store = resolve_store(None, tmp_path / "home")
    ledger = _ledger(store)
    rows = entity_rows(200)  # about 38 KB of rows as JSON
    server = Server(store.home, env={"DRLEDGER_MAX_BODY": "30000"})
    try:
        use_server(server.url)
        use_identity(ledger.keys[LM], LM)
        with RemoteLedger(server.url) as remote:
            with pytest.raises(RemoteError, match="larger than this server accepts"):
                import_rows(remote, ledger.keys[LM], LM, "entities", rows)
            summary = import_rows(remote, ledger.keys[LM], LM, "entities", rows, chunk_rows=80)
        assert summary.written and summary.new == 200
    finally:
        use_server(None)
        server.stop()
    assert verify_ledger(store).ok


def test_the_cli_stages_a_file_over_chunk_rows(tmp_path: Any) -> None:
    from ledger.demo.city import generate_city, to_csv
    from ledger.store.config import resolve_store
    from tests.cli_helpers import run

    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    (tmp_path / "d.csv").write_bytes(to_csv(generate_city(1, small=True).departments, "departments"))
    (tmp_path / "e.csv").write_bytes(to_csv(entity_rows(30), "entities"))
    assert run("import", "departments", str(tmp_path / "d.csv"), "--as", "admin", home=home).returncode == 0
    done = run("import", "entities", str(tmp_path / "e.csv"), "--as", "admin", "--chunk-rows", "12", home=home)
    assert done.returncode == 0 and "30 new" in done.stdout, done.stderr
    store = resolve_store(None, home)
    with open_reader(store) as reader:
        topics = [row.topic for row in reader.rows(1, reader.size())]
    assert topics.count("drledger/staged-chunk/Staged") == 3 and topics.count("drledger/staging/Committed") == 1
    assert verify_ledger(store).ok


def test_a_chunk_of_another_departments_rows_is_refused(store: StoreConfig) -> None:
    ledger = _ledger(store)
    ledger.import_rows("admin", "departments", [msgspec.structs.replace(DEPARTMENT, code="XY-WSJK", name="卫健委")])
    rows = [msgspec.structs.replace(r, departments=("XY-WSJK",)) for r in entity_rows(2)]
    with pytest.raises(CommandRefused) as refused:
        _stage(ledger, "s1", rows, 0)
    assert refused.value.code == "out_of_jurisdiction"
    assert verify_ledger(store).ok
