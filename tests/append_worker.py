"""A separate process that appends memos: for concurrency and crash tests.

    python -m tests.append_worker STORE_URL HOME TAG BATCHES BATCH_SIZE
"""

from __future__ import annotations

import sys

from ledger.setup import open_for_writing
from ledger.store.config import resolve_store
from tests.ledger_helpers import Memo


def main() -> None:
    url, home, tag, batches, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    app = open_for_writing(resolve_store(url if url != "-" else None, home))
    for b in range(batches):
        memos = [Memo(text=f"{tag} {b}.{i}", actor="admin") for i in range(size)]
        print(f"saving {b}", flush=True)
        app.save(*memos)
        print(f"saved {b}", flush=True)
    app.close()


if __name__ == "__main__":
    main()
