"""Plans, tasks and draws: signed on the actor's side, decided by the ledger.

Each function takes the open ledger (`LedgerService`) and the acting actor's
own `Signer`, builds the command body (domain/draws.py), signs it locally and
submits it; a refusal raises `CommandRefused` after the ledger recorded it.

Commit-reveal: `commit_draw` makes the 256-bit secret on the drawer's side,
keeps it in the drawer's key folder (never under the ledger's HOME) and signs
only its SHA-256. `run_draw` reveals it: the ledger reads the draw inputs at
exactly the head position of the draw (`draw_inputs_source`, from the read
models, caught up under the writer lock) and the decision computes and
records the draw; `verify` rebuilds the same inputs from events
(verify/draws.py `DrawState.inputs_at`) and re-executes the decision.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.commands import Command
from ledger.domain.draws import CommitBody, PlanBody, RunBody, Task, TaskBody, VoidBody
from ledger.domain.filters import InspectorFilter
from ledger.draw.spec import (
    SECRET_FORM,
    Candidate,
    DrawInputs,
    DrawOutcome,
    ItemRef,
    Team,
    commitment_of,
)
from ledger.integrity.commands import SignedCommand, sign_command
from ledger.integrity.keys import KeyFileError, Signer
from ledger.services.keys import keys_dir
from ledger.services.ledger import LedgerService
from ledger.services.processor import AttachmentSource
from ledger.services.receipts import Receipt
from ledger.store.config import StoreConfig

__all__ = [
    "CommitBody", "Commitment", "DrawRecord", "PlanBody", "RunBody", "SecretFileError", "TaskBody", "VoidBody", "commit_draw",
    "create_plan", "create_task", "draw_inputs_source", "gather_inputs", "latest_secret_path", "read_secret",
    "run_draw", "secret_path", "secrets_dir", "void_draw",
]


class Commitment(msgspec.Struct, frozen=True, kw_only=True):
    task_id: str
    commitment: str  # SHA-256 hex of the secret: all the ledger learns before the draw
    secret_file: Path  # where the secret is kept (mode 0600), on the drawer's side
    receipt: Receipt


class DrawRecord(DrawOutcome, frozen=True, kw_only=True):
    """The draw as the ledger recorded it (its `Task.Drawn` event)."""

    task_id: str
    position: int  # the head position the inputs were read at
    drawn_at: int  # the position of the Drawn event
    receipt: Receipt


def _sign(signer: Signer, actor: str, name: str, body: msgspec.Struct) -> SignedCommand:
    return sign_command(signer, actor, name, msgspec.to_builtins(body))


# ---------------------------------------------------------------------------
# Plans and tasks.


def create_plan(ledger: LedgerService, signer: Signer, actor: str, body: PlanBody) -> Receipt:
    """`plan.create` by a planner of the plan's department (or above)."""
    return ledger.submit(_sign(signer, actor, "plan.create", body))


def create_task(ledger: LedgerService, signer: Signer, actor: str, body: TaskBody) -> Receipt:
    """`task.create`: every parameter is checked by the ledger before anything is written."""
    return ledger.submit(_sign(signer, actor, "task.create", body))


# ---------------------------------------------------------------------------
# The drawer's secret: kept on the drawer's side.


class SecretFileError(KeyFileError):
    """A drawer's secret file is missing or malformed (custody material, like a key)."""


def secrets_dir(origin: str) -> Path:
    """The drawer's secrets folder, beside its key (services/keys.py), never the ledger's HOME."""
    return keys_dir(origin) / "secrets"


def secret_path(origin: str, task_id: str, commitment: str, folder: Path | None = None) -> Path:
    """One file per commitment: a redraw after a void gets a fresh secret."""
    return (folder or secrets_dir(origin)) / f"{task_id}-{commitment[:16]}.secret"


def latest_secret_path(origin: str, task_id: str) -> Path:
    """The newest kept secret of a task (the ledger checks it against the commitment)."""
    folder = secrets_dir(origin)
    kept = sorted(folder.glob(f"{task_id}-*.secret"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not kept:
        raise SecretFileError(f"no kept secret for task {task_id} under {folder}: give --secret FILE")
    return kept[-1]


def read_secret(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise SecretFileError(f"secret file not found: {path}") from None
    if not SECRET_FORM.fullmatch(text):
        raise SecretFileError(f"secret file {path} must hold 64 lowercase hex digits")
    return text


def _keep_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")


# ---------------------------------------------------------------------------
# Draws.


def commit_draw(ledger: LedgerService, signer: Signer, actor: str, task_id: str, *,
                beacon_round: str | None = None, secret_out: Path | None = None,
                secrets_folder: Path | None = None) -> Commitment:
    """Make a 256-bit secret, keep it (0600) and record only its SHA-256.

    The secret goes to `secret_out`, else `<secrets_folder or the drawer's
    secrets folder>/<task>-<commitment16>.secret`. It is written before the
    command is submitted, so an accepted commitment never loses its secret;
    a refused one removes it again.
    """
    from ledger.services.processor import CommandRefused

    secret = secrets.token_bytes(32).hex()
    commitment = commitment_of(secret)
    signed = _sign(signer, actor, "draw.commit",
                   CommitBody(task_id=task_id, commitment=commitment, beacon_round=beacon_round))
    path = secret_out or secret_path(ledger.origin, task_id, commitment, secrets_folder)
    _keep_secret(path, secret)
    try:
        receipt = ledger.submit(signed)
    except CommandRefused:
        path.unlink(missing_ok=True)
        raise
    return Commitment(task_id=task_id, commitment=commitment, secret_file=path, receipt=receipt)


def run_draw(ledger: LedgerService, signer: Signer, actor: str, task_id: str, secret: str,
             beacon: str = "") -> DrawRecord:
    """Reveal the secret: the ledger reads the inputs at its head, draws and records; the recorded draw."""
    signed = _sign(signer, actor, "draw.run", RunBody(task_id=task_id, secret=secret, beacon=beacon))
    receipt = ledger.submit(signed, attachment_source=draw_inputs_source(ledger))
    return recorded_draw(ledger.config, receipt)


def void_draw(ledger: LedgerService, signer: Signer, actor: str, task_id: str, reason: str) -> Receipt:
    """Void the standing draw, visibly and with a reason; a redraw needs a fresh commitment."""
    return ledger.submit(_sign(signer, actor, "draw.void", VoidBody(task_id=task_id, reason=reason)))


class _Drawn(msgspec.Struct):
    task_id: str
    position: int
    pool_roots: dict[str, str]
    pool_root: str
    counts: dict[str, int]
    seed: str
    targets: dict[str, list[str]]
    teams: list[Team]


def recorded_draw(config: StoreConfig, receipt: Receipt) -> DrawRecord:
    """The draw recorded by the transaction of `receipt`."""
    from ledger.store.reader import open_reader

    topic = get_topic(Task.Drawn)
    with open_reader(config) as reader:
        row = next(r for r in reader.rows(receipt.first, receipt.last) if r.topic == topic)
    assert row.state is not None
    drawn = msgspec.json.decode(row.state, type=_Drawn)
    return DrawRecord(
        task_id=drawn.task_id, position=drawn.position, drawn_at=row.seq, receipt=receipt,
        pool_roots=drawn.pool_roots, pool_root=drawn.pool_root, counts=drawn.counts, seed=drawn.seed,
        targets=drawn.targets, teams=drawn.teams,
    )


# ---------------------------------------------------------------------------
# The draw's inputs at the head, from the read models (the write path's side
# of verify/draws.py DrawState.inputs_at: the two must agree exactly).


def draw_inputs_source(ledger: LedgerService) -> AttachmentSource:
    """The attachment of `draw.run`: the inputs at exactly the head position.

    The processor calls it under the writer lock, so no write can land
    between the head it reads and the draw's own transaction.
    """

    def source(command: Command, position: int) -> DrawInputs | None:
        task_id = command.content.body.get("task_id")
        if not isinstance(task_id, str):
            return None
        task = ledger.processor.app.find(Task.create_id(task_id))
        if not isinstance(task, Task):
            return None  # the decision refuses an unknown task
        return gather_inputs(ledger.config, task, position)

    return source


def gather_inputs(config: StoreConfig, task: Task, position: int) -> DrawInputs:
    """The inputs of `task` as of `position` (commitment, secret and beacon left
    empty: the decision takes them from the task and the signed command)."""
    from ledger.projections import all_projections
    from ledger.projections.draws import recently_inspected
    from ledger.projections.pools import (
        conflicts,
        list_items,
        pool_snapshot,
        query_inspectors,
    )
    from ledger.projections.runner import catch_up, writable_connection

    catch_up(config, all_projections())  # under the writer lock: up to exactly the head
    with writable_connection(config) as (conn, dialect, _):
        items = {i.code: i for i in list_items(conn, dialect, position)}
        snapshot = pool_snapshot(conn, dialect, task.target_filter, position)
        excluded = recently_inspected(conn, dialect, task.task_id, task.items, task.window_start,
                                      task.exclude_recent_days, position)
        inspectors = query_inspectors(conn, dialect, InspectorFilter(), position)
        declared = conflicts(conn, dialect, position)
    return DrawInputs(
        task_id=task.task_id, commitment="", secret="", beacon="", position=position,
        departments=task.departments, items=tuple(ItemRef(code, items[code].department) for code in task.items),
        quotas=task.quotas, inspectors_per_target=task.inspectors_per_target,
        experts_per_target=task.experts_per_target, load_cap=task.load_cap,
        pool={k: [u for u in ids if u not in excluded] for k, ids in snapshot.ids.items()},
        excluded=sorted(excluded, key=str.encode),
        # Sorted here, not by the database's collation: the same order as verify's.
        inspectors=[Candidate(i.badge, i.department, i.role, i.status, i.qualifications)
                    for i in sorted(inspectors, key=lambda i: i.badge)],
        conflicts=sorted(declared),
    )


def replay(config: StoreConfig, task_id: str) -> list[Any]:
    """Every draw of `task_id` recomputed from the ledger's events alone (verify/draws.py)."""
    from ledger.verify.draws import replay_draws

    results, _ = replay_draws(config, task_id)
    return results
