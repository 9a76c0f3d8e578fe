"""Operations: rotating the ledger key and removing a witness, each a command an admin signs.

Through the real console script where a user would type it, and as the
insider (ledger key and database) who records a rotation the rules do not
allow: `verify` must refuse it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ledger.domain.actors import Ledger
from ledger.integrity.keys import Signer, public_key_b64, read_key_file
from ledger.services.ledger_key import rotate_ledger_key
from ledger.services.processor import CommandRefused
from ledger.services.setup import load_ledger_signer
from ledger.store.config import StoreConfig, resolve_store
from tests.cli_helpers import assert_clear_failure, keys_dir, run
from tests.insider import Insider, command_event, refused_at
from ledger.verify.ledger_check import verify_ledger
from tests.ledger_helpers import DEPARTMENT, new_ledger


def _ok(result: Any) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return str(result.stdout)


def test_rotate_ledger_key_through_the_cli(tmp_path: Path) -> None:
    home = tmp_path / "data"
    _ok(run("init", home=home))
    store = resolve_store(None, home)
    old = load_ledger_signer(store)
    _ok(run("log", "publish", home=home))
    (tmp_path / "before.checkpoint").write_text(_ok(run("log", "checkpoint", home=home)), encoding="utf-8")

    # Refused (an empty reason): nothing changes, no stray key file.
    assert_clear_failure(run("key", "rotate-ledger", "--reason", "", "--as", "admin", home=home), "reason")
    assert sorted(p.name for p in store.keys_dir.iterdir()) == ["ledger.pem"]
    assert load_ledger_signer(store).public_key == old.public_key

    rotation = json.loads(_ok(run("key", "rotate-ledger", "--reason", "年度轮换", "--as", "admin", "--json",
                                  "--receipt", str(tmp_path / "rotation.json"), home=home)))
    new = load_ledger_signer(store)
    assert new.public_key != old.public_key and rotation["new_key"] == public_key_b64(new.public_key)
    assert rotation["old_key_id"] == old.key_id and rotation["new_key_id"] == new.key_id
    assert read_key_file(Path(rotation["retired_file"]), None).public_key == old.public_key
    # After the rotation: a command's receipt and a checkpoint, both signed by the new key.
    later = Signer.generate()
    (tmp_path / "auditor.pub").write_text(public_key_b64(later.public_key), encoding="utf-8")
    _ok(run("actor", "register", "AU-1", "--name", "审计员", "--role", "auditor", "--public-key",
            public_key_b64(later.public_key), "--as", "admin", "--receipt", str(tmp_path / "after.json"), home=home))
    assert json.loads((tmp_path / "after.json").read_text())["key_id"] == new.key_id
    assert json.loads((tmp_path / "rotation.json").read_text())["key_id"] == old.key_id  # its own: the old key
    _ok(run("log", "publish", home=home))
    (tmp_path / "after.checkpoint").write_text(_ok(run("log", "checkpoint", home=home)), encoding="utf-8")
    report = run("verify", "--receipt", str(tmp_path / "rotation.json"), "--receipt", str(tmp_path / "after.json"),
                 "--checkpoint", str(tmp_path / "before.checkpoint"), "--checkpoint",
                 str(tmp_path / "after.checkpoint"), home=home)
    assert report.returncode == 0, report.stdout + report.stderr
    assert f"signed by ledger key {new.key_id}" in report.stdout
    assert "key" in _ok(run("key", "--help", home=home)) and "Example:" in _ok(run("key", "rotate-ledger", "--help",
                                                                                  home=home))


def test_a_refused_rotation_leaves_the_key_file(store: StoreConfig) -> None:
    ledger = new_ledger(store)
    planner = ledger.register("planner-1", "planner")
    before = load_ledger_signer(store).public_key
    with pytest.raises(CommandRefused) as refused:
        rotate_ledger_key(store, planner, "planner-1", "我来换")
    assert refused.value.code == "missing_role"
    assert load_ledger_signer(store).public_key == before
    assert sorted(p.name for p in store.keys_dir.iterdir()) == ["ledger.pem"]
    rotation = rotate_ledger_key(store, ledger.admin, "admin", "轮换")
    ledger.import_rows("admin", "departments", [DEPARTMENT])  # a write after the rotation, new key
    assert load_ledger_signer(store).key_id == rotation.new_key_id
    report = verify_ledger(store)
    assert report.ok, report.problems


def _insider_rotation(store: StoreConfig, signed: Any, actor: str, new_key: Signer) -> int:
    content = msgspec.json.decode(signed.command)
    with Insider(store) as insider:
        def build() -> list[Any]:
            ledger = insider.find(Ledger.ID)
            ledger.rotate_ledger_key(new_key=new_key.public_key, reason="insider", actor=actor)
            return [command_event(signed, actor, "ledger.rotate_key", content["nonce"]), ledger]

        return insider.append(build)


def test_insider_rotation_signed_by_a_planner_is_refused_by_verify(store: StoreConfig) -> None:
    ledger = new_ledger(store)
    ledger.register("planner-1", "planner")
    assert verify_ledger(store).ok
    new_key = Signer.generate()
    signed = ledger.sign("planner-1", "ledger.rotate_key", {"new_key": public_key_b64(new_key.public_key),
                                                            "reason": "insider"})
    at = _insider_rotation(store, signed, "planner-1", new_key)
    refused_at(store, at, "missing_role")


def test_insider_rotation_of_a_department_admin_is_refused_by_verify(store: StoreConfig) -> None:
    """Ledger-wide powers belong to admins of no department: a department's admin may not rotate the key."""
    ledger = new_ledger(store)
    ledger.import_rows("admin", "departments", [DEPARTMENT])
    ledger.register("dept-admin", "admin", department=DEPARTMENT.code)
    new_key = Signer.generate()
    signed = ledger.sign("dept-admin", "ledger.rotate_key", {"new_key": public_key_b64(new_key.public_key),
                                                             "reason": "insider"})
    at = _insider_rotation(store, signed, "dept-admin", new_key)
    refused_at(store, at, "out_of_jurisdiction")


def test_insider_rotation_without_a_command_is_refused_by_verify(store: StoreConfig) -> None:
    new_ledger(store)
    new_key = Signer.generate()
    with Insider(store) as insider:
        def build() -> list[Any]:
            ledger = insider.find(Ledger.ID)
            ledger.rotate_ledger_key(new_key=new_key.public_key, reason="insider", actor="admin")
            return [ledger]

        at = insider.append(build)
    refused_at(store, at)


# -- witness remove -----------------------------------------------------------------


def test_witness_add_and_remove_through_the_cli(tmp_path: Path) -> None:
    from tests.witness_server import SpecWitness

    home = tmp_path / "data"
    _ok(run("init", home=home))
    with SpecWitness("witness.test/w1") as w1:
        _ok(run("witness", "add", "w1", w1.vkey, "--url", w1.url, "--as", "admin", home=home))
    assert "w1               active" in run("witness", "status", home=home).stdout
    assert_clear_failure(run("witness", "remove", "w1", "--reason", "", "--as", "admin", home=home), "reason")
    assert_clear_failure(run("witness", "remove", "w9", "--reason", "退役", "--as", "admin", home=home),
                         "unknown_object")
    removed = _ok(run("witness", "remove", "w1", "--reason", "退役", "--as", "admin", "--receipt",
                      str(tmp_path / "removed.json"), home=home))
    assert "w1" in removed
    assert "w1               removed" in run("witness", "status", home=home).stdout
    assert_clear_failure(run("witness", "remove", "w1", "--reason", "退役", "--as", "admin", home=home),
                         "unknown_object")
    actor = json.loads(_ok(run("report", "actor", "admin", "--format", "json", home=home)))
    assert {"witness.add", "witness.remove"} <= {r["kind"] for r in actor}
    _ok(run("verify", "--receipt", str(tmp_path / "removed.json"), home=home))
    assert keys_dir(home).exists()


def test_insider_witness_removal_without_an_admin_command_is_refused_by_verify(store: StoreConfig) -> None:
    from ledger.domain.witness import Witness
    from ledger.services.witnesses import add_witness
    from tests.witness_server import SpecWitness

    ledger = new_ledger(store)
    with SpecWitness("witness.test/w1") as w1, ledger.service() as service:
        add_witness(service, ledger.admin, "admin", name="w1", vkey=w1.vkey, url=w1.url)
    assert verify_ledger(store).ok
    with Insider(store) as insider:
        def build() -> list[Any]:
            witness = insider.find(Witness.create_id("w1"))
            witness.remove(reason="insider", actor="admin")
            return [witness]

        at = insider.append(build)
    refused_at(store, at)


def test_an_interrupted_rotation_is_finished(store: StoreConfig) -> None:
    """The rotation committed but the key file was not switched (a crash): writes refuse with a hint until it is finished."""
    from ledger.integrity.keys import write_key_file
    from ledger.services.ledger_key import NEXT_SUFFIX, finish_interrupted, sign_rotation
    from ledger.services.setup import SetupError

    ledger = new_ledger(store)
    new_key = Signer.generate()
    current = store.keys_dir / "ledger.pem"
    write_key_file(current.with_name(current.name + NEXT_SUFFIX), new_key, None)
    with ledger.service() as service:  # the command commits; the process "dies" before the switch
        service.submit(sign_rotation(ledger.admin, "admin", new_key.public_key, "轮换"))
    with pytest.raises(SetupError, match="finish-rotation"):
        ledger.service()
    assert "finished an interrupted rotation" in (finish_interrupted(store) or "")
    assert load_ledger_signer(store).public_key == new_key.public_key
    ledger.import_rows("admin", "departments", [DEPARTMENT])
    assert verify_ledger(store).ok
    stray = current.with_name(current.name + NEXT_SUFFIX)
    write_key_file(stray, Signer.generate(), None)  # a .next the ledger never recorded
    assert "removed" in (finish_interrupted(store) or "") and not stray.exists()
