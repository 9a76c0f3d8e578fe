"""`drledger result` (record, correct, disclose, show, public), `drledger report`
(trace, actor, refused, overdue, conflicts, stats) and `drledger settings` (results,
calendar, show): results, accountability, and the settings they run under."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from ledger.cli.common import actor_options, clear_errors, config_from, fail, signer_for, store_options
from ledger.domain.commands import short

F = TypeVar("F", bound=Callable[..., Any])
from ledger.cli.output import FORMAT  # noqa: E402  (one format option for every list)


def settings_errors(function: F) -> F:
    """A bad results.toml / calendar.toml is one clear line, like every other error."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ledger.services.settings import SettingsError

        try:
            return function(*args, **kwargs)
        except SettingsError as error:
            fail(str(error))

    return wrapper  # type: ignore[return-value]


def _emit(rows: list[Any], fmt: str, row_type: type | None = None) -> None:
    from ledger.cli.output import emit

    emit(rows, fmt, row_type)


def _content_options(function: F) -> F:
    for option in reversed([
        click.option("--category", required=True, help="Result category code (listed below; e.g. no_issue)."),
        click.option("--findings", required=True, help="What was found (检查结果说明)."),
        click.option("--method", "methods", required=True, metavar="M[,M]",
                     help="Method code(s): onsite, written, online, testing, agency, adopted."),
        click.option("--inspected-on", required=True, metavar="DATE", help="Inspection date, YYYY-MM-DD."),
        click.option("--item", "items", multiple=True,
                     help="Item inspected (repeat; default every item of the task)."),
    ]):
        function = option(function)
    return function


def _date(text: str, option: str = "--inspected-on") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {short(text)!r}: not a date; use YYYY-MM-DD (e.g. 2026-02-28)")


def _methods(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip())


def _show(view: Any, verb: str) -> None:
    late = " (late)" if view.recorded_on > view.result_due else ""
    click.echo(f"{verb} {view.task_id} {view.uscc}: {view.category} {view.category_label}, by {view.recorded_by}"
               f" on {view.recorded_on}{late}; result due {view.result_due}; disclosure due {view.disclosure_due};"
               f" corrections {view.corrections}; {'disclosed' if view.disclosed else 'not disclosed'}"
               + (f"; ledger positions {view.receipt.first}-{view.receipt.last}" if view.receipt else ""))


@click.group()
def result() -> None:
    """Inspection results, signed by the assigned inspector (谁检查、谁录入、谁负责).

    \b
    Example:
      drledger result record T-2026-001 91110108551385082Q --category no_issue --findings 未发现问题 \\
        --method onsite --inspected-on 2026-09-25 --as XY-SCJG-0007
    """


def _categories_help() -> str:
    """The default categories, for --help (the ledger's own: `drledger settings show`)."""
    from ledger.domain.reference import DEFAULT_RESULT_CATEGORIES

    lines = [f"  {c.code:<17}{c.label}" for c in DEFAULT_RESULT_CATEGORIES]
    return "\b\nCategories (--category; defaults, the ledger's own: drledger settings show):\n" + "\n".join(lines)


@result.command(epilog=_categories_help())
@store_options
@click.argument("task_id")
@click.argument("uscc")
@_content_options
@actor_options
@clear_errors
def record(store: str | None, home: str, task_id: str, uscc: str, category: str, findings: str, methods: str,
           inspected_on: str, items: tuple[str, ...], as_actor: str, key: Path | None) -> None:
    """Record the result of a drawn target, signed with the inspector's own key.

    Refused (and the attempt recorded) unless the draw assigned the inspector
    (--as BADGE) to USCC in TASK, the date is in the task window and the
    items are on the task.

    \b
    Example:
      drledger result record T-2026-001 91110108551385082Q --category corrected \\
        --findings 未明码标价，已责令改正 --method onsite,written --inspected-on 2026-09-25 --as XY-SCJG-0007
    """
    from ledger.services import results
    from ledger.services.ledger import open_ledger

    config = config_from(store, home)
    signer = signer_for(config, as_actor, key)
    with open_ledger(config) as ledger:
        body = results.RecordBody(task_id=task_id, uscc=uscc, category=category, findings=findings,
                                  methods=_methods(methods), items=items or results.task_items(ledger, task_id),
                                  inspected_on=_date(inspected_on))
        _show(results.record(ledger, results.sign_record(signer, as_actor, body)), "recorded")


@result.command(epilog=_categories_help())
@store_options
@click.argument("task_id")
@click.argument("uscc")
@click.option("--reason", required=True, help="Why the result is corrected (kept with the original).")
@click.option("--category", default=None, help="New category (default: unchanged).")
@click.option("--findings", default=None, help="New findings (default: unchanged).")
@click.option("--method", "methods", default=None, metavar="M[,M]", help="New methods (default: unchanged).")
@click.option("--inspected-on", default=None, metavar="DATE", help="New inspection date (default: unchanged).")
@click.option("--item", "items", multiple=True, help="New items (repeat; default: unchanged).")
@actor_options
@clear_errors
def correct(store: str | None, home: str, task_id: str, uscc: str, reason: str, category: str | None,
            findings: str | None, methods: str | None, inspected_on: str | None, items: tuple[str, ...],
            as_actor: str, key: Path | None) -> None:
    """Correct a result: a new signed event with the reason; the original stays.

    \b
    Example:
      drledger result correct T-2026-001 91110108551385082Q --category pending \\
        --reason "录入时误选结果类别" --as XY-SCJG-0007
    """
    from ledger.services import results
    from ledger.services.ledger import open_ledger

    config = config_from(store, home)
    signer = signer_for(config, as_actor, key)
    with open_ledger(config) as ledger:
        now = results.current(ledger, task_id, uscc)
        # Without a result the correction is still signed and submitted, so its refusal is recorded.
        body = results.CorrectBody(
            task_id=task_id, uscc=uscc, reason=reason,
            category=category or (now.category if now else ""),
            findings=findings or (now.findings if now else ""),
            methods=_methods(methods) if methods else (now.methods if now else ()),
            items=items or (now.items if now else ()),
            inspected_on=_date(inspected_on) if inspected_on else (now.inspected_on if now else date.today()),
        )
        _show(results.correct(ledger, results.sign_correct(signer, as_actor, body)), "corrected")


@result.command()
@store_options
@click.argument("task_id")
@click.argument("uscc")
@actor_options
@clear_errors
def disclose(store: str | None, home: str, task_id: str, uscc: str, as_actor: str, key: Path | None) -> None:
    """Disclose (公示) a result; public views then show it, inspectors masked.

    \b
    Example:
      drledger result disclose T-2026-001 91110108551385082Q --as XY-SCJG-0007
    """
    from ledger.services import results
    from ledger.services.ledger import open_ledger

    config = config_from(store, home)
    signer = signer_for(config, as_actor, key)
    with open_ledger(config) as ledger:
        body = results.DiscloseBody(task_id=task_id, uscc=uscc)
        _show(results.disclose(ledger, results.sign_disclose(signer, as_actor, body)), "disclosed")


@result.command(name="show")
@store_options
@click.argument("task_id")
@click.argument("uscc")
@FORMAT
@clear_errors
def show(store: str | None, home: str, task_id: str, uscc: str, fmt: str) -> None:
    """One result as it stands, and its history: record, corrections, disclosure (and refused
    attempts), each with who signed it, the key and the ledger position.

    \b
    Example:
      drledger result show T-2026-001 91110108551385082Q
    """
    import msgspec

    from ledger.cli.output import emit_detail
    from ledger.services.finding import HistoryLine
    from ledger.services.finding import result as find

    found = find(config_from(store, home), task_id, uscc)
    head = {k: v for k, v in msgspec.structs.asdict(found).items() if k != "history"}
    emit_detail(found, head, found.history, fmt, HistoryLine, "history:")


@result.command(name="public")
@store_options
@click.option("--task", "task_id", default=None, help="Only this task.")
@FORMAT
@clear_errors
def public(store: str | None, home: str, task_id: str | None, fmt: str) -> None:
    """The public view: disclosed results, inspectors masked as the ledger's settings say.

    \b
    Example:
      drledger result public --task T-2026-001 --format csv > 公示.csv
    """
    from ledger.services.reports import PublicResult, public_results

    _emit(public_results(config_from(store, home), task_id), fmt, PublicResult)


@click.group()
def report() -> None:
    """Accountability reports for discipline inspectors (纪检监察).

    \b
    Example:
      drledger report trace --task T-2026-001 --target 91110108551385082Q --format json
      drledger report refused --format csv
    """


@report.command()
@store_options
@click.option("--task", "task_id", default=None, help="Only this task (default: every task of the target).")
@click.option("--target", "uscc", required=True, help="The target's USCC.")
@FORMAT
@clear_errors
def trace(store: str | None, home: str, task_id: str | None, uscc: str, fmt: str) -> None:
    """The whole timeline of one target, in one task or across all, with the signed commands and event hashes.

    \b
    Example:
      drledger report trace --target 91110108551385082Q
      drledger report trace --task T-2026-001 --target 91110108551385082Q --format json
    """
    from ledger.services.finding import trace_target
    from ledger.services.reports import TraceRow
    from ledger.services.reports import trace as build

    config = config_from(store, home)
    rows = build(config, task_id, uscc) if task_id else trace_target(config, uscc)
    if not rows:
        fail(f"nothing recorded for {short(uscc)}" + (f" in task {short(task_id)}" if task_id else " in any task"))
    _emit(rows, fmt, TraceRow)


@report.command()
@store_options
@click.option("--year", type=int, default=None, help="Only tasks whose window starts in this year.")
@click.option("--as-of", default=None, metavar="DATE", help="Judge missing results as of this date (default today).")
@FORMAT
@clear_errors
def stats(store: str | None, home: str, year: int | None, as_of: str | None, fmt: str) -> None:
    """考核 statistics: coverage per risk class and department, joint-task share, visits saved
    by joint tasks, on-time entry and disclosure rates (one row per measure and scope).

    \b
    Example:
      drledger report stats --year 2026 --format csv > 考核.csv
    """
    from ledger.services.stats import StatRow
    from ledger.services.stats import stats as build

    _emit(build(config_from(store, home), year, _date(as_of, "--as-of") if as_of else None), fmt, StatRow)


@report.command(name="actor")
@store_options
@click.argument("actor")
@FORMAT
@clear_errors
def actor_cmd(store: str | None, home: str, actor: str, fmt: str) -> None:
    """Every command one actor signed, the teams it was drawn into, and the attempts refused in its name.

    \b
    Example:
      drledger report actor XY-SCJG-0007 --format json
    """
    from ledger.services.reports import TraceRow, actor_report

    _emit(actor_report(config_from(store, home), actor), fmt, TraceRow)


@report.command()
@store_options
@click.option("--actor", default=None, help="Only attempts claiming this actor.")
@FORMAT
@clear_errors
def refused(store: str | None, home: str, actor: str | None, fmt: str) -> None:
    """Refused attempts (who, what, why) and flood counters; authenticated
    actors first, then unauthenticated attempts (bucket ?unauthenticated).

    \b
    Example:
      drledger report refused --format csv > refused.csv
    """
    from ledger.services.reports import RefusedRow
    from ledger.services.reports import refused as build

    _emit(build(config_from(store, home), actor), fmt, RefusedRow)


@report.command()
@store_options
@click.option("--as-of", default=None, metavar="DATE", help="Judge deadlines as of this date (default today, China).")
@FORMAT
@clear_errors
def overdue(store: str | None, home: str, as_of: str | None, fmt: str) -> None:
    """Late or missing results and disclosures, in working days (settings and calendar from the ledger).

    \b
    Example:
      drledger report overdue --as-of 2026-12-31 --format table
    """
    from ledger.services.reports import OverdueRow
    from ledger.services.reports import overdue as build

    _emit(build(config_from(store, home), _date(as_of, "--as-of") if as_of else None), fmt, OverdueRow)


@report.command()
@store_options
@FORMAT
@clear_errors
def conflicts(store: str | None, home: str, fmt: str) -> None:
    """Results recorded, or assignments standing, under a declared conflict of interest (回避).

    \b
    Example:
      drledger report conflicts --format json
    """
    from ledger.services.reports import ConflictRow
    from ledger.services.reports import conflicts as build

    _emit(build(config_from(store, home)), fmt, ConflictRow)


# ---------------------------------------------------------------------------
# drledger settings


@click.group()
def settings() -> None:
    """The ledger's settings: results deadlines, categories, credit rules, masking,
    the refusal bound, and working-day schedules. Each change is a command signed
    by an admin, so `verify` re-executes every decision under the settings it had.

    \b
    Example:
      drledger settings results --file results.toml --as admin
      drledger settings show
    """


@settings.command(name="results")
@store_options
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="results.toml (keys not given take their defaults).")
@actor_options
@clear_errors
@settings_errors
def settings_results(store: str | None, home: str, path: Path, as_actor: str, key: Path | None) -> None:
    """Sign and record the results settings of a results.toml (settings.results).

    \b
    Example:
      printf 'results_due_working_days = 15\\n' > results.toml
      drledger settings results --file results.toml --as admin
    """
    from ledger.services import settings as service
    from ledger.services.ledger import open_ledger

    config = config_from(store, home)
    new = service.parse_results(path.read_text(encoding="utf-8"), str(path))
    signer = signer_for(config, as_actor, key)
    with open_ledger(config) as ledger:
        if service.results_in_force(config, ledger) == new:
            click.echo(f"results settings unchanged: {path} is what the ledger holds")
            return
        receipt = service.submit_settings(ledger, service.sign_results(signer, as_actor, new))
    click.echo(f"results settings recorded at ledger position {receipt.first} (signed by {as_actor})")


@settings.command(name="calendar")
@store_options
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="calendar.toml: [YEAR] tables with holidays and make-up workdays.")
@click.option("--source", default=None, metavar="TEXT",
              help="Where the schedule comes from (e.g. the State Council notice) [default: the file's name and"
                   " SHA-256].")
@actor_options
@clear_errors
@settings_errors
def settings_calendar(store: str | None, home: str, path: Path, source: str | None, as_actor: str,
                      key: Path | None) -> None:
    """Sign and record the working-day schedule of each year in a calendar.toml
    (one settings.calendar per year; a recorded year takes precedence over chinesecalendar).

    \b
    Example:
      printf '[2027]\\nholidays = ["2027-01-01"]\\nworkdays = []\\n' > calendar.toml
      drledger settings calendar --file calendar.toml --source "国办发明电〔2026〕x号" --as admin
    """
    from ledger.services import settings as service
    from ledger.services.ledger import open_ledger

    config = config_from(store, home)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise service.SettingsError(f"{path}: not UTF-8 ({error})") from None
    years = service.parse_calendar(text, source or service.default_source(data, path.name), str(path))
    signer = signer_for(config, as_actor, key)
    with open_ledger(config) as ledger:
        held = service.settings_in_force(config, ledger)
        for schedule in years:
            if held.recorded(schedule.year) == schedule:
                click.echo(f"{schedule.year}: unchanged")
                continue
            receipt = service.submit_settings(ledger, service.sign_calendar_year(signer, as_actor, schedule))
            click.echo(f"{schedule.year}: {len(schedule.holidays)} holidays, {len(schedule.workdays)} make-up"
                       f" working days recorded at ledger position {receipt.first}")


@settings.command(name="governance")
@store_options
@click.option("--approvals-needed", type=int, required=True, help="Distinct approvers of a guarded action (>= 2).")
@click.option("--cooling-off-days", type=int, required=True, help="Days before a recovered key signs (>= 1).")
@click.option("--draw-cooling-off-days", type=int, default=7, show_default=True,
              help="Days an inspector record (new or changed) must be in force before a commitment to be drawn.")
@actor_options
@clear_errors
def settings_governance(store: str | None, home: str, approvals_needed: int, cooling_off_days: int,
                        draw_cooling_off_days: int, as_actor: str, key: Path | None) -> None:
    """Sign and record the separation-of-powers settings (settings.governance).

    One of the approvers is always a discipline (纪检) actor; the floors (2
    approvers, 1 day) keep one key from lifting the rule.

    \b
    Example:
      drledger settings governance --approvals-needed 3 --cooling-off-days 5 --as admin
    """
    from ledger.integrity.commands import sign_command
    from ledger.services.ledger import open_ledger

    config = config_from(store, home)
    signed = sign_command(signer_for(config, as_actor, key), as_actor, "settings.governance",
                          {"approvals_needed": approvals_needed, "cooling_off_days": cooling_off_days,
                           "draw_cooling_off_days": draw_cooling_off_days})
    with open_ledger(config) as ledger:
        receipt = ledger.submit(signed)
    click.echo(f"governance settings recorded at ledger position {receipt.first} (signed by {as_actor})")


@settings.command(name="show")
@store_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@clear_errors
def settings_show(store: str | None, home: str, fmt: str) -> None:
    """Print the settings in force, as the ledger's decisions read them.

    \b
    Example:
      drledger settings show --format json
    """
    import msgspec

    from ledger.services.settings import settings_in_force

    held = settings_in_force(config_from(store, home))
    if fmt == "json":
        click.echo(msgspec.json.encode(held).decode())
        return
    r = held.results
    click.echo(f"results_due_working_days = {r.results_due_working_days}")
    click.echo(f"disclosure_due_working_days = {r.disclosure_due_working_days}")
    click.echo(f"refusals_per_hour = {r.refusals_per_hour}")
    click.echo(f"public_inspectors = {r.public_inspectors}")
    click.echo("categories: " + ", ".join(f"{c.code} ({c.label})" for c in r.result_categories()))
    click.echo("credit_rules: " + (", ".join(f"{k} {v}" for k, v in sorted(r.credit_rules.items())) or "none"))
    if held.governance is not None:
        click.echo("governance: " + ", ".join(f"{k} = {v}" for k, v in sorted(held.governance.items())))
    if not held.calendar_years:
        click.echo("calendar: chinesecalendar only (no year recorded in the ledger)")
    for year in held.calendar_years:
        click.echo(f"calendar {year.year}: {len(year.holidays)} holidays, {len(year.workdays)} make-up working days;"
                   f" source: {year.source}")
