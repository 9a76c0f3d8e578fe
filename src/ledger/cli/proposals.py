"""`drledger proposal`: guarded actions approved by m of n, including discipline (纪检)."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.cli.common import actor_options, clear_errors, config_from, signer_for, store_options

ACTIONS = ("recover_key", "revoke", "set_roles")


@click.group()
def proposal() -> None:
    """Guarded actions: key recovery, revoking an inspector or drawer, taking such a role.

    An admin opens a proposal; admins and discipline (纪检) actors approve it. It
    takes effect when the governance settings' number of approvers is reached,
    one of them a discipline actor; a recovered key signs only after the
    cooling-off period. Every proposal is public (`proposal list`).

    \b
    Example:
      drledger proposal open P-2026-01 --action recover_key --target JX-0001 \\
          --public-key MCow...= --reason "执法终端丢失" --as admin
      drledger proposal approve P-2026-01 --as jj-01
      drledger proposal list
    """


@proposal.command(name="open")
@store_options
@click.argument("proposal_id")
@click.option("--action", type=click.Choice(ACTIONS), required=True, help="What the proposal does.")
@click.option("--target", required=True, metavar="ID",
              help="The actor it is about (void_draw: the task; add_beacon: the beacon network's ID).")
@click.option("--reason", required=True, help="Why (kept in the ledger).")
@click.option("--public-key", default=None, metavar="BASE64", help="recover_key: the new public key.")
@click.option("--role", "roles", multiple=True, help="set_roles: the roles the actor keeps (repeat).")
@click.option("--chain-info", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="add_beacon: the network's drand chain info (JSON file).")
@actor_options
@clear_errors
def open_cmd(store: str | None, home: str, proposal_id: str, action: str, target: str, reason: str,
             public_key: str | None, roles: tuple[str, ...], chain_info: Path | None, as_actor: str,
             key: Path | None) -> None:
    """Open a proposal, signed by an admin (it counts as the first approval).

    \b
    Examples:
      drledger proposal open P-2026-02 --action revoke --target JX-0007 --reason "调离" --as admin
      drledger proposal open P-2026-03 --action void_draw --target T-2026-001 --reason "…" --as admin
      drledger proposal open P-2026-04 --action add_beacon --target evmnet --chain-info evmnet.json --reason "…" --as admin
    """
    from ledger.services.actors import decode_public_key
    from ledger.services.ledger import open_ledger
    from ledger.services.proposals import sign_open

    config = config_from(store, home)
    raw = None
    if public_key is not None:
        try:
            raw = decode_public_key(public_key)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--public-key") from None
    beacon = None
    if chain_info is not None:
        import json

        try:
            beacon = json.loads(chain_info.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise click.BadParameter(f"{chain_info}: not JSON ({error})", param_hint="--chain-info") from None
    signed = sign_open(signer_for(config, as_actor, key), as_actor, proposal_id=proposal_id, action=action,
                       target=target, reason=reason, public_key=raw, roles=roles, beacon=beacon)
    with open_ledger(config) as ledger:
        receipt = ledger.submit(signed)
    click.echo(f"proposal {proposal_id} opened at position {receipt.first}")


@proposal.command()
@store_options
@click.argument("proposal_id")
@actor_options
@clear_errors
def approve(store: str | None, home: str, proposal_id: str, as_actor: str, key: Path | None) -> None:
    """Approve a proposal (an admin or a discipline actor; not the actor it is about).

    \b
    Example:
      drledger proposal approve P-2026-01 --as jj-01
    """
    from ledger.services.ledger import open_ledger
    from ledger.services.proposals import list_proposals, sign_approve

    config = config_from(store, home)
    with open_ledger(config) as ledger:
        receipt = ledger.submit(sign_approve(signer_for(config, as_actor, key), as_actor, proposal_id=proposal_id))
        remote = ledger.proposals() if getattr(ledger, "remote", False) else None  # --server
    info = next(p for p in (remote or list_proposals(config)) if p.proposal_id == proposal_id)
    state = f"took effect (from {info.effective_from})" if info.done else \
        f"{len(info.approvers)} approvals of {info.needed} needed (one from a discipline actor)"
    click.echo(f"proposal {proposal_id} approved at position {receipt.first}: {state}")


@proposal.command(name="list")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@clear_errors
def list_cmd(store: str | None, home: str, as_json: bool) -> None:
    """Every proposal, its approvals and whether it took effect (public).

    \b
    Example:
      drledger proposal list --json
    """
    import msgspec

    from ledger.services.proposals import list_proposals

    proposals = list_proposals(config_from(store, home))
    if as_json:
        click.echo(msgspec.json.encode(proposals).decode())
        return
    for p in proposals:
        state = f"in effect from {p.effective_from}" if p.done else f"open ({len(p.approvers)}/{p.needed})"
        click.echo(f"{p.proposal_id:<16} {p.action:<12} {p.target:<16} {state:<40} by {','.join(p.approvers)}"
                   f"  {p.reason}")
