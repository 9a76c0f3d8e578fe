"""`drledger result` (record, correct, disclose, public) and `drledger report`
(trace, actor, refused, overdue, conflicts): results and accountability."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from ledger.cli.common import clear_errors, config_from, fail, store_options

F = TypeVar("F", bound=Callable[..., Any])
FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
                      show_default=True, help="Output format (csv has a BOM for Excel).")


def settings_errors(function: F) -> F:
    """A bad results.toml / calendar.toml is one clear line, like every other error."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ledger.results_settings import SettingsError

        try:
            return function(*args, **kwargs)
        except SettingsError as error:
            fail(str(error))

    return wrapper  # type: ignore[return-value]


def signer_options(function: F) -> F:
    function = click.option("--key", type=click.Path(dir_okay=False, path_type=Path), default=None,
                            help="The inspector's key file (default HOME/keys/<BADGE>.pem).")(function)
    return click.option("--as", "as_actor", required=True, metavar="BADGE",
                        help="The inspector (actor id = badge) who signs.")(function)


def _signer(home: Path, badge: str, key: Path | None):  # -> Signer
    from ledger.integrity.keys import read_key_file
    from ledger.setup import passphrase

    return read_key_file(key or home / "keys" / f"{badge}.pem", passphrase())


def _content_options(function: F) -> F:
    for option in reversed([
        click.option("--category", required=True, help="Result category code (see docs/domain.md; e.g. no_issue)."),
        click.option("--findings", required=True, help="What was found (检查结果说明)."),
        click.option("--method", "methods", required=True, metavar="M[,M]",
                     help="Method code(s): onsite, written, online, testing, agency, adopted."),
        click.option("--inspected-on", required=True, metavar="DATE", help="Inspection date, YYYY-MM-DD."),
        click.option("--item", "items", multiple=True,
                     help="Item inspected (repeat; default every item of the task)."),
    ]):
        function = option(function)
    return function


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r}: use YYYY-MM-DD", param_hint="--inspected-on") from None


def _task_items(config: Any, task_id: str) -> tuple[str, ...]:
    from ledger.projections import all_projections
    from ledger.projections.directory import from_column
    from ledger.projections.runner import catch_up, writable_connection

    catch_up(config, all_projections())
    with writable_connection(config) as (conn, dialect, _):
        cursor = conn.cursor()
        cursor.execute(f"SELECT items FROM {dialect.table('draw_tasks')} WHERE task_id = {dialect.placeholder}",
                       (task_id,))
        row = cursor.fetchone()
    return tuple(from_column(row[0], True)) if row else ()


def _show(view: Any, verb: str) -> None:
    late = " (late)" if view.recorded_on > view.result_due else ""
    click.echo(f"{verb} {view.task_id} {view.uscc}: {view.category} {view.category_label}, by {view.recorded_by}"
               f" on {view.recorded_on}{late}; result due {view.result_due}; disclosure due {view.disclosure_due};"
               f" corrections {view.corrections}; {'disclosed' if view.disclosed else 'not disclosed'}")


@click.group()
def result() -> None:
    """Inspection results, signed by the assigned inspector (谁检查、谁录入、谁负责).

    \b
    Example:
      drledger result record T-2026-001 91110108551385082Q --category no_issue --findings 未发现问题 \\
        --method onsite --inspected-on 2026-09-25 --as XY-SCJG-0007
    """


@result.command()
@store_options
@click.argument("task_id")
@click.argument("uscc")
@_content_options
@signer_options
@clear_errors
@settings_errors
def record(store: str | None, home: str, task_id: str, uscc: str, category: str, findings: str, methods: str,
           inspected_on: str, items: tuple[str, ...], as_actor: str, key: Path | None) -> None:
    """Record the result of a drawn target, signed with the inspector's key.

    Refused (and the attempt recorded) unless the draw assigned BADGE to USCC
    in TASK, the date is in the task window and the items are on the task.

    \b
    Example:
      drledger result record T-2026-001 91110108551385082Q --category corrected \\
        --findings 未明码标价，已责令改正 --method onsite,written --inspected-on 2026-09-25 --as XY-SCJG-0007
    """
    from ledger.domain.results import RecordBody
    from ledger.results_service import ResultsService, sign_record

    config = config_from(store, home)
    body = RecordBody(task_id=task_id, uscc=uscc, category=category, findings=findings,
                      methods=tuple(m.strip() for m in methods.split(",") if m.strip()),
                      items=items or _task_items(config, task_id), inspected_on=_date(inspected_on))
    signed = sign_record(_signer(config.home, as_actor, key), as_actor, body)
    with ResultsService(config) as service:
        _show(service.record(signed), "recorded")


@result.command()
@store_options
@click.argument("task_id")
@click.argument("uscc")
@click.option("--reason", required=True, help="Why the result is corrected (kept with the original).")
@click.option("--category", default=None, help="New category (default: unchanged).")
@click.option("--findings", default=None, help="New findings (default: unchanged).")
@click.option("--method", "methods", default=None, metavar="M[,M]", help="New methods (default: unchanged).")
@click.option("--inspected-on", default=None, metavar="DATE", help="New inspection date (default: unchanged).")
@click.option("--item", "items", multiple=True, help="New items (repeat; default: unchanged).")
@signer_options
@clear_errors
@settings_errors
def correct(store: str | None, home: str, task_id: str, uscc: str, reason: str, category: str | None,
            findings: str | None, methods: str | None, inspected_on: str | None, items: tuple[str, ...],
            as_actor: str, key: Path | None) -> None:
    """Correct a result: a new signed event with the reason; the original stays.

    \b
    Example:
      drledger result correct T-2026-001 91110108551385082Q --category pending \\
        --reason "录入时误选结果类别" --as XY-SCJG-0007
    """
    from eventsourcing.application import AggregateNotFoundError

    from ledger.domain.results import CorrectBody, InspectionResult
    from ledger.results_service import ResultsService, sign_correct

    config = config_from(store, home)
    with ResultsService(config) as service:
        try:
            current = service.app.repository.get(InspectionResult.create_id(task_id, uscc))
            base = {"category": current.category, "findings": current.findings, "methods": current.methods,
                    "items": current.items, "inspected_on": current.inspected_on}
        except AggregateNotFoundError:
            # Still signed and submitted, so the refusal is recorded like any other.
            base = {"category": "", "findings": "", "methods": (), "items": (), "inspected_on": date.today()}
        body = CorrectBody(
            task_id=task_id, uscc=uscc, reason=reason, category=category or base["category"],
            findings=findings or base["findings"],
            methods=tuple(m.strip() for m in methods.split(",") if m.strip()) if methods else base["methods"],
            items=items or base["items"], inspected_on=_date(inspected_on) if inspected_on else base["inspected_on"],
        )
        _show(service.correct(sign_correct(_signer(config.home, as_actor, key), as_actor, body)), "corrected")


@result.command()
@store_options
@click.argument("task_id")
@click.argument("uscc")
@signer_options
@clear_errors
@settings_errors
def disclose(store: str | None, home: str, task_id: str, uscc: str, as_actor: str, key: Path | None) -> None:
    """Disclose (公示) a result; public views then show it, inspectors masked.

    \b
    Example:
      drledger result disclose T-2026-001 91110108551385082Q --as XY-SCJG-0007
    """
    from ledger.domain.results import DiscloseBody
    from ledger.results_service import ResultsService, sign_disclose

    config = config_from(store, home)
    body = DiscloseBody(task_id=task_id, uscc=uscc)
    with ResultsService(config) as service:
        _show(service.disclose(sign_disclose(_signer(config.home, as_actor, key), as_actor, body)), "disclosed")


@result.command(name="public")
@store_options
@click.option("--task", "task_id", default=None, help="Only this task.")
@FORMAT
@clear_errors
@settings_errors
def public(store: str | None, home: str, task_id: str | None, fmt: str) -> None:
    """The public view: disclosed results, inspectors masked as configured (results.toml).

    \b
    Example:
      drledger result public --task T-2026-001 --format csv > 公示.csv
    """
    from ledger.cli.directory import _emit
    from ledger.results_reports import public_results

    _emit(public_results(config_from(store, home), task_id), fmt)


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
@click.option("--task", "task_id", required=True)
@click.option("--target", "uscc", required=True, help="The target's USCC.")
@FORMAT
@clear_errors
def trace(store: str | None, home: str, task_id: str, uscc: str, fmt: str) -> None:
    """The whole timeline of one target in one task, with signatures and event hashes.

    \b
    Example:
      drledger report trace --task T-2026-001 --target 91110108551385082Q
    """
    from ledger.cli.directory import _emit
    from ledger.results_reports import trace as build

    rows = build(config_from(store, home), task_id, uscc)
    if not rows:
        fail(f"nothing recorded for {uscc} in task {task_id}")
    _emit(rows, fmt)


@report.command(name="actor")
@store_options
@click.argument("badge")
@FORMAT
@clear_errors
def actor_cmd(store: str | None, home: str, badge: str, fmt: str) -> None:
    """Everything one actor was assigned, signed and was refused.

    \b
    Example:
      drledger report actor XY-SCJG-0007 --format json
    """
    from ledger.cli.directory import _emit
    from ledger.results_reports import actor_report

    _emit(actor_report(config_from(store, home), badge), fmt)


@report.command()
@store_options
@click.option("--actor", default=None, help="Only attempts claiming this actor.")
@FORMAT
@clear_errors
def refused(store: str | None, home: str, actor: str | None, fmt: str) -> None:
    """Refused attempts (who, what, why) and flood counters.

    \b
    Example:
      drledger report refused --format csv > refused.csv
    """
    from ledger.cli.directory import _emit
    from ledger.results_reports import refused as build

    _emit(build(config_from(store, home), actor), fmt)


@report.command()
@store_options
@click.option("--as-of", default=None, metavar="DATE", help="Judge deadlines as of this date (default today, China).")
@FORMAT
@clear_errors
@settings_errors
def overdue(store: str | None, home: str, as_of: str | None, fmt: str) -> None:
    """Late or missing results and disclosures, counted in working days.

    \b
    Example:
      drledger report overdue --as-of 2026-12-31 --format table
    """
    from ledger.cli.directory import _emit
    from ledger.results_reports import overdue as build

    _emit(build(config_from(store, home), date.fromisoformat(as_of) if as_of else None), fmt)


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
    from ledger.cli.directory import _emit
    from ledger.results_reports import conflicts as build

    _emit(build(config_from(store, home)), fmt)
