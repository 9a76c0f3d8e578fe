"""The command model: every write signed by its actor, `verify` re-executes the rules.

Insider forgeries (an operator holding the ledger key and the database) and
the authorisation matrix, on a real SQLite file and a real PostgreSQL.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from ledger.domain.actors import Actor
from ledger.domain.commands import CommandRecord
from ledger.domain.directory import Department, DirectoryImport, Entity
from ledger.domain.rows import DepartmentRow, ItemRow
from ledger.integrity.commands import sign_command
from ledger.integrity.keys import Signer, public_key_b64
from ledger.services.processor import CommandRefused
from ledger.services.receipts import receipt_signature_ok
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger
from tests.insider import Insider, command_event, refused_at
from tests.ledger_helpers import DEPARTMENT, TestLedger, entity_rows, ledger_with_entities, new_ledger


def _size(store: StoreConfig) -> int:
    with open_reader(store) as reader:
        return reader.size()


def _nonce(signed: Any) -> str:
    return str(msgspec.json.decode(signed.command)["nonce"])


# ---------------------------------------------------------------------------
# Receipts and refusals.


def test_a_retried_command_gets_its_first_receipt_and_no_second_event(store: StoreConfig) -> None:
    ledger = new_ledger(store)
    signed = ledger.sign("admin", "actor.register", {"actor_id": "A1", "department": None, "name": "甲",
                                                     "public_key": public_key_b64(Signer.generate().public_key),
                                                     "roles": ["auditor"]})
    with ledger.service() as service:
        first = service.submit(signed)
        size = _size(store)
        again = service.submit(signed)
    assert again == first
    assert _size(store) == size
    assert receipt_signature_ok(first, service.processor.ledger.ledger_key)
    with open_reader(store) as reader:
        assert [h.hex() for h in (reader.hash_at(p) for p in range(first.first, first.last + 1))] == first.event_hashes
    assert verify_ledger(store).ok


def test_a_refused_command_writes_only_its_refusal_record(store: StoreConfig) -> None:
    ledger = new_ledger(store)
    ledger.register("aud", "auditor")
    before = _size(store)
    with pytest.raises(CommandRefused) as refused:
        ledger.submit("aud", "actor.register", {"actor_id": "X", "department": None, "name": "x",
                                                "public_key": public_key_b64(Signer.generate().public_key),
                                                "roles": ["admin"]})
    assert refused.value.code == "missing_role"
    receipt = refused.value.receipt
    assert receipt is not None and receipt.outcome == "refused" and receipt.code == "missing_role"
    assert (receipt.first, receipt.last) == (before + 1, _size(store))
    with open_reader(store) as reader:
        topics = [row.topic for row in reader.rows(before + 1, _size(store))]
    assert set(topics) <= {"drledger/refusals/Opened", "drledger/refusals/Refused"}
    report = verify_ledger(store)
    assert report.ok, report.problems
    assert report.checks["refusals_rechecked"] == 1


# An inspector's command (results are published by reviewers): a follow-up done, of an unknown task.
DONE = {"task_id": "T", "uscc": "U", "kind": "abnormal_list", "note": "已列入"}


def test_junk_in_an_inspectors_name_does_not_suppress_its_real_refusals(tmp_path: Any) -> None:
    from ledger.store.config import resolve_store

    store = resolve_store(None, tmp_path / "home")
    ledger = new_ledger(store)
    ledger.submit("admin", "settings.results", {"refusals_per_hour": 3})
    ledger.import_rows("admin", "departments", [DEPARTMENT])
    ledger.register("I-1", "inspector", department=DEPARTMENT.code)
    stranger = Signer.generate()
    with ledger.service() as service:
        for _ in range(25):  # bad signatures, claiming to be I-1
            with pytest.raises(CommandRefused):
                service.submit(sign_command(stranger, "I-1", "result.follow_up_done", DONE))
        for _ in range(3):  # I-1's own, signed, refused attempts
            with pytest.raises(CommandRefused) as refused:
                service.submit(ledger.sign("I-1", "result.follow_up_done", DONE))
            assert refused.value.code == "unknown_task"
    with open_reader(store) as reader:
        states = [msgspec.json.decode(r.state) for r in reader.rows(1, reader.size())
                  if r.topic == "drledger/refusals/Refused"]
    mine = [s for s in states if s["authenticated"] and s["claimed_actor"] == "I-1"]
    assert len(mine) == 3, "a flood of unauthenticated junk suppressed the inspector's real refusals"
    assert len([s for s in states if not s["authenticated"]]) == 3  # the junk bucket's own allowance
    assert verify_ledger(store).ok


# ---------------------------------------------------------------------------
# Insider forgeries: each makes verify fail at its position, naming the rule.


def test_forged_reclassification_without_a_command(store: StoreConfig) -> None:
    ledger_with_entities(store, 3)
    uscc = entity_rows(1)[0].uscc
    with Insider(store) as insider:
        def build() -> list[Any]:
            entity = insider.find(Entity.id_for(uscc))
            entity.reclassify(uscc=uscc, risk_class="A", previous="B", reason="friend", cause=None, actor="admin")
            return [entity]

        at = insider.append(build)
    refused_at(store, at, "without a command")


def test_forged_event_behind_an_unrelated_real_command(store: StoreConfig) -> None:
    """A real admin command (a registration) fronting an event it did not cause."""
    ledger = ledger_with_entities(store, 3)
    signed = ledger.sign("admin", "actor.register", {"actor_id": "A9", "department": None, "name": "甲",
                                                     "public_key": public_key_b64(Signer.generate().public_key),
                                                     "roles": ["auditor"]})
    uscc = entity_rows(1)[0].uscc
    with Insider(store) as insider:
        def build() -> list[Any]:
            entity = insider.find(Entity.id_for(uscc))
            entity.reclassify(uscc=uscc, risk_class="A", previous="B", reason="x", cause=None, actor="admin")
            return [command_event(signed, "admin", "actor.register", _nonce(signed)), entity]

        at = insider.append(build, at=insider.head_time())
    refused_at(store, at + 1, "actor.register", "differs from what the rules produce")


def test_event_whose_command_name_differs_from_its_kind(store: StoreConfig) -> None:
    ledger = new_ledger(store)
    ledger.register("aud", "auditor")
    signed = ledger.sign("admin", "actor.revoke", {"actor_id": "aud", "reason": "調離"})
    with Insider(store) as insider:
        def build() -> list[Any]:
            target = insider.find(Actor.create_id("aud"))
            target.change_roles(roles=("admin",), department=None, actor="admin")
            return [command_event(signed, "admin", "actor.revoke", _nonce(signed)), target]

        at = insider.append(build, at=insider.head_time())
    refused_at(store, at + 1, "actor.revoke", "differs")


def test_unsigned_import(store: StoreConfig) -> None:
    new_ledger(store)
    with Insider(store) as insider:
        at = insider.append(lambda: [Department.register(DEPARTMENT, "admin")])
    refused_at(store, at, "without a command")


def test_import_whose_rows_differ_from_the_signed_root(store: StoreConfig) -> None:
    ledger = new_ledger(store)
    rows = [DEPARTMENT]
    from ledger.services.directory import sign_import

    signed = sign_import(ledger.admin, "admin", "departments", rows, file_name="d.csv", file_sha256="0" * 64)
    other = msgspec.structs.replace(DEPARTMENT, name="另一个局")
    with Insider(store) as insider:
        def build() -> list[Any]:
            record = DirectoryImport._create(
                DirectoryImport.Recorded, id=DirectoryImport.id_for("admin", _nonce(signed)), actor="admin",
                kind="departments", file_name="d.csv", file_sha256="0" * 64,
                rows_root=msgspec.json.decode(signed.command)["body"]["rows_root"], rows=1, new=1, changed=0,
                unchanged=(), flagged=())
            return [command_event(signed, "admin", "directory.import", _nonce(signed)),
                    Department.register(other, "admin"), record]

        at = insider.append(build, at=insider.head_time())
    refused_at(store, at, "directory.import", "rows differ from the rows_root")


def test_replayed_nonce(store: StoreConfig) -> None:
    ledger = new_ledger(store)
    key = Signer.generate()
    body = {"actor_id": "A1", "department": None, "name": "甲", "public_key": public_key_b64(key.public_key),
            "roles": ["auditor"]}
    first = ledger.sign("admin", "actor.register", body)
    ledger.submit("admin", "actor.register", body) if False else None  # noqa: B018 - keep one real command only
    with ledger.service() as service:
        service.submit(first)
        replay = ledger.sign("admin", "actor.revoke", {"actor_id": "A1", "reason": "x"}, nonce=_nonce(first))
        with pytest.raises(CommandRefused) as refused:
            service.submit(replay)
        assert refused.value.code == "reused_nonce"
    with Insider(store) as insider:
        def build() -> list[Any]:
            record = CommandRecord._create(CommandRecord.Accepted, id=CommandRecord.id_for("admin", "f" * 32),
                                           actor="admin", name="actor.revoke", command=replay.command,
                                           signature=replay.signature, key_id=replay.key_id)
            target = insider.find(Actor.create_id("A1"))
            target.revoke(reason="x", actor="admin")
            return [record, target]

        at = insider.append(build, at=insider.head_time())
    refused_at(store, at, "reused_nonce")


def test_command_of_a_revoked_actor(store: StoreConfig) -> None:
    ledger = new_ledger(store)
    ledger.register("adm2", "admin")
    ledger.submit("admin", "actor.revoke", {"actor_id": "adm2", "reason": "离职"})
    signed = ledger.sign("adm2", "actor.register", {"actor_id": "Z", "department": None, "name": "z",
                                                    "public_key": public_key_b64(Signer.generate().public_key),
                                                    "roles": ["admin"]})
    with ledger.service() as service, pytest.raises(CommandRefused) as refused:
        service.submit(signed)
    assert refused.value.code == "revoked_actor"
    with Insider(store) as insider:
        def build() -> list[Any]:
            new = Actor(actor_id="Z", name="z", roles=("admin",), department=None,
                        public_key=Signer.generate().public_key, actor="adm2")
            return [command_event(signed, "adm2", "actor.register", _nonce(signed)), new]

        at = insider.append(build, at=insider.head_time())
    refused_at(store, at, "revoked")


def test_recorded_time_going_backwards(store: StoreConfig) -> None:
    ledger = new_ledger(store)
    signed = ledger.sign("admin", "actor.register", {"actor_id": "A1", "department": None, "name": "甲",
                                                     "public_key": public_key_b64(Signer.generate().public_key),
                                                     "roles": ["auditor"]})
    with Insider(store) as insider:
        before = insider.head_time() - timedelta(seconds=30)

        def build() -> list[Any]:
            new = Actor(actor_id="A1", name="甲", roles=("auditor",), department=None,
                        public_key=base64.b64decode(msgspec.json.decode(signed.command)["body"]["public_key"]),
                        actor="admin")
            return [command_event(signed, "admin", "actor.register", _nonce(signed)), new]

        at = insider.append(build, at=before)
    refused_at(store, at, "goes back")


def test_edited_snapshot_lets_a_wrong_command_in_and_verify_refuses_it(store: StoreConfig) -> None:
    """A cache the write path trusts (an eventsourcing snapshot) is edited to give an
    inspector the admin role; the processor accepts its registration; verify, deriving
    state from events alone, refuses it."""
    ledger = new_ledger(store)
    ledger.import_rows("admin", "departments", [DEPARTMENT])
    ledger.register("I-1", "inspector", department=DEPARTMENT.code)
    with Insider(store) as insider:
        insider.app.take_snapshot(Actor.create_id("I-1"))
    table = "stored_snapshots" if store.kind == "sqlite" else f'"{store.schema}".drledger_snapshots'
    from tests.ledger_helpers import Raw

    raw = Raw(store)
    try:
        rows = raw.sql(f"SELECT originator_id, state FROM {table}")
        assert rows, "no snapshot was taken"
        for oid, state in rows:
            raw.sql(f"UPDATE {table} SET state = ? WHERE originator_id = ?",
                    bytes(state).replace(b'"roles":["inspector"]', b'"roles":["admin"]'), oid)
    finally:
        raw.close()
    position = _size(store) + 1
    ledger.submit("I-1", "actor.register", {"actor_id": "crony", "department": DEPARTMENT.code, "name": "c",
                                            "public_key": public_key_b64(Signer.generate().public_key),
                                            "roles": ["drawer"]})
    refused_at(store, position, "missing_role")


# ---------------------------------------------------------------------------
# Separation of powers.


def test_key_recovery_needs_discipline_and_waits_for_the_cooling_off(store: StoreConfig) -> None:
    from ledger.services.ledger import LedgerService

    ledger = new_ledger(store)
    ledger.import_rows("admin", "departments", [DEPARTMENT])
    clock = [Insider(store).head_time() + timedelta(seconds=1)]

    def service() -> LedgerService:
        return LedgerService(store, clock=lambda: clock[0])

    def submit(actor: str, name: str, body: dict[str, Any]) -> Any:
        with service() as s:
            return s.submit(sign_command(ledger.keys[actor], actor, name, body, issued_at=clock[0]))

    for actor_id, roles, department in (("adm2", ["admin"], None), ("jj", ["discipline"], None),
                                        ("I-1", ["inspector"], DEPARTMENT.code)):
        key = Signer.generate()
        submit("admin", "actor.register", {"actor_id": actor_id, "department": department, "name": actor_id,
                                           "public_key": public_key_b64(key.public_key), "roles": roles})
        ledger.keys[actor_id] = key
    new_key = Signer.generate()
    body = {"proposal_id": "P1", "action": "recover_key", "target": "I-1", "reason": "丢失",
            "public_key": public_key_b64(new_key.public_key)}
    with pytest.raises(CommandRefused) as refused:  # an admin alone cannot revoke an inspector
        submit("admin", "actor.revoke", {"actor_id": "I-1", "reason": "x"})
    assert refused.value.code == "needs_approval"
    submit("admin", "proposal.open", body)
    submit("adm2", "proposal.approve", {"proposal_id": "P1"})  # two admins: no discipline yet
    with service() as s:
        assert s.processor.app.repository.get(Actor.create_id("I-1")).public_key != new_key.public_key
    clock[0] += timedelta(days=4)  # the discipline actor is now past its own cooling-off
    submit("jj", "proposal.approve", {"proposal_id": "P1"})
    ledger.keys["I-1"] = new_key
    with pytest.raises(CommandRefused) as refused:
        submit("I-1", "actor.rotate_key", {"public_key": public_key_b64(Signer.generate().public_key), "reason": "x"})
    assert refused.value.code == "key_not_yet_valid"
    assert verify_ledger(store).ok
    # The insider appends a command signed with the recovered key inside the cooling-off period.
    signed = sign_command(new_key, "I-1", "actor.rotate_key",
                          {"public_key": public_key_b64(Signer.generate().public_key), "reason": "early"},
                          issued_at=clock[0])
    with Insider(store) as insider:
        def build() -> list[Any]:
            me = insider.find(Actor.create_id("I-1"))
            content = msgspec.json.decode(signed.command)
            me.rotate_key(public_key=base64.b64decode(content["body"]["public_key"]), reason="early",
                          effective_from=clock[0], actor="I-1")
            return [command_event(signed, "I-1", "actor.rotate_key", content["nonce"]), me]

        at = insider.append(build, at=clock[0])
    refused_at(store, at, "key_not_yet_valid")
    clock[0] += timedelta(days=4)


# ---------------------------------------------------------------------------
# The authorisation matrix: every role x every command x own/other department.

ROLES = ("admin", "list_manager", "planner", "drawer", "inspector", "reviewer", "auditor", "discipline")
# Who may issue each command, written down here, independently of the code's registry.
ALLOWED: dict[str, set[str]] = {
    "actor.register": {"admin"}, "actor.revoke": {"admin"}, "actor.set_roles": {"admin"},
    "actor.rotate_key": set(ROLES), "ledger.rotate_key": {"admin"},
    "directory.import": {"list_manager", "admin"},
    "directory.stage": {"list_manager", "admin"}, "directory.commit_staged": {"list_manager", "admin"},
    "plan.create": {"planner"}, "task.create": {"planner"},
    "draw.commit": {"drawer"}, "draw.run": {"drawer"}, "draw.void": {"drawer"}, "draw.extend": {"drawer"},
    "draw.recuse": {"inspector"}, "draw.substitute": {"reviewer"},
    "result.record": {"inspector"}, "result.correct": {"inspector"}, "result.disclose": {"reviewer"},
    "result.return": {"reviewer"}, "result.follow_up_done": {"inspector", "reviewer"},
    "settings.results": {"admin"}, "settings.calendar": {"admin"}, "settings.governance": {"admin"},
    "witness.add": {"admin"}, "witness.remove": {"admin"},
    "proposal.open": {"admin"}, "proposal.approve": {"admin", "discipline"},
    "settings.draws": {"admin"}, "class.signal": {"reviewer"},
    "task.approve": {"reviewer"}, "task.extend_window": {"planner"},
    "firm.register": {"list_manager"}, "firm.recusal_decide": {"reviewer"}, "objection.resolve": {"reviewer"},
    # A firm's representative (role firm) is registered by firm.register only, never in this matrix:
    # every matrix role is refused these.
    "firm.acknowledge": {"firm"}, "firm.recusal_request": {"firm"}, "objection.raise": {"firm"},
}
# Commands whose object belongs to a department: "own" is a sub-department of the
# actor's, "other" a department outside it.
SCOPED = {"actor.register", "directory.import", "plan.create", "task.create", "draw.commit", "draw.run",
          "draw.void", "draw.extend", "draw.substitute"}
# Ledger-wide powers: an admin of a department (as every matrix actor is) has them not.
LEDGER_WIDE = {"ledger.rotate_key", "settings.results", "settings.calendar", "settings.governance", "witness.add",
               "witness.remove", "settings.draws"}
OWN, OTHER = "XY-A1", "XY-B"


def _world(ledger: TestLedger) -> None:
    ledger.import_rows("admin", "departments", [
        DepartmentRow(code="XY-A", name="甲局", level="city", region_code="360500"),
        DepartmentRow(code="XY-A1", name="甲局一分局", level="county", region_code="360502", parent="XY-A"),
        DepartmentRow(code="XY-B", name="乙局", level="city", region_code="360500"),
    ])
    ledger.import_rows("admin", "items", [_item("I-A1", OWN), _item("I-B", OTHER)])
    for department, suffix in ((OWN, "A1"), (OTHER, "B")):
        ledger.register(f"planner-{suffix}", "planner", department=department)
        ledger.submit(f"planner-{suffix}", "plan.create", {
            "plan_id": f"P-{suffix}", "title": "计划", "department": department, "year": 2026,
            "items": [f"I-{suffix}"], "joint_departments": []})
        ledger.submit(f"planner-{suffix}", "task.create", _task_body(f"T-{suffix}", f"P-{suffix}", department,
                                                                      f"I-{suffix}"))
    for role in ROLES:
        ledger.register(f"{role}-A", role, department="XY-A")
    ledger.register("victim-A", "auditor", department="XY-A")


def _item(code: str, department: str) -> ItemRow:
    return ItemRow(code=code, name="检查事项", department=department, legal_basis="《条例》", content="内容",
                   methods=("onsite",), target_kind="entity", key_item=False)


def _task_body(task_id: str, plan_id: str, department: str, item: str) -> dict[str, Any]:
    return {"task_id": task_id, "plan_id": plan_id, "name": "任务", "window_start": "2026-03-01",
            "window_end": "2026-05-31", "items": [item], "departments": [department],
            "quotas": {"A": {"count": 1}}}


def _body(name: str, scope: str, n: int) -> tuple[dict[str, Any], Any, Signer]:
    suffix = "A1" if scope == "own" else "B"
    department = OWN if scope == "own" else OTHER
    new_key = Signer.generate()
    key = public_key_b64(new_key.public_key)
    bodies: dict[str, dict[str, Any]] = {
        "actor.register": {"actor_id": f"new-{n}", "department": department, "name": "新", "public_key": key,
                           "roles": ["auditor"]},
        "actor.revoke": {"actor_id": "victim-A", "reason": "测试"},
        "actor.set_roles": {"actor_id": "victim-A", "roles": ["auditor", "reviewer"], "department": "XY-A"},
        "actor.rotate_key": {"public_key": key, "reason": "测试"},
        "ledger.rotate_key": {"new_key": key, "reason": "测试"},
        "directory.import": {},
        "plan.create": {"plan_id": f"P-{n}", "title": "计划", "department": department, "year": 2026,
                        "items": [f"I-{suffix}"], "joint_departments": []},
        "task.create": _task_body(f"T-{n}", f"P-{suffix}", department, f"I-{suffix}"),
        "draw.commit": {"task_id": f"T-{suffix}", "beacons": [{"network": "local-test-not-public", "round": 1}]},
        "draw.run": {"task_id": f"T-{suffix}", "signatures": ["00" * 48]},
        "draw.void": {"task_id": f"T-{suffix}", "reason": "测试"},
        "draw.recuse": {"task_id": f"T-{suffix}", "target": "91110108551385082Q", "reason": "亲属"},
        "draw.substitute": {"task_id": f"T-{suffix}", "target": "91110108551385082Q", "officer": "JX-1",
                            "reason": "病假"},
        "draw.extend": {"task_id": f"T-{suffix}", "risk_class": "C", "count": 1, "reason": "补抽"},
        "result.record": {"task_id": f"T-{suffix}", "uscc": "91110108551385082Q", "category": "no_issue",
                          "findings": "无", "methods": ["onsite"], "items": [f"I-{suffix}"],
                          "inspected_on": "2026-03-02"},
        "result.correct": {"task_id": f"T-{suffix}", "uscc": "91110108551385082Q", "category": "no_issue",
                           "findings": "无", "methods": ["onsite"], "items": [f"I-{suffix}"],
                           "inspected_on": "2026-03-02", "reason": "更正"},
        "result.disclose": {"task_id": f"T-{suffix}", "uscc": "91110108551385082Q"},
        "result.return": {"task_id": f"T-{suffix}", "uscc": "91110108551385082Q", "reason": "退回"},
        "result.follow_up_done": {"task_id": f"T-{suffix}", "uscc": "91110108551385082Q", "kind": "abnormal_list",
                                  "note": "已列入"},
        "settings.results": {"refusals_per_hour": 20 + n},
        # Bodies the role check never reaches past (refused as invalid or unknown for an allowed role).
        "settings.draws": {}, "class.signal": {}, "task.approve": {}, "task.extend_window": {},
        "firm.register": {}, "firm.recusal_decide": {}, "objection.resolve": {},
        "firm.acknowledge": {}, "firm.recusal_request": {}, "objection.raise": {},
        "directory.stage": {}, "directory.commit_staged": {},
        "settings.calendar": {"year": 2031, "holidays": [], "workdays": [], "source": f"测试 {n}"},
        "settings.governance": {"approvals_needed": 2, "cooling_off_days": 3 + n % 300},
        "witness.add": {"name": f"w{n}", "vkey": "bad", "url": "http://127.0.0.1:9"},
        "witness.remove": {"name": "none", "reason": "测试"},
        "proposal.open": {"proposal_id": f"PR-{n}", "action": "revoke", "target": "drawer-A", "reason": "x"},
        "proposal.approve": {"proposal_id": "none"},
    }
    attachment = None
    if name == "directory.import":
        from ledger.services.directory import import_body

        rows = [_item(f"I-{n}", department)]
        bodies[name] = import_body("items", rows, file_name="items.csv", file_sha256="0" * 64)
        attachment = rows
    return bodies[name], attachment, new_key


def test_authorisation_matrix(store: StoreConfig) -> None:
    from ledger.domain.commands import COMMANDS

    assert set(ALLOWED) == set(COMMANDS), "a command without an expected authorisation"
    ledger = new_ledger(store)
    _world(ledger)
    outcomes: dict[tuple[str, str, str], str] = {}
    n = 0
    with ledger.service() as service:
        for name in sorted(ALLOWED):
            for role in ROLES:
                for scope in ("own", "other") if name in SCOPED else ("own",):
                    n += 1
                    body, attachment, new_key = _body(name, scope, n)
                    signed = sign_command(ledger.keys[f"{role}-A"], f"{role}-A", name, body)
                    try:
                        service.submit(signed, attachment)
                        outcomes[(name, role, scope)] = "accepted"
                    except CommandRefused as refused:
                        outcomes[(name, role, scope)] = refused.code
                    if name == "actor.rotate_key" and outcomes[(name, role, scope)] == "accepted":
                        ledger.keys[f"{role}-A"] = new_key
    wrong = []
    for (name, role, scope), code in outcomes.items():
        if role not in ALLOWED[name]:
            if code != "missing_role":
                wrong.append(f"{role} {name} ({scope}): {code}, expected missing_role")
        elif name in LEDGER_WIDE and code != "out_of_jurisdiction":
            wrong.append(f"{role} {name}: {code}, expected out_of_jurisdiction (a department's admin)")
        elif name in LEDGER_WIDE:
            continue
        elif scope == "other" and code != "out_of_jurisdiction":
            wrong.append(f"{role} {name} (other department): {code}, expected out_of_jurisdiction")
        elif scope == "own" and code in ("missing_role", "out_of_jurisdiction"):
            wrong.append(f"{role} {name} (own department): {code}")
    assert not wrong, "\n".join(wrong)
    report = verify_ledger(store)
    assert report.ok, report.problems[:3]
