"""`drledger result` (record, correct, return, disclose, follow-up-done, show, public),
`drledger report` (trace, actor, refused, overdue, conflicts, stats), `drledger
settings` (results, calendar, show) and `drledger calendar seed`: results,
their review and publication, accountability, and the settings they run under."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from ledger.cli.common import actor_options, clear_errors, config_from, fail, signer_for, store_options
from ledger.cli.workbook import xlsx_output
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
        click.option("--category", "categories", required=True, multiple=True, metavar="CODE[,CODE]",
                     help="Result categories, a multi-select (repeat or comma-separate; e.g. pending,not_disclosed;"
                          " listed below; `drledger settings show` lists the ledger's own)."),
        click.option("--findings", required=True, help="What was found (检查结果说明)."),
        click.option("--method", "methods", required=True, metavar="M[,M]",
                     help="Method code(s): onsite, written, online, testing, agency, adopted."),
        click.option("--inspected-on", required=True, metavar="DATE", help="Inspection date, YYYY-MM-DD."),
        click.option("--item", "items", multiple=True,
                     help="Item inspected (repeat; default every item of the task of your department)."),
        *_extra_options(),
    ]):
        function = option(function)
    return function


def _extra_options() -> list[Any]:
    return [
        click.option("--evidence", "evidence", multiple=True, metavar="[KIND:]FILE",
                     help="An evidence file (photo, 检查记录): only its SHA-256 is signed and recorded, the file stays"
                          " here. KIND: photo, record, document, other (default: photo for images, else record)."),
        click.option("--follow-up", "follow_ups", multiple=True, metavar="KIND[:DEPARTMENT]",
                     help="后续处置: abnormal_list, case_transfer, daily_supervision, notify_department:DEPT (抄告)."),
    ]


_IMAGES = {".jpg", ".jpeg", ".png", ".heic", ".gif", ".webp", ".tif", ".tiff", ".bmp"}


def _evidence(specs: tuple[str, ...]) -> tuple[Any, ...]:
    from ledger.domain.results import EVIDENCE_KINDS
    from ledger.services.results import evidence_of

    out = []
    for spec in specs:
        kind, _, rest = spec.partition(":")
        if kind in EVIDENCE_KINDS and rest:
            path = Path(rest)
        else:
            path = Path(spec)
            kind = "photo" if path.suffix.lower() in _IMAGES else "record"
        if not path.is_file():
            raise click.BadParameter(f"{str(path)!r} is not a readable file", param_hint="--evidence")
        out.append(evidence_of(path, kind))
    return tuple(out)


def _follow_ups(specs: tuple[str, ...]) -> tuple[Any, ...]:
    from ledger.services.results import FollowUp

    out = []
    for spec in specs:
        kind, _, department = spec.partition(":")
        out.append(FollowUp(kind=kind.strip(), to_department=department.strip() or None))
    return tuple(out)


def _categories(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c.strip() for value in values for c in value.split(",") if c.strip())


def _date(text: str, option: str = "--inspected-on") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {short(text)!r}: not a date; use YYYY-MM-DD (e.g. 2026-02-28)")


def _methods(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip())


def _show(view: Any, verb: str) -> None:
    late = " (late)" if view.recorded_on > view.result_due else ""
    provisional = " (provisional: a year's holiday schedule is not recorded yet)" if view.provisional else ""
    follow = "".join(f"; follow-up {f.kind}{':' + f.to_department if f.to_department else ''} due {f.due}"
                     + (f" done {f.done_on}" if f.done_on else "") for f in view.follow_ups)
    click.echo(f"{verb} {view.task_id} {view.uscc} ({view.department}): {','.join(view.categories)}"
               f" {'；'.join(view.category_labels)}, by {view.recorded_by} on {view.recorded_on}{late};"
               f" {view.state_label} ({view.state}); result due {view.result_due}; disclosure due"
               f" {view.disclosure_due}{provisional}; corrections {view.corrections};"
               f" {'disclosed' if view.disclosed else 'not disclosed'}{follow}"
               + (f"; evidence {len(view.evidence)} file(s)" if view.evidence else "")
               + (f"; returned: {view.return_reason}" if view.state == "returned" else "")
               + (f"; ledger positions {view.receipt.first}-{view.receipt.last}" if view.receipt else ""))


def _department_items(ledger: Any, task_id: str, badge: str) -> tuple[str, ...]:
    """The task's items of the inspector's department (a joint task: each records its own)."""
    from ledger.domain.directory import InspectionItem, Inspector
    from ledger.services import results

    app = ledger.processor.app
    person = app.find(Inspector.id_for(badge))
    mine = person.record.department if isinstance(person, Inspector) else None
    items = results.task_items(ledger, task_id)
    own = tuple(i for i in items if isinstance(found := app.find(InspectionItem.id_for(i)), InspectionItem)
                and found.record.department == mine)
    return own or items


@click.group()
def result() -> None:
    """Inspection results, signed by the assigned inspector (谁检查、谁录入、谁负责), reviewed and
    published by a reviewer of the department (待审核 -> 审核不通过 | 已公示).

    \b
    Example:
      drledger result record T-2026-001 91110108551385082Q --category no_issue --findings 未发现问题 \\
        --method onsite --inspected-on 2026-09-25 --as XY-SCJG-0007
      drledger result disclose T-2026-001 91110108551385082Q --as XY-SCJG-R01
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
def record(store: str | None, home: str, task_id: str, uscc: str, categories: tuple[str, ...], findings: str,
           methods: str, inspected_on: str, items: tuple[str, ...], evidence: tuple[str, ...],
           follow_ups: tuple[str, ...], as_actor: str, key: Path | None) -> None:
    """Record your department's result for a drawn target (待审核), signed with the inspector's own key.

    Refused (and the attempt recorded) unless the draw assigned the inspector
    (--as BADGE) to USCC in TASK, the date is in the task window, the items
    are on the task and your department's, and the categories follow the
    tree's rules (未发现问题 alone; one status outcome at most).

    \b
    Example:
      drledger result record T-2026-001 91110108551385082Q --category pending,not_disclosed \\
        --findings 未按规定公示年报 --method onsite,written --inspected-on 2026-09-25 \\
        --evidence photo:现场1.jpg --evidence 检查记录.pdf --follow-up abnormal_list --as XY-SCJG-0007
    """
    from ledger.services import results
    from ledger.services.ledger import open_ledger

    config = config_from(store, home)
    signer = signer_for(config, as_actor, key)
    with open_ledger(config) as ledger:
        body = results.RecordBody(task_id=task_id, uscc=uscc, categories=_categories(categories), findings=findings,
                                  methods=_methods(methods),
                                  items=items or _department_items(ledger, task_id, as_actor),
                                  inspected_on=_date(inspected_on), evidence=_evidence(evidence),
                                  follow_ups=_follow_ups(follow_ups))
        _show(results.record(ledger, results.sign_record(signer, as_actor, body)), "recorded")


@result.command(epilog=_categories_help())
@store_options
@click.argument("task_id")
@click.argument("uscc")
@click.option("--reason", required=True, help="Why the result is corrected (kept with the original).")
@click.option("--category", "categories", multiple=True, metavar="CODE[,CODE]",
              help="New categories (default: unchanged).")
@click.option("--findings", default=None, help="New findings (default: unchanged).")
@click.option("--method", "methods", default=None, metavar="M[,M]", help="New methods (default: unchanged).")
@click.option("--inspected-on", default=None, metavar="DATE", help="New inspection date (default: unchanged).")
@click.option("--item", "items", multiple=True, help="New items (repeat; default: unchanged).")
@click.option("--evidence", "evidence", multiple=True, metavar="[KIND:]FILE",
              help="Evidence files, hashed here (default: unchanged; given: the new list).")
@click.option("--follow-up", "follow_ups", multiple=True, metavar="KIND[:DEPARTMENT]",
              help="Follow-ups (default: unchanged; given: the new list; a done one must stay).")
@actor_options
@clear_errors
def correct(store: str | None, home: str, task_id: str, uscc: str, reason: str, categories: tuple[str, ...],
            findings: str | None, methods: str | None, inspected_on: str | None, items: tuple[str, ...],
            evidence: tuple[str, ...], follow_ups: tuple[str, ...], as_actor: str, key: Path | None) -> None:
    """Correct your department's result (a returned one is resubmitted): a new signed event
    with the reason; the original stays. A published result is no longer yours to change.

    \b
    Example:
      drledger result correct T-2026-001 91110108551385082Q --category pending \\
        --reason "审核退回：补充现场照片" --evidence photo:现场2.jpg --as XY-SCJG-0007
    """
    from ledger.services import results
    from ledger.services.ledger import open_ledger

    config = config_from(store, home)
    signer = signer_for(config, as_actor, key)
    with open_ledger(config) as ledger:
        now = results.current(ledger, task_id, uscc, results._department_of(ledger, as_actor))
        # Without a result the correction is still signed and submitted, so its refusal is recorded.
        kept = tuple(results.FollowUp(kind=f.kind, to_department=f.to_department, note=f.note)
                     for f in now.follow_ups) if now else ()
        body = results.CorrectBody(
            task_id=task_id, uscc=uscc, reason=reason,
            categories=_categories(categories) or (now.categories if now else ()),
            findings=findings or (now.findings if now else ""),
            methods=_methods(methods) if methods else (now.methods if now else ()),
            items=items or (now.items if now else ()),
            inspected_on=_date(inspected_on) if inspected_on else (now.inspected_on if now else date.today()),
            evidence=_evidence(evidence) if evidence else (now.evidence if now else ()),
            follow_ups=_follow_ups(follow_ups) if follow_ups else kept,
        )
        _show(results.correct(ledger, results.sign_correct(signer, as_actor, body)), "corrected")


DEPARTMENT = click.option("--department", default=None, metavar="CODE",
                          help="The department whose result it is (default: the task's lead department).")


@result.command(name="return")
@store_options
@click.argument("task_id")
@click.argument("uscc")
@click.option("--reason", required=True, help="Why it goes back to the inspector (审核不通过).")
@DEPARTMENT
@actor_options
@clear_errors
def return_cmd(store: str | None, home: str, task_id: str, uscc: str, reason: str, department: str | None,
               as_actor: str, key: Path | None) -> None:
    """Send a submitted result back to its inspector with the reason (审核不通过), as a reviewer
    of the department who did not inspect the target.

    \b
    Example:
      drledger result return T-2026-001 91110108551385082Q --reason "检查记录未附现场照片" --as XY-SCJG-R01
    """
    from ledger.services import results
    from ledger.services.ledger import open_ledger

    config = config_from(store, home)
    signer = signer_for(config, as_actor, key)
    with open_ledger(config) as ledger:
        body = results.ReturnBody(task_id=task_id, uscc=uscc, department=department, reason=reason)
        _show(results.send_back(ledger, results.sign_return(signer, as_actor, body)), "returned")


@result.command()
@store_options
@click.argument("task_id")
@click.argument("uscc")
@DEPARTMENT
@actor_options
@clear_errors
def disclose(store: str | None, home: str, task_id: str, uscc: str, department: str | None, as_actor: str,
             key: Path | None) -> None:
    """Approve and publish (审核通过，公示) a submitted result, as a reviewer of the department
    who did not inspect the target; public views then show it, inspectors masked.

    \b
    Example:
      drledger result disclose T-2026-001 91110108551385082Q --as XY-SCJG-R01
      drledger result disclose T-2026-001 91110108551385082Q --department XY-WSJK --as XY-WSJK-R01
    """
    from ledger.services import results
    from ledger.services.ledger import open_ledger

    config = config_from(store, home)
    signer = signer_for(config, as_actor, key)
    with open_ledger(config) as ledger:
        body = results.DiscloseBody(task_id=task_id, uscc=uscc, department=department)
        _show(results.disclose(ledger, results.sign_disclose(signer, as_actor, body)), "disclosed")


@result.command(name="follow-up-done")
@store_options
@click.argument("task_id")
@click.argument("uscc")
@click.argument("kind")
@click.option("--to", "to_department", default=None, metavar="CODE", help="The department told (notify_department).")
@click.option("--note", required=True, help="What was done (e.g. the listing decision's number).")
@DEPARTMENT
@actor_options
@clear_errors
def follow_up_done(store: str | None, home: str, task_id: str, uscc: str, kind: str, to_department: str | None,
                   note: str, department: str | None, as_actor: str, key: Path | None) -> None:
    """Mark a follow-up (后续处置) done, as an assigned inspector or a reviewer of the department.

    \b
    Example:
      drledger result follow-up-done T-2026-001 91110108551385082Q abnormal_list \\
        --note "新市监异〔2026〕12号" --as XY-SCJG-0007
    """
    from ledger.services import results
    from ledger.services.ledger import open_ledger

    config = config_from(store, home)
    signer = signer_for(config, as_actor, key)
    with open_ledger(config) as ledger:
        body = results.FollowUpDoneBody(task_id=task_id, uscc=uscc, department=department, kind=kind,
                                        to_department=to_department, note=note)
        _show(results.follow_up_done(ledger, results.sign_follow_up_done(signer, as_actor, body)), "follow-up done")


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
@xlsx_output("ledger.services.reports:PublicResult")
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
@xlsx_output("ledger.services.reports:TraceRow")
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
@xlsx_output("ledger.services.reports:TraceRow")
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
@xlsx_output("ledger.services.reports:RefusedRow")
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
@xlsx_output("ledger.services.reports:OverdueRow")
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
@xlsx_output("ledger.services.reports:ConflictRow")
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
    click.echo("follow_up_due_working_days: " + ", ".join(f"{k} {v}" for k, v in
                                                         sorted(r.follow_up_due_working_days.items())))
    if held.governance is not None:
        click.echo("governance: " + ", ".join(f"{k} = {v}" for k, v in sorted(held.governance.items())))
    if not held.calendar_years:
        click.echo("calendar: no year recorded (deadlines are provisional: `drledger calendar seed`)")
    for year in held.calendar_years:
        click.echo(f"calendar {year.year}: {len(year.holidays)} holidays, {len(year.workdays)} make-up working days;"
                   f" source: {year.source}")


# ---------------------------------------------------------------------------
# drledger calendar


@click.group()
def calendar() -> None:
    """The yearly holiday schedules (放假安排) as ledger data.

    Deadlines count working days with the schedules recorded in the ledger
    only; a year with none is counted on weekends alone and shown as
    provisional until its schedule is recorded (never refused).

    \b
    Example:
      drledger calendar seed --as admin
      drledger settings calendar --file calendar.toml --source "国办发明电〔2026〕x号" --as admin
    """


@calendar.command(name="seed")
@store_options
@click.option("--year", "years", type=int, multiple=True,
              help="A year to seed (repeat) [default: every year chinesecalendar knows from last year on].")
@actor_options
@clear_errors
@settings_errors
def calendar_seed(store: str | None, home: str, years: tuple[int, ...], as_actor: str, key: Path | None) -> None:
    """Record chinesecalendar's schedule of each year it knows, one signed settings.calendar
    per year, citing the package as the source; a year already recorded is kept as it is.

    \b
    Example:
      drledger calendar seed --as admin
      drledger calendar seed --year 2025 --year 2026 --as admin
    """
    from ledger.domain.commands import china_date
    from ledger.domain.workdays import package_years
    from ledger.integrity.canonical import utc_now
    from ledger.services import settings as service
    from ledger.services.ledger import open_ledger

    config = config_from(store, home)
    chosen = list(years) or [y for y in package_years() if y >= china_date(utc_now()).year - 1]
    if not chosen:
        fail(f"chinesecalendar knows {package_years().start}-{package_years().stop - 1} only: name a --year it knows,"
             " or record later years with `drledger settings calendar`")
    signer = signer_for(config, as_actor, key)
    with open_ledger(config) as ledger:
        for year, outcome in service.seed_calendar(ledger, signer, as_actor, chosen):
            click.echo(f"{year}: {outcome}" + (" (the ledger's own record differs from chinesecalendar; kept)"
                                               if outcome == "kept" else ""))
