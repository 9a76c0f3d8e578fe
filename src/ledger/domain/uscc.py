"""The unified social credit code (统一社会信用代码, GB 32100-2015).

Layout of the 18 characters (1-based positions, as the standard counts):

====  ==========================================================
1     registering department (登记管理部门): 1-9, A, N, Y
2     entity type within that department (机构类别)
3-8   administrative division (GB/T 2260), six digits
9-17  organisation identifier (主体标识码, the old 组织机构代码)
18    check character
====  ==========================================================

Every character comes from ``ALPHABET`` (no I, O, S, V, Z).  The check
character is ``ALPHABET[(31 - Σ v_i·w_i mod 31) mod 31]`` with
``w_i = 3**i mod 31``.  The final ``mod 31`` matters: without it a sum that
is already a multiple of 31 indexes position 31, past the alphabet.

>>> validate_uscc("91110108551385082Q") is None      # 小米科技有限责任公司
True
>>> validate_uscc("91110000600037341L") is None
True
>>> check_character("91110108551385082")
'Q'
>>> validate_uscc("91110108551385082X").message
"position 18: check character is 'X', expected 'Q'"
>>> validate_uscc("9111010855138508Q").kind
'malformed'

Two kinds of problem are kept apart on purpose: a *malformed* code is never
acceptable, whereas a well-formed code whose check character is wrong exists
in real registers (docs/domain.md) and may be accepted by an explicit operator
choice, staying flagged.
"""

from __future__ import annotations

import random
import re
from typing import Final, Literal

import msgspec

__all__ = [
    "ALPHABET",
    "DEPARTMENTS",
    "ENTITY_TYPES",
    "UsccProblem",
    "check_character",
    "validate_uscc",
    "normalize_uscc",
    "is_valid_uscc",
    "make_uscc",
    "uscc_for_serial",
    "random_uscc",
]

ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE: Final = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))
_FORBIDDEN: Final = frozenset("IOSVZ")

# Registering departments and, per department, the entity-type codes of
# GB 32100-2015 Appendix A.  Department 9 (市场监管, formerly 工商) is the one
# this project lives on and its three types are certain, so it is strict.
# For the other departments the table is what the standard lists; later
# amendments have added types, so any digit 1-9 is accepted for them
# (see _type_ok) rather than refusing real codes on a guess.
DEPARTMENTS: Final[dict[str, str]] = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "市场监管(工商)",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}

ENTITY_TYPES: Final[dict[str, dict[str, str]]] = {
    "1": {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    "2": {"1": "外国常驻新闻机构", "9": "其他"},
    "3": {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所", "4": "司法鉴定机构",
          "5": "仲裁委员会", "9": "其他"},
    "4": {"1": "外国在华文化中心", "9": "其他"},
    "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    "6": {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地(大陆)代表机构", "9": "其他"},
    "7": {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"},
    "8": {"1": "基层工会", "9": "其他"},
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
    "A": {"1": "军队事业单位", "9": "其他"},
    "N": {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    "Y": {"1": "其他"},
}
_STRICT_DEPARTMENTS: Final = frozenset("9")

# Translation of each alphabet character to the base-36 digit of its value,
# used by the fast check below.
_TO_DIGIT: Final = str.maketrans({c: "0123456789ABCDEFGHIJKLMNOPQRSTU"[i] for i, c in enumerate(ALPHABET)})

# The shape of a well-formed code; one regex call is the fast path for bulk
# imports, the slow path below explains what is wrong.
_SHAPE: Final = re.compile(r"[1-9ANY][0-9A-HJ-NP-RTUWXY][0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}")


class UsccProblem(msgspec.Struct, frozen=True):
    """Why a code is not acceptable as it is.

    ``kind`` is ``"malformed"`` (never acceptable) or ``"bad_check"`` (well
    formed, wrong check character: acceptable by explicit operator choice).
    ``position`` is 1-based as in the standard, or None for length problems.
    """

    kind: Literal["malformed", "bad_check"]
    message: str
    position: int | None = None
    expected: str | None = None


def _sum_mod31(first17: str) -> int:
    # Σ v_i·3^i mod 31 computed in C: since 34 ≡ 3 (mod 31), reading the
    # reversed values as a base-34 number gives Σ v_i·34^i ≡ Σ v_i·3^i.
    # All values are < 31 < 34, so they are valid base-34 digits.  This is
    # about ten times faster than a Python loop, which matters for 1M-row
    # imports; test_uscc checks it against the plain definition.
    return int(first17.translate(_TO_DIGIT)[::-1], 34) % 31


def check_character(first17: str) -> str:
    """The check character (position 18) for the first 17 characters.

    >>> check_character("91110000600037341")
    'L'
    >>> check_character("9111000060003734I")
    Traceback (most recent call last):
    ...
    ValueError: position 17: 'I' is not in the GB 32100 alphabet
    """
    if len(first17) != 17:
        raise ValueError(f"need 17 characters, got {len(first17)}")
    for i, c in enumerate(first17):
        if c not in _VALUE:
            raise ValueError(f"position {i + 1}: {c!r} is not in the GB 32100 alphabet")
    return ALPHABET[(31 - _sum_mod31(first17)) % 31]


def normalize_uscc(code: str) -> str:
    """Strip surrounding whitespace and upper-case.

    The alphabet has upper-case letters only, so case carries no meaning;
    spreadsheets and hand typing produce lower case and stray spaces.

    >>> normalize_uscc(" 91110108551385082q ")
    '91110108551385082Q'
    """
    return code.strip().upper()


def _type_ok(department: str, entity_type: str) -> bool:
    if department in _STRICT_DEPARTMENTS:
        return entity_type in ENTITY_TYPES[department]
    return entity_type in ENTITY_TYPES[department] or entity_type in "123456789"


def _explain_malformed(code: str) -> UsccProblem:
    """Slow path: say exactly why a code does not have the GB 32100 shape."""
    if len(code) != 18:
        return UsccProblem("malformed", f"length is {len(code)}, expected 18 characters")
    for i, c in enumerate(code):
        if c not in _VALUE:
            if c.upper() in _VALUE:
                why = f"position {i + 1}: lower-case {c!r}; codes are upper-case"
            elif c.upper() in _FORBIDDEN:
                why = f"position {i + 1}: {c!r} is never used (I, O, S, V, Z are excluded)"
            else:
                why = f"position {i + 1}: {c!r} is not in the GB 32100 alphabet"
            return UsccProblem("malformed", why, position=i + 1)
    dept, etype = code[0], code[1]
    if dept not in DEPARTMENTS:
        return UsccProblem(
            "malformed",
            f"position 1: registering department {dept!r} is not one of 1-9, A, N, Y",
            position=1,
        )
    if not _type_ok(dept, etype):
        known = ", ".join(f"{k} {v}" for k, v in ENTITY_TYPES[dept].items())
        return UsccProblem(
            "malformed",
            f"position 2: entity type {etype!r} is not valid under department {dept!r} ({known})",
            position=2,
        )
    for i in range(2, 8):
        if not code[i].isdigit():
            return UsccProblem(
                "malformed",
                f"position {i + 1}: {code[i]!r} in the division code (positions 3-8 are digits)",
                position=i + 1,
            )
    # _SHAPE and the checks above agree; reaching here means they drifted.
    raise AssertionError(f"unexplained malformed code {code!r}")


def validate_uscc(code: str) -> UsccProblem | None:
    """None if ``code`` is a valid unified social credit code, else the problem.

    The code is taken as given: call :func:`normalize_uscc` first to forgive
    case and whitespace.

    >>> validate_uscc("A1110108551385082Q").kind      # letter department, wrong check
    'bad_check'
    >>> print(validate_uscc("94110108551385082Q").message)
    position 2: entity type '4' is not valid under department '9' (1 企业, 2 个体工商户, 3 农民专业合作社)
    >>> print(validate_uscc("9111010855138508ZQ").message)
    position 17: 'Z' is never used (I, O, S, V, Z are excluded)
    """
    if len(code) != 18 or _SHAPE.fullmatch(code) is None or not _type_ok(code[0], code[1]):
        return _explain_malformed(code)
    expected = ALPHABET[(31 - _sum_mod31(code[:17])) % 31]
    if code[17] != expected:
        return UsccProblem(
            "bad_check",
            f"position 18: check character is {code[17]!r}, expected {expected!r}",
            position=18,
            expected=expected,
        )
    return None


def is_valid_uscc(code: str) -> bool:
    """True if ``code`` is well formed with a correct check character."""
    return validate_uscc(code) is None


# ---------------------------------------------------------------------------
# Generation (demo data, benchmarks, property tests)

_BODY_SPACE: Final = 31**9
# A multiplier coprime to 31 makes serial -> body a bijection on [0, 31^9),
# so distinct serials give distinct codes while the bodies look scattered
# rather than counting up.
_BODY_MULT: Final = 5_371_477_193
_BODY_OFFSET: Final = 1_234_567_891


def _body(n: int) -> str:
    chars = []
    for _ in range(9):
        n, r = divmod(n, 31)
        chars.append(ALPHABET[r])
    return "".join(reversed(chars))


def make_uscc(department: str, entity_type: str, region: str, body: str) -> str:
    """Assemble a valid code from its parts, computing the check character.

    >>> make_uscc("9", "1", "110108", "551385082")
    '91110108551385082Q'
    """
    first17 = f"{department}{entity_type}{region}{body}"
    problem = _explain_parts(department, entity_type, region, body)
    if problem:
        raise ValueError(problem)
    return first17 + check_character(first17)


def _explain_parts(department: str, entity_type: str, region: str, body: str) -> str | None:
    if department not in DEPARTMENTS:
        return f"unknown registering department {department!r}"
    if len(entity_type) != 1 or not _type_ok(department, entity_type):
        return f"entity type {entity_type!r} is not valid under department {department!r}"
    if len(region) != 6 or not region.isdigit():
        return f"region {region!r} is not six digits"
    if len(body) != 9 or any(c not in _VALUE for c in body):
        return f"body {body!r} is not nine GB 32100 characters"
    return None


def uscc_for_serial(serial: int, department: str = "9", entity_type: str = "1",
                    region: str = "360502") -> str:
    """The ``serial``-th generated code: deterministic and injective in ``serial``.

    Used by benchmarks that need a million distinct valid codes cheaply.

    >>> uscc_for_serial(0) != uscc_for_serial(1)
    True
    >>> validate_uscc(uscc_for_serial(123456, "N", "2", "360521")) is None
    True
    """
    if not 0 <= serial < _BODY_SPACE:
        raise ValueError(f"serial must be in [0, 31**9), got {serial}")
    body = _body((serial * _BODY_MULT + _BODY_OFFSET) % _BODY_SPACE)
    return make_uscc(department, entity_type, region, body)


def random_uscc(rng: random.Random, department: str = "9", entity_type: str = "1",
                region: str = "360502") -> str:
    """A valid code with a body drawn from ``rng`` (deterministic for a seeded rng)."""
    return make_uscc(department, entity_type, region, _body(rng.randrange(_BODY_SPACE)))
