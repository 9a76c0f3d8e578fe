"""Plans, tasks and their draws (统一抽查流程 steps 1-3) as events.

A task records its parameters, then a commitment to a secret (commit),
then exactly one draw (run) unless that draw is voided with a reason, after
which a fresh commitment and a new draw may follow. The draw event holds
everything a replay needs besides the ledger itself: the pool position, the
revealed secret, the beacon, the pool roots and counts, the excluded
targets, the seed, the targets per class and the teams; it carries the
drawer's signed command, whose body names the outcome's digest.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, natural_id
from ledger.draw.spec import Quota, Team
from ledger.integrity.commands import SignedCommand
from ledger.domain.filters import EntityFilter


class Plan(LedgerAggregate):
    """年度抽查工作计划: a department's yearly plan."""

    plan_id: str
    department: str
    year: int
    items: tuple[str, ...]
    joint_departments: tuple[str, ...]
    filed: bool

    @staticmethod
    def create_id(plan_id: str, **_: Any) -> UUID:
        return natural_id("plan", plan_id)

    @event("Created")
    def __init__(self, plan_id: str, title: str, department: str, year: int, items: tuple[str, ...],
                 joint_departments: tuple[str, ...], actor: str) -> None:
        self.plan_id = plan_id
        self.title = title
        self.department = department
        self.year = year
        self.items = items
        self.joint_departments = joint_departments
        self.filed = False

    @event("Filed")
    def file(self, filed_with: str, actor: str) -> None:
        """Filed with the level above (报上级备案)."""
        self.filed = True


class Task(LedgerAggregate):
    """抽查任务: one batch of inspections, drawn once."""

    task_id: str
    plan_id: str
    name: str
    window_start: date
    window_end: date
    items: tuple[str, ...]
    departments: tuple[str, ...]  # lead first
    target_filter: EntityFilter
    quotas: dict[str, Quota]
    inspectors_per_target: int
    experts_per_target: int
    load_cap: int | None
    exclude_recent_days: int | None
    commitment: str | None
    beacon_round: str | None
    drawn: bool
    draws: int

    @staticmethod
    def create_id(task_id: str, **_: Any) -> UUID:
        return natural_id("task", task_id)

    @event("Created")
    def __init__(self, task_id: str, plan_id: str, name: str, window_start: date, window_end: date,
                 items: tuple[str, ...], departments: tuple[str, ...], target_filter: EntityFilter,
                 quotas: dict[str, Quota], inspectors_per_target: int, experts_per_target: int,
                 load_cap: int | None, exclude_recent_days: int | None, actor: str) -> None:
        self.task_id = task_id
        self.plan_id = plan_id
        self.name = name
        self.window_start = window_start
        self.window_end = window_end
        self.items = items
        self.departments = departments
        self.target_filter = target_filter
        self.quotas = quotas
        self.inspectors_per_target = inspectors_per_target
        self.experts_per_target = experts_per_target
        self.load_cap = load_cap
        self.exclude_recent_days = exclude_recent_days
        self.commitment = None
        self.beacon_round = None
        self.drawn = False
        self.draws = 0
        self.targets: dict[str, list[str]] = {}
        self.teams: list[Team] = []

    @event("Committed")
    def commit(self, task_id: str, commitment: str, beacon_round: str | None, actor: str, signed: SignedCommand) -> None:
        self.commitment = commitment
        self.beacon_round = beacon_round

    @event("Drawn")
    def record_draw(
        self, task_id: str, position: int, commitment: str, secret: str, beacon: str, pool_roots: dict[str, str],
        pool_root: str, counts: dict[str, int], excluded: list[str], seed: str, targets: dict[str, list[str]],
        teams: list[Team], outcome_digest: str, inputs_digest: str, actor: str, signed: SignedCommand,
    ) -> None:
        self.drawn = True
        self.draws += 1
        self.commitment = None  # a redraw after a void needs a fresh commitment
        self.targets = targets
        self.teams = teams

    @event("Voided")
    def void(self, task_id: str, reason: str, actor: str, signed: SignedCommand) -> None:
        self.drawn = False
        self.targets = {}
        self.teams = []

