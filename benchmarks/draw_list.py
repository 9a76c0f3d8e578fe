"""The draw list (drledger draw list, GET /api/v1/draws) from its read model against
decoding every commit, run and void event (issue 13).

    .venv/bin/python benchmarks/draw_list.py --home data [--store URL] [--rounds 15]

Runs on an existing ledger (e.g. `drledger demo` full: every draw event holds its whole
team list). Both listings are first checked equal; then each round times both back to
back, in an order that alternates, so both see the same machine load: first with a
connection opened per call (the CLI), then with kept connections (the server, api/app.py).
Printed: the number of attempts, the median time of each, and old / new (the speed-up).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import msgspec

from ledger.services.draws import DrawAttempt, draw_attempts, draw_attempts_from_events
from ledger.services.settings import settings_in_force
from ledger.store.config import StoreConfig, resolve_store
from ledger.store.connection import keep_connections, release_connections


def today(config: StoreConfig) -> list[DrawAttempt]:
    """The listing as main computed it: every event decoded, and the settings read on every call
    (now read only when a commitment stands)."""
    settings_in_force(config)
    return draw_attempts_from_events(config)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, default=Path("data"))
    parser.add_argument("--store", default=None)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    config = resolve_store(args.store, args.home)
    new = draw_attempts(config)  # catches the read model up (once) before timing
    old = draw_attempts_from_events(config)
    assert msgspec.json.encode(new) == msgspec.json.encode(old), "the listings differ"
    runs = sum(a.kind == "run" for a in new)
    print(f"{config.display}: {len(new)} attempts ({runs} runs), {args.rounds} rounds")
    for mode in ("connection per call (CLI)", "kept connections (server)"):
        if mode.startswith("kept"):
            keep_connections(config)
        timings: dict[str, list[float]] = {"old": [], "new": []}
        order = [("old", today), ("new", draw_attempts)]
        for i in range(args.rounds):
            for name, listing in order if i % 2 == 0 else order[::-1]:
                start = time.perf_counter()
                listing(config)
                timings[name].append(time.perf_counter() - start)
        old_ms, new_ms = (statistics.median(timings[k]) * 1000 for k in ("old", "new"))
        print(f"{mode}: from events (old) median {old_ms:.1f} ms; read model (new) median {new_ms:.1f} ms;"
              f" old / new = {old_ms / new_ms:.1f}x")
    release_connections(config)


if __name__ == "__main__":
    main()
