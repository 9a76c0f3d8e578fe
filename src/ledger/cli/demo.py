"""`drledger demo`: a deterministic demo city in the ledger."""

from __future__ import annotations

import click

from ledger.cli.common import clear_errors, config_from, fail, store_options


@click.command()
@store_options
@click.option("--small", is_flag=True, help="A small city (300 firms, 5 tasks) that builds in seconds (for tests).")
@click.option("--seed", type=int, default=2026, show_default=True, help="Same seed, same city and same ledger head.")
@click.option("--if-empty", is_flag=True, help="Do nothing if the ledger already holds more than its genesis.")
@clear_errors
def demo(store: str | None, home: str, small: bool, seed: int, if_empty: bool) -> None:
    """Fill a new ledger with a demo city: a made-up year (2026) in a city like 新余市.

    60,000 firms in 渝水区, 分宜县, 仙女湖区 and 高新区, eight departments and four
    district bureaus with their 41 items, 300 officers and 30 experts; yearly
    plans and 24 tasks (a third joint), drawn with a local test beacon; results
    reviewed, sent back, corrected and published, follow-ups, refusals, an
    objection, a recusal and a substitution; witnessed checkpoints (docs/demo.md).
    The demo plays every actor, each signing with its own key: the made-up
    actors' keys go into HOME/demo-keys/ (demo keys, not real custody). It runs
    on its own clock with keys from the seed: the same --seed gives the same
    ledger head. It refuses a ledger that holds more than its genesis.

    \b
    Example:
      drledger demo --small --seed 7
      DRLEDGER_KEYS=data/demo-keys drledger actor list
    """
    from ledger.demo.build import demo_is_done, init_demo_ledger, run_demo
    from ledger.demo.clock import demo_run
    from ledger.services.admin import store_has_ledger

    config = config_from(store, home)
    with demo_run(seed):  # the demo's clock, nonces and keys: the same seed gives the same head
        if not store_has_ledger(config):
            result = init_demo_ledger(config)
            click.echo(f"initialised {config.display} (origin {result.origin})")
        elif demo_is_done(config):
            # Checked before anything is written: the demo fills a new ledger only.
            if if_empty:
                click.echo(f"{config.display} already holds more than its genesis: leaving it as it is")
                return
            fail(f"{config.display} already holds more than its genesis: the demo fills only a new ledger"
                 " (pass --if-empty to leave this one as it is, or choose another --home/--store)")
        summary = run_demo(config, seed=seed, small=small, say=click.echo)
    click.echo(f"demo city {summary.city} (seed {seed}{', small' if small else ''}) is in the ledger")
    click.echo(f"the demo actors' keys are in {summary.keys} (demo keys): sign as one with"
               f" DRLEDGER_KEYS={summary.keys} drledger ... --as ACTOR")
