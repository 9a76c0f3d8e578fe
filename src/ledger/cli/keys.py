"""`drledger key rotate-ledger`: a new ledger key, recorded by a command an admin signs."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.cli.common import actor_options, clear_errors, config_from, signer_for, store_options
from ledger.cli.receipts import receipt_option, save_receipt


@click.group()
def key() -> None:
    """The ledger key (the operator's: it signs transactions, receipts and checkpoints).

    Actors rotate their own keys with `drledger actor rotate-key`.

    \b
    Example:
      drledger key rotate-ledger --reason "年度密钥轮换" --as admin
    """


@key.command(name="rotate-ledger")
@store_options
@click.option("--reason", required=True, help="Why the key is rotated (kept in the ledger).")
@click.option("--json", "as_json", is_flag=True, help="Print the rotation as JSON.")
@actor_options
@receipt_option
@clear_errors
def rotate_ledger(store: str | None, home: str, reason: str, as_json: bool, as_actor: str, key: Path | None,
                  receipt_out: Path | None) -> None:
    """Make a new ledger key in HOME/keys and record the rotation, signed by a ledger-wide admin.

    The rotation's own transaction is signed by the old key, every later
    one (and every later receipt and checkpoint) by the new key; `verify`
    follows the schedule the ledger records. The old key file is kept as
    ledger.pem.retired-<key id>. Give witnesses the new verifier key
    (`drledger log vkey`); auditors keep pinning the genesis key.

    \b
    Example:
      drledger key rotate-ledger --reason "年度密钥轮换" --as admin --receipt rotation.receipt.json
    """
    import msgspec

    from ledger.services.ledger_key import rotate_ledger_key

    config = config_from(store, home)
    rotation = rotate_ledger_key(config, signer_for(config, as_actor, key), as_actor, reason)
    if receipt_out is not None:
        save_receipt(receipt_out, rotation.receipt)
    if as_json:
        click.echo(msgspec.json.encode(rotation).decode())
        return
    click.echo(f"ledger key {rotation.old_key_id} replaced by {rotation.new_key_id} at position {rotation.position}"
               f" (signed by {as_actor}); the old key file is {rotation.retired_file}")
    click.echo(f"new ledger public key: {rotation.new_key}")
    click.echo("give the witnesses the new verifier key: drledger log vkey")


@key.command(name="finish-rotation")
@store_options
@clear_errors
def finish_rotation(store: str | None, home: str) -> None:
    """Finish a ledger key rotation a crash interrupted (the ledger records the new key, the file is
    still ledger.pem.next), or remove a ledger.pem.next the ledger never recorded.

    \b
    Example:
      drledger key finish-rotation
    """
    from ledger.services.ledger_key import finish_interrupted

    click.echo(finish_interrupted(config_from(store, home)) or "no interrupted rotation: nothing to do")
