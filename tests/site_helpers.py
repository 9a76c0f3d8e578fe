"""A real ledger for the public-site tests: two drawn tasks (tests/test_results.py `make_world`),
three results of T1 recorded by their own inspectors, two of them approved and published (公示)
by the department's reviewer (`REVIEWER`, never the inspector who recorded it).

- `redacted`: disclosed; its findings carry an ID-card number and a mobile number;
- `formula`: disclosed; two categories (`FORMULA_CATEGORIES`); its findings begin with "=" (a spreadsheet formula);
- `hidden`: recorded, returned by the reviewer, corrected, never disclosed; its findings carry `SECRET`,
  which must appear nowhere public.

Served by the real application (`create_app`) on the store given (SQLite file or PostgreSQL schema:
tests/conftest.py `module_store`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from ledger.services import results
from ledger.services.checkpoints import publish_checkpoint
from ledger.store.config import StoreConfig
from tests.test_results import C_FIRMS, REVIEWER, World, make_world

ID_NUMBER = "36050219900307002X"
PHONE = "138-0013-8000"
SECRET = "未公示的检查情况甲乙丙"
FORMULA = '=HYPERLINK("http://evil.example","点击")'
FORMULA_CATEGORIES = ("other_violation", "corrected")  # no credit rule: the directory keeps its classes
DEPARTMENT = "XY-SCJG"  # the one department of make_world's tasks


class SiteWorld(msgspec.Struct, kw_only=True):
    world: World
    redacted: str  # USCC of the disclosed result whose findings hold personal data
    formula: str  # USCC of the disclosed result whose findings begin with "="
    hidden: str  # USCC of the undisclosed result
    undrawn: str  # a firm T1's draw did not select (T2's may have)
    never_drawn: str  # a firm no draw selected (class C: no quota)

    @property
    def config(self) -> StoreConfig:
        return self.world.config

    def name_of(self, uscc: str) -> str:
        from tests.test_results import B_FIRMS

        return next(f.name for f in B_FIRMS if f.uscc == uscc)

    def officer(self, uscc: str) -> str:
        return self.world.teams[uscc][0]


def _record(world: World, uscc: str, findings: str, disclose: bool,
            categories: tuple[str, ...] = ("no_issue",)) -> None:
    badge = world.teams[uscc][0]
    body = results.RecordBody(task_id="T1", uscc=uscc, categories=categories, findings=findings,
                              methods=("onsite",), items=("XY-SCJG-001",), inspected_on=date(2026, 9, 25))
    with world.ledger.service() as ledger:
        results.record(ledger, results.sign_record(world.key(badge), badge, body))
        if disclose:  # the department's reviewer approves and publishes (审核后公示)
            results.disclose(ledger, results.sign_disclose(world.key(REVIEWER), REVIEWER,
                                                           results.DiscloseBody(task_id="T1", uscc=uscc)))
        else:  # returned for correction and corrected: back in review, still not public
            results.send_back(ledger, results.sign_return(world.key(REVIEWER), REVIEWER, results.ReturnBody(
                task_id="T1", uscc=uscc, reason="请补充检查情况")))
            correction = results.CorrectBody(**{**msgspec.structs.asdict(body), "findings": findings + "（补充）",
                                                "reason": "按审核意见补充"})
            results.correct(ledger, results.sign_correct(world.key(badge), badge, correction))


def build_site_world(store: StoreConfig, secrets: Path) -> SiteWorld:
    world = make_world(store, secrets)
    redacted, formula, hidden = sorted(world.teams)[:3]
    _record(world, redacted, f"现场负责人李某，身份证号{ID_NUMBER}，联系电话{PHONE}，未发现问题。", True)
    _record(world, formula, FORMULA, True, FORMULA_CATEGORIES)
    _record(world, hidden, SECRET, False)
    publish_checkpoint(store)
    return SiteWorld(world=world, redacted=redacted, formula=formula, hidden=hidden, undrawn=world.undrawn,
                     never_drawn=C_FIRMS[0].uscc)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """`app` under uvicorn on a free local port, in a thread; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


def body_text(answer: Any) -> str:
    return answer.content.decode("utf-8")
