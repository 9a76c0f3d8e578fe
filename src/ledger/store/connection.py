"""Raw connections to the store, for the code that works below eventsourcing:
the reader (status, verify), projections and checkpoints.

    "read"   SQLite opened read-only; PostgreSQL in read-only transactions.
    "write"  autocommit: the caller issues BEGIN / COMMIT itself.

A `read_only` config (an auditor's copy) opens SQLite immutable
(`mode=ro&immutable=1`: no locks, no -wal/-shm files, nothing written) and
refuses "write" on either store. An immutable open reads the main file only,
so a copy whose -wal still holds transactions is refused rather than
half-read.

A store that cannot be opened raises StoreUnavailable with the reason and
never the password.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Literal

from ledger.store.config import StoreConfig
from ledger.store.schema import SQLITE, Dialect, postgres_dialect


class StoreUnavailable(Exception):
    """The store cannot be opened or read; the message says why."""


def connect(config: StoreConfig, mode: Literal["read", "write"]) -> tuple[Any, Dialect, str]:
    """(connection, dialect, name of the events table's id column)."""
    if config.read_only and mode == "write":
        raise StoreUnavailable(f"{config.display} is opened read-only: this command would write to it")
    if config.kind == "sqlite":
        assert config.sqlite_path is not None
        if not config.sqlite_path.exists():
            raise StoreUnavailable(f"no ledger at {config.sqlite_path}: run `drledger init` first")
        if config.read_only:
            _refuse_unmerged(config.sqlite_path)
        try:
            if mode == "read":
                query = "mode=ro&immutable=1" if config.read_only else "mode=ro"
                conn = sqlite3.connect(sqlite_uri(config.sqlite_path, query), uri=True, timeout=30)
            else:
                conn = sqlite3.connect(config.sqlite_path, isolation_level=None, timeout=60)
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as error:
            raise StoreUnavailable(f"cannot read {config.sqlite_path}: {error}") from None
        return conn, SQLITE, "rowid"
    import psycopg

    try:
        conn = psycopg.connect(
            host=config.host, port=config.port, dbname=config.database, user=config.user,
            password=config.password or None, connect_timeout=5, autocommit=mode == "write",
        )
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StoreUnavailable(f"cannot connect to {config.display}: {reason}") from None
    if mode == "read":
        conn.read_only = True
    return conn, postgres_dialect(config.schema), "notification_id"


def sqlite_uri(path: Path, query: str) -> str:
    """A `file:` URI for `path` (percent-encoded, so `?`, `#` or `%` in a name are safe)."""
    return f"{path.absolute().as_uri()}?{query}"


def _refuse_unmerged(path: Path) -> None:
    """An immutable open ignores the -wal and -journal files: refuse a copy that needs them."""
    for suffix in ("-wal", "-journal"):
        side = Path(f"{path}{suffix}")
        try:
            size = side.stat().st_size
        except FileNotFoundError:
            continue
        if size:
            raise StoreUnavailable(
                f"{side} holds transactions that are not in {path.name}: a read-only (immutable) open would"
                " miss them; make the copy with SQLite's backup (docs/auditors.md) or verify where the ledger is written"
            )
