"""`drledger init`, `status`, `verify` and `actor` through the real console script."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ledger.store.config import StoreConfig
from tests.cli_helpers import assert_clear_failure, keys_dir, run


def store_url(store: StoreConfig) -> str | None:
    return None if store.kind == "sqlite" else store.display


def test_init_status_verify(store: StoreConfig) -> None:
    home = store.home
    init = run("init", "--origin", "test.drledger/cli", home=home, store=store_url(store))
    assert init.returncode == 0, init.stderr
    # The ledger key in HOME/keys; the first admin's own key in the admin's key folder, outside HOME.
    for path in (home / "keys" / "ledger.pem", keys_dir(home) / "admin.pem"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o600, oct(mode)
        assert b"PRIVATE KEY" in path.read_bytes()
        assert str(path) in init.stdout  # init says where each key went
    assert not (home / "keys" / "admin.pem").exists()
    assert sorted(p.name for p in home.rglob("*.pem")) == ["ledger.pem"]
    status = run("status", "--json", home=home, store=store_url(store))
    info = json.loads(status.stdout)
    assert info["size"] == 3 and len(info["head"]) == 64 and info["origin"] == "test.drledger/cli"
    assert info["last_signature"]["first"] == 1 and info["last_signature"]["last"] == 3
    verify = run("verify", "--expect-head", f"3:{info['head']}", home=home, store=store_url(store))
    assert verify.returncode == 0, verify.stderr
    assert "ok: 3 events" in verify.stdout and "trusted key" in verify.stdout
    report = json.loads(run("verify", "--json", home=home, store=store_url(store)).stdout)
    assert report["ok"] is True and report["problems"] == []
    wrong = run("verify", "--expect-head", "3:" + "00" * 32, home=home, store=store_url(store))
    assert wrong.returncode == 1 and "FAILED at position 3" in wrong.stderr


def test_reinit_is_refused_and_changes_nothing(store: StoreConfig) -> None:
    home = store.home
    assert run("init", home=home, store=store_url(store)).returncode == 0
    before = run("status", "--json", home=home, store=store_url(store)).stdout
    keys_before = (home / "keys" / "ledger.pem").read_bytes()
    again = run("init", home=home, store=store_url(store))
    assert_clear_failure(again, "already holds a ledger")
    assert run("status", "--json", home=home, store=store_url(store)).stdout == before
    assert (home / "keys" / "ledger.pem").read_bytes() == keys_before


def test_passphrase_protected_keys(tmp_path: Path) -> None:
    home = tmp_path / "home"
    secret = {"DRLEDGER_KEY_PASSPHRASE": "correct horse"}
    assert run("init", home=home, env=secret).returncode == 0
    assert b"ENCRYPTED" in (keys_dir(home) / "admin.pem").read_bytes()
    assert b"ENCRYPTED" in (home / "keys" / "ledger.pem").read_bytes()
    keygen = run("actor", "keygen", "--out", str(tmp_path / "i.pem"), home=home)
    public_key = keygen.stdout.split()[2]
    register = ["actor", "register", "AU-1", "--name", "李四", "--role", "auditor", "--public-key", public_key,
                "--as", "admin"]
    assert_clear_failure(run(*register, home=home), "passphrase-protected", "DRLEDGER_KEY_PASSPHRASE")
    wrong = run(*register, home=home, env={"DRLEDGER_KEY_PASSPHRASE": "wrong"})
    assert_clear_failure(wrong, "wrong passphrase")
    assert "correct horse" not in wrong.stderr and "wrong" in wrong.stderr
    assert run("status", "--json", home=home).stdout.count('"size":3') == 1
    assert run(*register, home=home, env=secret).returncode == 0
    assert '"size":5' in run("status", "--json", home=home).stdout


def test_missing_key_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    keygen = run("actor", "keygen", "--out", str(tmp_path / "i.pem"), home=home)
    register = ["actor", "register", "X", "--name", "x", "--role", "auditor", "--public-key", keygen.stdout.split()[2]]
    # The acting actor's own key is missing: said with where it was looked for.
    no_actor_key = run(*register, "--as", "someone", home=home)
    assert_clear_failure(no_actor_key, "no key for 'someone'", "--key FILE", str(keys_dir(home) / "someone.pem"))
    assert_clear_failure(run(*register, "--as", "admin", "--key", str(tmp_path / "nope.pem"), home=home),
                         "key file not found", "nope.pem")
    (home / "keys" / "ledger.pem").unlink()
    result = run(*register, "--as", "admin", home=home)
    assert_clear_failure(result, "key file not found", "ledger.pem")
    assert '"size":3' in run("status", "--json", home=home).stdout


def test_corrupt_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "ledger.sqlite").write_bytes(b"this is not a database" * 100)
    for command in ("status", "verify"):
        assert_clear_failure(run(command, home=home), "ledger.sqlite")
    assert_clear_failure(run("init", home=home), "ledger.sqlite")
    assert not (home / "keys").exists() or not any((home / "keys").iterdir())
    assert not keys_dir(home).exists() or not any(keys_dir(home).iterdir())


def test_no_ledger_yet(tmp_path: Path) -> None:
    assert_clear_failure(run("status", home=tmp_path / "empty"), "no ledger", "drledger init")


def test_unreachable_postgres_names_no_password(tmp_path: Path) -> None:
    url = "postgresql://auditor:s3cret-pw@127.0.0.1:1/test"
    for command in ("status", "verify", "init"):
        result = run(command, home=tmp_path / "h", store=url)
        assert_clear_failure(result, "postgresql://auditor:***@127.0.0.1:1/test")
        assert "s3cret-pw" not in result.stderr + result.stdout
    for folder in (tmp_path / "h" / "keys", keys_dir(tmp_path / "h")):
        assert not folder.exists() or not any(folder.iterdir())


@pytest.mark.parametrize("url,needle", [
    ("mysql://x@h/db", "unsupported store"),
    ("postgresql://h/db", "must be postgresql://user"),
    ("postgresql://u@h/db?schema=a;drop", "schema name"),
])
def test_bad_store_urls(tmp_path: Path, url: str, needle: str) -> None:
    assert_clear_failure(run("status", home=tmp_path, store=url), needle)


@pytest.mark.slow
def test_actor_lifecycle_and_refusals(store: StoreConfig, tmp_path: Path) -> None:
    home, url = store.home, store_url(store)
    assert run("init", home=home, store=url).returncode == 0

    def size() -> int:
        return json.loads(run("status", "--json", home=home, store=url).stdout)["size"]

    auditor = run("actor", "keygen", "--out", str(tmp_path / "au.pem"), home=home).stdout.split()[2]
    ok = run("actor", "register", "AU-0001", "--name", "张三", "--role", "auditor", "--public-key", auditor,
             "--as", "admin", home=home, store=url)
    assert ok.returncode == 0, ok.stderr
    assert size() == 5  # the command and the actor
    # An auditor cannot register actors: signed with its own key, refused and recorded, nothing else written.
    refused = run("actor", "register", "AU-0002", "--name", "王五", "--role", "admin", "--public-key", auditor,
                  "--as", "AU-0001", "--key", str(tmp_path / "au.pem"), home=home, store=url)
    assert_clear_failure(refused, "refused (missing_role)", "lacks the role admin")
    # Claiming to be the admin with the auditor's key: the signature does not verify.
    forged = run("actor", "register", "AU-0003", "--name", "赵六", "--role", "auditor", "--public-key", auditor,
                 "--as", "admin", "--key", str(tmp_path / "au.pem"), home=home, store=url)
    assert_clear_failure(forged, "refused (bad_signature)", "admin")
    assert_clear_failure(run("actor", "register", "AU-0001", "--name", "x", "--role", "auditor",
                             "--public-key", auditor, "--as", "admin", home=home, store=url), "already registered")
    assert_clear_failure(run("actor", "register", "AU-9", "--name", "x", "--role", "auditor",
                             "--public-key", "not-base64!", "--as", "admin", home=home, store=url), "--public-key")
    assert size() > 5  # each refusal is on record (the bad public key never reached the ledger)
    roles = run("actor", "set-roles", "AU-0001", "--role", "auditor", "--role", "reviewer", "--as", "admin",
                home=home, store=url)
    assert roles.returncode == 0, roles.stderr
    # The auditor rotates its own key, signing with the old one; the old key no longer signs.
    new_key = tmp_path / "au-2.pem"
    assert run("actor", "keygen", "--out", str(new_key), home=home).returncode == 0
    rotated = run("actor", "rotate-key", "--as", "AU-0001", "--key", str(tmp_path / "au.pem"), "--new-key",
                  str(new_key), "--reason", "yearly rotation", home=home, store=url)
    assert rotated.returncode == 0 and "replaced by" in rotated.stdout, rotated.stderr
    stale = run("actor", "rotate-key", "--as", "AU-0001", "--key", str(tmp_path / "au.pem"), "--new-key",
                str(tmp_path / "au.pem"), home=home, store=url)
    assert_clear_failure(stale, "refused (bad_signature)")
    # An admin cannot rotate someone else's key: it would sign as itself, for itself.
    receipt = tmp_path / "revoke.json"
    assert run("actor", "revoke", "AU-0001", "--reason", "调岗", "--as", "admin", "--receipt", str(receipt),
               home=home, store=url).returncode == 0
    assert json.loads(receipt.read_text())["outcome"] == "accepted"
    inspector = run("actor", "keygen", "--out", str(tmp_path / "insp.pem"), home=home).stdout.split()[2]
    # An inspector is registered in a department (its badge's), never ledger-wide.
    departments = tmp_path / "d.csv"
    departments.write_text("code,name,level,region_code\nXY-SCJG,新余市市场监督管理局,city,360500\n", encoding="utf-8")
    assert run("import", "departments", str(departments), "--as", "admin", home=home, store=url).returncode == 0
    assert run("actor", "register", "JX-0001", "--name", "李四", "--role", "inspector", "--department", "XY-SCJG",
               "--public-key", inspector, "--as", "admin", home=home, store=url).returncode == 0
    guarded = run("actor", "revoke", "JX-0001", "--reason", "调岗", "--as", "admin", home=home, store=url)
    assert_clear_failure(guarded, "refused (needs_approval)")
    actors = json.loads(run("actor", "list", "--json", home=home, store=url).stdout)
    assert [(a["actor_id"], a["roles"], a["revoked"]) for a in actors] == [
        ("admin", ["admin"], False), ("AU-0001", ["auditor", "reviewer"], True), ("JX-0001", ["inspector"], False)]
    listed = run("actor", "list", home=home, store=url).stdout
    assert "revoked" in listed and "JX-0001" in listed
    verify = run("verify", "--receipt", str(receipt), home=home, store=url)
    assert verify.returncode == 0, verify.stderr
    # genesis, register, set-roles, rotate-key, revoke, import, register; 3 + 2 refusals re-checked
    assert "12 actor signatures" in verify.stdout and "7 commands re-executed, 5 refusals" in verify.stdout
    assert "receipt" in verify.stdout and ": ok:" in verify.stdout


@pytest.mark.slow
def test_receipts_prove_censorship_and_rewrites(tmp_path: Path) -> None:
    """A receipt is the ledger's signed word: `verify --receipt` fails once the
    ledger no longer holds exactly the receipted events."""
    from tests.ledger_helpers import Raw

    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    departments = tmp_path / "d.csv"
    departments.write_text("code,name,level,region_code\nXY-SCJG,新余市市场监督管理局,city,360500\n", encoding="utf-8")
    receipt = tmp_path / "import.json"
    assert run("import", "departments", str(departments), "--as", "admin", "--receipt", str(receipt),
               home=home).returncode == 0
    data = json.loads(receipt.read_text())
    assert (data["first"], data["last"], len(data["event_hashes"])) == (4, 6, 3)
    assert run("verify", "--receipt", str(receipt), home=home).returncode == 0
    # A forged receipt (not the ledger key's signature) proves nothing.
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**data, "event_hashes": ["00" * 32] * 3}))
    result = run("verify", "--receipt", str(forged), home=home)
    assert result.returncode == 1 and "not signed by the ledger key in force" in result.stderr
    unreadable = tmp_path / "junk.json"
    unreadable.write_text("{}")
    assert_clear_failure(run("verify", "--receipt", str(unreadable), home=home), "not a drledger receipt")
    # The operator removes the import (censorship), tree and signature included: the ledger alone
    # verifies as a shorter ledger, the receipt does not.
    from ledger.store.config import resolve_store

    raw = Raw(resolve_store(None, home))
    try:
        for seq in (4, 5, 6):
            nid = raw.event_at(seq)[0]
            raw.sql(f"DELETE FROM {raw.events} WHERE {raw.event_id} = ?", nid)
            raw.sql(f"DELETE FROM {raw.chain} WHERE seq = ?", seq)
        raw.sql(f"DELETE FROM {raw.txs} WHERE last_seq = ?", 6)
        with_hashes = raw.sql(f"SELECT hash FROM {raw.chain} ORDER BY seq")
        raw.rebuild_tree([bytes(h) for (h,) in with_hashes])
    finally:
        raw.close()
    assert run("verify", home=home).returncode == 0
    censored = run("verify", "--receipt", str(receipt), home=home)
    assert censored.returncode == 1 and "censorship" in censored.stderr, censored.stderr
    # ... and writes something else at those positions: a rewrite.
    other = tmp_path / "d2.csv"
    other.write_text("code,name,level,region_code\nXY-STHJ,新余市生态环境局,city,360500\n", encoding="utf-8")
    assert run("import", "departments", str(other), "--as", "admin", home=home).returncode == 0
    rewritten = run("verify", "--receipt", str(receipt), home=home)
    assert rewritten.returncode == 1 and "rewritten" in rewritten.stderr, rewritten.stderr


def test_every_command_has_help_with_an_example(tmp_path: Path) -> None:
    from ledger.cli.main import COMMANDS

    commands = [[name] for name in COMMANDS]
    commands += [["actor", sub] for sub in ("keygen", "register", "revoke", "set-roles", "rotate-key", "list")]
    commands += [["log", "witness", sub] for sub in ("add", "remove", "push", "status")]
    commands += [["pool", "entities"], ["pool", "inspectors"], ["projections", "rebuild"]]
    for args in commands:
        result = run(*args, "--help", home=tmp_path)
        assert result.returncode == 0, (args, result.stderr)
        assert "Example" in result.stdout, args


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`drledger pool entities | head -1`: no error line, no traceback."""
    import os
    import subprocess

    from ledger.demo.city import generate_city, to_csv
    from ledger.domain.uscc import uscc_for_serial
    from ledger.domain.rows import EntityRow
    from tests.cli_helpers import DRLEDGER

    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    city = generate_city(1, small=True)
    (tmp_path / "d.csv").write_bytes(to_csv(city.departments, "departments"))
    rows = [EntityRow(uscc=uscc_for_serial(i), name=f"商贸公司{i}", entity_type="enterprise", region_code="360502",
                      industry="F5212", risk_class="B") for i in range(3000)]
    (tmp_path / "e.csv").write_bytes(to_csv(rows, "entities"))
    assert run("import", "departments", str(tmp_path / "d.csv"), "--as", "admin", home=home).returncode == 0
    assert run("import", "entities", str(tmp_path / "e.csv"), "--as", "admin", home=home).returncode == 0
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DRLEDGER_")}, "DRLEDGER_HOME": str(home)}
    process = subprocess.Popen([DRLEDGER, "pool", "entities", "--format", "table"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    assert process.stdout is not None and process.stdout.readline()
    process.stdout.close()  # the reader goes away, as `head -1` does
    _, err = process.communicate(timeout=60)
    assert b"error" not in err and b"Traceback" not in err, err


def test_demo_refuses_a_ledger_that_holds_more_than_its_genesis_before_writing(tmp_path: Path) -> None:
    from ledger.services.admin import event_count
    from ledger.store.config import resolve_store

    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    key = tmp_path / "planner.pem"
    made = run("actor", "keygen", "--out", str(key), home=home)
    assert made.returncode == 0, made.stderr
    public = made.stdout.split()[2]
    registered = run("actor", "register", "P-1", "--name", "规划员", "--role", "planner", "--public-key", public,
                     "--as", "admin", home=home)
    assert registered.returncode == 0, registered.stderr
    config = resolve_store(None, home)
    before = event_count(config)
    refused = run("demo", "--small", home=home)
    assert_clear_failure(refused, "already holds more than its genesis")
    assert event_count(config) == before
    kept = run("demo", "--small", "--if-empty", home=home)
    assert kept.returncode == 0 and "leaving it as it is" in kept.stdout
    assert event_count(config) == before
