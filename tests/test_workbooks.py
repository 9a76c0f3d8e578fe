"""Workbooks in and out: .xlsx/.ods imports read into the same typed rows as CSV,
code cells that must be text, dates, merged and empty sheets, Chinese headers;
--format xlsx exports that import back unchanged; the import templates."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date, datetime
from pathlib import Path

import msgspec
import pytest
from python_calamine import CalamineWorkbook

from ledger.cli.workbook import rows_workbook, template_rows, write_xlsx
from ledger.demo.city import generate_city, to_csv
from ledger.domain.columns import CODE_COLUMNS, LABELS, canonical
from ledger.domain.rows import COLUMNS, EntityRow, _cell, parse_rows
from ledger.domain.workbook_rows import WorkbookError, cell_name, parse_workbook, workbook_format
from ledger.services import pools
from ledger.services.directory import import_file as import_signed
from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.verify.ledger_check import verify_ledger
from tests.cli_helpers import assert_clear_failure, run
from tests.ledger_helpers import TestLedger, new_ledger
from tests.workbook_helpers import ods, xls, xlsx

XIAOMI = "91110108551385082Q"
ENTITY_HEADER = ["uscc", "name", "entity_type", "region_code", "industry", "risk_class"]
INSPECTOR_HEADER = ["badge", "name", "department", "region_code", "role", "certificate_no", "certificate_valid_until"]
CITY = generate_city(5, small=True)


def errors_of(kind: str, data: bytes, **kw: object) -> list[str]:
    result, _, _ = parse_workbook(kind, data, **kw)  # type: ignore[arg-type]
    assert result.rows == []
    return [str(e) for e in result.errors]


def as_sheet(rows: list[object], kind: str) -> list[list[object]]:
    """Typed rows as a user's sheet of text cells (the CSV cells, one per cell)."""
    return [list(COLUMNS[kind])] + [[_cell(getattr(r, c)) for c in COLUMNS[kind]] for r in rows]


# ---------------------------------------------------------------------------
# Reading.


def test_a_sheet_gives_the_same_typed_rows_as_the_csv_file() -> None:
    for kind in ("departments", "items", "entities", "inspectors", "conflicts"):
        rows = CITY.rows(kind)
        from_csv = parse_rows(kind, to_csv(rows, kind), accept_bad_check=True)  # type: ignore[arg-type]
        for make in (xlsx, xls, ods):
            data = make(("Sheet1", as_sheet(rows, kind)))
            result, sheet, _ = parse_workbook(kind, data, accept_bad_check=True)  # type: ignore[arg-type]
            assert result.ok, result.errors[:3]
            assert sheet == "Sheet1"
            assert result.rows == from_csv.rows and result.lines == from_csv.lines, (kind, make)


def test_codes_with_leading_zeros_stay_text() -> None:
    data = xlsx(("人员", [INSPECTOR_HEADER,
                          ["0012", "张伟", "007", "360502", "执法检查人员", "0360502001", "2028-12-31"]]))
    result, _, _ = parse_workbook("inspectors", data)
    assert result.ok, result.errors
    row = result.rows[0]
    assert (row.badge, row.department, row.certificate_no) == ("0012", "007", "0360502001")


@pytest.mark.parametrize("make", [xlsx, xls, ods], ids=["xlsx", "xls", "ods"])
def test_a_number_in_a_code_column_is_refused_with_its_cell(make) -> None:  # type: ignore[no-untyped-def]
    rows = [INSPECTOR_HEADER,
            ["0012", "张伟", "XY-SCJG", "360502", "enforcement", None, None],
            ["0013", "李娜", "XY-SCJG", 360502, "enforcement", None, None],  # region as a number: row 3, D
            [14, "王芳", "XY-SCJG", "360502", "expert", None, None],  # badge 0014 typed as a number
            ["0015", "赵磊", "XY-SCJG", "360502", "chief", None, None]]  # an unrelated error is still named
    errors = errors_of("inspectors", make(("名录", rows)))
    assert errors[0].startswith("名录!D3, region_code: a number cell (360502) in a code column")
    assert "format the column as text" in errors[0]
    assert errors[1].startswith("名录!A4, badge: a number cell (14) in a code column")
    assert errors[2].startswith("名录!E5, role: 'chief' is not one of")
    assert len(errors) == 3  # one error per bad cell: the refused cell is not converted again


def test_a_long_code_typed_as_a_number_is_refused_not_guessed() -> None:
    data = xlsx(("Sheet1", [ENTITY_HEADER, [9.11101085513851e17, "小米", "企业", "110108", "I6513", "A"]]))
    [error] = errors_of("entities", data)
    assert error.startswith("Sheet1!A2, uscc: a number cell (911101085513851")


@pytest.mark.parametrize("make", [xlsx, xls, ods], ids=["xlsx", "xls", "ods"])
def test_numbers_dates_and_booleans_outside_code_columns(make) -> None:  # type: ignore[no-untyped-def]
    item = ["XY-SCJG-001", 2026, "XY-SCJG", "《食品安全法》", "检查内容", "onsite", "entity", True]
    header = ["code", "name", "department", "legal_basis", "content", "methods", "target_kind", "key_item"]
    result, _, _ = parse_workbook("items", make(("Sheet1", [header, item])))
    assert result.ok, result.errors
    assert result.rows[0].name == "2026" and result.rows[0].key_item is True
    # Dates: a date cell becomes YYYY-MM-DD; a time of day or a text date in another form is refused.
    rows = [INSPECTOR_HEADER,
            ["0012", "张伟", "XY-SCJG", "360502", "enforcement", "A1", date(2028, 12, 31)],
            ["0013", "李娜", "XY-SCJG", "360502", "enforcement", "A2", datetime(2028, 12, 31, 0, 0)]]
    result, _, _ = parse_workbook("inspectors", make(("Sheet1", rows)))
    assert result.ok, result.errors
    assert [r.certificate_valid_until for r in result.rows] == ["2028-12-31", "2028-12-31"]
    rows[1][6] = datetime(2028, 12, 31, 9, 30)
    rows[2][6] = "2028/12/31"
    errors = errors_of("inspectors", make(("Sheet1", rows)))
    assert errors == ["Sheet1!G2, certificate_valid_until: '2028-12-31 09:30:00' is not a date YYYY-MM-DD",
                      "Sheet1!G3, certificate_valid_until: '2028/12/31' is not a date YYYY-MM-DD"]


def test_chinese_headers_are_aliases() -> None:
    header = ["统一社会信用代码", "企业名称", "主体类型", "行政区划", "行业", "信用风险分类"]
    row = [XIAOMI, "小米科技有限责任公司", "企业", "110108", "I6513", "A"]
    expected = [EntityRow(XIAOMI, "小米科技有限责任公司", "enterprise", "110108", "I6513", "A")]
    result, _, _ = parse_workbook("entities", xlsx(("Sheet1", [header, row])))
    assert result.ok and result.rows == expected
    # The same names in a CSV file, with the other aliases and the templates' bilingual form.
    csv = "名称,*统一社会信用代码,风险等级,行政区划(region_code),主体类型（entity_type）,行业\n" \
          f"小米科技有限责任公司,{XIAOMI},A,110108,企业,I6513\n"
    assert parse_rows("entities", csv.encode()).rows == expected
    # A bilingual header whose two names disagree is not guessed.
    assert canonical("entities", "名称(uscc)") is None
    # Every label is unambiguous within its kind, and every kind's columns have labels.
    for kind, columns in LABELS.items():
        assert list(columns) == list(COLUMNS[kind])
        seen: dict[str, str] = {}
        for column, labels in columns.items():
            for label in labels:
                assert seen.setdefault(label, column) == column, (kind, label)
                assert canonical(kind, label) == column


def test_merged_header_cells_are_refused() -> None:
    rows = [["uscc", "名称", None, "entity_type", "region_code", "industry", "risk_class"],
            [XIAOMI, "小米", "科技", "企业", "110108", "I6513", "A"]]
    [error] = errors_of("entities", xlsx(("Sheet1", rows), merges={"Sheet1": ["B1:C1"]}))
    assert error.startswith("Sheet1 row 1: merged header cells Sheet1!B1:C1: unmerge them")
    # Merged cells in the data are refused too: only their first cell holds a value.
    rows = [ENTITY_HEADER, [XIAOMI, "小米", "企业", "110108", "I6513", "A"],
            ["91350100M000100Y43", "某某", "企业", "110108", "I6513", "A"]]
    errors = errors_of("entities", xlsx(("Sheet1", rows), merges={"Sheet1": ["F2:F3"]}))
    assert errors[0].startswith("Sheet1!F2:F3: merged cells Sheet1!F2:F3: unmerge them and fill every cell")
    # The same in an Excel 97-2003 file.
    rows = [["uscc", "名称", None, "entity_type", "region_code", "industry", "risk_class"]]
    [error] = errors_of("entities", xls(("Sheet1", rows), merges={"Sheet1": [(0, 0, 1, 2)]}))
    assert error.startswith("Sheet1 row 1: merged header cells Sheet1!B1:C1: unmerge them")


def test_an_empty_sheet_and_sheet_choice() -> None:
    good = [ENTITY_HEADER, [XIAOMI, "小米", "企业", "110108", "I6513", "A"]]
    for make in (xlsx, xls, ods):
        data = make(("说明", []), ("名录", good))
        assert errors_of("entities", data) == ["说明 row 1: sheet '说明' is empty: expected a header row"]
        for choice in ("名录", "2"):
            result, sheet, _ = parse_workbook("entities", data, sheet=choice)
            assert result.ok and sheet == "名录" and result.lines == [2]
        with pytest.raises(WorkbookError, match=r"no sheet '3'; the sheets are: 1 '说明', 2 '名录'"):
            parse_workbook("entities", data, sheet="3")


def test_rows_and_columns_around_the_table() -> None:
    """A table that starts lower and further right; blank rows; a value without a header."""
    rows = [[], [None, *ENTITY_HEADER], [None, XIAOMI, "小米", "企业", "110108", "I6513", "A"], [],
            [None, "91350100M000100Y43", "某某", "企业", "110108", "I6513", "B", "注"]]
    errors = errors_of("entities", xlsx(("Sheet1", rows)))
    assert errors == ["Sheet1!H5: a value in a column without a header"]
    del rows[4][7]
    result, _, _ = parse_workbook("entities", xlsx(("Sheet1", rows)))
    assert result.ok and result.lines == [3, 5]


def test_every_bad_row_is_named_and_duplicates_by_cell() -> None:
    rows = [ENTITY_HEADER] + [[r.uscc, r.name, r.entity_type, r.region_code, r.industry, r.risk_class]
                              for r in CITY.entities if r.check_ok][:50]
    rows[10][5] = "极高"  # any code may name a class (the ledger's class set decides), not this
    rows[30] = list(rows[20])
    errors = errors_of("entities", xlsx(("Sheet1", rows)))
    assert errors[0].startswith("Sheet1!F11, risk_class: '极高'")
    assert errors[1].startswith("Sheet1!A31, uscc: duplicate uscc")
    assert "lines 21 and 31" in errors[1]
    assert len(errors) == 2


def test_what_is_a_workbook() -> None:
    book = xlsx(("Sheet1", [ENTITY_HEADER]))
    assert workbook_format(book, "-") == "zip" and workbook_format(book, "名录.csv") == "zip"
    assert workbook_format(b"uscc,name\n", "名录.csv") is None
    with pytest.raises(WorkbookError, match=r"名录.xls is named .xls but is not a workbook \(it is an HTML page\)"):
        workbook_format(b"<html><table><tr><td>uscc</td></tr></table></html>", "名录.xls")
    with pytest.raises(WorkbookError, match="not a readable workbook"):
        parse_workbook("entities", b"PK\x03\x04 damaged")
    assert cell_name("Sheet 1", 7, 2) == "'Sheet 1'!C7" and cell_name("名录", 12, 27) == "名录!AB12"


# ---------------------------------------------------------------------------
# Writing.


def sheet_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("xl/worksheets/sheet1.xml").decode()


def test_a_written_workbook_has_typed_cells_and_never_a_formula() -> None:
    buf = io.BytesIO()
    rows = [["0012", "=HYPERLINK(\"http://x\")", "2026-12-31", 3, True, ("A", "B")],
            ["0013", "+1", "not a date", 4, False, ()]]
    write_xlsx(buf, ["badge", "name", "due", "count", "flag", "list"], rows,
               ["code", "text", "date", "int", "bool", "text"], sheet="报表")
    data = buf.getvalue()
    xml = sheet_xml(data)
    assert "<f>" not in xml and "<f " not in xml
    assert '<pane ySplit="1"' in xml and "autoFilter" in xml and "<cols>" in xml
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert book.sheet_names == ["报表"]
    cells = book.get_sheet_by_index(0).to_python()
    assert cells[0] == ["badge", "name", "due", "count", "flag", "list"]
    assert cells[1] == ["0012", "=HYPERLINK(\"http://x\")", date(2026, 12, 31), 3.0, True, "A;B"]
    assert cells[2] == ["0013", "+1", "not a date", 4.0, False, ""]


def test_templates_import_their_example_row() -> None:
    from ledger.domain.rows import KINDS

    for kind in KINDS:
        headers, example, kinds, notes = template_rows(kind)
        assert len(headers) == len(COLUMNS[kind]) and all("(" in h for h in headers)
        buf = io.BytesIO()
        write_xlsx(buf, headers, [example], kinds, sheet=kind, notes=notes)
        result, _, _ = parse_workbook(kind, buf.getvalue())
        assert result.ok and len(result.rows) == 1, (kind, result.errors)
        assert all(k == "code" for c, k in zip(COLUMNS[kind], kinds) if c in CODE_COLUMNS)
        csv = ",".join(headers) + "\n" + ",".join(example) + "\n"
        assert parse_rows(kind, csv.encode()).rows == result.rows


# ---------------------------------------------------------------------------
# Through the ledger, on both stores.


def size(store: StoreConfig) -> int:
    with open_reader(store) as reader:
        return reader.size()


def import_file(ledger: TestLedger, kind: str, data: bytes, **kwargs: object):  # type: ignore[no-untyped-def]
    with ledger.service() as service:
        return import_signed(service, ledger.admin, "admin", kind, data, **kwargs)  # type: ignore[arg-type]


def test_round_trip_export_and_import_changes_nothing(store: StoreConfig, tmp_path: Path) -> None:
    ledger = new_ledger(store, origin="test.drledger/workbooks")
    for kind in ("departments", "items", "entities", "inspectors"):
        summary = import_file(ledger, kind, to_csv(CITY.rows(kind), kind), accept_bad_check=True)
        assert summary.written and not summary.errors
    before = size(store)
    for kind, query in (("entities", pools.entities), ("inspectors", pools.inspectors), ("items", pools.items)):
        path = tmp_path / f"{kind}.xlsx"
        exported = query(store)
        assert rows_workbook(path, exported, sheet=kind) == len(exported) == len(CITY.rows(kind))
        summary = import_file(ledger, kind, path.read_bytes(), file_name=path.name, accept_bad_check=True)
        assert not summary.errors and summary.sheet == kind
        assert (summary.new, summary.changed, summary.unchanged) == (0, 0, len(exported)), kind
        assert summary.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert size(store) == before  # an import that changes nothing is not even submitted
    # A changed workbook writes exactly its change, and the import record hashes the workbook's bytes.
    rows = pools.entities(store)
    rows[3] = msgspec.structs.replace(rows[3], risk_class="D" if rows[3].risk_class != "D" else "A")
    path = tmp_path / "changed.xlsx"
    rows_workbook(path, rows)
    summary = import_file(ledger, "entities", path.read_bytes(), file_name=path.name, accept_bad_check=True)
    assert (summary.new, summary.changed) == (0, 1) and summary.written
    assert size(store) == before + 3  # the command, the change and the import record
    assert verify_ledger(store).ok


def test_a_bad_workbook_writes_nothing(store: StoreConfig) -> None:
    ledger = new_ledger(store, origin="test.drledger/workbooks")
    import_file(ledger, "departments", to_csv(CITY.departments, "departments"))
    before = size(store)
    rows = [INSPECTOR_HEADER, ["0012", "张伟", CITY.departments[0].code, "360502", "enforcement", None, None],
            ["0013", "李娜", "NO-SUCH-DEPT", "360502", "enforcement", None, None]]
    summary = import_file(ledger, "inspectors", xlsx(("名录", rows)))
    assert [str(e) for e in summary.errors] == \
        ["名录!C3, department: unknown department 'NO-SUCH-DEPT': import departments first"]
    assert not summary.written and size(store) == before


# ---------------------------------------------------------------------------
# The commands.


@pytest.mark.slow
def test_cli_workbooks_in_and_out(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    admin = {"DRLEDGER_ACTOR": "admin"}
    departments = tmp_path / "departments.xlsx"
    assert run("template", "departments", "--out", str(departments), home=home).returncode == 0
    book = tmp_path / "部门.xlsx"
    book.write_bytes(xlsx(("部门", as_sheet(CITY.departments, "departments"))))
    ok = run("import", "departments", str(book), home=home, env=admin)
    assert ok.returncode == 0 and f"sheet '部门': departments: {len(CITY.departments)} rows" in ok.stdout, ok.stderr
    bad = tmp_path / "名录.xlsx"
    bad.write_bytes(xlsx(("Sheet1", [ENTITY_HEADER, [XIAOMI, "小米", "企业", 110108, "I6513", "A"]])))
    refused = run("import", "entities", str(bad), home=home, env=admin)
    assert refused.returncode == 1
    assert f"{bad}: Sheet1!D2, region_code: a number cell (110108) in a code column" in refused.stderr
    assert "nothing was written" in refused.stderr and "Traceback" not in refused.stderr
    good = tmp_path / "good.ods"
    good.write_bytes(ods(("Sheet1", [ENTITY_HEADER, [XIAOMI, "=小米", "企业", "110108", "I6513", "A"]])))
    assert run("import", "entities", str(good), "--sheet", "1", home=home, env=admin).returncode == 0
    # Export, then import the export: nothing changes.
    out = tmp_path / "pool.xlsx"
    listed = run("pool", "entities", "--format", "xlsx", "--out", str(out), home=home)
    assert listed.returncode == 0 and out.exists(), listed.stderr
    assert "<f>" not in sheet_xml(out.read_bytes())
    again = run("import", "entities", str(out), "--json", home=home, env=admin)
    assert again.returncode == 0 and json.loads(again.stdout)["unchanged"] == 1
    # Reports and the item list take the same options; xlsx without --out is a usage error.
    for args in (["items"], ["report", "refused"], ["report", "conflicts"], ["result", "public"], ["draw", "list"]):
        path = tmp_path / f"{'-'.join(args)}.xlsx"
        result = run(*args, "--format", "xlsx", "--out", str(path), home=home)
        assert result.returncode == 0 and path.exists(), (args, result.stderr)
        header = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[0]
        assert header and all(isinstance(h, str) and h for h in header), args
    missing = run("report", "overdue", "--format", "xlsx", home=home)
    assert missing.returncode == 2 and "--format xlsx needs --out FILE" in missing.stderr
    assert_clear_failure(run("items", "--format", "xlsx", "--out", str(tmp_path / "no" / "x.xlsx"), home=home),
                         "cannot write", "no/x.xlsx")
    # A CSV template imports its own example row (dry run: references aside).
    csv_template = run("template", "entities", "--format", "csv", "--out", "-", home=home)
    assert csv_template.stdout.startswith("\ufeff统一社会信用代码(uscc),")
    assert run("import", "--help", home=home).stdout.count("xlsx") >= 1


def test_the_docs_list_every_header_alias() -> None:
    """docs/imports.md's tables are LABELS, kind by kind, with the code columns marked."""
    from ledger.domain.rows import REQUIRED

    text = (Path(__file__).resolve().parents[1] / "docs" / "imports.md").read_text()
    for kind, columns in LABELS.items():
        section = text.split(f"### {kind}\n", 1)[1].split("###", 1)[0]
        table = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| `")]
        documented = {cells[0].strip().strip("`"): [c.strip() for c in cells[1:]] for cells in table}
        assert list(documented) == list(columns), kind
        for column, (required, labels, code) in documented.items():
            assert labels.split("、") == list(columns[column]), (kind, column)
            assert (required == "yes") == (column in REQUIRED[kind]) and (code == "yes") == (column in CODE_COLUMNS)
