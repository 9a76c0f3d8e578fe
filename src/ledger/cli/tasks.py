"""`drledger task approve|extend-window`, `class`, `firm`, `objection` and `notice`.

Every write is a command signed by its actor's own key (`--as`, `--key`);
the rules are in domain/tasks.py, classes.py, firms.py and objections.py.
`notice check` and `objection list` read public data and sign nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ledger.cli.common import actor_options, clear_errors, config_from, fail, store_options, submit
from ledger.cli.receipts import receipt_option


def _write(store: str | None, home: str, as_actor: str, key: Path | None, receipt_out: Path | None,
           service: Callable[..., Any], *args: Any, done: str = "") -> Any:
    """`service(ledger, signer, as_actor, *args)`: signed with the actor's own key and submitted; the receipt
    kept where `--receipt` asked; with `done`, "<done> at position N" printed. Returns the receipt."""
    receipt = submit(store, home, as_actor, key, lambda ledger, signer: service(ledger, signer, as_actor, *args),
                     receipt_out)
    if done:
        click.echo(f"{done} at position {receipt.first}")
    return receipt


def _read(store: str | None, home: str, act: Any) -> Any:
    from ledger.services.ledger import open_ledger

    with open_ledger(config_from(store, home)) as ledger:
        return act(ledger)


# ---------------------------------------------------------------------------
# task approve | extend-window (added to the `task` group of cli/draws.py)


@click.command(name="approve")
@store_options
@click.argument("task_id")
@click.option("--reason", required=True, help="Why the temporary task is needed (线索, 投诉, 上级交办...).")
@actor_options
@receipt_option
@clear_errors
def task_approve(store: str | None, home: str, task_id: str, reason: str, as_actor: str, key: Path | None,
                 receipt_out: Path | None) -> None:
    """Approve a temporary task (临时任务): a reviewer of its lead department who did not create it.

    \b
    Example:
      drledger task approve T-TMP-01 --reason "投诉举报线索集中，同意开展" --as reviewer-scjg
    """
    from ledger.services.firms import approve_task

    _write(store, home, as_actor, key, receipt_out, approve_task, task_id, reason, done=f"task {task_id} approved")


@click.command(name="extend-window")
@store_options
@click.argument("task_id")
@click.option("--to", "window_end", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="The new last day of the window (later than the current one).")
@click.option("--reason", required=True)
@actor_options
@receipt_option
@clear_errors
def task_extend_window(store: str | None, home: str, task_id: str, window_end: Any, reason: str, as_actor: str,
                       key: Path | None, receipt_out: Path | None) -> None:
    """Move a task's window end later (a planner of its lead department), with a reason.

    A standing commitment keeps the window it froze.

    \b
    Example:
      drledger task extend-window T-2026-001 --to 2026-06-30 --reason "春节假期顺延" --as planner-scjg
    """
    from ledger.domain.tasks import ExtendWindowBody
    from ledger.services.firms import extend_window

    body = ExtendWindowBody(task_id=task_id, window_end=window_end.date(), reason=reason)
    receipt = _write(store, home, as_actor, key, receipt_out, extend_window, body)
    click.echo(f"task {task_id}: window now ends {body.window_end} (position {receipt.first})")


def add_task_commands(group: click.Group) -> None:
    group.add_command(task_approve)
    group.add_command(task_extend_window)


# ---------------------------------------------------------------------------
# class: the class set and signals


@click.group(name="class")
def class_group() -> None:
    """Risk classes (信用风险分类) as configuration, and results as signals to the class.

    \b
    Example:
      drledger class set --class A=低风险 --class B=一般风险 --class C=较高风险 --class D=高风险 \\
        --class E=严重失信风险 --source "山东省 A-E" --as admin && drledger class show
    """


@class_group.command(name="set")
@store_options
@click.option("--class", "classes", multiple=True, required=True, metavar="CODE=LABEL[:MAXRATIO]",
              help="A class, low to high risk (repeat); MAXRATIO: the most a task of only 一般 items may draw.")
@click.option("--cap", "annual_cap", type=int, default=None, help="Inspections per firm a year, all tasks.")
@click.option("--source", required=True, help="The rule the set follows.")
@actor_options
@receipt_option
@clear_errors
def class_set(store: str | None, home: str, classes: tuple[str, ...], annual_cap: int | None, source: str,
              as_actor: str, key: Path | None, receipt_out: Path | None) -> None:
    """Replace the draw settings: the class set, 一般 ceilings and the annual cap (a ledger-wide admin).

    \b
    Example:
      drledger class set --class A=低风险:0.03 --class B=一般风险 --class C=较高风险 --class D=高风险 \\
        --cap 2 --source "国市监信发〔2022〕6号; 国办发〔2024〕54号" --as admin
    """
    from ledger.domain.classes import DrawSettings, RiskClassSpec
    from ledger.services.firms import set_draw_settings

    specs = []
    for value in classes:
        code, _, rest = value.partition("=")
        label, _, ratio = rest.partition(":")
        if not code or not label:
            raise click.BadParameter(f"{value!r}: use CODE=LABEL or CODE=LABEL:MAXRATIO", param_hint="--class")
        specs.append(RiskClassSpec(code=code, label=label, general_max_ratio=ratio or None))
    settings = DrawSettings(classes=tuple(specs), annual_cap_per_firm=annual_cap, source=source)
    receipt = _write(store, home, as_actor, key, receipt_out, set_draw_settings, settings)
    click.echo(f"draw settings recorded at position {receipt.first}: classes {', '.join(settings.codes)}")


@class_group.command(name="show")
@store_options
@click.option("--json", "as_json", is_flag=True)
@clear_errors
def class_show(store: str | None, home: str, as_json: bool) -> None:
    """The draw settings in force.

    \b
    Example:
      drledger class show --json
    """
    import msgspec

    from ledger.domain.classes import DEFAULT_DRAW_SETTINGS, DrawConfig

    def read(ledger: Any) -> Any:
        found = ledger.processor.app.find(DrawConfig.ID)
        return found.settings if found is not None else DEFAULT_DRAW_SETTINGS

    settings = _read(store, home, read)
    if as_json:
        click.echo(json.dumps(msgspec.to_builtins(settings), ensure_ascii=False))
        return
    for spec in settings.classes:
        ceiling = f"\t一般 items at most {spec.general_max_ratio}" if spec.general_max_ratio else ""
        click.echo(f"{spec.code}\t{spec.label}{ceiling}")
    click.echo(f"annual cap per firm\t{settings.annual_cap_per_firm or 'none'}")
    click.echo(f"source\t{settings.source}")


@class_group.command(name="signal")
@store_options
@click.argument("task_id")
@click.argument("uscc")
@click.option("--suggests", type=click.Choice(["raise", "lower", "note"]), required=True)
@click.option("--reason", required=True)
@actor_options
@receipt_option
@clear_errors
def class_signal(store: str | None, home: str, task_id: str, uscc: str, suggests: str, reason: str, as_actor: str,
                 key: Path | None, receipt_out: Path | None) -> None:
    """Record what a disclosed result suggests for the firm's class (a reviewer; no class changes).

    \b
    Example:
      drledger class signal T-2026-001 91360502MA35XXXX0X --suggests raise --reason 发现问题待后续处理 \\
        --as reviewer-scjg
    """
    from ledger.domain.classes import SignalBody
    from ledger.services.firms import signal

    body = SignalBody(task_id=task_id, uscc=uscc, suggests=suggests, reason=reason)
    _write(store, home, as_actor, key, receipt_out, signal, body, done="signal recorded")


# ---------------------------------------------------------------------------
# firm


@click.group()
def firm() -> None:
    """Firms take part: representatives, acknowledgements, 回避 requests (and their decisions).

    \b
    Example:
      drledger firm register rep-xiaomi --uscc 91110108551385082Q --name 张三 --public-key MCow...= \\
        --check-method 电子营业执照 --check-reference XY-2026-0042 --as lm-scjg
      drledger firm acknowledge T-2026-001 --as rep-xiaomi
    """


@firm.command(name="register")
@store_options
@click.argument("actor_id")
@click.option("--uscc", required=True)
@click.option("--name", required=True)
@click.option("--public-key", required=True, metavar="BASE64", help="The representative's own key (`actor keygen`).")
@click.option("--check-method", required=True, help="The identity check the deployment defines.")
@click.option("--check-reference", required=True, help="The check's reference (never an ID-card number).")
@actor_options
@receipt_option
@clear_errors
def firm_register(store: str | None, home: str, actor_id: str, uscc: str, name: str, public_key: str,
                  check_method: str, check_reference: str, as_actor: str, key: Path | None,
                  receipt_out: Path | None) -> None:
    """Register a firm's representative (a list manager of the firm's department).

    \b
    Example:
      drledger firm register rep-1 --uscc 91110108551385082Q --name 张三 --public-key MCow...= \\
        --check-method 电子营业执照 --check-reference XY-2026-0042 --as lm-scjg
    """
    from ledger.domain.firms import RegisterFirmBody
    from ledger.services.firms import register_firm

    body = RegisterFirmBody(actor_id=actor_id, name=name, uscc=uscc, public_key=public_key,
                            check_method=check_method, check_reference=check_reference)
    _write(store, home, as_actor, key, receipt_out, register_firm, body,
           done=f"firm representative {actor_id} ({uscc}) registered")


@firm.command(name="acknowledge")
@store_options
@click.argument("task_id")
@actor_options
@receipt_option
@clear_errors
def firm_acknowledge(store: str | None, home: str, task_id: str, as_actor: str, key: Path | None,
                     receipt_out: Path | None) -> None:
    """Acknowledge the inspection of a task that drew the firm (its representative signs).

    \b
    Example:
      drledger firm acknowledge T-2026-001 --as rep-1
    """
    from ledger.services.firms import acknowledge

    _write(store, home, as_actor, key, receipt_out, acknowledge, task_id, done="acknowledged")


@firm.command(name="recusal-request")
@store_options
@click.argument("task_id")
@click.option("--officer", required=True, help="The badge of the officer asked to step aside.")
@click.option("--reason", required=True)
@actor_options
@receipt_option
@clear_errors
def firm_recusal_request(store: str | None, home: str, task_id: str, officer: str, reason: str, as_actor: str,
                         key: Path | None, receipt_out: Path | None) -> None:
    """Ask that an officer of the firm's team step aside (申请回避).

    \b
    Example:
      drledger firm recusal-request T-2026-001 --officer XY-SCJG-0003 --reason 近亲属关系 --as rep-1
    """
    from ledger.services.firms import request_recusal

    _write(store, home, as_actor, key, receipt_out, request_recusal, task_id, officer, reason,
           done="recusal requested")


@firm.command(name="recusal-decide")
@store_options
@click.argument("task_id")
@click.argument("uscc")
@click.option("--officer", required=True)
@click.option("--grant/--deny", required=True)
@click.option("--reason", required=True)
@actor_options
@receipt_option
@clear_errors
def firm_recusal_decide(store: str | None, home: str, task_id: str, uscc: str, officer: str, grant: bool,
                        reason: str, as_actor: str, key: Path | None, receipt_out: Path | None) -> None:
    """Grant (the draw's ranking names the successor) or deny a firm's 回避 request (a reviewer).

    \b
    Example:
      drledger firm recusal-decide T-2026-001 91360502MA35XXXX0X --officer XY-SCJG-0003 --grant \\
        --reason 经核实存在近亲属关系 --as reviewer-scjg
    """
    from ledger.domain.firms import RecusalDecideBody
    from ledger.services.firms import decide_recusal

    body = RecusalDecideBody(task_id=task_id, uscc=uscc, officer=officer, grant=grant, reason=reason)
    _write(store, home, as_actor, key, receipt_out, decide_recusal, body,
           done=f"recusal {'granted' if grant else 'denied'}")


# ---------------------------------------------------------------------------
# objection


@click.group()
def objection() -> None:
    """异议 against a published result: raised by the firm, resolved by the department, public.

    \b
    Example:
      drledger objection raise T-2026-001 --reason 检查当日已整改 --as rep-1
      drledger objection resolve T-2026-001 91360502MA35XXXX0X --outcome upheld --reason 予以更正 --as reviewer-scjg
      drledger objection list --task T-2026-001
    """


@objection.command(name="raise")
@store_options
@click.argument("task_id")
@click.option("--reason", required=True)
@actor_options
@receipt_option
@clear_errors
def objection_raise(store: str | None, home: str, task_id: str, reason: str, as_actor: str, key: Path | None,
                    receipt_out: Path | None) -> None:
    """Object to the firm's published result in a task (its representative signs).

    \b
    Example:
      drledger objection raise T-2026-001 --reason 检查当日已整改 --as rep-1
    """
    from ledger.services.firms import raise_objection

    _write(store, home, as_actor, key, receipt_out, raise_objection, task_id, reason, done="objection raised")


@objection.command(name="resolve")
@store_options
@click.argument("task_id")
@click.argument("uscc")
@click.option("--outcome", type=click.Choice(["upheld", "rejected"]), required=True)
@click.option("--reason", required=True)
@actor_options
@receipt_option
@clear_errors
def objection_resolve(store: str | None, home: str, task_id: str, uscc: str, outcome: str, reason: str,
                      as_actor: str, key: Path | None, receipt_out: Path | None) -> None:
    """Resolve an objection (a reviewer of the department that published the result).

    \b
    Example:
      drledger objection resolve T-2026-001 91360502MA35XXXX0X --outcome rejected --reason 现场记录属实 \\
        --as reviewer-scjg
    """
    from ledger.domain.objections import ResolveBody
    from ledger.services.firms import resolve_objection

    body = ResolveBody(task_id=task_id, uscc=uscc, outcome=outcome, reason=reason)
    _write(store, home, as_actor, key, receipt_out, resolve_objection, body, done=f"objection {outcome}")


@objection.command(name="list")
@store_options
@click.option("--task", "task_id", default=None)
@click.option("--uscc", default=None)
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@clear_errors
def objection_list(store: str | None, home: str, task_id: str | None, uscc: str | None, as_json: bool) -> None:
    """Every objection and its resolution (public).

    \b
    Example:
      drledger objection list --task T-2026-001 --json
    """
    import msgspec

    from ledger.services.firms import public_objections

    for view in public_objections(config_from(store, home), task_id=task_id, uscc=uscc):
        if as_json:
            click.echo(msgspec.json.encode(view).decode())
        else:
            click.echo("\t".join([view.task_id, view.uscc, view.raised_on, view.outcome or "open", view.reason,
                                  view.resolution or ""]))


# ---------------------------------------------------------------------------
# notice


@click.group()
def notice() -> None:
    """The inspection notice's code (检查通知书): print it, or check one without logging in.

    \b
    Example:
      drledger notice code T-2026-001 91360502MA35XXXX0X && drledger notice check 33P6-5Q0G-8C6N
    """


@notice.command(name="code")
@store_options
@click.argument("task_id")
@click.argument("uscc")
@clear_errors
def notice_code_cmd(store: str | None, home: str, task_id: str, uscc: str) -> None:
    """The code for the notice of `uscc` in the standing draw of TASK_ID, and its team.

    \b
    Example:
      drledger notice code T-2026-001 91360502MA35XXXX0X
    """
    from ledger.services.firms import notice_for

    view = _read(store, home, lambda ledger: notice_for(ledger, task_id, uscc))
    if view is None:
        fail(f"task {task_id} has no standing draw that drew {uscc}", 1)
    click.echo(f"{view.code}\t{view.task_id}\t{view.uscc}\t{'+'.join(view.inspectors)}")


@notice.command(name="check")
@store_options
@click.argument("code")
@clear_errors
def notice_check_cmd(store: str | None, home: str, code: str) -> None:
    """Which task, firm and team a notice code names (public; nothing else is shown).

    Exit status 1 if the code names no standing pair (a wrong code, or a team changed since).

    \b
    Example:
      drledger notice check 33P6-5Q0G-8C6N
    """
    from ledger.services.firms import check_notice

    view = _read(store, home, lambda ledger: check_notice(ledger, code))
    if view is None:
        click.echo("no standing draw has a notice with this code", err=True)
        sys.exit(1)
    click.echo(f"task\t{view.task_id} {view.task_name} ({view.window_start}..{view.window_end})")
    click.echo(f"firm\t{view.uscc}")
    click.echo(f"team\t{', '.join(view.inspectors)} (组长 {view.leader})"
               + (f"; experts {', '.join(view.experts)}" if view.experts else ""))

