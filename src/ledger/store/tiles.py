"""Raw reads behind the C2SP tlog-tiles endpoints: runs of stored hashes.

A tile is a run of consecutive hashes at one Merkle level (services/tiles.py
does the tile math). Level 0 are leaf hashes: the chain's event hashes (the
leaves' data), hashed here as the tree hashes them (store/tree.py); levels
>= 1 are rows of `ledger_tree`. Either way one range query on a primary key.
"""

from __future__ import annotations

from ledger.integrity.merkle import leaf_hash
from ledger.store.reader import LedgerReader
from ledger.store.tree import TREE_TABLE


def event_hashes(reader: LedgerReader, first_index: int, count: int) -> list[bytes]:
    """The event hashes (the tree's leaf data) of leaves first_index .. first_index + count - 1."""
    rows = reader._all(f"SELECT hash FROM {reader.chain} WHERE seq >= ? AND seq <= ? ORDER BY seq",
                       (first_index + 1, first_index + count))
    return [bytes(row[0]) for row in rows]


def level_hashes(reader: LedgerReader, level: int, first_index: int, count: int) -> list[bytes]:
    """The node hashes (level, first_index .. first_index + count - 1), fewer if the tree lacks some."""
    if level == 0:
        return [leaf_hash(h) for h in event_hashes(reader, first_index, count)]
    table = reader.dialect.table(TREE_TABLE)
    rows = reader._all(f"SELECT hash FROM {table} WHERE level = ? AND idx >= ? AND idx <= ? ORDER BY idx",
                       (level, first_index, first_index + count - 1))
    return [bytes(row[0]) for row in rows]
