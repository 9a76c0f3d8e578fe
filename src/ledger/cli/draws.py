"""`drledger plan`, `task` and `draw`: verifiable draws, each a command signed by its actor.

Plans and tasks are signed by a planner, commitments, draws and voids by a
drawer, each with its own key (`--as ACTOR`, `--key FILE`; never a key the
ledger's HOME holds). A commitment freezes the draw's inputs and names
future rounds of public beacons; the run brings the rounds' signatures. No
secret: once the rounds are published, anyone can compute the outcome.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from ledger.cli.common import (
    EXIT_FAILED_CHECK,
    actor_options,
    clear_errors,
    config_from,
    fail,
    store_options,
    submit,
)
from ledger.cli.output import FORMAT
from ledger.cli.receipts import keep_receipt, receipt_option
from ledger.cli.workbook import xlsx_output


@click.group()
def plan() -> None:
    """Yearly inspection plans (年度抽查工作计划), signed by a planner.

    \b
    Example:
      drledger plan create P-2026-SCJG --title "2026年度双随机抽查计划" --department XY-SCJG --year 2026 \\
        --item XY-SCJG-001 --as planner-scjg
    """


@plan.command(name="create")
@store_options
@click.argument("plan_id")
@click.option("--title", required=True)
@click.option("--department", required=True, help="The department that owns the plan.")
@click.option("--year", type=int, required=True)
@click.option("--item", "items", multiple=True, required=True, help="Item code from the item list (repeat).")
@click.option("--joint", "joint", multiple=True, help="A department joining this plan's joint tasks (repeat).")
@actor_options
@receipt_option
@clear_errors
def plan_create(store: str | None, home: str, plan_id: str, title: str, department: str, year: int,
                items: tuple[str, ...], joint: tuple[str, ...], as_actor: str, key: Path | None,
                receipt_out: Path | None) -> None:
    """Create a yearly plan over items of the item list (a planner of the department, or above).

    \b
    Example:
      drledger plan create P-2026-01 --title 食品安全 --department XY-SCJG --year 2026 --item XY-SCJG-001 \\
        --joint XY-WJW --as planner-scjg
    """
    from ledger.services.draws import PlanBody, create_plan

    body = PlanBody(plan_id=plan_id, title=title, department=department, year=year, items=items,
                    joint_departments=joint)
    receipt = submit(store, home, as_actor, key, lambda ledger, signer: create_plan(ledger, signer, as_actor, body),
                     receipt_out)
    click.echo(f"plan {plan_id} created at position {receipt.first}")


@plan.command(name="list")
@store_options
@click.option("--year", type=int, default=None, help="Only plans of this year.")
@click.option("--department", default=None, help="Only plans this department owns or joins.")
@FORMAT
@clear_errors
def plan_list(store: str | None, home: str, year: int | None, department: str | None, fmt: str) -> None:
    """List yearly plans, with how many tasks each has.

    \b
    Example:
      drledger plan list --year 2026 --format csv > 计划.csv
    """
    from ledger.cli.output import emit
    from ledger.services.finding import PlanRow, plans

    emit(plans(config_from(store, home), year=year, department=department), fmt, PlanRow)


@plan.command(name="show")
@store_options
@click.argument("plan_id")
@FORMAT
@clear_errors
def plan_show(store: str | None, home: str, plan_id: str, fmt: str) -> None:
    """One plan: its items, joint departments, who created it (ledger position) and its tasks.

    \b
    Example:
      drledger plan show P-2026-XY-SCJG --format json
    """
    from ledger.cli.output import emit_detail
    from ledger.services.finding import TaskRow, plan as find

    found = find(config_from(store, home), plan_id)
    head = {**msgspec_dict(found.plan), "created_at": found.created_at, "created_by": found.created_by}
    emit_detail(found, head, found.tasks, fmt, TaskRow, "tasks:")


def _flat_value(value: Any) -> str:
    return ";".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def msgspec_dict(value: Any) -> dict[str, Any]:
    import msgspec

    return msgspec.structs.asdict(value)


def _quota(values: tuple[str, ...], kind: str) -> dict[str, Any]:
    from ledger.draw.spec import Quota

    quotas = {}
    for value in values:
        risk_class, _, amount = value.partition("=")
        if not risk_class or not risk_class.isalnum() or not amount:  # the ledger checks the class set in force
            raise click.BadParameter(f"{value!r}: use CLASS=VALUE, e.g. C=0.1", param_hint=f"--{kind}")
        if kind == "count":
            if not amount.isdigit():
                raise click.BadParameter(f"{value!r}: count must be a whole number", param_hint="--count")
            quotas[risk_class] = Quota(count=int(amount))
        else:
            quotas[risk_class] = Quota(ratio=amount)
    return quotas


def _window(text: str) -> tuple[date, date]:
    start, _, end = text.partition(":")
    try:
        return date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise click.BadParameter(f"{text!r}: use START:END as YYYY-MM-DD:YYYY-MM-DD", param_hint="--window") from None


@click.group()
def task() -> None:
    """Inspection tasks (抽查任务): parameters fixed before the draw, signed by a planner.

    \b
    Example:
      drledger task create T-2026-001 --plan P-2026-01 --name 春季抽查 --window 2026-03-01:2026-05-31 \\
        --item XY-SCJG-001 --department XY-SCJG --ratio A=0.01 --ratio B=0.03 --ratio C=0.1 --ratio D=0.3 \\
        --as planner-scjg
    """


@task.command(name="create")
@store_options
@click.argument("task_id")
@click.option("--plan", "plan_id", default="", help="The annual plan (none for a --temporary task).")
@click.option("--temporary", is_flag=True, help="临时任务: no annual plan; drawn once `task approve` by a second actor.")
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
@actor_options
@receipt_option
@clear_errors
def task_create(store: str | None, home: str, task_id: str, plan_id: str, temporary: bool, name: str, window: str,
                items: tuple[str, ...], departments: tuple[str, ...], ratios: tuple[str, ...],
                counts: tuple[str, ...], inspectors_per_target: int, experts_per_target: int,
                load_cap: int | None, exclude_recent_days: int | None, region: str | None,
                entity_types: tuple[str, ...], industry: str | None, supervised_by: str | None, as_actor: str,
                key: Path | None, receipt_out: Path | None) -> None:
    """Create a task of a plan (or a --temporary one); the ledger checks every parameter first.

    \b
    Example:
      drledger task create T-2026-001 --plan P-2026-01 --name 春季抽查 --window 2026-03-01:2026-05-31 \\
        --item XY-SCJG-001 --department XY-SCJG --ratio C=0.1 --count D=5 --load-cap 20 --as planner-scjg
      drledger task create T-TMP-01 --temporary --name 投诉专项 --window 2026-12-01:2026-12-31 \\
        --item XY-SCJG-002 --department XY-SCJG --count C=5 --as planner-scjg
    """
    from ledger.domain.filters import EntityFilter
    from ledger.services.draws import TaskBody, create_task

    start, end = _window(window)
    by_ratio, by_count = _quota(ratios, "ratio"), _quota(counts, "count")
    if set(by_ratio) & set(by_count):
        fail("a risk class has both a ratio and a count")
    body = TaskBody(
        task_id=task_id, plan_id=plan_id, name=name, window_start=start, window_end=end, items=items,
        departments=departments, quotas={**by_ratio, **by_count}, inspectors_per_target=inspectors_per_target,
        experts_per_target=experts_per_target, load_cap=load_cap, exclude_recent_days=exclude_recent_days,
        temporary=temporary, target_filter=EntityFilter(region_prefix=region, entity_types=entity_types, industry_prefix=industry,
                                   department=supervised_by),
    )
    receipt = submit(store, home, as_actor, key, lambda ledger, signer: create_task(ledger, signer, as_actor, body),
                     receipt_out)
    click.echo(f"task {task_id} created at position {receipt.first}")


@task.command(name="list")
@store_options
@click.option("--plan", "plan_id", default=None, help="Only tasks of this plan.")
@click.option("--department", default=None, help="Only tasks this department leads or joins.")
@click.option("--state", type=click.Choice(["created", "committed", "drawn", "voided"]), default=None)
@click.option("--year", type=int, default=None, help="Only tasks whose window starts in this year.")
@FORMAT
@clear_errors
def task_list(store: str | None, home: str, plan_id: str | None, department: str | None, state: str | None,
              year: int | None, fmt: str) -> None:
    """List tasks with their state, drawn targets, results and disclosures.

    \b
    Example:
      drledger task list --department XY-SCJG --state drawn
    """
    from ledger.cli.output import emit
    from ledger.services.finding import TaskRow, tasks

    emit(tasks(config_from(store, home), plan_id=plan_id, department=department, state=state, year=year), fmt,
         TaskRow)


@task.command(name="show")
@store_options
@click.argument("task_id")
@FORMAT
@clear_errors
def task_show(store: str | None, home: str, task_id: str, fmt: str) -> None:
    """One task: its signed parameters, who created it, and its standing teams with their results.

    \b
    Example:
      drledger task show T-2026-001 --format csv > 抽查名单.csv
    """
    from ledger.cli.output import emit_detail
    from ledger.services.finding import TeamLine, task as find

    found = find(config_from(store, home), task_id)
    parameters = dict(found.parameters)
    quotas = parameters.pop("quotas", {}) or {}
    target_filter = parameters.pop("target_filter", {}) or {}
    head = {**msgspec_dict(found.task),
            "quotas": " ".join(f"{k}={q.get('ratio') or q.get('count')}{'' if q.get('ratio') else ' (count)'}"
                               for k, q in sorted(quotas.items())),
            "target_filter": " ".join(f"{k}={_flat_value(v)}" for k, v in sorted(target_filter.items()) if v)
            or "不定向 (all)",
            **parameters, "created_at": found.created_at, "created_by": found.created_by}
    emit_detail(found, head, found.teams, fmt, TeamLine, "teams:")


@click.group()
def draw() -> None:
    """Commit, run, void, replay, export and prove draws (commit, run and void are signed by a drawer).

    \b
    Example:
      drledger draw commit T-2026-001 --as drawer-scjg && drledger draw run T-2026-001 --as drawer-scjg \\
        && drledger draw replay T-2026-001
    """


def _beacon_choices(ledger: Any, values: tuple[str, ...], delay: int) -> list[Any]:
    """`NETWORK[=ROUND]` options as the command's beacon choices (default: every pinned network,
    first round published at least `delay` seconds from now)."""
    import time

    from ledger.services.draws import BeaconChoice, default_round, pinned_networks

    networks = pinned_networks(ledger)
    wanted = list(values) or sorted(networks)
    choices = []
    for value in wanted:
        name, _, round_text = value.partition("=")
        if name not in networks:
            fail(f"--beacon {value}: {name!r} is not pinned by this ledger"
                 f" (pinned: {', '.join(sorted(networks)) or 'none'})")
        if round_text and not round_text.isdigit():
            fail(f"--beacon {value}: the round must be a whole number")
        number = int(round_text) if round_text else default_round(networks[name], time.time(), delay)
        choices.append(BeaconChoice(network=name, round=number))
    return choices


@draw.command()
@store_options
@click.argument("task_id")
@click.option("--beacon", "beacons", multiple=True, metavar="NETWORK[=ROUND]",
              help="A pinned beacon network and the round to use (repeat to combine several)"
                   " [default: every pinned network, its first round published --delay seconds from now].")
@click.option("--delay", type=click.IntRange(1, 7 * 86400), default=600, show_default=True,
              help="Seconds from now to the default round.")
@actor_options
@receipt_option
@clear_errors
def commit(store: str | None, home: str, task_id: str, beacons: tuple[str, ...], delay: int,
           as_actor: str, key: Path | None, receipt_out: Path | None) -> None:
    """Freeze the draw's inputs at the ledger's head and name future beacon rounds.

    The pool, the inspector directory and the conflicts (回避) are read now and
    their digest recorded; the draw will use exactly them, and the randomness
    of the named rounds, which nobody knows yet.

    \b
    Example:
      drledger draw commit T-2026-001 --beacon quicknet --as drawer-scjg
    """
    from ledger.services.draws import commit_draw

    def act(ledger: Any, signer: Any) -> Any:
        return commit_draw(ledger, signer, as_actor, task_id, _beacon_choices(ledger, beacons, delay))

    receipt = submit(store, home, as_actor, key, act, receipt_out)
    click.echo(f"inputs of {task_id} frozen at position {receipt.first - 1}; its signed command recorded at"
               f" {receipt.first}, the commitment at {receipt.last}")
    click.echo("run the draw once the named round is published: drledger draw run"
               f" {task_id} --signature HEX (drledger draw list --task {task_id} names the round)")


@draw.command()
@store_options
@click.argument("task_id")
@click.option("--signature", "signatures", multiple=True, required=True, metavar="HEX",
              help="The committed round's beacon signature, from the beacon network (repeat, in committed order).")
@click.option("--json", "as_json", is_flag=True, help="Print the recorded draw as JSON.")
@actor_options
@receipt_option
@clear_errors
def run(store: str | None, home: str, task_id: str, signatures: tuple[str, ...], as_json: bool,
        as_actor: str, key: Path | None, receipt_out: Path | None) -> None:
    """Draw from the frozen inputs with the committed rounds' randomness, and record it.

    Each signature must verify for exactly its committed round.

    \b
    Example:
      drledger draw run T-2026-001 --signature b44679b9a59a…5e39 --as drawer-scjg
    """
    import msgspec

    from ledger.services.draws import run_draw

    outcome = submit(store, home, as_actor, key,
                     lambda ledger, signer: run_draw(ledger, signer, as_actor, task_id, list(signatures)))
    keep_receipt(receipt_out, outcome.receipt)
    if as_json:
        click.echo(msgspec.json.encode(outcome).decode())
        return
    total = sum(len(v) for v in outcome.targets.values())
    counts = ", ".join(f"{k} {len(outcome.targets[k])}/{outcome.counts[k]}" for k in "ABCD")
    click.echo(f"drawn {total} targets ({counts}) from the inputs frozen at position {outcome.position};"
               f" recorded at {outcome.drawn_at}; seed {outcome.seed}")
    for team in outcome.teams[:10]:
        click.echo(f"  {team.target}  {' '.join(team.inspectors)}{'  + ' + ' '.join(team.experts) if team.experts else ''}")
    if len(outcome.teams) > 10:
        click.echo(f"  ... {len(outcome.teams) - 10} more (drledger draw export {task_id})")


@draw.command(name="list")
@store_options
@click.option("--task", "task_id", default=None, help="Only this task's attempts.")
@xlsx_output("ledger.services.draws:DrawAttempt")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@clear_errors
def list_attempts(store: str | None, home: str, task_id: str | None, fmt: str) -> None:
    """Every draw attempt in public: commitments (with their beacon rounds), draws, voids (with
    their reasons) and abandoned commitments (derived from the time now).

    \b
    Example:
      drledger draw list --task T-2026-001 --format json
    """
    from ledger.cli.output import emit
    from ledger.services.draws import DrawAttempt, draw_attempts

    emit(draw_attempts(config_from(store, home), task_id), fmt, DrawAttempt)


@draw.command()
@store_options
@click.argument("task_id")
@click.option("--signature", "signatures", multiple=True, required=True, metavar="HEX",
              help="The committed round's beacon signature (repeat, in committed order).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@clear_errors
def outcome(store: str | None, home: str, task_id: str, signatures: tuple[str, ...], as_json: bool) -> None:
    """The outcome a standing (or abandoned) commitment leads to, computed, not recorded: anyone can
    see what its draw gives once the round is published, whether or not the drawer runs it.

    \b
    Example:
      drledger draw outcome T-2026-001 --signature b44679b9a59a…5e39
    """
    import msgspec

    from ledger.services.draws import outcome_of_commitment
    from ledger.services.ledger import open_ledger

    with open_ledger(config_from(store, home)) as ledger:
        computed = outcome_of_commitment(ledger, task_id, list(signatures))
    if as_json:
        click.echo(msgspec.json.encode(computed).decode())
        return
    total = sum(len(v) for v in computed.targets.values())
    click.echo(f"{task_id}: the commitment's draw gives {total} targets; seed {computed.seed} (not recorded)")
    for team in computed.teams:
        click.echo(f"  {team.target}  {' '.join(team.inspectors)}")


@draw.command()
@store_options
@click.argument("task_id")
@click.option("--reason", required=True, help="Why the draw is voided (kept in the ledger).")
@actor_options
@receipt_option
@clear_errors
def void(store: str | None, home: str, task_id: str, reason: str, as_actor: str, key: Path | None,
         receipt_out: Path | None) -> None:
    """Void a draw, visibly and with a reason; a new draw then needs a new commitment.

    \b
    Example:
      drledger draw void T-2026-001 --reason "抽查事项清单调整，重新抽取" --as drawer-scjg
    """
    from ledger.services.draws import void_draw

    receipt = submit(store, home, as_actor, key,
                     lambda ledger, signer: void_draw(ledger, signer, as_actor, task_id, reason), receipt_out)
    click.echo(f"draw of {task_id} voided at position {receipt.first}")


@draw.command()
@store_options
@click.argument("task_id")
@click.option("--target", required=True, help="The drawn firm (USCC) whose team the officer leaves.")
@click.option("--reason", required=True, help="The conflict (回避) declared, kept in the ledger.")
@actor_options
@receipt_option
@clear_errors
def recuse(store: str | None, home: str, task_id: str, target: str, reason: str, as_actor: str,
           key: Path | None, receipt_out: Path | None) -> None:
    """An officer of a drawn team recuses itself (回避), signed with its own key; the draw's own
    ranking names who takes the place (替换, draw-spec step 7).

    \b
    Example:
      drledger draw recuse T-2026-001 --target 91360502MA35XXXX0X --reason "与该企业负责人系亲属" --as 360500SCJG0007
    """
    from ledger.services.draws import recuse as service

    receipt = submit(store, home, as_actor, key,
                     lambda ledger, signer: service(ledger, signer, as_actor, task_id, target, reason), receipt_out)
    click.echo(f"{as_actor} left the team of {target} in {task_id}; the successor is recorded at {receipt.last}"
               f" (drledger report trace --task {task_id} --target {target})")


@draw.command()
@store_options
@click.argument("task_id")
@click.option("--target", required=True, help="The drawn firm (USCC).")
@click.option("--officer", required=True, help="The officer (badge) to replace.")
@click.option("--reason", required=True, help="Why (illness, leave, ...), kept in the ledger.")
@actor_options
@receipt_option
@clear_errors
def substitute(store: str | None, home: str, task_id: str, target: str, officer: str, reason: str, as_actor: str,
               key: Path | None, receipt_out: Path | None) -> None:
    """A reviewer of the lead department replaces an officer of a drawn team; the draw's own
    ranking names the successor (替换, draw-spec step 7).

    \b
    Example:
      drledger draw substitute T-2026-001 --target 91360502MA35XXXX0X --officer 360500SCJG0007 --reason 病假 --as reviewer-scjg
    """
    from ledger.services.draws import substitute as service

    receipt = submit(store, home, as_actor, key,
                     lambda ledger, signer: service(ledger, signer, as_actor, task_id, target, officer, reason),
                     receipt_out)
    click.echo(f"{officer} replaced in the team of {target} in {task_id}, recorded at {receipt.last}")


@draw.command()
@store_options
@click.argument("task_id")
@click.option("--class", "risk_class", required=True, type=click.Choice(["A", "B", "C", "D"]))
@click.option("--count", type=click.IntRange(1, 10_000), required=True, help="How many more targets.")
@click.option("--reason", required=True, help="Why more targets are needed, kept in the ledger.")
@actor_options
@receipt_option
@clear_errors
def extend(store: str | None, home: str, task_id: str, risk_class: str, count: int, reason: str, as_actor: str,
           key: Path | None, receipt_out: Path | None) -> None:
    """补抽: more targets of one class, the next firms of the draw's own order (no redraw), with teams.

    \b
    Example:
      drledger draw extend T-2026-001 --class C --count 3 --reason "3户已注销，按规定补抽" --as drawer-scjg
    """
    from ledger.services.draws import extend as service

    receipt = submit(store, home, as_actor, key,
                     lambda ledger, signer: service(ledger, signer, as_actor, task_id, risk_class, count, reason),
                     receipt_out)
    click.echo(f"{count} more class {risk_class} target(s) of {task_id} recorded at {receipt.last}")


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

    from ledger.services.draws import replay

    results = replay(config_from(store, home), task_id)
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
@click.option("--public", is_flag=True, help="The public bundle: the pool as salted commitments, no undrawn firm named.")
@clear_errors
def export(store: str | None, home: str, task_id: str, out: Path | None, public: bool) -> None:
    """Write a self-contained JSON bundle of the task's standing (or latest) draw.

    By default the full bundle, for authorised auditors: the inputs the commitment froze (every pool
    firm by USCC and risk class, the salt key, inspectors, conflicts), the commitment and the draw with
    the drawer's signed commands, the beacon networks' chain info and the task's earlier attempts.
    With --public, the bundle to publish (风险分类不公开): each class's pool as salted commitments, only
    the drawn firms revealed with their salts. Check either with Python:
    `python3 docs/verify_draw.py bundle.json` (standard library, plus py-arkworks-bls12381 for the
    beacon signatures).

    \b
    Example:
      drledger draw export T-2026-001 --public --out T-2026-001.public.json
    """
    from ledger.services.bundles import BundleError, export_bundle

    try:
        data = export_bundle(config_from(store, home), task_id, public=public)
    except BundleError as error:
        fail(str(error))
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
    """Prove to a firm whether it was in a draw's pool: its salt, its commitment and RFC 9162 proofs.

    Give the output to that firm alone: with a public bundle it checks its membership (or its absence
    from every class) with `python3 docs/verify_draw.py --proof PROOF.json BUNDLE.json`.

    \b
    Example:
      drledger draw prove T-2026-001 91110108551385082Q
    """
    from ledger.services.bundles import BundleError, prove_membership

    try:
        click.echo(prove_membership(config_from(store, home), task_id, uscc).decode())
    except BundleError as error:
        fail(str(error))


from ledger.cli.tasks import add_task_commands  # noqa: E402  (task approve, task extend-window)

add_task_commands(task)
