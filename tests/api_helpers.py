"""Helpers for API tests: a ledger with actors per role and department, and a client.

`api_ledger` builds a real ledger on the test's store with two departments
(XY-SCJG and XY-WSJK, one item each) and, for every role, an actor of
XY-SCJG named `<role>-scjg`, each holding its own key (TestLedger.keys).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.api.app import create_app
from ledger.api.limits import RateLimiter
from ledger.demo.city import generate_city
from ledger.domain.actors import ROLES
from ledger.integrity.commands import SignedCommand
from ledger.services.remote import submission_bytes
from ledger.store.config import StoreConfig
from tests.ledger_helpers import TestLedger, new_ledger

OWN, OTHER = "XY-SCJG", "XY-WSJK"


def city_rows(kind: str, departments: tuple[str, ...] = (OWN, OTHER)) -> list[Any]:
    rows = list(generate_city(5, small=True).rows(kind))
    if kind == "departments":
        return [r for r in rows if r.code in departments]
    if kind == "entities":  # supervised by the departments kept, and by no other
        kept = [msgspec.structs.replace(r, departments=tuple(d for d in r.departments if d in departments))
                for r in rows]
        return [r for r in kept if r.departments]
    return [r for r in rows if r.department in departments]


def api_ledger(store: StoreConfig) -> TestLedger:
    ledger = new_ledger(store)
    ledger.import_rows("admin", "departments", city_rows("departments"))
    ledger.import_rows("admin", "items", city_rows("items"))
    for role in ROLES:
        ledger.register(f"{role}-scjg", role, department=OWN)
    return ledger


def plan_body(department: str) -> dict[str, Any]:
    """Plan P-<department> of 2026 over the department's first item."""
    item = next(r.code for r in city_rows("items") if r.department == department)
    return {"plan_id": f"P-{department}", "title": "年度计划", "department": department, "year": 2026,
            "items": [item], "joint_departments": []}


def task_body(plan_id: str, department: str) -> dict[str, Any]:
    """Task T-<department> under `plan_id`: one class-B firm."""
    item = next(r.code for r in city_rows("items") if r.department == department)
    return {"task_id": f"T-{department}", "plan_id": plan_id, "name": "抽查", "window_start": "2026-03-01",
            "window_end": "2026-05-31", "items": [item], "departments": [department],
            "quotas": {"B": {"count": 1}}}


def test_app(store: StoreConfig, **kwargs: Any) -> Any:
    """The real application, without rate limits (a test sends bursts)."""
    return create_app(store, extra_state={"rate_limiter": RateLimiter(rate=0, burst=0)}, **kwargs)


test_app.__test__ = False  # type: ignore[attr-defined]


def post(client: Any, signed: SignedCommand, rows: list[Any] | None = None) -> Any:
    return client.post("/api/v1/commands", content=submission_bytes(signed, rows),
                       headers={"content-type": "application/json"})


def body_of(answer: Any) -> dict[str, Any]:
    return msgspec.json.decode(answer.content)  # type: ignore[no-any-return]


class Server:
    """A real `drledger serve` process on a free loopback port (stop() ends it with SIGTERM)."""

    def __init__(self, home: Any, store_url: str | None = None, workers: int = 1,
                 env: dict[str, str] | None = None) -> None:
        import os
        import socket
        import subprocess

        from tests.cli_helpers import DRLEDGER, keys_dir

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("DRLEDGER_")}
        full_env.update({"DRLEDGER_HOME": str(home), "DRLEDGER_KEYS": str(keys_dir(home)), "DRLEDGER_RATE": "0"})
        if store_url:
            full_env["DRLEDGER_STORE"] = store_url
        full_env.update(env or {})
        self.log = open(f"{home}-serve-{self.port}.log", "w+b")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [DRLEDGER, "serve", "--port", str(self.port), "--workers", str(workers)],
            env=full_env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self) -> None:
        import time

        import httpx

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"drledger serve ended early: {self.output()}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"drledger serve did not start: {self.output()}")

    def output(self) -> str:
        if self.log.closed:
            return self.text
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> int:
        import signal
        import subprocess

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.log.closed:
            self.text = self.output()
            self.log.close()
        return self.process.returncode
