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

`head_query` reads what an append needs in one statement, from the chain and
the tree themselves (no copy of them is kept anywhere): the chain head and the
left edge of the tree, the complete subtrees of the prefix [0, size). For size
n these are the nodes (b, (n >> b) - 1) for each set bit b of n (level 0:
the head's own leaf). The statement needs no earlier answer, so PostgreSQL can
send it in the same round trip as the events' INSERT (store/recorders.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from ledger.integrity.chain import GENESIS_PREV
from ledger.integrity.merkle import NodeId, append_nodes_needed, complete_nodes_after_batch, leaf_hash
from ledger.store.schema import CHECKPOINTS_TABLE, COSIGNATURES_TABLE, TREE_TABLE, Dialect

__all__ = ["CHECKPOINTS_TABLE", "COSIGNATURES_TABLE", "TREE_TABLE", "AppendHead", "TreeError", "append_tree_nodes",
           "fetch_nodes", "head_from_rows", "head_query", "nodes_query", "rows_to_nodes"]

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


class AppendHead(NamedTuple):
    """The state an append continues from: chain head and the tree's left edge."""

    seq: int  # 0: empty ledger
    hash: bytes  # chain hash at seq (GENESIS_PREV when empty)
    left_edge: dict[NodeId, bytes]  # append_nodes_needed(seq) -> hash


def head_query(dialect: Dialect) -> str:
    """One SELECT (level, idx, hash): a row (-1, head seq, head hash), then one row
    per tree node of the left edge at level >= 1 (hash NULL if the tree lacks it).
    No row at all for an empty chain. Each node is one primary-key lookup."""
    chain, tree = dialect.table("ledger_chain"), dialect.table(TREE_TABLE)
    return (
        f"WITH RECURSIVE head(seq, hash) AS (SELECT seq, hash FROM {chain} ORDER BY seq DESC LIMIT 1),"
        " bits(b) AS (SELECT 1 UNION ALL SELECT b + 1 FROM bits WHERE b < 62)"
        " SELECT -1 AS level, seq AS idx, hash FROM head"
        " UNION ALL"
        f" SELECT b, (seq >> b) - 1, (SELECT t.hash FROM {tree} t WHERE t.level = b AND t.idx = (seq >> b) - 1)"
        " FROM head, bits WHERE ((seq >> b) & 1) = 1"
    )


def head_from_rows(rows: Iterable[Any], *, need_edge: bool = True) -> AppendHead:
    """The rows of `head_query` -> AppendHead; TreeError names a missing node
    (unless `need_edge` is False: an append that writes no tree)."""
    seq, head, edge = 0, GENESIS_PREV, {}
    missing: list[NodeId] = []
    for row in rows:
        level, idx, raw = (row["level"], row["idx"], row["hash"]) if isinstance(row, dict) else tuple(row)
        if level == -1:
            seq, head = int(idx), bytes(raw)
        elif raw is None:
            missing.append((int(level), int(idx)))
        else:
            edge[(int(level), int(idx))] = bytes(raw)
    if seq & 1:
        edge[(0, seq - 1)] = leaf_hash(head)
    if missing and need_edge:
        level, idx = missing[0]
        raise TreeError(f"the transparency tree lacks node ({level}, {idx}): the store is incomplete or was tampered with")
    return AppendHead(seq, head, edge)


def insert_nodes_sql(dialect: Dialect) -> str:
    return f"INSERT INTO {dialect.table(TREE_TABLE)} (level, idx, hash) VALUES ({dialect.params(3)})"


def append_tree_nodes(cursor: Any, dialect: Dialect, first_seq: int, event_hashes: list[bytes],
                      left_edge: Mapping[NodeId, bytes] | None = None) -> None:
    """Store the complete subtrees created by this batch of events.

    `left_edge`: the existing tree's left edge (at most popcount(start) nodes)
    as read by `head_query`; without it, one SELECT fetches it. Then one
    multi-row insert for the new nodes; nodes created inside the batch never
    touch the database twice.
    """
    if not event_hashes:
        return
    start = first_seq - 1  # leaf index = position - 1
    existing = left_edge if left_edge is not None else fetch_nodes(cursor, dialect, append_nodes_needed(start))
    leaves = [leaf_hash(h) for h in event_hashes]
    new = complete_nodes_after_batch(start, leaves, existing)
    if new:
        dialect.insert_rows(cursor, TREE_TABLE, (("level", "integer"), ("idx", "bigint"), ("hash", "bytea")), new)
