"""A deterministic, realistic demo city: departments, item list and both pools.

Modelled on 新余市 (Xinyu, Jiangxi; GB/T 2260 360500), the city of the
article the project grew from, with its districts 渝水区 (360502) and
分宜县 (360521).  The full city adds the two functional zones 仙女湖区 and
高新区 (新余高新技术产业开发区): they have no GB/T 2260 code of their own, so
their firms carry the code of the district they lie in (渝水区) and the zone
shows in the market-regulation branch bureau responsible for them.  Its
60,000 firms are mostly 个体工商户 and enterprises (some of them branches,
分公司), with a few 农民专业合作社 and others; risk classes are mostly A and B.
Everything comes from one ``random.Random(seed)`` and plain lists (never set
iteration order), so the same seed gives the same city on every machine and
Python version.

The city is expressed in the import rows of :mod:`ledger.domain.rows`, and
:func:`to_csv` writes them as CSV, so the demo goes through the same import
path as a user's files.  A few entities have a wrong USCC check character
(``check_ok=False``): import them with ``accept_bad_check=True``, as an
operator would after review.

>>> city = generate_city(seed=7, small=True)
>>> len(city.departments), len(city.items) >= 40, 250 <= len(city.entities) <= 350
(10, True, True)
>>> generate_city(seed=7, small=True) == city
True
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from typing import Any, Final

import msgspec

from ledger.domain.uscc import ALPHABET, random_uscc
from ledger.domain.rows import (
    ConflictRow,
    DepartmentRow,
    EntityRow,
    InspectorRow,
    ItemRow,
    Kind,
    rows_to_csv,
)

__all__ = ["City", "generate_city", "to_csv", "CITY_REGION"]

CITY_NAME: Final = "新余市"
CITY_REGION: Final = "360500"

class City(msgspec.Struct, frozen=True):
    """A generated city, as import rows."""

    seed: int
    small: bool
    name: str
    region_code: str
    departments: tuple[DepartmentRow, ...]
    items: tuple[ItemRow, ...]
    entities: tuple[EntityRow, ...]
    inspectors: tuple[InspectorRow, ...]
    conflicts: tuple[ConflictRow, ...]

    def rows(self, kind: Kind) -> tuple[Any, ...]:
        return {
            "departments": self.departments,
            "items": self.items,
            "entities": self.entities,
            "inspectors": self.inspectors,
            "conflicts": self.conflicts,
        }[kind]  # type: ignore[index]


def to_csv(rows: Iterable[Any], kind: Kind, *, encoding: str = "utf-8") -> bytes:
    """CSV bytes for ``rows`` that the importer parses back to identical rows."""
    return rows_to_csv(rows, kind, encoding=encoding)


# ---------------------------------------------------------------------------
# Departments: (code, name, short tag used in badges).

SAMR: Final = "XY-SCJG"
_CITY_DEPTS: Final = (
    (SAMR, "新余市市场监督管理局"),
    ("XY-STHJ", "新余市生态环境局"),
    ("XY-YJGL", "新余市应急管理局"),
    ("XY-WSJK", "新余市卫生健康委员会"),
    ("XY-JTYS", "新余市交通运输局"),
    ("XY-WGLT", "新余市文化广电新闻出版旅游局"),
    ("XY-NYNC", "新余市农业农村局"),
    ("XY-ZFJS", "新余市住房和城乡建设局"),
)
# County-level market regulation bureaus under the city bureau, as zones firms are in:
# (bureau code, bureau name, GB/T 2260 code of the firms' district, place name in firm names, weight).
Zone = tuple[str, str, str, str, int]
_COUNTY_SAMR: Final[tuple[Zone, ...]] = (
    ("YS-SCJG", "新余市渝水区市场监督管理局", "360502", "渝水区", 7),
    ("FY-SCJG", "分宜县市场监督管理局", "360521", "分宜县", 3),
)
# The full city: the districts and the two functional zones (firms there carry 渝水区's code).
_FULL_ZONES: Final[tuple[Zone, ...]] = (
    ("YS-SCJG", "新余市渝水区市场监督管理局", "360502", "渝水区", 46),
    ("FY-SCJG", "分宜县市场监督管理局", "360521", "分宜县", 24),
    ("XNH-SCJG", "新余市市场监督管理局仙女湖区分局", "360502", "仙女湖区", 10),
    ("GX-SCJG", "新余市市场监督管理局高新技术产业开发区分局", "360502", "高新区", 20),
)


# ---------------------------------------------------------------------------
# The item list: department -> (name, legal basis, content, methods, target, key).
# Laws are cited by name; article numbers only where the article is the
# inspection power itself.

_ITEMS: Final[dict[str, tuple[tuple[str, str, str, str, str, bool], ...]]] = {
    SAMR: (
        ("企业公示信息的检查", "《企业信息公示暂行条例》第十四条", "年度报告公示信息、即时公示信息的真实性", "written;adopted", "entity", False),
        ("食品生产者生产行为的检查", "《中华人民共和国食品安全法》第一百一十条", "生产环境、进货查验、出厂检验、标签标识", "onsite;testing", "entity", True),
        ("食品销售者经营行为的检查", "《中华人民共和国食品安全法》第一百一十条", "进货查验记录、贮存条件、过期食品处置", "onsite", "entity", False),
        ("餐饮服务经营者经营行为的检查", "《中华人民共和国食品安全法》第一百一十条", "许可资质、从业人员健康证明、加工操作规范", "onsite", "entity", True),
        ("产品质量监督抽查", "《中华人民共和国产品质量法》第十五条", "产品质量是否符合标准", "testing", "product", True),
        ("特种设备使用单位的监督检查", "《中华人民共和国特种设备安全法》", "使用登记、定期检验、作业人员持证", "onsite", "entity", True),
        ("计量器具的监督检查", "《中华人民共和国计量法》", "强制检定计量器具的检定情况", "onsite;testing", "entity", False),
        ("广告发布行为的检查", "《中华人民共和国广告法》", "广告内容真实性、合法性", "online;written", "behaviour", False),
        ("价格行为的检查", "《中华人民共和国价格法》", "明码标价、价格欺诈", "onsite", "behaviour", False),
        ("药品零售企业经营行为的检查", "《中华人民共和国药品管理法》", "处方药销售、药品储存、执业药师在岗", "onsite", "entity", True),
        ("网络交易经营者的检查", "《网络交易监督管理办法》", "亮照亮证、商品信息披露", "online", "entity", False),
    ),
    "XY-STHJ": (
        ("排污单位污染物排放情况的检查", "《中华人民共和国环境保护法》", "污染物排放是否达标", "onsite;testing", "entity", True),
        ("排污许可证执行情况的检查", "《排污许可管理条例》", "按证排污、台账记录、执行报告", "written;onsite", "entity", False),
        ("建设项目环境影响评价制度执行情况的检查", "《中华人民共和国环境影响评价法》", "环评审批与“三同时”", "written;onsite", "project", False),
        ("危险废物规范化管理的检查", "《中华人民共和国固体废物污染环境防治法》", "贮存、转移联单、处置去向", "onsite", "entity", True),
        ("污染源自动监控设施运行情况的检查", "《污染源自动监控管理办法》", "自动监控数据真实性与联网", "online", "entity", False),
    ),
    "XY-YJGL": (
        ("危险化学品企业安全生产的检查", "《危险化学品安全管理条例》", "安全生产许可、重大危险源管控", "onsite", "entity", True),
        ("工贸企业安全生产条件的检查", "《中华人民共和国安全生产法》", "安全管理制度、隐患排查治理", "onsite", "entity", False),
        ("安全生产培训情况的检查", "《安全生产培训管理办法》", "主要负责人和安全管理人员培训", "written", "entity", False),
        ("烟花爆竹经营单位的检查", "《烟花爆竹安全管理条例》", "经营许可、储存条件", "onsite", "entity", False),
        ("非煤矿山安全生产的检查", "《中华人民共和国矿山安全法》", "安全设施、通风、应急预案", "onsite;agency", "entity", True),
    ),
    "XY-WSJK": (
        ("公共场所卫生的检查", "《公共场所卫生管理条例》", "卫生许可、从业人员健康检查、空气与用品卫生", "onsite;testing", "entity", False),
        ("生活饮用水卫生的检查", "《中华人民共和国传染病防治法》", "供水单位卫生许可、水质检测", "testing", "entity", False),
        ("医疗机构依法执业的检查", "《医疗机构管理条例》", "执业许可、人员资质、诊疗科目", "onsite", "entity", True),
        ("职业卫生的检查", "《中华人民共和国职业病防治法》", "职业病危害申报、检测与体检", "onsite;testing", "entity", False),
    ),
    "XY-JTYS": (
        ("道路运输企业经营行为的检查", "《中华人民共和国道路运输条例》", "经营许可、车辆技术档案、驾驶员从业资格", "onsite;written", "entity", False),
        ("机动车维修经营者的检查", "《机动车维修管理规定》", "维修备案、维修质量与结算", "onsite", "entity", False),
        ("机动车驾驶员培训机构的检查", "《机动车驾驶员培训管理规定》", "教学设施、教练员、培训记录", "onsite", "entity", False),
        ("危险货物道路运输的检查", "《危险货物道路运输安全管理办法》", "托运、装卸、运输车辆与人员", "onsite", "entity", True),
    ),
    "XY-WGLT": (
        ("旅行社经营行为的检查", "《旅行社条例》", "经营许可、旅游合同、质量保证金", "written", "entity", False),
        ("娱乐场所经营活动的检查", "《娱乐场所管理条例》", "经营许可、营业时间、未成年人保护", "onsite", "entity", False),
        ("互联网上网服务营业场所的检查", "《互联网上网服务营业场所管理条例》", "实名登记、接纳未成年人", "onsite;online", "entity", False),
        ("A级旅游景区的检查", "《中华人民共和国旅游法》", "安全设施、服务质量、最大承载量", "onsite", "entity", False),
    ),
    "XY-NYNC": (
        ("农药经营的检查", "《农药管理条例》", "经营许可、购销台账、禁限用农药", "onsite;testing", "entity", False),
        ("种子生产经营的检查", "《中华人民共和国种子法》", "生产经营许可、标签、档案", "onsite", "entity", False),
        ("兽药经营的检查", "《兽药管理条例》", "经营许可、进货查验、处方药管理", "onsite", "entity", False),
        ("农产品质量安全的检查", "《中华人民共和国农产品质量安全法》", "农药兽药残留", "testing", "product", True),
    ),
    "XY-ZFJS": (
        ("建筑施工企业资质的检查", "《建设工程质量管理条例》", "资质条件、人员配备", "written;onsite", "entity", False),
        ("房地产开发企业经营行为的检查", "《城市房地产开发经营管理条例》", "预售许可、合同备案", "written", "entity", False),
        ("建设工程质量的检查", "《建设工程质量管理条例》", "工程实体质量、材料检测", "onsite;agency", "project", True),
        ("物业服务企业的检查", "《物业管理条例》", "服务合同履行、收费公示", "written", "entity", False),
    ),
}


# ---------------------------------------------------------------------------
# Entities: industries with the words that make a name and the departments
# that supervise them besides market regulation.
# (GB/T 4754-2017 code, trade word, entity types it suits, extra departments)

_INDUSTRIES: Final = (
    ("C3110", "钢铁", ("enterprise",), ("XY-STHJ", "XY-YJGL")),
    ("C3031", "建材", ("enterprise",), ("XY-STHJ", "XY-YJGL")),
    ("C2614", "化工", ("enterprise",), ("XY-STHJ", "XY-YJGL")),
    ("C3825", "光伏科技", ("enterprise",), ("XY-STHJ",)),
    ("C1391", "食品", ("enterprise", "individual"), ()),
    ("F5212", "商贸", ("enterprise", "individual"), ()),
    ("F5213", "便利店", ("individual",), ()),
    ("F5251", "医药", ("enterprise", "individual"), ()),
    ("H6210", "餐饮", ("enterprise", "individual"), ("XY-WSJK",)),
    ("H6220", "小吃店", ("individual",), ()),
    ("H6110", "宾馆", ("enterprise", "individual"), ("XY-WSJK", "XY-WGLT")),
    ("G5430", "物流", ("enterprise",), ("XY-JTYS",)),
    ("O8111", "汽车维修", ("enterprise", "individual"), ("XY-JTYS",)),
    ("I6513", "信息科技", ("enterprise",), ()),
    ("E4710", "建筑工程", ("enterprise",), ("XY-ZFJS",)),
    ("K7010", "房地产开发", ("enterprise",), ("XY-ZFJS",)),
    ("O8040", "理发店", ("individual",), ("XY-WSJK",)),
    ("R9011", "文化传媒", ("enterprise",), ("XY-WGLT",)),
    ("A0141", "蔬菜种植", ("cooperative",), ("XY-NYNC",)),
    ("A0313", "生猪养殖", ("cooperative", "enterprise"), ("XY-NYNC", "XY-STHJ")),
    ("A0412", "水产养殖", ("cooperative",), ("XY-NYNC",)),
    ("F5166", "农资", ("enterprise", "individual"), ("XY-NYNC",)),
    ("L7291", "旅行社", ("enterprise",), ("XY-WGLT",)),
    ("Q8412", "诊所", ("other",), ("XY-WSJK",)),
    ("A0190", "集体经济", ("other",), ("XY-NYNC",)),
)

# Characters for 字号 (trade names): common, auspicious, local.
_ZIHAO: Final = ("鑫", "盛", "华", "昌", "瑞", "隆", "兴", "源", "泰", "恒", "达", "信", "诚", "祥",
                 "宏", "福", "丰", "嘉", "新", "钰", "赣", "仙", "湖", "袁", "河", "江", "明", "远",
                 "金", "旺", "润", "禾", "安", "康", "和", "益", "德", "佳", "翔", "腾", "峰", "豪")
_SURNAMES: Final = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "胡", "朱",
                    "高", "林", "何", "郭", "罗", "钟", "袁", "彭", "邹", "熊", "晏", "敖", "黎", "简")
_GIVEN: Final = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
                 "涛", "明", "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "文", "辉", "红",
                 "志", "勤", "斌", "俊", "婷", "雪", "琴", "云", "鹏", "飞", "晨", "宇")
_FORMS: Final = (("有限公司", 6), ("有限责任公司", 3), ("股份有限公司", 1))

_EXPERTISE: Final[dict[str, tuple[str, ...]]] = {
    SAMR: ("食品安全", "特种设备", "计量", "广告监管", "价格监管", "药品监管", "网络交易", "产品质量"),
    "XY-STHJ": ("大气污染防治", "水污染防治", "危险废物", "环境监测"),
    "XY-YJGL": ("危险化学品", "非煤矿山", "工贸安全", "烟花爆竹"),
    "XY-WSJK": ("公共卫生", "职业卫生", "医疗监管", "饮用水卫生"),
    "XY-JTYS": ("道路运输", "危险货物运输", "机动车维修"),
    "XY-WGLT": ("文化市场", "旅游市场", "网络文化"),
    "XY-NYNC": ("农药", "种子", "兽药", "农产品质量"),
    "XY-ZFJS": ("工程质量", "建筑市场", "物业管理"),
}
_EXPERT_BODIES: Final = ("新余市检验检测中心", "江西省产品质量监督检测院", "新余学院", "江西省环境监测中心站")

_CONFLICT_REASONS: Final = ("近亲属在该企业担任高级管理人员", "三年内曾在该企业任职",
                            "与该企业负责人存在经济往来", "曾为该企业提供有偿咨询服务")


def _weighted(rng: random.Random, options: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _person_name(rng: random.Random) -> str:
    given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(_SURNAMES) + given


def _departments(zones: Sequence[Zone]) -> list[DepartmentRow]:
    rows = [DepartmentRow(code, name, "city", CITY_REGION, None) for code, name in _CITY_DEPTS]
    rows += [DepartmentRow(code, name, "county", region, SAMR) for code, name, region, _, _ in zones]
    return rows


def _items() -> list[ItemRow]:
    rows = []
    for dept, items in _ITEMS.items():
        for n, (name, basis, content, methods, target, key) in enumerate(items, 1):
            rows.append(ItemRow(
                code=f"{dept}-{n:03d}", name=name, department=dept, legal_basis=basis,
                content=content, methods=tuple(methods.split(";")),  # type: ignore[arg-type]
                target_kind=target, key_item=key,  # type: ignore[arg-type]
            ))
    return rows


def _bad_check(code: str, rng: random.Random) -> str:
    """The same code with a different (wrong) check character."""
    wrong = rng.choice([c for c in ALPHABET if c != code[17]])
    return code[:17] + wrong


# Entity types: (type, weight); the full city is mostly 个体工商户, as real registers are.
_SMALL_TYPES: Final = (("enterprise", 60), ("individual", 35), ("cooperative", 3), ("other", 2))
_FULL_TYPES: Final = (("enterprise", 33), ("individual", 62), ("cooperative", 3), ("other", 2))
_BRANCH_SHARE: Final = 0.08  # of the full city's enterprises: 分公司 of a firm registered elsewhere


def _entities(rng: random.Random, n: int, zones: Sequence[Zone], types: Sequence[tuple[str, int]],
              branch_share: float = 0.0) -> list[EntityRow]:
    seen_codes: set[str] = set()
    seen_names: set[str] = set()
    by_type: dict[str, list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]] = {}
    for ind in _INDUSTRIES:
        for t in ind[2]:
            by_type.setdefault(t, []).append(ind)
    rows = []
    for _ in range(n):
        etype = _weighted(rng, types)
        industry, word, _types, extra = rng.choice(by_type[etype])
        bureau, _, region, place, _ = _weighted(rng, [(zone, zone[4]) for zone in zones])
        if etype == "enterprise":
            reg = CITY_REGION if rng.random() < 0.3 else region  # city bureau registers some
            code = random_uscc(rng, "9", "1", reg)
            form = _weighted(rng, _FORMS)
            prefix = rng.choice(("新余", "新余市", "江西", place))
            base = f"{prefix}{rng.choice(_ZIHAO)}{rng.choice(_ZIHAO)}{word}{form}"
            if branch_share and rng.random() < branch_share:  # registered here, its head office elsewhere
                home = rng.choice(("江西", "南昌", "宜春", "萍乡", "湖南", "广东"))
                base = f"{home}{rng.choice(_ZIHAO)}{rng.choice(_ZIHAO)}{word}{form}{place}分公司"
        elif etype == "individual":
            code = random_uscc(rng, "9", "2", region)
            shop = word if word.endswith("店") else word + rng.choice(("店", "行", "经营部"))
            base = f"{place}{_person_name(rng)}{shop}"
        elif etype == "cooperative":
            code = random_uscc(rng, "9", "3", region)
            base = f"{place}{rng.choice(_ZIHAO)}{rng.choice(_ZIHAO)}{word}专业合作社"
        else:
            # Letter and non-market departments: village collectives (N2) and
            # private non-enterprise clinics (52) are in real target pools.
            if word == "集体经济":
                code = random_uscc(rng, "N", "2", region)
                base = f"{place}{rng.choice(_ZIHAO)}{rng.choice(('家村', '塘村', '坊村'))}股份经济合作社"
            else:
                code = random_uscc(rng, "5", "2", region)
                base = f"{place}{_person_name(rng)}诊所"
        while code in seen_codes:  # astronomically rare, but keys must be unique
            code = random_uscc(rng, code[0], code[1], code[2:8])
        seen_codes.add(code)
        name, k = base, 2
        while name in seen_names:
            # Same-name firms cannot register in one place: disambiguate the
            # way real registers do (a numbered branch or trade name).
            if etype == "individual" or word not in base:
                name = f"{base}（第{k}分店）"
            else:
                name = base.replace(word, f"{word}{k}号", 1)
            k += 1
        seen_names.add(name)
        check_ok = True
        if rng.random() < 0.005:
            bad = _bad_check(code, rng)
            if bad not in seen_codes:  # else keep the valid code: keys stay unique
                code, check_ok = bad, False
                seen_codes.add(code)
        rows.append(EntityRow(
            uscc=code, name=name, entity_type=etype, region_code=region, industry=industry,
            risk_class=_weighted(rng, (("A", 60), ("B", 30), ("C", 8), ("D", 2))),
            departments=(SAMR, bureau, *extra),
            status=_weighted(rng, (("active", 965), ("deregistered", 20), ("revoked", 10), ("moved", 5))),
            check_ok=check_ok,
        ))
    return rows


def _certificate(badge: str, region: str, fixed: bool) -> dict[str, str]:
    """An officer's 执法证 (number, last valid day), from its badge alone (the seeded generator
    stays as it was). About 1 in 16 has none, 1 in 16 one that expired in 2025 and 1 in 16 one
    that expires inside the demo's spring window (2026-04-30): those are never drawn for a task
    whose window they do not cover. The fixed officers that staff the small city always hold one."""
    h = hashlib.sha256(badge.encode()).digest()
    number = f"{region}{int.from_bytes(h[:4], 'big') % 10**8:08d}"
    kind = 3 if fixed else h[4] % 16
    if kind == 0:
        return {}
    until = {1: "2025-12-31", 2: "2026-04-30"}.get(kind, f"{2028 + h[5] % 3}-12-31")
    return {"certificate_no": number, "certificate_valid_until": until}


def _inspectors(rng: random.Random, n: int, items: list[ItemRow], zones: Sequence[Zone]) -> list[InspectorRow]:
    depts = [(code, CITY_REGION) for code, _ in _CITY_DEPTS]
    depts += [(code, region) for code, _, region, _, _ in zones]
    # Market regulation (city and county) has most of the enforcement staff; in the full city
    # most of it sits in the city bureau, whose items the year's tasks inspect.
    share = {SAMR: 4, "SCJG": 4, "": 1} if len(zones) == len(_COUNTY_SAMR) else {SAMR: 8, "SCJG": 1, "": 2}
    weights = [(d, share[d[0]] if d[0] == SAMR else share["SCJG" if d[0].endswith("SCJG") else ""]) for d in depts]
    # A badge names the region and the department; the zones' bureaus share 渝水区's code, so
    # theirs take the bureau's own tag (XNH, GX) instead of "SCJG".
    badge_tags: dict[str, str] = {}
    for code, region in depts:
        taken = (region, code[-4:]) in {(r, badge_tags[c]) for c, r in depts if c in badge_tags}
        badge_tags[code] = code.split("-")[0] if taken else code[-4:]
    items_of: dict[str, list[str]] = {}
    for it in items:
        items_of.setdefault(it.department, []).append(it.code)
    counters: dict[str, int] = {}
    rows = []
    for k in range(n):
        # The first two officers of every department are fixed, so that even
        # the small city can staff a target with the two officers required.
        if k < 2 * len(depts):
            (dept, region), expert = depts[k // 2], False
        else:
            dept, region = _weighted(rng, weights)
            expert = rng.random() < 0.1
        home = SAMR if dept.endswith("SCJG") else dept  # county bureaus run the city's SAMR items
        counters[dept] = counters.get(dept, 0) + 1
        own_items = items_of[home]
        quals = tuple(sorted(rng.sample(own_items, k=rng.randint(1, len(own_items)))))
        tags = tuple(rng.sample(_EXPERTISE[home], k=rng.randint(1, 2)))
        if expert:
            badge = f"ZJ-{dept}-{counters[dept]:04d}"
            tags = (*tags, rng.choice(_EXPERT_BODIES))
        else:
            badge = f"{region}{badge_tags[dept]}{counters[dept]:04d}"
        rows.append(InspectorRow(
            badge=badge, name=_person_name(rng), department=dept, region_code=region,
            role="expert" if expert else "enforcement", qualifications=quals, expertise=tags,
            status=_weighted(rng, (("active", 94), ("suspended", 2), ("transferred", 3), ("retired", 1))),
            **({} if expert else _certificate(badge, region, fixed=k < 2 * len(depts))),
        ))
    return rows


def _conflicts(rng: random.Random, n: int, inspectors: list[InspectorRow],
               entities: list[EntityRow]) -> list[ConflictRow]:
    pairs: dict[tuple[str, str], ConflictRow] = {}
    while len(pairs) < n:
        ins, ent = rng.choice(inspectors), rng.choice(entities)
        key = (ins.badge, ent.uscc)
        if key not in pairs:
            pairs[key] = ConflictRow(ins.badge, ent.uscc, rng.choice(_CONFLICT_REASONS), ent.check_ok)
    return list(pairs.values())


def generate_city(seed: int, small: bool) -> City:
    """The demo city for ``seed``: 300 entities and 40 inspectors in two districts if
    ``small``, else 60,000 entities and 330 inspectors (about 30 of them experts) in two
    districts and two functional zones."""
    rng = random.Random(seed)
    zones = _COUNTY_SAMR if small else _FULL_ZONES
    departments = _departments(zones)
    items = _items()
    if small:
        entities = _entities(rng, 300, zones, _SMALL_TYPES)
    else:
        entities = _entities(rng, 60_000, zones, _FULL_TYPES, _BRANCH_SHARE)
    inspectors = _inspectors(rng, 40 if small else 330, items, zones)
    conflicts = _conflicts(rng, 5 if small else 60, inspectors, entities)
    return City(
        seed=seed, small=small, name=CITY_NAME, region_code=CITY_REGION,
        departments=tuple(departments), items=tuple(items), entities=tuple(entities),
        inspectors=tuple(inspectors), conflicts=tuple(conflicts),
    )
