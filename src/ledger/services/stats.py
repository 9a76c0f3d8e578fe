"""考核 statistics: what a department's year of 双随机、一公开 work amounts to.

`compute(inputs)` is pure (no I/O): it takes plain rows and returns flat
`StatRow`s (metric, scope, numerator, denominator, rate), so a table, a CSV
and JSON all carry the same numbers and a new measure (e.g. a review step's
rates) is one more block here. `load(config, year)` reads the rows from the
read models (projections/stats.py), caught up with the ledger.

Measures (each also per department where it makes sense):
- coverage: drawn targets / active entities in the pool, per risk class
  and per supervising department (a firm counts for each department that
  supervises it; drawn means drawn in a task the department took part in).
- joint_task_share: joint tasks (一联合: more than one department) / tasks.
- visits_saved: one visit per drawn target of a joint task instead of one
  per participating department: saved / the visits separate tasks would take.
- on_time_entry: results recorded by their due date / results recorded;
  results_missing: targets past their due date with no result (as of today).
- on_time_disclosure: disclosures made by their due date / disclosures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

import msgspec

from ledger.projections.stats import EntityFact, ResultFact, StatsInputs, TaskFact, TeamFact

__all__ = ["EntityFact", "ResultFact", "StatsInputs", "TaskFact", "TeamFact", "StatRow", "compute", "in_year", "load",
           "stats"]


class StatRow(msgspec.Struct, kw_only=True):
    metric: str
    scope: str  # all | class:C | department:CODE
    numerator: int
    denominator: int
    rate: float | None  # numerator / denominator, rounded to 4 places; None when nothing to divide


def _row(metric: str, scope: str, numerator: int, denominator: int) -> StatRow:
    rate = round(numerator / denominator, 4) if denominator else None
    return StatRow(metric=metric, scope=scope, numerator=numerator, denominator=denominator, rate=rate)


def _departments(tasks: Iterable[TaskFact], entities: Iterable[EntityFact]) -> list[str]:
    return sorted({d for t in tasks for d in t.departments} | {d for e in entities for d in e.departments})


def compute(inputs: StatsInputs) -> list[StatRow]:
    """Every measure, as rows in a fixed order (metric, then scope)."""
    tasks = {t.task_id: t for t in inputs.tasks}
    teams = [t for t in inputs.teams if t.task_id in tasks]
    rows: list[StatRow] = []

    # Coverage per risk class: distinct firms drawn in any task / active firms of the class.
    pool_by_class: dict[str, int] = defaultdict(int)
    for e in inputs.entities:
        pool_by_class[e.risk_class] += 1
    drawn_by_class: dict[str, set[str]] = defaultdict(set)
    for t in teams:
        drawn_by_class[t.risk_class].add(t.uscc)
    for risk_class in sorted(set(pool_by_class) | set(drawn_by_class)):
        rows.append(_row("coverage", f"class:{risk_class}", len(drawn_by_class[risk_class]),
                         pool_by_class[risk_class]))

    # Coverage per department: its supervised firms drawn in tasks it took part in.
    supervised: dict[str, set[str]] = defaultdict(set)
    for e in inputs.entities:
        for d in e.departments:
            supervised[d].add(e.uscc)
    drawn_for: dict[str, set[str]] = defaultdict(set)
    for t in teams:
        for d in tasks[t.task_id].departments:
            drawn_for[d].add(t.uscc)
    departments = _departments(tasks.values(), inputs.entities)
    for d in departments:
        rows.append(_row("coverage", f"department:{d}", len(drawn_for[d] & supervised[d]), len(supervised[d])))

    # Joint tasks and the visits they save (进一次门、查多项事).
    joint = [t for t in tasks.values() if len(t.departments) > 1]
    rows.append(_row("joint_task_share", "all", len(joint), len(tasks)))
    for d in departments:
        taking_part = [t for t in tasks.values() if d in t.departments]
        rows.append(_row("joint_task_share", f"department:{d}", sum(len(t.departments) > 1 for t in taking_part),
                         len(taking_part)))
    targets_of: dict[str, int] = defaultdict(int)
    for t in teams:
        targets_of[t.task_id] += 1
    separate_visits = sum(targets_of[t.task_id] * len(t.departments) for t in tasks.values())
    visits = sum(targets_of[t.task_id] for t in tasks.values())
    rows.append(_row("visits_saved", "all", separate_visits - visits, separate_visits))

    # Timeliness, per task lead department too.
    lead = {t.task_id: t.departments[0] for t in tasks.values()}
    results = [r for r in inputs.results if r.task_id in tasks]
    missing = [m for m in inputs.missing if m[0] in tasks]

    def timeliness(scope: str, chosen: list[ResultFact], gaps: list[tuple[str, str]]) -> None:
        rows.append(_row("on_time_entry", scope, sum(not r.late for r in chosen), len(chosen)))
        rows.append(_row("results_missing", scope, len(gaps), len(chosen) + len(gaps)))
        disclosed = [r for r in chosen if r.disclosed]
        rows.append(_row("on_time_disclosure", scope, sum(not r.disclosure_late for r in disclosed), len(disclosed)))

    timeliness("all", results, missing)
    for d in sorted(set(lead.values())):
        timeliness(f"department:{d}", [r for r in results if lead[r.task_id] == d],
                   [m for m in missing if lead[m[0]] == d])
    order = ["coverage", "joint_task_share", "visits_saved", "on_time_entry", "results_missing", "on_time_disclosure"]
    return sorted(rows, key=lambda r: (order.index(r.metric), r.scope != "all", not r.scope.startswith("class:"),
                                       r.scope))


def in_year(task: TaskFact, year: int | None) -> bool:
    return year is None or date.fromisoformat(task.window_start).year == year


# ---------------------------------------------------------------------------
# Reading the rows (the only I/O here).


def load(config: object, year: int | None = None, today: date | None = None) -> StatsInputs:
    """The rows `compute` needs, from the read models (caught up first); tasks whose window starts in `year`."""
    from ledger.projections.stats import stats_inputs
    from ledger.services.pools import read
    from ledger.services.reports import overdue

    inputs = read(config, stats_inputs)  # type: ignore[arg-type]
    gaps = tuple((r.task_id, r.uscc) for r in overdue(config, today) if r.problem == "result_missing")  # type: ignore[arg-type]
    return msgspec.structs.replace(inputs, tasks=tuple(t for t in inputs.tasks if in_year(t, year)), missing=gaps)


def stats(config: object, year: int | None = None, today: date | None = None) -> list[StatRow]:
    return compute(load(config, year, today))
