"""The public site under /public: server-rendered pages (Jinja2), SVG charts, open data.

No login, no script needed (the draw verifier page loads the verifier's own
modules), no CDN: the CSS is served from /public/static. Every handler reads
through ledger.services.publication, never the read models directly, so the
disclosure and redaction rules hold on every page and in every file.

Deployment option: DRLEDGER_PUBLIC_INSPECTORS (full | masked | department |
ledger), or `extra_state={"publication": PublicationOptions(...)}` given to
create_app; docs/public-site.md says what each shows.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream
from litestar.static_files import create_static_files_router
from markupsafe import Markup

from ledger.api.errors import ApiError
from ledger.api.site import charts, opendata
from ledger.services import publication as pub

HERE: Final = Path(__file__).resolve().parent
STATIC: Final = HERE / "static"
PER_PAGE: Final = 20
HTML: Final = "text/html"

_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)
_env.globals["NAV"] = (
    ("/public", "首页"), ("/public/items", "抽查事项清单"), ("/public/plans", "年度抽查计划"),
    ("/public/tasks", "抽查任务"), ("/public/results", "抽查结果公示"), ("/public/stats", "统计"),
    ("/public/checkpoint", "账本检查点"), ("/public/data", "开放数据"),
)


def _query(base: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in ("", None)}
    return base + ("?" + urlencode(kept) if kept else "")


_env.globals["link"] = _query


# Pages load nothing but this site's own CSS (and, on the verifier's page, its own modules).
STRICT: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self';"
                               " base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def render(template: str, *, status: int = 200, headers: dict[str, str] | None = None,
           **context: Any) -> Response[str]:
    return Response(_env.get_template(template).render(**context), status_code=status, media_type=HTML,
                    headers=STRICT if headers is None else headers)


def not_found(what: str) -> Response[str]:
    return render("not_found.html", status=404, title="未找到", what=what)


# Read when the application is created: an unknown mode stops the start, never a page.
DEPLOYMENT: Final = pub.options_from_env()


def _options(request: Request[Any, Any, Any]) -> pub.PublicationOptions:
    found = request.app.state.get("publication")
    return found if isinstance(found, pub.PublicationOptions) else DEPLOYMENT


def _config(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.config


def _page_number(value: str) -> int:
    return int(value) if value.isdigit() and 0 < int(value) < 1_000_000 else 1


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(name: str, value: str) -> str:
    """'' or a valid YYYY-MM-DD; anything else is refused naming the parameter."""
    value = value.strip()
    if not value:
        return ""
    try:
        if not _DAY.fullmatch(value):
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "invalid", f"{name}: expected a date YYYY-MM-DD, got {value[:40]!r}",
                       message=f"日期格式应为 YYYY-MM-DD（参数 {name}）") from None
    return value


def _limit(name: str, value: str, most: int = 200) -> str:
    if len(value) > most:
        raise ApiError(400, "invalid", f"{name}: at most {most} characters", message=f"参数 {name} 过长")
    return value


def _result_query(q: str, task: str, category: str, disclosed_from: str, disclosed_to: str,
                  department: str = "") -> pub.ResultQuery:
    return pub.ResultQuery(q=_limit("q", q), task=_limit("task", task), category=_limit("category", category),
                           disclosed_from=_day("from", disclosed_from), disclosed_to=_day("to", disclosed_to),
                           department=_limit("department", department))


# ---------------------------------------------------------------------------
# Pages.


@get("/public", sync_to_thread=True, include_in_schema=False)
def home(request: Request[Any, Any, Any]) -> Response[str]:
    config = _config(request)
    tasks = pub.list_tasks(config, pub.TaskQuery(), per_page=5)
    results = pub.search_results(config, pub.ResultQuery(), _options(request), per_page=5)
    return render("home.html", title="首页", tasks=tasks, results=results, checkpoint=pub.checkpoint(config))


@get("/public/items", sync_to_thread=True, include_in_schema=False)
def items_page(request: Request[Any, Any, Any]) -> Response[str]:
    rows, departments = pub.items(_config(request))
    return render("items.html", title="抽查事项清单", items=rows, departments=departments)


@get("/public/plans", sync_to_thread=True, include_in_schema=False)
def plans_page(request: Request[Any, Any, Any]) -> Response[str]:
    rows, departments = pub.plans(_config(request))
    return render("plans.html", title="年度抽查计划", plans=rows, departments=departments)


@get("/public/tasks", sync_to_thread=True, include_in_schema=False)
def tasks_page(request: Request[Any, Any, Any], q: FromQuery[str] = "", department: FromQuery[str] = "",
               year: FromQuery[str] = "", page: FromQuery[str] = "1") -> Response[str]:
    query = pub.TaskQuery(q=_limit("q", q), department=_limit("department", department), year=_limit("year", year, 4))
    found = pub.list_tasks(_config(request), query, _page_number(page), PER_PAGE)
    _, departments = pub.items(_config(request))
    return render("tasks.html", title="抽查任务", found=found, query=query, departments=departments)


@get("/public/tasks/{task_id:str}", sync_to_thread=True, include_in_schema=False)
def task_page(request: Request[Any, Any, Any], task_id: FromPath[str]) -> Response[str]:
    detail = pub.task_detail(_config(request), task_id, _options(request))
    if detail is None:
        return not_found(f"抽查任务 {task_id}")
    return render("task.html", title=f"抽查任务 {detail.task.name}", d=detail)


@get("/public/draws/{task_id:str}/verify", sync_to_thread=True, include_in_schema=False)
def verify_page(request: Request[Any, Any, Any], task_id: FromPath[str]) -> Response[str]:
    detail = pub.task_detail(_config(request), task_id, _options(request))
    if detail is None:
        return not_found(f"抽查任务 {task_id}")
    entry = next((f"/public/static/verify/{name}" for name in ("verify.js", "page.js")
                  if (STATIC / "verify" / name).is_file()), "/public/static/verify/verify.js")
    # The verifier's modules decide what they need (workers, WebAssembly, an import map): the page
    # keeps only the headers that cannot get in their way.
    return render("verify.html", title=f"自行验证抽取：{detail.task.name}", d=detail, entry=entry,
                  bundle_url=f"/public/draws/{task_id}/bundle.json",
                  inclusion_url=f"/public/draws/{task_id}/inclusion.json" if detail.task.state == "drawn" else "",
                  standalone=(found[1] if (found := standalone_verifier()) else ""),
                  headers={k: v for k, v in STRICT.items() if k != "Content-Security-Policy"})


@get("/public/draws/{task_id:str}/bundle.json", sync_to_thread=True, include_in_schema=False)
def bundle(request: Request[Any, Any, Any], task_id: FromPath[str]) -> Response[bytes]:
    """The public draw bundle (v4-public): no firm that was not drawn is named."""
    from ledger.services.bundles import BundleError, export_bundle

    try:
        data = export_bundle(_config(request), task_id, public=True)
    except BundleError as error:
        raise ApiError(404, "not_found", str(error), message="该任务没有可验证的抽取") from None
    return Response(data, media_type="application/json",
                    headers={"Content-Disposition": f'inline; filename="draw-{task_id}.json"'})


def standalone_verifier() -> tuple[bytes, str] | None:
    """(verify.html, its SHA-256) from the verifier's build (build_verifier.py), or None where
    this installation has no verifier build."""
    try:
        from ledger.api.site.build_verifier import served_standalone
    except ImportError:
        return None
    return served_standalone()  # type: ignore[no-any-return]


@get("/public/verify.html", sync_to_thread=True, include_in_schema=False)
def verify_file() -> Response[Any]:
    """The standalone verifier, one file an auditor keeps and opens from disk; its SHA-256 is on the verify pages."""
    found = standalone_verifier()
    if found is None:
        return not_found("独立验证文件 verify.html")
    html, sha256 = found
    return Response(html, media_type=HTML, headers={"Content-Disposition": 'attachment; filename="verify.html"',
                                                    "X-Content-Type-Options": "nosniff", "Digest": f"sha-256={sha256}"})


@get("/public/draws/{task_id:str}/inclusion.json", sync_to_thread=True, include_in_schema=False)
def inclusion(request: Request[Any, Any, Any], task_id: FromPath[str]) -> dict[str, Any]:
    """Inclusion proof of the standing draw's event in the log (the latest checkpoint's tree)."""
    found = pub.draw_inclusion(_config(request), task_id)
    if found is None:
        raise ApiError(404, "not_found", f"task {task_id} has no standing draw", message="该任务没有现行有效的抽取")
    return found


@get("/public/results", sync_to_thread=True, include_in_schema=False)
def results_page(request: Request[Any, Any, Any], q: FromQuery[str] = "", task: FromQuery[str] = "",
                 category: FromQuery[str] = "", disclosed_from: Annotated[str, QueryParameter(name="from")] = "",
                 disclosed_to: Annotated[str, QueryParameter(name="to")] = "", department: FromQuery[str] = "",
                 page: FromQuery[str] = "1") -> Response[str]:
    config = _config(request)
    error = ""
    try:
        query = _result_query(q, task, category, disclosed_from, disclosed_to, department)
    except ApiError as problem:
        error, query = problem.message, pub.ResultQuery(q=q[:200], task=task[:200], category=category[:200],
                                                        department=department[:200])
    found = pub.search_results(config, query, _options(request), _page_number(page), PER_PAGE)
    params = {"q": query.q, "task": query.task, "category": query.category, "from": query.disclosed_from,
              "to": query.disclosed_to, "department": query.department}
    return render("results.html", status=400 if error else 200, title="抽查结果公示", found=found, query=query,
                  params=params, error=error, categories=pub.category_choices(config),
                  departments=pub.department_choices(config))


@get("/public/checkpoint", sync_to_thread=True, include_in_schema=False)
def checkpoint_page(request: Request[Any, Any, Any]) -> Response[str]:
    return render("checkpoint.html", title="账本检查点", cp=pub.checkpoint(_config(request)))


@get("/public/stats", sync_to_thread=True, include_in_schema=False)
def stats_page(request: Request[Any, Any, Any]) -> Response[str]:
    s = pub.statistics(_config(request))
    svg = {
        "tasks": charts.bar_chart("各部门抽查任务数", [(d, n) for d, n in s.tasks_per_department], chart_id="c-tasks"),
        "firms": charts.bar_chart("各部门抽取企业数", [(d, n) for d, n in s.firms_per_department], chart_id="c-firms"),
        "joint": charts.rate_chart("联合抽查任务占比", [(s.joint.label, s.joint.part, s.joint.whole)], chart_id="c-joint"),
        "coverage": charts.rate_chart("各风险类别抽查覆盖率", [(c.label, c.part, c.whole) for c in s.coverage],
                                      chart_id="c-coverage"),
        "timely": charts.rate_chart("按时录入率与按时公示率", [
            (s.entry_on_time.label, s.entry_on_time.part, s.entry_on_time.whole),
            (s.disclosure_on_time.label, s.disclosure_on_time.part, s.disclosure_on_time.whole)], chart_id="c-timely"),
    }
    return render("stats.html", title="统计", s=s, svg={k: Markup(v) for k, v in svg.items()}, percent=charts.percent)


@get("/public/data", sync_to_thread=False, include_in_schema=False)
def data_page() -> Response[str]:
    sets = [("results", "抽查结果（仅已公示）", opendata.RESULT_COLUMNS), ("tasks", "抽查任务", opendata.TASK_COLUMNS),
            ("draws", "抽中企业及检查组", opendata.DRAW_COLUMNS), ("attempts", "每一次抽取尝试", opendata.ATTEMPT_COLUMNS)]
    return render("data.html", title="开放数据", sets=[(k, label, [c for c, _ in cols]) for k, label, cols in sets])


OUTCOMES: Final = {"upheld": "异议成立（结果已更正或撤销）", "rejected": "异议不成立（维持原结果）"}


@get("/public/objections", sync_to_thread=True, include_in_schema=False)
def objections_page(request: Request[Any, Any, Any], q: FromQuery[str] = "") -> Response[str]:
    """异议及处理: every objection a firm raised against a published result, and its handling."""
    from ledger.services.firms import public_objections

    wanted = q.strip().upper()
    found = public_objections(_config(request), uscc=wanted or None)
    for view in found:  # free text: masked by the firm service, redacted by the site's one rule too
        view.reason = pub.redact(view.reason)
        view.resolution = pub.redact(view.resolution) if view.resolution else view.resolution
    return render("objections.html", title="异议及处理", objections=found, q=q, outcomes=OUTCOMES)


@get("/public/notice-check", include_in_schema=False)
async def notice_check_page(request: Request[Any, Any, Any], code: FromQuery[str] = "") -> Response[str]:
    """检查通知书核验: the code on a notice names the task, the firm and the team drawn for it
    (nothing else), without logging in. A substitution changes the code, so an old notice fails."""
    from ledger.api.app import on_writer
    from ledger.services.firms import check_notice

    code = code.strip()[:40]
    view = await on_writer(request.app, lambda service: check_notice(service, code)) if code else None
    return render("notice_check.html", title="检查通知书核验", code=code, view=view, checked=bool(code))


# ---------------------------------------------------------------------------
# Open data (streamed).


def _stream(kind: str, fmt: str, cols: list[opendata.Column], rows: Any) -> Stream:
    if fmt == "csv":
        return Stream(opendata.csv_stream(cols, rows), media_type="text/csv",
                      headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'})
    return Stream(opendata.ndjson_stream(cols, rows), media_type="application/x-ndjson",
                  headers={"Content-Disposition": f'attachment; filename="{kind}.ndjson"'})


def _format(request: Request[Any, Any, Any]) -> str:
    return "csv" if request.url.path.endswith(".csv") else "ndjson"


@get(["/public/results.csv", "/public/results.ndjson"], sync_to_thread=False, include_in_schema=False)
def results_data(request: Request[Any, Any, Any], q: FromQuery[str] = "", task: FromQuery[str] = "",
                 category: FromQuery[str] = "", disclosed_from: Annotated[str, QueryParameter(name="from")] = "",
                 disclosed_to: Annotated[str, QueryParameter(name="to")] = "",
                 department: FromQuery[str] = "") -> Stream:
    query = _result_query(q, task, category, disclosed_from, disclosed_to, department)
    return _stream("results", _format(request), opendata.RESULT_COLUMNS,
                   pub.iter_results(_config(request), query, _options(request)))


@get(["/public/tasks.csv", "/public/tasks.ndjson"], sync_to_thread=False, include_in_schema=False)
def tasks_data(request: Request[Any, Any, Any], q: FromQuery[str] = "", department: FromQuery[str] = "",
               year: FromQuery[str] = "") -> Stream:
    query = pub.TaskQuery(q=_limit("q", q), department=_limit("department", department), year=_limit("year", year, 4))
    return _stream("tasks", _format(request), opendata.TASK_COLUMNS, pub.iter_tasks(_config(request), query))


@get(["/public/draws.csv", "/public/draws.ndjson"], sync_to_thread=False, include_in_schema=False)
def draws_data(request: Request[Any, Any, Any], q: FromQuery[str] = "", task: FromQuery[str] = "") -> Stream:
    query = pub.DrawQuery(q=_limit("q", q), task=_limit("task", task))
    return _stream("draws", _format(request), opendata.DRAW_COLUMNS,
                   pub.iter_draws(_config(request), query, _options(request)))


@get(["/public/attempts.csv", "/public/attempts.ndjson"], sync_to_thread=False, include_in_schema=False)
def attempts_data(request: Request[Any, Any, Any], task: FromQuery[str] = "") -> Stream:
    fmt = _format(request)
    config, task_id = _config(request), _limit("task", task) or None

    def rows() -> Any:
        yield from pub.attempts(config, task_id)

    return _stream("attempts", fmt, opendata.ATTEMPT_COLUMNS, rows())


ROUTES: list[Any] = [
    home, items_page, plans_page, tasks_page, task_page, verify_page, verify_file, bundle, inclusion, results_page,
    checkpoint_page, stats_page, data_page, objections_page, notice_check_page, results_data, tasks_data, draws_data, attempts_data,
    create_static_files_router(path="/public/static", directories=[STATIC], include_in_schema=False),
]
