"""`drledger plan`, `task` and `draw`: verifiable draws."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from ledger.cli.common import EXIT_FAILED_CHECK, clear_errors, config_from, fail, store_options

SIGNER_OPTIONS = [
    click.option("--as", "as_actor", default="drawer", show_default=True, help="The drawer who signs."),
    click.option("--key", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="The drawer's key file (default HOME/keys/<actor>.pem)."),
]


def signer_options(function: Any) -> Any:
    for option in reversed(SIGNER_OPTIONS):
        function = option(function)
    return function


def load_signer(home: Path, actor: str, key: Path | None):  # -> Signer
    from ledger.integrity.keys import read_key_file
    from ledger.setup import passphrase

    return read_key_file(key or home / "keys" / f"{actor}.pem", passphrase())


@click.group()
def plan() -> None:
    """Yearly inspection plans (年度抽查工作计划).

    \b
    Example:
      drledger plan create P-2026-SCJG --title "2026年度双随机抽查计划" --department XY-SCJG --year 2026 --item XY-SCJG-001
    """


@plan.command(name="create")
@store_options
@click.argument("plan_id")
@click.option("--title", required=True)
@click.option("--department", required=True, help="The department that owns the plan.")
@click.option("--year", type=int, required=True)
@click.option("--item", "items", multiple=True, required=True, help="Item code from the item list (repeat).")
@click.option("--joint", "joint", multiple=True, help="A department joining this plan's joint tasks (repeat).")
@click.option("--as", "as_actor", default="admin", show_default=True, help="The planner.")
@clear_errors
def plan_create(store: str | None, home: str, plan_id: str, title: str, department: str, year: int,
                items: tuple[str, ...], joint: tuple[str, ...], as_actor: str) -> None:
    """Create a yearly plan over items of the item list.

    \b
    Example:
      drledger plan create P-2026-01 --title 食品安全 --department XY-SCJG --year 2026 --item XY-SCJG-001 --joint XY-WJW
    """
    from ledger.draw_service import create_plan

    create_plan(config_from(store, home), plan_id=plan_id, title=title, department=department, year=year,
                items=items, joint_departments=joint, actor=as_actor)
    click.echo(f"plan {plan_id} created")


def _quota(values: tuple[str, ...], kind: str) -> dict[str, Any]:
    from ledger.draw.spec import Quota

    quotas = {}
    for value in values:
        risk_class, _, amount = value.partition("=")
        if risk_class not in ("A", "B", "C", "D") or not amount:
            raise click.BadParameter(f"{value!r}: use CLASS=VALUE, e.g. C=0.1", param_hint=f"--{kind}")
        if kind == "count":
            if not amount.isdigit():
                raise click.BadParameter(f"{value!r}: count must be a whole number", param_hint="--count")
            quotas[risk_class] = Quota(count=int(amount))
        else:
            quotas[risk_class] = Quota(ratio=amount)
    return quotas


def _window(text: str) -> tuple[date, date]:
    start, sep, end = text.partition(":")
    try:
        return date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise click.BadParameter(f"{text!r}: use START:END as YYYY-MM-DD:YYYY-MM-DD", param_hint="--window") from None


@click.group()
def task() -> None:
    """Inspection tasks (抽查任务): parameters fixed before the draw.

    \b
    Example:
      drledger task create T-2026-001 --plan P-2026-01 --name 春季抽查 --window 2026-03-01:2026-05-31 \\
        --item XY-SCJG-001 --department XY-SCJG --ratio A=0.01 --ratio B=0.03 --ratio C=0.1 --ratio D=0.3
    """


@task.command(name="create")
@store_options
@click.argument("task_id")
@click.option("--plan", "plan_id", required=True)
@click.option("--name", required=True)
@click.option("--window", required=True, metavar="START:END", help="Inspection window, e.g. 2026-03-01:2026-05-31.")
@click.option("--item", "items", multiple=True, required=True, help="Item code (repeat).")
@click.option("--department", "departments", multiple=True, required=True, help="Lead department first, then participants (repeat).")
@click.option("--ratio", "ratios", multiple=True, metavar="CLASS=R", help="Sampling ratio per risk class, e.g. C=0.1.")
@click.option("--count", "counts", multiple=True, metavar="CLASS=N", help="Fixed number of targets per class.")
@click.option("--inspectors", "inspectors_per_target", type=int, default=2, show_default=True, help="Enforcement officers per target (>= 2).")
@click.option("--experts", "experts_per_target", type=int, default=0, show_default=True, help="Experts per target, in addition.")
@click.option("--load-cap", type=int, default=None, help="Most targets one inspector may get in this task.")
@click.option("--exclude-recent-days", type=int, default=None, help="Leave out targets drawn for the same items within N days.")
@click.option("--region", default=None, help="定向: region code prefix.")
@click.option("--type", "entity_types", multiple=True, help="定向: entity type (repeat).")
@click.option("--industry", default=None, help="定向: industry code prefix.")
@click.option("--supervised-by", default=None, help="定向: supervising department.")
@click.option("--as", "as_actor", default="admin", show_default=True, help="The planner.")
@clear_errors
def task_create(store: str | None, home: str, task_id: str, plan_id: str, name: str, window: str,
                items: tuple[str, ...], departments: tuple[str, ...], ratios: tuple[str, ...],
                counts: tuple[str, ...], inspectors_per_target: int, experts_per_target: int,
                load_cap: int | None, exclude_recent_days: int | None, region: str | None,
                entity_types: tuple[str, ...], industry: str | None, supervised_by: str | None, as_actor: str) -> None:
    """Create a task of a plan; every parameter is checked before anything is written.

    \b
    Example:
      drledger task create T-2026-001 --plan P-2026-01 --name 春季抽查 --window 2026-03-01:2026-05-31 \\
        --item XY-SCJG-001 --department XY-SCJG --ratio C=0.1 --count D=5 --load-cap 20
    """
    from ledger.domain.filters import EntityFilter
    from ledger.draw_service import TaskSpec, create_task

    start, end = _window(window)
    quotas = {**_quota(ratios, "ratio"), **_quota(counts, "count")}
    if set(_quota(ratios, "ratio")) & set(_quota(counts, "count")):
        fail("a risk class has both a ratio and a count")
    spec = TaskSpec(
        task_id=task_id, plan_id=plan_id, name=name, window_start=start, window_end=end, items=items,
        departments=departments, quotas=quotas, inspectors_per_target=inspectors_per_target,
        experts_per_target=experts_per_target, load_cap=load_cap, exclude_recent_days=exclude_recent_days,
        target_filter=EntityFilter(region_prefix=region, entity_types=entity_types, industry_prefix=industry,
                                   department=supervised_by),
    )
    create_task(config_from(store, home), spec, as_actor)
    click.echo(f"task {task_id} created")


@click.group()
def draw() -> None:
    """Commit, run, void, replay, export and prove draws.

    \b
    Example:
      drledger draw commit T-2026-001 && drledger draw run T-2026-001 && drledger draw replay T-2026-001
    """


@draw.command()
@store_options
@click.argument("task_id")
@click.option("--secret-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the secret here for offline custody (default HOME/secrets/TASK-<commitment>.secret).")
@click.option("--beacon-round", default=None, help="The public beacon round the draw will use (named in advance).")
@signer_options
@clear_errors
def commit(store: str | None, home: str, task_id: str, secret_out: Path | None, beacon_round: str | None,
           as_actor: str, key: Path | None) -> None:
    """Make a 256-bit secret and record only its SHA-256 (commit-reveal).

    \b
    Example:
      drledger draw commit T-2026-001 --beacon-round drand-quicknet-12345678
    """
    from ledger.draw_service import commit_draw

    config = config_from(store, home)
    path, commitment = commit_draw(config, task_id, load_signer(config.home, as_actor, key), as_actor,
                                   beacon_round=beacon_round, secret_out=secret_out)
    click.echo(f"commitment {commitment}")
    click.echo(f"secret kept in {path} (mode 0600): it is revealed by `drledger draw run`")


@draw.command()
@store_options
@click.argument("task_id")
@click.option("--secret", "secret_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The secret file (default: the newest HOME/secrets/TASK-*.secret).")
@click.option("--beacon", default="", help="The public beacon value, if the commitment named a round.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@signer_options
@clear_errors
def run(store: str | None, home: str, task_id: str, secret_file: Path | None, beacon: str, as_json: bool,
        as_actor: str, key: Path | None) -> None:
    """Freeze the pool, reveal the secret, draw targets and teams, record it signed.

    \b
    Example:
      drledger draw run T-2026-001 --secret /media/usb/T-2026-001.secret
    """
    import msgspec

    from ledger.draw_service import latest_secret_path, read_secret, run_draw

    config = config_from(store, home)
    secret = read_secret(secret_file or latest_secret_path(config, task_id))
    outcome = run_draw(config, task_id, secret, beacon, load_signer(config.home, as_actor, key), as_actor)
    if as_json:
        click.echo(msgspec.json.encode(outcome).decode())
        return
    total = sum(len(v) for v in outcome.targets.values())
    counts = ", ".join(f"{k} {len(outcome.targets[k])}/{outcome.counts[k]}" for k in "ABCD")
    click.echo(f"drawn {total} targets ({counts}); seed {outcome.seed}")
    for team in outcome.teams[:10]:
        click.echo(f"  {team.target}  {' '.join(team.inspectors)}{'  + ' + ' '.join(team.experts) if team.experts else ''}")
    if len(outcome.teams) > 10:
        click.echo(f"  ... {len(outcome.teams) - 10} more (drledger draw export {task_id})")


@draw.command()
@store_options
@click.argument("task_id")
@click.option("--reason", required=True, help="Why the draw is voided (kept in the ledger).")
@signer_options
@clear_errors
def void(store: str | None, home: str, task_id: str, reason: str, as_actor: str, key: Path | None) -> None:
    """Void a draw, visibly and with a reason; a new draw then needs a new commitment.

    \b
    Example:
      drledger draw void T-2026-001 --reason "抽查事项清单调整，重新抽取"
    """
    from ledger.draw_service import void_draw

    config = config_from(store, home)
    void_draw(config, task_id, reason, load_signer(config.home, as_actor, key), as_actor)
    click.echo(f"draw of {task_id} voided")


@draw.command()
@store_options
@click.argument("task_id")
@click.option("--json", "as_json", is_flag=True)
@clear_errors
def replay(store: str | None, home: str, task_id: str, as_json: bool) -> None:
    """Recompute a task's draws from the ledger's events and compare.

    Exit 1 with the exact difference if anything differs.

    \b
    Example:
      drledger draw replay T-2026-001 --json
    """
    import msgspec

    from ledger.verify.draws import replay_draws

    results, _ = replay_draws(config_from(store, home), task_id)
    if not results:
        fail(f"task {task_id} has no draw to replay")
    if as_json:
        click.echo(msgspec.json.encode(results).decode())
    else:
        for r in results:
            state = "voided later" if r.voided else "standing"
            verdict = "identical" if r.ok else "DIFFERS"
            click.echo(f"{r.task_id} drawn at position {r.drawn_at} (pool at {r.position}, {state}): {r.targets} targets, {verdict}")
            for difference in r.differences:
                click.echo(f"  {difference}", err=True)
    if not all(r.ok for r in results):
        sys.exit(EXIT_FAILED_CHECK)


@draw.command()
@store_options
@click.argument("task_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File to write (default stdout).")
@clear_errors
def export(store: str | None, home: str, task_id: str, out: Path | None) -> None:
    """Write a self-contained JSON bundle (inputs, pool IDs, outcome) for third parties.

    Check it with nothing but Python: `python3 docs/verify_draw.py bundle.json`.

    \b
    Example:
      drledger draw export T-2026-001 --out T-2026-001.bundle.json
    """
    from ledger.draw_bundle import export_bundle

    data = export_bundle(config_from(store, home), task_id)
    if out:
        out.write_bytes(data)
        click.echo(f"wrote {out}")
    else:
        sys.stdout.buffer.write(data + b"\n")


@draw.command()
@store_options
@click.argument("task_id")
@click.argument("uscc")
@clear_errors
def prove(store: str | None, home: str, task_id: str, uscc: str) -> None:
    """Prove whether a firm was in a draw's pool (RFC 9162 proofs against its roots).

    \b
    Example:
      drledger draw prove T-2026-001 91110108551385082Q
    """
    from ledger.draw_bundle import prove_membership

    click.echo(prove_membership(config_from(store, home), task_id, uscc).decode())
