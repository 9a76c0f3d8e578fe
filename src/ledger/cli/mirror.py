"""`drledger mirror`: an auditor's verified local copy of a served ledger."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.cli.common import EXIT_FAILED_CHECK, clear_errors, config_from, fail, store_options


@click.command("mirror")
@click.option("--server", envvar="DRLEDGER_SERVER", required=True, metavar="URL",
              help="The ledger server, e.g. https://ledger.example [env DRLEDGER_SERVER].")
@click.option("--as", "as_actor", envvar="DRLEDGER_ACTOR", required=True, metavar="ACTOR",
              help="The auditor (or discipline) actor whose token is sent [env DRLEDGER_ACTOR].")
@click.option("--key", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The actor's own key file [default: <DRLEDGER_KEYS>/<ACTOR>.pem for the ledger's origin].")
@click.option("--origin", default=None, help="The ledger's origin, needed only before the server published a checkpoint.")
@click.option("--ledger-key", default=None, metavar="BASE64",
              help="The trusted ledger public key (default: HOME/trust.json if present) for verify.")
@click.option("--page", "page_events", type=click.IntRange(1, 5000), default=1000, show_default=True,
              help="Events per feed page.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@store_options
@clear_errors
def mirror_cmd(server: str, as_actor: str, key: Path | None, origin: str | None, ledger_key: str | None,
               page_events: int, as_json: bool, store: str | None, home: str) -> None:
    """Pull the ledger from --server into the local copy (--home / --store) and verify it.

    Appends the server's rows exactly as stored, from where the copy ends,
    after checking that they chain onto it and carry valid ledger
    signatures; then verifies what is new (the whole copy on the first pull),
    resuming from the head the copy was last verified at. Rows that fail are
    not kept: the copy stays as it was and the exit status is 1 (2: the server
    cannot be reached). Progress goes to stderr, the result to stdout. Run a
    full `drledger verify` of the copy at each audit: a pull does not check
    again what lies below its verified head (docs/auditors.md).

    \b
    Example:
      drledger mirror --server https://ledger.example --as AUD-0001 \\
          --key ~/keys/AUD-0001.pem --home ~/audit/copy
    """
    import msgspec

    from ledger.integrity.keys import decode_public_key, read_key_file
    from ledger.services.keys import load_signer, passphrase
    from ledger.services.mirror import MirrorRefused, MirrorUnavailable, mirror
    from ledger.services.verification import trusted_ledger_key

    config = config_from(store, home)
    try:
        trusted = decode_public_key(ledger_key) if ledger_key else trusted_ledger_key(config)
    except ValueError as error:
        fail(f"--ledger-key: {error}")
        return
    if key is not None:
        signer = read_key_file(key, passphrase())
    else:
        known = origin or _local_origin(config)
        if known is None:
            fail("give --key FILE (or --origin, to find the key in the keys folder)")
            return
        signer = load_signer(known, as_actor, None)
    progress = (lambda line: click.echo(line, err=True))
    try:
        result = mirror(config, server, as_actor, signer, origin=origin, page_events=page_events,
                        trusted_key=trusted, on_progress=progress)
    except MirrorUnavailable as error:
        fail(str(error))
        return
    except MirrorRefused as error:
        fail(f"mirror refused: {error}", EXIT_FAILED_CHECK)
        return
    if as_json:
        click.echo(msgspec.json.encode(result).decode())
        return
    new = result.size - result.before
    checked = f"from position {result.verified_from + 1}" if result.verified_from else "the whole copy"
    click.echo(f"{result.store}: {result.origin} at size {result.size} ({new} new events in"
               f" {result.transactions} transactions), verified ({checked})")
    if result.checkpoint is not None:
        click.echo(f"checkpoint at size {result.checkpoint} matches the copy")


def _local_origin(config):  # type: ignore[no-untyped-def]
    from ledger.services.ledger import ledger_origin
    from ledger.services.setup import SetupError
    from ledger.store.reader import StoreUnavailable

    try:
        return ledger_origin(config)
    except (StoreUnavailable, SetupError, LookupError, ValueError):
        return None
