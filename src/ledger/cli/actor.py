"""`drledger actor`: keys and the actor registry."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.cli.common import clear_errors, config_from, fail, store_options

ROLE_CHOICES = ("admin", "list_manager", "planner", "drawer", "inspector", "auditor", "discipline")


@click.group()
def actor() -> None:
    """Actors: their keys, roles and registration.

    \b
    Example:
      drledger actor keygen --out inspector-0001.pem
      drledger actor register JX-0001 --name 张三 --role inspector --public-key <base64>
    """


@actor.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Key file to create (mode 0600).")
@clear_errors
def keygen(out: Path) -> None:
    """Create an Ed25519 key file and print its public key.

    The file is protected by DRLEDGER_KEY_PASSPHRASE when it is set.

    \b
    Example:
      drledger actor keygen --out ~/.drledger/me.pem
    """
    from ledger.integrity.keys import Signer, public_key_b64, write_key_file
    from ledger.setup import passphrase

    if out.exists():
        fail(f"{out} already exists: refusing to overwrite a key")
    signer = Signer.generate()
    write_key_file(out, signer, passphrase())
    click.echo(f"public key  {public_key_b64(signer.public_key)}")
    click.echo(f"key id      {signer.key_id}")


def _signer_for(config_home: Path, key: Path | None):  # -> Signer
    from ledger.integrity.keys import read_key_file
    from ledger.setup import ADMIN_KEY_FILE, passphrase

    return read_key_file(key or config_home / "keys" / ADMIN_KEY_FILE, passphrase())


@actor.command()
@store_options
@click.argument("actor_id")
@click.option("--name", required=True, help="Display name.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLE_CHOICES), help="Repeat for several roles.")
@click.option("--department", default=None, help="Department code.")
@click.option("--public-key", required=True, metavar="BASE64", help="The actor's Ed25519 public key (from `actor keygen`).")
@click.option("--as", "as_actor", default="admin", show_default=True, help="The admin who signs this registration.")
@click.option("--key", type=click.Path(dir_okay=False, path_type=Path), default=None, help="The admin's key file (default HOME/keys/admin.pem).")
@clear_errors
def register(
    store: str | None, home: str, actor_id: str, name: str, roles: tuple[str, ...], department: str | None,
    public_key: str, as_actor: str, key: Path | None,
) -> None:
    """Register an actor, signed by an admin.

    \b
    Example:
      drledger actor register JX-0001 --name 张三 --role inspector --department SCJG --public-key MCow...=
    """
    from ledger.application import actor_body
    from ledger.integrity.commands import sign_command
    from ledger.integrity.keys import decode_public_key
    from ledger.setup import open_for_writing

    config = config_from(store, home)
    try:
        raw_key = decode_public_key(public_key)
    except ValueError as error:
        fail(f"--public-key: {error}")
        return
    signer = _signer_for(config.home, key)
    signed = sign_command(signer, as_actor, "actor.register", actor_body(actor_id, name, roles, department, raw_key))
    app = open_for_writing(config)
    try:
        app.register_actor(signed, actor_id=actor_id, name=name, roles=roles, department=department, public_key=raw_key)
    finally:
        app.close()
    click.echo(f"registered {actor_id} ({', '.join(roles)})")


@actor.command()
@store_options
@click.argument("actor_id")
@click.option("--reason", required=True, help="Why the actor is revoked (kept in the ledger).")
@click.option("--as", "as_actor", default="admin", show_default=True, help="The admin who signs this revocation.")
@click.option("--key", type=click.Path(dir_okay=False, path_type=Path), default=None, help="The admin's key file.")
@clear_errors
def revoke(store: str | None, home: str, actor_id: str, reason: str, as_actor: str, key: Path | None) -> None:
    """Revoke an actor: its signatures are refused from now on.

    \b
    Example:
      drledger actor revoke JX-0001 --reason "调离执法岗位"
    """
    from ledger.integrity.commands import sign_command
    from ledger.setup import open_for_writing

    config = config_from(store, home)
    signer = _signer_for(config.home, key)
    signed = sign_command(signer, as_actor, "actor.revoke", {"actor_id": actor_id, "reason": reason})
    app = open_for_writing(config)
    try:
        app.revoke_actor(signed, actor_id=actor_id, reason=reason)
    finally:
        app.close()
    click.echo(f"revoked {actor_id}")


@actor.command(name="list")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@clear_errors
def list_actors(store: str | None, home: str, as_json: bool) -> None:
    """List registered actors with their roles, key ids and status.

    \b
    Example:
      drledger actor list --json
    """
    import msgspec

    from ledger.store.reader import open_reader
    from ledger.verify.keys import ACTOR_KEY_TOPICS, ActorKeys

    config = config_from(store, home)
    with open_reader(config) as reader:
        events = reader.events_with_topics(ACTOR_KEY_TOPICS)
    keys = ActorKeys.from_events(events)
    info = {}
    for row in events:
        payload = msgspec.json.decode(row.state or b"{}")
        if "actor_id" in payload and "roles" in payload:
            info[payload["actor_id"]] = payload
    actors = []
    for actor_id, history in keys.history.items():
        _, current_key_id, current = history[-1]
        actors.append({
            "actor_id": actor_id,
            "name": info.get(actor_id, {}).get("name", ""),
            "roles": info.get(actor_id, {}).get("roles", []),
            "department": info.get(actor_id, {}).get("department"),
            "key_id": current_key_id if current else None,
            "revoked": current is None,
        })
    if as_json:
        click.echo(msgspec.json.encode(actors).decode())
        return
    for a in actors:
        state = "revoked" if a["revoked"] else a["key_id"]
        click.echo(f"{a['actor_id']:<16} {','.join(a['roles']):<24} {a['department'] or '-':<10} {state}  {a['name']}")
