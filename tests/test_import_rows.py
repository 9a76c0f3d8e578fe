"""CSV row parsing: encodings, line numbers, every error, duplicates, bad check characters."""

from __future__ import annotations

import io

import pytest

from ledger.domain.uscc import uscc_for_serial
from ledger.domain.rows import (
    COLUMNS,
    EntityRow,
    InspectorRow,
    ItemRow,
    iter_rows,
    parse_industry,
    parse_rows,
    rows_to_csv,
)

XIAOMI = "91110108551385082Q"
XIAOMI_BAD = "91110108551385082X"
HEADER = "uscc,name,entity_type,region_code,industry,risk_class,departments,status\n"


def entity_line(i: int, **over: str) -> str:
    cells = {
        "uscc": uscc_for_serial(i), "name": f"新余市第{i}号商贸有限公司", "entity_type": "enterprise",
        "region_code": "360502", "industry": "F5212", "risk_class": "ABCD"[i % 4],
        "departments": "XY-SCJG", "status": "active",
    }
    cells.update(over)
    return ",".join(cells[c] for c in COLUMNS["entities"]) + "\n"


def errors_of(data: bytes, kind: str = "entities", **kw: object) -> list[tuple[int, str | None, str]]:
    r = parse_rows(kind, data, **kw)  # type: ignore[arg-type]
    assert r.rows == [] or not r.errors
    return [(e.line, e.column, e.reason) for e in r.errors]


def test_minimal_entity_file() -> None:
    data = ("uscc,name,entity_type,region_code,industry,risk_class\n"
            f"{XIAOMI},小米科技有限责任公司,企业,110108,I6513,a\n").encode()
    r = parse_rows("entities", data)
    assert r.ok
    assert r.rows == [EntityRow(XIAOMI, "小米科技有限责任公司", "enterprise", "110108", "I6513", "A")]
    assert r.lines == [2]


def test_gb18030_file_bytes() -> None:
    text = HEADER + entity_line(1, name="分宜县鑫盛农资经营部", entity_type="个体工商户")
    data = text.encode("gb18030")
    assert data != text.encode("utf-8")
    r = parse_rows("entities", data, encoding="gb18030")
    assert r.ok, r.errors
    assert r.rows[0].name == "分宜县鑫盛农资经营部"
    assert r.rows[0].entity_type == "individual"
    # The same bytes read as UTF-8 fail with the line named and a hint.
    errs = errors_of(data)
    assert errs and errs[0][0] == 2 and "not valid utf-8" in errs[0][2] and "gb18030" in errs[0][2]


def test_gb18030_four_byte_characters() -> None:
    # 𠀀 (U+20000) is four bytes in GB18030; the line split must not break it.
    text = HEADER + entity_line(1, name="𠀀鑫有限公司")
    r = parse_rows("entities", text.encode("gb18030"), encoding="gb18030")
    assert r.ok and r.rows[0].name == "𠀀鑫有限公司"


def test_utf8_with_and_without_bom() -> None:
    text = HEADER + entity_line(1)
    plain = parse_rows("entities", text.encode("utf-8"))
    bom = parse_rows("entities", text.encode("utf-8-sig"))
    assert plain.ok and bom.ok and plain.rows == bom.rows


def test_utf8_bom_with_gb18030_choice_is_reported() -> None:
    errs = errors_of((HEADER + entity_line(1)).encode("utf-8-sig"), encoding="gb18030")
    assert errs[0][0] == 1 and "byte-order mark" in errs[0][2]


def test_binary_file_object_and_crlf() -> None:
    data = (HEADER + entity_line(1) + entity_line(2)).replace("\n", "\r\n").encode()
    r = parse_rows("entities", io.BytesIO(data))
    assert r.ok and len(r.rows) == 2 and r.lines == [2, 3]


def test_text_stream_is_refused() -> None:
    with pytest.raises(TypeError, match="binary"):
        parse_rows("entities", io.StringIO(HEADER))  # type: ignore[arg-type]


def test_decoding_error_reported_with_its_line() -> None:
    data = (HEADER + entity_line(1)).encode() + b"\xff\xfe" + entity_line(2).encode() + entity_line(3).encode()
    errs = errors_of(data)
    assert errs[0][0] == 3 and "bytes ff at byte 0" in errs[0][2]
    # The line is still parsed (with U+FFFD), so its damaged uscc is named too;
    # lines 2 and 4 are fine.
    assert [(e[0], e[1]) for e in errs] == [(3, None), (3, "uscc")]


def test_one_bad_row_among_thousands() -> None:
    lines = [entity_line(i) for i in range(5000)]
    lines[3210] = entity_line(3210, region_code="36050")  # file line 3212
    r = parse_rows("entities", (HEADER + "".join(lines)).encode())
    assert r.rows == [] and r.lines == []
    assert [(e.line, e.column) for e in r.errors] == [(3212, "region_code")]
    assert "6-digit" in r.errors[0].reason


def test_every_error_is_reported() -> None:
    data = (HEADER
            + entity_line(1, uscc="9111010855138508")       # line 2
            + entity_line(2, name="", risk_class="极高")     # line 3: two errors
            + entity_line(3)                                  # line 4: fine
            + entity_line(4, entity_type="company", industry="Z99", status="closed")  # line 5
            + entity_line(5, region_code="990502")           # line 6
            ).encode()
    errs = errors_of(data)
    assert [(ln, col) for ln, col, _ in errs] == [
        (2, "uscc"), (3, "name"), (3, "risk_class"),
        (5, "entity_type"), (5, "industry"), (5, "status"), (6, "region_code"),
    ]
    assert "length is 16" in errs[0][2]
    assert errs[1][2] == "empty"
    assert "province" in errs[-1][2]


def test_quoted_newlines_keep_file_line_numbers() -> None:
    data = ("code,name,department,legal_basis,content,methods,target_kind,key_item,status\n"
            'I1,企业公示信息的检查,XY,"《企业信息公示暂行条例》\n第十四条","年报\n即时信息\n真实性",书面检查,entity,否,active\n'
            "I2,食品检查,XY,《食品安全法》,生产行为,实地检查、检验检测,,是,\n"
            'I3,"名称\n换行",XY,法,内容,onsite,entity,maybe,active\n').encode()
    r = parse_rows("items", data)
    # I1 spans lines 2-5, I2 is line 6, I3 starts on line 7.
    assert [(e.line, e.column) for e in r.errors] == [(7, "name"), (7, "key_item")]
    good = parse_rows("items", data.replace(b'"\xe5\x90\x8d\xe7\xa7\xb0\n\xe6\x8d\xa2\xe8\xa1\x8c"', b"X")
                      .replace(b"maybe", b"true"))
    assert good.ok, good.errors
    assert good.lines == [2, 6, 7]
    assert good.rows[0].legal_basis == "《企业信息公示暂行条例》\n第十四条"
    assert good.rows[1] == ItemRow("I2", "食品检查", "XY", "《食品安全法》", "生产行为",
                                   ("onsite", "testing"), "entity", True, "active")


def test_duplicate_keys_name_both_lines() -> None:
    data = (HEADER + entity_line(1) + entity_line(2) + entity_line(1, name="另一家公司")).encode()
    errs = errors_of(data)
    assert len(errs) == 1
    line, col, reason = errs[0]
    assert line == 4 and col == "uscc" and "lines 2 and 4" in reason
    # Keys compare after normalisation: lower case is the same code.
    lower = (HEADER + entity_line(1) + entity_line(1, uscc=uscc_for_serial(1).lower())).encode()
    assert "lines 2 and 3" in errors_of(lower)[0][2]


def test_duplicate_badges() -> None:
    head = "badge,name,department,region_code,role\n"
    data = (head + "B1,王伟,XY,360500,执法\nB2,李芳,XY,360500,expert\nB1,张敏,XY,360500,enforcement\n").encode()
    assert errors_of(data, "inspectors") == [(4, "badge", "duplicate badge B1: lines 2 and 4")]


def test_conflict_keys_are_pairs() -> None:
    head = "badge,uscc,reason\n"
    ok = (head + f"B1,{XIAOMI},亲属\nB2,{XIAOMI},曾任职\n").encode()
    assert parse_rows("conflicts", ok).ok
    dup = (head + f"B1,{XIAOMI},亲属\nB1,{XIAOMI},曾任职\n").encode()
    assert errors_of(dup, "conflicts")[0][:2] == (3, "badge,uscc")


def test_bad_check_refused_by_default_accepted_on_request() -> None:
    data = (HEADER + entity_line(1, uscc=XIAOMI_BAD) + entity_line(2)).encode()
    errs = errors_of(data)
    assert errs == [(2, "uscc", "position 18: check character is 'X', expected 'Q'; "
                                "accept explicitly with --accept-bad-check")]
    r = parse_rows("entities", data, accept_bad_check=True)
    assert r.ok
    assert [row.check_ok for row in r.rows] == [False, True]
    assert r.rows[0].uscc == XIAOMI_BAD
    assert r.flagged_lines == [2]


def test_accept_bad_check_never_accepts_malformed() -> None:
    data = (HEADER + entity_line(1, uscc="9111010855138508IQ")).encode()
    errs = errors_of(data, accept_bad_check=True)
    assert errs[0][:2] == (2, "uscc") and "'I' is never used" in errs[0][2]


def test_letter_department_codes() -> None:
    n_code = uscc_for_serial(7, "N", "2", "360521")
    y_code = uscc_for_serial(8, "Y", "1", "360521")
    a_code = uscc_for_serial(9, "A", "1", "360521")
    data = (HEADER + entity_line(1, uscc=n_code, entity_type="other")
            + entity_line(2, uscc=y_code, entity_type="other")
            + entity_line(3, uscc=a_code, entity_type="other")).encode()
    r = parse_rows("entities", data)
    assert r.ok, r.errors
    assert [row.uscc[0] for row in r.rows] == ["N", "Y", "A"]


def test_header_problems() -> None:
    data = b"USCC, Name ,entity_type,region_code,industry,colour,size\n"
    errs = errors_of(data)
    assert len(errs) == 2
    assert errs[0][0] == 1 and "'colour', 'size'" in errs[0][2]
    assert errs[1][0] == 1 and errs[1][2] == "missing required column(s): risk_class"
    assert errors_of(b"") == [(1, None, "the file is empty: expected a header line")]
    dup = errors_of(b"uscc,uscc,name,entity_type,region_code,industry,risk_class\n")
    assert dup[0][:2] == (1, "uscc") and "twice" in dup[0][2]


def test_missing_required_column_reported_once_rows_still_checked() -> None:
    data = ("uscc,name,entity_type,region_code,industry\n"
            f"{XIAOMI},甲,enterprise,110108,I6513\n{XIAOMI_BAD},乙,enterprise,110108,I6513\n").encode()
    errs = errors_of(data)
    assert [(ln, col) for ln, col, _ in errs] == [(1, None), (3, "uscc")]


def test_field_count_and_blank_lines() -> None:
    data = (HEADER + "\n" + entity_line(1) + ",,,,,,,\n" + "a,b\n" + "   \n").encode()
    errs = errors_of(data)
    assert errs == [(5, None, "2 fields, but the header has 8")]


def test_whitespace_trimmed_and_optional_defaults() -> None:
    data = ("uscc , name,entity_type,region_code,industry,risk_class,departments\n"
            f" {XIAOMI} ,  小米  , enterprise , 110108 , 6513 , b , XY-SCJG；XY-STHJ; ;XY-SCJG\n").encode()
    r = parse_rows("entities", data)
    assert r.ok, r.errors
    assert r.rows[0] == EntityRow(XIAOMI, "小米", "enterprise", "110108", "I6513", "B",
                                  ("XY-SCJG", "XY-STHJ"), "active", True)


def test_inspector_lists() -> None:
    data = ("badge,name,department,region_code,role,qualifications,expertise,status\n"
            "36050001,王伟,XY-SCJG,360500,执法人员,XY-SCJG-001;XY-SCJG-002,食品安全；特种设备,在岗\n").encode()
    r = parse_rows("inspectors", data)
    assert r.ok, r.errors
    assert r.rows[0] == InspectorRow("36050001", "王伟", "XY-SCJG", "360500", "enforcement",
                                     ("XY-SCJG-001", "XY-SCJG-002"), ("食品安全", "特种设备"), "active")


def test_inspector_certificates() -> None:
    """执法证: optional number (a code) and last valid day (a real YYYY-MM-DD date); each error
    names its line and column; rows without them read as None and round-trip."""
    head = "badge,name,department,region_code,role,certificate_no,certificate_valid_until\n"
    data = (head + "B1,王伟,XY,360500,执法,赣A0012345,2028-12-31\nB2,李芳,XY,360500,expert,,\n").encode()
    r = parse_rows("inspectors", data)
    assert r.ok, r.errors
    assert (r.rows[0].certificate_no, r.rows[0].certificate_valid_until) == ("赣A0012345", "2028-12-31")
    assert (r.rows[1].certificate_no, r.rows[1].certificate_valid_until) == (None, None)
    assert parse_rows("inspectors", rows_to_csv(r.rows, "inspectors")).rows == r.rows
    bad = (head + "B1,王伟,XY,360500,执法,ZF 1,2028-12-31\n"
                  "B2,李芳,XY,360500,执法,ZF2,2027-02-30\n"
                  "B3,张敏,XY,360500,执法,ZF3,2028/12/31\n").encode()
    assert errors_of(bad, "inspectors") == [
        (2, "certificate_no", "'ZF 1' is not a code: 1-64 characters, no spaces or ';'"),
        (3, "certificate_valid_until", "'2027-02-30' is not a real date"),
        (4, "certificate_valid_until", "'2028/12/31' is not a date YYYY-MM-DD"),
    ]


def test_departments_and_items_vocabularies() -> None:
    data = ("code,name,level,region_code,parent\n"
            "XY-SCJG,新余市市场监督管理局,市,360500,\n"
            "YS-SCJG,渝水区市场监督管理局,county,360502,XY-SCJG\n"
            "BAD CODE,x,galaxy,360500,\n").encode()
    errs = errors_of(data, "departments")
    assert [(ln, col) for ln, col, _ in errs] == [(4, "code"), (4, "level")]
    items = ("code,name,department,legal_basis,content,methods,key_item\n"
             "I1,n,D,法,内容,飞行检查,true\n"
             "I2,n,D,法,内容,;,true\n").encode()
    errs = errors_of(items, "items")
    assert [(ln, col) for ln, col, _ in errs] == [(2, "methods"), (3, "methods")]


def test_reclassifications() -> None:
    data = f"uscc,risk_class\n{XIAOMI},D\n{uscc_for_serial(3)},高风险\n".encode()
    r = parse_rows("reclassifications", data)
    assert r.ok and [row.risk_class for row in r.rows] == ["D", "D"]


@pytest.mark.parametrize(("raw", "norm"), [
    ("C1311", "C1311"), ("1311", "C1311"), ("c13", "C13"), ("F", "F"), ("0141", "A0141"),
    ("97", "T97"), ("S9121", "S9121"),
])
def test_industry_normalisation(raw: str, norm: str) -> None:
    assert parse_industry(raw) == norm


@pytest.mark.parametrize("raw", ["A1311", "U", "00", "98", "C1", "C13111", "CC13", "13a", ""])
def test_industry_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_industry(raw)


def test_unreadable_csv_stops_with_a_line() -> None:
    stray = (HEADER + entity_line(1)).encode() + b'a,"b"c,d\n' + entity_line(3).encode()
    errs = errors_of(stray)
    assert errs[-1][0] == 3 and "unreadable CSV" in errs[-1][2]
    # An unclosed quote is reported where its record starts, not at the end of file.
    unclosed = (HEADER + entity_line(1)).encode() + b'"abc,d\n' + entity_line(3).encode() * 3
    errs = errors_of(unclosed)
    assert errs == [(3, None, "unreadable CSV, parsing stopped here: unexpected end of data")]
    huge = (HEADER + entity_line(1)).encode() + b"x" * 200_000 + b"\n"
    assert errors_of(huge)[-1][0] == 3


def test_iter_rows_streams() -> None:
    data = (HEADER + entity_line(1) + entity_line(2, risk_class="极高") + entity_line(3)).encode()
    items = list(iter_rows("entities", io.BytesIO(data)))
    assert [type(i).__name__ for i in items] == ["tuple", "RowError", "tuple"]
    assert items[0][0] == 2 and items[2][0] == 4


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_rows_to_csv_round_trip(encoding: str) -> None:
    rows = [EntityRow(uscc_for_serial(i), f"名称,带逗号\"引号\"{i}", "cooperative", "360521", "A0141", "C",
                      ("XY-SCJG", "XY-NYNC"), "moved") for i in range(3)]
    data = rows_to_csv(rows, "entities", encoding=encoding)
    r = parse_rows("entities", data, encoding="gb18030" if encoding == "gb18030" else "utf-8")
    assert r.ok and r.rows == rows


def test_unknown_kind_and_encoding() -> None:
    with pytest.raises(ValueError):
        parse_rows("widgets", b"a\n")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="utf-8 or gb18030"):
        parse_rows("entities", b"a\n", encoding="latin-1")
