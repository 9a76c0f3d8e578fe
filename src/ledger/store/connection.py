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

Kept connections (a server's reads): once `keep_connections(config)` is
called, `borrow_connection(config, mode)` (or the block form `lent`) lends one kept from an
earlier use (or a new one) until `give_back`; at most MAX_KEPT of each kind
are open, kept until `release_connections(config)` (opening one costs more than most
queries, a PostgreSQL one several milliseconds). Both modes keep no
transaction open between uses: "write" is autocommit, and a "read" one is
rolled back when its user is done (store/reader.py).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from ledger.store.config import StoreConfig
from ledger.store.schema import SQLITE, Dialect, postgres_dialect

T = TypeVar("T")


class StoreUnavailable(Exception):
    """The store cannot be opened or read; the message says why."""


def connect(config: StoreConfig, mode: Literal["read", "write"], *,
            any_thread: bool = False) -> tuple[Any, Dialect, str]:
    """(connection, dialect, name of the events table's id column). `any_thread`: a SQLite
    connection that another thread may close (a kept one; it is used by one thread only)."""
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
                conn = sqlite3.connect(sqlite_uri(config.sqlite_path, query), uri=True, timeout=30,
                                       check_same_thread=not any_thread)
            else:
                conn = sqlite3.connect(config.sqlite_path, isolation_level=None, timeout=60,
                                       check_same_thread=not any_thread)
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


MAX_KEPT = 4  # kept connections per config and kind: at most this many open at once, kept idle between uses


class _Pool:
    def __init__(self, closer: Callable[[Any], None]) -> None:
        self.idle: list[Any] = []
        self.lent = 0
        self.closer = closer


_pools: dict[tuple[StoreConfig, str], _Pool] = {}
_keeping: set[StoreConfig] = set()
_pool_lock = threading.Condition()


def keep_connections(config: StoreConfig) -> None:
    """From now on, `borrow` lends kept connections of `config` (at most MAX_KEPT of each kind)."""
    with _pool_lock:
        _keeping.add(config)


def borrow_connection(config: StoreConfig, mode: Literal["read", "write"]) -> tuple[Any, Dialect, str] | None:
    """A kept connection to `config` for this caller alone until `give_back`, or None if
    `config`'s connections are not kept."""
    return borrow(config, mode, lambda: connect(config, mode, any_thread=True), lambda found: found[0].close())


def borrow(config: StoreConfig, name: str, opener: Callable[[], T], closer: Callable[[T], None]) -> T | None:
    """An idle kept `name` for `config` (else `opener()`), or None if `config`'s connections are not
    kept (a read-only eventsourcing application is kept the same way). With MAX_KEPT lent, it waits
    for one to come back: a burst of reads queues here rather than exhaust the store's connections.
    Give it back when done."""
    with _pool_lock:
        if config not in _keeping:
            return None
        pool = _pools.setdefault((config, name), _Pool(closer))  # type: ignore[arg-type]
        while pool.lent >= MAX_KEPT and not pool.idle:
            _pool_lock.wait()
            if config not in _keeping:
                return None
        pool.lent += 1
        if pool.idle:
            return pool.idle.pop()  # type: ignore[no-any-return]
    try:
        return opener()
    except BaseException:
        with _pool_lock:
            pool.lent -= 1
            _pool_lock.notify()
        raise


@contextmanager
def lent(config: StoreConfig, name: str, opener: Callable[[], T], closer: Callable[[T], None]) -> Iterator[T]:
    """`opener()`'s kind of thing for the block: a kept one where `config`'s are kept (given back
    after; closed if the block failed, since it may be broken), else a new one, closed after."""
    kept = borrow(config, name, opener, closer)
    if kept is None:
        found = opener()
        try:
            yield found
        finally:
            closer(found)
        return
    try:
        yield kept
    except BaseException:
        give_back(config, name, kept, broken=True)
        raise
    give_back(config, name, kept)


def give_back(config: StoreConfig, name: str, found: Any, *, broken: bool = False) -> None:
    """Return a borrowed `found`: kept for the next use, or closed (`broken`, or no longer kept)."""
    with _pool_lock:
        pool = _pools.get((config, name))
        if pool is not None:
            pool.lent -= 1
            _pool_lock.notify()
            if not broken and config in _keeping:
                pool.idle.append(found)
                return
    if pool is not None:
        _close(pool.closer, found)


def release_connections(config: StoreConfig) -> None:
    """Stop keeping `config`'s connections and close the idle ones (a server shutting down;
    those in use are closed when given back)."""
    with _pool_lock:
        _keeping.discard(config)
        _pool_lock.notify_all()  # a borrower waiting opens its own connection now
        idle = []
        for (kept_config, _), pool in _pools.items():
            if kept_config == config:
                idle += [(pool.closer, found) for found in pool.idle]
                pool.idle = []
    for closer, found in idle:
        _close(closer, found)


def _close(closer: Callable[[Any], None], found: Any) -> None:
    try:
        closer(found)
    except Exception:  # noqa: BLE001 - closing a broken connection
        pass


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
