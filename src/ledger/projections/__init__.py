"""Read models kept beside the events (see base.py and runner.py)."""

from __future__ import annotations

from functools import cache

from ledger.projections.base import Projection


def all_projections() -> list[Projection]:
    """Every projection the CLI and API read, in catch-up order."""
    return list(_projections())


@cache
def _projections() -> tuple[Projection, ...]:
    # Built once per process: they hold only their decoders (costly to build, as every read
    # and every write catches up), never state.
    from ledger.projections.attempts import AttemptProjection
    from ledger.projections.commands import CommandsProjection
    from ledger.projections.directory import DirectoryProjection
    from ledger.projections.draws import DrawProjection
    from ledger.projections.notices import NoticeProjection
    from ledger.projections.results import ResultsProjection

    return (CommandsProjection(), DirectoryProjection(), DrawProjection(), NoticeProjection(), ResultsProjection(),
            AttemptProjection())
