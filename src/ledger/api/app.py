"""The Litestar application: the HTTP face of the services (no SQL, no rules here).

    app = create_app(config)          # config: StoreConfig of the ledger served

Contract for every router module in this package:
- `request.app.state.config` is the served ledger's `StoreConfig` (reads call
  `ledger.services.*` with it);
- `writer(request.app)` returns the process's `LedgerService` (opened on first
  use), the one write path: a signed command in, a receipt out;
- errors are raised as `ApiError` (api/errors.py) and answered with the error
  body `{"code", "message", "detail"}`.
Each router module exports `ROUTES` (a list of route handlers or Routers),
listed once in `_route_modules` below.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

from ledger.api.errors import EXCEPTION_HANDLERS
from ledger.store.config import StoreConfig

# Modules of ledger.api that contribute routes (each exports ROUTES).
_route_modules: tuple[str, ...] = (
    "log_tiles",
    "feeds",
    "site.routes",
)

_writer_lock = threading.Lock()


def writer(app: Litestar) -> Any:  # -> LedgerService
    """This process's write path, opened on first use (a worker that only reads opens none)."""
    state = app.state
    with _writer_lock:
        if state.get("ledger") is None:
            from ledger.services.ledger import open_ledger

            state.ledger = open_ledger(state.config)
    return state.ledger


def _close_writer(app: Litestar) -> None:
    service = app.state.get("ledger")
    if service is not None:
        service.close()
        app.state.ledger = None


@get("/api/v1/health", summary="Liveness", tags=["status"])
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app(config: StoreConfig, *, extra_state: dict[str, Any] | None = None, debug: bool = False) -> Litestar:
    routes: list[Any] = [health]
    for name in _route_modules:
        routes.extend(importlib.import_module(f"ledger.api.{name}").ROUTES)
    return Litestar(
        route_handlers=routes,
        state=State({"config": config, "ledger": None, **(extra_state or {})}),
        exception_handlers=EXCEPTION_HANDLERS,
        on_shutdown=[_close_writer],
        openapi_config=OpenAPIConfig(title="drledger", version="1", path="/schema"),
        debug=debug,
    )
