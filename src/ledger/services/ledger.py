"""One open ledger per process: the write path and read-your-writes.

    with open_ledger(config) as ledger:
        receipt = ledger.submit(signed)        # CommandRefused: recorded, with its receipt

After each submission the read models are caught up, so the caller's next
query sees its own write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ledger.integrity.canonical import utc_now
from ledger.integrity.commands import SignedCommand
from ledger.services.processor import AttachmentSource, CommandProcessor, CommandRefused, Entry, Outcome
from ledger.services.receipts import Receipt
from ledger.store.config import StoreConfig

__all__ = ["CommandRefused", "Entry", "LedgerService", "Outcome", "Receipt", "open_ledger", "ledger_origin"]


class LedgerService:
    def __init__(self, config: StoreConfig, *, clock: Callable[[], datetime] = utc_now, sync: bool = True) -> None:
        from ledger.services.setup import open_for_writing

        self.config = config
        self.sync = sync
        self._connection: Any = None  # (connection, dialect, event id column) for catch_up
        self.processor = CommandProcessor(open_for_writing(config), clock=clock)
        self.origin = self.processor.ledger.origin
        if sync:
            self.catch_up()

    def __enter__(self) -> LedgerService:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._close_projection_connection()
        self.processor.close()

    def catch_up(self) -> None:
        """Bring the read models up to the head, on this service's own connection (opened
        once: a server's writer catches up after every command)."""
        from ledger.projections import all_projections
        from ledger.projections.runner import catch_up
        from ledger.store.connection import connect

        if self._connection is None:
            self._connection = connect(self.config, "write")
        try:
            catch_up(self.config, all_projections(), connection=self._connection)
        except BaseException:
            self._close_projection_connection()  # a broken connection is opened again next time
            raise

    def _close_projection_connection(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                connection[0].close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    def submit(self, signed: SignedCommand, attachment: Any = None,
               attachment_source: AttachmentSource | None = None) -> Receipt:
        try:
            return self.processor.submit(signed, attachment, attachment_source)
        finally:
            if self.sync:
                self.catch_up()

    def submit_batch(self, entries: Sequence[Entry]) -> list[Outcome]:
        """Several commands under one hold of the writer, one store transaction (processor.py's
        group commit); the read models caught up once, after all of them."""
        try:
            return self.processor.submit_batch(entries)
        finally:
            if self.sync:
                self.catch_up()


def open_ledger(config: StoreConfig, **kwargs: Any) -> Any:  # LedgerService | RemoteLedger
    """The ledger to submit to: the local store, or the server in use (services/remote.py)."""
    from ledger.services.remote import RemoteLedger, remote_server

    server = remote_server()
    if server is not None:
        return RemoteLedger(server, config)
    return LedgerService(config, **kwargs)


def ledger_origin(config: StoreConfig) -> str:
    """The ledger's origin, read from its genesis (names the actors' key folder)."""
    import msgspec

    from ledger.services.remote import remote_origin, remote_server
    from ledger.store.reader import open_reader
    from ledger.verify.keys import GENESIS_TOPIC

    server = remote_server()
    if server is not None:
        return remote_origin(server)

    with open_reader(config) as reader:
        rows = reader.events_with_topics([GENESIS_TOPIC])
    if not rows or rows[0].state is None:
        from ledger.services.setup import SetupError

        raise SetupError(f"{config.display} holds no ledger: run `drledger init` first")
    return str(msgspec.json.decode(rows[0].state)["origin"])
