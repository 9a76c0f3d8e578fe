"""The transparency log's tables and the append hook that keeps the tree.

ledger_tree          complete subtree hashes at level >= 1, addressed (level, idx)
                     as in ledger.integrity.merkle. Level 0 (the leaf hashes) is
                     not stored: leaf i = SHA-256(0x00 || ledger_chain.hash at
                     seq i + 1), so the chain stays the single copy of each
                     event hash and the tree costs ~n rows, not ~2n.
ledger_checkpoints   one signed checkpoint note per published tree size.
ledger_cosignatures  witness cosignature lines, per checkpoint size and witness.

`append_tree_nodes` runs inside the store's append transaction, after the
write lock (see recorders.IntegrityAppender), so the tree is written exactly
once, atomically with the events it covers: if the append rolls back, so do
its nodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ledger.integrity.merkle import NodeId, append_nodes_needed, complete_nodes_after_batch, leaf_hash
from ledger.store.schema import CHECKPOINTS_TABLE, COSIGNATURES_TABLE, TREE_TABLE, Dialect

__all__ = ["CHECKPOINTS_TABLE", "COSIGNATURES_TABLE", "TREE_TABLE", "TreeError", "append_tree_nodes",
           "fetch_nodes", "nodes_query", "rows_to_nodes"]

class TreeError(RuntimeError):
    """The stored tree lacks a node it must have (never written, or deleted)."""


def nodes_query(dialect: Dialect, ids: Sequence[NodeId]) -> tuple[str, list[int]]:
    """One SELECT (level, idx, hash) for the given node ids.

    Level-0 ids are served from the chain (raw event hashes; the caller turns
    them into leaf hashes with `rows_to_nodes`), the others from the tree.
    """
    p = dialect.placeholder
    tree_ids = [node for node in ids if node[0] > 0]
    leaf_ids = [node[1] for node in ids if node[0] == 0]
    parts: list[str] = []
    params: list[int] = []
    if tree_ids:
        where = " OR ".join([f"(level = {p} AND idx = {p})"] * len(tree_ids))
        parts.append(f"SELECT level, idx, hash FROM {dialect.table(TREE_TABLE)} WHERE {where}")
        params += [v for node in tree_ids for v in node]
    if leaf_ids:
        marks = ", ".join([p] * len(leaf_ids))
        parts.append(
            f"SELECT 0 AS level, seq - 1 AS idx, hash FROM {dialect.table('ledger_chain')} WHERE seq IN ({marks})"
        )
        params += [index + 1 for index in leaf_ids]
    return " UNION ALL ".join(parts), params


def rows_to_nodes(rows: Iterable[Any]) -> dict[NodeId, bytes]:
    """(level, idx, hash) rows -> {(level, idx): hash}, leaf-hashing level 0."""
    nodes: dict[NodeId, bytes] = {}
    for row in rows:
        # The append path's cursors return mappings (psycopg dict_row), the
        # read path's plain tuples; sqlite3.Row supports indexing.
        level, idx, raw = (row["level"], row["idx"], row["hash"]) if isinstance(row, dict) else tuple(row)
        level, idx, value = int(level), int(idx), bytes(raw)
        nodes[(level, idx)] = leaf_hash(value) if level == 0 else value
    return nodes


def fetch_nodes(cursor: Any, dialect: Dialect, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
    """Fetch node hashes in one query; TreeError names the first missing one."""
    if not ids:
        return {}
    sql, params = nodes_query(dialect, ids)
    cursor.execute(sql, params)
    nodes = rows_to_nodes(cursor.fetchall())
    missing = [node for node in ids if node not in nodes]
    if missing:
        level, idx = missing[0]
        what = f"leaf {idx} (position {idx + 1})" if level == 0 else f"node ({level}, {idx})"
        raise TreeError(f"the transparency tree lacks {what}: the store is incomplete or was tampered with")
    return nodes


def insert_nodes_sql(dialect: Dialect) -> str:
    return f"INSERT INTO {dialect.table(TREE_TABLE)} (level, idx, hash) VALUES ({dialect.params(3)})"


def append_tree_nodes(cursor: Any, dialect: Dialect, first_seq: int, event_hashes: list[bytes]) -> None:
    """AppendHook: store the complete subtrees created by this batch of events.

    One SELECT for the left edge of the existing tree (at most popcount(start)
    nodes), then one multi-row insert for the new nodes; nodes created inside the
    batch never touch the database twice.
    """
    if not event_hashes:
        return
    start = first_seq - 1  # leaf index = position - 1
    existing = fetch_nodes(cursor, dialect, append_nodes_needed(start))
    leaves = [leaf_hash(h) for h in event_hashes]
    new = complete_nodes_after_batch(start, leaves, existing)
    if new:
        dialect.insert_rows(cursor, TREE_TABLE, (("level", "integer"), ("idx", "bigint"), ("hash", "bytea")), new)
