"""The public site (一公开) over HTTP, on a real ledger (SQLite file and PostgreSQL), and in a real browser.

The ledger is built through the signed write path (tests/site_helpers.py):
two drawn tasks, two results disclosed by the department's reviewer and one
recorded, returned and corrected but never disclosed.
Every expectation comes from that ledger: the drawn teams, the firms' names,
the inspectors' records.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from ledger.api.app import create_app
from ledger.domain.results import mask_badge, mask_name
from ledger.services import publication as pub
from tests.conftest import module_store
from tests.site_helpers import (FORMULA_CATEGORIES, ID_NUMBER, PHONE, SECRET, SiteWorld, body_text, build_site_world,
                                serve)

PAGES = {
    "/public": "双随机、一公开",
    "/public/items": "抽查事项清单",
    "/public/plans": "年度抽查计划",
    "/public/tasks": "抽查任务",
    "/public/tasks/T1": "抽中企业及检查组",
    "/public/draws/T1/verify": "自行验证抽取",
    "/public/results": "抽查结果公示",
    "/public/checkpoint": "账本检查点",
    "/public/stats": "各部门抽查任务数",
    "/public/data": "开放数据",
    "/public/objections": "异议及处理",
    "/public/notice-check": "检查通知书核验",
}


class Site:
    def __init__(self, sw: SiteWorld, client: TestClient[Any]) -> None:
        self.sw, self.client = sw, client

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params or None)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp(f"site-{request.param}")
    with module_store(request.param, home / "home") as store:
        sw = build_site_world(store, home / "secrets")
        with TestClient(create_app(store)) as client:
            yield Site(sw, client)


def _every_public_output(site: Site) -> list[str]:
    """Every page and every open-data file, unfiltered and searched for each firm of T1."""
    paths = [*PAGES, "/public/tasks/T2", "/public/results.csv", "/public/results.ndjson", "/public/tasks.csv",
             "/public/tasks.ndjson", "/public/draws.csv", "/public/draws.ndjson", "/public/attempts.csv",
             "/public/attempts.ndjson", "/public/draws/T1/bundle.json"]
    out = [body_text(site.get(p)) for p in paths]
    for uscc in site.sw.world.teams:
        out += [body_text(site.get(p, q=uscc)) for p in ("/public/results", "/public/results.csv",
                                                         "/public/results.ndjson")]
    return out


# -- pages -------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(PAGES))
def test_pages_answer_in_chinese_with_landmarks(site: Site, path: str) -> None:
    answer = site.get(path)
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html")
    html = body_text(answer)
    assert '<html lang="zh-CN">' in html and PAGES[path] in html
    assert '<main id="main"' in html and '<nav aria-label="主导航">' in html and "<h1>" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing loaded from elsewhere (no CDN)


def test_the_css_is_served_from_public_static(site: Site) -> None:
    answer = site.get("/public/static/site.css")
    assert answer.status_code == 200 and "@media" in answer.text


def test_a_task_shows_its_drawn_firms_teams_and_every_attempt(site: Site) -> None:
    html = body_text(site.get("/public/tasks/T1"))
    teams = site.sw.world.teams
    for uscc, officers in teams.items():
        assert uscc in html and site.sw.name_of(uscc) in html
    # Default deployment: officers named as the ledger's signed setting says (its default: masked).
    for badge in {b for officers in teams.values() for b in officers}:
        assert f"张{badge[-1]}丰" not in html and f"{mask_name(f'张{badge[-1]}丰')}（{mask_badge('赣执' + badge)}）" in html
    assert site.sw.undrawn not in html
    attempts = pub.attempts(site.sw.config, "T1")
    assert [a.kind for a in attempts] == ["commit", "run"]
    for a in attempts:
        assert f'<tr class="attempt-{a.kind}"><th scope="row" data-label="账本位置">{a.position}</th>' in html
    assert "/public/draws/T1/verify" in html and "/public/draws/T1/bundle.json" in html


def test_the_verify_page_is_a_shell_for_the_browser_verifier(site: Site) -> None:
    html = body_text(site.get("/public/draws/T1/verify"))
    assert 'data-bundle-url="/public/draws/T1/bundle.json"' in html
    assert re.search(r'<script type="module" src="/public/static/verify/(verify|page)\.js"></script>', html)
    assert '<section id="drledger-verify"' in html  # the element the verifier's page.js starts from
    assert '<label for="bundle-file">' in html and 'id="bundle-file" type="file"' in html
    for element in ('<ol id="checks"', '<p id="verdict" role="status" data-verdict="none">', 'id="source-status"'):
        assert element in html
    assert "content-security-policy" not in site.get("/public/draws/T1/verify").headers


def test_the_public_bundle_names_only_drawn_firms(site: Site) -> None:
    answer = site.get("/public/draws/T1/bundle.json")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    bundle = answer.json()
    assert bundle["format"] == "drledger-draw-bundle/v4-public"
    assert site.sw.undrawn not in answer.text and "salt_key\"" not in answer.text.replace('"salt_key_digest"', "")


def test_unknown_task_is_a_404_page(site: Site) -> None:
    for path in ("/public/tasks/NO-SUCH-TASK", "/public/draws/NO-SUCH-TASK/verify"):
        answer = site.get(path)
        assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
        assert "没有找到" in answer.text and "NO-SUCH-TASK" in answer.text and '<html lang="zh-CN">' in answer.text
    answer = site.get("/public/draws/NO-SUCH-TASK/bundle.json")
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"


def test_search_finds_a_firm_by_uscc_and_by_name(site: Site) -> None:
    sw = site.sw
    for q in (sw.redacted, sw.redacted.lower(), sw.name_of(sw.redacted)):
        html = body_text(site.get("/public/results", q=q))
        assert sw.redacted in html and sw.formula not in html, q
    both = body_text(site.get("/public/results", task="T1"))
    assert sw.redacted in both and sw.formula in both
    for q in (sw.hidden, sw.name_of(sw.hidden), sw.undrawn, "没有这家企业"):
        html = body_text(site.get("/public/results", q=q))
        assert "没有符合条件的已公示结果" in html and "<tbody>" not in html, q


def test_search_pages_and_filters(site: Site) -> None:
    config = site.sw.config
    first = pub.search_results(config, pub.ResultQuery(task="T1"), pub.PublicationOptions(), page=1, per_page=1)
    second = pub.search_results(config, pub.ResultQuery(task="T1"), pub.PublicationOptions(), page=2, per_page=1)
    assert first.total == second.total == 2 and first.pages == 2
    assert {first.rows[0].uscc, second.rows[0].uscc} == {site.sw.redacted, site.sw.formula}
    streamed = list(pub.iter_results(config, pub.ResultQuery(), pub.PublicationOptions(), batch=1))
    assert [r.uscc for r in streamed] == sorted([site.sw.redacted, site.sw.formula])
    assert "<tbody>" not in body_text(site.get("/public/results", category="obstructed"))
    bad = site.get("/public/results", **{"from": "2026-13-45"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text and '<html lang="zh-CN">' in bad.text


def test_each_result_shows_its_department_and_every_category_label(site: Site) -> None:
    sw, config = site.sw, site.sw.config
    labels = dict(pub.category_choices(config))
    department = dict(pub.department_choices(config))["XY-SCJG"]
    html = body_text(site.get("/public/results", q=sw.formula))
    assert f'<td data-label="公示部门" class="department">{department}</td>' in html
    assert "".join(f"<li>{labels[c]}</li>" for c in FORMULA_CATEGORIES) in html
    shown = pub.search_results(config, pub.ResultQuery(q=sw.formula), pub.PublicationOptions()).rows
    assert [(r.department, r.categories, r.category_labels) for r in shown] == [
        ("XY-SCJG", list(FORMULA_CATEGORIES), [labels[c] for c in FORMULA_CATEGORIES])]
    # The filters: any selected category matches; the department filter takes the publishing department.
    html = body_text(site.get("/public/results", category=FORMULA_CATEGORIES[1]))
    assert sw.formula in html and sw.redacted not in html
    assert f'<option value="XY-SCJG">{department}</option>' in html
    html = body_text(site.get("/public/results", department="XY-SCJG"))
    assert sw.formula in html and sw.redacted in html
    assert "<tbody>" not in body_text(site.get("/public/results", department="XY-OTHER"))


def test_undisclosed_results_appear_nowhere_public(site: Site) -> None:
    for text in _every_public_output(site):
        assert SECRET not in text


def test_personal_numbers_are_redacted_everywhere(site: Site) -> None:
    outputs = _every_public_output(site)
    digits = re.sub(r"\D", "", PHONE)
    for text in outputs:
        assert ID_NUMBER not in text and PHONE not in text and digits not in text
    joined = "\n".join(outputs)
    for path in ("/public/results", "/public/results.csv", "/public/results.ndjson"):
        assert pub.ID_MARK in body_text(site.get(path)) and pub.MOBILE_MARK in body_text(site.get(path)), path
    assert pub.ID_MARK in joined


def test_a_deployment_may_name_officers_in_full(site: Site) -> None:
    """`full`: name, 执法证号 and department, as 行政执法公示制度 (三项制度) has enforcement bodies publish."""
    app = create_app(site.sw.config, extra_state={"publication": pub.PublicationOptions(inspectors="full")})
    with TestClient(app) as client:
        html = body_text(client.get("/public/tasks/T1"))
    for badge in {b for officers in site.sw.world.teams.values() for b in officers}:
        assert f"张{badge[-1]}丰（执法证号 赣执{badge}，新余市市场监督管理局）" in html


@pytest.mark.parametrize("mode", ["masked", "department", "ledger"])
def test_inspectors_are_shown_as_the_deployment_chose(site: Site, mode: str) -> None:
    app = create_app(site.sw.config, extra_state={"publication": pub.PublicationOptions(inspectors=mode)})
    badges = {b for officers in site.sw.world.teams.values() for b in officers}
    with TestClient(app) as client:
        outputs = [client.get(p).text for p in ("/public/tasks/T1", "/public/results", "/public/results.csv",
                                                "/public/draws.ndjson")]
    for text in outputs:
        for badge in badges:
            assert f"张{badge[-1]}丰" not in text and f"赣执{badge}" not in text
    if mode in ("masked", "ledger"):  # the ledger's signed setting is "masked" unless an admin changed it
        first = sorted(badges)[0]  # whichever officers the draw took
        assert f"{mask_name(f'张{first[-1]}丰')}（{mask_badge('赣执' + first)}）" in outputs[0]
    else:
        assert "新余市市场监督管理局" in outputs[0]


def test_an_unknown_deployment_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="public inspectors mode"):
        pub.options_from_env({"DRLEDGER_PUBLIC_INSPECTORS": "everything"})
    assert pub.options_from_env({}).inspectors == "ledger"  # the signed setting decides unless overridden


def test_statistics_count_the_ledger(site: Site) -> None:
    s = pub.statistics(site.sw.config)
    assert s.tasks_per_department == [("新余市市场监督管理局", 2)]
    drawn = set(site.sw.world.teams) | set(site.sw.world.teams2)
    assert s.firms_per_department == [("新余市市场监督管理局", len(drawn))]
    assert (s.joint.part, s.joint.whole, s.visits_saved) == (0, 2, 0)
    assert [(c.label, c.part, c.whole) for c in s.coverage] == [("B 类", len(drawn), 5), ("C 类", 0, 3)]
    assert s.entry_on_time.whole == 3 and s.disclosed == 2
    html = body_text(site.get("/public/stats"))
    assert html.count('role="img"') == 5 and "<title id=\"c-coverage-title\">" in html
    assert f"{len(drawn)}/5（{100 * len(drawn) / 5:.1f}%）" in html


def test_the_checkpoint_page_shows_the_signed_note(site: Site) -> None:
    view = pub.checkpoint(site.sw.config)
    assert view is not None
    html = body_text(site.get("/public/checkpoint"))
    assert f"<dd>{view.size}</dd>" in html and view.root in html and f"\u2014 {view.origin} " in html


# -- redaction (pure) --------------------------------------------------------------

REDACT_CASES = [
    ("身份证36050219900101123X。", f"身份证{pub.ID_MARK}。"),
    ("身份证 360502199001011234 号", f"身份证 {pub.ID_MARK} 号"),
    ("小写36050219900101123x", f"小写{pub.ID_MARK}"),
    ("分组 360502 19900101 123X", f"分组 {pub.ID_MARK}"),
    ("全角３６０５０２１９９００１０１１２３Ｘ", f"全角{pub.ID_MARK}"),
    ("电话13800138000", f"电话{pub.MOBILE_MARK}"),
    ("电话138-0013-8000，", f"电话{pub.MOBILE_MARK}，"),
    ("电话 +86 138 0013 8000", f"电话 {pub.MOBILE_MARK}"),
    ("电话8613800138000", f"电话{pub.MOBILE_MARK}"),
    ("两个：13800138000、13912345678", f"两个：{pub.MOBILE_MARK}、{pub.MOBILE_MARK}"),
]
KEEP_CASES = [
    "统一社会信用代码91110108551385082Q",  # a firm's code, not a person's
    "金额12345678901234567890元",  # a longer digit run is not an ID or a phone
    "订单号A13800138000",  # letters glued on: an identifier, not a phone number
    "座机0790-6221234",  # a landline is an office's, not in scope
    "日期20260925，数量1380",
    "",
]


@pytest.mark.parametrize(("text", "expected"), REDACT_CASES)
def test_redact_replaces_id_and_mobile_numbers(text: str, expected: str) -> None:
    assert pub.redact(text) == expected


@pytest.mark.parametrize("text", KEEP_CASES)
def test_redact_keeps_other_numbers(text: str) -> None:
    assert pub.redact(text) == text


def test_a_string_both_a_valid_credit_code_and_an_id_shape_is_redacted_only_with_a_valid_id_check() -> None:
    from ledger.domain.uscc import check_character, validate_uscc

    # 913605 (a region) + 19900101 (a birth date) + 3 digits + check: both shapes at once.
    codes = [body + check_character(body) for body in (f"91360519900101{n}" for n in range(100, 200))]
    shaped = [c for c in codes if c[-1] in "0123456789X"]
    assert shaped and all(validate_uscc(c) is None for c in shaped)
    kept = [c for c in shaped if not pub.id_check_ok(c)]
    ambiguous = [c for c in shaped if pub.id_check_ok(c)]
    assert kept and ambiguous  # both kinds occur: the test can fail either way
    assert all(pub.redact(c) == c for c in kept)  # a firm's code with a wrong ID check: a firm's
    assert all(pub.redact(c) == pub.ID_MARK for c in ambiguous)  # a valid ID check: personal data wins


# -- a real browser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SiteWorld]]:
    """The application under uvicorn on a free port, over a SQLite ledger."""
    home = tmp_path_factory.mktemp("site-browser")
    with module_store("sqlite", home / "home") as store:
        sw = build_site_world(store, home / "secrets")
        with serve(create_app(store)) as base:
            yield base, sw


def test_browser_pages_render_chinese_and_the_search_finds_a_firm(served: tuple[str, SiteWorld], browser: Any,
                                                                   tmp_path: Path) -> None:
    base, sw = served
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    page.goto(f"{base}/public")
    assert page.locator("h1").inner_text() == "首页"
    assert page.get_by_role("navigation", name="主导航").get_by_role("link", name="抽查结果公示").is_visible()
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
    name = sw.name_of(sw.redacted)
    page.goto(f"{base}/public/results")
    page.get_by_label("统一社会信用代码或企业名称").fill(name)
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(re.compile(r"/public/results\?q="))
    rows = page.locator("table tbody tr")
    assert rows.count() == 1 and sw.redacted in rows.first.inner_text() and name in rows.first.inner_text()
    assert ID_NUMBER not in page.content()
    page.screenshot(path=str(tmp_path / "results.png"), full_page=True)
    page.goto(f"{base}/public/tasks/T1")
    for uscc in sw.world.teams:
        assert page.get_by_text(uscc, exact=True).is_visible()
    page.screenshot(path=str(tmp_path / "task.png"), full_page=True)
    page.goto(f"{base}/public/stats")
    assert page.locator("svg.chart").count() == 5
    page.screenshot(path=str(tmp_path / "stats.png"), full_page=True)
    # The page is no wider than the phone: nothing forces sideways scrolling of the whole page.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    assert (tmp_path / "home.png").stat().st_size > 0
    page.close()


def test_pages_forbid_anything_from_elsewhere(site: Site) -> None:
    for path in ("/public", "/public/results", "/public/stats"):
        policy = site.get(path).headers["content-security-policy"]
        assert "default-src 'none'" in policy and "style-src 'self'" in policy
    assert site.get("/public/results.csv").headers.get("content-security-policy") is None  # a file, not a page


def test_a_voided_draw_shows_its_reason_redacted_and_no_longer_lists_its_firms(store: Any, tmp_path: Path) -> None:
    from ledger.services import draws

    sw = build_site_world(store, tmp_path / "secrets")
    reason = "企业负责人来电（13912345678）反映抽取时名录未更新，重新抽取"
    with sw.world.ledger.service() as ledger:
        draws.void_draw(ledger, sw.world.key("drawer"), "drawer", "T2", reason)
    with TestClient(create_app(store)) as client:
        html = client.get("/public/tasks/T2").text
        draws_file = client.get("/public/draws.ndjson").text
        attempts_file = client.get("/public/attempts.csv", params={"task": "T2"}).text
    assert '<tr class="attempt-void">' in html and "作废" in html and "已作废" in html
    assert "13912345678" not in html + draws_file + attempts_file
    assert f"企业负责人来电（{pub.MOBILE_MARK}）反映抽取时名录未更新" in html
    assert pub.MOBILE_MARK in attempts_file and ",void," in attempts_file
    for uscc in sw.world.teams2:
        assert f'"task_id":"T2","task_name":"T2","uscc":"{uscc}"' not in draws_file
    assert "<caption>抽中企业" not in html and "本任务的抽取已作废" in html


def test_the_item_list_plans_and_task_list_show_the_ledgers_records(site: Site) -> None:
    items = body_text(site.get("/public/items"))
    for code in ("XY-SCJG-001", "XY-SCJG-002"):
        assert f'<th scope="row" data-label="编号">{code}</th>' in items
    assert "《价格法》" in items and "一般检查事项" in items and "新余市市场监督管理局" in items
    plans = body_text(site.get("/public/plans"))
    assert "P-RES" in plans and "结果测试" in plans and "2026" in plans
    only_t2 = body_text(site.get("/public/tasks", q="T2"))
    assert 'href="/public/tasks/T2"' in only_t2 and 'href="/public/tasks/T1"' not in only_t2
    by_department = body_text(site.get("/public/tasks", department="XY-SCJG", year="2026"))
    assert 'href="/public/tasks/T1"' in by_department and 'href="/public/tasks/T2"' in by_department
    assert 'href="/public/tasks/T1"' not in body_text(site.get("/public/tasks", department="OTHER"))
    home = body_text(site.get("/public"))
    view = pub.checkpoint(site.sw.config)
    assert view is not None and f"共 {view.size} 条记录" in home and 'href="/public/tasks/T1"' in home


def test_the_checkpoint_page_shows_the_witnesses_cosignatures(tmp_path: Path) -> None:
    from ledger.services.checkpoints import publish_checkpoint
    from ledger.services.witnesses import add_witness, push_all
    from tests.ledger_helpers import ledger_with_entities
    from tests.test_witness import log_key
    from tests.witness_server import SpecWitness

    with module_store("sqlite", tmp_path / "home") as store:
        ledger = ledger_with_entities(store, 3)
        with SpecWitness() as witness:
            with ledger.service() as service:
                add_witness(service, ledger.admin, "admin", name="w1", vkey=witness.vkey, url=witness.url)
            witness.trust(log_key(store))
            publish_checkpoint(store)
            with TestClient(create_app(store)) as client:
                before = client.get("/public/checkpoint").text
                [pushed] = push_all(store)
                assert pushed.ok, pushed
                after = client.get("/public/checkpoint").text
    assert "<code>w1</code>：尚未联署此检查点" in before and "未达见证门槛" in before
    assert "<code>w1</code>：已联署此检查点" in after and "1 个有效联署，门槛 1：已见证" in after
    assert f"\u2014 {witness.name} " in after and f"\u2014 {witness.name} " not in before


def test_the_draws_inclusion_proof_leads_to_the_signed_checkpoint(site: Site) -> None:
    import base64

    from ledger.integrity.merkle import verify_inclusion

    view = pub.checkpoint(site.sw.config)
    assert view is not None
    answer = site.get("/public/draws/T1/inclusion.json")
    assert answer.status_code == 200
    proof = answer.json()
    task = pub.task_detail(site.sw.config, "T1", pub.PublicationOptions())
    assert task is not None and proof["leafIdx"] == task.task.drawn_at - 1
    assert (proof["treeSize"], proof["root"]) == (view.size, view.root)  # the root the ledger signed
    raw = {k: base64.b64decode(proof[k]) for k in ("root", "leafHash")}
    verify_inclusion(raw["leafHash"], proof["leafIdx"], proof["treeSize"],
                     [base64.b64decode(p) for p in proof["proof"]], raw["root"])
    html = body_text(site.get("/public/draws/T1/verify"))
    assert 'data-inclusion-url="/public/draws/T1/inclusion.json"' in html
    assert site.get("/public/draws/NO-SUCH-TASK/inclusion.json").status_code == 404


def test_the_standalone_verifier_is_served_with_its_sha256_once_built(site: Site) -> None:
    import hashlib

    answer = site.get("/public/verify.html")
    try:
        import ledger.api.site.build_verifier  # noqa: F401  (the verifier's build, a separate part)
    except ImportError:
        assert answer.status_code == 404 and "verify.html" in answer.text
        assert "离线验证文件" not in body_text(site.get("/public/draws/T1/verify"))
        return
    assert answer.status_code == 200
    digest = hashlib.sha256(answer.content).hexdigest()
    assert f'<code class="hash">{digest}</code>' in body_text(site.get("/public/draws/T1/verify"))
