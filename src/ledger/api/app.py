"""The Litestar application: the HTTP face of the services (no SQL, no rules here).

    app = create_app(config)          # config: StoreConfig of the ledger served

Contract for every router module in this package:
- `request.app.state.config` is the served ledger's `StoreConfig` (reads call
  `ledger.services.*` with it);
- `await on_writer(request.app, work)` runs `work(ledger_service)` on the
  process's one writer thread: the `LedgerService` (opened on first use) is
  the one write path, a signed command in, a receipt out;
  `await submit_queued(request.app, entry)` submits a command there together
  with the others waiting (group commit);
- errors are raised as `ApiError` (api/errors.py) and answered with the error
  body `{"code", "message", "detail"}`.
Each router module exports `ROUTES` (a list of route handlers or Routers),
listed once in `_route_modules` below.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

from ledger.api.errors import EXCEPTION_HANDLERS, error_responses
from ledger.store.config import StoreConfig

T = TypeVar("T")

# Modules of ledger.api that contribute routes (each exports ROUTES).
_route_modules: tuple[str, ...] = (
    "commands",
    "reads",
    "log_tiles",
    "feeds",
    "site.routes",
)

_executor_lock = threading.Lock()
WRITER_THREAD = "drledger-writer"


def _executor(app: Litestar) -> ThreadPoolExecutor:
    state = app.state
    with _executor_lock:
        if state.get("writer_thread") is None:
            state.writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=WRITER_THREAD)
    return state.writer_thread  # type: ignore[no-any-return]


def writer(app: Litestar) -> Any:  # -> LedgerService
    """This process's write path, opened on first use (a worker that only reads opens none).
    Only on the writer thread (`on_writer`): its connections and cache belong to that thread."""
    if not threading.current_thread().name.startswith(WRITER_THREAD):
        raise RuntimeError("the ledger service is used on its writer thread only: `await on_writer(app, work)`")
    state = app.state
    if state.get("ledger") is None:
        from ledger.services.ledger import open_ledger

        state.ledger = open_ledger(state.config)
    return state.ledger


async def on_writer(app: Litestar, work: Callable[[Any], T]) -> T:
    """Run `work(ledger_service)` on the process's one writer thread: submissions are serialised
    in the process (the store serialises them across processes) and the service's connections
    and aggregate cache are only ever used from that thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(app), lambda: work(writer(app)))


# Commands taken by the writer thread at once, at most (one store transaction: an import's rows
# are large, and the first command of a batch waits for the last).
MAX_BATCH = 64


class _Waiting:
    """Commands waiting for the writer thread, each with the future its request awaits."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: list[tuple[Any, Future[Any]]] = []


async def submit_queued(app: Litestar, entry: Any) -> Any:  # Entry -> Outcome (services/processor.py)
    """Submit `entry` through the writer thread with the commands waiting beside it: while the
    writer is busy, submissions queue; when it is free it takes every one waiting and submits
    them as one batch (group commit: one store transaction, one catch-up; each still its own
    signed transaction and receipt)."""
    with _executor_lock:
        if app.state.get("waiting") is None:
            app.state.waiting = _Waiting()
    waiting: _Waiting = app.state.waiting
    future: Future[Any] = Future()
    with waiting.lock:
        waiting.entries.append((entry, future))
    # One drain per submission: the first to run takes the whole queue, the later ones find it empty.
    asyncio.get_running_loop().run_in_executor(_executor(app), lambda: _drain(app, waiting))
    return await asyncio.wrap_future(future)


def _drain(app: Litestar, waiting: _Waiting) -> None:
    with waiting.lock:
        taken, waiting.entries = waiting.entries[:MAX_BATCH], waiting.entries[MAX_BATCH:]
    # A request gone before its turn (its future cancelled) is not submitted, as a job of
    # `on_writer` that never started; the others' futures can no longer be cancelled.
    taken = [(entry, future) for entry, future in taken if future.set_running_or_notify_cancel()]
    if not taken:
        return
    try:
        outcomes = writer(app).submit_batch([entry for entry, _ in taken])
    except BaseException as error:
        for _, future in taken:
            future.set_exception(error)
        if not isinstance(error, Exception):
            raise
        return
    for (_, future), outcome in zip(taken, outcomes):
        future.set_result(outcome)


async def _close_writer(app: Litestar) -> None:
    from ledger.store.connection import release_connections

    release_connections(app.state.config)
    executor = app.state.get("writer_thread")
    if executor is None:
        return

    def close() -> None:
        service = app.state.get("ledger")
        if service is not None:
            app.state.ledger = None
            service.close()

    await asyncio.get_running_loop().run_in_executor(executor, close)
    executor.shutdown(wait=True)
    app.state.writer_thread = None


@get("/api/v1/health", summary="Liveness", tags=["status"], responses=error_responses())
async def health() -> dict[str, str]:
    return {"status": "ok"}


def _docs() -> list[Any]:
    from ledger.api.docs import render_plugins  # offline: no CDN (api/docs.py)

    return render_plugins()


MAX_BODY = 64 * 1024 * 1024  # bytes of a request body (an import of ~200k entities); DRLEDGER_MAX_BODY


def create_app(config: StoreConfig, *, extra_state: dict[str, Any] | None = None, debug: bool = False,
               max_body: int | None = None) -> Litestar:
    routes: list[Any] = [health]
    for name in _route_modules:
        routes.extend(importlib.import_module(f"ledger.api.{name}").ROUTES)
    from ledger.api.limits import access_log_middleware, before_request
    from ledger.store.connection import keep_connections

    keep_connections(config)  # reads borrow kept connections, not one new each (store/connection.py)
    return Litestar(
        route_handlers=routes,
        middleware=[access_log_middleware],
        request_max_body_size=max_body or int(os.environ.get("DRLEDGER_MAX_BODY", MAX_BODY)),
        before_request=before_request,
        state=State({"config": config, "ledger": None, **(extra_state or {})}),
        exception_handlers=EXCEPTION_HANDLERS,
        on_shutdown=[_close_writer],
        openapi_config=OpenAPIConfig(title="drledger", version="1", path="/schema", render_plugins=_docs()),
        logging_config=None,  # `drledger serve` configures logging (api/asgi.py); tests stay quiet
        debug=debug,
    )
