"""`drledger log ...` through subprocesses: exact output formats, and verify-proof
on our own proofs and on transparency-dev's published testdata."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger.cli.log import EQUAL_RULE, SIZE0_RULE, log
from ledger.integrity.note import open_checkpoint, parse_verifier_key
from tests.conftest import VECTORS as VECTOR_DIR

TESTDATA = VECTOR_DIR / "tlog/merkle/transparency-dev-merkle/testdata"
# Refused here by the 32-byte rule, accepted upstream (docs/transparency-log.md).
DEVIATIONS = {"sizes-are-equal-one-and-proof-is-empty.json"}


def drledger(*args: str, home: Path | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).parent / "drledger")
    extra = ["--home", str(home)] if home is not None else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRLEDGER_")}
    if home is not None:
        env["DRLEDGER_KEYS"] = str(home.parent / "actor-keys")  # never the user's own key folder
    return subprocess.run([exe, *args, *extra], input=stdin, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh ledger for each test: its genesis transaction only (3 events)."""
    home = tmp_path / "home"
    assert drledger("init", "--origin", "test.drledger/cli", home=home).returncode == 0
    return home


def test_publish_checkpoint_and_vkey(home: Path) -> None:
    published = drledger("log", "publish", home=home)
    assert published.returncode == 0, published.stderr
    shown = drledger("log", "checkpoint", home=home)
    assert shown.stdout == published.stdout  # verbatim, no witnesses yet
    assert re.fullmatch(r"test\.drledger/cli\n3\n[A-Za-z0-9+/]{43}=\n\n— test\.drledger/cli [A-Za-z0-9+/]+=*\n", shown.stdout)
    vkey = drledger("log", "vkey", home=home).stdout
    assert re.fullmatch(r"test\.drledger/cli\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n", vkey)
    assert base64.b64decode(vkey.strip().split("+", 2)[2])[0] == 0x01
    checkpoint, _ = open_checkpoint(shown.stdout, parse_verifier_key(vkey.strip()))
    assert checkpoint.size == 3
    # Unchanged size: publishing again gives the same note.
    assert drledger("log", "checkpoint", "--publish", home=home).stdout == shown.stdout
    unwitnessed = drledger("log", "checkpoint", "--require-witnesses", "1", home=home)
    assert unwitnessed.returncode == 1 and "0 of the 1 witness cosignatures" in unwitnessed.stderr


def test_prove_and_consistency_shapes_and_verify_proof(home: Path, tmp_path: Path) -> None:
    prove = drledger("log", "prove", "--index", "1", home=home)
    assert prove.returncode == 0, prove.stderr
    data = json.loads(prove.stdout)
    assert list(data) == ["leafIdx", "treeSize", "root", "leafHash", "proof"]
    assert (data["leafIdx"], data["treeSize"], len(data["proof"])) == (1, 3, 2)
    path = tmp_path / "inclusion.json"
    path.write_text(prove.stdout)
    ok = drledger("log", "verify-proof", str(path))
    assert ok.returncode == 0 and ok.stdout.startswith("ok: leaf 1 is in the tree of size 3"), ok
    data["leafIdx"] = 0
    path.write_text(json.dumps(data))
    bad = drledger("log", "verify-proof", str(path))
    assert bad.returncode == 1 and bad.stderr.startswith("FAILED: inclusion proof does not verify")

    cons = drledger("log", "consistency", "--size1", "1", "--size2", "2", home=home)
    data = json.loads(cons.stdout)
    assert list(data) == ["size1", "size2", "root1", "root2", "proof"]
    checked = drledger("log", "verify-proof", "-", stdin=cons.stdout)
    assert checked.returncode == 0 and "prefix of the tree of size 2" in checked.stdout
    same = drledger("log", "consistency", "--size1", "3", home=home)
    result = drledger("log", "verify-proof", "-", stdin=same.stdout)
    assert result.returncode == 0 and result.stdout.startswith(EQUAL_RULE)


def test_clear_errors(home: Path) -> None:
    beyond = drledger("log", "prove", "--index", "5", "--size", "99", home=home)
    assert beyond.returncode == 2 and beyond.stderr == "drledger: error: tree size 99 is larger than the ledger (3 events)\n"
    zero = drledger("log", "consistency", "--size1", "0", home=home)
    assert zero.returncode == 2 and "0 < size1 <= size2" in zero.stderr
    for args in (["log", "--help"], ["log", "prove", "--help"], ["log", "witness", "add", "--help"],
                 ["log", "witness", "remove", "--help"]):
        shown = drledger(*args)
        assert shown.returncode == 0 and "Example:" in shown.stdout


def test_verify_proof_on_a_published_vector_by_subprocess() -> None:
    happy = drledger("log", "verify-proof", str(TESTDATA / "inclusion/1/happy-path.json"))
    assert happy.returncode == 0, happy.stderr
    size0 = drledger("log", "verify-proof", str(TESTDATA / "consistency/additional/size1-is-zero-and-size2-is-not-zero.json"))
    assert size0.returncode == 1 and size0.stdout.startswith(SIZE0_RULE)


VECTORS = sorted(p for kind in ("inclusion", "consistency") for p in (TESTDATA / kind).rglob("*.json"))


def test_verify_proof_agrees_with_every_published_vector() -> None:
    assert len(VECTORS) > 150
    runner = CliRunner()
    for path in VECTORS:
        want_err = json.loads(path.read_text())["wantErr"]
        result = runner.invoke(log, ["verify-proof", str(path)])
        expected = 1 if want_err or path.name in DEVIATIONS else 0
        assert result.exit_code == expected, (path, result.output)


def test_witness_add_and_remove_are_signed_by_an_admin(home: Path, tmp_path: Path) -> None:
    from tests.witness_server import SpecWitness

    with SpecWitness() as witness:
        url = witness.url
        vkey = witness.vkey
    unsigned = drledger("log", "witness", "add", "w1", vkey, "--url", url, home=home)
    assert unsigned.returncode == 2 and "--as" in unsigned.stderr  # who signs must be said
    receipt = tmp_path / "add.json"
    added = drledger("log", "witness", "add", "w1", vkey, "--url", url, "--as", "admin", "--receipt", str(receipt),
                     home=home)
    assert added.returncode == 0 and added.stdout.startswith("registered witness w1"), added.stderr
    bad_key = drledger("log", "witness", "add", "w2", "not-a-vkey", "--url", url, "--as", "admin", home=home)
    assert bad_key.returncode == 2 and bad_key.stderr.startswith("drledger: error: witness key:")
    removed = drledger("log", "witness", "remove", "w1", "--reason", "retired", "--as", "admin", home=home)
    assert removed.returncode == 0, removed.stderr
    again = drledger("log", "witness", "remove", "w1", "--reason", "retired", "--as", "admin", home=home)
    assert again.returncode == 1 and again.stderr.startswith("drledger: error: refused (unknown_object)")
    checked = drledger("verify", "--receipt", str(receipt), home=home)
    assert checked.returncode == 0 and "receipt" in checked.stdout and ": ok:" in checked.stdout, checked.stderr
