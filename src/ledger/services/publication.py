"""What the public may see (一公开): disclosed results only, personal data masked or redacted.

Every public output (the pages under /public, the open data in CSV and
NDJSON) reads through this module, so one set of rules applies everywhere:

- results: only those a reviewer of the department approved and published
  (state `disclosed`, 已公示), one per (task, firm, department), with the
  department's own inspectors and every selected category (Chinese labels);
  a result waiting for review or returned is never read here, so it cannot
  leak into a page or a file, and a published one no longer changes;
- inspectors: named as the ledger's signed `public_inspectors` setting says
  (`ledger`, the default: one rule, signed by an admin, for the site, the open
  data, the 公示 feed and `drledger result public`; the setting's default is
  `masked`, and a department that follows 行政执法公示制度 (三项制度,
  国办发〔2018〕118号) signs `full`: name, 执法证号 and department); a
  deployment may override it with `full`, `masked` (张**, ****07) or
  `department` (only the department);
- free text written by people (findings, reasons): 18-digit ID-card numbers
  (居民身份证号码, GB 11643) and mainland mobile numbers are replaced by a
  marker (`redact`), in every output;
- risk classes of single firms are never shown (风险分类不公开); only counts.

Reads go through the read models (projections/public.py), caught up first.
Lists that can be long are iterated in keyset batches (`iter_*`), so a
stream of any length holds one batch at a time.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import msgspec

from ledger.domain.results import mask_badge, mask_name
from ledger.domain.uscc import ALPHABET, normalize_uscc, validate_uscc
from ledger.projections import public as q
from ledger.store.config import StoreConfig

__all__ = ["INSPECTOR_MODES", "PublicationOptions", "ResultQuery", "TaskQuery", "DrawQuery", "PublicResult",
           "PublicTask", "PublicTarget", "Page", "redact", "inspector_label", "options_from_env", "search_results",
           "iter_results", "list_tasks", "iter_tasks", "task_detail", "iter_draws", "attempts", "items", "plans",
           "statistics", "checkpoint", "Statistics", "TaskDetail", "CheckpointView", "category_choices",
           "department_choices", "draw_inclusion"]

INSPECTOR_MODES: Final = ("full", "masked", "department", "ledger")
ENV_INSPECTORS: Final = "DRLEDGER_PUBLIC_INSPECTORS"
BATCH: Final = 1000

# ---------------------------------------------------------------------------
# Redaction of personal data in free text (pure).

_D = "[0-9０-９]"  # ASCII and full-width digits: people type both
_SEP = "[ \\-－]?"
_EDGE_BEFORE = "(?<![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])"
_EDGE_AFTER = "(?![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])"
# 18-digit ID: 6-digit region, birth date YYYYMMDD, 3-digit sequence, check digit or X;
# written solid or grouped 6-8-4.
_ID = re.compile(
    f"{_EDGE_BEFORE}[1-9１-９]{_D}{{5}}{_SEP}(?:1[89]|2[0０]|１[８９]|２[0０]){_D}{{2}}"
    f"(?:[0０][1-9１-９]|[1１][0-2０-２]){_D}{{2}}{_SEP}{_D}{{3}}[0-9０-９XxＸｘ]{_EDGE_AFTER}"
)
# Mainland mobile: 1[3-9]x xxxx xxxx, optionally +86 / 86 first, solid or grouped 3-4-4.
_MOBILE = re.compile(
    f"{_EDGE_BEFORE}(?:[+＋]?(?:86|８６){_SEP})?[1１][3-9３-９]{_D}{_SEP}{_D}{{4}}{_SEP}{_D}{{4}}{_EDGE_AFTER}"
)
ID_MARK: Final = "[身份证号已隐去]"
MOBILE_MARK: Final = "[手机号已隐去]"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _ascii(text: str) -> str:
    return "".join(chr(ord(c) - 0xFEE0) if "０" <= c <= "ｚ" else c for c in text if c not in " -－")


def id_check_ok(number: str) -> bool:
    """The GB 11643 check digit (ISO 7064 MOD 11-2) of an 18-character ID number."""
    total = sum(int(c) * w for c, w in zip(number[:17], _WEIGHTS))
    return "10X98765432"[total % 11] == number[17].upper()


def _id_or_keep(match: re.Match[str]) -> str:
    number = _ascii(match.group(0)).upper()
    # A valid credit code (统一社会信用代码) of the same shape is a firm's, not a person's.
    if not id_check_ok(number) and validate_uscc(normalize_uscc(number)) is None:
        return match.group(0)
    return ID_MARK


def redact(text: str) -> str:
    """`text` with every 18-digit ID-card number and mobile number replaced by a marker.

    >>> redact("当事人张三，身份证号36050219900101123X，电话138 0013 8000。")
    '当事人张三，身份证号[身份证号已隐去]，电话[手机号已隐去]。'
    """
    if not text:
        return text
    return _MOBILE.sub(MOBILE_MARK, _ID.sub(_id_or_keep, text))


# ---------------------------------------------------------------------------
# Deployment options.


class PublicationOptions(msgspec.Struct, frozen=True, kw_only=True):
    inspectors: str = "ledger"

    def __post_init__(self) -> None:
        if self.inspectors not in INSPECTOR_MODES:
            raise ValueError(f"public inspectors mode {self.inspectors!r}: use one of {', '.join(INSPECTOR_MODES)}")


def options_from_env(environ: dict[str, str] | None = None) -> PublicationOptions:
    """The deployment's options: DRLEDGER_PUBLIC_INSPECTORS = ledger (default) | full | masked | department."""
    env = os.environ if environ is None else environ
    return PublicationOptions(inspectors=env.get(ENV_INSPECTORS, "").strip() or "ledger")


def _mode(config: StoreConfig, options: PublicationOptions) -> str:
    if options.inspectors != "ledger":
        return options.inspectors
    from ledger.services.settings import settings_in_force

    return settings_in_force(config).results.public_inspectors


def inspector_label(person: q.PublicInspector | None, badge: str, mode: str) -> str:
    """How one officer is named in public: `full` = name, 执法证号 (else badge), department."""
    if person is None:
        return "" if mode == "department" else mask_badge(badge) if mode == "masked" else badge
    if mode == "department":
        return person.department_name or person.department
    number = person.certificate_no or badge
    if mode == "masked":
        return f"{mask_name(person.name)}（{mask_badge(number)}）"
    return f"{person.name}（执法证号 {number}，{person.department_name or person.department}）"


class _Labels:
    """Inspector labels under one mode, read once per request."""

    def __init__(self, conn: Any, dialect: Any, mode: str) -> None:
        self.people = q.inspectors(conn, dialect)
        self.mode = mode

    def __call__(self, badges: tuple[str, ...], department: str | None = None) -> list[str]:
        """Labels of `badges`; with `department`, only that department's officers (in a joint task
        each department publishes its own result with its own inspectors)."""
        if department is not None:
            badges = tuple(b for b in badges if (p := self.people.get(b)) is None or p.department == department)
        labels = [inspector_label(self.people.get(b), b, self.mode) for b in badges]
        if self.mode == "department":
            labels = list(dict.fromkeys(labels))  # one line per department, not per person
        return [label for label in labels if label]


@contextmanager
def _read(config: StoreConfig) -> Iterator[tuple[Any, Any]]:
    from ledger.projections import all_projections
    from ledger.projections.runner import catch_up, writable_connection

    catch_up(config, all_projections())
    with writable_connection(config) as (conn, dialect, _):
        yield conn, dialect


def _connection(config: StoreConfig) -> Any:
    from ledger.projections.runner import writable_connection

    return writable_connection(config)


# ---------------------------------------------------------------------------
# Queries and rows.


class Page(msgspec.Struct, kw_only=True):
    rows: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class ResultQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Search of disclosed results: `q` a USCC (exact) or part of a firm's name."""

    q: str = ""
    task: str = ""
    category: str = ""  # results with this category among theirs
    disclosed_from: str = ""  # YYYY-MM-DD
    disclosed_to: str = ""
    department: str = ""  # the publishing department's code

    def filter(self) -> q.ResultFilter:
        text = self.q.strip()
        code = normalize_uscc(text)
        # 18 characters of the credit-code alphabet: a USCC (exact match, valid check or not).
        is_code = len(code) == 18 and all(c in ALPHABET for c in code)
        return q.ResultFilter(uscc=code if is_code else "", name=text if text and not is_code else "",
                              task_id=self.task.strip(), department=self.department.strip(),
                              category=self.category.strip(),
                              disclosed_from=self.disclosed_from.strip(), disclosed_to=self.disclosed_to.strip())


class TaskQuery(msgspec.Struct, frozen=True, kw_only=True):
    q: str = ""  # task id or part of its name
    department: str = ""
    year: str = ""

    def filter(self) -> q.TaskFilter:
        return q.TaskFilter(text=self.q.strip(), department=self.department.strip(), year=self.year.strip())


class DrawQuery(msgspec.Struct, frozen=True, kw_only=True):
    q: str = ""  # USCC or part of a firm's name
    task: str = ""

    def filter(self) -> q.DrawFilter:
        f = ResultQuery(q=self.q).filter()
        return q.DrawFilter(uscc=f.uscc, name=f.name, task_id=self.task.strip())


class PublicResult(msgspec.Struct, kw_only=True):
    task_id: str
    task_name: str
    uscc: str
    entity_name: str
    department: str  # the department that published it (一联合: each its own)
    department_name: str
    category: str  # the first selected
    category_label: str
    categories: list[str]  # every selected category (multi-select)
    category_labels: list[str]
    findings: str
    items: list[str]
    inspected_on: str
    disclosed_on: str
    corrections: int  # corrections while under review (a published result is never corrected)
    inspectors: list[str]  # the department's own officers of the team


class PublicTask(msgspec.Struct, kw_only=True):
    task_id: str
    name: str
    plan_id: str
    departments: list[str]
    items: list[str]
    window_start: str
    window_end: str
    state: str  # created | committed | drawn | voided
    state_label: str
    targets: int
    draws: int
    drawn_at: int | None


class PublicTarget(msgspec.Struct, kw_only=True):
    task_id: str
    task_name: str
    uscc: str
    entity_name: str
    drawn_at: int
    inspectors: list[str]
    experts: int


class PublicAttempt(msgspec.Struct, kw_only=True):
    task_id: str
    kind: str
    kind_label: str
    position: int
    actor: str
    rounds: str
    reason: str


STATE_LABELS: Final = {"created": "待抽取", "committed": "已承诺（待信标）", "drawn": "已抽取", "voided": "已作废"}
ATTEMPT_LABELS: Final = {"commit": "承诺", "run": "抽取", "void": "作废", "abandoned": "放弃（承诺后未抽取）"}


def _category_labels(config: StoreConfig) -> dict[str, str]:
    from ledger.services.settings import settings_in_force

    return {c.code: c.label for c in settings_in_force(config).results.result_categories()}


def category_choices(config: StoreConfig) -> list[tuple[str, str]]:
    return sorted(_category_labels(config).items())


def department_choices(config: StoreConfig) -> list[tuple[str, str]]:
    """(code, name) of the departments in force, for the results search."""
    with _read(config) as (conn, dialect):
        return sorted(q.department_names(conn, dialect).items())


def _result(row: q.ResultRow, labels: dict[str, str], names: _Labels, departments: dict[str, str]) -> PublicResult:
    return PublicResult(task_id=row.task_id, task_name=row.task_name, uscc=row.uscc, entity_name=row.entity_name,
                        department=row.department, department_name=departments.get(row.department, row.department),
                        category=row.category, category_label=labels.get(row.category, row.category),
                        categories=list(row.categories), category_labels=[labels.get(c, c) for c in row.categories],
                        findings=redact(row.findings), items=list(row.items), inspected_on=row.inspected_on,
                        disclosed_on=row.disclosed_on, corrections=row.corrections,
                        inspectors=names(row.inspectors, row.department))


def search_results(config: StoreConfig, query: ResultQuery, options: PublicationOptions, page: int = 1,
                   per_page: int = 20) -> Page:
    """One page of disclosed results matching `query`, and how many match in all."""
    labels, mode = _category_labels(config), _mode(config, options)
    f = query.filter()
    with _read(config) as (conn, dialect):
        total = q.count_disclosed(conn, dialect, f)
        rows = q.disclosed(conn, dialect, f, limit=per_page, offset=(page - 1) * per_page)
        names, departments = _Labels(conn, dialect, mode), q.department_names(conn, dialect)
        return Page(rows=[_result(r, labels, names, departments) for r in rows], total=total, page=page,
                    per_page=per_page)


def _batched(config: StoreConfig, fetch: Any, key: Any, batch: int) -> Iterator[Any]:
    """Rows over keyset batches. Each batch is read on a connection closed before its rows are
    yielded: a streamed response resumes its generator on any worker thread, and a SQLite
    connection must stay on the thread that opened it."""
    after = None
    while True:
        with _connection(config) as (conn, dialect, _):
            rows = fetch(conn, dialect, after, batch)
        yield from rows
        if len(rows) < batch:
            return
        after = key(rows[-1])


def _stream_labels(config: StoreConfig, options: PublicationOptions) -> _Labels:
    with _connection(config) as (conn, dialect, _):
        return _Labels(conn, dialect, _mode(config, options))


def iter_results(config: StoreConfig, query: ResultQuery, options: PublicationOptions,
                 batch: int = BATCH) -> Iterator[PublicResult]:
    """Every disclosed result matching `query`, in (task, USCC, department) order, one batch in memory at a time."""
    from ledger.projections import all_projections
    from ledger.projections.runner import catch_up

    catch_up(config, all_projections())
    labels, names, f = _category_labels(config), _stream_labels(config, options), query.filter()
    with _connection(config) as (conn, dialect, _):
        departments = q.department_names(conn, dialect)
    for row in _batched(config, lambda c, d, after, n: q.disclosed(c, d, f, limit=n, after=after),
                        lambda r: (r.task_id, r.uscc, r.department), batch):
        yield _result(row, labels, names, departments)


def _task(row: q.DrawnTaskRow) -> PublicTask:
    return PublicTask(task_id=row.task_id, name=row.name, plan_id=row.plan_id, departments=list(row.departments),
                      items=list(row.items), window_start=row.window_start, window_end=row.window_end,
                      state=row.state, state_label=STATE_LABELS.get(row.state, row.state), targets=row.targets,
                      draws=row.draws, drawn_at=row.drawn_seq)


def list_tasks(config: StoreConfig, query: TaskQuery, page: int = 1, per_page: int = 20) -> Page:
    f = query.filter()
    with _read(config) as (conn, dialect):
        total = q.count_tasks(conn, dialect, f)
        rows = q.tasks(conn, dialect, f, limit=per_page, offset=(page - 1) * per_page)
    return Page(rows=[_task(r) for r in rows], total=total, page=page, per_page=per_page)


def iter_tasks(config: StoreConfig, query: TaskQuery, batch: int = BATCH) -> Iterator[PublicTask]:
    from ledger.projections import all_projections
    from ledger.projections.runner import catch_up

    catch_up(config, all_projections())
    f = query.filter()
    for row in _batched(config, lambda c, d, after, n: q.tasks(c, d, f, limit=n, after=after),
                        lambda r: r.task_id, batch):
        yield _task(row)


class TaskDetail(msgspec.Struct, kw_only=True):
    task: PublicTask
    targets: list[PublicTarget]
    attempts: list[PublicAttempt]
    results: int  # disclosed results of the task
    item_names: dict[str, str]
    department_names: dict[str, str]


def _target(row: q.TargetRow, names: _Labels) -> PublicTarget:
    return PublicTarget(task_id=row.task_id, task_name=row.task_name, uscc=row.uscc, entity_name=row.entity_name,
                        drawn_at=row.drawn_seq, inspectors=names(row.inspectors), experts=len(row.experts))


def attempts(config: StoreConfig, task_id: str | None = None) -> list[PublicAttempt]:
    """Every commitment, draw, void and abandoned commitment (services/draws.py), reasons redacted."""
    from ledger.services.draws import draw_attempts

    def reason(a: Any) -> str:
        text = redact(a.reason or "")
        if a.kind == "abandoned":  # the service's reason names the command that computes the outcome
            return f"承诺后未在规定时间内抽取，其结果可由任何人计算（{text}）"
        return text

    return [PublicAttempt(task_id=a.task_id, kind=a.kind, kind_label=ATTEMPT_LABELS.get(a.kind, a.kind),
                          position=a.position, actor=a.actor, rounds=a.rounds, reason=reason(a))
            for a in draw_attempts(config, task_id)]


def task_detail(config: StoreConfig, task_id: str, options: PublicationOptions) -> TaskDetail | None:
    """A task with its drawn firms and teams (once drawn) and every draw attempt; None if unknown."""
    mode = _mode(config, options)
    with _read(config) as (conn, dialect):
        row = q.task(conn, dialect, task_id)
        if row is None:
            return None
        names = _Labels(conn, dialect, mode)
        targets = [_target(t, names) for t in q.targets(conn, dialect, q.DrawFilter(task_id=task_id))]
        disclosed = q.count_disclosed(conn, dialect, q.ResultFilter(task_id=task_id))
        item_names = {i.code: i.name for i in q.items(conn, dialect)}
        department_names = q.department_names(conn, dialect)
    return TaskDetail(task=_task(row), targets=targets, attempts=attempts(config, task_id), results=disclosed,
                      item_names=item_names, department_names=department_names)


def iter_draws(config: StoreConfig, query: DrawQuery, options: PublicationOptions,
               batch: int = BATCH) -> Iterator[PublicTarget]:
    """Every firm a standing draw selected, with its team, in (task, USCC) order."""
    from ledger.projections import all_projections
    from ledger.projections.runner import catch_up

    catch_up(config, all_projections())
    names, f = _stream_labels(config, options), query.filter()
    for row in _batched(config, lambda c, d, after, n: q.targets(c, d, f, limit=n, after=after),
                        lambda r: (r.task_id, r.uscc), batch):
        yield _target(row, names)


def items(config: StoreConfig) -> tuple[list[q.PublicItem], dict[str, str]]:
    """The inspection item list (抽查事项清单) and department names."""
    with _read(config) as (conn, dialect):
        return q.items(conn, dialect), q.department_names(conn, dialect)


def plans(config: StoreConfig) -> tuple[list[q.PlanRow], dict[str, str]]:
    """The annual plans (年度抽查计划) and department names."""
    with _read(config) as (conn, dialect):
        return q.plans(conn, dialect), q.department_names(conn, dialect)


# ---------------------------------------------------------------------------
# Statistics (counts only: nothing here names a firm or shows a single result).


class Share(msgspec.Struct, kw_only=True):
    label: str
    part: int
    whole: int

    @property
    def rate(self) -> float | None:
        return self.part / self.whole if self.whole else None


class Statistics(msgspec.Struct, kw_only=True):
    tasks_per_department: list[tuple[str, int]]
    firms_per_department: list[tuple[str, int]]
    joint: Share  # joint tasks among all tasks
    visits_saved: int  # visits a joint task spared: targets x (departments - 1)
    coverage: list[Share]  # per risk class: firms drawn in a standing draw / firms in the directory
    entry_on_time: Share  # results recorded by their due date / results recorded
    disclosure_on_time: Share  # disclosed by their due date / disclosed or past due
    disclosed: int


def statistics(config: StoreConfig, today: str | None = None) -> Statistics:
    from ledger.domain.commands import china_date
    from ledger.integrity.canonical import utc_now

    day = today or china_date(utc_now()).isoformat()
    with _read(config) as (conn, dialect):
        names = q.department_names(conn, dialect)
        tasks = q.task_departments(conn, dialect)
        firms = q.firms_per_department(conn, dialect)
        per_class = q.coverage(conn, dialect)
        timing = q.timeliness(conn, dialect, day)
    per_department: dict[str, int] = {}
    joint = visits = 0
    for departments, targets in tasks:
        for d in departments:
            per_department[d] = per_department.get(d, 0) + 1
        if len(departments) > 1:
            joint += 1
            visits += targets * (len(departments) - 1)
    by_count = sorted(per_department.items(), key=lambda kv: (-kv[1], kv[0]))
    entry = Share(label="按时录入", part=timing.recorded_on_time, whole=timing.recorded)
    disclosure = Share(label="按时公示", part=timing.disclosed_on_time, whole=timing.disclosure_due)
    return Statistics(
        tasks_per_department=[(names.get(d, d), n) for d, n in by_count],
        firms_per_department=[(names.get(d, d), n) for d, n in sorted(firms.items(), key=lambda kv: (-kv[1], kv[0]))],
        joint=Share(label="联合抽查", part=joint, whole=len(tasks)), visits_saved=visits,
        coverage=[Share(label=f"{k} 类", part=drawn, whole=total) for k, drawn, total in per_class],
        entry_on_time=entry, disclosure_on_time=disclosure,
        disclosed=timing.disclosed,
    )


def draw_inclusion(config: StoreConfig, task_id: str) -> dict[str, Any] | None:
    """An inclusion proof of the task's standing draw event (`drledger log prove` JSON), in the tree
    of the latest checkpoint when that covers it (its root is then the signed one), else the tree
    now; None if the task has no standing draw."""
    from ledger.services.log import inclusion_proof
    from ledger.store.checkpoints import latest_checkpoint
    from ledger.store.reader import open_reader

    with _read(config) as (conn, dialect):
        row = q.task(conn, dialect, task_id)
    if row is None or row.state != "drawn" or row.drawn_seq is None:
        return None
    with open_reader(config) as reader:
        stored = latest_checkpoint(reader)
    size = stored.size if stored is not None and stored.size >= row.drawn_seq else None
    proof = inclusion_proof(config, row.drawn_seq - 1, size)

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return {"leafIdx": proof.index, "treeSize": proof.size, "root": b64(proof.root),
            "leafHash": b64(proof.leaf_hash), "proof": [b64(p) for p in proof.proof]}


# ---------------------------------------------------------------------------
# The checkpoint with its witnesses.


class CheckpointView(msgspec.Struct, kw_only=True):
    note: str  # the signed note with the witnesses' cosignature lines
    origin: str
    size: int
    root: str  # base64
    created_at: str
    witnesses: list[tuple[str, bool]]  # (witness, its cosignature on this checkpoint verifies)
    cosigned: int
    threshold: int
    witnessed: bool


def checkpoint(config: StoreConfig) -> CheckpointView | None:
    """The latest checkpoint the ledger published, or None before the first."""
    from ledger.integrity.note import parse_checkpoint
    from ledger.services.checkpoints import served_checkpoint
    from ledger.services.witnesses import witness_status
    from ledger.store.checkpoints import latest_checkpoint
    from ledger.store.reader import open_reader

    note = served_checkpoint(config)
    if note is None:
        return None
    with open_reader(config) as reader:
        stored = latest_checkpoint(reader)
    body = parse_checkpoint(note[: note.find("\n\n") + 1])
    status = witness_status(config)
    return CheckpointView(note=note, origin=body.origin, size=body.size, root=base64.b64encode(body.root).decode(),
                          created_at=stored.created_at if stored else "",
                          witnesses=[(w.name, w.cosigned) for w in status.witnesses if w.active],
                          cosigned=status.cosignatures, threshold=status.threshold, witnessed=status.witnessed)
