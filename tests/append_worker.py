"""A separate process that appends memos: for concurrency and crash tests.

    python -m tests.append_worker STORE_URL HOME TAG BATCHES BATCH_SIZE [MODE]

It says `ready` once the ledger is open, then for each batch `saving B`
before the save and `saved B` after it. MODE:

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
from typing import Any

from ledger.setup import open_for_writing
from ledger.store.config import resolve_store
from ledger.store.schema import Dialect
from tests.ledger_helpers import Memo


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


def main() -> None:
    url, home, tag, batches, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    mode = sys.argv[6] if len(sys.argv) > 6 else "free"
    if mode not in ("free", "hold", "die"):
        raise SystemExit(f"unknown mode {mode!r}")
    app = open_for_writing(resolve_store(url if url != "-" else None, home))
    batch = 0

    def inside(cursor: Any, dialect: Dialect, first_seq: int, hashes: list[bytes]) -> None:
        say("inside", batch, first_seq, rows_from(cursor, dialect, first_seq))
        if mode == "hold":
            wait_for("commit")
        else:
            time.sleep(3600)  # the parent kills us here, inside the transaction

    if mode != "free":
        app.integrity.hooks.append(inside)
    say("ready")
    for batch in range(batches):
        memos = [Memo(text=f"{tag} {batch}.{i}", actor="admin") for i in range(size)]
        if mode == "hold":
            wait_for("turn")
        say("saving", batch)
        app.save(*memos)
        say("saved", batch)
    app.close()


if __name__ == "__main__":
    main()
