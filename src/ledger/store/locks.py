"""The writer lock: one decision at a time per ledger, across processes.

A decision must read the state right before its own transaction, so the
command processor holds this lock from reading the head to committing.
SQLite: an exclusive lock on a file beside the database; PostgreSQL: an
advisory lock (scoped to its database) keyed by the schema.
"""

from __future__ import annotations

import fcntl
import hashlib
from typing import Any

from ledger.store.config import StoreConfig
from ledger.store.connection import connect


class WriterLock:
    """One decision at a time per ledger, across processes: the state a decision
    reads must be the state right before its own transaction. SQLite: an
    exclusive lock on a file beside the database; PostgreSQL: an advisory lock.
    Re-entrant within one processor."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.depth = 0
        if config.kind == "sqlite":
            assert config.sqlite_path is not None
            self.handle: Any = open(f"{config.sqlite_path}.writer.lock", "a")  # noqa: SIM115 - held for life
            self.connection: Any = None
        else:
            self.handle = None
            self.connection, _, _ = connect(config, "write")
            digest = hashlib.sha256(f"drledger-writer:{config.schema}".encode()).digest()[:8]
            self.key = int.from_bytes(digest, "big", signed=True)

    def __enter__(self) -> None:
        if self.depth == 0:
            if self.handle is not None:
                fcntl.flock(self.handle, fcntl.LOCK_EX)
            else:
                self.connection.execute("SELECT pg_advisory_lock(%s)", (self.key,))
        self.depth += 1

    def __exit__(self, *_: object) -> None:
        self.depth -= 1
        if self.depth == 0:
            if self.handle is not None:
                fcntl.flock(self.handle, fcntl.LOCK_UN)
            else:
                self.connection.execute("SELECT pg_advisory_unlock(%s)", (self.key,))

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
        if self.connection is not None:
            self.connection.close()
