"""Fill a ledger with a deterministic demo city, through the users' own paths.

The city's rows go through CSV and `import_file` exactly as a list
manager's files would; then plans, tasks and draws go through the draw
service, and a signed checkpoint is published after each stage.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from ledger.demo.city import generate_city, to_csv
from ledger.demo.draws import add_draws
from ledger.demo.results import add_results
from ledger.directory_service import ImportSummary, import_file
from ledger.store.config import StoreConfig

IMPORT_ORDER = ("departments", "items", "entities", "inspectors", "conflicts")


class DemoSummary(msgspec.Struct, kw_only=True):
    seed: int
    small: bool
    city: str
    imports: list[ImportSummary]
    tasks: list[str] = []
    checkpoints: list[int] = []


def run_demo(
    config: StoreConfig, *, seed: int, small: bool, say: Callable[[str], None] = lambda _: None
) -> DemoSummary:
    """The whole demo: the city's list and pools, draws, then results (some late,
    corrected, refused, disclosed), with a checkpoint after each stage."""
    demo = build_demo(config, seed=seed, small=small, say=say)
    demo.checkpoints.append(_checkpoint(config, say))
    demo.tasks = add_draws(config, say=say)
    demo.checkpoints.append(_checkpoint(config, say))
    add_results(config, seed, say=say)
    demo.checkpoints.append(_checkpoint(config, say))
    return demo


def build_demo(
    config: StoreConfig, *, seed: int, small: bool, say: Callable[[str], None] = lambda _: None
) -> DemoSummary:
    """Stage 1: the city's departments, item list, pools and conflicts."""
    city = generate_city(seed, small)
    summaries = []
    for kind in IMPORT_ORDER:
        summary = import_file(
            config, kind, to_csv(city.rows(kind), kind), file_name=f"demo-{kind}.csv",
            accept_bad_check=True, actor="admin",
        )
        if summary.errors:
            raise RuntimeError(f"demo {kind} did not import: {summary.errors[0]}")
        say(f"{kind}: {summary.new} new, {summary.changed} changed, {summary.unchanged} unchanged")
        summaries.append(summary)
    return DemoSummary(seed=seed, small=small, city=city.name, imports=summaries)


def _checkpoint(config: StoreConfig, say: Callable[[str], None]) -> int:
    """Publish a signed checkpoint, so the demo ledger has a checkpoint history."""
    from ledger.checkpoints import publish_checkpoint
    from ledger.integrity.note import parse_checkpoint
    from ledger.setup import load_ledger_signer

    note = publish_checkpoint(config, load_ledger_signer(config))
    size = parse_checkpoint(note.split("\n\n")[0] + "\n").size
    say(f"checkpoint published at size {size}")
    return size
