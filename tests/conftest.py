"""Shared fixtures: every store test runs on a real SQLite file and on a real
PostgreSQL (127.0.0.1:5432, database `test`), each test in its own schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings

# No per-example deadlines: CI machines are shared and noisy, and timing
# belongs in benchmarks/, never in tests.
settings.register_profile("drledger", deadline=None)
settings.load_profile("drledger")

from ledger.store.config import StoreConfig, resolve_store
# One definition of the browser fixtures for every module: a fixture imported into two test
# modules is two fixtures, and two sync Playwright instances cannot run in one worker.
from tests.browser import artifacts, browser  # noqa: F401 - session fixtures

PG_URL = os.environ.get("DRLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
# Published test vectors, inside the repository (sources in tests/vectors/README.md).
# Nothing in the tests reads outside the clone.
VECTORS = Path(__file__).resolve().parent / "vectors"


def pg_connect() -> psycopg.Connection:
    config = resolve_store(PG_URL, "unused")
    return psycopg.connect(
        host=config.host, port=config.port, dbname=config.database, user=config.user,
        password=config.password or None, autocommit=True,
    )


@contextmanager
def new_pg_schema() -> Iterator[str]:
    """A PostgreSQL schema of its own, dropped after."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with pg_connect() as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        with pg_connect() as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def module_store(kind: str, home: Path) -> Iterator[StoreConfig]:
    """A fresh store of `kind` (sqlite | postgres) for a whole test module (building a ledger per test
    costs seconds on a busy machine): a SQLite file under `home`, or a PostgreSQL schema dropped after."""
    if kind == "sqlite":
        yield resolve_store(None, home)
        return
    with new_pg_schema() as schema:
        yield resolve_store(f"{PG_URL}?schema={schema}", home)


@pytest.fixture
def pg_schema() -> Iterator[str]:
    with new_pg_schema() as schema:
        yield schema


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreConfig:
    home = tmp_path / "home"
    if request.param == "sqlite":
        return resolve_store(None, home)
    schema = request.getfixturevalue("pg_schema")
    return resolve_store(f"{PG_URL}?schema={schema}", home)

