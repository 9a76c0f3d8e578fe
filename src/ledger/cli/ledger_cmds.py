"""`drledger init`, `status` and `verify`."""

from __future__ import annotations

import sys

import click

from ledger.cli.common import EXIT_FAILED_CHECK, clear_errors, config_from, fail, store_options


@click.command()
@store_options
@click.option("--origin", default=None, help="Log origin (C2SP checkpoint name); default drledger.local/<key id>.")
@click.option("--admin-id", default="admin", show_default=True, help="Actor id of the first admin.")
@click.option("--admin-name", default="Administrator", show_default=True, help="Display name of the first admin.")
@clear_errors
def init(store: str | None, home: str, origin: str | None, admin_id: str, admin_name: str) -> None:
    """Create a new ledger: the ledger key, a first admin key and the genesis event.

    Key files are written under HOME/keys with mode 0600, protected by
    DRLEDGER_KEY_PASSPHRASE when it is set. Refuses to run over an existing
    ledger or existing key files.

    \b
    Example:
      drledger init --origin ledger.scjg.xinyu.gov.cn/2026
      DRLEDGER_STORE=postgresql://ledger@127.0.0.1/test drledger init
    """
    from ledger.setup import init_ledger

    config = config_from(store, home)
    result = init_ledger(config, origin=origin, admin_id=admin_id, admin_name=admin_name)
    click.echo(f"initialised {config.display}")
    click.echo(f"origin      {result.origin}")
    click.echo(f"ledger key  {result.ledger_key_id}  ({result.ledger_key_file})")
    click.echo(f"admin       {result.admin_id}  key {result.admin_key_id}  ({result.admin_key_file})")
    click.echo(f"head        {result.head}")


@click.command()
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@clear_errors
def status(store: str | None, home: str, as_json: bool) -> None:
    """Show the ledger's size (events), head hash and last signature.

    \b
    Example:
      drledger status
      drledger status --json | jq .head
    """
    import msgspec

    from ledger.integrity.canonical import rfc3339
    from ledger.store.reader import open_reader
    from ledger.verify.keys import LEDGER_KEY_TOPICS, LedgerKeySchedule

    config = config_from(store, home)
    with open_reader(config) as reader:
        head = reader.head()
        size, head_hash = head if head else (0, b"")
        last = reader.last_transaction()
        origin = LedgerKeySchedule.from_events(reader.events_with_topics(LEDGER_KEY_TOPICS)).origin if size else ""
    from datetime import UTC, datetime

    signed_at = rfc3339(datetime.fromtimestamp(last.signed_at_us / 1e6, UTC)) if last else None
    info = {
        "store": config.display,
        "origin": origin,
        "size": size,
        "head": head_hash.hex(),
        "last_signature": (
            {"at": signed_at, "key_id": last.key_id, "first": last.first_seq, "last": last.last_seq} if last else None
        ),
    }
    if as_json:
        click.echo(msgspec.json.encode(info).decode())
        return
    click.echo(f"store           {info['store']}")
    click.echo(f"origin          {origin}")
    click.echo(f"size            {size}")
    click.echo(f"head            {info['head']}")
    if last:
        click.echo(f"last signature  {signed_at}  key {last.key_id}  positions {last.first_seq}-{last.last_seq}")


@click.command()
@store_options
@click.option("--expect-head", default=None, metavar="[SIZE:]HEX", help="A head you saved earlier: it must still be in the chain (at SIZE).")
@click.option("--ledger-key", default=None, metavar="BASE64", help="The trusted ledger public key (default: HOME/trust.json if present).")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Processes to use (default: 2 on large ledgers).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@clear_errors
def verify(
    store: str | None, home: str, expect_head: str | None, ledger_key: str | None, workers: int | None, as_json: bool
) -> None:
    """Recompute the hash chain from the stored bytes and check every signature.

    Also checks the actor signatures, the Merkle tree, every checkpoint and
    cosignature, and replays every draw from the events (docs/integrity.md).
    Exit 0 only when everything holds; otherwise exit 1 naming the first bad
    position and what is wrong.

    \b
    Example:
      drledger verify
      drledger verify --expect-head 1200:5d41...e3 --json
    """
    import msgspec

    from ledger.integrity.keys import decode_public_key
    from ledger.setup import trusted_ledger_key
    from ledger.verify.ledger_check import ExpectedHead, verify_ledger

    config = config_from(store, home)
    try:
        expected = ExpectedHead.parse(expect_head) if expect_head else None
        trusted = decode_public_key(ledger_key) if ledger_key else trusted_ledger_key(config)
    except ValueError as error:
        fail(str(error))
        return
    if sys.stderr.isatty() and not as_json:
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task("verifying", total=None)
            report = verify_ledger(
                config,
                trusted_key=trusted,
                expected=expected,
                workers=workers,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    else:
        report = verify_ledger(config, trusted_key=trusted, expected=expected, workers=workers)
    if as_json:
        click.echo(msgspec.json.encode(report).decode())
    elif report.ok:
        click.echo(
            f"ok: {report.size} events, {report.transactions} signed transactions,"
            f" {report.actor_signatures_checked} actor signatures; head {report.head}"
        )
        click.echo(
            f"{report.checks.get('draws_replayed', 0)} draws replayed,"
            f" {report.checks.get('checkpoints', 0)} checkpoints and {report.checks.get('tree_nodes', 0)} tree nodes checked"
        )
        if report.trusted_key:
            click.echo(f"genesis ledger key matches the trusted key {report.trusted_key}")
        if report.expected_head:
            click.echo(f"expected head {report.expected_head} is in the chain")
    else:
        first = report.problems[0]
        where = f"position {first.position}" if first.position is not None else "store"
        click.echo(f"FAILED at {where}: {first.what}", err=True)
        for problem in report.problems[1:5]:
            click.echo(f"  also: {problem.what}", err=True)
    if not report.ok:
        sys.exit(EXIT_FAILED_CHECK)
