"""The adversary of these tests: an insider with the ledger key and the database.

`Insider.append` writes whatever aggregates it is given through the real
store path (chain hash, ledger signature, Merkle nodes in the append
transaction), skipping the command processor: exactly what an operator who
wants a forged event to look genuine would do. `verify` must refuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.domain.base import recorded_time
from ledger.domain.commands import CommandRecord
from ledger.integrity.commands import SignedCommand
from ledger.services.setup import load_ledger_signer
from ledger.store.application import LedgerApplication
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import VerifyReport, verify_ledger


class Insider:
    def __init__(self, store: StoreConfig) -> None:
        self.store = store
        self.app = LedgerApplication(store, load_ledger_signer(store))

    def close(self) -> None:
        self.app.close()

    def __enter__(self) -> Insider:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def head_time(self) -> datetime:
        from ledger.services.processor import read_head

        return read_head(self.store).recorded_at

    def append(self, build: Callable[[], list[Any]], at: datetime | None = None) -> int:
        """Save what `build` returns (built at the recorded time `at`); the first new position."""
        with open_reader(self.store) as reader:
            first = reader.size() + 1
        moment = at or (self.head_time() + timedelta(seconds=1))
        with recorded_time(moment):
            aggregates = build()
        self.app.save(*aggregates)
        return first

    def find(self, aggregate_id: Any) -> Any:
        return self.app.find(aggregate_id)


def command_event(signed: SignedCommand, actor: str, name: str, nonce: str) -> CommandRecord:
    """A command's own event for any signed bytes (the insider chooses them)."""
    return CommandRecord._create(CommandRecord.Accepted, id=CommandRecord.id_for(actor, nonce), actor=actor, name=name,
                                 command=signed.command, signature=signed.signature, key_id=signed.key_id)


def refused_at(store: StoreConfig, position: int, *words: str) -> VerifyReport:
    """verify fails, first at `position`, naming `words`."""
    report = verify_ledger(store)
    assert not report.ok, "verify accepted a forged ledger"
    first = report.problems[0]
    assert first.position == position, report.problems
    for word in words:
        assert word in first.what, first.what
    return report


def now() -> datetime:
    return datetime.now(UTC)
