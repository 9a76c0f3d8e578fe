"""Where the ledger lives: `DRLEDGER_HOME` and the store URL.

`DRLEDGER_HOME` (default `./data`) holds the SQLite file and the key files.
`DRLEDGER_STORE` (or `--store`) selects the event store:

    sqlite:///relative/or/absolute/path.sqlite   (default: $DRLEDGER_HOME/ledger.sqlite)
    postgresql://user[:password]@host[:port]/database[?schema=name]

Passwords are kept out of every message: use `StoreConfig.display`.

`read_only=True` (an auditor's copy, `drledger verify --read-only`) opens
SQLite as an immutable file (`?mode=ro&immutable=1`: no lock, no -wal or
-shm file, nothing written) and refuses every write connection, on either
store (store/connection.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

HOME_ENV = "DRLEDGER_HOME"
STORE_ENV = "DRLEDGER_STORE"
DEFAULT_HOME = "data"
SQLITE_FILE = "ledger.sqlite"


class StoreConfigError(ValueError):
    """The store URL or home folder cannot be used."""


@dataclass(frozen=True)
class StoreConfig:
    kind: Literal["sqlite", "postgres"]
    home: Path
    sqlite_path: Path | None = None
    host: str = ""
    port: int = 5432
    database: str = ""
    user: str = ""
    password: str = field(default="", repr=False)
    schema: str = ""
    read_only: bool = False

    def as_read_only(self) -> StoreConfig:
        return replace(self, read_only=True)

    @property
    def display(self) -> str:
        """The store as a URL with any password replaced by `***`."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        secret = ":***" if self.password else ""
        schema = f"?schema={self.schema}" if self.schema else ""
        return f"postgresql://{self.user}{secret}@{self.host}:{self.port}/{self.database}{schema}"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    def eventsourcing_env(self) -> dict[str, str]:
        """The environment eventsourcing's infrastructure factory reads."""
        if self.kind == "sqlite":
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "30",
                "APPLICATION_RECORDER_TOPIC": "ledger.store.recorders:ChainedSQLiteRecorder",
            }
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.database,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_CONNECT_TIMEOUT": "5",
            # One connection kept open per application (the library keeps 5): an application is
            # used by one thread at a time, and a server keeps several for its reads.
            "POSTGRES_POOL_SIZE": "1",
            "POSTGRES_LOCK_TIMEOUT": "30",
            # The table lock per insert is what orders the chain: keep it.
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            "APPLICATION_RECORDER_TOPIC": "ledger.store.recorders:ChainedPostgresRecorder",
        }


def parse_store_url(url: str, home: Path) -> StoreConfig:
    """Parse a store URL; errors name what is wrong and never echo a password.

    >>> parse_store_url("postgresql://u:pw@db:5433/ledger?schema=s1", Path("h")).display
    'postgresql://u:***@db:5433/ledger?schema=s1'
    >>> parse_store_url("sqlite:///x/l.sqlite", Path("h")).sqlite_path
    PosixPath('x/l.sqlite')
    """
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not path:
            raise StoreConfigError("sqlite store URL needs a file path: sqlite:///path/ledger.sqlite")
        return StoreConfig(kind="sqlite", home=home, sqlite_path=Path(path))
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        try:
            port = parts.port or 5432
        except ValueError:
            raise StoreConfigError("postgresql store URL has an invalid port") from None
        database = parts.path.lstrip("/")
        if not parts.hostname or not database or not parts.username:
            raise StoreConfigError(
                "postgresql store URL must be postgresql://user[:password]@host[:port]/database"
            )
        query = parse_qs(parts.query)
        unknown = sorted(set(query) - {"schema"})
        if unknown:
            raise StoreConfigError(f"postgresql store URL: unknown parameter(s) {', '.join(unknown)}")
        schema = query.get("schema", [""])[0]
        if schema and not schema.replace("_", "").isalnum():
            raise StoreConfigError("postgresql schema name may hold only letters, digits and _")
        return StoreConfig(
            kind="postgres",
            home=home,
            host=parts.hostname,
            port=port,
            database=database,
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            schema=schema,
        )
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise StoreConfigError(f"unsupported store {scheme!r}: use sqlite:///path or postgresql://user@host/db")


def resolve_store(store: str | None = None, home: str | Path | None = None) -> StoreConfig:
    """The store from arguments, else the environment, else the defaults."""
    home_path = Path(home or os.environ.get(HOME_ENV) or DEFAULT_HOME)
    url = store or os.environ.get(STORE_ENV)
    if not url:
        return StoreConfig(kind="sqlite", home=home_path, sqlite_path=home_path / SQLITE_FILE)
    return parse_store_url(url, home_path)


def sqlite_file_read_only(path: Path) -> bool:
    """Whether the SQLite file (or its folder) is read-only, so `verify` must not
    open it for writing: this user cannot write it, or nobody may (no write bit,
    `chmod a-w`), which counts even for root, whom permissions do not stop.

    A missing file is not read-only: opening it says there is no ledger.
    """
    for target in (path, path.parent):
        try:
            mode = target.stat().st_mode
        except OSError:
            return False
        if not os.access(target, os.W_OK) or not mode & 0o222:
            return True
    return False
