"""Firms, objections, the notice code, temporary tasks and the draw settings: sign, submit, read.

Each submitting function signs the command with the acting actor's own key
(domain/firms.py, objections.py, tasks.py, classes.py hold the rules) and
submits it; a refusal raises `CommandRefused` once the ledger recorded it.
The reading functions serve the CLI and the public site: `public_objections`
and `check_notice` show nothing a firm's representative is (no actor id, no
identity check), only firms, tasks, teams, dates, outcomes and reasons.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.classes import ClassSignal, DrawSettings, SignalBody
from ledger.domain.draws import Task
from ledger.domain.firms import (
    AcknowledgeBody,
    FirmRepresentative,
    RecusalDecideBody,
    RecusalRequest,
    RecusalRequestBody,
    RegisterFirmBody,
    normalise_code,
    notice_code,
)
from ledger.domain.objections import Objection, RaiseBody, ResolveBody
from ledger.domain.tasks import ApproveBody, ExtendWindowBody
from ledger.integrity.commands import sign_command
from ledger.integrity.keys import Signer
from ledger.services.ledger import LedgerService
from ledger.services.receipts import Receipt
from ledger.store.config import StoreConfig

__all__ = [
    "NoticeView", "ObjectionView", "acknowledge", "approve_task", "check_notice", "class_signals", "decide_recusal",
    "extend_window", "notice_for", "public_objections", "raise_objection", "register_firm", "request_recusal",
    "resolve_objection", "set_draw_settings", "signal",
]


def _submit(ledger: LedgerService, signer: Signer, actor: str, name: str, body: msgspec.Struct,
            **kwargs: Any) -> Receipt:
    return ledger.submit(sign_command(signer, actor, name, msgspec.to_builtins(body)), **kwargs)


def _with_inputs(ledger: LedgerService) -> dict[str, Any]:
    from ledger.services.draws import draw_inputs_source

    return {"attachment_source": draw_inputs_source(ledger)}


def set_draw_settings(ledger: LedgerService, signer: Signer, actor: str, settings: DrawSettings) -> Receipt:
    """`settings.draws`: the class set, per-class 一般 ceilings, the annual per-firm cap."""
    return _submit(ledger, signer, actor, "settings.draws", settings)


def approve_task(ledger: LedgerService, signer: Signer, actor: str, task_id: str, reason: str) -> Receipt:
    return _submit(ledger, signer, actor, "task.approve", ApproveBody(task_id=task_id, reason=reason))


def extend_window(ledger: LedgerService, signer: Signer, actor: str, body: ExtendWindowBody) -> Receipt:
    return _submit(ledger, signer, actor, "task.extend_window", body)


def signal(ledger: LedgerService, signer: Signer, actor: str, body: SignalBody) -> Receipt:
    return _submit(ledger, signer, actor, "class.signal", body)


def register_firm(ledger: LedgerService, signer: Signer, actor: str, body: RegisterFirmBody) -> Receipt:
    return _submit(ledger, signer, actor, "firm.register", body)


def acknowledge(ledger: LedgerService, signer: Signer, actor: str, task_id: str) -> Receipt:
    return _submit(ledger, signer, actor, "firm.acknowledge", AcknowledgeBody(task_id=task_id))


def request_recusal(ledger: LedgerService, signer: Signer, actor: str, task_id: str, officer: str,
                    reason: str) -> Receipt:
    return _submit(ledger, signer, actor, "firm.recusal_request",
                   RecusalRequestBody(task_id=task_id, officer=officer, reason=reason))


def decide_recusal(ledger: LedgerService, signer: Signer, actor: str, body: RecusalDecideBody) -> Receipt:
    """Granted: a substitution by the draw's ranking (its frozen inputs come in beside the command)."""
    return _submit(ledger, signer, actor, "firm.recusal_decide", body, **_with_inputs(ledger))


def raise_objection(ledger: LedgerService, signer: Signer, actor: str, task_id: str, reason: str) -> Receipt:
    return _submit(ledger, signer, actor, "objection.raise", RaiseBody(task_id=task_id, reason=reason))


def resolve_objection(ledger: LedgerService, signer: Signer, actor: str, body: ResolveBody) -> Receipt:
    return _submit(ledger, signer, actor, "objection.resolve", body)


# ---------------------------------------------------------------------------
# Reading (public).


class ObjectionView(msgspec.Struct, kw_only=True):
    task_id: str
    uscc: str
    raised_on: str
    reason: str
    position: int
    outcome: str | None = None  # upheld | rejected; None while open
    resolution: str | None = None
    resolved_on: str | None = None
    resolved_by: str | None = None  # the department's reviewer (an official, named as 三项制度 requires)


class _Raised(msgspec.Struct):
    task_id: str
    uscc: str
    reason: str
    raised_on: str


class _Resolved(msgspec.Struct):
    outcome: str
    reason: str
    resolved_on: str
    actor: str


def public_objections(config: StoreConfig, task_id: str | None = None, uscc: str | None = None
                      ) -> list[ObjectionView]:
    """Every objection (of one task or firm, or all) with its resolution, in ledger order; free text
    is shown with ID-card and phone numbers masked."""
    from ledger.store.reader import open_reader

    raised, resolved = get_topic(Objection.Raised), get_topic(Objection.Resolved)
    views: dict[Any, ObjectionView] = {}
    with open_reader(config) as reader:
        rows = reader.events_with_topics([raised, resolved])
    for row in rows:
        assert row.state is not None
        if row.topic == raised:
            event = msgspec.json.decode(row.state, type=_Raised)
            views[row.originator_id] = ObjectionView(task_id=event.task_id, uscc=event.uscc,
                                                     raised_on=event.raised_on, reason=mask(event.reason),
                                                     position=row.seq)
        elif row.originator_id in views:
            done = msgspec.json.decode(row.state, type=_Resolved)
            view = views[row.originator_id]
            view.outcome, view.resolution = done.outcome, mask(done.reason)
            view.resolved_on, view.resolved_by = done.resolved_on, done.actor
    return [v for v in views.values()
            if (task_id is None or v.task_id == task_id) and (uscc is None or v.uscc == uscc)]


def mask(text: str) -> str:
    """ID-card (15/18 digits) and mobile numbers in free text, masked for public output.

    >>> mask("联系人身份证 360502199001011234, 电话 13812345678")
    '联系人身份证 3605**********1234, 电话 138****5678'
    """
    import re

    text = re.sub(r"(?<!\d)(\d{4})(\d{10})(\d{3}[\dXx])(?!\d)", lambda m: m[1] + "*" * 10 + m[3], text)
    text = re.sub(r"(?<!\d)(\d{4})(\d{7})(\d{4})(?!\d)", lambda m: m[1] + "*" * 7 + m[3], text)
    return re.sub(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)", lambda m: m[1] + "****" + m[3], text)


class NoticeView(msgspec.Struct, kw_only=True):
    code: str
    task_id: str
    task_name: str
    uscc: str
    leader: str  # the team leader (组长): the first officer
    inspectors: list[str]
    experts: list[str]
    window_start: str
    window_end: str


def _view(task: Task, team: Any) -> NoticeView:
    assert task.seed is not None
    return NoticeView(code=notice_code(task.task_id, team.target, team.inspectors, task.seed), task_id=task.task_id,
                      task_name=task.name, uscc=team.target, leader=team.inspectors[0],
                      inspectors=list(team.inspectors), experts=list(team.experts),
                      window_start=task.window_start.isoformat(), window_end=task.window_end.isoformat())


def notice_for(ledger: LedgerService, task_id: str, uscc: str) -> NoticeView | None:
    """The notice (code and team) of `uscc` in the standing draw of `task_id`, or None."""
    task = ledger.processor.app.find(Task.create_id(task_id))
    team = task.team_of(uscc) if isinstance(task, Task) else None
    return _view(task, team) if team is not None and task.seed is not None else None


def check_notice(ledger: LedgerService, code: str) -> NoticeView | None:
    """The task, firm and team a notice code names in a standing draw, or None (a wrong code, or a
    team changed since the notice: a substitution changes the code)."""
    from ledger.projections import all_projections
    from ledger.projections.notices import notice_candidates
    from ledger.projections.runner import catch_up, writable_connection

    wanted = normalise_code(code)
    if wanted is None:
        return None
    catch_up(ledger.config, all_projections())
    with writable_connection(ledger.config) as (conn, dialect, _):
        candidates = notice_candidates(conn, dialect, wanted)
    # The index only finds candidates; the task aggregate decides (a stale row never checks).
    views = (notice_for(ledger, task_id, uscc) for task_id, uscc in candidates)
    return next((view for view in views if view is not None and view.code == wanted), None)


def class_signals(config: StoreConfig, uscc: str) -> list[dict[str, Any]]:
    """The class signals recorded for a firm (its trace lists them), in ledger order."""
    from ledger.store.reader import open_reader

    with open_reader(config) as reader:
        rows = reader.events_with_topics([get_topic(ClassSignal.Recorded)])
    found = [dict(msgspec.json.decode(r.state or b"{}"), position=r.seq) for r in rows]
    return [s for s in found if s.get("uscc") == uscc]


def representative_of(ledger: LedgerService, actor_id: str) -> str | None:
    """The USCC a firm representative is bound to, or None."""
    found = ledger.processor.app.find(FirmRepresentative.create_id(actor_id))
    return found.uscc if isinstance(found, FirmRepresentative) else None


def recusal_request(ledger: LedgerService, task_id: str, uscc: str, officer: str) -> RecusalRequest | None:
    found = ledger.processor.app.find(RecusalRequest.create_id(task_id, uscc, officer))
    return found if isinstance(found, RecusalRequest) else None


_PARTICIPATION = {
    get_topic(ClassSignal.Recorded): "class_signal",
    get_topic(FirmRepresentative.Acknowledged): "firm_acknowledged",
    get_topic(RecusalRequest.Raised): "recusal_requested",
    get_topic(RecusalRequest.Decided): "recusal_decided",
    get_topic(Objection.Raised): "objection_raised",
    get_topic(Objection.Resolved): "objection_resolved",
}


def participation_rows(config: StoreConfig, task_id: str, uscc: str) -> list[Any]:
    """The firm's part in a task and what its results signal, as rows of `report trace`:
    acknowledgements, 回避 requests and decisions, objections and resolutions, class signals."""
    from ledger.services.reports import TraceRow
    from ledger.store.reader import open_reader

    with open_reader(config) as reader:
        found = reader.events_with_topics(list(_PARTICIPATION))
    subject: dict[Any, tuple[str, str]] = {}  # aggregate -> (task, uscc), from its first event
    rows = []
    for row in found:
        event = msgspec.json.decode(row.state or b"{}")
        if "task_id" in event and "uscc" in event:
            subject.setdefault(row.originator_id, (event["task_id"], event["uscc"]))
        if event.get("task_id", subject.get(row.originator_id, ("", ""))[0]) != task_id \
                or event.get("uscc", subject.get(row.originator_id, ("", ""))[1]) != uscc:
            continue
        detail = {k: v for k, v in event.items() if k not in ("actor", "timestamp", "originator_id",
                                                               "originator_version", "task_id", "uscc")}
        rows.append(TraceRow(seq=row.seq, at=str(event.get("timestamp", "")), kind=_PARTICIPATION[row.topic],
                             actor=str(event.get("actor", "")),
                             detail=json.dumps(detail, ensure_ascii=False, sort_keys=True)))
    return rows
