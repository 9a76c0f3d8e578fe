"""The public pages of firms' participation: 异议及处理 and 检查通知书核验, on a real ledger over HTTP."""

from __future__ import annotations

from litestar.testing import TestClient

from ledger.api.app import create_app
from ledger.domain.objections import ResolveBody
from ledger.services import firms
from tests.test_firms import act, register_firm, world  # noqa: F401 - fixture
from tests.test_results import World, _body, disclose, record


def test_an_objection_and_its_handling_are_public_with_phone_numbers_redacted(world: World) -> None:
    target = world.target
    register_firm(world, "rep-1", target)
    record(world, world.officer(), _body(world))
    disclose(world, target)
    act(world, firms.raise_objection, "rep-1", "T1", "检查当日已整改，联系电话 13812345678")
    with TestClient(create_app(world.config)) as client:
        page = client.get("/public/objections").text
        assert target in page and "处理中" in page and "13812345678" not in page
        act(world, firms.resolve_objection, "reviewer", ResolveBody(
            task_id="T1", uscc=target, outcome="rejected", reason="现场记录显示问题仍存在"))
        page = client.get("/public/objections", params={"q": target.lower()}).text
        assert "异议不成立" in page and "现场记录显示问题仍存在" in page and "rep-1" not in page
        other = client.get("/public/objections", params={"q": "91360502000000000X"}).text
        assert "未找到该企业的异议" in other and target not in other


def test_a_notice_code_names_only_its_task_firm_and_team(world: World) -> None:
    with world.ledger.service() as service:
        notice = firms.notice_for(service, "T1", world.target)
    assert notice is not None
    with TestClient(create_app(world.config)) as client:
        page = client.get("/public/notice-check", params={"code": notice.code.lower().replace("-", " ")}).text
        assert 'data-notice="valid"' in page and world.target in page
        assert all(badge in page for badge in notice.inspectors)
        others = [t for t in world.teams if t != world.target]
        assert others and not any(t in page for t in others)  # only that pair
        wrong = notice.code[:-1] + ("A" if notice.code[-1] != "A" else "B")
        page = client.get("/public/notice-check", params={"code": wrong}).text
        assert 'data-notice="invalid"' in page and world.target not in page
        blank = client.get("/public/notice-check").text
        assert "data-notice" not in blank and "核验码" in blank
