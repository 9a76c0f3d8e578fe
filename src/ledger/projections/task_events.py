"""The parts of a task's draw events that the read models project.

Decoding a stored event's state into these Structs reads only the named
fields (msgspec skips the rest), so the draws and notices projections share
one declaration of what they read.
"""

from __future__ import annotations

import msgspec

from ledger.draw.spec import Team


class TaskRef(msgspec.Struct):
    task_id: str


class DrawnTeams(msgspec.Struct):
    task_id: str
    seed: str
    position: int
    targets: dict[str, list[str]]
    teams: list[Team]


class Extension(msgspec.Struct):
    task_id: str
    risk_class: str
    teams: list[Team]


class Substitution(msgspec.Struct):
    task_id: str
    target: str
    leaving: str
    joining: str


class AttemptRound(msgspec.Struct):
    network: str
    round: int
    published_at: int = 0


class AttemptEvent(msgspec.Struct):
    """The fields of a Committed, Drawn or Voided event the draw list reads."""

    task_id: str
    actor: str
    reason: str = ""
    commitment_only: bool = False
    beacons: list[AttemptRound] = []
