"""The ASGI application of `drledger serve`, built in each worker from the environment.

    uvicorn --factory ledger.api.asgi:app      # DRLEDGER_STORE / DRLEDGER_HOME select the ledger

Logging: one line per request on stderr from `drledger.access` (a JSON
object, api/limits.py), the service's own warnings and errors beside it.
"""

from __future__ import annotations

import logging
import os
import sys

from litestar import Litestar

from ledger.api.app import create_app
from ledger.store.config import resolve_store


def configure_logging(level: str = "info", access_log: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("drledger.access")
    access.handlers[:] = [handler]
    access.propagate = False
    access.setLevel(logging.INFO if access_log else logging.WARNING)
    service = logging.StreamHandler(sys.stderr)
    service.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    api = logging.getLogger("drledger")
    if not api.handlers:
        api.addHandler(service)
    api.setLevel(level.upper())


def app() -> Litestar:
    """A worker's application: the ledger DRLEDGER_STORE (or DRLEDGER_HOME's SQLite file) names."""
    configure_logging(os.environ.get("DRLEDGER_LOG_LEVEL", "info"), os.environ.get("DRLEDGER_ACCESS_LOG", "1") != "0")
    return create_app(resolve_store(os.environ.get("DRLEDGER_STORE"), os.environ.get("DRLEDGER_HOME", "data")))
