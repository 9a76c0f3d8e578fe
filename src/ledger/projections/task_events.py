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
