"""The demo's injected clock, nonces, keys and salt keys: the same seed gives the same ledger.

A demo run is a year in the city (2026) on its own clock, not the wall
clock: it starts on Monday 5 January 2026 at 09:00 Beijing time, each stage
moves it forward to the day its work happens, and every reading advances it
by 10 ms (so recorded times strictly increase). Command nonces, the demo
actors' keys, the ledger key and each draw's salt key are derived from the
seed. So two builds with one seed give byte-identical events and one head
hash; the transaction signatures' wall-clock times (`signed_at`) differ,
and are not part of any event hash.

These keys are derived from a public seed: demo keys, never custody.

>>> run = DemoRun(7)
>>> run.key("admin").public_key == DemoRun(7).key("admin").public_key != DemoRun(8).key("admin").public_key
True
>>> run.clock() < run.clock(), len(run.nonce()), run.nonce() != run.nonce()
(True, 32, True)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.integrity.canonical import injected_clock
from ledger.integrity.commands import injected_nonces
from ledger.integrity.keys import Signer

__all__ = ["DEMO_YEAR", "TODAY", "DemoRun", "current_run", "demo_run"]

DEMO_YEAR: Final = 2026
CHINA: Final = timezone(timedelta(hours=8))
START: Final = datetime(DEMO_YEAR, 1, 5, 9, 0, tzinfo=CHINA)  # a Monday: the lists go in
# The demo's "today": the day its last stages run (the results' windows and deadlines count back
# from it). It must stay in the past of every real clock that uses the ledger after the demo.
TODAY: Final = date(DEMO_YEAR, 11, 30)
TICK: Final = timedelta(milliseconds=10)


class DemoRun:
    """One demo build: its clock, nonces and keys, all from `seed`."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.now = START.astimezone(UTC)
        self._nonces = 0

    def clock(self) -> datetime:
        self.now += TICK
        return self.now

    def on(self, day: date, hour: int = 9) -> None:
        """Move the clock forward to `day` at `hour` Beijing time (never back)."""
        moment = datetime.combine(day, time(hour), CHINA).astimezone(UTC)
        self.now = max(self.now, moment)

    def derive(self, purpose: str, name: str) -> bytes:
        """32 bytes for `purpose` and `name`, from the seed (public: demo material, never a secret)."""
        return hashlib.sha256(f"drledger demo {purpose} (not secret)\n{self.seed}\n{name}".encode()).digest()

    def nonce(self) -> str:
        self._nonces += 1
        return self.derive("nonce", str(self._nonces)).hex()[:32]

    def key(self, name: str) -> Signer:
        """The demo key of `name` (an actor id, or "ledger" for the ledger key)."""
        return Signer.from_private(Ed25519PrivateKey.from_private_bytes(self.derive("key", name)))

    def salt_key(self, task_id: str, position: int) -> str:
        """The salt key of the draw commitment of `task_id` made at `position` (64 hex)."""
        return self.derive("salt key", f"{task_id}@{position}").hex()


_RUN: ContextVar[DemoRun | None] = ContextVar("drledger_demo_run", default=None)


def current_run() -> DemoRun | None:
    """The demo run in progress, or None (a test calling a demo stage on its own: real clock and keys)."""
    return _RUN.get()


@contextmanager
def demo_run(seed: int) -> Iterator[DemoRun]:
    """Within the block the demo's clock and nonces are the ledger's (integrity/canonical.py,
    integrity/commands.py) and demo keys are derived from `seed`."""
    run = _RUN.get()
    if run is not None and run.seed == seed:
        yield run
        return
    run = DemoRun(seed)
    token = _RUN.set(run)
    try:
        with injected_clock(run.clock), injected_nonces(run.nonce):
            yield run
    finally:
        _RUN.reset(token)
