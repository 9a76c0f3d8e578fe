"""Separate processes for a draw submitted while a reclassification of its pool is being written.

    python -m tests.draw_worker reclassify STORE_URL HOME CSV_FILE KEY_FILE ACTOR
    python -m tests.draw_worker commit STORE_URL HOME TASK ROUND KEY_FILE ACTOR

`reclassify` imports a reclassification file (services/directory.py
`import_file`, signed with KEY_FILE as ACTOR). Inside its append transaction
(events and chain rows written, not committed, the writer lock held) it
says `inside FIRST_SEQ EVENTS` and waits for a `commit` line; at the end it
says `imported EVENTS`.

`commit` says `submitting`, then submits `draw.commit` naming ROUND of the
local test beacon (services/draws.py `commit_draw`, signed with KEY_FILE as
ACTOR). Once the ledger has fixed the commitment's position, before it reads
the draw inputs, it says `position N` and waits for a `gather` line; at the
end it says `committed FIRST` (the commitment's first position).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ledger.integrity.keys import read_key_file
from ledger.services import draws
from ledger.services.directory import import_file
from ledger.services.ledger import open_ledger
from ledger.store.config import StoreConfig, resolve_store
from ledger.store.recorders import IntegrityAppender


def say(*words: object) -> None:
    print(*words, flush=True)


def wait_for(word: str) -> None:
    line = sys.stdin.readline().strip()
    if line != word:
        raise SystemExit(f"expected {word!r} on stdin, got {line!r}")


def store(url: str, home: str) -> StoreConfig:
    return resolve_store(url if url != "-" else None, home)


def reclassify(config: StoreConfig, csv_file: str, key_file: str, actor: str) -> None:
    def holding(cursor: Any, dialect: Any, first_seq: int, hashes: list[bytes]) -> None:
        say("inside", first_seq, len(hashes))  # chain rows written, inside the open transaction
        wait_for("commit")

    IntegrityAppender.process_hooks.append(holding)  # every append's last step: here the import's one
    with open_ledger(config) as ledger:
        summary = import_file(ledger, read_key_file(Path(key_file), None), actor, "reclassifications",
                              Path(csv_file).read_bytes())
    if summary.errors or not summary.written:
        raise SystemExit(f"reclassification not written: {summary.errors[:3]}")
    assert summary.receipt is not None
    say("imported", summary.receipt.last - summary.receipt.first + 1)


def commit(config: StoreConfig, task_id: str, round_number: str, key_file: str, actor: str) -> None:
    from ledger.beacon.network import LOCAL_BEACON_ID
    from ledger.domain.draws import BeaconChoice

    gather = draws.gather_inputs

    def reporting(config: StoreConfig, task: Any, position: int, *rest: Any, **options: Any) -> Any:
        say("position", position)
        wait_for("gather")
        return gather(config, task, position, *rest, **options)

    draws.gather_inputs = reporting  # the attachment source calls it once the position is fixed
    # sync=False: no catch-up on opening (on SQLite it would wait for the open
    # transaction's database lock); the commitment catches the read models up
    # itself, under the writer lock, before it reads them.
    with open_ledger(config, sync=False) as ledger:
        say("submitting")
        receipt = draws.commit_draw(ledger, read_key_file(Path(key_file), None), actor, task_id,
                                    [BeaconChoice(network=LOCAL_BEACON_ID, round=int(round_number))])
    say("committed", receipt.first)


def main() -> None:
    command, url, home, *rest = sys.argv[1:]
    if command == "reclassify":
        reclassify(store(url, home), *rest)
    elif command == "commit":
        commit(store(url, home), *rest)
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
