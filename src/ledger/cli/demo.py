"""`drledger demo`: a deterministic demo city in the ledger."""

from __future__ import annotations

import click

from ledger.cli.common import clear_errors, config_from, store_options


@click.command()
@store_options
@click.option("--small", is_flag=True, help="A small city that builds in seconds (for tests).")
@click.option("--seed", type=int, default=2026, show_default=True, help="Same seed, same city.")
@click.option("--if-empty", is_flag=True, help="Do nothing if the ledger already holds more than its genesis.")
@clear_errors
def demo(store: str | None, home: str, small: bool, seed: int, if_empty: bool) -> None:
    """Fill a ledger with a deterministic demo city (creating the ledger if needed).

    The city's departments, item list, entities, inspectors and conflicts go
    through the same CSV import as users' files.

    \b
    Example:
      drledger demo --small --seed 7
    """
    from ledger.demo.build import run_demo
    from ledger.setup import init_ledger, store_has_ledger
    from ledger.store.reader import open_reader

    config = config_from(store, home)
    if not store_has_ledger(config):
        result = init_ledger(config, origin=None, admin_id="admin", admin_name="Administrator")
        click.echo(f"initialised {config.display} (origin {result.origin})")
    elif if_empty:
        with open_reader(config) as reader:
            if reader.size() > 2:
                click.echo(f"{config.display} already holds {reader.size()} events: leaving it as it is")
                return
    summary = run_demo(config, seed=seed, small=small, say=click.echo)
    click.echo(f"demo city {summary.city} (seed {seed}{', small' if small else ''}) is in the ledger")
