"""Reference data: the closed vocabularies of the domain, as typed constants.

Each vocabulary has stable ASCII codes (what events, APIs and CSV files
store) and Chinese labels (what people read).  Codes never change once
shipped; labels may.  Result categories are the one list docs/domain.md calls
configurable (no single official code list exists), so they can be
overridden from a dict (e.g. loaded from the operator's JSON/TOML).

Import parsing accepts either the code or the Chinese label for every
vocabulary (``lookup`` tables below), so a file typed in Excel with
"个体工商户" works as well as one with "individual".

>>> RESULT_BY_CODE["no_issue"].label
'未发现问题'
>>> parse_code(ENTITY_TYPE_LOOKUP, "个体工商户")
'individual'
>>> [c.code for c in load_result_categories({"no_issue": "未发现问题(合格)"})][:2]
['no_issue', 'pending']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal, get_args

import msgspec

# ---------------------------------------------------------------------------
# Literal types: what the Structs of other modules annotate their fields with.

RiskClass = Literal["A", "B", "C", "D"]
EntityType = Literal["enterprise", "individual", "cooperative", "other"]
EntityStatus = Literal["active", "deregistered", "revoked", "moved"]
InspectorRole = Literal["enforcement", "expert"]
InspectorStatus = Literal["active", "suspended", "transferred", "retired"]
ItemStatus = Literal["active", "suspended", "withdrawn"]
TargetKind = Literal["entity", "product", "project", "behaviour"]
DepartmentLevel = Literal["national", "province", "city", "county"]
MethodCode = Literal["onsite", "written", "online", "testing", "agency", "adopted"]


class Term(msgspec.Struct, frozen=True):
    """One entry of a vocabulary: stable ASCII code, Chinese and English labels."""

    code: str
    label: str
    label_en: str


def _terms(*rows: tuple[str, str, str]) -> tuple[Term, ...]:
    return tuple(Term(*r) for r in rows)


RISK_CLASSES: Final = _terms(
    ("A", "信用风险低(A类)", "low risk"),
    ("B", "信用风险一般(B类)", "ordinary risk"),
    ("C", "信用风险较高(C类)", "higher risk"),
    ("D", "信用风险高(D类)", "high risk"),
)

ENTITY_TYPES: Final = _terms(
    ("enterprise", "企业", "enterprise"),
    ("individual", "个体工商户", "individual business"),
    ("cooperative", "农民专业合作社", "farmers' cooperative"),
    ("other", "其他", "other"),
)

ENTITY_STATUSES: Final = _terms(
    ("active", "存续", "active"),
    ("deregistered", "注销", "deregistered"),
    ("revoked", "吊销", "licence revoked"),
    ("moved", "迁出", "moved out"),
)

INSPECTOR_ROLES: Final = _terms(
    ("enforcement", "执法检查人员", "enforcement officer"),
    ("expert", "专家", "expert"),
)

# docs/domain.md names no inspector statuses; these are the states that
# matter to a draw: only "active" inspectors are drawn.
INSPECTOR_STATUSES: Final = _terms(
    ("active", "在岗", "active"),
    ("suspended", "暂停执法", "suspended"),
    ("transferred", "调离", "transferred out"),
    ("retired", "退休", "retired"),
)

ITEM_STATUSES: Final = _terms(
    ("active", "有效", "active"),
    ("suspended", "暂停", "suspended"),
    ("withdrawn", "已取消", "withdrawn"),
)

TARGET_KINDS: Final = _terms(
    ("entity", "市场主体", "market entity"),
    ("product", "产品", "product"),
    ("project", "项目", "project"),
    ("behaviour", "行为", "behaviour"),
)

DEPARTMENT_LEVELS: Final = _terms(
    ("national", "国家级", "national"),
    ("province", "省级", "province"),
    ("city", "市级", "city"),
    ("county", "县级", "county"),
)

INSPECTION_METHODS: Final = _terms(
    ("onsite", "实地检查", "on-site inspection"),
    ("written", "书面检查", "written (document) review"),
    ("online", "网络监测", "online monitoring"),
    ("testing", "检验检测", "testing"),
    ("agency", "委托专业机构", "entrusted professional body"),
    ("adopted", "行政部门检查结果或专业意见", "results or opinions of other authorities"),
)


# ---------------------------------------------------------------------------
# Result categories (抽查检查结果): configurable.


class ResultCategory(msgspec.Struct, frozen=True):
    """A result category: one box of the form's multi-select (result_categories.toml).

    ``problem`` says whether the category records a problem with the entity
    (credit feedback keys on it; follow-ups need one); ``entity_status`` is
    the status the category reveals, if any (e.g. 注销 -> deregistered);
    ``parent`` the node it nests under in the form's tree; ``group`` a set
    of which at most one may be selected; ``exclusive`` a category that must
    be the only selection (未发现问题).
    """

    code: str
    label: str
    label_en: str
    problem: bool
    entity_status: EntityStatus | None = None
    parent: str | None = None
    group: str | None = None
    exclusive: bool = False


class FollowUpKind(msgspec.Struct, frozen=True):
    """A follow-up measure (后续处置措施); ``needs_department`` for 抄告 (the department told)."""

    code: str
    label: str
    label_en: str
    needs_department: bool = False


class _ReferenceFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    category: tuple[ResultCategory, ...]
    follow_up: tuple[FollowUpKind, ...]


def _load_reference_file() -> _ReferenceFile:
    import tomllib
    from pathlib import Path

    text = (Path(__file__).with_name("result_categories.toml")).read_text(encoding="utf-8")
    return msgspec.convert(tomllib.loads(text), _ReferenceFile)


_SHIPPED: Final = _load_reference_file()
# The default tree: the national forms' list, as domain/result_categories.toml ships it (with its sources).
DEFAULT_RESULT_CATEGORIES: Final[tuple[ResultCategory, ...]] = _SHIPPED.category
FOLLOW_UP_KINDS: Final[tuple[FollowUpKind, ...]] = _SHIPPED.follow_up
FOLLOW_UP_BY_CODE: Final = {k.code: k for k in FOLLOW_UP_KINDS}

_CODE_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


class ReferenceDataError(ValueError):
    """Invalid reference-data configuration."""


def load_result_categories(
    override: Mapping[str, Any] | None = None,
    *,
    replace: bool = False,
) -> tuple[ResultCategory, ...]:
    """The result categories, with an operator's override applied.

    ``override`` maps a code to either a label string or a dict with any of
    ``label``, ``label_en``, ``problem``, ``entity_status``.  Existing codes
    are updated field by field, new codes appended (they need ``label`` and
    ``problem``), and a value of None removes a code.  ``replace=True``
    starts from an empty list instead of the defaults.  Codes are lower-case
    ASCII (``[a-z0-9_]``) because they are stored in events forever.

    >>> cats = load_result_categories({"fake_cert": {"label": "伪造证照", "problem": True},
    ...                                "closed": None})
    >>> [c.code for c in cats][-2:]
    ['moved', 'fake_cert']
    >>> load_result_categories({"Bad Code": "x"})
    Traceback (most recent call last):
    ...
    ledger.domain.reference.ReferenceDataError: result category code 'Bad Code': use lower-case ASCII letters, digits and '_'
    """
    current: dict[str, ResultCategory] = {} if replace else {c.code: c for c in DEFAULT_RESULT_CATEGORIES}
    for code, value in (override or {}).items():
        if not isinstance(code, str) or not code or not set(code) <= _CODE_CHARS:
            raise ReferenceDataError(
                f"result category code {code!r}: use lower-case ASCII letters, digits and '_'"
            )
        if value is None:
            current.pop(code, None)
            continue
        fields: dict[str, Any] = {"label": value} if isinstance(value, str) else dict(value)
        unknown = set(fields) - {"label", "label_en", "problem", "entity_status", "parent", "group", "exclusive"}
        if unknown:
            raise ReferenceDataError(f"result category {code!r}: unknown fields {sorted(unknown)}")
        base = current.get(code)
        if base is None:
            if "label" not in fields or "problem" not in fields:
                raise ReferenceDataError(f"new result category {code!r} needs 'label' and 'problem'")
            merged = {"code": code, "label_en": fields.get("label", ""), **fields}
        else:
            merged = {**msgspec.structs.asdict(base), **fields}
        try:
            cat = msgspec.convert(merged, ResultCategory)
        except msgspec.ValidationError as exc:
            raise ReferenceDataError(f"result category {code!r}: {exc}") from None
        if not cat.label.strip():
            raise ReferenceDataError(f"result category {code!r}: empty label")
        current[code] = cat
    labels: dict[str, str] = {}
    for cat in current.values():
        if cat.label in labels:
            raise ReferenceDataError(
                f"result categories {labels[cat.label]!r} and {cat.code!r} share the label {cat.label!r}"
            )
        labels[cat.label] = cat.code
    if not current:
        raise ReferenceDataError("no result categories left")
    for cat in current.values():
        if cat.parent is not None and (cat.parent not in current or cat.parent == cat.code):
            raise ReferenceDataError(f"result category {cat.code!r}: parent {cat.parent!r} is not a category")
    return tuple(current.values())


def check_selection(selected: tuple[str, ...], categories: tuple[ResultCategory, ...]) -> str | None:
    """Why a multi-select breaks the tree's rules, or None.

    >>> cats = load_result_categories()
    >>> check_selection(("no_issue", "corrected"), cats)
    '未发现问题 (no_issue) excludes every other category'
    >>> check_selection(("deregistered", "moved"), cats)
    'at most one of group status: deregistered, moved'
    >>> check_selection(("not_disclosed", "corrected"), cats) is None
    True
    """
    by_code = {c.code: c for c in categories}
    if not selected:
        return "select at least one category"
    if len(set(selected)) != len(selected):
        return "a category is selected twice"
    unknown = [c for c in selected if c not in by_code]
    if unknown:
        return f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}"
    for code in selected:
        if by_code[code].exclusive and len(selected) > 1:
            return f"{by_code[code].label} ({code}) excludes every other category"
    groups: dict[str, list[str]] = {}
    for code in selected:
        if by_code[code].group:
            groups.setdefault(by_code[code].group or "", []).append(code)
    for group, codes_ in groups.items():
        if len(codes_) > 1:
            return f"at most one of group {group}: {', '.join(codes_)}"
    return None


RESULT_BY_CODE: Final = {c.code: c for c in DEFAULT_RESULT_CATEGORIES}


# ---------------------------------------------------------------------------
# Lookup tables for parsing: code, label (and a few common synonyms) -> code.


def lookup_table(terms: Iterable[Term | ResultCategory], **synonyms: str) -> dict[str, str]:
    """Map each code (also lower-cased) and Chinese label to its code."""
    table: dict[str, str] = {}
    for t in terms:
        table[t.code] = t.code
        table[t.code.lower()] = t.code
        table[t.label] = t.code
    # Synonyms are given as code=label1|label2 because keyword names are codes.
    for code, labels in synonyms.items():
        for label in labels.split("|"):
            table[label] = code
    return table


RISK_CLASS_LOOKUP: Final = lookup_table(
    RISK_CLASSES, A="低风险|A类", B="一般风险|B类", C="较高风险|C类", D="高风险|D类"
)
ENTITY_TYPE_LOOKUP: Final = lookup_table(
    ENTITY_TYPES, enterprise="公司|企业法人", individual="个体户", cooperative="合作社|专业合作社"
)
ENTITY_STATUS_LOOKUP: Final = lookup_table(
    ENTITY_STATUSES, active="在业|开业|在营|存续(在营、开业、在册)", deregistered="已注销",
    revoked="已吊销", moved="已迁出",
)
INSPECTOR_ROLE_LOOKUP: Final = lookup_table(INSPECTOR_ROLES, enforcement="执法人员|执法")
INSPECTOR_STATUS_LOOKUP: Final = lookup_table(INSPECTOR_STATUSES)
ITEM_STATUS_LOOKUP: Final = lookup_table(ITEM_STATUSES)
TARGET_KIND_LOOKUP: Final = lookup_table(TARGET_KINDS, entity="企业|检查对象")
DEPARTMENT_LEVEL_LOOKUP: Final = lookup_table(
    DEPARTMENT_LEVELS, national="国家|中央", province="省|省级", city="市|地市|市级", county="县|区|县区|县级"
)
METHOD_LOOKUP: Final = lookup_table(INSPECTION_METHODS, agency="委托第三方")


def parse_code(table: Mapping[str, str], value: str) -> str | None:
    """The code for ``value`` (a code or a label), or None if unknown."""
    code = table.get(value)
    if code is None:
        code = table.get(value.lower())
    return code


def codes(terms: Iterable[Term | ResultCategory]) -> tuple[str, ...]:
    """The codes of a vocabulary, in order."""
    return tuple(t.code for t in terms)


# The Literal types and the tuples must agree; a mismatch is a programming
# error caught at import time rather than by a confused user.
for _lit, _terms_ in (
    (RiskClass, RISK_CLASSES),
    (EntityType, ENTITY_TYPES),
    (EntityStatus, ENTITY_STATUSES),
    (InspectorRole, INSPECTOR_ROLES),
    (InspectorStatus, INSPECTOR_STATUSES),
    (ItemStatus, ITEM_STATUSES),
    (TargetKind, TARGET_KINDS),
    (DepartmentLevel, DEPARTMENT_LEVELS),
    (MethodCode, INSPECTION_METHODS),
):
    assert get_args(_lit) == codes(_terms_), (_lit, codes(_terms_))
