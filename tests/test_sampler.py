"""The consistent sampler against the public vectors and a plain spec implementation."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.draw.sampler import (
    draw_indices,
    draw_stream,
    first_band_limit,
    join_scans,
    rank,
    reference_ticket,
    sample,
    sample_utf8,
    scan,
    seed_prefix,
    ticket_residues,
)
from tests.conftest import VECTORS as VECTORS_DIR

VECTORS = VECTORS_DIR / "draw" / "rivest_consistent_sampler.json"


# --- The written spec, plainly (docs/sampler.md); deliberately no cleverness. ---

def plain_ticket(seed: str, id: str) -> str:
    seed_hex = hashlib.sha256(seed.encode("utf-8")).hexdigest()
    value = int(hashlib.sha256((seed_hex + id).encode("utf-8")).hexdigest(), 16)
    return "0." + "{:064d}".format(value)[::-1]


def plain_sample(seed: str, ids: list[str], n: int | None = None, drop: int = 0) -> list[str]:
    order = [id for _, id in sorted((plain_ticket(seed, id), id) for id in ids)]
    return order[drop:] if n is None else order[drop:drop + n]


def trim(ticket: str, digits: int) -> str:
    """The reference's display form: ``digits`` digits after any leading 9s."""
    padded = ticket + "0"
    first_non_9 = min(i for i in range(2, len(padded)) if padded[i] < "9")
    return ticket[:first_non_9 + digits]


def load_vectors() -> list[dict]:
    return json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"]


# --- Public vectors ---

@pytest.mark.parametrize("vector", load_vectors(), ids=lambda v: v["desc"])
def test_public_vector_ids(vector: dict) -> None:
    drawn = sample(vector["seed"], vector["ids"], n=vector["take"], drop=vector["drop"])
    assert drawn == vector["expected_ids"]


@pytest.mark.parametrize("vector", load_vectors(), ids=lambda v: v["desc"])
def test_public_vector_tickets(vector: dict) -> None:
    tickets = [trim(reference_ticket(vector["seed"], id), 18) for id in vector["expected_ids"]]
    assert tickets == vector["expected_tickets_18"]


def test_vectors_exist_and_cover_drop_and_take() -> None:
    vectors = load_vectors()
    assert len(vectors) >= 6
    assert any(v["drop"] for v in vectors) and any(v["take"] is None for v in vectors)


def test_reference_docstring_examples() -> None:
    # The reference's own doctest: first_fraction('AB-130', '01382438112797316654')
    # is the generation-1 ticket number, i.e. our ticket.
    assert reference_ticket("01382438112797316654", "AB-130") == (
        "0.26299714122838008416507544297546663599715395525154425586041245287750224561854"
    )


def test_ticket_has_at_least_64_digits_and_reversed_decimal() -> None:
    ticket = reference_ticket("seed", "id")
    value = int(hashlib.sha256((seed_prefix("seed").decode() + "id").encode()).hexdigest(), 16)
    assert ticket == "0." + str(value).zfill(64)[::-1]
    assert len(ticket) - 2 >= 64


# --- Strategies ---

seeds = st.text(max_size=20)
id_lists = st.lists(st.text(min_size=1, max_size=12), max_size=60, unique=True)


@settings(max_examples=200, deadline=None)
@given(seeds, id_lists, st.none() | st.integers(0, 70), st.integers(0, 70))
def test_fast_equals_plain_spec(seed: str, ids: list[str], n: int | None, drop: int) -> None:
    assert sample(seed, ids, n=n, drop=drop) == plain_sample(seed, ids, n=n, drop=drop)


@settings(max_examples=200, deadline=None)
@given(seeds, id_lists, st.integers(1, 3))
def test_prefix_ties_fall_back_to_full_ticket(seed: str, ids: list[str], key_digits: int) -> None:
    # With 1-3 key digits most IDs share a prefix key, so the full-ticket
    # fallback decides the order; it must still be the reference order.
    encoded = [i.encode("utf-8") for i in ids]
    order = draw_indices(seed_prefix(seed), encoded, key_digits=key_digits)
    assert [ids[i] for i in order] == plain_sample(seed, ids)


def test_prefix_ties_really_happen_with_few_key_digits() -> None:
    # Guards the test above: 200 IDs over 10 one-digit keys must collide.
    ids = [f"id-{k}" for k in range(200)]
    keys = {reference_ticket("s", i)[2] for i in ids}
    assert len(keys) < len(ids)


@settings(max_examples=100, deadline=None)
@given(seeds, id_lists, st.integers(0, 60), st.integers(0, 60))
def test_larger_n_extends_smaller(seed: str, ids: list[str], small: int, extra: int) -> None:
    shorter = sample(seed, ids, n=small)
    longer = sample(seed, ids, n=small + extra)
    assert longer[:len(shorter)] == shorter


@settings(max_examples=100, deadline=None)
@given(seeds, id_lists, st.integers(0, 60), st.integers(0, 60))
def test_drop_continues_where_take_stopped(seed: str, ids: list[str], first: int, more: int) -> None:
    assert sample(seed, ids, n=first) + sample(seed, ids, n=more, drop=first) == sample(
        seed, ids, n=first + more
    )


@settings(max_examples=100, deadline=None)
@given(seeds, id_lists, st.data())
def test_subset_order_is_global_order_filtered(seed: str, ids: list[str], data: st.DataObject) -> None:
    subset = data.draw(st.lists(st.sampled_from(ids), unique=True) if ids else st.just([]))
    wanted = set(subset)
    assert sample(seed, subset) == [i for i in sample(seed, ids) if i in wanted]
    assert list(draw_stream(seed, subset)) == [i for i in draw_stream(seed, ids) if i in wanted]


@settings(max_examples=50, deadline=None)
@given(seeds, id_lists)
def test_stream_is_full_order(seed: str, ids: list[str]) -> None:
    assert list(draw_stream(seed, ids)) == sample(seed, ids) == plain_sample(seed, ids)


def test_many_ids_cross_several_bands_and_match_plain() -> None:
    # 5000 IDs with n small: the first band is narrow, so asking for more than
    # it holds exercises the band-doubling path as well.
    ids = [f"91360502{k:09d}X" for k in range(5000)]
    assert sample("bands", ids, n=7) == plain_sample("bands", ids, n=7)
    assert sample("bands", ids, n=3000, drop=11) == plain_sample("bands", ids, n=3000, drop=11)
    assert sample("bands", ids) == plain_sample("bands", ids)


def test_scans_of_chunks_join_to_the_scan_of_the_whole() -> None:
    ids = [f"{k}".encode() for k in range(1000)]
    prefix = seed_prefix("chunks")
    limit = first_band_limit(50, len(ids))
    whole = scan(prefix, ids, limit)
    assert ticket_residues(prefix, ids[:400]) + ticket_residues(prefix, ids[400:]) == whole.residues
    assert join_scans([scan(prefix, ids[:400], limit), scan(prefix, ids[400:], limit)]) == whole
    assert sample_utf8("chunks", ids, 50, scanned=whole) == sample_utf8("chunks", ids, 50)
    assert sample_utf8("chunks", ids, 50) == [ids.index(i.encode()) for i in
                                              plain_sample("chunks", [i.decode() for i in ids], 50)]


def test_a_narrow_first_visit_still_gives_the_full_order() -> None:
    # A first visit that holds too few IDs only means more (doubling) visits.
    # 30 000 IDs put about 3 in each of the 10**4 bands, so a band skipped or
    # visited twice at any step would show.
    ids = [f"91360502{k:09d}Q" for k in range(30_000)]
    expected = plain_sample("narrow", ids)
    encoded = [i.encode() for i in ids]
    for limit in (0, 1, 37):
        narrow = scan(seed_prefix("narrow"), encoded, limit)
        assert [ids[i] for i in sample_utf8("narrow", encoded, scanned=narrow)] == expected
    assert list(draw_stream("narrow", ids)) == expected


def test_joining_scans_of_different_bands_is_refused() -> None:
    prefix = seed_prefix("s")
    with pytest.raises(ValueError, match="same bands"):
        join_scans([scan(prefix, [b"a"], 10), scan(prefix, [b"b"], 20)])


def test_a_scan_of_other_ids_is_refused() -> None:
    wrong = scan(seed_prefix("s"), [b"a"], 10)
    with pytest.raises(ValueError, match="exactly the IDs"):
        list(draw_indices(seed_prefix("s"), [b"a", b"b"], scanned=wrong))


def test_unicode_ids_and_seed_are_utf8() -> None:
    ids = ["市场监管-1", "市场监管-2", "ÅB-3", "😀"]
    assert sample("随机种子", ids) == plain_sample("随机种子", ids)


def test_duplicates_refused() -> None:
    with pytest.raises(ValueError, match="duplicate IDs: 'a'"):
        sample("s", ["a", "b", "a"])


@pytest.mark.parametrize("n, drop", [(-1, 0), (1, -1)])
def test_negative_counts_refused(n: int, drop: int) -> None:
    with pytest.raises(ValueError):
        sample("s", ["a"], n=n, drop=drop)


def test_n_beyond_population_returns_all_like_take() -> None:
    assert sample("31", ["a", "b", "c", "d"], n=10) == ["b", "a", "d", "c"]
    assert sample("31", ["a", "b"], n=3, drop=5) == []
    assert sample("31", [], n=3) == []


# --- The stdlib implementation printed in docs/sampler.md must be right. ---

DOC = Path(__file__).resolve().parents[1] / "docs" / "sampler.md"


def doc_sample():
    text = DOC.read_text(encoding="utf-8")
    (code,) = [b.split("```", 1)[0] for b in text.split("```python\n")[1:] if "def sample" in b]
    assert len(code.strip().splitlines()) <= 16, "the doc promises a short implementation"
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # also runs the doc's asserts
    return namespace["sample"]


@pytest.mark.parametrize("vector", load_vectors(), ids=lambda v: v["desc"])
def test_doc_implementation_reproduces_the_vectors(vector: dict) -> None:
    drawn = doc_sample()(vector["seed"], vector["ids"], vector["take"], vector["drop"])
    assert drawn == vector["expected_ids"]


@settings(max_examples=50, deadline=None)
@given(seeds, id_lists, st.none() | st.integers(0, 70), st.integers(0, 70))
def test_doc_implementation_equals_the_product(seed: str, ids: list[str], n: int | None,
                                               drop: int) -> None:
    assert doc_sample()(seed, ids, n, drop) == sample(seed, ids, n=n, drop=drop)


def test_doc_worked_example_tickets() -> None:
    text = DOC.read_text(encoding="utf-8")
    for id in "abcd":
        assert f"    {id}  {reference_ticket('31', id)}\n" in text
    assert hashlib.sha256(b"31").hexdigest() in text


def test_band_table_reads_the_last_four_digits_reversed() -> None:
    from ledger.draw.sampler import _BAND_OF

    assert _BAND_OF == tuple(int(f"{r:04d}"[::-1]) for r in range(10**4))


def test_scan_survives_its_flat_form() -> None:
    from ledger.draw.sampler import Scan

    ids = [f"{k}".encode() for k in range(2000)]
    whole = scan(seed_prefix("flat"), ids, 700)
    assert len(whole.members) > 0
    assert Scan.from_bytes(whole.to_bytes()) == whole
    with pytest.raises(ValueError, match="not a whole scan"):
        Scan.from_bytes(whole.to_bytes() + b"x")


def test_a_scan_without_first_bands_still_gives_the_order() -> None:
    # limit 0: nothing gathered in the first pass; every band is visited later.
    ids = [f"{k}".encode() for k in range(300)]
    empty_first = scan(seed_prefix("zero"), ids, 0)
    assert len(empty_first.members) == 0
    assert sample_utf8("zero", ids, scanned=empty_first) == sample_utf8("zero", ids)


@settings(max_examples=200, deadline=None)
@given(seeds, id_lists)
def test_rank_is_the_full_order(seed: str, ids: list[str]) -> None:
    # A team's ranking (draw/spec.py): sorted by band, ties on the full ticket.
    assert [ids[i] for i in rank(seed_prefix(seed), [i.encode() for i in ids])] == plain_sample(seed, ids)


def test_rank_decides_ties_of_the_band_on_the_full_ticket() -> None:
    # 300 IDs over 10**4 bands: some share their first four ticket digits.
    ids = [f"officer-{k}" for k in range(300)]
    prefix = seed_prefix("bands")
    first = [reference_ticket("bands", i)[2:6] for i in ids]
    assert len(set(first)) < len(first)
    assert [ids[i] for i in rank(prefix, [i.encode() for i in ids])] == plain_sample("bands", ids)
