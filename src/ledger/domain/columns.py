"""The import columns' headers: canonical names, Chinese aliases, code columns.

One table, used by every reader (CSV and workbooks), by the import
templates and by docs/imports.md.  A header cell is read as a column when,
after normalising (trimmed, lower case, inner spaces and a required-mark
``*`` removed), it is

* the canonical name (``uscc``; ``region code`` and ``region-code`` too),
* one of the column's Chinese labels (``统一社会信用代码``), or
* a label followed by the canonical name in brackets, as the templates
  write them (``统一社会信用代码(uscc)``, full-width brackets too); the two
  must agree.

Labels are per kind: ``部门`` is ``department`` in an item list and
``departments`` in the target pool.

CODE_COLUMNS are the columns whose values are identifiers made of digits
and letters (USCC, badge, region, department, item codes...).  A workbook
cell there must be text: a number cell has already lost leading zeros or
digits (``0012`` -> 12, an 18-digit code -> 9.1e17), so it is refused
(workbook_rows.py) rather than guessed back.

>>> canonical("entities", " 统一社会信用代码 ")
'uscc'
>>> canonical("entities", "*企业名称"), canonical("items", "部门"), canonical("entities", "部门")
('name', 'department', 'departments')
>>> canonical("inspectors", "执法证有效期至（certificate_valid_until）")
'certificate_valid_until'
>>> canonical("entities", "名称(uscc)") is None   # label and name disagree
True
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["LABELS", "CODE_COLUMNS", "DERIVED_COLUMNS", "canonical", "header_of"]

_UNIT: Final = ("行政区划", "行政区划代码", "区划代码", "所属区域", "区域代码")
_USCC: Final = ("统一社会信用代码", "社会信用代码", "信用代码", "统一代码")
_RISK: Final = ("风险等级", "信用风险分类", "信用风险等级", "风险分类", "信用风险类别")
_STATUS: Final = ("状态",)
_BADGE: Final = ("人员编号", "检查人员编号", "执法人员编号", "工号", "编号")

# kind -> column -> Chinese labels; the first label is the template's header.
LABELS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "departments": {
        "code": ("部门代码", "部门编码", "单位代码", "代码"),
        "name": ("部门名称", "名称", "单位名称"),
        "level": ("层级", "部门层级", "级别"),
        "region_code": _UNIT,
        "parent": ("上级部门", "上级部门代码", "上级单位"),
    },
    "items": {
        "code": ("事项编码", "事项代码", "抽查事项编码", "编码"),
        "name": ("事项名称", "抽查事项名称", "名称"),
        "department": ("实施部门", "部门", "部门代码", "检查部门"),
        "legal_basis": ("检查依据", "抽查依据", "法律依据", "依据"),
        "content": ("检查内容", "抽查内容", "内容"),
        "methods": ("检查方式", "抽查方式", "方式"),
        "target_kind": ("检查对象类型", "抽查对象类型", "对象类型"),
        "key_item": ("重点检查事项", "是否重点", "事项类别"),
        "status": _STATUS,
    },
    "entities": {
        "uscc": _USCC,
        "name": ("企业名称", "名称", "主体名称", "市场主体名称"),
        "entity_type": ("主体类型", "市场主体类型", "类型"),
        "region_code": _UNIT,
        "industry": ("行业", "行业代码", "国民经济行业", "行业分类"),
        "risk_class": _RISK,
        "departments": ("监管部门", "部门", "监管部门代码"),
        "status": ("登记状态", "经营状态", "状态"),
    },
    "inspectors": {
        "badge": _BADGE,
        "name": ("姓名", "名称"),
        "department": ("所属部门", "部门", "部门代码", "单位"),
        "region_code": _UNIT,
        "role": ("人员类别", "人员类型", "类别", "角色"),
        "qualifications": ("检查资格", "资格", "执法资格", "可检查事项"),
        "expertise": ("专业领域", "专业", "专长"),
        "status": _STATUS,
        "certificate_no": ("执法证号", "执法证编号", "执法证件号"),
        "certificate_valid_until": ("执法证有效期至", "有效期至", "执法证有效期"),
    },
    "conflicts": {
        "badge": _BADGE,
        "uscc": _USCC,
        "reason": ("回避原因", "回避事由", "原因"),
    },
    "reclassifications": {
        "uscc": _USCC,
        "risk_class": _RISK,
    },
}

# Identifier columns: a workbook cell there must be text (see the module doc).
CODE_COLUMNS: Final = frozenset({
    "code", "parent", "department", "departments", "uscc", "badge", "region_code", "industry",
    "qualifications", "certificate_no",
})

# Columns an export carries that an import recomputes: accepted and ignored,
# so that a pool exported as CSV or xlsx imports back unchanged.  Whether a
# bad check character is accepted is the importer's --accept-bad-check.
DERIVED_COLUMNS: Final = frozenset({"check_ok"})

_SPACES: Final = re.compile(r"[\s\u3000]+")
_BRACKETED: Final = re.compile(r"(.*?)[(（]([a-z_]+)[)）]")
_ALIASES: Final[dict[str, dict[str, str]]] = {
    kind: {label: column for column, labels in columns.items() for label in labels}
    for kind, columns in LABELS.items()
}


def _plain(header: str) -> str:
    text = _SPACES.sub(" ", header.strip().lstrip("\ufeff").strip("*＊").strip()).lower()
    return text


def canonical(kind: str, header: str) -> str | None:
    """The canonical column a header names in `kind`, or None if it names none."""
    text = _plain(header)
    columns = LABELS[kind]
    english = text.replace(" ", "_").replace("-", "_")
    if english in columns or english in DERIVED_COLUMNS:
        return english
    aliases = _ALIASES[kind]
    label = text.replace(" ", "")
    if label in aliases:
        return aliases[label]
    m = _BRACKETED.fullmatch(label)
    if m is not None and m.group(2) in columns and aliases.get(m.group(1).strip("*＊")) == m.group(2):
        return m.group(2)
    return None


def header_of(kind: str, column: str) -> str:
    """The bilingual header the templates write: ``统一社会信用代码(uscc)``."""
    return f"{LABELS[kind][column][0]}({column})"
