"""Real workbooks made by the tests: .xlsx with xlsxwriter, .ods and .xls written by hand.

A cell's Python type decides its cell type, as a user's spreadsheet would
hold it: str -> text cell, int/float -> number cell, date/datetime -> date
cell, bool -> boolean cell, None -> empty.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

Sheet = tuple[str, Sequence[Sequence[Any]]]


def xlsx(*sheets: Sheet, merges: dict[str, list[str]] | None = None) -> bytes:
    """An .xlsx of the given sheets; `merges`: sheet name -> merged ranges ("A1:B1")."""
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets:
        ws = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, bool):
                    ws.write_boolean(r, c, value)
                elif isinstance(value, (int, float)):
                    ws.write_number(r, c, value)
                elif isinstance(value, datetime):
                    ws.write_datetime(r, c, value, day)
                elif isinstance(value, date):
                    ws.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
                else:
                    ws.write_string(r, c, value)
        for cells in (merges or {}).get(name, []):
            first, last = cells.split(":")
            ws.merge_range(f"{first}:{last}", "")
    book.close()
    return buf.getvalue()


_ODS_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')


def _ods_cell(value: Any) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, bool):
        return (f'<table:table-cell office:value-type="boolean" office:boolean-value="{str(value).lower()}">'
                f"<text:p>{str(value).upper()}</text:p></table:table-cell>")
    if isinstance(value, (int, float)):
        return (f'<table:table-cell office:value-type="float" office:value="{value}">'
                f"<text:p>{value}</text:p></table:table-cell>")
    if isinstance(value, date):
        return (f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}">'
                f"<text:p>{value.isoformat()}</text:p></table:table-cell>")
    return f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p></table:table-cell>'


def ods(*sheets: Sheet) -> bytes:
    """An OpenDocument spreadsheet (what LibreOffice and WPS save as .ods)."""
    body = "".join(
        f"<table:table table:name={quoteattr(name)}>"
        + "".join("<table:table-row>" + "".join(map(_ods_cell, row)) + "</table:table-row>" for row in rows)
        + "</table:table>"
        for name, rows in sheets
    )
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS} office:version="1.2">'
               f"<office:body><office:spreadsheet>{body}</office:spreadsheet></office:body>"
               "</office:document-content>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                "</manifest:manifest>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        # The mimetype entry comes first and uncompressed (ODF 1.2 part 3, 3.3).
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet",
                   compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


# ---------------------------------------------------------------------------
# .xls: a BIFF8 workbook stream in an OLE2 compound file, the least that Excel
# 97-2003 files hold ([MS-XLS] records BOF, CODEPAGE, XF, BOUNDSHEET8, LABEL,
# NUMBER, BOOLERR, MERGEDCELLS, EOF; [MS-CFB] version 3, 512-byte sectors).

_EXCEL_EPOCH = datetime(1899, 12, 30)


def _record(kind: int, data: bytes) -> bytes:
    assert len(data) <= 8224, "a record this long needs CONTINUE records"
    return kind.to_bytes(2, "little") + len(data).to_bytes(2, "little") + data


def _xls_cell(row: int, col: int, value: Any) -> bytes:
    where = row.to_bytes(2, "little") + col.to_bytes(2, "little")
    if isinstance(value, bool):
        return _record(0x0205, where + (0).to_bytes(2, "little") + bytes([int(value), 0]))
    if isinstance(value, (int, float)):
        return _record(0x0203, where + (0).to_bytes(2, "little") + struct.pack("<d", float(value)))
    if isinstance(value, date):
        moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        serial = (moment - _EXCEL_EPOCH).total_seconds() / 86400  # days since 1899-12-30, time as the fraction
        # XF 1 has the built-in date format 14.
        return _record(0x0203, where + (1).to_bytes(2, "little") + struct.pack("<d", serial))
    text = str(value).encode("utf-16-le")
    return _record(0x0204, where + (0).to_bytes(2, "little") + (len(text) // 2).to_bytes(2, "little") + b"\x01" + text)


def _bof(kind: int) -> bytes:
    # BIFF8 (0x0600), substream type (0x0005 globals, 0x0010 worksheet), build, year, history, lowest version.
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0x06))


def xls(*sheets: Sheet, merges: dict[str, list[tuple[int, int, int, int]]] | None = None) -> bytes:
    """An Excel 97-2003 .xls; `merges`: sheet -> (first row, last row, first col, last col), 0-based."""
    xf = struct.pack("<HHHBBBBIIH", 0, 0, 0xFFF5, 0x20, 0, 0, 0, 0, 0, 0x20C0)
    date_xf = struct.pack("<HHHBBBBIIH", 0, 14, 0x0001, 0x20, 0, 0, 0, 0, 0, 0x20C0)
    bodies = []
    for name, rows in sheets:
        cells = b"".join(_xls_cell(r, c, v) for r, row in enumerate(rows) for c, v in enumerate(row) if v is not None)
        ranges = (merges or {}).get(name, [])
        spans = b"".join(struct.pack("<HHHH", *m) for m in ranges)
        merged = _record(0x00E5, len(ranges).to_bytes(2, "little") + spans) if ranges else b""
        bodies.append(_bof(0x0010) + cells + merged + _record(0x000A, b""))
    names = [name.encode("utf-16-le") for name, _ in sheets]
    head = _bof(0x0005) + _record(0x0042, (1200).to_bytes(2, "little")) + _record(0x00E0, xf) + _record(0x00E0, date_xf)
    bound_size = sum(4 + 8 + len(n) for n in names)
    position = len(head) + bound_size + 4  # + the globals' EOF record
    bound = b""
    for name, body in zip(names, bodies):
        bound += _record(0x0085, struct.pack("<IBBBB", position, 0, 0, len(name) // 2, 1) + name)
        position += len(body)
    stream = head + bound + _record(0x000A, b"") + b"".join(bodies)
    stream += b"\x00" * max(0, 4096 - len(stream))  # at least 4096 bytes: no mini stream needed
    return _compound_file(stream)


def _compound_file(stream: bytes) -> bytes:
    """One stream named Workbook in a version 3 compound file: the FAT in sectors 0..k-1,
    the directory in sector k, the stream from sector k+1 (up to 109 FAT sectors: about 7 MB)."""
    free, end, fat_sector, no_stream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    sectors = -(-len(stream) // 512)
    k = 1
    while k * 128 < k + 1 + sectors:
        k += 1
    assert k <= 109, "more FAT sectors than the header's DIFAT holds"
    first = k + 1
    fat = [fat_sector] * k + [end] + [first + 1 + i for i in range(sectors - 1)] + [end]
    fat += [free] * (128 * k - len(fat))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
              + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 0x0009, 0x0006) + b"\x00" * 6
              + struct.pack("<IIIIIIIII", 0, k, k, 0, 4096, end, 0, end, 0)
              + struct.pack("<109I", *range(k), *[free] * (109 - k)))

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le") if name else b""
        return (encoded.ljust(64, b"\x00") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", no_stream, no_stream, child) + b"\x00" * 36 + struct.pack("<II", start, size)
                + b"\x00" * 4)

    directory = (entry("Root Entry", 5, 1, end, 0) + entry("Workbook", 2, no_stream, first, len(stream))
                 + entry("", 0, no_stream, 0, 0) * 2)
    return header + struct.pack(f"<{len(fat)}I", *fat) + directory + stream.ljust(sectors * 512, b"\x00")
