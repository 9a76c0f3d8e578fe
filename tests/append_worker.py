"""A separate process that imports entities, each batch one signed command:
for concurrency and crash tests.

    python -m tests.append_worker STORE_URL HOME TAG BATCHES BATCH_SIZE [MODE]

The ledger at HOME must hold the test department (tests/ledger_helpers.py
`ledger_with_entities`); the worker signs as its admin, with the key in
HOME/actor-keys/admin.pem. Each batch is one `directory.import` of
BATCH_SIZE new entities named "TAG B.I": one transaction of BATCH_SIZE + 2
events (the command, the entities, the import record).

It says `ready` once the ledger is open, then for each batch `saving B`
before the command is submitted and `saved B` after it. MODE:

- `free` (the default): batches follow one another at full speed.
- `hold`: before each batch it waits for a `turn` line on stdin; inside the
  append transaction (chain rows written, not committed) it says
  `inside B FIRST_SEQ ROWS` and waits for a `commit` line.
- `die`: inside the append transaction it says `inside B FIRST_SEQ ROWS`
  and then sleeps, holding the transaction open until it is killed.

ROWS counts the batch's chain rows as the transaction itself sees them.
"""

from __future__ import annotations

import sys
import time
import zlib
from pathlib import Path
from typing import Any

import msgspec

from ledger.integrity.keys import read_key_file
from ledger.services.directory import import_rows
from ledger.services.ledger import LedgerService
from ledger.store.config import resolve_store
from ledger.store.schema import Dialect
from tests.ledger_helpers import entity_rows


def say(*words: object) -> None:
    print(*words, flush=True)


def wait_for(word: str) -> None:
    line = sys.stdin.readline().strip()
    if line != word:
        raise SystemExit(f"expected {word!r} on stdin, got {line!r}")


def rows_from(cursor: Any, dialect: Dialect, first_seq: int) -> int:
    """Chain rows at or after `first_seq`, read inside the open transaction."""
    cursor.execute(f"SELECT COUNT(*) AS n FROM {dialect.table('ledger_chain')} WHERE seq >= {dialect.placeholder}",
                   (first_seq,))
    return int(cursor.fetchone()["n"])


def batch_rows(tag: str, batch: int, size: int) -> list[Any]:
    """`size` new entities, distinct across tags and batches, named "TAG B.I"."""
    start = (zlib.crc32(tag.encode()) % 1000) * 1_000_000 + batch * size
    return [msgspec.structs.replace(row, name=f"{tag} {batch}.{i}")
            for i, row in enumerate(entity_rows(size, start=start))]


def main() -> None:
    url, home, tag, batches, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    mode = sys.argv[6] if len(sys.argv) > 6 else "free"
    if mode not in ("free", "hold", "die"):
        raise SystemExit(f"unknown mode {mode!r}")
    admin = read_key_file(Path(home) / "actor-keys" / "admin.pem", None)
    ledger = LedgerService(resolve_store(url if url != "-" else None, home), sync=False)
    batch = 0

    def inside(cursor: Any, dialect: Dialect, first_seq: int, hashes: list[bytes]) -> None:
        say("inside", batch, first_seq, rows_from(cursor, dialect, first_seq))
        if mode == "hold":
            wait_for("commit")
        else:
            time.sleep(3600)  # the parent kills us here, inside the transaction

    if mode != "free":
        ledger.processor.app.integrity.hooks.append(inside)
    say("ready")
    for batch in range(batches):
        rows = batch_rows(tag, batch, size)
        if mode == "hold":
            wait_for("turn")
        say("saving", batch)
        import_rows(ledger, admin, "admin", "entities", rows, file_name=f"{tag}-{batch}.csv")
        say("saved", batch)
    ledger.close()


if __name__ == "__main__":
    main()
