"""An auditor's `drledger verify` on a copy the operator handed over (docs/auditors.md).

The operator is the adversary: the copy is verified read-only (not one byte
written, SQLite opened immutable).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from ledger.integrity.keys import Signer, public_key_b64, write_key_file
from ledger.integrity.note import Ed25519Signer, format_checkpoint, sign_note
from ledger.services.checkpoints import key_schedule, log_verifier, publish_checkpoint
from ledger.services.setup import load_ledger_signer
from ledger.services.witnesses import add_witness, push_all, remove_witness
from ledger.store.config import StoreConfig, resolve_store
from ledger.store.connection import StoreUnavailable, connect
from ledger.store.log_reader import LogReader
from ledger.store.reader import open_reader
from tests.cli_helpers import assert_clear_failure, run
from tests.ledger_helpers import Raw, TestLedger, entity_rows, ledger_with_entities, new_ledger
from tests.witness_server import SpecWitness

# The real CLI in a subprocess, with an audit hook that logs every SQLite open
# (Python raises `sqlite3.connect` with the database name or URI).
AUDITED_CLI = (
    "import sys\n"
    "log = open(sys.argv[1], 'a', encoding='utf-8')\n"
    "sys.addaudithook(lambda event, args: event == 'sqlite3.connect' and print(args[0], file=log, flush=True))\n"
    "sys.argv = ['drledger', *sys.argv[2:]]\n"
    "from ledger.cli.main import main\n"
    "main()\n"
)


def run_audited(tmp_path: Path, *args: str, home: Path) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run `drledger ARGS`; also return every SQLite database name or URI it opened."""
    opened = tmp_path / "sqlite-opens.log"
    opened.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRLEDGER_")}
    env["DRLEDGER_HOME"] = str(home)
    result = subprocess.run([sys.executable, "-c", AUDITED_CLI, str(opened), *args], capture_output=True,
                            text=True, env=env, timeout=120)
    return result, opened.read_text(encoding="utf-8").splitlines() if opened.exists() else []


def operator_ledger(tmp_path: Path) -> StoreConfig:
    """A small ledger (genesis, a department, entities) with a published checkpoint."""
    store = resolve_store(None, tmp_path / "operator")
    ledger_with_entities(store, 3)
    publish_checkpoint(store)
    return store


def auditor_copy(store: StoreConfig, folder: Path) -> Path:
    """The copy an auditor receives, made with SQLite's backup API (docs/auditors.md)."""
    assert store.sqlite_path is not None
    folder.mkdir(parents=True)
    target = folder / "ledger.sqlite"
    with closing(sqlite3.connect(store.sqlite_path)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    assert sorted(os.listdir(folder)) == ["ledger.sqlite"]
    return target


def snapshot(folder: Path) -> dict[str, tuple[str, int, int, int]]:
    """Every file in the folder: content hash, size, mtime, mode."""
    out = {}
    for entry in sorted(folder.iterdir()):
        info = entry.stat()
        out[entry.name] = (hashlib.sha256(entry.read_bytes()).hexdigest(), info.st_size, info.st_mtime_ns, info.st_mode)
    return out


def make_read_only(folder: Path) -> None:
    for entry in folder.iterdir():
        entry.chmod(0o444)
    folder.chmod(0o555)


@pytest.fixture
def restore_modes(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Give write permission back at the end, so tmp_path can be removed (as any user)."""
    yield
    for path in tmp_path.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)


def assert_immutable_opens(opens: list[str], target: Path) -> None:
    assert opens, "the CLI opened no SQLite file"
    for uri in opens:
        assert uri.startswith("file:") and uri.endswith("?mode=ro&immutable=1"), uri
        assert target.name in uri, uri


# -- 1. read-only copies ------------------------------------------------------------


def test_verify_opens_a_read_only_copy_immutable_and_writes_nothing(tmp_path: Path, restore_modes: None) -> None:
    store = operator_ledger(tmp_path)
    copy = auditor_copy(store, tmp_path / "audit")
    make_read_only(copy.parent)
    before = snapshot(copy.parent)
    result, opens = run_audited(tmp_path, "verify", "--store", f"sqlite:///{copy}", home=store.home)
    assert result.returncode == 0, result.stderr
    assert "ok: " in result.stdout and "read-only:" in result.stdout and "nothing was written" in result.stdout
    assert_immutable_opens(opens, copy)
    assert snapshot(copy.parent) == before  # no -wal, -shm or journal; the file untouched


def test_read_only_flag_on_a_writable_copy(tmp_path: Path) -> None:
    store = operator_ledger(tmp_path)
    copy = auditor_copy(store, tmp_path / "audit")
    before = snapshot(copy.parent)
    result, opens = run_audited(tmp_path, "verify", "--read-only", "--json", "--store", f"sqlite:///{copy}",
                                home=store.home)
    assert result.returncode == 0, result.stderr
    assert '"ok":true' in result.stdout and '"read_only":true' in result.stdout
    assert_immutable_opens(opens, copy)
    assert snapshot(copy.parent) == before


def test_a_tampered_read_only_copy_fails_and_stays_untouched(tmp_path: Path, restore_modes: None) -> None:
    store = operator_ledger(tmp_path)
    copy = auditor_copy(store, tmp_path / "audit")
    raw = Raw(resolve_store(f"sqlite:///{copy}", store.home))
    try:
        _, _, _, _, state = raw.event_at(5)
        raw.set_event(5, state=state.replace(b"XY-SCJG", b"XY-SCJX"))
    finally:
        raw.close()
    assert sorted(os.listdir(copy.parent)) == ["ledger.sqlite"]
    make_read_only(copy.parent)
    before = snapshot(copy.parent)
    result, opens = run_audited(tmp_path, "verify", "--store", f"sqlite:///{copy}", home=store.home)
    assert result.returncode == 1, result
    assert "FAILED at position 5" in result.stderr
    assert_immutable_opens(opens, copy)
    assert snapshot(copy.parent) == before


def test_a_copy_with_unmerged_wal_is_refused_read_only(tmp_path: Path) -> None:
    """Immutable reads skip the -wal file: a hot copy would be half-read, so it is refused."""
    store = operator_ledger(tmp_path)
    copy = auditor_copy(store, tmp_path / "audit")
    with closing(sqlite3.connect(copy, isolation_level=None)) as writer:
        assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("CREATE TABLE scratch (x)")
        assert (copy.parent / "ledger.sqlite-wal").stat().st_size > 0
        result = run("verify", "--read-only", "--store", f"sqlite:///{copy}", home=store.home)
        assert_clear_failure(result, "ledger.sqlite-wal", "read-only")


def test_a_read_only_store_refuses_every_write(store: StoreConfig) -> None:
    new_ledger(store)
    read_only = store.as_read_only()
    with pytest.raises(StoreUnavailable, match="read-only"):
        connect(read_only, "write")
    connection, dialect, _ = connect(read_only, "read")
    try:
        with pytest.raises(Exception, match="read-only|readonly"):
            connection.cursor().execute(f"DELETE FROM {dialect.table('ledger_checkpoints')}")
    finally:
        connection.close()


# -- 2. the pinned ledger key ---------------------------------------------------------


def genesis_key_b64(store: StoreConfig) -> str:
    return json.loads((store.home / "trust.json").read_text(encoding="utf-8"))["ledger_key"]


LOCAL_BEACON = "LOCAL TEST beacon"  # the test ledgers pin the demo's local beacon: verify always says so


def warnings_in(stderr: str) -> list[str]:
    """The warnings on stderr, but the local test beacon's."""
    return [line for line in stderr.splitlines() if line.startswith("drledger: WARNING:") and LOCAL_BEACON not in line]


def key_warnings(warnings: list[str]) -> list[str]:
    return [w for w in warnings if LOCAL_BEACON not in w]


def test_verify_warns_loudly_when_no_ledger_key_is_pinned(tmp_path: Path) -> None:
    store = operator_ledger(tmp_path)
    copy = auditor_copy(store, tmp_path / "audit")
    auditor_home = tmp_path / "auditor"  # no trust.json: nothing pinned
    at = ("--store", f"sqlite:///{copy}")
    unpinned = run("verify", *at, home=auditor_home)
    assert unpinned.returncode == 0, unpinned.stderr
    assert LOCAL_BEACON in unpinned.stderr  # and the ledger's local test beacon is named too
    [warning] = warnings_in(unpinned.stderr)
    assert "no trusted ledger key is pinned" in warning and "taken from the ledger itself" in warning
    assert "--ledger-key" in warning
    report = json.loads(run("verify", "--json", *at, home=auditor_home).stdout)
    assert report["ok"] is True and report["ledger_key_pinned"] is False and report["ledger_key_source"] == "ledger"
    assert report["trusted_key"] is None and len(key_warnings(report["warnings"])) == 1
    assert_clear_failure(run("verify", "--require-pinned-key", *at, home=auditor_home), "no trusted ledger key is pinned")
    assert run("verify", "--require-pinned-key", *at, home=auditor_home).returncode == 1
    # Pinned on the command line: no warning, and --require-pinned-key passes.
    key = genesis_key_b64(store)
    pinned = run("verify", "--require-pinned-key", "--ledger-key", key, *at, home=auditor_home)
    assert pinned.returncode == 0 and warnings_in(pinned.stderr) == [], pinned.stderr
    assert "(pinned by --ledger-key)" in pinned.stdout
    report = json.loads(run("verify", "--json", "--ledger-key", key, *at, home=auditor_home).stdout)
    assert report["ledger_key_pinned"] is True and report["ledger_key_source"] == "--ledger-key"
    assert key_warnings(report["warnings"]) == []
    # Pinned by the auditor's own trust.json.
    auditor_home.mkdir()
    (auditor_home / "trust.json").write_text(json.dumps({"ledger_key": key}), encoding="utf-8")
    by_file = run("verify", "--require-pinned-key", *at, home=auditor_home)
    assert by_file.returncode == 0 and warnings_in(by_file.stderr) == [], by_file.stderr
    assert f"(pinned by {auditor_home / 'trust.json'})" in by_file.stdout
    assert_clear_failure(run("verify", "--ledger-key", "not base64!", *at, home=auditor_home), "--ledger-key")


def test_a_ledger_rewritten_under_a_new_key_passes_unpinned_and_fails_pinned(tmp_path: Path) -> None:
    """What the warning says: the operator rebuilds the whole ledger under a fresh ledger key."""
    genuine = operator_ledger(tmp_path)
    forged = resolve_store(None, tmp_path / "rewritten")
    ledger_with_entities(forged, 3)
    at = ("--store", f"sqlite:///{forged.sqlite_path}")
    auditor_home = tmp_path / "auditor"
    unpinned = run("verify", *at, home=auditor_home)
    assert unpinned.returncode == 0 and len(warnings_in(unpinned.stderr)) == 1, unpinned.stderr
    pinned = run("verify", "--ledger-key", genesis_key_b64(genuine), *at, home=auditor_home)
    assert pinned.returncode == 1 and "is not the trusted key" in pinned.stderr, pinned.stderr


# -- 3. saved checkpoints --------------------------------------------------------------


def store_url(store: StoreConfig) -> str | None:
    return None if store.kind == "sqlite" else store.display


def save_checkpoint(store: StoreConfig, path: Path) -> Path:
    """What an auditor keeps: `drledger log checkpoint --publish` output, verbatim."""
    result = run("log", "checkpoint", "--publish", home=store.home, store=store_url(store))
    assert result.returncode == 0, result.stderr
    path.write_text(result.stdout, encoding="utf-8")
    return path


def ledger_signed_note(signer: Signer, origin: str, size: int, root: bytes) -> str:
    """A checkpoint note signed with `signer` for any (size, root): what an insider with the key can make."""
    return sign_note(format_checkpoint(origin, size, root), [Ed25519Signer(origin, signer.private_key)])


def size_and_origin(store: StoreConfig) -> tuple[int, str]:
    with open_reader(store) as reader:
        return reader.size(), key_schedule(reader).origin


def test_saved_checkpoints_must_be_in_the_ledger(store: StoreConfig, tmp_path: Path) -> None:
    ledger = ledger_with_entities(store, 2)
    url = store_url(store)
    first = save_checkpoint(store, tmp_path / "first.checkpoint")
    size1, origin = size_and_origin(store)
    ledger.import_rows("admin", "entities", entity_rows(2, start=10))
    second = save_checkpoint(store, tmp_path / "second.checkpoint")
    size2, _ = size_and_origin(store)
    assert size2 > size1
    ok = run("verify", "--checkpoint", str(first), "--checkpoint", str(second), home=store.home, store=url)
    assert ok.returncode == 0, ok.stderr
    assert f"checkpoint {first}: ok: size {size1} is in the ledger" in ok.stdout
    assert f"checkpoint {second}: ok: size {size2} is in the ledger" in ok.stdout
    report = json.loads(run("verify", "--json", "--checkpoint", str(first), home=store.home, store=url).stdout)
    assert report["ok"] and report["saved_checkpoints"] == [
        {"source": str(first), "size": size1, "ok": True, "what": report["saved_checkpoints"][0]["what"]}]

    def refused(name: str, note: str, *words: str) -> None:
        path = tmp_path / name
        path.write_text(note, encoding="utf-8")
        result = run("verify", "--checkpoint", str(first), "--checkpoint", str(path), home=store.home, store=url)
        assert result.returncode == 1, result
        line = result.stderr.splitlines()[0]
        assert line.startswith(f"FAILED: checkpoint {path}: "), result.stderr
        for word in words:
            assert word in line, line
        report = json.loads(run("verify", "--json", "--checkpoint", str(path), home=store.home, store=url).stdout)
        assert report["ok"] is False and report["saved_checkpoints"][0]["ok"] is False

    ledger_key = load_ledger_signer(store)
    # Insider: the ledger key signs a root this ledger does not hold at that size (a fork shown to someone).
    refused("fork.checkpoint", ledger_signed_note(ledger_key, origin, size1, bytes(range(32))),
            f"root for size {size1}", "does not hold", "fork")
    # ... or a size the ledger no longer reaches (its tail was cut after the checkpoint was given out).
    refused("beyond.checkpoint", ledger_signed_note(ledger_key, origin, size2 + 5, bytes(32)),
            f"size {size2 + 5}", f"ends at {size2}", "tail was removed")
    # Not the ledger key: a forged note proves nothing either way, and says so.
    refused("forged.checkpoint", ledger_signed_note(Signer.generate(), origin, size1, bytes(32)),
            "does not verify with the ledger key in force")
    refused("other-log.checkpoint", ledger_signed_note(ledger_key, "other.example/log", size1, bytes(32)),
            "'other.example/log'", "not of this ledger")
    junk = tmp_path / "junk.checkpoint"
    junk.write_text("hello\n", encoding="utf-8")
    assert_clear_failure(run("verify", "--checkpoint", str(junk), home=store.home, store=url),
                         str(junk), "not a C2SP checkpoint note")


def test_a_checkpoint_catches_a_cut_tail_the_ledger_alone_does_not(store: StoreConfig, tmp_path: Path) -> None:
    """The operator removes the last import, tree, signature and checkpoint included: the ledger
    verifies alone as a shorter ledger; the auditor's saved checkpoint does not."""
    ledger = ledger_with_entities(store, 2)
    size1, _ = size_and_origin(store)
    ledger.import_rows("admin", "entities", entity_rows(2, start=10))
    saved = save_checkpoint(store, tmp_path / "saved.checkpoint")
    size2, _ = size_and_origin(store)
    raw = Raw(store)
    try:
        for seq in range(size1 + 1, size2 + 1):
            nid = raw.event_at(seq)[0]
            raw.sql(f"DELETE FROM {raw.events} WHERE {raw.event_id} = ?", nid)
            raw.sql(f"DELETE FROM {raw.chain} WHERE seq = ?", seq)
        raw.sql(f"DELETE FROM {raw.txs} WHERE last_seq > ?", size1)
        raw.sql(f"DELETE FROM {raw.dialect.table('ledger_checkpoints')} WHERE size > ?", size1)
        raw.rebuild_tree([bytes(h) for (h,) in raw.sql(f"SELECT hash FROM {raw.chain} ORDER BY seq")])
    finally:
        raw.close()
    url = store_url(store)
    alone = run("verify", home=store.home, store=url)
    assert alone.returncode == 0, alone.stderr
    anchored = run("verify", "--checkpoint", str(saved), home=store.home, store=url)
    assert anchored.returncode == 1 and f"checkpoint {saved}" in anchored.stderr, anchored.stderr
    assert f"ends at {size1}: its tail was removed" in anchored.stderr


def test_a_forked_copy_does_not_hold_the_other_branch_checkpoint(tmp_path: Path) -> None:
    """Split view: two copies of one ledger (same key) diverge; each branch's checkpoint fails on the other."""
    a = resolve_store(None, tmp_path / "a")
    honest = ledger_with_entities(a, 2)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    b = resolve_store(None, tmp_path / "b")
    forked = TestLedger(b, dict(honest.keys))
    honest.import_rows("admin", "entities", entity_rows(2, start=10))
    forked.import_rows("admin", "entities", entity_rows(2, start=20))
    assert size_and_origin(a) == size_and_origin(b)
    from_a = save_checkpoint(a, tmp_path / "a.checkpoint")
    from_b = save_checkpoint(b, tmp_path / "b.checkpoint")
    assert run("verify", "--checkpoint", str(from_a), home=a.home).returncode == 0
    result = run("verify", "--checkpoint", str(from_b), home=a.home)
    assert result.returncode == 1 and "does not hold" in result.stderr, result.stderr
    result = run("verify", "--checkpoint", str(from_a), home=b.home)
    assert result.returncode == 1 and "does not hold" in result.stderr, result.stderr


def test_checkpoints_across_a_ledger_key_rotation(tmp_path: Path) -> None:
    """Each checkpoint verifies with the key in force at its size, not with any key the ledger ever had."""
    store = resolve_store(None, tmp_path / "home")
    ledger = ledger_with_entities(store, 2)
    old = save_checkpoint(store, tmp_path / "old-key.checkpoint")
    size1, origin = size_and_origin(store)
    new_key = Signer.generate()
    ledger.submit("admin", "ledger.rotate_key", {"new_key": public_key_b64(new_key.public_key), "reason": "轮换"})
    key_file = store.keys_dir / "ledger.pem"
    key_file.unlink()
    write_key_file(key_file, new_key, None)
    ledger.import_rows("admin", "entities", entity_rows(2, start=10))
    new = save_checkpoint(store, tmp_path / "new-key.checkpoint")
    assert run("verify", "--checkpoint", str(old), "--checkpoint", str(new), home=store.home).returncode == 0
    # The right root at size1, but signed by the key that came later: this ledger's key history says otherwise.
    with open_reader(store) as reader:
        root1 = LogReader(reader).root(size1)
    late = tmp_path / "late.checkpoint"
    late.write_text(ledger_signed_note(new_key, origin, size1, root1), encoding="utf-8")
    result = run("verify", "--checkpoint", str(late), home=store.home)
    assert result.returncode == 1 and f"ledger key {new_key.key_id}" in result.stderr, result.stderr
    assert "key history was rewritten" in result.stderr


# -- 4. witnesses ------------------------------------------------------------------------


def log_key(store: StoreConfig):  # -> Ed25519Verifier
    with open_reader(store) as reader:
        return log_verifier(key_schedule(reader), reader.size())


def test_require_witnesses_counts_valid_cosignatures_of_registered_witnesses(store: StoreConfig) -> None:
    ledger = ledger_with_entities(store, 0)
    url = store_url(store)

    def verify(k: int, *more: str) -> subprocess.CompletedProcess[str]:
        return run("verify", "--require-witnesses", str(k), *more, home=store.home, store=url)

    unpublished = verify(1)
    assert unpublished.returncode == 1, unpublished
    assert "no checkpoint has been published: 0 witness cosignatures, 1 required" in unpublished.stderr
    with SpecWitness("witness.test/w1") as w1, SpecWitness("witness.test/w2") as w2:
        with ledger.service() as service:
            for name, witness in (("w1", w1), ("w2", w2)):
                add_witness(service, ledger.admin, "admin", name=name, vkey=witness.vkey, url=witness.url)
        for witness in (w1, w2):
            witness.trust(log_key(store))
        publish_checkpoint(store)
        assert all(result.ok for result in push_all(store))
    size = size_and_origin(store)[0]
    two = verify(2)
    assert two.returncode == 0, two.stderr
    assert f"witnessed: the latest checkpoint (size {size}) carries 2 valid cosignature(s)" in two.stdout
    assert "(w1, w2), 2 required" in two.stdout
    report = json.loads(verify(2, "--json").stdout)
    assert report["ok"] and report["witnesses"] == {"required": 2, "size": size, "found": 2,
                                                    "witnesses": ["w1", "w2"], "ok": True}
    three = verify(3)
    assert three.returncode == 1
    assert three.stderr.splitlines()[0] == (f"FAILED: not witnessed: the latest checkpoint (size {size}) carries 2"
                                            " valid cosignature(s) from active registered witnesses (w1, w2), 3 required")
    # A removed witness no longer counts (its past cosignature stays checked).
    with ledger.service() as service:
        remove_witness(service, ledger.admin, "admin", name="w2", reason="retired")
    assert verify(1).returncode == 0
    removed = verify(2)
    assert removed.returncode == 1 and "carries 1 valid cosignature(s)" in removed.stderr, removed.stderr
    # A newer checkpoint nobody cosigned: the count is for the latest one.
    publish_checkpoint(store)
    fresh = verify(1)
    assert fresh.returncode == 1 and "carries 0 valid cosignature(s)" in fresh.stderr, fresh.stderr


def test_an_insider_cannot_carry_old_cosignatures_onto_a_new_checkpoint(store: StoreConfig) -> None:
    ledger = ledger_with_entities(store, 0)
    with SpecWitness() as witness:
        with ledger.service() as service:
            add_witness(service, ledger.admin, "admin", name="w1", vkey=witness.vkey, url=witness.url)
        witness.trust(log_key(store))
        publish_checkpoint(store)
        assert push_all(store)[0].ok
    old_size = size_and_origin(store)[0]
    ledger.import_rows("admin", "entities", entity_rows(2))
    publish_checkpoint(store)
    new_size = size_and_origin(store)[0]
    url = store_url(store)
    assert run("verify", "--require-witnesses", "1", home=store.home, store=url).returncode == 1
    # The operator files the witness's line (for the old size) under the new checkpoint.
    raw = Raw(store)
    try:
        table = raw.dialect.table("ledger_cosignatures")
        [(line,)] = raw.sql(f"SELECT line FROM {table} WHERE size = ?", old_size)
        raw.sql(f"INSERT INTO {table} (size, witness, line, received_at) VALUES (?, ?, ?, ?)",
                new_size, "w1", line, "2026-01-01T00:00:00Z")
    finally:
        raw.close()
    moved = run("verify", "--require-witnesses", "1", "--json", home=store.home, store=url)
    assert moved.returncode == 1
    report = json.loads(moved.stdout)
    assert report["witnesses"]["found"] == 0 and report["witnesses"]["size"] == new_size
    assert any("cosignature by 'w1'" in p["what"] and "does not verify" in p["what"] for p in report["problems"])
