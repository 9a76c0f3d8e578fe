"""Separate processes for a draw that overlaps a reclassification of its pool.

    python -m tests.draw_worker reclassify STORE_URL HOME CSV_FILE
    python -m tests.draw_worker draw STORE_URL HOME TASK SECRET_FILE KEY_FILE ACTOR

`reclassify` imports a reclassification file through `import_file`. Inside
its append transaction (events and chain rows written, not committed) it
says `inside FIRST_SEQ EVENTS` and waits for a `commit` line; at the end it
says `imported EVENTS`.

`draw` runs `run_draw`. Once the draw has fixed its pool position, before it
reads the pool, it says `position N` and waits for a `gather` line; at the
end it says `drawn SEED`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ledger import draw_service
from ledger.directory_service import import_file
from ledger.draw_service import read_secret, run_draw
from ledger.integrity.keys import read_key_file
from ledger.store.config import StoreConfig, resolve_store
from ledger.store.recorders import IntegrityAppender
from ledger.store.schema import Dialect
from tests.append_worker import rows_from, say, wait_for


def store(url: str, home: str) -> StoreConfig:
    return resolve_store(url if url != "-" else None, home)


def reclassify(config: StoreConfig, csv_file: str) -> None:
    def hold(cursor: Any, dialect: Dialect, first_seq: int, hashes: list[bytes]) -> None:
        say("inside", first_seq, rows_from(cursor, dialect, first_seq))
        wait_for("commit")

    IntegrityAppender.process_hooks.append(hold)  # reaches the ledger import_file opens
    summary = import_file(config, "reclassifications", Path(csv_file).read_bytes())
    if summary.errors or not summary.written:
        raise SystemExit(f"reclassification not written: {summary.errors[:3]}")
    say("imported", summary.events)


def draw(config: StoreConfig, task_id: str, secret_file: str, key_file: str, actor: str) -> None:
    gather = draw_service.gather_inputs

    def reporting(config: StoreConfig, task: Any, position: int, secret: str, beacon: str) -> Any:
        say("position", position)
        wait_for("gather")
        return gather(config, task, position, secret, beacon)

    draw_service.gather_inputs = reporting  # run_draw calls it once the position is fixed
    outcome = run_draw(config, task_id, read_secret(Path(secret_file)), "", read_key_file(Path(key_file), None), actor)
    say("drawn", outcome.seed)


def main() -> None:
    command, url, home, *rest = sys.argv[1:]
    if command == "reclassify":
        reclassify(store(url, home), *rest)
    elif command == "draw":
        draw(store(url, home), *rest)
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
