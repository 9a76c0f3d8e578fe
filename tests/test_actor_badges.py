"""An inspector actor signs as the officer of its badge: it is registered (and re-linked) in that
badge's department only (`badge_of_other_department`), and never without a department
(`inspector_without_department`), through the service, the CLI and verify."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from ledger.domain.actors import Actor
from ledger.integrity.keys import Signer, public_key_b64
from ledger.services.ledger import CommandRefused
from ledger.store.config import StoreConfig
from ledger.verify.ledger_check import verify_ledger
from tests.api_helpers import OTHER, OWN, city_rows
from tests.cli_helpers import assert_clear_failure, run
from tests.insider import Insider, command_event
from tests.ledger_helpers import TestLedger, new_ledger

CODE = "badge_of_other_department"
NO_DEPARTMENT = "inspector_without_department"


@pytest.fixture
def ledger(store: StoreConfig) -> TestLedger:
    """Two departments with their items and officers; an admin of each (the ledger-wide admin too)."""
    ledger = new_ledger(store)
    for kind in ("departments", "items", "inspectors"):
        ledger.import_rows("admin", kind, city_rows(kind), accept_bad_check=True)
    ledger.register("admin-wsjk", "admin", department=OTHER)
    ledger.register("admin-scjg", "admin", department=OWN)
    return ledger


def _badges(department: str) -> list[Any]:
    return [r for r in city_rows("inspectors") if r.department == department]


def _register(ledger: TestLedger, admin: str, actor_id: str, department: str | None,
              roles: tuple[str, ...] = ("inspector",)) -> Any:
    signer = Signer.generate()
    ledger.keys[actor_id] = signer
    return ledger.sign(admin, "actor.register", {"actor_id": actor_id, "department": department, "name": actor_id,
                                                 "public_key": public_key_b64(signer.public_key),
                                                 "roles": list(roles)})


def _refused(ledger: TestLedger, signed: Any, code: str = CODE) -> CommandRefused:
    with ledger.service() as service, pytest.raises(CommandRefused) as caught:
        service.submit(signed)
    assert caught.value.code == code, caught.value
    return caught.value


def _forged_registration_fails_verify(ledger: TestLedger, admin: str, actor_id: str, department: str | None,
                                      public_key: Any, code: str) -> None:
    """An insider records a registration the rules refuse (`code`) as accepted, with the ledger key:
    `drledger verify` exits 1 at its position, naming the command and the rule. `public_key`:
    the registered key (None: the actor's test key, made by `_register`)."""
    store = ledger.store
    signed = _register(ledger, admin, actor_id, department)
    public_key = public_key or ledger.keys[actor_id].public_key
    body = msgspec.json.decode(signed.command)

    def forged() -> list[Any]:
        return [command_event(signed, admin, "actor.register", body["nonce"]),
                Actor(actor_id=actor_id, name=actor_id, roles=("inspector",), department=department,
                      public_key=public_key, actor=admin)]

    with Insider(store) as insider:
        position = insider.append(forged)
    verify = run("verify", home=store.home, store=None if store.kind == "sqlite" else store.display)
    said = verify.stdout + verify.stderr
    assert verify.returncode == 1, said
    assert f"position {position}" in said and "actor.register" in said and f"[{code}]" in said, said
    assert "Traceback" not in said


def test_an_inspector_is_registered_and_relinked_in_its_badges_department_only(ledger: TestLedger) -> None:
    own, other = _badges(OWN)[0].badge, _badges(OTHER)[0].badge
    # The hole: an admin of another office registers (so signs for) a badge it does not manage.
    refusal = _refused(ledger, _register(ledger, "admin-wsjk", own, OTHER))
    assert f"department {OWN}" in refusal.message and OTHER in refusal.message
    _refused(ledger, _register(ledger, "admin", own, None))  # no department is not the badge's either
    _refused(ledger, _register(ledger, "admin", own, OTHER, ("reviewer", "inspector")))
    # Its own department registers it; other roles are not tied to a badge.
    with ledger.service() as service:
        service.submit(_register(ledger, "admin-scjg", own, OWN))
        service.submit(_register(ledger, "admin-wsjk", other, OTHER))
        service.submit(_register(ledger, "admin-wsjk", "CLERK-1", OTHER, ("reviewer",)))
        # An inspector actor whose badge is not in the directory yet: tied when it acts (results, 回避).
        service.submit(_register(ledger, "admin-wsjk", "JX-NEW", OTHER))
    # A re-link (actor.set_roles) keeps the tie: the ledger-wide admin may not move it elsewhere.
    move = {"actor_id": own, "roles": ["inspector"], "department": OTHER}
    _refused(ledger, ledger.sign("admin", "actor.set_roles", move))
    # Nor may a proposal add the role to an actor of another department that bears the badge's ID.
    namesake = _badges(OWN)[2].badge
    with ledger.service() as service:
        service.submit(_register(ledger, "admin-wsjk", namesake, OTHER, ("drawer",)))
    _refused(ledger, ledger.sign("admin-wsjk", "proposal.open", {
        "proposal_id": "P-1", "action": "set_roles", "target": namesake, "roles": ["drawer", "inspector"],
        "reason": "兼任检查员"}))
    # A transfer: the list moves the badge, then the admin moves the actor after it.
    row = _badges(OWN)[0]
    ledger.import_rows("admin", "inspectors", [msgspec.structs.replace(row, department=OTHER)])
    ledger.submit("admin", "actor.set_roles", move)
    with ledger.service() as service:
        actor = service.processor.app.find(Actor.create_id(own))
    assert actor.department == OTHER
    report = verify_ledger(ledger.store)
    assert report.ok, report.problems[:3]


def test_the_cli_refuses_a_mismatch_and_verify_exits_1_on_a_forged_registration(ledger: TestLedger) -> None:
    """Through `drledger actor register`: refused with its code on one line. An insider with the
    ledger key records the refused registration as accepted (its command and the Actor it would
    make): `drledger verify` exits 1 at that position, naming the command and the rule."""
    store = ledger.store
    url = None if store.kind == "sqlite" else store.display
    own = _badges(OWN)[1].badge
    admin_key = store.home / "actor-keys" / "admin.pem"
    signer = Signer.generate()
    answer = run("actor", "register", own, "--name", "张三", "--role", "inspector", "--department", OTHER,
                 "--public-key", public_key_b64(signer.public_key), "--as", "admin", "--key", str(admin_key),
                 home=store.home, store=url)
    assert_clear_failure(answer, f"refused ({CODE})", f"department {OWN}")
    assert run("verify", home=store.home, store=url).returncode == 0

    _forged_registration_fails_verify(ledger, "admin-wsjk", own, OTHER, signer.public_key, CODE)


def test_an_inspector_always_has_a_department(ledger: TestLedger) -> None:
    """The hole: "no department" reads as ledger-wide, so an inspector registered without one before
    its badge is imported would pass every later department check of that badge. Refused whoever
    signs (the ledger-wide admin too), at register, set_roles and a set_roles proposal."""
    from ledger.api.commands import refusal_status

    refusal = _refused(ledger, _register(ledger, "admin", "JX-NODEPT", None), NO_DEPARTMENT)
    assert "JX-NODEPT" in refusal.message
    _refused(ledger, _register(ledger, "admin", "JX-NODEPT", None, ("reviewer", "inspector")), NO_DEPARTMENT)
    assert refusal_status(NO_DEPARTMENT) == 422  # a field the role needs is missing, whoever signs
    with ledger.service() as service:
        service.submit(_register(ledger, "admin", "CLERK-2", None, ("reviewer",)))  # ledger-wide, not an inspector
        service.submit(_register(ledger, "admin", "DR-WIDE", None, ("drawer",)))
        service.submit(_register(ledger, "admin-wsjk", "JX-LATER", OTHER))
    _refused(ledger, ledger.sign("admin", "actor.set_roles", {
        "actor_id": "CLERK-2", "roles": ["reviewer", "inspector"], "department": None}), NO_DEPARTMENT)
    _refused(ledger, ledger.sign("admin", "actor.set_roles", {
        "actor_id": "JX-LATER", "roles": ["inspector"], "department": None}), NO_DEPARTMENT)
    _refused(ledger, ledger.sign("admin", "proposal.open", {
        "proposal_id": "P-2", "action": "set_roles", "target": "DR-WIDE", "roles": ["drawer", "inspector"],
        "reason": "兼任检查员"}), NO_DEPARTMENT)
    report = verify_ledger(ledger.store)
    assert report.ok, report.problems[:3]


def test_the_cli_refuses_an_inspector_without_department_and_verify_exits_1_on_a_forged_one(
        ledger: TestLedger) -> None:
    """`drledger actor register` without --department for an inspector: refused on one line. An
    insider records that registration as accepted: `drledger verify` exits 1 at its position,
    naming the command and the rule."""
    store = ledger.store
    url = None if store.kind == "sqlite" else store.display
    signer = Signer.generate()
    answer = run("actor", "register", "JX-NODEPT", "--name", "李四", "--role", "inspector",
                 "--public-key", public_key_b64(signer.public_key), "--as", "admin",
                 "--key", str(store.home / "actor-keys" / "admin.pem"), home=store.home, store=url)
    assert_clear_failure(answer, f"refused ({NO_DEPARTMENT})", "JX-NODEPT")
    assert run("verify", home=store.home, store=url).returncode == 0

    _forged_registration_fails_verify(ledger, "admin", "JX-NODEPT", None, None, NO_DEPARTMENT)


def test_a_set_roles_proposal_is_checked_again_when_its_approvals_carry_it(ledger: TestLedger) -> None:
    """Opened for a drawer of a department, the proposal to add the inspector role is carried only if
    the actor still has one: an admin may have made it ledger-wide in the meantime."""
    from datetime import timedelta

    from ledger.integrity.commands import sign_command
    from ledger.services.ledger import LedgerService

    clock = [Insider(ledger.store).head_time() + timedelta(seconds=1)]

    def submit(actor: str, name: str, body: dict[str, Any]) -> Any:
        with LedgerService(ledger.store, clock=lambda: clock[0]) as service:
            return service.submit(sign_command(ledger.keys[actor], actor, name, body, issued_at=clock[0]))

    for actor_id, roles, department in (("adm2", ["admin"], None), ("jj", ["discipline"], None),
                                        ("DR-1", ["drawer"], OWN)):
        ledger.keys[actor_id] = key = Signer.generate()
        submit("admin", "actor.register", {"actor_id": actor_id, "department": department, "name": actor_id,
                                           "public_key": public_key_b64(key.public_key), "roles": roles})
    submit("admin", "proposal.open", {"proposal_id": "P-3", "action": "set_roles", "target": "DR-1",
                                      "roles": ["drawer", "inspector"], "reason": "兼任检查员"})
    submit("admin", "actor.set_roles", {"actor_id": "DR-1", "roles": ["drawer"], "department": None})
    submit("adm2", "proposal.approve", {"proposal_id": "P-3"})
    clock[0] += timedelta(days=4)  # the discipline actor is past its cooling-off: this approval carries it
    with pytest.raises(CommandRefused) as caught:
        submit("jj", "proposal.approve", {"proposal_id": "P-3"})
    assert caught.value.code == NO_DEPARTMENT, caught.value
    with ledger.service() as service:
        assert service.processor.app.find(Actor.create_id("DR-1")).roles == ("drawer",)
    report = verify_ledger(ledger.store)
    assert report.ok, report.problems[:3]
