"""Fill a ledger with a deterministic demo city, through the users' own paths.

The city's rows go through CSV and `import_file` exactly as a list
manager's files would; later stages (plans, draws, results, checkpoints)
are added by their own modules.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from ledger.demo.city import generate_city, to_csv
from ledger.directory_service import ImportSummary, import_file
from ledger.store.config import StoreConfig

IMPORT_ORDER = ("departments", "items", "entities", "inspectors", "conflicts")


class DemoSummary(msgspec.Struct, kw_only=True):
    seed: int
    small: bool
    city: str
    imports: list[ImportSummary]


def build_demo(
    config: StoreConfig, *, seed: int, small: bool, say: Callable[[str], None] = lambda _: None
) -> DemoSummary:
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
