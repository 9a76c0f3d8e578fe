"""`drledger log`: checkpoints, verifier key, proofs, witnesses."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import click

from ledger.cli.common import EXIT_FAILED_CHECK, actor_options, clear_errors, config_from, fail, store_options, submit
from ledger.cli.receipts import receipt_option


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _log_errors(function: Any) -> Any:
    """clear_errors plus the log's own refusals (still one line on stderr)."""
    import functools

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ledger.services.checkpoints import CheckpointRefused
        from ledger.services.log import NoteError, ProofRequestError, TreeError
        from ledger.services.witnesses import WitnessError

        try:
            return function(*args, **kwargs)
        except (CheckpointRefused, ProofRequestError, TreeError, WitnessError, NoteError) as error:
            fail(str(error))

    return clear_errors(wrapper)


@click.group()
def log() -> None:
    """Transparency log: RFC 9162 tree over the events, C2SP checkpoints, proofs.

    \b
    Example:
      drledger log checkpoint --publish
      drledger log prove --index 0 > proof.json && drledger log verify-proof proof.json
    """


@log.command()
@store_options
@click.option("--publish", is_flag=True, help="First publish a checkpoint for the current size.")
@click.option("--require-witnesses", "require", type=int, default=None, metavar="K",
              help="Fail (exit 1) unless K registered witnesses cosigned it.")
@_log_errors
def checkpoint(store: str | None, home: str, publish: bool, require: int | None) -> None:
    """Print the latest signed checkpoint note verbatim, with witness cosignatures.

    \b
    Example:
      drledger log checkpoint --publish > checkpoint.txt
    """
    from ledger.services.checkpoints import publish_checkpoint, served_checkpoint

    config = config_from(store, home)
    if publish:
        publish_checkpoint(config)
    note = served_checkpoint(config)
    if note is None:
        fail("no checkpoint has been published: run `drledger log publish`")
        return
    if require is not None:
        from ledger.services.witnesses import witness_status

        status = witness_status(config, require)
        if not status.witnessed:
            click.echo(f"drledger: checkpoint has {status.cosignatures} of the {require} witness cosignatures required", err=True)
            sys.exit(EXIT_FAILED_CHECK)
    click.echo(note, nl=False)


@log.command()
@store_options
@_log_errors
def publish(store: str | None, home: str) -> None:
    """Sign and store a checkpoint for the current size (idempotent).

    Refuses if the latest stored checkpoint is not a prefix of the current tree.

    \b
    Example:
      drledger log publish
    """
    from ledger.services.checkpoints import publish_checkpoint

    click.echo(publish_checkpoint(config_from(store, home)), nl=False)


@log.command()
@store_options
@_log_errors
def vkey(store: str | None, home: str) -> None:
    """Print the checkpoint verifier key: name+hex8(keyID)+base64(0x01 || key).

    The name is the ledger's origin; the key is the ledger key in force now.

    \b
    Example:
      drledger log vkey
    """
    from ledger.services.checkpoints import verifier_key

    click.echo(verifier_key(config_from(store, home)))


@log.command()
@store_options
@click.option("--index", type=int, required=True, help="Leaf index (position - 1).")
@click.option("--size", type=int, default=None, help="Tree size (default: the current size).")
@_log_errors
def prove(store: str | None, home: str, index: int, size: int | None) -> None:
    """Inclusion proof as JSON {"leafIdx","treeSize","root","leafHash","proof"}.

    Standard base64, the shape of transparency-dev/merkle's testdata.

    \b
    Example:
      drledger log prove --index 41 --size 1000
    """
    from ledger.services.log import inclusion_proof

    bundle = inclusion_proof(config_from(store, home), index, size)
    out = {"leafIdx": bundle.index, "treeSize": bundle.size, "root": _b64(bundle.root),
           "leafHash": _b64(bundle.leaf_hash), "proof": [_b64(p) for p in bundle.proof]}
    click.echo(json.dumps(out, indent=2))


@log.command()
@store_options
@click.option("--size1", type=int, required=True, help="Older tree size (> 0).")
@click.option("--size2", type=int, default=None, help="Newer tree size (default: the current size).")
@_log_errors
def consistency(store: str | None, home: str, size1: int, size2: int | None) -> None:
    """Consistency proof as JSON {"size1","size2","root1","root2","proof"}.

    \b
    Example:
      drledger log consistency --size1 100 --size2 250
    """
    from ledger.services.log import consistency_proof

    b = consistency_proof(config_from(store, home), size1, size2)
    out = {"size1": b.size1, "size2": b.size2, "root1": _b64(b.root1), "root2": _b64(b.root2),
           "proof": [_b64(p) for p in b.proof]}
    click.echo(json.dumps(out, indent=2))


SIZE0_RULE = ("rule: size1 = 0 is an error (RFC 9162 defines consistency proofs only for"
              " 0 < size1 <= size2; the empty tree is a prefix of every tree, so nothing is proved)")
EQUAL_RULE = "rule: equal sizes need an empty proof and equal roots (RFC 9162 §2.1.4.1)"


@log.command(name="verify-proof")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@clear_errors
def verify_proof(file: Any) -> None:
    """Verify an inclusion or consistency proof JSON file ('-' for stdin).

    Needs no store: checks the proof against the roots in the file only.
    Exit 0 if it verifies, 1 if not.

    \b
    Example:
      drledger log prove --index 3 | drledger log verify-proof -
    """
    from ledger.services.log import ProofError, verify_consistency, verify_inclusion

    try:
        data = json.load(file)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if "leafIdx" in data:
            kind = "inclusion"
            args = (_dec(data["leafHash"]), int(data["leafIdx"]), int(data["treeSize"]),
                    [_dec(p) for p in data["proof"] or []], _dec(data["root"]))
        elif "size1" in data:
            kind = "consistency"
            s1, s2 = int(data["size1"]), int(data["size2"])
            args = (s1, s2, [_dec(p) for p in data["proof"] or []], _dec(data["root1"]), _dec(data["root2"]))
        else:
            raise ValueError("neither an inclusion (leafIdx) nor a consistency (size1) proof")
    except (ValueError, KeyError, TypeError) as error:
        fail(f"{file.name}: unreadable proof file: {error}")
        return
    if kind == "consistency":
        if args[0] == 0:
            click.echo(SIZE0_RULE)
        elif args[0] == args[1]:
            click.echo(EQUAL_RULE)
    try:
        if kind == "inclusion":
            verify_inclusion(*args)  # type: ignore[arg-type]
            click.echo(f"ok: leaf {args[1]} is in the tree of size {args[2]} with root {_b64(args[4])}")  # type: ignore[arg-type]
        else:
            verify_consistency(*args)  # type: ignore[arg-type]
            click.echo(f"ok: the tree of size {args[0]} is a prefix of the tree of size {args[1]}")
    except ProofError as error:
        click.echo(f"FAILED: {kind} proof does not verify: {error}", err=True)
        sys.exit(EXIT_FAILED_CHECK)


def _dec(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("hashes must be base64 strings")
    return base64.b64decode(text, validate=True)


# -- witnesses -------------------------------------------------------------------


@log.group()
def witness() -> None:
    """Witnesses that cosign checkpoints (C2SP tlog-witness).

    \b
    Example:
      drledger log witness add w1 w1.example+1a2b3c4d+BKx... --url https://w1.example/
      drledger log witness push && drledger log witness status
    """


@witness.command(name="add")
@store_options
@click.argument("name")
@click.argument("vkey")
@click.option("--url", required=True, help="The witness's submission prefix (add-checkpoint is under it).")
@actor_options
@receipt_option
@_log_errors
def witness_add(store: str | None, home: str, name: str, vkey: str, url: str, as_actor: str, key: Path | None,
                receipt_out: Path | None) -> None:
    """Register a witness by its cosignature/v1 vkey (a command signed by an admin).

    \b
    Example:
      drledger log witness add w1 witness.example/w1+1a2b3c4d+BKx...= --url http://127.0.0.1:8080 --as admin
    """
    from ledger.services.witnesses import add_witness, parse_witness_vkey

    parse_witness_vkey(vkey)
    receipt = submit(store, home, as_actor, key,
                     lambda ledger, signer: add_witness(ledger, signer, as_actor, name=name, vkey=vkey, url=url),
                     receipt_out)
    click.echo(f"registered witness {name} ({url}) at position {receipt.first}")


@witness.command(name="remove")
@store_options
@click.argument("name")
@click.option("--reason", required=True, help="Why the witness is no longer asked (kept in the ledger).")
@actor_options
@receipt_option
@_log_errors
def witness_remove(store: str | None, home: str, name: str, reason: str, as_actor: str, key: Path | None,
                   receipt_out: Path | None) -> None:
    """Stop asking a witness to cosign (a command signed by an admin); its past cosignatures stay checked.

    \b
    Example:
      drledger log witness remove w1 --reason "witness retired" --as admin
    """
    from ledger.services.witnesses import remove_witness

    submit(store, home, as_actor, key,
           lambda ledger, signer: remove_witness(ledger, signer, as_actor, name=name, reason=reason), receipt_out)
    click.echo(f"removed witness {name}")


@witness.command(name="push")
@store_options
@click.option("--publish/--no-publish", default=True, show_default=True, help="Publish a checkpoint for the current size first.")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds per witness request.")
@_log_errors
def witness_push(store: str | None, home: str, publish: bool, timeout: float) -> None:
    """Send the latest checkpoint with its consistency proof to every active witness.

    Stores each returned cosignature; exit 1 if any witness refused.

    \b
    Example:
      drledger log witness push
    """
    from ledger.services.checkpoints import publish_checkpoint
    from ledger.services.witnesses import push_all

    config = config_from(store, home)
    if publish:
        publish_checkpoint(config)
    results = push_all(config, timeout)
    for r in results:
        click.echo(f"{r.witness:<16} size {r.size}  old {r.old}  {'ok' if r.ok else 'FAILED'}: {r.message}")
    if not all(r.ok for r in results):
        sys.exit(EXIT_FAILED_CHECK)


@witness.command(name="status")
@store_options
@click.option("--threshold", type=int, default=None, metavar="K", help="Cosignatures required (default: a majority of active witnesses).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_log_errors
def witness_status_cmd(store: str | None, home: str, threshold: int | None, as_json: bool) -> None:
    """Whether the latest checkpoint is witnessed: K of N active witnesses cosigned it.

    Exit 0 if witnessed, 1 if not.

    \b
    Example:
      drledger log witness status --threshold 2
    """
    import msgspec

    from ledger.services.witnesses import witness_status

    status = witness_status(config_from(store, home), threshold)
    if as_json:
        click.echo(msgspec.json.encode(status).decode())
    else:
        verdict = "witnessed" if status.witnessed else "NOT witnessed"
        click.echo(f"checkpoint size {status.size}: {status.cosignatures} of {status.active} active witnesses"
                   f" cosigned, {status.threshold} required: {verdict}")
        for w in status.witnesses:
            state = "cosigned" if w.cosigned else "-"
            click.echo(f"  {w.name:<16} {'active' if w.active else 'removed':<8} {state:<9} last size {w.cosigned_size}  {w.url}")
    if not status.witnessed:
        sys.exit(EXIT_FAILED_CHECK)
