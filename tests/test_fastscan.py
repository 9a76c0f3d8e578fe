"""ledger.draw.fastscan (numpy) against the reference path, ledger.draw.sampler.

The reference stays the pure-Python sampler (tests/test_sampler.py pins it
to the public vectors and to the plain spec); the numpy path must give the
very same scans, orders and draws, on the public vectors and on random
inputs, including the rare paths: tied prefix keys and later bands.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.draw import sampler
from tests.conftest import VECTORS as VECTORS_DIR

fastscan = pytest.importorskip("ledger.draw.fastscan")

VECTORS = VECTORS_DIR / "draw" / "rivest_consistent_sampler.json"


def both_orders(seed: str, ids: list[bytes], limit: int, key_digits: int = 19) -> tuple[list[int], list[int]]:
    prefix = sampler.seed_prefix(seed)
    reference = sampler.scan(prefix, ids, limit, key_digits)
    fast = fastscan.scan(prefix, ids, limit, key_digits)
    assert fast == reference
    return list(fastscan.draw_indices(prefix, ids, fast)), list(sampler.draw_indices(prefix, ids, reference))


@pytest.mark.parametrize("vector", json.loads(VECTORS.read_text("utf-8"))["vectors"], ids=lambda v: v["desc"])
def test_public_vectors_on_both_paths(vector: dict) -> None:
    ids = [i.encode("utf-8") for i in vector["ids"]]
    stop = None if vector["take"] is None else vector["drop"] + vector["take"]
    for limit in (0, 1, sampler.first_band_limit(len(ids) if stop is None else stop, len(ids)), 10_000):
        fast, reference = both_orders(vector["seed"], ids, limit)
        assert fast == reference
        assert [vector["ids"][i] for i in fast[vector["drop"]:stop]] == vector["expected_ids"]


seeds = st.text(max_size=20)
id_lists = st.lists(st.binary(min_size=1, max_size=40), max_size=80, unique=True)
limits = st.integers(0, 10_000)


@settings(max_examples=300, deadline=None)
@given(seeds, id_lists, limits)
def test_random_inputs_give_the_same_scan_and_order(seed: str, ids: list[bytes], limit: int) -> None:
    fast, reference = both_orders(seed, ids, limit)
    assert fast == reference


@settings(max_examples=200, deadline=None)
@given(seeds, id_lists, limits, st.integers(1, 3))
def test_tied_prefix_keys_give_the_reference_order(seed: str, ids: list[bytes], limit: int, key_digits: int) -> None:
    fast, reference = both_orders(seed, ids, limit, key_digits)
    assert fast == reference


def test_many_ids_over_every_band_layout() -> None:
    ids = [f"91360502{k:09d}Z".encode() for k in range(20_000)]
    for limit in (0, 3, sampler.first_band_limit(500, len(ids)), 10_000):
        fast, reference = both_orders("bands", ids, limit)
        assert fast == reference


@settings(max_examples=200, deadline=None)
@given(seeds, id_lists, st.data())
def test_repeats_are_found_across_parts(seed: str, ids: list[bytes], data: st.DataObject) -> None:
    prefix = sampler.seed_prefix(seed)
    cut = data.draw(st.integers(0, len(ids)))
    def sorted_words(part: list[bytes]) -> bytes:
        return fastscan.sort_words([fastscan.words(fastscan.digests(prefix, part))])

    parts = [sorted_words(part) for part in (ids[:cut], ids[cut:])]
    assert not fastscan.has_repeats(parts)  # distinct IDs (64-bit collisions aside: not at this size)
    if ids:
        repeated = data.draw(st.sampled_from(ids))
        where = data.draw(st.integers(0, 1))
        parts[where] = sorted_words([*(ids[:cut], ids[cut:])[where], repeated])
        assert fastscan.has_repeats(parts)


def test_digests_of_nothing() -> None:
    prefix = sampler.seed_prefix("s")
    assert fastscan.scan(prefix, [], 10) == sampler.scan(prefix, [], 10)
    assert not fastscan.has_repeats([fastscan.sort_words([]), fastscan.sort_words([fastscan.words(b"")])])


EDGE_DIGESTS = [bytes(32), b"\xff" * 32, (10**19 - 1).to_bytes(32, "big"), (10**19).to_bytes(32, "big"),
                (5**19).to_bytes(32, "big"), (2**19).to_bytes(32, "big"), (2**255 + 10**19 + 1).to_bytes(32, "big")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=50), st.integers(1, 19))
def test_prefix_keys_on_arrays_are_the_samplers(digests: list[bytes], key_digits: int) -> None:
    import numpy as np

    hashed = b"".join(digests + EDGE_DIGESTS)
    keys = fastscan.prefix_keys(hashed, np.arange(len(hashed) // 32), key_digits)
    assert keys.tolist() == [sampler._prefix_key(int.from_bytes(d), key_digits) for d in digests + EDGE_DIGESTS]
