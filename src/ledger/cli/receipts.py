"""Receipts on the command line: keep the ledger's signed word for a write.

`--receipt FILE` on a write command saves the ledger's signed receipt (JSON)
of that command; `drledger verify --receipt FILE` later proves that the
ledger still holds exactly those events at those positions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F")


def receipt_option(function: F) -> F:
    return click.option(  # type: ignore[no-any-return]
        "--receipt", "receipt_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="Save the ledger's signed receipt of this command (JSON) to FILE; check it later with"
             " `drledger verify --receipt FILE`.",
    )(function)


def save_receipt(path: Path, receipt: Any) -> None:
    import msgspec

    path.write_bytes(msgspec.json.format(msgspec.json.encode(receipt), indent=2) + b"\n")


def keep_receipt(path: Path | None, receipt: Any) -> None:
    """Save the receipt where `--receipt FILE` asked (nothing without it)."""
    if path is not None:
        save_receipt(path, receipt)
