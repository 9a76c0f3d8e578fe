"""The `drledger` command: a lazy click group.

Subcommands live in their own modules and are imported only when called,
so that `drledger sample` and `drledger --help` start fast. Click itself is
imported on first use of `cli` (module `__getattr__`): the console script
runs `drledger sample` with plain arguments without it (`main`).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

# name -> "module:attribute" of a click command or group.
COMMANDS: dict[str, str] = {
    "init": "ledger.cli.ledger_cmds:init",
    "status": "ledger.cli.ledger_cmds:status",
    "verify": "ledger.cli.ledger_cmds:verify",
    "demo": "ledger.cli.demo:demo",
    "sample": "ledger.cli.sample:sample",
    "log": "ledger.cli.log:log",
    "actor": "ledger.cli.actor:actor",
    "import": "ledger.cli.directory:import_cmd",
    "reclassify": "ledger.cli.directory:reclassify",
    "pool": "ledger.cli.directory:pool",
    "items": "ledger.cli.directory:items",
    "projections": "ledger.cli.directory:projections",
    "plan": "ledger.cli.draws:plan",
    "task": "ledger.cli.draws:task",
    "draw": "ledger.cli.draws:draw",
    "result": "ledger.cli.results:result",
    "report": "ledger.cli.results:report",
    "settings": "ledger.cli.results:settings",
    "calendar": "ledger.cli.results:calendar",
    "proposal": "ledger.cli.proposals:proposal",
    "beacon": "ledger.cli.beacon:beacon",
    "template": "ledger.cli.workbook:template",
    "mirror": "ledger.cli.mirror:mirror_cmd",
    "serve": "ledger.cli.serve:serve",
    "token": "ledger.cli.token:token",
    "class": "ledger.cli.tasks:class_group",
    "firm": "ledger.cli.tasks:firm",
    "objection": "ledger.cli.tasks:objection",
    "notice": "ledger.cli.tasks:notice",
    "key": "ledger.cli.keys:key",
    "witness": "ledger.cli.log:witness",
}

# One-line summaries, so `drledger --help` needs no imports.
SUMMARIES: dict[str, str] = {
    "init": "Create a new ledger: keys and the genesis event.",
    "status": "Show the ledger's size, head hash and last signature.",
    "verify": "Check the chain, every signature, the tree, checkpoints and every draw.",
    "demo": "Fill a ledger with a deterministic demo city.",
    "sample": "Rivest's consistent sampler over IDs read from a file.",
    "log": "Transparency log: checkpoints, vkey and proofs.",
    "actor": "Actors: keys, registration, revocation, listing.",
    "import": "Import departments, items, entities, inspectors or conflicts (CSV or workbook).",
    "reclassify": "Apply a monthly credit-risk reclassification file.",
    "pool": "Query the target pool and the inspector pool.",
    "items": "List the inspection item list.",
    "projections": "Catch up or rebuild the read models.",
    "plan": "Yearly inspection plans: create, list, show.",
    "task": "Inspection tasks: create (临时任务 too), approve, extend the window, list, show.",
    "draw": "Commit, run, void, replay, export and prove draws.",
    "result": "Results: record, correct, return, disclose (审核/公示), follow-ups, show, public.",
    "report": "Accountability reports: trace, actor, refused, overdue, conflicts, stats (考核).",
    "settings": "Results settings and working-day calendars (signed ledger data).",
    "calendar": "Seed the yearly holiday schedules (放假安排) from chinesecalendar (signed).",
    "proposal": "Guarded actions (key recovery, revoking inspectors or drawers) approved by m of n with 纪检.",
    "beacon": "Public beacon (drand quicknet): verify a round offline, find a round by time.",
    "template": "Write an empty import file (xlsx or CSV) with bilingual headers.",
    "mirror": "Auditors: pull the ledger from a server into a verified local copy.",
    "serve": "Serve the HTTP API (signed commands in, receipts and reads out).",
    "token": "Print a short-lived bearer token signed with the actor's own key.",
    "class": "Risk-class set, 一般 ceilings and the annual per-firm cap; class signals.",
    "firm": "Firms' representatives: register, acknowledge, request 回避 (and decide it).",
    "objection": "异议 against published results: raise, resolve, list (public).",
    "notice": "Inspection notice codes: print one, check one without logging in.",
    "key": "The ledger key: rotate-ledger (a new key, recorded by an admin's signed command).",
    "witness": "Witnesses that cosign checkpoints: add, remove, list, push (same as `log witness`).",
}


def _build() -> dict[str, Any]:
    """The click group (importing click costs about 40 ms)."""
    import click

    class LazyGroup(click.Group):
        def list_commands(self, ctx: click.Context) -> list[str]:
            return sorted(COMMANDS)

        def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
            target = COMMANDS.get(cmd_name)
            if target is None:
                return None
            module_name, attribute = target.split(":")
            return getattr(importlib.import_module(module_name), attribute)  # type: ignore[no-any-return]

        def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
            rows = [(name, SUMMARIES.get(name, "")) for name in self.list_commands(ctx)]
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    @click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
    def cli() -> None:
        """drledger: a signed, hash-chained audit ledger for 双随机、一公开 supervision.

        \b
        Example:
          drledger init && drledger status && drledger verify
        """

    return {"LazyGroup": LazyGroup, "cli": cli}


_BUILT: dict[str, Any] = {}


def _group(name: str) -> Any:
    if not _BUILT:
        _BUILT.update(_build())
    return _BUILT[name]


def __getattr__(name: str) -> Any:
    """`cli` and `LazyGroup`, built on first use."""
    if name in ("cli", "LazyGroup"):
        return _group(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    if sys.argv[1:2] == ["sample"]:
        from ledger.cli.sampling import console

        console(sys.argv[2:])  # ends the process, unless click is to parse these arguments
    _group("cli")(prog_name="drledger")
