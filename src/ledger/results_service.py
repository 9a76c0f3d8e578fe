"""Record, correct and disclose inspection results: the library API that the
CLI and the HTTP layer call with an inspector's signed command.

Each command: read what it claims -> authenticate the signer -> check the
rule (drawn target, assigned inspector, task, window, items, nonce) -> save
the result, its nonce and any credit feedback in ONE transaction -> catch
up the read models. Any refusal writes nothing of the attempted change; it
raises `ResultRefused` (code + message) after recording a refused-attempt
event in its own transaction (bounded: see domain/results.py).

The draw facts come from the draws read model (indexed by task and target,
cheap for 100k-target tasks), caught up at the start of every command.
"""

from __future__ import annotations

import hashlib
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from typing import Any, NoReturn

import msgspec
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from ledger.application import LedgerApplication, Refused
from ledger.domain.actors import Actor
from ledger.domain.directory import Entity
from ledger.domain.reference import INSPECTION_METHODS, codes
from ledger.domain.results import (
    BODY_TYPES,
    CORRECT,
    DISCLOSE,
    EVIDENCE_BYTES,
    RECORD,
    UNREGISTERED_BUCKET,
    CommandNonce,
    CorrectBody,
    DiscloseBody,
    InspectionResult,
    RecordBody,
    Refusal,
    RefusalLog,
    TaskFacts,
    apply_rule,
    body_dict,
    check_assignment,
    check_content,
    china_date,
    deadlines,
    hour_bucket,
    result_cause,
    result_key,
)
from ledger.domain.workdays import CalendarNotCovered, WorkCalendar
from ledger.integrity.canonical import utc_now
from ledger.integrity.commands import CommandContent, SignedCommand, sign_command
from ledger.integrity.keys import Signer
from ledger.projections import all_projections
from ledger.projections.directory import from_column
from ledger.projections.draws import DrawProjection
from ledger.projections.runner import catch_up, writable_connection
from ledger.results_settings import ResultsSettings, load_calendar, load_settings
from ledger.setup import open_for_writing
from ledger.store.config import StoreConfig

INSPECTOR_ROLE = "inspector"


class ResultRefused(Refused):
    """A result command was refused (and the attempt recorded); `code` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"refused ({code}): {message}")
        self.code = code


class ResultView(msgspec.Struct, kw_only=True):
    task_id: str
    uscc: str
    category: str
    category_label: str
    findings: str
    methods: tuple[str, ...]
    items: tuple[str, ...]
    inspected_on: date
    recorded_by: str
    recorded_on: date
    result_due: date
    disclosure_due: date
    corrections: int
    disclosed: bool
    version: int


# ---------------------------------------------------------------------------
# Signing helpers (CLI, demo, tests; an HTTP client does the same itself).


def sign_record(signer: Signer, badge: str, body: RecordBody, **kwargs: Any) -> SignedCommand:
    return sign_command(signer, badge, RECORD, body_dict(body), **kwargs)


def sign_correct(signer: Signer, badge: str, body: CorrectBody, **kwargs: Any) -> SignedCommand:
    return sign_command(signer, badge, CORRECT, body_dict(body), **kwargs)


def sign_disclose(signer: Signer, badge: str, body: DiscloseBody, **kwargs: Any) -> SignedCommand:
    return sign_command(signer, badge, DISCLOSE, body_dict(body), **kwargs)


class _Claim(msgspec.Struct):
    """What an unverified command says: enough to file the refusal."""

    actor: str = ""
    name: str = ""
    body: dict[str, Any] = {}


def _claim(signed: SignedCommand) -> _Claim:
    try:
        return msgspec.json.decode(signed.command, type=_Claim)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return _Claim()


@dataclass
class _Authenticated:
    """How far authentication got: no actor until the signature verified."""

    actor: Actor | None = None
    content: CommandContent | None = None
    body: Any = None


class ResultsService:
    """One open ledger for many result commands (close it, or use `with`)."""

    def __init__(self, config: StoreConfig, settings: ResultsSettings | None = None,
                 calendar: WorkCalendar | None = None, *, sync: bool = True) -> None:
        self.config = config
        self.settings = settings or load_settings(config.home)
        self.calendar = calendar or load_calendar(config.home)
        self.categories = {c.code: c for c in self.settings.result_categories()}
        self.methods = set(codes(INSPECTION_METHODS))
        # sync=False: the caller catches projections up itself (bulk loads);
        # checks then read the draws as they were when the service opened.
        self.sync = sync
        self._stack = ExitStack()
        catch_up(config, all_projections())
        self.app: LedgerApplication = open_for_writing(config)
        self._stack.callback(self.app.close)
        self.conn, self.dialect, _ = self._stack.enter_context(writable_connection(config))

    def __enter__(self) -> ResultsService:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()

    # -- commands ------------------------------------------------------------

    def record(self, signed: SignedCommand) -> ResultView:
        auth = self._begin(signed, RECORD)
        body: RecordBody = auth.body
        badge = auth.actor.actor_id
        facts = self._facts(body.task_id, body.uscc, badge)
        today = china_date(auth.content.issued_at)
        self._check(signed, auth, check_assignment(facts, body.uscc, badge)
                    or check_content(facts, body, set(self.categories), self.methods, today))
        if InspectionResult.create_id(body.task_id, body.uscc) in self.app.repository:
            self._refuse(signed, auth, Refusal("duplicate_result", f"{body.uscc} already has a result in task"
                                               f" {body.task_id}: use `result correct` with a reason"))
        assert facts.window_end is not None
        try:
            due = deadlines(facts.window_end, today, self.settings.results_due_working_days,
                            self.settings.disclosure_due_working_days, self.calendar)
        except CalendarNotCovered as error:
            self._refuse(signed, auth, Refusal("calendar_not_covered", str(error)))
        result = InspectionResult(
            task_id=body.task_id, uscc=body.uscc, category=body.category, findings=body.findings,
            methods=body.methods, items=body.items, inspected_on=body.inspected_on, recorded_on=today,
            result_due=due.result_due, late=due.late, disclosure_due=due.disclosure_due, actor=badge, signed=signed,
        )
        self._save(signed, auth, result, body.category, None)
        return self._view(result)

    def correct(self, signed: SignedCommand) -> ResultView:
        auth = self._begin(signed, CORRECT)
        body: CorrectBody = auth.body
        badge = auth.actor.actor_id
        facts = self._facts(body.task_id, body.uscc, badge)
        today = china_date(auth.content.issued_at)
        self._check(signed, auth, check_assignment(facts, body.uscc, badge)
                    or check_content(facts, body, set(self.categories), self.methods, today))
        if not body.reason.strip() or len(body.reason) > 2000:
            self._refuse(signed, auth, Refusal("invalid", "a correction needs a reason (1-2000 characters)"))
        result = self._existing(signed, auth, body.task_id, body.uscc)
        new = (body.category, body.findings, body.methods, body.items, body.inspected_on)
        if new == (result.category, result.findings, result.methods, result.items, result.inspected_on):
            self._refuse(signed, auth, Refusal("invalid", "the correction changes nothing"))
        previous = result.category
        result.correct(task_id=body.task_id, uscc=body.uscc, category=body.category, findings=body.findings,
                       methods=body.methods, items=body.items, inspected_on=body.inspected_on, reason=body.reason,
                       previous_category=previous, actor=badge, signed=signed)
        self._save(signed, auth, result, body.category if body.category != previous else None, previous)
        return self._view(result)

    def disclose(self, signed: SignedCommand) -> ResultView:
        auth = self._begin(signed, DISCLOSE)
        body: DiscloseBody = auth.body
        badge = auth.actor.actor_id
        self._check(signed, auth, check_assignment(self._facts(body.task_id, body.uscc, badge), body.uscc, badge))
        result = self._existing(signed, auth, body.task_id, body.uscc)
        if result.disclosed:
            self._refuse(signed, auth, Refusal("already_disclosed", f"the result of {body.uscc} in task"
                                               f" {body.task_id} is already disclosed"))
        today = china_date(auth.content.issued_at)
        result.disclose(task_id=body.task_id, uscc=body.uscc, disclosed_on=today, disclosure_due=result.disclosure_due,
                        late=today > result.disclosure_due, actor=badge, signed=signed)
        self._save(signed, auth, result, None, None)
        return self._view(result)

    # -- authentication --------------------------------------------------------

    def _begin(self, signed: SignedCommand, name: str) -> _Authenticated:
        if self.sync:
            catch_up(self.config, [DrawProjection()])
        claim = _claim(signed)
        if not claim.actor or not claim.name:
            self._refuse(signed, _Authenticated(), Refusal("unreadable", "the signed command is not a readable command"))
        try:
            actor, content = self.app.authorise(signed, name, None, INSPECTOR_ROLE)
        except Refused as error:
            # Past the signature check (invalid, stale, role) the signer is authenticated.
            verified = error.code in ("invalid", "stale_command", "missing_role")
            signer = self.app.find_actor(claim.actor) if verified else None
            self._refuse(signed, _Authenticated(actor=signer), Refusal(error.code, str(error)))
        auth = _Authenticated(actor=actor, content=content, body=None)
        try:
            auth.body = msgspec.convert(content.body, BODY_TYPES[name])
        except msgspec.ValidationError as error:
            self._refuse(signed, auth, Refusal("invalid", f"{name}: {error}"))
        if CommandNonce.create_id(actor.actor_id, content.nonce) in self.app.repository:
            self._refuse(signed, auth, Refusal("reused_nonce", f"nonce {content.nonce} of {actor.actor_id!r}"
                                               " was used before (replayed command)"))
        return auth

    def _check(self, signed: SignedCommand, auth: _Authenticated, refusal: Refusal | None) -> None:
        if refusal is not None:
            self._refuse(signed, auth, refusal)

    def _existing(self, signed: SignedCommand, auth: _Authenticated, task_id: str, uscc: str) -> InspectionResult:
        try:
            return self.app.repository.get(InspectionResult.create_id(task_id, uscc))  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            self._refuse(signed, auth, Refusal("no_result", f"{uscc} has no result in task {task_id} yet"))

    # -- draw facts --------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        cursor = self.conn.cursor()
        cursor.execute(sql.replace("?", self.dialect.placeholder), params)
        return list(cursor.fetchall())

    def _facts(self, task_id: str, uscc: str, badge: str) -> TaskFacts:
        t = self.dialect.table
        tasks = self._query(f"SELECT state, window_start, window_end, items FROM {t('draw_tasks')} WHERE task_id = ?",
                            (task_id,))
        teams = self._query(f"SELECT task_id, inspectors FROM {t('draw_teams')} WHERE uscc = ? AND valid_to IS NULL",
                            (uscc,))
        others = tuple(sorted(task for task, inspectors in teams
                              if task != task_id and badge in from_column(inspectors, True)))
        if not tasks:
            return TaskFacts(task_id=task_id, exists=False, standing=False, other_tasks=others)
        state, start, end, items = tasks[0]
        team = next((tuple(from_column(i, True)) for task, i in teams if task == task_id), None)
        return TaskFacts(task_id=task_id, exists=True, standing=state == "drawn", window_start=date.fromisoformat(start),
                         window_end=date.fromisoformat(end), items=from_column(items, True), team=team,
                         other_tasks=others)

    # -- writing -------------------------------------------------------------------

    def _save(self, signed: SignedCommand, auth: _Authenticated, result: InspectionResult, category: str | None,
              previous: str | None) -> None:
        badge = auth.actor.actor_id
        nonce = CommandNonce(actor_id=badge, nonce=auth.content.nonce, command_name=auth.content.name, actor=badge)
        entity = self._credit_feedback(result, category, previous, badge) if category else None
        try:
            self.app.save(*(a for a in (result, nonce, entity) if a is not None))
        except IntegrityError:
            # Lost a race: the nonce or the result was saved by someone else first.
            if CommandNonce.create_id(badge, auth.content.nonce) in self.app.repository:
                self._refuse(signed, auth, Refusal("reused_nonce", f"nonce {auth.content.nonce} of {badge!r}"
                                                   " was used before (replayed command)"))
            self._refuse(signed, auth, Refusal("duplicate_result", f"{result.uscc} in task {result.task_id} was"
                                               " written concurrently: reload and correct it"))
        if self.sync:
            catch_up(self.config, all_projections())

    def _credit_feedback(self, result: InspectionResult, category: str, previous: str | None,
                         badge: str) -> Entity | None:
        """Reclassify the entity as the rules say; the event names the result event behind it."""
        try:
            entity: Entity = self.app.repository.get(Entity.id_for(result.uscc))
        except AggregateNotFoundError:
            return None
        current = entity.record.risk_class
        base = current
        if previous is not None:
            # A correction: if this result made the last class change, start
            # from the class before it, so a withdrawn finding stops counting.
            last = self._last_reclassification(entity)
            mine = f"result:{result_key(result.task_id, result.uscc)}@"
            if last is not None and (last.cause or "").startswith(mine):
                base = last.previous
        rule = self.settings.credit_rules.get(category)
        target = apply_rule(rule, base) if rule else base
        if target == current:
            return None
        # result.version is the version of its newest (pending) event.
        entity.trigger_event(Entity.Reclassified, uscc=result.uscc, risk_class=target, previous=current,
                             reason=f"credit feedback: result category {category}",
                             cause=result_cause(result.task_id, result.uscc, result.version), actor=badge)
        return entity

    def _last_reclassification(self, entity: Entity) -> Any:
        for stored in self.app.events.get(entity.id, desc=True):
            if isinstance(stored, Entity.Reclassified):
                return stored
        return None

    def _refuse(self, signed: SignedCommand, auth: _Authenticated, refusal: Refusal) -> NoReturn:
        """Record the refused attempt (bounded), then raise ResultRefused."""
        claim = _claim(signed)
        claimed = claim.actor[:64] or "?"
        registered = auth.actor is not None or self.app.find_actor(claimed) is not None
        bucket = claimed if registered else UNREGISTERED_BUCKET
        body = claim.body if isinstance(claim.body, dict) else {}
        task_id = str(body.get("task_id", ""))[:64]
        uscc = str(body.get("uscc", ""))[:64]
        hour = hour_bucket(utc_now())
        for _ in range(3):  # concurrent refusals in one bucket: reload and retry
            log = self._refusal_log(bucket, hour)
            if log.has_room():
                log.refuse(command_name=(claim.name or "?")[:64], claimed_actor=claimed, authenticated=auth.actor is not None,
                           code=refusal.code, reason=refusal.message[:1000], task_id=task_id, uscc=uscc,
                           command_sha256=hashlib.sha256(signed.command).hexdigest(),
                           command=signed.command[:EVIDENCE_BYTES], truncated=len(signed.command) > EVIDENCE_BYTES,
                           signature=signed.signature[:128], key_id=signed.key_id[:128], actor=claimed)
            else:
                total = self._count_suppressed(bucket, hour)
                if not RefusalLog.counter_due(total):
                    break
                log.suppressed(bucket=bucket, hour=hour, count=total, last_code=refusal.code, actor=claimed)
            try:
                self.app.save(log)
                break
            except IntegrityError:
                continue
        if self.sync:
            catch_up(self.config, all_projections())
        raise ResultRefused(refusal.code, refusal.message)

    def _refusal_log(self, bucket: str, hour: str) -> RefusalLog:
        try:
            return self.app.repository.get(RefusalLog.create_id(bucket, hour))  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            return RefusalLog(bucket=bucket, hour=hour, limit=self.settings.refusals_per_hour, actor=bucket)

    def _count_suppressed(self, bucket: str, hour: str) -> int:
        """Count one more suppressed refusal beside the ledger; the new total."""
        table = self.dialect.table("res_refusal_counts")
        cursor = self.conn.cursor()
        p = self.dialect.placeholder
        cursor.execute(f"INSERT INTO {table} (bucket, hour, count) VALUES ({p}, {p}, 1) ON CONFLICT (bucket, hour)"
                       f" DO UPDATE SET count = {table}.count + 1 RETURNING count", (bucket, hour))
        return int(cursor.fetchone()[0])

    def _view(self, result: InspectionResult) -> ResultView:
        category = self.categories.get(result.category)
        return ResultView(
            task_id=result.task_id, uscc=result.uscc, category=result.category,
            category_label=category.label if category else result.category, findings=result.findings,
            methods=result.methods, items=result.items, inspected_on=result.inspected_on,
            recorded_by=result.recorded_by, recorded_on=result.recorded_on, result_due=result.result_due,
            disclosure_due=result.disclosure_due, corrections=result.corrections, disclosed=result.disclosed,
            version=result.version,
        )

