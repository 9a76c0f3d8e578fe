"""`drledger serve`: the HTTP API (uvicorn), workers sharing one store."""

from __future__ import annotations

import os

import click

from ledger.cli.common import clear_errors, config_from, store_options


@click.command()
@store_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0: any free port).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes; they share the store (PostgreSQL serialises their writes; SQLite too, by file lock).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info", show_default=True)
@click.option("--no-access-log", is_flag=True, help="No line per request.")
@click.option("--graceful-timeout", type=click.IntRange(1, 600), default=30, show_default=True,
              help="Seconds in-flight requests get to finish on SIGTERM/SIGINT.")
@click.option("--welcome", is_flag=True,
              help="First print where to look: the site, the API docs, a draw's verify page, an auditor's first commands.")
@clear_errors
def serve(store: str | None, home: str, host: str, port: int, workers: int, log_level: str, no_access_log: bool,
          graceful_timeout: int, welcome: bool) -> None:
    """Serve the ledger's HTTP API (POST /api/v1/commands, reads, /schema/openapi.json).

    Each request is logged as one JSON line on stderr (method, path, status,
    duration, caller; never the Authorization header or the body). Per-caller
    rate limits: DRLEDGER_RATE requests/s (default 50; 0: off), DRLEDGER_BURST.
    SIGTERM or Ctrl-C stops accepting, lets requests finish, then closes the store.

    \b
    Example:
      drledger serve --port 8000 --workers 2
      DRLEDGER_STORE=postgresql://ledger@db/ledger drledger serve --host 0.0.0.0 --workers 4
    """
    import uvicorn

    from ledger.services.ledger import ledger_origin

    config = config_from(store, home)
    origin = ledger_origin(config)  # no ledger: a clear error now, not in every worker
    # The workers build their app from the environment (api/asgi.py).
    if store:
        os.environ["DRLEDGER_STORE"] = store
    os.environ["DRLEDGER_HOME"] = str(home)
    os.environ["DRLEDGER_LOG_LEVEL"] = log_level
    os.environ["DRLEDGER_ACCESS_LOG"] = "0" if no_access_log else "1"
    if welcome:
        click.echo(welcome_text(config, f"http://{host}:{port}"))
    click.echo(f"drledger: serving {origin} ({config.display}) on http://{host}:{port} with {workers} worker(s)",
               err=True)
    uvicorn.run("ledger.api.asgi:app", factory=True, host=host, port=port, workers=workers, log_level=log_level,
                access_log=False, timeout_graceful_shutdown=graceful_timeout, server_header=False,
                proxy_headers=False)


def welcome_text(config: object, base: str) -> str:
    """What a newcomer opens first (make run): pages, API docs, a draw to verify, an auditor's commands."""
    from ledger.services.draws import draw_attempts

    drawn = next((a.task_id for a in draw_attempts(config) if a.kind == "run"), None)  # type: ignore[arg-type]
    lines = [
        "",
        f"  公示网站 public site      {base}/public",
        f"  API 文档 API docs         {base}/schema   (OpenAPI: {base}/schema/openapi.json)",
    ]
    if drawn:
        lines.append(f"  在浏览器中验证抽取        {base}/public/draws/{drawn}/verify")
    lines += [
        "",
        "  An auditor's first commands (another terminal):",
        "    .venv/bin/drledger verify                      # re-execute every command from the stored bytes",
        "    .venv/bin/drledger log checkpoint              # the signed checkpoint to keep",
    ]
    if drawn:
        lines += [f"    .venv/bin/drledger draw export {drawn} --public --out draw.json && python3 docs/verify_draw.py draw.json"]
    lines += ["", "  Ctrl-C stops the server.", ""]
    return "\n".join(lines)
