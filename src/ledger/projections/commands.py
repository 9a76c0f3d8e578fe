"""Read model of accepted commands: who signed what, when, with which key.

cmd_commands  one row per `CommandRecord.Accepted` (the first event of every
              accepted command's transaction): position, actor, command name,
              nonce, key id, signature (base64), the exact signed bytes
              (UTF-8 text) and the ledger's recorded time.

Every other event of a transaction belongs to the command that opened it:
the command of an event at position `seq` is the one with the greatest
command position <= `seq` (refusal transactions hold no result or draw
events, so they never sit between an event and its command).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.commands import CommandRecord
from ledger.projections.base import ProjectedEvent
from ledger.store.schema import Dialect

TABLE = "cmd_commands"
COLUMNS = ("seq", "actor", "name", "nonce", "key_id", "signature", "command", "recorded_at")


class _Accepted(msgspec.Struct):
    actor: str
    name: str
    command: bytes
    signature: bytes
    key_id: str
    timestamp: datetime


class _Nonce(msgspec.Struct):
    nonce: str = ""


class CommandRow(msgspec.Struct, kw_only=True):
    """One accepted command, as signed."""

    seq: int
    actor: str
    name: str
    nonce: str
    key_id: str
    signature: str  # base64
    command: str  # the signed canonical JSON
    recorded_at: str

    def body(self) -> dict[str, Any]:
        body = msgspec.json.decode(self.command.encode()).get("body")
        return body if isinstance(body, dict) else {}


class CommandsProjection:
    name = "commands"

    def __init__(self) -> None:
        self.topics = (get_topic(CommandRecord.Accepted),)
        self.decoder = msgspec.json.Decoder(_Accepted)
        self.nonce = msgspec.json.Decoder(_Nonce)

    def tables(self) -> list[str]:
        return [TABLE]

    def create_statements(self, dialect: Dialect) -> list[str]:
        t = dialect.table
        return [
            f"CREATE TABLE IF NOT EXISTS {t(TABLE)} (seq BIGINT PRIMARY KEY, actor TEXT NOT NULL, name TEXT NOT NULL,"
            " nonce TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL, command TEXT NOT NULL,"
            " recorded_at TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS cmd_commands_actor ON {t(TABLE)} (actor, seq)",
        ]

    def apply(self, cursor: Any, dialect: Dialect, events: list[ProjectedEvent]) -> None:
        rows = []
        for item in events:
            e = self.decoder.decode(item.state)
            rows.append((item.seq, e.actor, e.name, self._nonce(e.command), e.key_id,
                         base64.b64encode(e.signature).decode(), e.command.decode("utf-8", "replace"),
                         e.timestamp.isoformat()))
        dialect.insert_rows(cursor, TABLE, [("seq", "bigint"), ("actor", "text"), ("name", "text"),
                                            ("nonce", "text"), ("key_id", "text"), ("signature", "text"),
                                            ("command", "text"), ("recorded_at", "text")], rows)

    def _nonce(self, command: bytes) -> str:
        try:
            return self.nonce.decode(command).nonce
        except (msgspec.DecodeError, msgspec.ValidationError):
            return ""


# ---------------------------------------------------------------------------
# Queries.


def _select(dialect: Dialect) -> str:
    return f"SELECT {', '.join(COLUMNS)} FROM {dialect.table(TABLE)}"


def _row(values: Any) -> CommandRow:
    return CommandRow(**dict(zip(COLUMNS, values)))


def commands_of(conn: Any, dialect: Dialect, actor: str) -> list[CommandRow]:
    """Every accepted command `actor` signed, in ledger order."""
    cursor = conn.cursor()
    cursor.execute(f"{_select(dialect)} WHERE actor = {dialect.placeholder} ORDER BY seq", (actor,))
    return [_row(r) for r in cursor.fetchall()]


def commands_for(conn: Any, dialect: Dialect, positions: list[int]) -> dict[int, CommandRow]:
    """The command whose transaction holds each event position (greatest command seq <= position)."""
    out: dict[int, CommandRow] = {}
    cursor = conn.cursor()
    p = dialect.placeholder
    for seq in sorted(set(positions)):
        cursor.execute(f"{_select(dialect)} WHERE seq <= {p} ORDER BY seq DESC LIMIT 1", (seq,))
        found = cursor.fetchone()
        if found is not None:
            out[seq] = _row(found)
    return out


def command_names(conn: Any, dialect: Dialect, name_prefix: str) -> list[CommandRow]:
    """Accepted commands whose name starts with `name_prefix` (e.g. "settings."), in ledger order."""
    cursor = conn.cursor()
    cursor.execute(f"{_select(dialect)} WHERE substr(name, 1, {len(name_prefix)}) = {dialect.placeholder}"
                   " ORDER BY seq", (name_prefix,))
    return [_row(r) for r in cursor.fetchall()]
