"""Hostile spreadsheets, written part by part with zipfile: what an attacker uploads instead of a list.

Shared by the import tests and bench/abuse.py; each is small on disk and huge once a reader believes it.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>')
_SHEET_START = '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def _text(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'


def _package(path: Path, sheet_parts, shared: str | None = None, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            for chunk in sheet_parts:
                part.write(chunk.encode())
        z.writestr("xl/sharedStrings.xml", shared or
                   '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"/>')
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


def dimension_bomb(path: Path, header: list[str], *, declared: bool = True) -> Path:
    """A header and one cell at XFD1048576: the reader makes a 16,384 x 1,048,576 grid (512 GiB).
    `declared=False` leaves out the <dimension>, so only the reader's memory limit stops it."""
    dimension = '<dimension ref="A1:XFD1048576"/>' if declared else ""
    cells = "".join(_text(f"{chr(65 + i)}1", h) for i, h in enumerate(header))
    return _package(path, [_SHEET_START, dimension, f'<sheetData><row r="1">{cells}</row>',
                           f'<row r="1048576">{_text("XFD1048576", "x")}</row></sheetData></worksheet>'])


def shared_strings_bomb(path: Path, header: list[str], *, strings: int = 2_000_000) -> Path:
    """Millions of shared strings that zip to almost nothing; the reader keeps every one in memory."""
    cells = "".join(_text(f"{chr(65 + i)}1", h) for i, h in enumerate(header))
    si = "<si><t>" + "炸" * 40 + "</t></si>"
    shared = (f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{strings}" '
              f'uniqueCount="{strings}">' + si * strings + "</sst>")
    return _package(path, [_SHEET_START, '<dimension ref="A1:B2"/>', f'<sheetData><row r="1">{cells}</row>',
                           '<row r="2"><c r="A2" t="s"><v>0</v></c></row></sheetData></worksheet>'], shared)


def zip_bomb(path: Path, header: list[str], *, megabytes: int = 50) -> Path:
    """A valid sheet beside a part of zeros that unzips to `megabytes` MB."""
    cells = "".join(_text(f"{chr(65 + i)}1", h) for i, h in enumerate(header))
    return _package(path, [_SHEET_START, f'<sheetData><row r="1">{cells}</row></sheetData></worksheet>'],
                    extra={"xl/media/image1.bin": bytes(megabytes * 2**20)})


def many_rows(path: Path, header: list[str], rows: int, row: list[str], *, declared: bool = True) -> Path:
    """`rows` copies of `row` under the header, streamed into the sheet part (1,000,000 rows in seconds)."""
    width = max(len(header), len(row))
    dimension = f'<dimension ref="A1:{chr(64 + width)}{rows + 1}"/>' if declared else ""

    def parts():
        yield _SHEET_START + dimension + "<sheetData>"
        yield '<row r="1">' + "".join(_text(f"{chr(65 + i)}1", h) for i, h in enumerate(header)) + "</row>"
        for r in range(2, rows + 2):
            yield f'<row r="{r}">' + "".join(_text(f"{chr(65 + i)}{r}", v) for i, v in enumerate(row)) + "</row>"
        yield "</sheetData></worksheet>"

    return _package(path, parts())
