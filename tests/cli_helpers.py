"""Run the real `drledger` console script in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
