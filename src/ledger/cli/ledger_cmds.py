"""`drledger init`, `status` and `verify`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ledger.cli.common import EXIT_FAILED_CHECK, clear_errors, config_from, fail, store_options


@click.command()
@store_options
@click.option("--origin", default=None, help="Log origin (C2SP checkpoint name); default drledger.local/<key id>.")
@click.option("--admin-id", default="admin", show_default=True, help="Actor id of the first admin.")
@click.option("--admin-name", default="Administrator", show_default=True, help="Display name of the first admin.")
@click.option("--admin-key", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the first admin's key [default: <DRLEDGER_KEYS>/<ADMIN-ID>.pem].")
@click.option("--seed-calendar", is_flag=True,
              help="Then record chinesecalendar's holiday schedules from last year on, signed by the admin"
                   " (as `drledger calendar seed`).")
@clear_errors
def init(store: str | None, home: str, origin: str | None, admin_id: str, admin_name: str,
         admin_key: Path | None, seed_calendar: bool) -> None:
    """Create a new ledger: the ledger key, the first admin's key and the genesis.

    The ledger key goes under HOME/keys (it signs transactions, receipts and
    checkpoints). The first admin's own key goes into the admin's key folder,
    outside HOME: DRLEDGER_KEYS, else ~/.config/drledger/keys/<origin>/.
    Key files have mode 0600 and are protected by DRLEDGER_KEY_PASSPHRASE
    when it is set. Refuses to run over an existing ledger or key files.

    \b
    Example:
      drledger init --origin ledger.scjg.xinyu.gov.cn/2026 --seed-calendar
      DRLEDGER_STORE=postgresql://ledger@127.0.0.1/test drledger init
    """
    from ledger.services.admin import init as init_ledger

    config = config_from(store, home)
    result = init_ledger(config, origin=origin, admin_id=admin_id, admin_name=admin_name, admin_key_file=admin_key)
    click.echo(f"initialised {config.display}")
    click.echo(f"origin      {result.origin}")
    click.echo(f"ledger key  {result.ledger_key_id}  ({result.ledger_key_file})")
    click.echo(f"admin       {result.admin_id}  key {result.admin_key_id}  ({result.admin_key_file})")
    click.echo(f"head        {result.head}")
    click.echo(f"the admin's own key is {result.admin_key_file}: keep it off the ledger's machine;"
               f" sign with --as {result.admin_id}")
    if seed_calendar:
        from ledger.cli.common import signer_for
        from ledger.domain.commands import china_date
        from ledger.domain.workdays import package_years
        from ledger.integrity.canonical import utc_now
        from ledger.services.ledger import open_ledger
        from ledger.services.settings import seed_calendar as seed

        years = [y for y in package_years() if y >= china_date(utc_now()).year - 1]
        with open_ledger(config) as ledger:
            done = seed(ledger, signer_for(config, result.admin_id, Path(result.admin_key_file)), result.admin_id,
                        years)
        click.echo("calendar    " + (", ".join(f"{y} {outcome}" for y, outcome in done) or
                                     "chinesecalendar knows no year from last year on: record them with"
                                     " `drledger settings calendar`"))


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

    from ledger.services.admin import status as ledger_status

    info = ledger_status(config_from(store, home))
    if as_json:
        click.echo(msgspec.json.encode(info).decode())
        return
    click.echo(f"store           {info.store}")
    click.echo(f"origin          {info.origin}")
    click.echo(f"size            {info.size}")
    click.echo(f"head            {info.head}")
    last = info.last_signature
    if last:
        click.echo(f"last signature  {last.at}  key {last.key_id}  positions {last.first}-{last.last}")


@click.command()
@store_options
@click.option("--expect-head", default=None, metavar="[SIZE:]HEX", help="A head you saved earlier: it must still be in the chain (at SIZE).")
@click.option("--ledger-key", default=None, metavar="BASE64", help="The trusted ledger public key (default: HOME/trust.json if present).")
@click.option("--require-pinned-key", "require_pinned", is_flag=True,
              help="Fail (exit 1) unless a trusted ledger key is pinned (--ledger-key or HOME/trust.json).")
@click.option("--receipt", "receipts", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A receipt a write command gave you: the ledger must still hold exactly its events. Repeatable.")
@click.option("--checkpoint", "checkpoint_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A checkpoint you saved (`drledger log checkpoint`): the ledger must still hold it. Repeatable.")
@click.option("--require-witnesses", "require_witnesses", type=click.IntRange(min=1), default=None, metavar="K",
              help="Fail (exit 1) unless the latest checkpoint carries K valid cosignatures of registered witnesses.")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Processes to use (default: 2 on large ledgers).")
@click.option("--read-only", "read_only", is_flag=True,
              help="Open the store read-only and write nothing (SQLite: immutable; automatic when the file is read-only).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@clear_errors
def verify(
    store: str | None, home: str, expect_head: str | None, ledger_key: str | None, require_pinned: bool,
    receipts: tuple[Path, ...], checkpoint_files: tuple[Path, ...], require_witnesses: int | None,
    workers: int | None, read_only: bool, as_json: bool,
) -> None:
    """Recompute the hash chain from the stored bytes and re-execute every command.

    Checks every ledger signature, re-executes every signed command through
    the ledger's rules (each must yield exactly its stored events, each
    recorded refusal must be what the rules say), checks the Merkle tree,
    every checkpoint and cosignature, and replays every draw
    (docs/integrity.md). Exit 0 only when everything holds; otherwise exit 1
    naming the first bad position and what is wrong.

    Anchors kept outside the ledger hold it to its past:
    --receipt: each receipt must be signed by the ledger key in force and
    its positions must hold exactly its event hashes (else the ledger
    censored or rewrote that command). --checkpoint: each saved checkpoint
    must verify with the ledger key in force at its size, and its root must
    be the ledger's root at that size (else the ledger forked, was rewritten
    or lost its tail). --require-witnesses K: the latest checkpoint must
    carry valid cosignatures of K active registered witnesses.

    verify never writes to a ledger. With --read-only, or when the SQLite
    file or its folder is read-only (chmod a-w, or not writable for you),
    the file is opened immutable: no lock, no -wal/-shm file, not one byte
    written (an auditor's copy, docs/auditors.md).

    The ledger key is trusted only when pinned: --ledger-key, else
    HOME/trust.json (written by init on the operator's machine; an auditor
    keeps their own). Without one, verify warns on stderr that the key was
    taken from the ledger itself (a ledger rewritten under a new key would
    pass too); --require-pinned-key makes that a failure (exit 1).

    \b
    Example:
      drledger verify
      drledger verify --expect-head 1200:5d41...e3 --json
      drledger verify --receipt import-receipt.json
      drledger verify --checkpoint 2026-03.checkpoint --checkpoint 2026-04.checkpoint
      drledger verify --require-witnesses 2
      drledger verify --read-only --store sqlite:///copy/ledger.sqlite
      drledger verify --require-pinned-key --ledger-key 'n2Ci…=' --store sqlite:///copy/ledger.sqlite
    """
    import msgspec

    from ledger.services.actors import decode_public_key
    from ledger.services.verification import (
        ExpectedHead,
        check_receipt,
        load_checkpoint,
        load_receipt,
        trusted_ledger_key,
    )
    from ledger.services.setup import TRUST_FILE
    from ledger.services.verification import verify as verify_ledger
    from ledger.store.config import sqlite_file_read_only

    config = config_from(store, home)
    if read_only or (config.kind == "sqlite" and sqlite_file_read_only(config.sqlite_path)):
        config = config.as_read_only()
    try:
        expected = ExpectedHead.parse(expect_head) if expect_head else None
        loaded = [(path, load_receipt(path)) for path in receipts]
        saved = [load_checkpoint(path) for path in checkpoint_files]
    except ValueError as error:
        fail(str(error))
        return
    try:
        trusted = decode_public_key(ledger_key) if ledger_key else trusted_ledger_key(config)
    except ValueError as error:
        fail(f"--ledger-key: {error}")
        return
    source = "--ledger-key" if ledger_key else str(config.home / TRUST_FILE)
    if require_pinned and trusted is None:
        fail(f"no trusted ledger key is pinned (--require-pinned-key): give --ledger-key BASE64 or a --home"
             f" holding your own {TRUST_FILE} (docs/auditors.md)", EXIT_FAILED_CHECK)
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
                trusted_key_source=source,
                checkpoints=saved,
                require_witnesses=require_witnesses,
            )
    else:
        report = verify_ledger(config, trusted_key=trusted, expected=expected, workers=workers,
                               trusted_key_source=source, checkpoints=saved, require_witnesses=require_witnesses)
    checks = [check_receipt(config, receipt, trusted_key=trusted, source=str(path)) for path, receipt in loaded]
    if as_json:
        body = msgspec.to_builtins(report)
        if checks:
            body["receipts"] = msgspec.to_builtins(checks)
        click.echo(msgspec.json.encode(body).decode())
    elif report.ok:
        click.echo(
            f"ok: {report.size} events, {report.transactions} signed transactions,"
            f" {report.actor_signatures_checked} actor signatures; head {report.head}"
        )
        click.echo(
            f"{report.checks.get('commands_reexecuted', 0)} commands re-executed,"
            f" {report.checks.get('refusals_rechecked', 0)} refusals re-checked,"
            f" {report.checks.get('draws_replayed', 0)} draws replayed,"
            f" {report.checks.get('checkpoints', 0)} checkpoints and {report.checks.get('tree_nodes', 0)} tree nodes checked"
        )
        click.echo(
            f"draw attempts: {report.checks.get('draw_commitments', 0)} commitments,"
            f" {report.checks.get('draws_replayed', 0)} draws, {report.checks.get('draw_voids', 0)} voids,"
            f" {report.checks.get('abandoned_commitments', 0)} abandoned commitments (drledger draw list)"
        )
        if report.checks.get("draw_commitments"):
            click.echo(
                f"draw timing: {report.checks.get('commitments_witnessed_in_time', 0)} commitment(s) cosigned by a"
                " witness before their beacon round was published;"
                f" {report.checks.get('commitments_operator_timed', 0)} attested by the operator's clock alone"
            )
        if report.trusted_key:
            click.echo(f"genesis ledger key matches the trusted key {report.trusted_key} (pinned by {report.ledger_key_source})")
        if report.expected_head:
            click.echo(f"expected head {report.expected_head} is in the chain")
        for cp in report.saved_checkpoints:
            click.echo(f"checkpoint {cp.source}: ok: {cp.what}")
        if report.witnesses is not None:
            click.echo(f"witnessed: {report.witnesses.summary()}")
        if report.read_only:
            how = "immutable (mode=ro&immutable=1)" if config.kind == "sqlite" else "in read-only transactions"
            click.echo(f"read-only: {report.store} opened {how}; nothing was written")
    else:
        first = report.problems[0]
        where = f" at position {first.position}" if first.position is not None else ""
        click.echo(f"FAILED{where}: {first.what}", err=True)
        for problem in report.problems[1:5]:
            click.echo(f"  also: {problem.what}", err=True)
    if not as_json:
        for check in checks:
            if check.ok:
                click.echo(f"receipt {check.source}: ok: {check.what}")
            else:
                click.echo(f"receipt {check.source}: FAILED: {check.what}", err=True)
    for warning in report.warnings:
        click.echo(f"drledger: WARNING: {warning}", err=True)
    if not report.ok or not all(check.ok for check in checks):
        sys.exit(EXIT_FAILED_CHECK)
