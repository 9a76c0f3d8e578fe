"""`drledger token`: a short-lived bearer token signed with the actor's own key."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.cli.common import actor_options, clear_errors, config_from, signer_for, store_options


@click.command()
@store_options
@click.option("--ttl", type=click.IntRange(1, 15 * 60), default=10 * 60, show_default=True,
              help="Seconds the token is valid (at most 15 minutes).")
@actor_options
@clear_errors
def token(store: str | None, home: str, ttl: int, as_actor: str, key: Path | None) -> None:
    """Print a bearer token for the API's private reads (EdDSA JWT: sub = ACTOR, aud = the ledger's origin).

    The token is signed here with the actor's own key; the server checks it
    against the actor registry (a revoked or rotated key stops working at
    once). With --server the origin is read from the server.

    \b
    Example:
      curl -H "Authorization: Bearer $(drledger token --as AUD-1 --server http://127.0.0.1:8000)" \\
        http://127.0.0.1:8000/api/v1/status
    """
    from ledger.services.ledger import ledger_origin
    from ledger.services.remote import bearer_token

    config = config_from(store, home)
    signer = signer_for(config, as_actor, key)
    click.echo(bearer_token(signer, as_actor, ledger_origin(config), ttl))
