"""Properties of the pure draw function (ledger.draw.spec)."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.draws import outcome_digest
from ledger.draw.sampler import sample
from ledger.domain.draws import BeaconRound
from ledger.draw.spec import (
    BeaconOutput,
    Candidate,
    DrawImpossible,
    DrawInputs,
    ItemRef,
    Quota,
    check_feasible,
    commitment_for,
    compute,
    extension,
    inputs_digest,
    replacement,
    summarise_pool,
    target_count,
)
from ledger.verify.draws import RecordedCommitment, RecordedDraw, compare

DEPARTMENTS = ("D1", "D2")
OLD = "2026-01-01T00:00:00.000000Z"  # inspector records in force since
COMMITTED_AT = "2026-03-01T08:00:00.000000Z"
WINDOW_END = "2026-06-30"  # the task's last inspection day
SALT_KEY = "a7" * 32
BEACON = BeaconOutput(network="local-test-not-public", chain_hash="cd" * 32, round=4242, randomness="5a" * 32)


def inputs(pool: dict[str, list[str]], quotas: dict[str, Quota], *, departments=("D1",), per_target=2,
           load_cap=None, experts=0, conflicts=(), task_id="T", young: tuple[str, ...] = (),
           cooling_off_days: int = 7, certificates: dict[str, tuple[str | None, str | None]] | None = None,
           ) -> DrawInputs:
    """Inputs with 6 officers per department, 3 experts and a retired officer; `young` badges
    got their record 1 day before the commitment. Officers hold a certificate (执法证) valid to
    2027-12-31 unless `certificates` gives (number, valid until) for their badge; experts none."""
    def since(badge: str) -> str:
        return "2026-02-28T08:00:00.000000Z" if badge in young else OLD

    def certificate(badge: str) -> tuple[str | None, str | None]:
        return (certificates or {}).get(badge, (f"ZF-{badge}", "2027-12-31"))

    inspectors = [Candidate(f"{d}-{i}", d, "enforcement", "active", ("I1",), since(f"{d}-{i}"),
                            *certificate(f"{d}-{i}"))
                  for d in DEPARTMENTS for i in range(6)]
    inspectors += [Candidate(f"X-{i}", "D1", "expert", "active", (), since(f"X-{i}")) for i in range(3)]
    inspectors += [Candidate("D1-gone", "D1", "enforcement", "retired", ("I1",), OLD)]
    return DrawInputs(
        task_id=task_id, position=10, committed_at=COMMITTED_AT, cooling_off_days=cooling_off_days,
        window_end=WINDOW_END, departments=departments, items=(ItemRef("I1", "D1"),), quotas=quotas,
        inspectors_per_target=per_target, experts_per_target=experts, load_cap=load_cap, pool=pool,
        excluded=[], inspectors=inspectors, conflicts=list(conflicts), salt_key=SALT_KEY,
    )


def in_sampler_order(seed: str, pool: list[str], n: int | None = None, key: str = SALT_KEY) -> list[str]:
    """The firms in the order the sampler ranks their commitments (docs/draw-spec.md §4)."""
    by_commitment = {commitment_for(key, u): u for u in pool}
    return [by_commitment[c] for c in sample(seed, sorted(by_commitment), n=n)]


ids = st.lists(st.text("0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=4, max_size=8), min_size=1, max_size=40, unique=True)


@given(ids, st.integers(1, 40), st.integers(1, 40))
@settings(max_examples=60, deadline=None)
def test_the_seed_binds_the_quotas_and_targets_are_a_prefix_of_its_stream(pool: list[str], a: int, b: int) -> None:
    first = compute(inputs({"B": pool}, {"B": Quota(count=a)}, load_cap=None), [BEACON])
    second = compute(inputs({"B": pool}, {"B": Quota(count=b)}, load_cap=None), [BEACON])
    assert (first.seed == second.seed) == (a == b)  # the frozen inputs, quotas included, are in the seed
    for outcome, n in ((first, a), (second, b)):
        assert outcome.targets["B"] == in_sampler_order(outcome.seed, pool)[:n]


@given(ids, ids)
@settings(max_examples=60, deadline=None)
def test_each_class_draws_the_sampler_stream_of_its_own_ids(a_ids: list[str], c_ids: list[str]) -> None:
    c_only = [i for i in c_ids if i not in a_ids]
    outcome = compute(inputs({"A": a_ids, "C": c_only}, {"A": Quota(ratio="0.5"), "C": Quota(ratio="1")}), [BEACON])
    assert outcome.targets["A"] == in_sampler_order(outcome.seed, a_ids, n=target_count(Quota(ratio="0.5"), len(a_ids)))
    assert outcome.targets["C"] == in_sampler_order(outcome.seed, c_only)


@given(ids, st.sampled_from(["add", "remove", "move", "randomness", "round", "task", "ratio", "cooling", "salt"]))
@settings(max_examples=80, deadline=None)
def test_any_change_to_beacons_inputs_or_pool_changes_the_verdict(pool: list[str], change: str) -> None:
    base = inputs({"B": list(pool)}, {"B": Quota(ratio="0.5")})
    outcome = compute(base, [BEACON])
    summary = summarise_pool(base)
    committed = RecordedCommitment(
        task_id="T", position=10, committed_at=COMMITTED_AT, cooling_off_days=7, inputs_digest=inputs_digest(base),
        pool_roots=summary.pool_roots, pool_root=summary.pool_root, counts=summary.counts, excluded=0,
        beacons=[BeaconRound(network=BEACON.network, chain_hash=BEACON.chain_hash, round=BEACON.round,
                             published_at=0)], actor="drawer", salt_key=SALT_KEY)
    recorded = RecordedDraw(
        task_id="T", position=10, inputs_digest=inputs_digest(base), beacons=[BEACON], signatures=["00"],
        seed=outcome.seed, targets=outcome.targets, teams=outcome.teams, outcome_digest=outcome_digest(outcome),
        actor="drawer",
    )
    assert compare(recorded, committed, outcome) == []
    beacons = [BEACON]
    altered = base
    if change == "add":
        altered = msgspec.structs.replace(base, pool={"B": [*pool, "ZZZZZZZZZ"]})
    elif change == "remove":
        altered = msgspec.structs.replace(base, pool={"B": pool[1:]})
    elif change == "move":
        altered = msgspec.structs.replace(base, pool={"B": pool[1:], "C": pool[:1]})
    elif change == "randomness":
        beacons = [msgspec.structs.replace(BEACON, randomness="6b" * 32)]
    elif change == "round":
        beacons = [msgspec.structs.replace(BEACON, round=BEACON.round + 1)]
    elif change == "task":
        altered = inputs({"B": list(pool)}, {"B": Quota(ratio="0.5")}, task_id="T2")
    elif change == "cooling":
        altered = msgspec.structs.replace(base, cooling_off_days=6)
    elif change == "salt":  # another salt key: other commitments, pool roots and digest
        altered = msgspec.structs.replace(base, salt_key="a8" * 32)
    else:
        altered = msgspec.structs.replace(base, quotas={"B": Quota(ratio="1")}) if len(pool) > 1 else \
            msgspec.structs.replace(base, pool={"B": []})
    assert compare(recorded, committed, compute(altered, beacons)) != []


@given(st.lists(st.text("0123456789ABCDEF", min_size=6, max_size=6), min_size=1, max_size=25, unique=True),
       st.booleans(), st.integers(0, 2), st.sampled_from([None, 6, 9]))
@settings(max_examples=60, deadline=None)
def test_team_rules(pool: list[str], joint: bool, experts: int, load_cap: int | None) -> None:
    departments = DEPARTMENTS if joint else ("D1",)
    conflicts = [("D1-0", pool[0]), ("D2-0", pool[0])]
    try:
        outcome = compute(inputs({"C": pool}, {"C": Quota(ratio="1")}, departments=departments, experts=experts,
                                 load_cap=load_cap, conflicts=conflicts), [BEACON])
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


def test_an_inspector_record_younger_than_the_cooling_off_is_not_drawn() -> None:
    young = tuple(f"D1-{i}" for i in range(3)) + ("X-0",)
    pool = [f"F{i:03d}" for i in range(40)]
    outcome = compute(inputs({"C": pool}, {"C": Quota(ratio="1")}, experts=1, young=young), [BEACON])
    drawn = {b for team in outcome.teams for b in team.inspectors + team.experts}
    assert drawn and not drawn & set(young)
    # The same record, once the cooling-off is shorter than its age, is drawable again.
    outcome = compute(inputs({"C": pool}, {"C": Quota(ratio="1")}, experts=1, young=young, cooling_off_days=1),
                      [BEACON])
    assert {b for team in outcome.teams for b in team.inspectors + team.experts} & set(young)


def test_a_draw_needs_a_beacon() -> None:
    with pytest.raises(DrawImpossible, match="at least one beacon"):
        compute(inputs({"A": ["X1"]}, {"A": Quota(count=1)}), [])


def test_an_officer_without_a_certificate_valid_through_the_window_is_never_drawn() -> None:
    """执法证: no number, no date, or a last valid day inside the window (even the day before
    window_end) keeps an officer out of every team, of substitutions and of 补抽; a certificate
    valid exactly through window_end is enough. Experts need none."""
    barred = {"D1-0": (None, None), "D1-1": ("ZF-1", None), "D1-2": ("ZF-2", "2026-06-29"),
              "D1-3": ("ZF-3", "2025-12-31")}
    boundary = {"D1-4": ("ZF-4", WINDOW_END)}
    pool = [f"F{i:03d}" for i in range(40)]
    base = inputs({"C": pool}, {"C": Quota(count=20)}, departments=DEPARTMENTS, experts=1,
                  certificates=barred | boundary)
    outcome = compute(base, [BEACON])
    drawn = {b for team in outcome.teams for b in team.inspectors}
    assert drawn and not drawn & set(barred)
    assert "D1-4" in drawn  # valid through the last day: drawable
    team = outcome.teams[0]
    for leaving in team.inspectors:
        assert replacement(base, outcome.seed, outcome.teams, team.target, leaving, ()) not in barred
    more, teams = extension(base, outcome.seed, outcome.targets, outcome.teams, "C", 20)
    assert len(more) == 20 and not {b for t in teams for b in t.inspectors} & set(barred)
    # The same officers, certified through the window, are drawn.
    renewed = compute(inputs({"C": pool}, {"C": Quota(count=20)}, departments=DEPARTMENTS, experts=1), [BEACON])
    assert {b for team in renewed.teams for b in team.inspectors} & set(barred)
    # Too few certified officers: refused before any round is published, naming the rule.
    with pytest.raises(DrawImpossible, match="certified"):
        check_feasible(inputs({"C": pool}, {"C": Quota(count=1)},
                              certificates={f"D1-{i}": (None, None) for i in range(5)}))
