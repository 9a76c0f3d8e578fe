"""Properties of the pure draw function (ledger.draw.spec)."""

from __future__ import annotations

import hashlib

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.draws import outcome_digest
from ledger.draw.sampler import sample
from ledger.draw.spec import Candidate, DrawImpossible, DrawInputs, ItemRef, Quota, compute, inputs_digest, target_count
from ledger.verify.draws import RecordedDraw, compare

SECRET = "5a" * 32
DEPARTMENTS = ("D1", "D2")


def inputs(pool: dict[str, list[str]], quotas: dict[str, Quota], *, departments=("D1",), per_target=2,
           load_cap=None, experts=0, conflicts=(), secret=SECRET, beacon="", task_id="T") -> DrawInputs:
    inspectors = [Candidate(f"{d}-{i}", d, "enforcement", "active", ("I1",)) for d in DEPARTMENTS for i in range(6)]
    inspectors += [Candidate(f"X-{i}", "D1", "expert", "active", ()) for i in range(3)]
    inspectors += [Candidate("D1-gone", "D1", "enforcement", "retired", ("I1",))]
    return DrawInputs(
        task_id=task_id, commitment=hashlib.sha256(bytes.fromhex(secret)).hexdigest(), secret=secret,
        beacon=beacon, position=10, departments=departments, items=(ItemRef("I1", "D1"),), quotas=quotas,
        inspectors_per_target=per_target, experts_per_target=experts, load_cap=load_cap, pool=pool,
        excluded=[], inspectors=inspectors, conflicts=list(conflicts),
    )


ids = st.lists(st.text("0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=4, max_size=8), min_size=1, max_size=40, unique=True)


@given(ids, st.integers(1, 40), st.integers(1, 40))
@settings(max_examples=60, deadline=None)
def test_a_larger_count_extends_a_smaller_one(pool: list[str], a: int, b: int) -> None:
    small, large = sorted((a, b))
    first = compute(inputs({"B": pool}, {"B": Quota(count=small)}, load_cap=None))
    second = compute(inputs({"B": pool}, {"B": Quota(count=large)}, load_cap=None))
    assert second.targets["B"][: len(first.targets["B"])] == first.targets["B"]
    assert first.seed == second.seed


@given(ids, ids)
@settings(max_examples=60, deadline=None)
def test_each_class_draws_the_sampler_stream_of_its_own_ids(a_ids: list[str], c_ids: list[str]) -> None:
    c_only = [i for i in c_ids if i not in a_ids]
    outcome = compute(inputs({"A": a_ids, "C": c_only}, {"A": Quota(ratio="0.5"), "C": Quota(ratio="1")}))
    assert outcome.targets["A"] == sample(outcome.seed, a_ids, n=target_count(Quota(ratio="0.5"), len(a_ids)))
    assert outcome.targets["C"] == sample(outcome.seed, c_only)


@given(ids, st.sampled_from(["add", "remove", "move", "secret", "beacon", "task", "ratio"]))
@settings(max_examples=80, deadline=None)
def test_any_change_to_seed_inputs_or_pool_changes_the_verdict(pool: list[str], change: str) -> None:
    base = inputs({"B": list(pool)}, {"B": Quota(ratio="0.5")})
    outcome = compute(base)
    recorded = RecordedDraw(
        task_id="T", position=10, commitment=base.commitment, secret=base.secret, beacon="",
        pool_roots=outcome.pool_roots, pool_root=outcome.pool_root, counts=outcome.counts, excluded=[],
        seed=outcome.seed, targets=outcome.targets, teams=outcome.teams,
        outcome_digest=outcome_digest(outcome),
        inputs_digest=inputs_digest(base),
    )
    assert compare(recorded, outcome) == []
    if change == "add":
        altered = msgspec.structs.replace(base, pool={"B": [*pool, "ZZZZZZZZZ"]})
    elif change == "remove":
        altered = msgspec.structs.replace(base, pool={"B": pool[1:]})
    elif change == "move":
        altered = msgspec.structs.replace(base, pool={"B": pool[1:], "C": pool[:1]})
    elif change == "secret":
        altered = inputs({"B": list(pool)}, {"B": Quota(ratio="0.5")}, secret="6b" * 32)
    elif change == "beacon":
        altered = inputs({"B": list(pool)}, {"B": Quota(ratio="0.5")}, beacon="round 7")
    elif change == "task":
        altered = inputs({"B": list(pool)}, {"B": Quota(ratio="0.5")}, task_id="T2")
    else:
        altered = msgspec.structs.replace(base, quotas={"B": Quota(ratio="1")}) if len(pool) > 1 else \
            msgspec.structs.replace(base, pool={"B": []})
    assert compare(recorded, compute(altered)) != []


@given(st.lists(st.text("0123456789ABCDEF", min_size=6, max_size=6), min_size=1, max_size=25, unique=True),
       st.booleans(), st.integers(0, 2), st.sampled_from([None, 6, 9]))
@settings(max_examples=60, deadline=None)
def test_team_rules(pool: list[str], joint: bool, experts: int, load_cap: int | None) -> None:
    departments = DEPARTMENTS if joint else ("D1",)
    conflicts = [("D1-0", pool[0]), ("D2-0", pool[0])]
    try:
        outcome = compute(inputs({"C": pool}, {"C": Quota(ratio="1")}, departments=departments, experts=experts,
                                 load_cap=load_cap, conflicts=conflicts))
    except DrawImpossible as error:
        assert load_cap is not None and "load cap" in str(error)
        return
    load: dict[str, int] = {}
    for team in outcome.teams:
        assert len(team.inspectors) == 2 and len(set(team.inspectors)) == 2
        assert all(not b.startswith("X-") and b != "D1-gone" for b in team.inspectors)
        if joint:
            assert {b[:2] for b in team.inspectors} == {"D1", "D2"}
        else:
            assert all(b.startswith("D1-") for b in team.inspectors)
        assert len(team.experts) == experts and all(b.startswith("X-") for b in team.experts)
        assert all((b, team.target) not in conflicts for b in team.inspectors)
        for badge in team.inspectors:
            load[badge] = load.get(badge, 0) + 1
    if load_cap is not None:
        assert max(load.values()) <= load_cap
    assert [t.target for t in outcome.teams] == outcome.targets["C"]


def test_ratios_are_exact_decimals() -> None:
    assert target_count(Quota(ratio="0.03"), 100) == 3  # float arithmetic would give 4
    assert target_count(Quota(ratio="0.1"), 30) == 3
    assert target_count(Quota(ratio="0.3"), 10) == 3
    assert target_count(Quota(count=50), 7) == 7


def test_a_wrong_secret_is_refused() -> None:
    bad = msgspec.structs.replace(inputs({"A": ["X1"]}, {"A": Quota(count=1)}), secret="00" * 32)
    with pytest.raises(DrawImpossible, match="does not match the commitment"):
        compute(bad)
