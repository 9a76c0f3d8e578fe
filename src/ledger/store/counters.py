"""Counters kept beside the ledger (not evidence): refusals past the recorded bound."""

from __future__ import annotations

from typing import Any

from ledger.store.schema import Dialect


def count_suppressed(connection: Any, dialect: Dialect, bucket: str, hour: str) -> int:
    """Count one more suppressed refusal of `bucket` in `hour`; the new total."""
    table = dialect.table("ledger_refusal_counts")
    p = dialect.placeholder
    cursor = connection.cursor()
    cursor.execute(f"INSERT INTO {table} (bucket, hour, count) VALUES ({p}, {p}, 1) ON CONFLICT (bucket, hour)"
                   f" DO UPDATE SET count = {table}.count + 1 RETURNING count", (bucket, hour))
    return int(cursor.fetchone()[0])
