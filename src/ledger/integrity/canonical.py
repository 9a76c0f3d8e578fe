"""Canonical bytes: the one encoding that every hash and signature covers.

msgspec JSON with keys sorted at every depth, no insignificant whitespace,
UTF-8 (no \\u escapes for non-ASCII), times as RFC 3339 in UTC with a `Z`.
A payload is encoded once, stored as these bytes, and hashed as stored;
nothing is ever re-encoded before hashing.

>>> from datetime import datetime, timedelta, timezone
>>> canonical_bytes({"b": 1, "a": "中"})
b'{"a":"\\xe4\\xb8\\xad","b":1}'
>>> canonical_bytes({"t": datetime(2026, 1, 2, 11, 0, tzinfo=timezone(timedelta(hours=8)))})
b'{"t":"2026-01-02T03:00:00Z"}'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder(order="sorted")


class NotCanonical(ValueError):
    """A value that has no canonical encoding (e.g. a naive datetime)."""


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _to_utc(value: Any) -> Any:
    # Times must be unambiguous before they are signed: aware, then in UTC.
    # Plain values and Structs (encoded as they are) are not walked: a bulk import's
    # payloads are mostly those.
    if type(value) in _PLAIN or isinstance(value, msgspec.Struct):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is UTC:
            return value
        if value.tzinfo is None or value.utcoffset() is None:
            raise NotCanonical(f"naive datetime {value.isoformat()} has no time zone")
        return value.astimezone(UTC)
    if isinstance(value, dict):
        return {k: v if type(v) in _PLAIN else _to_utc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        # Long lists of plain values (a draw's pool) pass without a call per element.
        return [v if type(v) in _PLAIN else _to_utc(v) for v in value]
    return value


def canonical_bytes(value: Any) -> bytes:
    """Encode `value` canonically (see module docstring)."""
    return _encoder.encode(_to_utc(value))


# An injected clock (the demo's, demo/clock.py), or None: the real one.
_CLOCK: ContextVar[Callable[[], datetime] | None] = ContextVar("drledger_clock", default=None)


def utc_now() -> datetime:
    clock = _CLOCK.get()
    return clock() if clock is not None else datetime.now(UTC)


@contextmanager
def injected_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Within the block, `utc_now` reads `clock` (the demo runs a year on its own clock, so that
    the same seed gives the same ledger)."""
    token = _CLOCK.set(clock)
    try:
        yield
    finally:
        _CLOCK.reset(token)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and `Z`, as canonical_bytes writes it.

    >>> rfc3339(datetime(2026, 11, 29, 15, 8, 4, 5, tzinfo=UTC))
    '2026-11-29T15:08:04.000005Z'
    """
    return canonical_bytes(moment)[1:-1].decode()
