"""What every read shares: a clear error for a question the ledger cannot answer."""

from __future__ import annotations

from ledger.store.config import StoreConfig


class QueryError(ValueError):
    """A query names something that does not exist (a position past the head, an unknown task):
    one clear message, never a traceback or a silent substitute."""


def check_position(config: StoreConfig, as_of: int | None, option: str = "--as-of") -> None:
    """`as_of` must be a position the ledger holds (1..head)."""
    if as_of is None:
        return
    from ledger.store.reader import open_reader

    with open_reader(config) as reader:
        head = reader.size()
    if not 1 <= as_of <= head:
        raise QueryError(f"{option} {as_of}: the ledger's head is position {head}; give a position from 1 to {head}")
