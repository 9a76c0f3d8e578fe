"""`drledger actor`: keys and the actor registry, each change signed by its actor."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.cli.common import actor_options, clear_errors, config_from, fail, signer_for, store_options
from ledger.cli.receipts import receipt_option, save_receipt

# The same roles as domain/actors.py (the ledger refuses any other).
ROLE_CHOICES = ("admin", "list_manager", "planner", "drawer", "inspector", "reviewer", "auditor", "discipline")


@click.group()
def actor() -> None:
    """Actors: their own keys, roles and registration.

    Every change is a command signed with the acting actor's own key: an
    admin registers, re-roles and revokes actors; an actor rotates its own key.

    \b
    Example:
      drledger actor keygen --out JX-0001.pem
      drledger actor register JX-0001 --name 张三 --role inspector --department XY-SCJG \\
          --public-key <base64> --as admin
    """


@actor.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Key file to create (mode 0600).")
@clear_errors
def keygen(out: Path) -> None:
    """Create an Ed25519 key file and print its public key.

    The file is protected by DRLEDGER_KEY_PASSPHRASE when it is set. Give the
    public key to an admin (`actor register`); keep the file to yourself.

    \b
    Example:
      drledger actor keygen --out ~/.config/drledger/keys/me.pem
    """
    from ledger.services.actors import new_key_file, public_key_b64

    if out.exists():
        fail(f"{out} already exists: refusing to overwrite a key")
    signer = new_key_file(out)
    click.echo(f"public key  {public_key_b64(signer.public_key)}")
    click.echo(f"key id      {signer.key_id}")


def _submit(config, signed, receipt_out: Path | None):  # type: ignore[no-untyped-def]
    from ledger.services.ledger import open_ledger

    with open_ledger(config) as ledger:
        receipt = ledger.submit(signed)
    if receipt_out is not None:
        save_receipt(receipt_out, receipt)
    return receipt


def _public_key(text: str) -> bytes:
    from ledger.services.actors import decode_public_key

    try:
        return decode_public_key(text)
    except ValueError as error:
        fail(f"--public-key: {error}")
        raise  # not reached


@actor.command()
@store_options
@click.argument("actor_id")
@click.option("--name", required=True, help="Display name.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLE_CHOICES),
              help="Repeat for several roles.")
@click.option("--department", default=None, help="Department code (its scope includes its sub-departments).")
@click.option("--public-key", required=True, metavar="BASE64", help="The actor's Ed25519 public key (from `actor keygen`).")
@actor_options
@receipt_option
@clear_errors
def register(store: str | None, home: str, actor_id: str, name: str, roles: tuple[str, ...], department: str | None,
             public_key: str, as_actor: str, key: Path | None, receipt_out: Path | None) -> None:
    """Register an actor with its public key, signed by an admin.

    \b
    Example:
      drledger actor register JX-0001 --name 张三 --role inspector --department XY-SCJG \\
          --public-key MCow...= --as admin
    """
    from ledger.services.actors import sign_register

    config = config_from(store, home)
    raw_key = _public_key(public_key)
    signer = signer_for(config, as_actor, key)
    signed = sign_register(signer, as_actor, actor_id=actor_id, name=name, roles=roles, department=department,
                           public_key=raw_key)
    receipt = _submit(config, signed, receipt_out)
    click.echo(f"registered {actor_id} ({', '.join(roles)}) at position {receipt.first}")


@actor.command()
@store_options
@click.argument("actor_id")
@click.option("--reason", required=True, help="Why the actor is revoked (kept in the ledger).")
@actor_options
@receipt_option
@clear_errors
def revoke(store: str | None, home: str, actor_id: str, reason: str, as_actor: str, key: Path | None,
           receipt_out: Path | None) -> None:
    """Revoke an actor, signed by an admin: its signatures are refused from now on.

    Drawers and inspectors are revoked only through an approved proposal
    (m of n, with a discipline actor): the ledger refuses a plain revocation.

    \b
    Example:
      drledger actor revoke AU-0001 --reason "调离审计岗位" --as admin
    """
    from ledger.services.actors import sign_revoke

    config = config_from(store, home)
    signed = sign_revoke(signer_for(config, as_actor, key), as_actor, actor_id=actor_id, reason=reason)
    _submit(config, signed, receipt_out)
    click.echo(f"revoked {actor_id}")


@actor.command(name="set-roles")
@store_options
@click.argument("actor_id")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLE_CHOICES),
              help="The actor's roles from now on; repeat for several.")
@click.option("--department", default=None, help="The actor's department from now on (none: the whole ledger).")
@actor_options
@receipt_option
@clear_errors
def set_roles(store: str | None, home: str, actor_id: str, roles: tuple[str, ...], department: str | None,
              as_actor: str, key: Path | None, receipt_out: Path | None) -> None:
    """Replace an actor's roles and department, signed by an admin.

    \b
    Example:
      drledger actor set-roles LM-0001 --role list_manager --role planner --department XY-SCJG --as admin
    """
    from ledger.services.actors import sign_set_roles

    config = config_from(store, home)
    signed = sign_set_roles(signer_for(config, as_actor, key), as_actor, actor_id=actor_id, roles=roles,
                            department=department)
    _submit(config, signed, receipt_out)
    click.echo(f"{actor_id}: roles {', '.join(roles)}, department {department or '-'}")


@actor.command(name="rotate-key")
@store_options
@click.option("--new-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="The new key file (from `actor keygen`).")
@click.option("--reason", default="scheduled key rotation", show_default=True, help="Kept in the ledger.")
@actor_options
@receipt_option
@clear_errors
def rotate_key(store: str | None, home: str, new_key: Path, reason: str, as_actor: str, key: Path | None,
               receipt_out: Path | None) -> None:
    """Replace your own key: signed with the key in force (--key, or your default key file).

    From the next command on, only the new key signs for you. An admin cannot
    rotate someone else's key; a lost key is recovered through a proposal.

    \b
    Example:
      drledger actor keygen --out new.pem
      drledger actor rotate-key --as JX-0001 --key old.pem --new-key new.pem
    """
    from ledger.services.actors import read_own_key, sign_rotate_key
    from ledger.services.keys import key_path
    from ledger.services.ledger import ledger_origin

    config = config_from(store, home)
    old = signer_for(config, as_actor, key)
    new = read_own_key(new_key)
    signed = sign_rotate_key(old, as_actor, new_public_key=new.public_key, reason=reason)
    receipt = _submit(config, signed, receipt_out)
    click.echo(f"{as_actor}: key {old.key_id} replaced by {new.key_id} at position {receipt.first}")
    default = key_path(ledger_origin(config), as_actor)
    if key is None or key.resolve() == default.resolve():
        click.echo(f"{default} still holds the old key: replace it with {new_key} to sign by default")


@actor.command(name="list")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@clear_errors
def list_actors(store: str | None, home: str, as_json: bool) -> None:
    """List registered actors with their roles, department, key id and status.

    \b
    Example:
      drledger actor list --json
    """
    import msgspec

    from ledger.services.actors import list_actors as registered

    actors = registered(config_from(store, home))
    if as_json:
        click.echo(msgspec.json.encode(actors).decode())
        return
    for a in actors:
        state = "revoked" if a.revoked else a.key_id
        click.echo(f"{a.actor_id:<16} {','.join(a.roles):<24} {a.department or '-':<10} {state}  {a.name}")
