"""`drledger sample`: Rivest's consistent sampler over IDs read from a file.

The click command only: the work is in ledger.cli.sampling (imported when the
command runs, so that `drledger sample --help` stays instant). The console
script runs plain invocations without click (ledger.cli.sampling.console).
"""

from __future__ import annotations

import click


class InputError(click.ClickException):
    """A refused input: one line on stderr, exit status 2, no traceback."""

    exit_code = 2


EPILOG = """\b
Examples:
  drledger sample --seed 41 --ids firms.txt --n 5
  seq 0 99 | drledger sample --seed 41 --ids - --n 5 --drop 5
      (prints 42 39 20 11 67, one per line: the reference's Example 5)
  drledger sample --seed 31 --ids firms.txt --n 3 --tickets
"""


@click.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--seed", required=True, help="Seed text, used exactly as given (UTF-8).")
@click.option("--ids", "ids_path", required=True, metavar="FILE",
              help="UTF-8 file with one ID per line, or - for standard input.")
@click.option("--n", "n", required=True, type=click.IntRange(min=0),
              help="How many IDs to draw (after the dropped ones).")
@click.option("--drop", default=0, show_default=True, type=click.IntRange(min=0),
              help="Skip this many draws first (to extend an earlier sample).")
@click.option("--tickets", is_flag=True,
              help="Print 'ticket<TAB>id' with the full reference ticket.")
def sample(seed: str, ids_path: str, n: int, drop: int, tickets: bool) -> None:
    """Draw IDs with Rivest's consistent sampler (SHA-256, without replacement).

    Prints the drawn IDs one per line in draw order, identical to
    ron-rivest/consistent_sampler (the sampler Arlo uses). Only the line end
    (\\n or \\r\\n) is removed from each line. A blank line, a duplicate ID
    or invalid UTF-8 is refused with its line number (exit status 2).
    The spec, to reimplement it: docs/sampler.md.
    """
    from ledger.cli import sampling

    try:
        sampling.run(seed, ids_path, n, drop, tickets)
    except sampling.InputError as refused:
        raise InputError(str(refused)) from None
