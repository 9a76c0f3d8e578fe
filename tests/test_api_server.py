"""A real `drledger serve` process: the CLI's `--server` mode, tokens, shared stores, shutdown."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import msgspec

from ledger.domain.rows import rows_to_csv
from ledger.store.config import resolve_store
from ledger.store.reader import open_reader
from tests.api_helpers import OWN, Server, city_rows
from tests.cli_helpers import run

ORIGIN = "test.drledger/served"


def _size(home: Path) -> int:
    with open_reader(resolve_store(None, home)) as reader:
        return reader.size()


def _events(home: Path, after: int) -> list[tuple[str, int, Any]]:
    """The events after position `after`, without what differs by nature between two ledgers:
    recorded times, nonces and signatures (and the ids derived from a nonce)."""
    with open_reader(resolve_store(None, home)) as reader:
        rows = list(reader.rows(after + 1, reader.size()))
    out = []
    for row in rows:
        assert row.state is not None and row.topic is not None
        payload = msgspec.json.decode(row.state)
        payload.pop("timestamp", None)
        payload.pop("command_sha256", None)  # a refusal's: the hash of bytes that hold the nonce
        if "command" in payload:  # the command's own event: what was signed, less nonce and time
            command = msgspec.json.decode(base64.b64decode(payload.pop("command")))
            command.pop("nonce"), command.pop("issued_at")
            payload.pop("signature"), payload.pop("key_id")
            payload["command"] = command
        out.append((row.topic, row.originator_version or 0, payload))
    return out


def _cli(*args: str, home: Path) -> Any:
    """The `drledger` command in this process (a subprocess per step would cost seconds each)."""
    from click.testing import CliRunner

    from ledger.cli.main import cli
    from tests.cli_helpers import keys_dir

    env = {"DRLEDGER_HOME": str(home), "DRLEDGER_KEYS": str(keys_dir(home)), "DRLEDGER_STORE": None,
           "DRLEDGER_SERVER": None, "DRLEDGER_ACTOR": None}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_the_cli_with_server_prints_and_records_what_it_does_locally(tmp_path: Path) -> None:
    local, served = tmp_path / "local" / "home", tmp_path / "served" / "home"
    for home in (local, served):
        home.parent.mkdir()
        assert run("init", "--origin", ORIGIN, home=home).returncode == 0
    genesis = _size(local)
    assert _size(served) == genesis
    keygen = _cli("actor", "keygen", "--out", str(tmp_path / "p1.pem"), home=local)
    public_key = keygen.stdout.split("public key", 1)[1].split()[0]
    (tmp_path / "departments.csv").write_bytes(rows_to_csv(city_rows("departments"), "departments"))
    (tmp_path / "items.csv").write_bytes(rows_to_csv(city_rows("items"), "items"))
    item = next(r.code for r in city_rows("items") if r.department == OWN)
    planner = ["--as", "P1", "--key", str(tmp_path / "p1.pem")]
    steps = [
        ["import", "departments", str(tmp_path / "departments.csv"), "--as", "admin"],
        ["import", "items", str(tmp_path / "items.csv"), "--as", "admin"],
        ["import", "departments", str(tmp_path / "departments.csv"), "--as", "admin"],  # changes nothing
        ["actor", "register", "P1", "--name", "规划员", "--role", "planner", "--department", OWN,
         "--public-key", public_key, "--as", "admin"],
        ["plan", "create", "P-1", "--title", "年度计划", "--department", OWN, "--year", "2026", "--item", item,
         *planner],
        ["actor", "register", "P2", "--name", "x", "--role", "auditor", "--public-key", public_key, *planner],
    ]
    server = Server(served)
    try:
        for step in steps:
            here = _cli(*step, home=local)
            there = _cli(*step, "--server", server.url, home=served)
            assert (there.exit_code, there.stdout, there.stderr) == (here.exit_code, here.stdout, here.stderr), step
        assert here.exit_code == 1 and "refused (missing_role)" in here.stderr  # the last step is refused
        assert _events(served, genesis) == _events(local, genesis)
        assert _size(served) == _size(local)
        # A token from the same key reads what the server holds.
        token = run("token", *planner, "--server", server.url, home=served)  # the real console script
        assert token.returncode == 0, token.stderr
        answer = httpx.get(f"{server.url}/api/v1/plans/P-1")
        assert answer.status_code == 200 and answer.json()["department"] == OWN
        answer = httpx.get(f"{server.url}/api/v1/status", headers={"Authorization": f"Bearer {token.stdout.strip()}"})
        assert answer.status_code == 200 and answer.json()["size"] == _size(served)
        unreachable = _cli(*steps[0], "--server", "http://127.0.0.1:9", home=served)
        assert unreachable.exit_code == 2 and unreachable.stderr.startswith("drledger: error: http://127.0.0.1:9")
    finally:
        code = server.stop()
    log = server.output()
    # SIGTERM: requests finish, the store is closed, then uvicorn ends with the signal's status.
    assert code in (0, -15) and "Application shutdown complete" in log, log
    lines = [msgspec.json.decode(line) for line in log.splitlines() if line.startswith("{")]
    assert {"method", "path", "status", "ms", "client", "caller"} <= set(lines[0])
    assert any(line["path"] == "/api/v1/commands" and line["status"] == 201 for line in lines)
    assert "authorization" not in log.lower().replace('"caller"', "") and "Bearer" not in log
    assert "BEGIN PRIVATE KEY" not in log and "Traceback" not in log


def test_serve_without_a_ledger_fails_clearly(tmp_path: Path) -> None:
    result = run("serve", "--port", "0", home=tmp_path / "empty")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("drledger: error:") and "drledger init" in result.stderr


def test_a_remote_ledger_draws_and_reads_back_as_the_local_one(tmp_path: Path) -> None:
    """services/remote.py under the services the CLI calls: a draw committed and run on the
    server comes back as services/draws.py `recorded_draw` reads it locally; an import that
    changes nothing is not submitted (the server's preview)."""
    from ledger.beacon.network import LOCAL_BEACON_ID
    from ledger.demo.beacon import DEMO_BEACON
    from ledger.domain.draws import BeaconChoice, Task
    from datetime import date

    from ledger.demo.calendar import seed_known_years
    from ledger.services import draws, results
    from ledger.services.directory import import_rows
    from ledger.services.remote import RemoteLedger, use_identity, use_server
    from ledger.demo.city import generate_city
    from tests.draw_helpers import DEMO_SEED, city_with_drawer, new_task, next_round

    ledger = city_with_drawer(resolve_store(None, tmp_path / "home"))
    new_task(ledger, "T1")
    server = Server(ledger.store.home)
    try:
        use_server(server.url)
        use_identity(ledger.keys["drawer"], "drawer")
        with RemoteLedger(server.url) as remote:
            named = next_round()
            draws.commit_draw(remote, ledger.keys["drawer"], "drawer", "T1",
                              [BeaconChoice(network=LOCAL_BEACON_ID, round=named)])
            task = remote.processor.app.find(Task.create_id("T1"))
            assert isinstance(task, Task) and [b.round for b in task.commitment.beacons] == [named]
            record = draws.run_draw(remote, ledger.keys["drawer"], "drawer", "T1",
                                    [DEMO_BEACON.signature_for(named).hex()])
            assert record == draws.recorded_draw(ledger.store, record.receipt)
            assert record.teams
            # An assigned officer records a result through the server; the view read back remotely
            # is the local one.
            team = record.teams[0]
            officer = team.inspectors[0]
            ledger.register(officer, "inspector", department="XY-SCJG")  # its badge's
            with ledger.service() as local:
                seed_known_years(local, ledger.admin, "admin", (date.today().year, date.today().year + 1))
            use_identity(ledger.keys[officer], officer)
            body = results.RecordBody(task_id="T1", uscc=team.target, category="no_issue", findings="未发现问题",
                                      methods=("onsite",), items=task.items, inspected_on=date(2026, 4, 10))
            view = results.record(remote, results.sign_record(ledger.keys[officer], officer, body))
            with ledger.service() as local:
                assert msgspec.structs.replace(view, receipt=None) == results.current(local, "T1", team.target)
            size = _size(ledger.store.home)
            use_identity(ledger.keys["admin"], "admin")
            rows = list(generate_city(DEMO_SEED, small=True).rows("departments"))  # the city's, as imported
            unchanged = import_rows(remote, ledger.keys["admin"], "admin", "departments", rows, confirm_change=True)
            assert unchanged.unchanged == len(rows) and not unchanged.written and _size(ledger.store.home) == size
    finally:
        use_server(None)
        server.stop()
