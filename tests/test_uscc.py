"""GB 32100-2015 unified social credit codes: published codes, generated codes, every error path."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.uscc import (
    ALPHABET,
    ENTITY_TYPES,
    check_character,
    make_uscc,
    normalize_uscc,
    random_uscc,
    uscc_for_serial,
    validate_uscc,
)

XIAOMI = "91110108551385082Q"  # 小米科技有限责任公司
STDNUM = "91110000600037341L"  # python-stdnum's doctest


def reference_check(first17: str) -> str:
    """The standard's formula written out plainly, to test the fast path against."""
    total = sum(ALPHABET.index(c) * (3**i % 31) for i, c in enumerate(first17))
    return ALPHABET[(31 - total % 31) % 31]


@pytest.mark.parametrize("code", [XIAOMI, STDNUM])
def test_published_codes_validate(code: str) -> None:
    assert validate_uscc(code) is None
    assert check_character(code[:17]) == code[17]


def test_weights_are_powers_of_three_mod_31() -> None:
    # First weights from the standard's table: 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28.
    assert [3**i % 31 for i in range(17)] == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def test_sum_multiple_of_31_gives_check_zero() -> None:
    # The published pitfall: without the final mod 31, a sum ≡ 0 would index
    # ALPHABET[31] (an IndexError or a wrong character).  Search a code
    # whose weighted sum is a multiple of 31 and check it gets '0'.
    rng = random.Random(5)
    for _ in range(10_000):
        code = random_uscc(rng)
        if code[17] == "0":
            assert reference_check(code[:17]) == "0"
            assert validate_uscc(code) is None
            return
    pytest.fail("no code with check character '0' found")


def test_bad_check_character_is_named_precisely() -> None:
    p = validate_uscc(XIAOMI[:17] + "X")
    assert p is not None
    assert p.kind == "bad_check"
    assert p.position == 18 and p.expected == "Q"
    assert p.message == "position 18: check character is 'X', expected 'Q'"


@pytest.mark.parametrize(
    ("code", "position", "fragment"),
    [
        ("9111010855138508Q", None, "length is 17"),
        ("91110108551385082QQ", None, "length is 19"),
        ("", None, "length is 0"),
        ("91110108551385O82Q", 15, "'O' is never used"),
        ("9111010855I385082Q", 11, "'I' is never used"),
        ("91110108551385082S", 18, "'S' is never used"),
        ("9V110108551385082Q", 2, "'V' is never used"),
        ("91110108551385082q", 18, "lower-case"),
        ("01110108551385082Q", 1, "registering department '0'"),
        ("B1110108551385082Q", 1, "registering department 'B'"),
        ("94110108551385082Q", 2, "entity type '4' is not valid under department '9'"),
        ("90110108551385082Q", 2, "entity type '0'"),
        ("911A0108551385082Q", 4, "division code"),
        ("9111010855138508-Q", 17, "not in the GB 32100 alphabet"),
        ("91110108551385082\u00a0", 18, "not in the GB 32100 alphabet"),
    ],
)
def test_malformed_codes(code: str, position: int | None, fragment: str) -> None:
    p = validate_uscc(code)
    assert p is not None, code
    assert p.kind == "malformed"
    assert p.position == position
    assert fragment in p.message


@pytest.mark.parametrize("dept", ["1", "5", "9", "A", "N", "Y"])
def test_letter_and_digit_departments_with_their_types(dept: str) -> None:
    for etype in ENTITY_TYPES[dept]:
        code = make_uscc(dept, etype, "360502", "MA35XYT12")
        assert validate_uscc(code) is None, code
    assert validate_uscc(code[:17] + ("0" if code[17] != "0" else "1")).kind == "bad_check"


def test_non_market_departments_are_lenient_on_digit_types() -> None:
    # Department 3 lists types 1-5 and 9; a later-added digit type is accepted...
    assert validate_uscc(make_uscc("3", "7", "110000", "000000001")) is None
    # ...but never a letter type, and market regulation stays strict.
    with pytest.raises(ValueError):
        make_uscc("3", "A", "110000", "000000001")
    with pytest.raises(ValueError):
        make_uscc("9", "9", "110000", "000000001")


def test_normalize() -> None:
    assert normalize_uscc("  91110108551385082q\t") == XIAOMI


def test_check_character_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="17"):
        check_character("9111")
    with pytest.raises(ValueError, match="position 3"):
        check_character("91Z101085513850820"[:17])


def test_generators_are_deterministic_and_distinct() -> None:
    assert random_uscc(random.Random(1)) == random_uscc(random.Random(1))
    codes = {uscc_for_serial(i) for i in range(20_000)}
    assert len(codes) == 20_000
    assert all(validate_uscc(c) is None for c in codes)
    with pytest.raises(ValueError):
        uscc_for_serial(-1)


_departments = st.sampled_from(sorted(ENTITY_TYPES))


@st.composite
def valid_codes(draw: st.DrawFn) -> str:
    dept = draw(_departments)
    etype = draw(st.sampled_from(sorted(ENTITY_TYPES[dept])))
    region = draw(st.from_regex(r"[0-9]{6}", fullmatch=True))
    body = draw(st.text(alphabet=ALPHABET, min_size=9, max_size=9))
    return make_uscc(dept, etype, region, body)


@given(valid_codes())
def test_generated_codes_validate(code: str) -> None:
    assert validate_uscc(code) is None
    assert reference_check(code[:17]) == code[17]


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17))
def test_fast_check_matches_the_formula(first17: str) -> None:
    assert check_character(first17) == reference_check(first17)


@settings(max_examples=300)
@given(valid_codes(), st.integers(0, 17), st.characters(codec="utf-8"))
def test_any_single_character_change_is_detected(code: str, pos: int, new: str) -> None:
    changed = code[:pos] + new + code[pos + 1:]
    if changed == code:
        return
    assert validate_uscc(changed) is not None


@given(valid_codes(), st.integers(0, 16))
def test_adjacent_transpositions_of_distinct_chars_are_detected(code: str, pos: int) -> None:
    swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2:]
    if swapped != code:
        assert validate_uscc(swapped) is not None
