"""`drledger init`, `status`, `verify` and `actor` through the real console script."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ledger.store.config import StoreConfig
from tests.cli_helpers import assert_clear_failure, run


def store_url(store: StoreConfig) -> str | None:
    return None if store.kind == "sqlite" else store.display


def test_init_status_verify(store: StoreConfig) -> None:
    home = store.home
    init = run("init", "--origin", "test.drledger/cli", home=home, store=store_url(store))
    assert init.returncode == 0, init.stderr
    for name in ("ledger.pem", "admin.pem"):
        mode = stat.S_IMODE((home / "keys" / name).stat().st_mode)
        assert mode == 0o600, oct(mode)
        assert b"PRIVATE KEY" in (home / "keys" / name).read_bytes()
    status = run("status", "--json", home=home, store=store_url(store))
    info = json.loads(status.stdout)
    assert info["size"] == 2 and len(info["head"]) == 64 and info["origin"] == "test.drledger/cli"
    assert info["last_signature"]["first"] == 1 and info["last_signature"]["last"] == 2
    verify = run("verify", "--expect-head", f"2:{info['head']}", home=home, store=store_url(store))
    assert verify.returncode == 0, verify.stderr
    assert "ok: 2 events" in verify.stdout and "trusted key" in verify.stdout
    report = json.loads(run("verify", "--json", home=home, store=store_url(store)).stdout)
    assert report["ok"] is True and report["problems"] == []
    wrong = run("verify", "--expect-head", "2:" + "00" * 32, home=home, store=store_url(store))
    assert wrong.returncode == 1 and "FAILED at position 2" in wrong.stderr


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
    assert b"ENCRYPTED" in (home / "keys" / "admin.pem").read_bytes()
    keygen = run("actor", "keygen", "--out", str(tmp_path / "i.pem"), home=home)
    public_key = keygen.stdout.split()[2]
    register = ["actor", "register", "JX-1", "--name", "李四", "--role", "inspector", "--public-key", public_key]
    assert_clear_failure(run(*register, home=home), "passphrase-protected", "DRLEDGER_KEY_PASSPHRASE")
    wrong = run(*register, home=home, env={"DRLEDGER_KEY_PASSPHRASE": "wrong"})
    assert_clear_failure(wrong, "wrong passphrase")
    assert "correct horse" not in wrong.stderr and "wrong" in wrong.stderr
    assert run("status", "--json", home=home).stdout.count('"size":2') == 1
    assert run(*register, home=home, env=secret).returncode == 0
    assert '"size":3' in run("status", "--json", home=home).stdout


def test_missing_key_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    (home / "keys" / "ledger.pem").unlink()
    keygen = run("actor", "keygen", "--out", str(tmp_path / "i.pem"), home=home)
    result = run("actor", "register", "X", "--name", "x", "--role", "auditor",
                 "--public-key", keygen.stdout.split()[2], home=home)
    assert_clear_failure(result, "key file not found", "ledger.pem")
    assert '"size":2' in run("status", "--json", home=home).stdout


def test_corrupt_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "ledger.sqlite").write_bytes(b"this is not a database" * 100)
    for command in ("status", "verify"):
        assert_clear_failure(run(command, home=home), "ledger.sqlite")
    assert_clear_failure(run("init", home=home), "ledger.sqlite")
    assert not (home / "keys").exists() or not any((home / "keys").iterdir())


def test_no_ledger_yet(tmp_path: Path) -> None:
    assert_clear_failure(run("status", home=tmp_path / "empty"), "no ledger", "drledger init")


def test_unreachable_postgres_names_no_password(tmp_path: Path) -> None:
    url = "postgresql://auditor:s3cret-pw@127.0.0.1:1/test"
    for command in ("status", "verify", "init"):
        result = run(command, home=tmp_path / "h", store=url)
        assert_clear_failure(result, "postgresql://auditor:***@127.0.0.1:1/test")
        assert "s3cret-pw" not in result.stderr + result.stdout
    assert not (tmp_path / "h" / "keys").exists() or not any((tmp_path / "h" / "keys").iterdir())


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
    inspector = run("actor", "keygen", "--out", str(tmp_path / "insp.pem"), home=home).stdout.split()[2]
    ok = run("actor", "register", "JX-0001", "--name", "张三", "--role", "inspector", "--department", "SCJG",
             "--public-key", inspector, home=home, store=url)
    assert ok.returncode == 0, ok.stderr
    # An inspector cannot register actors: signed with its own key, refused, nothing written.
    refused = run("actor", "register", "JX-0002", "--name", "王五", "--role", "admin", "--public-key", inspector,
                  "--as", "JX-0001", "--key", str(tmp_path / "insp.pem"), home=home, store=url)
    assert_clear_failure(refused, "lacks the role 'admin'")
    # Claiming to be the admin with the inspector's key: the signature does not verify.
    forged = run("actor", "register", "JX-0003", "--name", "赵六", "--role", "auditor", "--public-key", inspector,
                 "--key", str(tmp_path / "insp.pem"), home=home, store=url)
    assert_clear_failure(forged, "admin")
    assert_clear_failure(run("actor", "register", "JX-0001", "--name", "x", "--role", "auditor",
                             "--public-key", inspector, home=home, store=url), "already registered")
    assert_clear_failure(run("actor", "register", "JX-9", "--name", "x", "--role", "auditor",
                             "--public-key", "not-base64!", home=home, store=url), "--public-key")
    assert run("actor", "revoke", "JX-0001", "--reason", "调岗", home=home, store=url).returncode == 0
    actors = json.loads(run("actor", "list", "--json", home=home, store=url).stdout)
    assert [(a["actor_id"], a["revoked"]) for a in actors] == [("admin", False), ("JX-0001", True)]
    status = json.loads(run("status", "--json", home=home, store=url).stdout)
    assert status["size"] == 4
    verify = run("verify", home=home, store=url)
    assert verify.returncode == 0 and "4 actor signatures" in verify.stdout


def test_every_command_has_help_with_an_example(tmp_path: Path) -> None:
    from ledger.cli.main import COMMANDS

    for name in COMMANDS:
        result = run(name, "--help", home=tmp_path)
        assert result.returncode == 0, (name, result.stderr)
        assert "Example" in result.stdout, name


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`drledger pool entities | head -1`: no error line, no traceback."""
    import os
    import subprocess

    from ledger.demo.city import generate_city, to_csv
    from ledger.domain.uscc import uscc_for_serial
    from ledger.imports.rows import EntityRow
    from tests.cli_helpers import DRLEDGER

    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    city = generate_city(1, small=True)
    (tmp_path / "d.csv").write_bytes(to_csv(city.departments, "departments"))
    rows = [EntityRow(uscc=uscc_for_serial(i), name=f"商贸公司{i}", entity_type="enterprise", region_code="360502",
                      industry="F5212", risk_class="B") for i in range(3000)]
    (tmp_path / "e.csv").write_bytes(to_csv(rows, "entities"))
    assert run("import", "departments", str(tmp_path / "d.csv"), home=home).returncode == 0
    assert run("import", "entities", str(tmp_path / "e.csv"), home=home).returncode == 0
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DRLEDGER_")}, "DRLEDGER_HOME": str(home)}
    process = subprocess.Popen([DRLEDGER, "pool", "entities", "--format", "table"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    assert process.stdout is not None and process.stdout.readline()
    process.stdout.close()  # the reader goes away, as `head -1` does
    _, err = process.communicate(timeout=60)
    assert b"error" not in err and b"Traceback" not in err, err
