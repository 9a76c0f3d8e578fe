"""Run the real `drledger` console script in a subprocess; the demo city as a shared fixture.

A module that works on the demo ledger imports `demo_home` and `home` (fixtures) from here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DRLEDGER = str(Path(sys.executable).parent / "drledger")


def keys_dir(home: Path) -> Path:
    """Where `run` keeps the actors' keys of the ledger at `home` (beside it, not in it)."""
    return home.parent / f"{home.name}-actor-keys"


def run(*args: str, home: Path, store: str | None = None, env: dict[str, str] | None = None,
        input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DRLEDGER_")}
    full_env["DRLEDGER_HOME"] = str(home)
    # Actors' keys live outside HOME, never in the user's real ~/.config.
    full_env["DRLEDGER_KEYS"] = str(keys_dir(home))
    if store:
        full_env["DRLEDGER_STORE"] = store
    full_env.update(env or {})
    return subprocess.run(
        [DRLEDGER, *args], capture_output=True, text=True, env=full_env, input=input, timeout=timeout
    )


def assert_clear_failure(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Non-zero exit, exactly one line on stderr, no traceback, naming the cause."""
    assert result.returncode != 0, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]


def build_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo city (`drledger demo --small --seed 5`): plans, a joint and a temporary task, draws, results,
    corrections, disclosures, an objection and refusals; its actors' keys in HOME/demo-keys."""
    home = tmp_path_factory.mktemp("demo") / "data"
    demo = run("demo", "--small", "--seed", "5", home=home, timeout=300)
    assert demo.returncode == 0, demo.stderr
    return home


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo city, built once per module as a template no test writes to."""
    return build_demo(tmp_path_factory)


@pytest.fixture
def home(demo_home: Path, tmp_path: Path) -> Path:
    """This test's own copy of the demo ledger home (SQLite file, demo keys and secrets)."""
    return Path(shutil.copytree(demo_home, tmp_path / "data"))


def demo_keys(home: Path) -> dict[str, str]:
    """Sign with the demo actors' keys (HOME/demo-keys), as the demo's README says."""
    return {"DRLEDGER_KEYS": str(home / "demo-keys")}


def as_json(home: Path, *args: str) -> Any:
    """The JSON a listing command prints with `--format json` (it must succeed)."""
    result = run(*args, "--format", "json", home=home)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
